"""The transactional outbox: emails are rows written with the letter, sent by a worker.

Delivery guarantee: at least once. A worker claims a batch of due rows under a token
of its own, holding them for a short MAIL_CLAIM_SECONDS that it renews while it sends;
it sends and records only rows its token still holds. If it is killed, the hold runs
out within seconds and another worker sends the rows: nothing is lost, and the only
duplicate possible is an email the SMTP server accepted just before the worker died
(or lost its database), before it could record it. On PostgreSQL several workers claim
with FOR UPDATE SKIP LOCKED; on SQLite claims are serialised by BEGIN IMMEDIATE.

On the way out each email is checked against the suppression list (may_go), paced to
MAIL_RATE_PER_SECOND per worker (relays.Pacer), given its List-Unsubscribe headers
(mail/unsubscribe.py) and its own return path (mail/verp.py).
"""

import collections
import contextlib
import hmac
import logging
import re
import signal
import smtplib
import time
from datetime import timedelta
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, format_date, get_locale
from flask_babel import lazy_gettext as _l
from flask_mail import Message
from sqlalchemy.exc import SQLAlchemyError

from extensions import begin_write, db
from mail import claims, news, relays, suppression, unsubscribe, verp
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
    """(subject, text, html) of a queued email, rendered when it is sent, in its context
    (email_context): each kind of email by its own renderer."""
    with email_context(email) as letter:
        if email.template.startswith("staff_"):
            from staff.emails import SUBJECTS as STAFF_SUBJECTS
            from staff.emails import staff_context

            context = staff_context(email)
            return (
                str(STAFF_SUBJECTS[email.template]),
                render_template(f"email/{email.template}.txt", **context),
                render_template(f"email/{email.template}.html", **context),
            )
        if email.template in OTHER_SUPPORTER_EMAILS:
            return OTHER_SUPPORTER_EMAILS[email.template](email, letter)
        if email.template in DELIVERY_EMAILS:
            from delivery import emailing

            return emailing.render_email(email)
        return render_for_supporter(email, letter)


@contextlib.contextmanager
def email_context(email):
    """Where an email is rendered; yields its letter (None for staff emails and emails
    about no letter).

    Links are built from BASE_URL, never from whatever host a request named. A
    supporter's email is written in the language of the page they wrote on (the letter's
    locale, the newest letter's for a new-link email): its words, the case's texts,
    dates, and links to pages in that language. Staff emails stay English.
    """
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        if email.template.startswith("staff_"):  # staff/links.py, staff/lockout.py
            yield None
            return
        letter = db.session.get(Letter, email.letter_id) if email.letter_id else None
        # The email's own language (news, data links), else its letter's page language,
        # while the site still offers it.
        language = email.language or (letter.locale if letter is not None else None)
        with force_locale(locale.supported(language)):
            yield letter


def news_email(email, letter):
    """Case news (mail/news.py): its writers' and staff's test sends alike."""
    from mail import news

    return news.render_email(email, letter)


def data_link_email(email, letter):
    """A "Your letters" link (supporters/links.py)."""
    from supporters import links

    return links.render_email(email, letter)


# An appeals batch to its official, and staff's tests of it (delivery/emailing.py): no
# supporter email, so no List-Unsubscribe and no suppression check (see may_go).
DELIVERY_EMAILS = ("delivery", "delivery_test")
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
    if row is None:  # erased (supporters/erase.py) while it was being sent: nothing to record
        db.session.commit()
        return
    if row.state == "pending" and error is None:
        row.state, row.sent_at, row.last_error = "sent", utcnow(), ""
        row.claimed_by = row.held_until = None
        if row.template in DELIVERY_EMAILS:  # the batch is sent once its email went
            from delivery import emailing

            emailing.email_sent(row)
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


def build_message(email):
    """The email as Flask-Mail sends it, with its List-Unsubscribe headers when it carries
    them: built in the email's context, so the link opens in the email's language."""
    subject, text, html = render(email)
    with email_context(email):
        headers = unsubscribe.list_headers(email)
    message = Message(
        subject=subject,
        recipients=[email.recipient],
        body=text,
        html=html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers=headers or None,
    )
    message.msgId = message_id(email)
    if email.template in DELIVERY_EMAILS:  # the batch's PDF, made now (delivery/emailing.py)
        from delivery import emailing

        for name, content_type, data in emailing.attachments(email):
            message.attach(name, content_type, data)
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


# The relay said no to this one email (its recipient, sender or content): the link works.
REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def may_go(email):
    """Whether the suppression list lets this email go (mail/suppression.py). Supporter
    emails of every kind, confirmations included, never go to an address that hard-bounced,
    complained or soft-bounced too often; case news not to one that unsubscribed either.

    Staff emails (invitations, reset links, sign-in warnings) are not checked: they go to
    the organisation's own accounts, on request, and are how staff get into their account
    again; a suppression (one a forged bounce could cause, or a complaint about news made
    from the same mailbox) must never lock a staff member out. A staff address that
    bounces shows as a failed email in `outbox status` and on the dashboard instead.
    """
    if email.template.startswith("staff_") or email.template in DELIVERY_EMAILS:
        return True  # an official's address: as staff's, a bounce shows on the batch's page
    return suppression.may_send(email.recipient, news=email.template in NEWS)


NEWS = ("news",)  # what an unsubscribe stops (staff's test sends of news still go)


def send_one(relay, email, pacer):
    """Try one held email: "sent", "failed" (this email), "broken" (the link to the relay
    failed: down, too slow or dropped), "suppressed" (its address is on the suppression
    list: set aside, no attempt charged) or "gone" (another worker holds it now)."""
    if not may_go(email):
        return "suppressed" if claims.set_aside(email, "suppressed") else "gone"
    pacer.wait()
    if not claims.start_sending(email):
        return "gone"
    try:
        relay.send(email, build_message(email), envelope_from=verp.verp_address(email.recipient))
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


def send_claimed(batch, stopping=lambda: False, pacer=None, tally=None):
    """Send a claimed batch one email at a time, keeping its hold, at most
    MAIL_RATE_PER_SECOND a second (`pacer`: the worker's, kept from batch to batch).
    Returns (sent, failed); `tally` (a Counter) gets every outcome, suppressed ones too.

    A failure is charged to the email tried alone, with its cause. When the link to the
    relay fails, or the worker is stopping, the emails not tried yet are released.
    """
    pacer = pacer or relays.Pacer.for_worker()
    relay = relays.relay()
    outcomes = collections.Counter()
    with claims.keeping_hold(batch):
        try:
            for index, email in enumerate(batch):
                if stopping() or outcomes["broken"]:
                    claims.release(batch[index:])
                    break
                outcomes[send_one(relay, email, pacer)] += 1
        finally:
            relay.close()
    if tally is not None:
        tally.update(outcomes)
    return outcomes["sent"], outcomes["failed"] + outcomes["broken"]


def send_due(limit=50, stopping=lambda: False, pacer=None, tally=None):
    """Claim one batch of due emails and send it. Returns (sent, failed)."""
    batch = claims.claim_due(limit)
    return send_claimed(batch, stopping, pacer, tally) if batch else (0, 0)


def run_worker(once=False, poll_seconds=1.0, log=print):
    """Send due emails until stopped (SIGTERM/SIGINT), or only what is due now with once.

    Stopping finishes the email in hand and releases the rest of the batch at once. A
    pass that sends nothing and sets nothing aside (nothing due, or the relay failing)
    ends a run with once, and is otherwise followed by a pause. One pacer for the whole
    run: the rate holds across batches.
    """
    stopping = []
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
    pacer, totals = relays.Pacer.for_worker(), collections.Counter()
    daily = retention.Daily()
    while not stopping:
        tally = collections.Counter()
        try:
            if not once:
                daily.run_if_due(log)  # at the start, then once a day
            tally["news batches"] = news.queue_requested(log)  # bounded: ~2 s a pass
            send_due(stopping=lambda: bool(stopping), pacer=pacer, tally=tally)
        except SQLAlchemyError:  # the database is away: keep the worker, try again soon
            db.session.rollback()
            log("mail-worker: database unavailable, retrying in a few seconds")
            time.sleep(poll_seconds * 5)
            continue
        totals.update(tally)
        log_pass(tally, log)
        if not (tally["sent"] or tally["suppressed"] or tally["news batches"]):
            if once:
                break
            time.sleep(poll_seconds)
    if stopping:
        log("mail-worker: stopped; emails not sent yet are back in the queue")
    return totals["sent"], totals["failed"] + totals["broken"]


def log_pass(tally, log):
    """One line per pass that did something: sent, failed, and set aside when any were."""
    sent, failed = tally["sent"], tally["failed"] + tally["broken"]
    if sent or failed:
        log(f"mail-worker: sent {sent}, failed {failed}")
    if tally["suppressed"]:
        log(f"mail-worker: {tally['suppressed']} not sent (address suppressed)")


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
