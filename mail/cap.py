"""The daily cap on emails nobody asked for: no address gets more than
MAIL_UNREQUESTED_PER_DAY of them, whoever writes letters or asks for links in its name.

Every email the site sends today is one of these (a confirmation link, a repeat note, a
new link): the address did not ask for it, only someone who typed it did. The count is
in the database, so every app server sees the same one. An email over the cap is still
stored, as "capped", and never sent; the letter it belonged to is kept like any other.
The person who asked is never told (the pages read the same), so the cap says nothing
about which addresses wrote.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from extensions import db
from models import Letter, Outbox, utcnow

UNREQUESTED = ("confirm", "repeat", "resend")
CAPPED = "capped"


def emails_today(email_key):
    """How many unrequested emails went (or will go) to this address in the last 24 hours."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Outbox)
        .join(Letter, Letter.id == Outbox.letter_id)
        .where(
            Letter.email_key == email_key,
            Outbox.template.in_(UNREQUESTED),
            Outbox.state != CAPPED,
            Outbox.created_at >= utcnow() - timedelta(days=1),
        )
    )


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
