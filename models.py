"""Every table, with the small behaviours that belong to one row."""

import random
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

# Field limits, enforced by the forms and mirrored by the column sizes.
NAME_MAX = 100
EMAIL_MAX = 254
CITY_MAX = 100
BODY_MAX = {"appeal": 5000, "solidarity": 1000}
KINDS = ("appeal", "solidarity")
COUNTER_SHARDS = 8  # spreads the hot counter row so confirmations don't queue on one lock


def utcnow():
    """Naive UTC now: SQLite keeps no time zone, so every stored time is UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class Case(db.Model):
    """A person or group the campaign writes for, and the official the appeal goes to."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    country: Mapped[str] = mapped_column(sa.String(2))  # ISO 3166-1 alpha-2
    summary: Mapped[str] = mapped_column(sa.String(300))
    story: Mapped[str] = mapped_column(sa.Text)
    ask: Mapped[str] = mapped_column(sa.Text)
    target_title: Mapped[str] = mapped_column(sa.String(300))
    target_address: Mapped[str] = mapped_column(sa.Text, default="")
    # {"en": "Dear Minister, ...", "es": "..."}: the editable appeal, per language.
    appeal_templates: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    solidarity_prompt: Mapped[str] = mapped_column(sa.Text, default="")
    goal: Mapped[int] = mapped_column(default=10000)
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    sort_order: Mapped[int] = mapped_column(default=0)
    photo: Mapped[str | None] = mapped_column(sa.String(200))
    photo_alt: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def initials(self):
        """Letters for the placeholder portrait when there is no photo."""
        words = [w for w in self.name.split() if w[:1].isalpha()]
        return "".join(w[0] for w in words[:2]).upper()

    def template_for(self, language):
        """The appeal text in `language`, else English, else any language there is."""
        templates = self.appeal_templates or {}
        return templates.get(language) or templates.get("en") or next(iter(templates.values()), "")


class Letter(db.Model):
    """One message a supporter wrote: an appeal to the official or solidarity to the person."""

    __tablename__ = "letters"
    __table_args__ = (
        # At most one counted letter per address, case and kind, even under races.
        sa.Index(
            "uq_letters_counted_once",
            "case_id",
            "kind",
            "email_key",
            unique=True,
            sqlite_where=sa.text("counted"),
            postgresql_where=sa.text("counted"),
        ),
        sa.Index("ix_letters_email_key", "email_key"),
        sa.Index("ix_letters_case_id_created_at", "case_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    email: Mapped[str] = mapped_column(sa.String(EMAIL_MAX))
    email_key: Mapped[str] = mapped_column(sa.String(EMAIL_MAX))  # lower-cased, for repeats
    country: Mapped[str] = mapped_column(sa.String(2))
    city: Mapped[str] = mapped_column(sa.String(CITY_MAX), default="")
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    consent_privacy: Mapped[bool] = mapped_column(default=False)
    consent_contact: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(20), default="unconfirmed")
    moderation: Mapped[str] = mapped_column(sa.String(20), default="pending")
    counted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()


class CaseCounter(db.Model):
    """Confirmed, counted letters per case, split over a few rows (shards).

    Reading a count sums at most COUNTER_SHARDS small rows, so its cost does not
    grow with the number of letters stored.
    """

    __tablename__ = "case_counters"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)

    @staticmethod
    def random_shard():
        return random.randrange(COUNTER_SHARDS)


class Outbox(db.Model):
    """One email to send, about one letter. Written in the same transaction as the letter;
    the worker renders it when it sends it, so a submission does not pay for that."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(EMAIL_MAX))
    template: Mapped[str] = mapped_column(sa.String(40))  # templates/email/<template>.txt|html
    state: Mapped[str] = mapped_column(sa.String(20), default="pending")  # pending|sent|dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    letter_id: Mapped[int] = mapped_column(sa.ForeignKey("letters.id"))

    letter: Mapped[Letter] = relationship()
