"""The hold a mail worker has on the emails it is sending.

A worker claims a batch of due emails under a token of its own and holds them for
MAIL_CLAIM_SECONDS, a hold it renews while it works (keeping_hold). Every later change
(charging an attempt, renewing, releasing, recording) touches only the rows the token
still holds: once a hold ran out and another worker claimed an email, the first one
drops it. A worker that dies holds its emails for seconds, not minutes. The hold
(held_until) leaves next_attempt_at alone: an email given back, or left by a worker that
died, is sent in its place in line, not after every email that became due meanwhile.
"""

import contextlib
import logging
import threading
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from extensions import begin_write, db
from models import Outbox, utcnow

logger = logging.getLogger(__name__)


def claim_due(limit=50):
    """Claim up to `limit` due emails for MAIL_CLAIM_SECONDS under a new claim token.

    Returns them detached from the session; their claimed_by is the batch's token. No
    attempt is charged here: start_sending charges each email when it is tried, so the
    emails of a batch that are given back (release) lose nothing.
    """
    begin_write()
    now = utcnow()
    rows = db.session.scalars(
        sa.select(Outbox)
        .where(
            Outbox.state == "pending",
            Outbox.next_attempt_at <= now,
            sa.or_(Outbox.held_until.is_(None), Outbox.held_until <= now),
        )
        .order_by(Outbox.priority, Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    token = uuid.uuid4().hex
    for row in rows:
        row.claimed_by, row.held_until = token, hold_until(now)
    db.session.flush()
    db.session.expunge_all()
    db.session.commit()
    return rows


def hold_until(now):
    return now + timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])


def update_held(emails, **values):
    """Change the rows of `emails` that their batch still holds; returns how many.

    A row whose hold ran out and that another worker claimed carries that worker's
    token: it is left alone, and the first worker drops it.
    """
    if not emails:
        return 0
    begin_write()
    result = db.session.execute(
        sa.update(Outbox)
        .where(
            Outbox.id.in_([email.id for email in emails]),
            Outbox.state == "pending",
            Outbox.claimed_by == emails[0].claimed_by,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def start_sending(email):
    """Charge an attempt to an email about to be tried, and hold it for the whole hold
    again; False when its batch no longer holds it (it must not be sent)."""
    values = {"attempts": Outbox.attempts + 1, "held_until": hold_until(utcnow())}
    return update_held([email], **values) == 1


def set_aside(email, state):
    """Put a held email in a final state without trying it (its address is suppressed):
    no attempt charged, never sent. False when its batch no longer holds it."""
    return update_held([email], state=state, claimed_by=None, held_until=None) == 1


def renew(batch):
    """Push the hold of every email the batch still holds MAIL_CLAIM_SECONDS ahead."""
    return update_held(batch, held_until=hold_until(utcnow()))


def release(emails):
    """Give back held emails not tried yet: due again at once, in their place in line, no
    attempt charged."""
    return update_held(emails, claimed_by=None, held_until=None)


@contextlib.contextmanager
def keeping_hold(batch):
    """Renew the batch's hold every third of MAIL_CLAIM_SECONDS while it is being sent,
    from a thread of its own: however slow the relay, no other worker takes an email
    this one still holds, and if this worker dies the hold runs out within seconds."""
    app = current_app._get_current_object()
    done = threading.Event()

    def renew_until_done():
        with app.app_context():
            while not done.wait(app.config["MAIL_CLAIM_SECONDS"] / 3):
                try:
                    renew(batch)
                except SQLAlchemyError:  # the database is away: the hold may run out
                    db.session.rollback()
                    logger.warning("outbox: could not renew the hold of a batch")
            db.session.remove()

    thread = threading.Thread(target=renew_until_done, name="outbox-hold", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
