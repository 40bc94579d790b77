"""The transactional outbox: emails are rows written with the letter, sent by a worker.

Delivery guarantee: at least once. A worker claims a batch of due rows under a token
of its own, holding them for a short MAIL_CLAIM_SECONDS that it renews while it sends;
it sends and records only rows its token still holds. If it is killed, the hold runs
out within seconds and another worker sends the rows: nothing is lost, and the only
duplicate possible is an email the SMTP server accepted just before the worker died
(or lost its database), before it could record it. On PostgreSQL several workers claim
with FOR UPDATE SKIP LOCKED; on SQLite claims are serialised by BEGIN IMMEDIATE.
"""

import contextlib
import hmac
import logging
import re
import signal
import smtplib
import time
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, format_date, get_locale
from flask_babel import lazy_gettext as _l
from flask_mail import Connection, Message
from sqlalchemy.exc import SQLAlchemyError

from extensions import begin_write, db
from mail import claims
from models import Letter, Outbox, utcnow
from supporters import retention
from web import locale

logger = logging.getLogger(__name__)

SUBJECTS = {
    "confirm": _l("Please confirm your letter for %(name)s"),
    "repeat": _l("You have already written for %(name)s"),
    "resend": _l("Your new confirmation link"),
}


def render(email):
    """(subject, text, html) of a queued email, rendered when it is sent.

    Links are built from BASE_URL, never from whatever host a request named. A
    supporter's email is written in the language of the page they wrote on (the letter's
    locale, the newest letter's for a new-link email): its words, the case's texts,
    dates, and links to pages in that language. Staff emails stay English.
    """
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        if email.template.startswith("staff_"):  # staff/links.py, staff/lockout.py
            from staff.emails import SUBJECTS as STAFF_SUBJECTS
            from staff.emails import staff_context

            context = staff_context(email)
            return (
                str(STAFF_SUBJECTS[email.template]),
                render_template(f"email/{email.template}.txt", **context),
                render_template(f"email/{email.template}.html", **context),
            )
        letter = db.session.get(Letter, email.letter_id) if email.letter_id else None
        # The email's own language (news, data links), else its letter's page language,
        # while the site still offers it.
        language = email.language or (letter.locale if letter is not None else None)
        with force_locale(locale.supported(language)):
            if email.template in OTHER_SUPPORTER_EMAILS:
                return OTHER_SUPPORTER_EMAILS[email.template](email, letter)
            return render_for_supporter(email, letter)


def news_email(email, letter):
    """Case news (mail/news.py): its writers' and staff's test sends alike."""
    from mail import news

    return news.render_email(email, letter)


def data_link_email(email, letter):
    """A "Your letters" link (supporters/links.py)."""
    from supporters import links

    return links.render_email(email, letter)


# Supporter emails whose module renders them: (subject, text, html), in force_locale.
OTHER_SUPPORTER_EMAILS = {"news": news_email, "news_test": news_email, "data_link": data_link_email}


def render_for_supporter(email, letter):
    """A letter's email, inside force_locale (url_for then keeps that language)."""
    from letters import confirm_url, joined_to, unconfirmed_letters

    language = str(get_locale())
    case = letter.case.in_language(language)
    context = {"letter": letter, "case": case, "written_on": format_date(letter.created_at, "long")}
    if email.template == "confirm":
        context["confirm_url"] = confirm_url(letter)
        context["joined"] = joined_to(letter)  # what else the link confirms
    elif email.template == "resend":  # one email for all the address's waiting letters
        waiting = unconfirmed_letters(letter.email_key)
        context["links"] = [
            (each.case.in_language(language), confirm_url(each)) for each in waiting
        ]
    if email.template in ("confirm", "resend"):
        context["link_until"] = format_date(link_expiry(), "long")
    return (
        str(SUBJECTS[email.template] % {"name": case.name}),
        render_template(f"email/{email.template}.txt", **context),
        render_template(f"email/{email.template}.html", **context),
    )


def link_expiry():
    """The day a confirmation link made now stops working (letters/confirm.py)."""
    return utcnow() + timedelta(days=current_app.config["CONFIRM_MAX_AGE_DAYS"])


def retry_delay(attempts):
    """Seconds before the next try: MAIL_RETRY_FIRST, doubling, capped at MAIL_RETRY_MAX."""
    config = current_app.config
    return min(config["MAIL_RETRY_FIRST"] * 2 ** (attempts - 1), config["MAIL_RETRY_MAX"])


def record_result(email, error=None):
    """Mark an email sent, or schedule its retry, or mark it dead after the last try.

    A failure is recorded only while the email's batch still holds it; a success always
    (whoever holds the email now must not send it again).
    """
    begin_write()
    row = db.session.get(Outbox, email.id, with_for_update=True)
    if row.state == "pending" and error is None:
        row.state, row.sent_at, row.last_error = "sent", utcnow(), ""
        row.claimed_by = row.held_until = None
    elif row.state == "pending" and row.claimed_by == email.claimed_by:
        row.last_error, row.claimed_by, row.held_until = describe(error), None, None
        if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            row.state = "dead"
        else:
            row.next_attempt_at = utcnow() + timedelta(seconds=retry_delay(row.attempts))
    db.session.commit()


# Anything shaped like an email address, in an error an operator reads (outbox status).
ADDRESS = re.compile(r"[^\s<>()\[\]{}'\",;:]+@[^\s<>()\[\]{}'\",;:]+")


def describe(error):
    """The cause of a failed send as stored in last_error, without any email address: a
    relay's refusal names the recipient, and `outbox status` prints it."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = [f"{code} {as_text(reply)}" for code, reply in error.recipients.values()]
        text = "recipient refused: " + "; ".join(replies)
    elif isinstance(error, smtplib.SMTPResponseException):
        text = f"{error.smtp_code} {as_text(error.smtp_error)}"
    else:
        text = str(error) or type(error).__name__
    return ADDRESS.sub("[address]", text)[:1000]


def as_text(reply):
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


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

    def __exit__(self, *exc_info):
        # After a timeout smtplib has closed the link already, and QUIT would raise
        # "please run connect() first": nothing is left to close.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            super().__exit__(*exc_info)


def build_message(email):
    subject, text, html = render(email)
    message = Message(
        subject=subject,
        recipients=[email.recipient],
        body=text,
        html=html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
    message.msgId = message_id(email)
    return message


def message_id(email):
    """The same Message-ID each time this email is sent, so the rare duplicate (see the
    module's docstring) shows as one email in mail programs that merge by Message-ID.
    A keyed digest of the row's id: it tells nobody how many emails the site sends."""
    key = str(current_app.secret_key).encode()
    digest = hmac.new(key, f"outbox:{email.id}".encode(), "sha256").hexdigest()[:32]
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    address = parseaddr(sender if isinstance(sender, str) else sender[1])[1]
    return f"<{digest}@{address.rpartition('@')[2] or 'localhost'}>"


class SmtpRelay:
    """A batch's SMTP connection, opened for its first email and closed with the batch."""

    def __init__(self):
        self.exits = contextlib.ExitStack()
        self.connection = None

    def send(self, email, message):
        if self.connection is None:
            mail = current_app.extensions["mail"]
            self.connection = self.exits.enter_context(TimeoutConnection(mail))
        self.connection.send(message)

    def close(self):
        self.connection = None
        self.exits.close()


class FolderRelay:
    """Development without MAIL_SERVER: each email becomes instance/mail/<id>.eml."""

    def send(self, email, message):
        folder = mail_folder()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{email.id:08d}.eml").write_bytes(message.as_bytes())

    def close(self):
        pass


def mail_folder():
    return Path(current_app.instance_path) / "mail"


# The relay said no to this one email (its recipient, sender or content): the link works.
REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def send_one(relay, email):
    """Try one held email: "sent", "failed" (this email), "broken" (the link to the relay
    failed: down, too slow or dropped) or "gone" (another worker holds it now)."""
    if not claims.start_sending(email):
        return "gone"
    try:
        relay.send(email, build_message(email))
    except REFUSALS as error:
        outcome = ("failed", error)
    except (OSError, smtplib.SMTPException) as error:
        outcome = ("broken", error)
    except Exception as error:  # this email cannot be built or sent: the others can
        logger.exception("outbox: could not build or send email %s", email.id)
        outcome = ("failed", error)
    else:
        outcome = ("sent", None)
    record_result(email, outcome[1])
    return outcome[0]


def send_claimed(batch, stopping=lambda: False):
    """Send a claimed batch one email at a time, keeping its hold. Returns (sent, failed).

    A failure is charged to the email tried alone, with its cause. When the link to the
    relay fails, or the worker is stopping, the emails not tried yet are released.
    """
    relay = SmtpRelay() if current_app.config["MAIL_SERVER"] else FolderRelay()
    outcomes = []
    with claims.keeping_hold(batch):
        try:
            for index, email in enumerate(batch):
                if stopping() or "broken" in outcomes:
                    claims.release(batch[index:])
                    break
                outcomes.append(send_one(relay, email))
        finally:
            relay.close()
    return outcomes.count("sent"), outcomes.count("failed") + outcomes.count("broken")


def send_due(limit=50, stopping=lambda: False):
    """Claim one batch of due emails and send it. Returns (sent, failed)."""
    batch = claims.claim_due(limit)
    return send_claimed(batch, stopping) if batch else (0, 0)


def run_worker(once=False, poll_seconds=1.0, log=print):
    """Send due emails until stopped (SIGTERM/SIGINT), or only what is due now with once.

    Stopping finishes the email in hand and releases the rest of the batch at once. A
    pass that sends nothing (nothing due, or the relay failing) ends a run with once, and
    is otherwise followed by a pause.
    """
    stopping = []
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
    total_sent = total_failed = 0
    daily = retention.Daily()
    while not stopping:
        try:
            if not once:
                daily.run_if_due(log)  # at the start, then once a day
            sent, failed = send_due(stopping=lambda: bool(stopping))
        except SQLAlchemyError:  # the database is away: keep the worker, try again soon
            db.session.rollback()
            log("mail-worker: database unavailable, retrying in a few seconds")
            time.sleep(poll_seconds * 5)
            continue
        total_sent, total_failed = total_sent + sent, total_failed + failed
        if sent or failed:
            log(f"mail-worker: sent {sent}, failed {failed}")
        if not sent:
            if once:
                break
            time.sleep(poll_seconds)
    if stopping:
        log("mail-worker: stopped; emails not sent yet are back in the queue")
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
