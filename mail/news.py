"""Case news by email: an update that staff publish goes to everyone who confirmed a letter
to its case, once per address, in the language they wrote in.

Staff's Send only records the request (emailed_at, under the update's row lock, audited,
refused a second time): the MAIL WORKER queues the emails (queue_requested, each pass),
one INSERT ... SELECT per range of BATCH_LETTERS letter ids in its own short transaction,
so neither a web request nor the database's write lock is held for long, whatever the
number of writers. One outbox row per address: each address's newest confirmed letter to
the case gives the address, its language and the letter the row belongs to. While it is
being queued the update's `recipients` holds {PREPARING: highest letter id done}: a
restarted worker goes on from there, and a batch done twice adds nothing (NOT EXISTS, and
the outbox's unique index on (case_update_id, recipient) for news). After the last batch
`recipients` holds the addresses per language ({"en": 120, "es": 40}).

The worker sends them at MAIL_RATE_PER_SECOND after every letter's own email (priority 1
against 0), resumes after a restart like any outbox row, and leaves as "suppressed" the
rows of addresses that bounced, complained or unsubscribed. Staff can stop a send (its
unsent rows become "stopped", and queueing ends); unpublishing the update stops it too.
"""

import time

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from cases.updates import UpdateInLanguage
from extensions import begin_write, db
from models import CaseUpdate, Letter, Outbox, utcnow
from staff import audit
from supporters.erase import ERASED
from web import locale

NEWS, TEST = "news", "news_test"
PRIORITY = 1  # after every letter's own email (priority 0): claims take the lowest first
STOPPED = "stopped"  # the state of a news row that staff stopped (or the update unpublished)
FIGURES = ("queued", "sent", "failed", "skipped", "pending")
# The figure each unsent state counts in: skipped rows were never sent on purpose (the
# address bounced, complained, unsubscribed or was erased, it was over its daily cap, or
# staff stopped the send). Sent is worked out (see progress).
STATE_FIGURES = {
    "pending": "pending",
    "dead": "failed",
    "suppressed": "skipped",
    "capped": "skipped",
    STOPPED: "skipped",
}
# CaseUpdate.recipients while the worker queues the update: {PREPARING: the highest letter
# id whose range is done}. Its keys are language codes otherwise, which never start so.
PREPARING = "_queued_through"
BATCH_LETTERS = 50_000  # letter ids per queueing transaction
QUEUE_SECONDS = 2.0  # the most a worker pass spends queueing, so that emails keep going


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


def recipient_count(case_id):
    """How many addresses an update of this case would go to now."""
    query = writers(case_id).with_only_columns(sa.func.count(sa.distinct(Letter.email_key)))
    return db.session.scalar(query)


def news_rows(update, after, until, now):
    """The SELECT that gives one pending news row per address whose newest confirmed letter
    to the case has an id in (after, until], in the language of the page it was written
    on, while the site has it (see queued_twice for what may happen between batches)."""
    languages = current_app.config["LANGUAGES"]
    language = sa.case((Letter.locale.in_(languages), Letter.locale), else_=locale.DEFAULT)
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
    newer = aliased(Letter)
    newest = ~sa.exists().where(
        newer.email_key == Letter.email_key,
        newer.case_id == Letter.case_id,
        newer.id > Letter.id,
        newer.status == "confirmed",
        newer.email != "",
    )
    return list(values), in_range(update.case_id, after, until, values, newest)


def queued_twice(update, after, until):
    """The rows just queued for letters in (after, until] whose address already had this
    update's row through an older letter (the address, spelt otherwise, wrote or confirmed
    a newer letter between two batches): deleted in the batch's transaction, so that
    nobody gets the update twice. A statement of its own, after the INSERT: PostgreSQL
    would otherwise read the outbox rows that its INSERT adds while it adds them."""
    row, older, older_row = aliased(Outbox), aliased(Letter), aliased(Outbox)
    ids = in_range(update.case_id, after, until, {"id": row.id}).select_from(Letter)
    ids = ids.join(row, row.letter_id == Letter.id).join(
        older, sa.and_(older.email_key == Letter.email_key, older.id <= after)
    )
    ids = ids.join(older_row, older_row.letter_id == older.id).where(
        # "+ 0": through the letters' indexes, not through the update's million rows.
        row.case_update_id + 0 == update.id,
        row.template == NEWS,
        older_row.case_update_id + 0 == update.id,
        older_row.template == NEWS,
    )
    return sa.delete(Outbox).where(Outbox.id.in_(ids.order_by(None)))


def in_range(case_id, after, until, values, *conditions):
    """writers(case_id) whose ids are in (after, until], read as a range of the table in
    the order of ids. "+ 0" and "|| ''" keep the database off the indexes on the case and
    on the status, through which SQLite would read every letter of the case each batch."""
    select = sa.select(*values.values()).where(
        Letter.id > after,
        Letter.id <= until,
        Letter.case_id + 0 == case_id,
        Letter.status + "" == "confirmed",
        Letter.email != "",
        ~Letter.email_key.startswith(ERASED, autoescape=True),
        *conditions,
    )
    return select.order_by(Letter.id)


def queue_update(update, staff):
    """Ask the mail worker to email the update to every writer of its case, once.

    Refused (NewsError) for a draft, or when it was asked before: the update's row is
    locked first, so two admins pressing Send at once ask once. Nothing is queued here
    (see the module's docstring): the worker does it within seconds.
    """
    begin_write()
    update = db.session.get(CaseUpdate, update.id, with_for_update=True, populate_existing=True)
    if update is None or update.published_at is None:
        db.session.rollback()
        raise NewsError(_l("Publish the update before you email it."))
    if update.emailed_at is not None:
        db.session.rollback()
        raise NewsError(_l("This update was already emailed to the case's writers."))
    update.emailed_at, update.emailed_by_id = utcnow(), staff.id
    update.recipients = {PREPARING: 0}
    audit.record("case_update.email", update, actor=staff, case=update.case.slug)
    db.session.commit()


def preparing(update):
    """Whether the worker is still queueing the update's emails."""
    return PREPARING in (update.recipients or {})


def queue_requested(log=print, seconds=QUEUE_SECONDS):
    """The mail worker's share of case news, each pass: queue batches of the updates staff
    asked to send: one batch at least, more while under `seconds`, so that emails keep
    going meanwhile. Returns how many batches it queued."""
    started, batches = time.monotonic(), 0
    while queue_batch(log):
        batches += 1
        if time.monotonic() - started >= seconds:
            break
    return batches


def queue_batch(log):
    """Queue the next BATCH_LETTERS letter ids of one update being prepared, in one
    transaction under the update's row lock (another worker takes another update, or
    waits for its turn); False when no update is waiting. After the last range, the
    addresses per language are counted and stored."""
    begin_write()
    waiting = (
        sa.select(CaseUpdate)
        .where(
            CaseUpdate.emailed_at.is_not(None),
            CaseUpdate.recipients[PREPARING].as_integer().is_not(None),
        )
        .order_by(CaseUpdate.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    update = db.session.scalars(waiting.execution_options(populate_existing=True)).first()
    if update is None or not preparing(update):
        db.session.rollback()
        return False
    after = int(update.recipients[PREPARING])
    until = after + BATCH_LETTERS
    columns, select = news_rows(update, after, until, utcnow())
    db.session.execute(insert_ignoring_repeats(columns, select))
    db.session.execute(queued_twice(update, after, until))
    if until >= (db.session.scalar(sa.select(sa.func.max(Letter.id))) or 0):
        update.recipients = queued_counts(update)
        log(f"mail-worker: case update {update.id} queued for {sum(update.recipients.values())}")
    else:
        update.recipients = {PREPARING: until}
    db.session.commit()
    return True


def insert_ignoring_repeats(columns, select):
    """INSERT ... SELECT that adds nothing for an address the update already has a row for
    under this very spelling (the unique index): a concurrent or repeated batch."""
    dialect = db.engine.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Outbox)
    return insert.from_select(columns, select).on_conflict_do_nothing(
        # The partial index's own condition, written out (a bound value would not match it).
        index_elements=["case_update_id", "recipient"],
        index_where=sa.text(f"template = '{NEWS}'"),
    )


def queued_counts(update):
    """How many news rows the update has per language, counted on the progress index."""
    counted = db.session.execute(
        sa.select(Outbox.language, sa.func.count())
        .where(Outbox.case_update_id == update.id, Outbox.template == NEWS)
        .group_by(Outbox.language)
    )
    return dict(counted.all())


def stop_sending(update, staff):
    """Staff's "Stop sending": the update's emails not sent yet never go, and queueing
    ends. Returns how many were stopped, or None when nothing was left to stop."""
    begin_write()
    update = db.session.get(CaseUpdate, update.id)
    stopped = stop_pending(update)
    if stopped is None:
        db.session.rollback()
        return None
    audit.record("case_update.email_stop", update, actor=staff, stopped=stopped)
    db.session.commit()
    return stopped


def stop_pending(update):
    """In the caller's write transaction: turn the update's pending news rows "stopped"
    (a worker holding one drops it: it sends only pending rows its batch holds) and end
    queueing. The update's row is locked first, so a batch being queued is committed (and
    stopped) or not started. Returns how many were stopped, None when the send was over."""
    db.session.get(CaseUpdate, update.id, with_for_update=True, populate_existing=True)
    if update.emailed_at is None:
        return None
    result = db.session.execute(
        sa.update(Outbox)
        .where(
            Outbox.case_update_id == update.id,
            Outbox.template == NEWS,
            Outbox.state == "pending",
        )
        .values(state=STOPPED, claimed_by=None, held_until=None)
        .execution_options(synchronize_session=False)
    )
    if not (result.rowcount or preparing(update)):
        return None
    if preparing(update):
        update.recipients = queued_counts(update)
    return result.rowcount


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
    "total": figures, "done": bool, "preparing": bool, "stopped": bool}, figures being
    queued, sent, failed (dead), skipped (suppressed, capped or stopped) and pending.

    Counted from the progress index alone. Sent rows are deleted after OUTBOX_KEEP_DAYS
    (retention), so "sent" is what was queued less what is still pending, failed or
    skipped: the figures stay right once the rows are gone. While the worker queues the
    update, nothing is counted yet: "preparing", and not done.
    """
    if preparing(update):
        total = dict.fromkeys(FIGURES, 0)
        return {"languages": {}, "total": total, "done": False, "preparing": True, "stopped": False}
    rows = db.session.execute(
        sa.select(Outbox.language, Outbox.state, sa.func.count())
        .where(Outbox.case_update_id == update.id, Outbox.template == NEWS)
        .group_by(Outbox.language, Outbox.state)
    )
    languages = {
        code: dict.fromkeys(FIGURES, 0) | {"queued": queued}
        for code, queued in sorted((update.recipients or {}).items())
    }
    stopped = False
    for code, state, count in rows:
        figures = languages.setdefault(code, dict.fromkeys(FIGURES, 0))
        if state in STATE_FIGURES:
            figures[STATE_FIGURES[state]] += count
        stopped = stopped or state == STOPPED
    total = dict.fromkeys(FIGURES, 0)
    for figures in languages.values():
        figures["sent"] = max(
            figures["queued"] - figures["pending"] - figures["failed"] - figures["skipped"], 0
        )
        for key in FIGURES:
            total[key] += figures[key]
    done = total["pending"] == 0
    return {
        "languages": languages,
        "total": total,
        "done": done,
        "preparing": False,
        "stopped": stopped,
    }


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
