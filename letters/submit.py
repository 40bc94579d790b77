"""Storing a supporter's letter and its email, with the automatic flags for moderators."""

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale

from extensions import begin_write, db, dialect_insert
from letters.confirm import already_counted, joined
from letters.follow_up import first_letter_id
from mail import cap
from models import FlagWord, Letter, Outbox, SolidarityText, utcnow
from moderation import flags, groups, similar
from web import caching

EMAIL = {"unconfirmed": "confirm", "repeat": "repeat"}  # which email a new letter gets
REPEATED_AFTER = 5


def submit_letter(case_id, letter, partner_id=None, fast=False):
    """Store a letter (a valid LetterForm's letter()) and its email in one transaction;
    return the letter's id.

    A first letter from an address to this case gets a confirmation link. A repeat
    (the address already has a counted letter of this kind for this case) is kept
    but not counted, and the address gets a note saying its first letter counts:
    the page answers the same either way, so it never reveals who wrote. The unique
    index settles races when letters are confirmed, so this check needs no lock.

    `fast` (sent sooner after the form was shown than a person writes) only flags the
    letter for moderators; like any letter, it counts once its address confirms it.

    A letter sent with the follow-up value of the thank-you panel (letters/follow_up.py)
    joins the first letter when that one is of the same case and address and still
    unconfirmed: it gets no email, and the first letter's link confirms both. Locking the
    first letter orders this with its confirmation (confirm_letter locks it too).

    The letter keeps the page's language (`locale`): its emails are written in it.
    """
    kind, body, email = letter["kind"], letter["body"], letter["email"]
    found = flags.text_flags(body, letter["language"], flag_words())
    fingerprint = flags.fingerprint(body)
    group_key = similar.group_key_for(case_id, kind, body, fingerprint)
    begin_write()
    if kind == "solidarity" and count_copies(fingerprint) > REPEATED_AFTER:
        found.append("repeated")
    if fast:
        found.append("fast")
    status = "repeat" if already_counted(case_id, kind, email.lower()) else "unconfirmed"
    joins = None
    if status == "unconfirmed":
        joins = joinable(letter.get("follow_up"), case_id, kind, email.lower())
    letters = Letter.__table__
    connection = db.session.connection()
    values = stored_values(letter, case_id, partner_id)
    # A copy of a text moderators already decided gets their decision on arrival
    # (moderated_by_id stays empty: the queue's "decided automatically" filter).
    decided = groups.arrival_decision(fingerprint, found, body)
    if decided:
        values.update(moderation=decided[0], reject_reason=decided[1], moderated_at=utcnow())
    letter_id = connection.execute(
        letters.insert()
        .values(
            **values,
            confirm_with_id=joins,
            fingerprint=fingerprint,
            group_key=group_key,
            flags=",".join(found),
            flagged=bool(found),
            status=status,
        )
        .returning(letters.c.id)
    ).scalar_one()
    if joins is None:
        queue_email(connection, email, EMAIL[status], letter_id)
    db.session.commit()
    return letter_id


def queue_email(connection, email, template, letter_id):
    """The letter's email in the outbox: over the address's daily cap, kept but not sent."""
    connection.execute(
        Outbox.__table__.insert().values(
            recipient=email,
            template=template,
            letter_id=letter_id,
            state=cap.outbox_state(email.lower()),
        )
    )


def stored_values(letter, case_id, partner_id):
    """The letters row's columns that come from the form and the request."""
    return {
        "case_id": case_id,
        "kind": letter["kind"],
        "body": letter["body"],
        "name": letter["name"],
        "email": letter["email"],
        "email_key": letter["email"].lower(),
        "country": letter["country"],
        "city": letter["city"],
        "language": letter["language"],
        "locale": str(get_locale() or "en"),  # the page's language: its emails' language
        "consent_privacy": True,
        # The notice agreed to, at created_at: kept with the consent once confirmed.
        "privacy_version": current_app.config["PRIVACY_NOTICE_VERSION"],
        "consent_contact": letter["consent_contact"],
        "partner_id": partner_id,
    }


def joinable(token, case_id, kind, email_key):
    """The id of the unconfirmed first letter this one may join, locked, or None. One
    letter joins it at most (the other kind): a value sent again, by a reload or on
    purpose, gets a letter of its own with its own email."""
    first_id = first_letter_id(token, case_id, email_key)
    if first_id is None:
        return None
    first = db.session.get(Letter, first_id, with_for_update=True, populate_existing=True)
    fits = (
        first is not None
        and first.case_id == case_id
        and first.email_key == email_key
        and first.kind != kind
        and first.status == "unconfirmed"
        and first.confirm_with_id is None
        and not db.session.scalar(sa.select(joined(first_id).exists()))
    )
    return first_id if fits else None


def count_copies(fingerprint):
    """Add one to the solidarity letters that carry this text; how many do now.

    An upsert by primary key, so the check costs the same however many letters share a
    text. Appeals share their template by design, so only solidarity texts are counted.
    """
    insert = dialect_insert()(SolidarityText).values(fingerprint=fingerprint, letters=1)
    upsert = insert.on_conflict_do_update(
        index_elements=[SolidarityText.fingerprint],
        set_={"letters": SolidarityText.letters + 1},
    )
    return db.session.scalar(upsert.returning(SolidarityText.letters))


def flag_words():
    """The abuse word lists: an admin's list for a language replaces its default list.

    Kept for a few seconds per process, like the pages: every submission needs them.
    """

    def load():
        rows = db.session.execute(
            sa.select(FlagWord.language, FlagWord.word).order_by(FlagWord.language, FlagWord.id)
        ).all()
        custom = {}
        for language, word in rows:
            custom.setdefault(language, []).append(word)
        return flags.DEFAULT_WORDS | {language: tuple(words) for language, words in custom.items()}

    return caching.cached(("flag-words",), load)
