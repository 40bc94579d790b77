"""How long the site keeps what: `flask --app app retention`, run daily by the mail worker.

- Letters nobody confirmed are deleted CONFIRM_MAX_AGE_DAYS after they were written, with
  their emails (their links stop working then too); a letter whose address was emailed in
  the last day waits a day more, because the daily cap (mail/cap.py) counts that email
  through its letter.
- Sent emails leave the outbox OUTBOX_KEEP_DAYS after they went (at least two days, so
  that the cap's last day is never cut short). Emails that never went (dead, capped,
  suppressed) lose their address as long after they were written and last tried: they
  are deleted, except case news, which keeps its rows without the address (see
  supporters/erase.py forget_emails) so that the send's figures stay right.
- RETENTION_DAYS_AFTER_CLOSE days after a case closed, its writers' names, addresses and
  cities are erased from its letters (supporters/erase.py): the counts stay. Consent to
  hear from the campaign (ContactConsent) is not a letter's and lives on until withdrawn.
  The photos of its offline reports are deleted then too (a photo of letters can show
  their writers' names); the reports and their figures stay.
- Expired "Your letters" links and spent partner form tokens are deleted.

Everything is done by SQL statements over at most BATCH rows each, one write transaction
per batch, so a run's memory and lock times do not grow with the number of letters. A run
is idempotent: the next one finds nothing to do. Two runs at once (two mail workers, or the
command beside a worker) take turns batch by batch, and each row goes once. The mail worker
does its daily run a little at a time between its emails (Daily), so that a large run (a
million news emails to delete) never holds up a confirmation link for its length.
"""

import logging
import time
from datetime import date, timedelta
from functools import partial

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from extensions import begin_write, db
from models import Case, DataLink, Letter, Outbox, utcnow
from offline.reports import forget_photos
from partners.form_tokens import purge_spent_tokens
from supporters.erase import ERASED, NEWS, anonymise_letters, forget_emails

DAY_SECONDS = 86400
RETRY_SECONDS = 3600  # a run that failed is tried again this much later, not at every pass
BATCH = 2000  # rows per statement and transaction
# How long the mail worker spends on retention per pass, between its batches of email
# (a batch started goes on to its end): a confirmation link waits this much longer at most.
PASS_SECONDS = 1.0
MIN_OUTBOX_KEEP_DAYS = 2  # mail/cap.py counts the emails of the last day
LOCK = (0x5734, 14)  # PostgreSQL advisory lock (two-key space): one retention batch at a time
# The states of emails that never went and never will by themselves ("stopped": case news
# staff stopped, mail/news.py). Capped ones are counted by mail/cap.py for a day:
# OUTBOX_KEEP_DAYS is two days at least.
UNSENT = ("dead", "capped", "suppressed", "stopped")
COUNTS = ("unconfirmed", "emails", "unsent", "cases", "anonymised", "photos", "links", "tokens")

logger = logging.getLogger(__name__)


def apply(now=None):
    """Delete and anonymise what is due, to the end; returns {what: how many} for report()."""
    done = dict.fromkeys(COUNTS, 0)
    for _batch in work(now or utcnow(), done):
        pass
    return done


def work(now, done):
    """Everything a run does, as a generator that yields after each batch (committed), so
    that the mail worker can do it a little at a time (Daily); adds its counts to `done`.
    `now` stays the run's: what falls due while it runs is for the next one."""
    config = current_app.config
    done["unconfirmed"] += yield from delete_unconfirmed(now, config["CONFIRM_MAX_AGE_DAYS"])
    closed_before = now - timedelta(days=config["RETENTION_DAYS_AFTER_CLOSE"])
    for case_id in due_cases(closed_before):
        anonymised, deleted = yield from anonymise_case(case_id)
        done["cases"] += bool(anonymised)
        done["anonymised"] += anonymised
        done["unconfirmed"] += deleted
        done["photos"] += yield from in_transaction(partial(forget_photos, case_id))
    keep_before = now - timedelta(days=outbox_keep_days())
    done["emails"] += yield from delete_sent_emails(keep_before)
    done["unsent"] += yield from forget_unsent_emails(keep_before)
    done["links"] += yield from delete_expired_links(now)
    done["tokens"] += yield from in_transaction(lambda: purge_spent_tokens(now))


def outbox_keep_days():
    """OUTBOX_KEEP_DAYS, but never under MIN_OUTBOX_KEEP_DAYS (README, settings)."""
    return max(current_app.config["OUTBOX_KEEP_DAYS"], MIN_OUTBOX_KEEP_DAYS)


def notice():
    """What the privacy notice (templates/public/privacy.html) says from the settings: who
    holds the data, where to write, how long each thing is kept (as this module applies
    the settings), and the notice's version, with its date when the version is one."""
    config = current_app.config
    version = config["PRIVACY_NOTICE_VERSION"]
    try:
        changed_on = date.fromisoformat(version)
    except ValueError:
        changed_on = None
    return {
        "controller": config["PRIVACY_CONTROLLER"],
        "contact": config["PRIVACY_CONTACT"],
        "confirm_days": config["CONFIRM_MAX_AGE_DAYS"],
        "outbox_days": outbox_keep_days(),
        "close_days": config["RETENTION_DAYS_AFTER_CLOSE"],
        "version": version,
        "changed_on": changed_on,
    }


def delete_unconfirmed(now, days):
    """Delete the letters older than `days` that nobody confirmed ("unconfirmed" and
    "repeat"), the letters joined to them and every email of theirs. Returns how many
    letters went."""
    recent = aliased(Outbox, name="recent_email")
    emailed_today = sa.exists().where(
        recent.letter_id == Letter.id, recent.created_at >= now - timedelta(days=1)
    )
    waiting = sa.and_(
        Letter.status != "confirmed",
        Letter.created_at < now - timedelta(days=days),
        Letter.confirm_with_id.is_(None),  # a joined letter goes with the one it joined
        ~emailed_today,
    )
    return in_batches(Letter.id, waiting, lambda batch: anonymise_letters(batch)[1])


def due_cases(closed_before):
    """The ids of the cases closed before `closed_before` (a handful: no batching)."""
    query = sa.select(Case.id).where(Case.status == "closed", Case.closed_at < closed_before)
    return db.session.scalars(query.order_by(Case.id)).all()


def anonymise_case(case_id):
    """Erase the writers' data from a closed case's letters, BATCH letters at a time.
    Returns (anonymised, deleted): letters kept without their writer, unconfirmed ones
    deleted."""
    counts = [0, 0]

    def step(batch):
        anonymised, deleted = anonymise_letters(batch)
        counts[0] += anonymised
        counts[1] += deleted
        return anonymised + deleted

    not_yet = sa.and_(Letter.case_id == case_id, ~Letter.email_key.startswith(ERASED))
    yield from in_batches(Letter.id, not_yet, step)
    return tuple(counts)


def delete_sent_emails(sent_before):
    """Delete the emails sent before `sent_before`; returns how many."""
    sent = sa.and_(Outbox.state == "sent", Outbox.sent_at < sent_before)
    return in_batches(Outbox.id, sent, delete_outbox)


def forget_unsent_emails(before):
    """Take the address out of the emails that never went (UNSENT) and were written and
    last tried before `before`: delete them, or erase a case news row's recipient
    (forget_emails). Returns how many. A dead email's last try was at its
    next_attempt_at (it is claimed when due)."""
    unsent = sa.and_(
        Outbox.state.in_(UNSENT),
        Outbox.created_at < before,
        Outbox.next_attempt_at < before,
        sa.or_(Outbox.template != NEWS, ~Outbox.recipient.startswith(ERASED)),
    )
    return in_batches(Outbox.id, unsent, forget_emails)


def delete_outbox(batch):
    statement = sa.delete(Outbox).where(batch).execution_options(synchronize_session=False)
    return db.session.execute(statement).rowcount


def delete_expired_links(now):
    """Delete the "Your letters" links that no longer open anything: expired, and past the
    access that opening one just before it expired gives (DATA_ACCESS_MINUTES), and older
    than the day that the daily cap (mail/cap.py) counts them in. Their emails go first
    (they point at the link)."""
    access = timedelta(minutes=current_app.config["DATA_ACCESS_MINUTES"])
    expired = sa.and_(
        DataLink.expires_at < now - access, DataLink.created_at < now - timedelta(days=1)
    )

    def step(batch):
        links = sa.select(DataLink.id).where(batch)
        delete_outbox(Outbox.data_link_id.in_(links))
        statement = sa.delete(DataLink).where(batch).execution_options(synchronize_session=False)
        return db.session.execute(statement).rowcount

    return in_batches(DataLink.id, expired, step)


def in_batches(column, condition, step):
    """Run step(batch) over the rows matching `condition`, BATCH rows at a time in the
    order of `column` (a primary key), each batch in a write transaction of its own, and
    add up what step returns. `batch` is `condition` bounded to an id range, so a step's
    several statements see the same rows. A generator (see work): it yields after each
    batch's commit and returns the total."""
    total, after = 0, None
    while True:
        begin_write()
        take_turn()
        pending = condition if after is None else sa.and_(condition, column > after)
        first = sa.select(column.label("id")).where(pending).order_by(column).limit(BATCH)
        last = db.session.scalar(sa.select(sa.func.max(first.subquery().c.id)))
        if last is None:
            db.session.commit()
            return total
        total += step(sa.and_(pending, column <= last))
        db.session.commit()
        after = last
        yield


def in_transaction(step):
    """step()'s result, run in a write transaction of its own (a generator, as in_batches)."""
    begin_write()
    take_turn()
    result = step()
    db.session.commit()
    yield
    return result


def take_turn():
    """On PostgreSQL, wait for another run's batch to finish first (two workers, or the
    command beside a worker): their deletes never lock the same rows in opposite orders.
    SQLite's write transactions take turns already."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(*LOCK)))


def report(done):
    """One line an operator reads: what this run did, or "nothing to do"."""
    said = [
        told(
            done.get("unconfirmed", 0), "unconfirmed letter deleted", "unconfirmed letters deleted"
        ),
        told(done.get("emails", 0), "sent email deleted", "sent emails deleted"),
        told(done.get("unsent", 0), "unsent email erased", "unsent emails erased"),
        told(
            done.get("photos", 0), "offline report photo deleted", "offline report photos deleted"
        ),
        told(done.get("links", 0), "expired link deleted", "expired links deleted"),
        told(done.get("tokens", 0), "spent form token deleted", "spent form tokens deleted"),
    ]
    if done.get("cases"):
        letters = told(done["anonymised"], "letter", "letters")
        cases = told(done["cases"], "case's writers anonymised", "cases' writers anonymised")
        said.insert(2, f"{cases} ({letters})")
    return "retention: " + (", ".join(part for part in said if part) or "nothing to do")


def told(count, one, many):
    """'1 thing' or '4,000 things'; '' for none. (Operators' English, like the logs.)"""
    return f"{count:,} {one if count == 1 else many}" if count else ""


class Daily:
    """The mail worker's daily run: at its start, then once a day, done PASS_SECONDS at a
    time (at least one batch) at each of the worker's passes, between its batches of
    email, until it is through; then its report is logged. Each pass's batches are
    committed, and a run takes up where the last pass left it (a worker that stops leaves
    the rest to the next run): several workers each do their share, taking turns batch by
    batch (in_batches). A run that fails (the database away, a lock timeout) is logged
    and tried again within the hour; it never stops the worker, whose emails matter more
    than a day's delay in deleting."""

    def __init__(self):
        self.next_run = 0.0
        self.run = None  # the run under way: work()'s generator
        self.done = {}

    def run_if_due(self, log):
        if self.run is None:
            if time.monotonic() < self.next_run:
                return
            self.done = dict.fromkeys(COUNTS, 0)
            self.run = work(utcnow(), self.done)
        until = time.monotonic() + PASS_SECONDS
        try:
            for _batch in self.run:
                if time.monotonic() >= until:
                    return  # the rest at the next pass: the emails first
        except Exception as error:
            self.run = None
            self.next_run = time.monotonic() + RETRY_SECONDS
            db.session.rollback()
            # The statements carry ids and times only: nothing personal in the traceback.
            logger.exception("retention failed")
            log(f"retention: failed ({type(error).__name__}); trying again within the hour")
            return
        self.run = None
        self.next_run = time.monotonic() + DAY_SECONDS
        log(report(self.done))
