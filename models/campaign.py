"""The campaign's tables: cases, letters and their counters, the outbox, partners,
moderation's lists."""

import random
import secrets
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

# Field limits, enforced by the forms and mirrored by the column sizes.
NAME_MAX = 100
EMAIL_MAX = 254
CITY_MAX = 100
BODY_MAX = {"appeal": 5000, "solidarity": 1000}
KINDS = ("appeal", "solidarity")
MODERATION_STATES = ("pending", "approved", "rejected")
ROLES = ("moderator", "admin")
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
    # Where an appeals batch can be emailed (delivery/), or "" when only by post or hand.
    target_email: Mapped[str] = mapped_column(sa.String(EMAIL_MAX), default="", server_default="")
    # {"en": "Dear Minister, ...", "es": "..."}: the editable appeal, per language.
    appeal_templates: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    solidarity_prompt: Mapped[str] = mapped_column(sa.Text, default="")
    # Suggested solidarity messages a supporter can pick, per language:
    # {"en": ["Stay strong, ...", "..."], "es": [...]}. Moderators decide each once
    # (models.TextGroup), and their copies are approved on arrival by default.
    solidarity_suggestions: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    goal: Mapped[int] = mapped_column(default=10000)
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    sort_order: Mapped[int] = mapped_column(default=0)
    photo: Mapped[str | None] = mapped_column(sa.String(200))
    photo_alt: Mapped[str] = mapped_column(sa.String(300), default="")
    # Texts above (cases.languages.TRANSLATED_FIELDS) in other languages than English:
    # {"es": {"name": "...", "summary": "...", ...}}. A missing text falls back to English.
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    # The languages of the person (the solidarity booklet) and the official (their letter).
    person_language: Mapped[str] = mapped_column(sa.String(10), default="en", server_default="en")
    target_language: Mapped[str] = mapped_column(sa.String(10), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When the case last closed: its writers' personal data is anonymised
    # RETENTION_DAYS_AFTER_CLOSE days later (supporters/retention.py).
    closed_at: Mapped[datetime | None]

    @property
    def initials(self):
        """Letters for the placeholder portrait when there is no photo."""
        words = [w for w in self.name.split() if w[:1].isalpha()]
        return "".join(w[0] for w in words[:2]).upper()

    def in_language(self, language):
        """The case as a page in `language` shows it (cases.languages.CaseInLanguage)."""
        from cases.languages import CaseInLanguage  # it reads this module's Case

        return CaseInLanguage(self, language)

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
            # As the queries write it on each database, so that they use this index.
            sqlite_where=sa.text("counted = 1"),
            postgresql_where=sa.text("counted"),
        ),
        sa.Index("ix_letters_email_key", "email_key"),
        sa.Index("ix_letters_case_id_created_at", "case_id", "created_at"),
        # The moderation queue: confirmed letters of one state, flagged first, oldest first
        # (keyset on id). Status leads, so unconfirmed letters, which stay "pending" for
        # ever, are never scanned on the way to the confirmed ones.
        sa.Index("ix_letters_queue", "status", "moderation", "flagged", "id"),
        sa.Index("ix_letters_partner_id", "partner_id"),
        # The queue's groups: confirmed letters of one state, counted per group_key. It
        # holds every column the counts read (moderation/groups.py), so counting 100,000
        # waiting letters into groups reads this index alone, never the table.
        sa.Index(
            "ix_letters_groups",
            "status",
            "moderation",
            "group_key",
            "fingerprint",
            "flagged",
            "delivery_batch_id",
            "id",
        ),
        # A delivery batch's letters, and the letters no batch holds yet.
        sa.Index("ix_letters_delivery_batch_id", "delivery_batch_id"),
        # The staff dashboard's one GROUP BY (dashboard.GROUPED), read alone and in order.
        sa.Index(
            "ix_letters_dashboard",
            "case_id",
            "country",
            "partner_id",
            "kind",
            "status",
            "moderation",
            "counted",
        ),
        # A deleted letter's id (erased, or unconfirmed past its time) never comes back, as
        # on PostgreSQL: a link signed for it must not confirm the next letter stored.
        {"sqlite_autoincrement": True},
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
    language: Mapped[str] = mapped_column(sa.String(10), default="en")  # the letter's own
    # The language of the page the supporter wrote on: their emails go out in it.
    locale: Mapped[str] = mapped_column(sa.String(10), default="en", server_default="en")
    # Sent in the same flow as that earlier letter of the same person (the solidarity
    # message after the appeal): that letter's confirmation link confirms this one too.
    confirm_with_id: Mapped[int | None] = mapped_column(sa.ForeignKey("letters.id"), index=True)
    consent_privacy: Mapped[bool] = mapped_column(default=False)
    # The privacy notice's version (PRIVACY_NOTICE_VERSION) the writer agreed to, at
    # created_at. Consent to hear from the campaign lives on in ContactConsent once confirmed.
    privacy_version: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    consent_contact: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(20), default="unconfirmed")
    moderation: Mapped[str] = mapped_column(sa.String(20), default="pending")
    counted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partners.id"))
    # Automatic flags (flags.py), comma-separated, set when the letter is stored; they only
    # sort the queue, they never hold a letter back.
    flags: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    flagged: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # flags.fingerprint of the text: copies of one solidarity text share it (SolidarityText).
    fingerprint: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    # The queue group the letter is decided in (moderation/groups.py): its own fingerprint,
    # or the fingerprint of the suggested text it is a near-copy of.
    group_key: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    # The delivery batch that holds it (prepared or sent; models.DeliveryBatch), or None.
    delivery_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("delivery_batches.id"))
    # A moderator who opened the letter holds it until claimed_until, so that two
    # moderators never review the same letter.
    claimed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    claimed_until: Mapped[datetime | None]
    moderated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    moderated_at: Mapped[datetime | None]
    reject_reason: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")

    case: Mapped[Case] = relationship()
    partner: Mapped["Partner | None"] = relationship()

    @property
    def flag_list(self):
        return [flag for flag in self.flags.split(",") if flag]


class CaseUpdate(db.Model):
    """News of a case that staff post: on the case page, on the home page when it tells an
    outcome, and by email to the case's writers (mail/news.py) once staff send it."""

    __tablename__ = "case_updates"
    __table_args__ = (sa.Index("ix_case_updates_case_id_happened_on", "case_id", "happened_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    title: Mapped[str] = mapped_column(sa.String(200))  # English
    body: Mapped[str] = mapped_column(sa.Text)  # English
    # {"es": {"title": "...", "body": "..."}}: a missing text falls back to English.
    translations: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    happened_on: Mapped[date]
    # What became of the person (cases/updates.py OUTCOMES), or "" for news without one.
    outcome: Mapped[str] = mapped_column(sa.String(30), default="", server_default="")
    published_at: Mapped[datetime | None]  # None: a draft, seen by staff only
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    # The email to the case's writers: when staff queued it, by whom, and how many
    # addresses it went to per language ({"en": 120, "es": 40}), counted at that moment.
    emailed_at: Mapped[datetime | None]
    emailed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    recipients: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")

    case: Mapped[Case] = relationship()


class CaseCounter(db.Model):
    """Confirmed, counted letters per case over a few rows (shards): reading a count sums
    at most COUNTER_SHARDS small rows, whatever the number of letters stored."""

    __tablename__ = "case_counters"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)

    @staticmethod
    def random_shard():
        return random.randrange(COUNTER_SHARDS)


class SolidarityText(db.Model):
    """How many solidarity letters carry one text (by flags.fingerprint), for the
    "repeated" flag. Each letter adds one to its row by primary key, so the check takes
    the same time on the first day of the campaign and after millions of letters; counting
    among the letters themselves would read more of them as the campaign grows.
    """

    __tablename__ = "solidarity_texts"

    fingerprint: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    letters: Mapped[int] = mapped_column(default=0)


class Outbox(db.Model):
    """One email to send, about one letter or to a staff member. Written in the same
    transaction as the letter; the worker renders it when it sends it, so a submission
    does not pay for that."""

    __tablename__ = "outbox"
    __table_args__ = (
        # Due emails in the order workers take them: a letter's email (priority 0) before
        # case news (1), so a million news emails never delay a confirmation link.
        sa.Index("ix_outbox_due", "state", "priority", "next_attempt_at", "id"),
        # An address's emails of the day (mail/cap.py) are found through its letters.
        sa.Index("ix_outbox_letter_id_created_at", "letter_id", "created_at"),
        # One news email per address and case update, whatever happens (mail/news.py);
        # staff's test sends ("news_test") are not in it.
        sa.Index(
            "uq_outbox_update_recipient",
            "case_update_id",
            "recipient",
            unique=True,
            sqlite_where=sa.text("template = 'news'"),
            postgresql_where=sa.text("template = 'news'"),
        ),
        # A news send's progress: counted per state and language from this index alone.
        sa.Index("ix_outbox_update_progress", "case_update_id", "template", "state", "language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(EMAIL_MAX))
    template: Mapped[str] = mapped_column(sa.String(40))  # templates/email/<template>.txt|html
    # pending|sent|dead, or capped: over its address's daily cap, kept and never sent, or
    # suppressed: its address bounced, complained or, for news, unsubscribed (never sent)
    state: Mapped[str] = mapped_column(sa.String(20), default="pending")
    priority: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # A worker batch's hold (mail/claims.py): its claim token, and until when it holds the
    # email. A worker renews, sends and records only the rows its token still holds; the
    # hold never moves next_attempt_at, so an email given back keeps its place in line.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(32))
    held_until: Mapped[datetime | None]
    # About a letter (to its writer), or a staff email (an invitation, a reset link or a
    # sign-in warning, with the link it carries).
    letter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("letters.id"))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    staff_link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_links.id"))
    # Case news (mail/news.py): the update it carries, in the writer's language, or a
    # data-rights link (supporters/links.py).
    case_update_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_updates.id"))
    language: Mapped[str | None] = mapped_column(sa.String(10))
    data_link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("data_links.id"))
    # An appeals batch emailed to the case's official, its PDF attached (delivery/).
    delivery_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("delivery_batches.id"))

    letter: Mapped[Letter | None] = relationship()


class Partner(db.Model):
    """An organisation that embeds letter forms on its own site; its letters count for it."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # Exact origins (scheme://host[:port]) allowed to frame the embed.
    origins: Mapped[list] = mapped_column(sa.JSON, default=list)
    # The private stats link's secret; admins can rotate it.
    stats_token: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=lambda: secrets.token_urlsafe(32)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A removed partner's embeds and stats link stop working; its letters keep their
    # attribution, so the campaign's figures per partner do not change.
    removed_at: Mapped[datetime | None]


class UsedFormToken(db.Model):
    """A partner embed's spent single-use form token (replays are refused): in the database
    so every app server sees it, kept until the token would have expired, then purged."""

    __tablename__ = "used_form_tokens"
    __table_args__ = (sa.Index("ix_used_form_tokens_expires_at", "expires_at"),)

    nonce: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    expires_at: Mapped[datetime]


class RejectReason(db.Model):
    """The editable catalogue of reasons a moderator picks from when rejecting a message."""

    __tablename__ = "reject_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)


class FlagWord(db.Model):
    """A word or phrase that flags a message for moderators, per language (admins edit them)."""

    __tablename__ = "flag_words"
    __table_args__ = (sa.UniqueConstraint("language", "word"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(sa.String(10))
    word: Mapped[str] = mapped_column(sa.String(100))
