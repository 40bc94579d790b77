"""What the site keeps about supporters' addresses beyond their letters: where email must
not go (bounces, complaints, unsubscribes), consent to hear from the campaign, and the
links that let a supporter see and erase their data."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.campaign import EMAIL_MAX, NAME_MAX, utcnow


class MailAddress(db.Model):
    """Sending to one address, known by a keyed hash (mail/suppression.py), never in clear:
    the list outlives the address's letters, and erasing them leaves nothing readable."""

    __tablename__ = "mail_addresses"

    address_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    soft_bounces: Mapped[int] = mapped_column(default=0)
    # No email at all: a hard bounce, a complaint, or too many soft bounces.
    suppressed_at: Mapped[datetime | None]
    suppressed_reason: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    unsubscribed_at: Mapped[datetime | None]  # no more case news; letters still welcome
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MailEvent(db.Model):
    """One bounce, complaint or unsubscribe, for the dashboard's figures per day. It says
    what happened and when, not to whom."""

    __tablename__ = "mail_events"
    __table_args__ = (sa.Index("ix_mail_events_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # bounce|soft_bounce|complaint|unsubscribe
    source: Mapped[str] = mapped_column(sa.String(20), default="")  # dsn|ses|link|one-click...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactConsent(db.Model):
    """A confirmed supporter's consent to hear from the campaign, with when it was given
    and the privacy notice's version then. It outlives the letters' anonymisation
    (supporters/retention.py) until withdrawn: withdrawing deletes the row."""

    __tablename__ = "contact_consents"

    email_key: Mapped[str] = mapped_column(sa.String(EMAIL_MAX), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(EMAIL_MAX))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX), default="")
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    privacy_version: Mapped[str] = mapped_column(sa.String(20), default="")
    source: Mapped[str] = mapped_column(sa.String(20), default="letter")  # letter|your-letters


class DataLink(db.Model):
    """An emailed "Your letters" link (supporters/links.py): single-use, expiring. Its
    signed token carries only this row's id; opening it starts a short access."""

    __tablename__ = "data_links"
    __table_args__ = (
        sa.Index("ix_data_links_email_key", "email_key"),
        # An erased link's id never comes back: its old token must not open a new link.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str] = mapped_column(sa.String(EMAIL_MAX))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]  # opened: the access lasts DATA_ACCESS_MINUTES from here
