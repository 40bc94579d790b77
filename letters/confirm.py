"""Confirming a letter by its emailed link, and sending a new link."""

import sqlalchemy as sa
from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from extensions import begin_write, db
from letters.counters import add_to_counter
from models import Letter, Outbox, utcnow

CONFIRM_SALT = "confirm-letter"
# Whether this address already has a counted letter of this kind for this case.
COUNTED = (
    sa.select(sa.literal(1))
    .where(
        Letter.case_id == sa.bindparam("case_id"),
        Letter.kind == sa.bindparam("kind"),
        Letter.email_key == sa.bindparam("email_key"),
        Letter.counted,
    )
    .limit(1)
)


def already_counted(case_id, kind, email_key):
    params = {"case_id": case_id, "kind": kind, "email_key": email_key}
    return db.session.connection().execute(COUNTED, params).first() is not None


def confirm_letter(letter_id):
    """Mark a letter confirmed and count it once per address, case and kind.

    Idempotent: confirming again changes nothing. Returns the letter, or None.
    """
    for _attempt in range(2):
        begin_write()
        letter = db.session.get(Letter, letter_id, with_for_update=True)
        if letter is None or letter.status != "unconfirmed":
            db.session.commit()
            return letter
        letter.status = "confirmed"
        letter.confirmed_at = utcnow()
        if not already_counted(letter.case_id, letter.kind, letter.email_key):
            letter.counted = True
            add_to_counter(letter.case_id)
        try:
            db.session.commit()
            return letter
        except IntegrityError:  # another letter from this address was counted meanwhile
            db.session.rollback()
    raise RuntimeError("could not confirm letter")


# Confirmation tokens: signed, one salt for this purpose, expiring.


def confirm_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def confirm_url(letter):
    return url_for("public.confirm", token=confirm_serializer().dumps(letter.id), _external=True)


def read_confirm_token(token):
    """(letter_id, problem): problem is None, "expired" or "invalid"."""
    max_age = current_app.config["CONFIRM_MAX_AGE_DAYS"] * 86400
    try:
        return confirm_serializer().loads(token, max_age=max_age), None
    except SignatureExpired as error:
        try:
            return int(confirm_serializer().load_payload(error.payload)), "expired"
        except (BadSignature, TypeError, ValueError):
            return None, "invalid"
    except BadSignature:
        return None, "invalid"


def resend_confirmation(letter_ids):
    """Queue a fresh confirmation link for each of these letters still unconfirmed."""
    begin_write()
    letters = db.session.scalars(
        sa.select(Letter).where(Letter.id.in_(letter_ids), Letter.status == "unconfirmed")
    ).all()
    for letter in letters:
        db.session.add(Outbox(recipient=letter.email, letter=letter, template="confirm"))
    db.session.commit()
    return len(letters)


def unconfirmed_letter_ids(email, limit=20):
    """Recent unconfirmed letters from an address, for "send me a new link"."""
    return db.session.scalars(
        sa.select(Letter.id)
        .where(Letter.email_key == email.lower(), Letter.status == "unconfirmed")
        .order_by(Letter.id.desc())
        .limit(limit)
    ).all()
