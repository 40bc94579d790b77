"""Where email must not go: addresses that bounced or complained (no email at all) and
addresses that unsubscribed (no more case news; their letters are still welcome).

Addresses are known here by a keyed hash (address_key), never in clear: the list must
outlive an address's letters, and erasing those (supporters/erase.py) must leave nothing
that reads as the address. The key is SECRET_KEY; keys in SECRET_KEY_FALLBACKS still
find what was recorded under them, so a key change does not forget the list.
"""

import hashlib
import hmac
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from extensions import db, dialect_insert
from models import MailAddress, MailEvent, utcnow

KEY_LENGTH = 32  # hex digits: 128 bits, and short enough for a VERP local part
HARD_BOUNCE, COMPLAINT, SOFT_BOUNCES = "hard_bounce", "complaint", "soft_bounces"


def address_key(email, secret=None):
    """The keyed hash of an address, as written (case-insensitive): a hex string."""
    secret = secret or current_app.config["SECRET_KEY"]
    normal = email.strip().lower().encode()
    digest = hmac.new(f"mail-address:{secret}".encode(), normal, hashlib.sha256)
    return digest.hexdigest()[:KEY_LENGTH]


def address_keys(email):
    """The address's hash under SECRET_KEY and under each fallback key, current first."""
    secrets = [current_app.config["SECRET_KEY"], *current_app.config["SECRET_KEY_FALLBACKS"]]
    return [address_key(email, secret) for secret in secrets]


def known(email):
    """The address's MailAddress row (under any key), or None."""
    keys = address_keys(email)
    rows = db.session.scalars(sa.select(MailAddress).where(MailAddress.address_hash.in_(keys)))
    return min(rows, key=lambda row: keys.index(row.address_hash), default=None)


def may_send(email, news=False):
    """Whether an email may go to this address: never after a hard bounce, a complaint or
    too many soft bounces; news (`news=True`) not after an unsubscribe either. Every key's
    entry counts: a complaint recorded before SECRET_KEY changed still holds."""
    keys = address_keys(email)
    rows = db.session.scalars(sa.select(MailAddress).where(MailAddress.address_hash.in_(keys)))
    return not any(
        row.suppressed_at is not None or (news and row.unsubscribed_at is not None) for row in rows
    )


def touch(key):
    """The row for a hash, created when missing (in the caller's write transaction)."""
    insert = dialect_insert()(MailAddress).values(address_hash=key, soft_bounces=0)
    db.session.execute(insert.on_conflict_do_nothing(index_elements=["address_hash"]))
    return db.session.get(MailAddress, key, with_for_update=True, populate_existing=True)


def suppress(key, reason, source):
    """No more email to the address whose hash is `key`: a hard bounce or a complaint.
    In the caller's write transaction."""
    row = touch(key)
    if row.suppressed_at is None:
        row.suppressed_at, row.suppressed_reason = utcnow(), reason
    event = "bounce" if reason == HARD_BOUNCE else reason
    db.session.add(MailEvent(kind=event, source=source))
    return row


# Soft bounces (a full mailbox, a server away) add up towards MAIL_SOFT_BOUNCE_LIMIT only
# while they come within this many days of each other: a mailbox full once a year is not
# a dead address. Measured from the row's updated_at, its last change: the last soft
# bounce, or an unsubscribe or resubscribe since, which can only keep the count longer.
SOFT_BOUNCE_DAYS = 30


def soft_bounce(key, source):
    """One more temporary failure; after MAIL_SOFT_BOUNCE_LIMIT of them, none more than
    SOFT_BOUNCE_DAYS after the one before, the address is suppressed."""
    row = touch(key)
    recent = row.updated_at >= utcnow() - timedelta(days=SOFT_BOUNCE_DAYS)
    row.soft_bounces = row.soft_bounces + 1 if recent else 1
    db.session.add(MailEvent(kind="soft_bounce", source=source))
    if (
        row.suppressed_at is None
        and row.soft_bounces >= current_app.config["MAIL_SOFT_BOUNCE_LIMIT"]
    ):
        row.suppressed_at, row.suppressed_reason = utcnow(), SOFT_BOUNCES
    return row


def unsubscribe(key, source):
    """No more case news to this address. Idempotent: a second click counts nothing."""
    row = touch(key)
    if row.unsubscribed_at is None:
        row.unsubscribed_at = utcnow()
        db.session.add(MailEvent(kind="unsubscribe", source=source))
    return row


def resubscribe(key):
    """Case news again, when the supporter asks for it (their "Your letters" page)."""
    row = db.session.get(MailAddress, key, with_for_update=True)
    if row is not None:
        row.unsubscribed_at = None
    return row


def lift(key):
    """Email may go again to the address whose hash is `key`: staff found its bounce or
    complaint was wrong (or forged). Its unsubscribe from case news stays: that was the
    supporter's own choice. In the caller's write transaction; the row, or None."""
    row = db.session.get(MailAddress, key, with_for_update=True)
    if row is not None:
        row.suppressed_at, row.suppressed_reason, row.soft_bounces = None, "", 0
    return row
