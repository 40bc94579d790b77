"""Letters: submit (with automatic flags), confirm by the emailed link, count.

The views call these operations; each runs in one transaction.
"""

from letters.confirm import (
    confirm_letter,
    confirm_url,
    joined_to,
    read_confirm_token,
    resend_confirmation,
    unconfirmed_letters,
)
from letters.counters import add_to_counter, case_count, counts_by_case, total_count
from letters.submit import REPEATED_AFTER, submit_letter

__all__ = [
    "REPEATED_AFTER",
    "add_to_counter",
    "case_count",
    "confirm_letter",
    "confirm_url",
    "counts_by_case",
    "joined_to",
    "read_confirm_token",
    "resend_confirmation",
    "submit_letter",
    "total_count",
    "unconfirmed_letters",
]
