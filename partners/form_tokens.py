"""The single-use form tokens that stand in for cookies inside a partner's frame."""

import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from extensions import begin_write, db, dialect_insert
from models import KINDS, UsedFormToken, utcnow

FORM_TOKEN_SALT = "embed-form-token"  # noqa: S105 (a salt, not a secret)
PURGE_CHANCE = 0.02  # a spent-token write also purges expired ones, now and then


@dataclass(frozen=True)
class FormToken:
    """What a verified form token says: which form of which case, for which partner."""

    case_id: int
    partner_id: int
    kind: str
    nonce: str
    shown_at: int  # when the supporter first saw the form (kept when a form is refreshed)
    signed_at: datetime

    def fits(self, case_id, partner_id, kind):
        return (self.case_id, self.partner_id, self.kind) == (case_id, partner_id, kind)


def form_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=FORM_TOKEN_SALT)


def token_max_age():
    return current_app.config["EMBED_TOKEN_MINUTES"] * 60


def form_token(case_id, partner_id, kind, shown_at=None):
    """A signed token for one form of one case on one partner's site, usable once."""
    nonce = secrets.token_urlsafe(16)
    shown_at = int(shown_at if shown_at is not None else time.time())
    return form_serializer().dumps([case_id, partner_id, kind, nonce, shown_at])


def read_form_token(token):
    """(FormToken, problem): problem is None, "expired" or "invalid" (forged, tampered,
    or not a token). An expired token's contents are still given: they are genuine, and
    its refreshed form keeps the time it was first shown."""
    serializer = form_serializer()
    try:
        payload, signed_at = serializer.loads(
            token or "", max_age=token_max_age(), return_timestamp=True
        )
        problem = None
    except SignatureExpired as expired:
        payload, signed_at, problem = expired.payload, expired.date_signed, "expired"
        try:
            payload = serializer.load_payload(payload)
        except BadSignature:
            return None, "invalid"
    except BadSignature:
        return None, "invalid"
    if not (
        isinstance(payload, list)
        and len(payload) == 5
        and all(isinstance(value, int) for value in (payload[0], payload[1], payload[4]))
        and payload[2] in KINDS
        and isinstance(payload[3], str)
        and signed_at is not None
    ):
        return None, "invalid"
    signed_at = signed_at.astimezone(UTC).replace(tzinfo=None)
    return FormToken(*payload, signed_at=signed_at), problem


def spend_form_token(token):
    """Mark the token used; False when it already was (a replay).

    A row per spent token, in the database so that every app server sees it, kept until
    the token would have expired anyway. On a conflict nothing is written.
    """
    expires_at = token.signed_at + timedelta(seconds=token_max_age() + 60)
    begin_write()
    # A row comes back only when it was written (not every driver reports an INSERT's
    # rowcount).
    statement = (
        dialect_insert()(UsedFormToken)
        .values(nonce=token.nonce, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=["nonce"])
        .returning(UsedFormToken.nonce)
    )
    spent = db.session.execute(statement).first() is not None
    if random.random() < PURGE_CHANCE:
        purge_spent_tokens()
    db.session.commit()
    return spent


def purge_spent_tokens(now=None):
    """Forget spent tokens that have expired: their signature refuses them by itself now."""
    result = db.session.execute(
        sa.delete(UsedFormToken).where(UsedFormToken.expires_at < (now or utcnow()))
    )
    return result.rowcount


# Figures
