"""The daily cap on emails nobody asked for: no address gets more than
MAIL_UNREQUESTED_PER_DAY of them, whoever writes letters or asks for links in its name.

Every email the site sends to supporters on someone's request is one of these (a
confirmation link, a repeat note, a new link, a "Your letters" link): the address did not
ask for it, only someone who typed it did. The count is in the database, so every app
server sees the same one. An email about a letter over the cap is still stored, as
"capped", and never sent; the letter it belonged to is kept like any other. A "Your
letters" link over the cap is not made at all (supporters/links.py): there is nothing
to keep. The person who asked is never told (the pages read the same), so the cap says
nothing about which addresses wrote.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from extensions import db
from models import DataLink, Letter, Outbox, utcnow

# Emails about a letter: found through the letters of the address.
ABOUT_LETTERS = ("confirm", "repeat", "resend")
# "Your letters" links: found by their DataLink rows (one per link sent), since an address
# may have a consent to hear from the campaign and no letter left.
UNREQUESTED = (*ABOUT_LETTERS, "data_link")
CAPPED = "capped"


def emails_today(email_key):
    """How many unrequested emails went (or will go) to this address in the last 24 hours."""
    since = utcnow() - timedelta(days=1)
    about_letters = (
        sa.select(sa.func.count())
        .select_from(Outbox)
        .join(Letter, Letter.id == Outbox.letter_id)
        .where(
            Letter.email_key == email_key,
            Outbox.template.in_(ABOUT_LETTERS),
            Outbox.state != CAPPED,
            Outbox.created_at >= since,
        )
        .scalar_subquery()
    )
    data_links = (
        sa.select(sa.func.count())
        .select_from(DataLink)
        .where(DataLink.email_key == email_key, DataLink.created_at >= since)
        .scalar_subquery()
    )
    return db.session.scalar(sa.select(about_letters + data_links))


def outbox_state(email_key):
    """The state a new unrequested email to this address starts in: "pending" (to be
    sent), or "capped" when the address had its share today. Call it in the write
    transaction that stores the email."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Requests for one address at once (several app servers, one attacker) would all
        # count below the cap: each waits here for the one before to commit. SQLite's
        # write transactions are serialised already.
        lock = sa.func.pg_advisory_xact_lock(sa.func.hashtext(email_key))
        db.session.execute(sa.select(lock))
    limit = current_app.config["MAIL_UNREQUESTED_PER_DAY"]
    return "pending" if emails_today(email_key) < limit else CAPPED
