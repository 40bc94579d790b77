"""Case news by email: an update that staff publish goes to everyone who confirmed a letter
to its case, once per address, in the language they wrote in.

Queuing is one INSERT ... SELECT inside the database, so a million writers take seconds
and no memory here: one outbox row per address (the newest confirmed letter of each
email_key gives the address, its language and the letter the row belongs to). The worker
sends them at MAIL_RATE_PER_SECOND after every letter's own email (priority 1 against 0),
resumes after a restart like any outbox row, and leaves as "suppressed" the rows of
addresses that bounced, complained or unsubscribed. The outbox's unique index on
(case_update_id, recipient) for news, and emailed_at set in the same transaction under
the update's row lock, make sure that no address gets the same update twice.
"""

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l

from cases.updates import UpdateInLanguage
from extensions import begin_write, db
from models import CaseUpdate, Letter, Outbox, utcnow
from staff import audit
from supporters.erase import ERASED
from web import locale

NEWS, TEST = "news", "news_test"
PRIORITY = 1  # after every letter's own email (priority 0): claims take the lowest first
FIGURES = ("queued", "sent", "failed", "skipped", "pending")
# The figure each unsent state counts in: skipped rows were never sent on purpose (the
# address bounced, complained or unsubscribed). Sent is worked out (see progress).
STATE_FIGURES = {
    "pending": "pending",
    "dead": "failed",
    "suppressed": "skipped",
    "capped": "skipped",
}


class NewsError(Exception):
    """Why an update cannot be emailed (said to staff as it is)."""


def writers(case_id):
    """The confirmed letters of a case whose writers may hear from it: erased letters
    (anonymised, email_key "erased:<id>") and letters without an address are left out."""
    return sa.select(Letter).where(
        Letter.case_id == case_id,
        Letter.status == "confirmed",
        Letter.email != "",
        ~Letter.email_key.startswith(ERASED, autoescape=True),
    )


def newest_letters(case_id):
    """The id of each address's newest confirmed letter to the case: one per email_key."""
    query = writers(case_id).with_only_columns(sa.func.max(Letter.id).label("id"))
    return query.group_by(Letter.email_key).subquery("newest")


def recipient_count(case_id):
    """How many addresses an update of this case would go to now."""
    query = writers(case_id).with_only_columns(sa.func.count(sa.distinct(Letter.email_key)))
    return db.session.scalar(query)


def news_rows(update, now):
    """The SELECT that gives one pending news row per address (see newest_letters), in
    the language of the page its newest letter was written on, while the site has it."""
    languages = current_app.config["LANGUAGES"]
    language = sa.case((Letter.locale.in_(languages), Letter.locale), else_=locale.DEFAULT)
    newest = newest_letters(update.case_id)
    values = {
        "recipient": Letter.email,
        "template": sa.literal(NEWS, sa.String),
        "state": sa.literal("pending", sa.String),
        "priority": sa.literal(PRIORITY, sa.SmallInteger),
        "attempts": sa.literal(0, sa.Integer),
        "next_attempt_at": sa.literal(now, sa.DateTime),
        "last_error": sa.literal("", sa.Text),
        "created_at": sa.literal(now, sa.DateTime),
        "letter_id": Letter.id,
        "case_update_id": sa.literal(update.id, sa.Integer),
        "language": language,
    }
    select = sa.select(*values.values()).join_from(Letter, newest, newest.c.id == Letter.id)
    return list(values), select


def queue_update(update, staff):
    """Queue the update for every writer of its case, once; returns {language: count}.

    Refused (NewsError) for a draft, or when it was queued before: the update's row is
    locked first, so two admins pressing Send at once queue it once.
    """
    begin_write()
    update = db.session.get(CaseUpdate, update.id, with_for_update=True, populate_existing=True)
    if update is None or update.published_at is None:
        db.session.rollback()
        raise NewsError(_l("Publish the update before you email it."))
    if update.emailed_at is not None:
        db.session.rollback()
        raise NewsError(_l("This update was already emailed to the case's writers."))
    now = utcnow()
    update.recipients = insert_and_count(update, now)
    update.emailed_at, update.emailed_by_id = now, staff.id
    audit.record(
        "case_update.email",
        update,
        actor=staff,
        case=update.case.slug,
        recipients=update.recipients,
    )
    db.session.commit()
    return update.recipients


def insert_and_count(update, now):
    """Insert the update's news rows; returns how many per language, counted on the
    progress index.

    In the order of the letters' ids: PostgreSQL then checks each row's letter (its
    foreign key) and adds it to the letter_id index in the order they are stored, a
    quarter less work than in the order of the addresses (bench/news_queue.py).
    """
    columns, select = news_rows(update, now)
    db.session.execute(sa.insert(Outbox).from_select(columns, select.order_by(Letter.id)))
    counted = db.session.execute(
        sa.select(Outbox.language, sa.func.count())
        .where(Outbox.case_update_id == update.id, Outbox.template == NEWS)
        .group_by(Outbox.language)
    )
    return dict(counted.all())


def test_send(update, staff, language):
    """Queue the update, as writers in `language` will get it, to the staff member's own
    address: staff may test as often as they like (these rows are not in the once-per-
    address index), and they go before the news itself."""
    begin_write()
    email = Outbox(
        recipient=staff.email,
        template=TEST,
        state="pending",
        priority=0,
        staff_id=staff.id,
        case_update_id=update.id,
        language=locale.supported(language),
    )
    db.session.add(email)
    audit.record("case_update.test_email", update, actor=staff, language=email.language)
    db.session.commit()
    return email


def progress(update):
    """The send's figures per language and in all: {"languages": {code: figures},
    "total": figures, "done": bool}, figures being queued, sent, failed (dead), skipped
    (suppressed or capped) and pending.

    Counted from the progress index alone. Sent rows are deleted after OUTBOX_KEEP_DAYS
    (retention), so "sent" is what was queued less what is still pending, failed or
    skipped: the figures stay right once the rows are gone.
    """
    rows = db.session.execute(
        sa.select(Outbox.language, Outbox.state, sa.func.count())
        .where(Outbox.case_update_id == update.id, Outbox.template == NEWS)
        .group_by(Outbox.language, Outbox.state)
    )
    languages = {
        code: dict.fromkeys(FIGURES, 0) | {"queued": queued}
        for code, queued in sorted((update.recipients or {}).items())
    }
    for code, state, count in rows:
        figures = languages.setdefault(code, dict.fromkeys(FIGURES, 0))
        if state in STATE_FIGURES:
            figures[STATE_FIGURES[state]] += count
    total = dict.fromkeys(FIGURES, 0)
    for figures in languages.values():
        figures["sent"] = max(
            figures["queued"] - figures["pending"] - figures["failed"] - figures["skipped"], 0
        )
        for key in FIGURES:
            total[key] += figures[key]
    return {"languages": languages, "total": total, "done": total["pending"] == 0}


def render_email(email, letter):
    """(subject, text, html) of a news email, inside force_locale (mail/outbox.render):
    the update in the writer's language (English where staff did not translate it), why
    they get it, and how to stop it. A staff test says so at its top."""
    from mail.unsubscribe import unsubscribe_url

    language = str(get_locale())
    update = db.session.get(CaseUpdate, email.case_update_id)
    context = {
        "test": email.template == TEST,
        "update": UpdateInLanguage(update, language),
        "case": update.case.in_language(language),
        "happened_on": format_date(update.happened_on, "long"),
        "case_url": url_for("public.case", slug=update.case.slug, _external=True),
        "unsubscribe_url": unsubscribe_url(email.recipient),
        "your_letters_url": url_for("your_letters.ask", _external=True),
    }
    context["paragraphs"] = paragraphs(context["update"].body)
    return (
        context["update"].title,
        render_template("email/news.txt", **context),
        render_template("email/news.html", **context),
    )


def paragraphs(text):
    """The update's text as paragraphs (blank lines part them), for the HTML email."""
    blocks = text.replace("\r\n", "\n").split("\n\n")
    return [block.strip() for block in blocks if block.strip()]
