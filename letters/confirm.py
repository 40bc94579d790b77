"""Confirming a letter by its emailed link, and sending a new link."""

import sqlalchemy as sa
from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from extensions import begin_write, db, dialect_insert
from letters.counters import add_to_counter
from mail import cap
from models import ContactConsent, Letter, Outbox, utcnow
from moderation import groups

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
    """Mark a letter confirmed, with the letters sent in the same flow that wait on it
    (letters.confirm_with_id), and count each once per address, case and kind.

    Idempotent: confirming again changes nothing. Returns the letter, or None.
    """
    for _attempt in range(2):
        begin_write()
        letter = db.session.get(Letter, letter_id, with_for_update=True)
        if letter is None or letter.status != "unconfirmed":
            db.session.commit()
            return letter
        # The counted-once index fires at the first flush, which is the counter's upsert
        # (autoflush), not only the commit: so all of it is inside the try. When another
        # letter from this address was counted meanwhile, start again; the second attempt
        # sees that letter and confirms this one without counting it.
        try:
            for each in [letter, *joined_letters(letter.id)]:
                mark_confirmed(each)
            db.session.commit()
            return letter
        except IntegrityError:
            db.session.rollback()
    raise RuntimeError("could not confirm letter")


def joined_letters(letter_id):
    """The unconfirmed letters that this letter's link confirms too, locked. A letter
    joins only while its first letter is unconfirmed and locked (letters/submit.py), so
    after that first letter's lock here, no other can join it."""
    waiting = joined(letter_id).where(Letter.status == "unconfirmed").with_for_update()
    return db.session.scalars(waiting).all()


def mark_confirmed(letter):
    letter.status = "confirmed"
    letter.confirmed_at = utcnow()
    decide_as_its_text(letter)
    if not already_counted(letter.case_id, letter.kind, letter.email_key):
        letter.counted = True
        add_to_counter(letter.case_id)
        db.session.flush()  # the next letter's check reads the database
    if letter.consent_contact:
        record_consent(letter)


def decide_as_its_text(letter):
    """A copy written before moderators decided its text gets their decision now, as a copy
    written after it does on arrival (letters/submit.py): it does not wait in the queue to
    be decided a second time."""
    if letter.moderation != "pending":
        return
    flags = letter.flags.split(",") if letter.flags else []
    decided = groups.arrival_decision(letter.fingerprint, flags, letter.body)
    if decided:
        letter.moderation, letter.reject_reason = decided
        letter.moderated_at = utcnow()


def record_consent(letter):
    """Keep the writer's consent to hear from the campaign, now that the address's owner
    confirmed it: when, and under which privacy notice (the version the letter was written
    under). A consent given again replaces the one before. It outlives the letter's
    anonymisation (supporters/retention.py) until withdrawn."""
    values = {
        "email": letter.email,
        "name": letter.name,
        "language": letter.locale,
        "given_at": letter.confirmed_at,
        "privacy_version": letter.privacy_version,
        "source": "letter",
    }
    upsert = (
        dialect_insert()(ContactConsent)
        .values(email_key=letter.email_key, **values)
        .on_conflict_do_update(index_elements=[ContactConsent.email_key], set_=values)
    )
    db.session.execute(upsert)


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


def resend_confirmation(email_key):
    """Queue one email carrying a new link for each unconfirmed letter from this address
    (the "resend" template), however often it is asked: within the address's daily cap
    it is sent, over it kept unsent (mail/cap.py). Returns whether it will be sent."""
    begin_write()
    newest = db.session.scalars(unconfirmed(email_key).limit(1)).first()
    if newest is None:
        db.session.commit()
        return False
    state = cap.outbox_state(email_key)
    db.session.add(Outbox(recipient=newest.email, letter=newest, template="resend", state=state))
    db.session.commit()
    return state != cap.CAPPED


def unconfirmed(email_key):
    """The address's letters waiting for a link of their own: not those a first letter's
    link confirms (letters.confirm_with_id)."""
    return (
        sa.select(Letter)
        .where(
            Letter.email_key == email_key,
            Letter.status == "unconfirmed",
            Letter.confirm_with_id.is_(None),
        )
        .order_by(Letter.id.desc())
    )


def unconfirmed_letters(email_key, limit=20):
    """The address's letters still waiting for confirmation, newest first (a new-link
    email carries a link for each; a letter's link confirms its joined letters too)."""
    found = unconfirmed(email_key).options(selectinload(Letter.case)).limit(limit)
    return db.session.scalars(found).all()  # with their cases, in one more query


def joined_to(letter):
    """The letters confirmed by this letter's link besides itself (what its email says
    it confirms), oldest first."""
    return db.session.scalars(joined(letter.id)).all()


def joined(letter_id):
    """The query of the letters joined to this one (letters.confirm_with_id), oldest first."""
    return sa.select(Letter).where(Letter.confirm_with_id == letter_id).order_by(Letter.id)
