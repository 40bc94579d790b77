"""What the site holds about one address, as its "Your letters" page and staff's page show
it, as a JSON download, and the choices the supporter makes there: consent to hear from
the campaign, case news, erasure.

An address is its email_key (the address lower-cased, as letters store it). Every
change runs in its own write transaction.
"""

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from extensions import begin_write, db, dialect_insert
from mail import suppression
from models import ContactConsent, DeliveryBatch, Letter, utcnow
from staff import audit
from supporters.erase import erase_address

# Where a letter stands, as the page says it. Delivered: in a batch staff recorded as sent
# (delivery/batches.py); a deliverable letter not sent yet waits for the next batch while
# its case is open.
STANDING = {
    "unconfirmed": _l("Not confirmed: it does not count and will not be delivered."),
    "delivered": _l("Delivered with one of the case's batches of letters."),
    "waiting": _l("Waiting for delivery with the case's letters."),
    "closed": _l("Not delivered: the case closed before it went out."),
    "reading": _l("Waiting for our team to read it before it can be delivered."),
    "held": _l("Not delivered: our team held it back."),
}
MODERATION = {
    "pending": _l("Not read by our team yet"),
    "approved": _l("Approved by our team"),
    "rejected": _l("Held back by our team"),
}
# What an erasure does to each letter, as its page says afterwards.
FATES = {
    "deleted": _l("Deleted: it was never confirmed."),
    "delivered": _l(
        "Already delivered. We keep it as a count only, without your name, address, city or text."
    ),
    "to_deliver": _l(
        "Still to be delivered: its text stays, without your name, address or city, and it counts."
    ),
    "count": _l("Kept as a count only, without your name, address, city or text."),
}


def address_letters(key):
    """The address's letters, newest first, with their cases (one more query)."""
    found = (
        sa.select(Letter)
        .where(Letter.email_key == key)
        .options(selectinload(Letter.case))
        .order_by(Letter.created_at.desc(), Letter.id.desc())
    )
    return db.session.scalars(found).all()


def deliverable(letter):
    """The letter's text goes (or went) to its recipient: delivery/export.py's rule
    (deliverable_appeals, deliverable_solidarity), for one confirmed letter."""
    if letter.kind == "appeal":
        return letter.moderation == "approved" or (
            letter.moderation == "pending" and not letter.flagged
        )
    return letter.moderation == "approved"


def delivered(letter):
    """In a sent batch (delivery.batches.delivered()): the few batches stay in the session."""
    if letter.delivery_batch_id is None:
        return False
    return db.session.get(DeliveryBatch, letter.delivery_batch_id).state == "sent"


def standing(letter):
    """A key of STANDING."""
    if letter.status != "confirmed":
        return "unconfirmed"
    if delivered(letter):
        return "delivered"
    if deliverable(letter):
        return "closed" if letter.case.status == "closed" else "waiting"
    if letter.moderation == "pending" and letter.case.status != "closed":
        return "reading"
    return "held"


def fate(letter):
    """What an erasure does to this letter: a key of FATES (supporters/erase.py)."""
    if letter.status != "confirmed":
        return "deleted"
    return {"delivered": "delivered", "waiting": "to_deliver"}.get(standing(letter), "count")


def letter_view(letter, language):
    """One letter as the page lists it, in the page's language."""
    return {
        "case": letter.case.in_language(language).name,
        "kind": letter.kind,
        "created_at": letter.created_at,
        "confirmed": letter.status == "confirmed",
        "moderation": MODERATION.get(letter.moderation, letter.moderation),
        "standing": STANDING[standing(letter)],
        "privacy_version": letter.privacy_version,
        "consent_contact": letter.consent_contact,
    }


def news_choice(key):
    """(unsubscribed, suppressed) for case news to this address (mail/suppression.py)."""
    row = suppression.known(key)
    if row is None:
        return False, False
    return row.unsubscribed_at is not None, row.suppressed_at is not None


def overview(key, language):
    """What the page shows: the letters, the consents, case news."""
    unsubscribed, suppressed = news_choice(key)
    letters = address_letters(key)
    return {
        "letters": [letter_view(letter, language) for letter in letters],
        "consent": db.session.get(ContactConsent, key),
        "unsubscribed": unsubscribed,
        "suppressed": suppressed,
        "privacy_version": current_app.config["PRIVACY_NOTICE_VERSION"],
    }


def when(moment):
    return moment.isoformat() + "Z" if isinstance(moment, datetime) else None


def letter_export(letter):
    """Everything the site holds about one letter of the address, texts included."""
    return {
        "case": {"slug": letter.case.slug, "name": letter.case.name},
        "kind": letter.kind,
        "text": letter.body,
        "name": letter.name,
        "email": letter.email,
        "country": letter.country,
        "city": letter.city,
        "letter_language": letter.language,
        "page_language": letter.locale,
        "written_at": when(letter.created_at),
        "confirmed": letter.status == "confirmed",
        "confirmed_at": when(letter.confirmed_at),
        "privacy_notice_version": letter.privacy_version,
        "consent_to_hear_from_the_campaign": letter.consent_contact,
        "moderation": letter.moderation,
        "moderation_reason": letter.reject_reason,
        "counted": letter.counted,
        "delivery": standing(letter),
        "partner": letter.partner.name if letter.partner is not None else None,
    }


def export(key):
    """The address's data as a dict for JSON: its letters with their texts, its consent
    to hear from the campaign, its case-news choice."""
    consent = db.session.get(ContactConsent, key)
    unsubscribed, suppressed = news_choice(key)
    return {
        "email": key,
        "exported_at": when(utcnow()),
        "letters": [letter_export(letter) for letter in address_letters(key)],
        "consent_to_hear_from_the_campaign": consent_export(consent),
        "case_news": {"unsubscribed": unsubscribed, "no_email_after_bounces": suppressed},
    }


def consent_export(consent):
    if consent is None:
        return None
    return {
        "given_at": when(consent.given_at),
        "privacy_notice_version": consent.privacy_version,
        "name": consent.name,
        "email": consent.email,
        "language": consent.language,
        "source": consent.source,
    }


def give_consent(key, language):
    """The supporter agrees to hear from the campaign: recorded now, with the privacy
    notice's version (a consent given before is renewed)."""
    begin_write()
    newest = db.session.scalar(
        sa.select(Letter).where(Letter.email_key == key).order_by(Letter.id.desc()).limit(1)
    )
    values = {
        "email": newest.email if newest is not None else key,
        "name": newest.name if newest is not None else "",
        "language": language,
        "given_at": utcnow(),
        "privacy_version": current_app.config["PRIVACY_NOTICE_VERSION"],
        "source": "your-letters",
    }
    insert = dialect_insert()(ContactConsent).values(email_key=key, **values)
    db.session.execute(insert.on_conflict_do_update(index_elements=["email_key"], set_=values))
    db.session.commit()


def withdraw_consent(key):
    """No more contact from the campaign: the consent row goes, and no letter says yes."""
    begin_write()
    db.session.execute(sa.delete(ContactConsent).where(ContactConsent.email_key == key))
    db.session.execute(
        sa.update(Letter)
        .where(Letter.email_key == key, Letter.consent_contact)
        .values(consent_contact=False)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def set_news(key, wanted):
    """Case news by email for this address, or none (mail/suppression.py)."""
    begin_write()
    if wanted:
        row = suppression.known(key)
        if row is not None:
            suppression.resubscribe(row.address_hash)
    else:
        suppression.unsubscribe(suppression.address_key(key), "your-letters")
    db.session.commit()


def fates(key, language):
    """What an erasure would do to each of the address's letters, in the page's language."""
    return [
        {
            "case": letter.case.in_language(language).name,
            "kind": letter.kind,
            "fate": fate(letter),
            "says": FATES[fate(letter)],
        }
        for letter in address_letters(key)
    ]


def erase(key, language, audit_as=None):
    """Erase the address (supporters/erase.py). Returns what happened to each letter (as
    fates() says it) and the counts. Staff's erasure is audited in the same transaction,
    the address named by `audit_as` (its keyed hash)."""
    begin_write()
    done = fates(key, language)
    counts = erase_address(key)
    if audit_as is not None:
        audit.record("supporter.erase", address=audit_as, **counts)
    db.session.commit()
    return done, counts


def allow_email(key, audit_as):
    """Staff let email go to the address again after a bounce or a complaint: under every
    key it may be recorded under (mail/suppression.py), audited as `audit_as` (its keyed
    hash) with what was lifted. Its case-news choice stays. False when it was not
    suppressed (nothing changes, nothing is audited)."""
    begin_write()
    row = suppression.known(key)
    if row is None or row.suppressed_at is None:
        db.session.rollback()
        return False
    lifted = {"was": row.suppressed_reason, "soft_bounces": row.soft_bounces}
    for each in suppression.address_keys(key):
        suppression.lift(each)
    audit.record("supporter.allow_email", address=audit_as, **lifted)
    db.session.commit()
    return True
