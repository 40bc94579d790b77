"""The token in the partner's report forms, on its private stats page.

Partners have no account and no session: the page is reached by a link with a secret in
it (partners.figures), and this site sets no cookie outside the staff pages. So, as the
partner embed does, the forms carry a signed, expiring token instead of Flask-WTF's
session-bound one:
- bound to the partner (a token from one partner's page is refused on another's),
- spent once by a new report (a double click or a reload does not report twice),
- and, for every post on the site, refused when the browser says another site sent it
  (web.security: Sec-Fetch-Site, else Origin).
A forger would need the secret link itself, and then the page gives it a token anyway:
the token is what stops replays and posts from elsewhere, the link is the credential.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

import partners

SALT = "offline-report-form"


@dataclass(frozen=True)
class ReportToken:
    partner_id: int
    nonce: str
    signed_at: object  # datetime, as partners.spend_form_token needs it


def serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def report_token(partner):
    """A token for one form on this partner's stats page."""
    return serializer().dumps([partner.id, secrets.token_urlsafe(16)])


def read_report_token(token, partner):
    """(ReportToken or None, problem): problem is None, "expired" or "invalid"."""
    try:
        payload, signed_at = serializer().loads(
            token or "",
            max_age=current_app.config["EMBED_TOKEN_MINUTES"] * 60,
            return_timestamp=True,
        )
    except SignatureExpired:
        return None, "expired"
    except BadSignature:
        return None, "invalid"
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and payload[0] == partner.id
        and isinstance(payload[1], str)
    ):
        return None, "invalid"
    return ReportToken(partner.id, payload[1], signed_at.astimezone(UTC).replace(tzinfo=None)), None


def spend(token):
    """False when this token already made a report (spent tokens are kept, as the embed's
    are, until they would have expired anyway)."""
    return partners.spend_form_token(token)
