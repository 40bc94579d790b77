"""The transactional outbox: emails are rows written with the letter, sent by a worker.

Delivery guarantee: at least once. A worker claims due rows by pushing their next
attempt MAIL_CLAIM_SECONDS ahead and committing, then sends, then records the result.
If it is killed mid-send, the claim runs out and another worker sends the row again:
nothing is lost, and the only duplicate possible is an email the SMTP server had
accepted just before the kill. On PostgreSQL several workers claim with
FOR UPDATE SKIP LOCKED; on SQLite claims are serialised by BEGIN IMMEDIATE.
"""

import logging
import signal
import smtplib
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_mail import Connection, Message
from sqlalchemy.exc import SQLAlchemyError

from extensions import begin_write, db
from models import Letter, Outbox, utcnow

logger = logging.getLogger(__name__)

SUBJECTS = {
    "confirm": _l("Please confirm your letter for %(name)s"),
    "repeat": _l("You have already written for %(name)s"),
    "resend": _l("Your new confirmation link"),
    "staff_invite": _l("You are invited to the Write for Rights staff pages"),
    "staff_reset": _l("Choose a new password for the Write for Rights staff pages"),
    "staff_lockout": _l("Wrong passwords for your Write for Rights staff account"),
}


def render(email):
    """(subject, text, html) of a queued email, rendered when it is sent.

    Links are built from BASE_URL, never from whatever host a request named.
    """
    from letters import confirm_url, unconfirmed_letters

    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        if email.letter_id is None:  # to a staff member (staff/links.py, staff/lockout.py)
            from staff.emails import staff_context

            context = staff_context(email)
            return (
                str(SUBJECTS[email.template]),
                render_template(f"email/{email.template}.txt", **context),
                render_template(f"email/{email.template}.html", **context),
            )
        letter = db.session.get(Letter, email.letter_id)
        context = {"letter": letter, "case": letter.case}
        if email.template == "confirm":
            context["confirm_url"] = confirm_url(letter)
        elif email.template == "resend":  # one email for all the address's waiting letters
            waiting = unconfirmed_letters(letter.email_key)
            context["links"] = [(each.case, confirm_url(each)) for each in waiting]
        return (
            str(SUBJECTS[email.template] % {"name": letter.case.name}),
            render_template(f"email/{email.template}.txt", **context),
            render_template(f"email/{email.template}.html", **context),
        )


def retry_delay(attempts):
    """Seconds before the next try: MAIL_RETRY_FIRST, doubling, capped at MAIL_RETRY_MAX."""
    config = current_app.config
    return min(config["MAIL_RETRY_FIRST"] * 2 ** (attempts - 1), config["MAIL_RETRY_MAX"])


def claim_due(limit=50):
    """Claim up to `limit` emails that are due; returns them detached from the session."""
    begin_write()
    now = utcnow()
    rows = db.session.scalars(
        sa.select(Outbox)
        .where(Outbox.state == "pending", Outbox.next_attempt_at <= now)
        .order_by(Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claim_until = now + timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = claim_until
    db.session.flush()
    db.session.expunge_all()
    db.session.commit()
    return rows


def record_result(email, error=None):
    """Mark an email sent, or schedule its retry, or mark it dead after the last try."""
    begin_write()
    row = db.session.get(Outbox, email.id, with_for_update=True)
    if error is None:
        row.state, row.sent_at, row.last_error = "sent", utcnow(), ""
    else:
        row.last_error = str(error)[:1000]
        if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            row.state = "dead"
        else:
            row.next_attempt_at = utcnow() + timedelta(seconds=retry_delay(row.attempts))
    db.session.commit()


class TimeoutConnection(Connection):
    """Flask-Mail's connection, with a connect and read timeout (it sets none)."""

    def configure_host(self):
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(
            self.mail.server, self.mail.port, timeout=current_app.config["MAIL_TIMEOUT"]
        )
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def build_message(email):
    subject, text, html = render(email)
    return Message(
        subject=subject,
        recipients=[email.recipient],
        body=text,
        html=html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )


def send_due(limit=50):
    """Send one batch of due emails. Returns (sent, failed)."""
    messages, failed = [], 0
    for email in claim_due(limit):
        try:
            messages.append((email, build_message(email)))
        except Exception as error:
            logger.exception("outbox: could not build email %s", email.id)
            record_result(email, error)
            failed += 1
    if not messages:
        return 0, failed
    if not current_app.config["MAIL_SERVER"]:
        return write_to_folder(messages), failed
    sent = 0
    try:
        with TimeoutConnection(current_app.extensions["mail"]) as connection:
            for email, message in messages:
                try:
                    connection.send(message)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
                    record_result(email, error)  # this message only; go on with the rest
                    failed += 1
                else:
                    record_result(email)
                    sent += 1
    except (OSError, smtplib.SMTPException) as error:  # server down, slow or dropped us
        for email, _message in messages[sent + failed :]:
            record_result(email, error)
            failed += 1
    return sent, failed


def mail_folder():
    return Path(current_app.instance_path) / "mail"


def write_to_folder(messages):
    """Development without MAIL_SERVER: each email becomes instance/mail/<id>.eml."""
    folder = mail_folder()
    folder.mkdir(parents=True, exist_ok=True)
    for email, message in messages:
        (folder / f"{email.id:08d}.eml").write_bytes(message.as_bytes())
        record_result(email)
    return len(messages)


def run_worker(once=False, poll_seconds=1.0, log=print):
    """Send due emails until stopped (SIGTERM/SIGINT), or only what is due now with once."""
    stopping = []
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
    total_sent = total_failed = 0
    while not stopping:
        try:
            sent, failed = send_due()
        except SQLAlchemyError:  # the database is away: keep the worker, try again soon
            db.session.rollback()
            log("mail-worker: database unavailable, retrying in a few seconds")
            time.sleep(poll_seconds * 5)
            continue
        total_sent, total_failed = total_sent + sent, total_failed + failed
        if sent or failed:
            log(f"mail-worker: sent {sent}, failed {failed}")
        if once and not (sent or failed):
            break
        if not sent and not failed:
            time.sleep(poll_seconds)
    return total_sent, total_failed


def status_counts():
    """{state: number of emails} for operators."""
    rows = db.session.execute(sa.select(Outbox.state, sa.func.count()).group_by(Outbox.state))
    return dict(rows.all())


def dead_emails(limit=20):
    """The most recent dead emails, with their last error."""
    return db.session.scalars(
        sa.select(Outbox).where(Outbox.state == "dead").order_by(Outbox.id.desc()).limit(limit)
    ).all()


def retry_dead():
    """Give every dead email a fresh set of attempts, due now."""
    begin_write()
    count = requeue_dead()
    db.session.commit()
    return count


def requeue_dead():
    """retry_dead's change, in the caller's write transaction (to audit it alongside)."""
    result = db.session.execute(
        sa.update(Outbox)
        .where(Outbox.state == "dead")
        .values(state="pending", attempts=0, next_attempt_at=utcnow())
    )
    return result.rowcount
