"""Partner organisations that embed letter forms on their own sites.

manage: partners themselves and the embed snippet; form_tokens: the single-use tokens
that stand in for cookies inside their frames; figures: each partner's own totals.
The admin pages and `flask partners ...` call these; the embed views use the tokens.
"""

from partners.figures import (
    export_rows,
    offline_per_case,
    partner_for_stats_link,
    stats_per_case,
    stats_per_day,
    stats_url,
    totals_by_partner,
)
from partners.form_tokens import form_token, purge_spent_tokens, read_form_token, spend_form_token
from partners.manage import (
    EMBED_SCRIPT,
    ORIGIN,
    PartnerError,
    active_partners,
    add_partner,
    all_partners,
    find_partner,
    normalized_origin,
    remove_partner,
    rotate_stats_link,
    script_integrity,
    snippet,
    update_partner,
)

__all__ = [
    "EMBED_SCRIPT",
    "ORIGIN",
    "PartnerError",
    "active_partners",
    "add_partner",
    "all_partners",
    "export_rows",
    "find_partner",
    "form_token",
    "normalized_origin",
    "offline_per_case",
    "partner_for_stats_link",
    "purge_spent_tokens",
    "read_form_token",
    "remove_partner",
    "rotate_stats_link",
    "script_integrity",
    "snippet",
    "spend_form_token",
    "stats_per_case",
    "stats_per_day",
    "stats_url",
    "totals_by_partner",
    "update_partner",
]
