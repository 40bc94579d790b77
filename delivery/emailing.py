"""Emailing an appeals batch to the official (Case.target_email): one email through the
outbox with the batch's PDF attached, rendered by the mail worker when it sends it.

Staff preview it, send themselves a test (template TEST), then send it (template EMAIL):
the send is recorded on the batch (emailed_to, emailed_at) in the transaction that queues
the email, under the batch's row lock, so it happens once however many admins press Send.
The batch becomes sent (method email, on the day it went) in the mail worker's transaction
that records the email as sent (email_sent); an email that fails for good leaves the batch
prepared, and its page says so.

The official is no supporter: no List-Unsubscribe (it is no mailing), and the suppression
list does not stop it (as staff emails: a forged bounce must not stop a delivery). A hard
bounce recorded for the address is shown on the batch's page instead (address_trouble).
"""

import re

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, format_decimal, get_locale, ngettext
from flask_babel import lazy_gettext as _l

from extensions import begin_write, db
from mail import suppression
from models import DeliveryBatch, Outbox, StaffUser, utcnow
from staff import audit
from web import locale

EMAIL, TEST = "delivery", "delivery_test"  # Outbox.template of the send and of a test
PRIORITY = 0  # as a letter's own email: before case news


class EmailError(Exception):
    """Why a batch cannot be emailed, said to staff as it is."""


def attachment_name(batch):
    """The PDF's file name: the case's slug in plain letters, and the batch's number."""
    slug = re.sub(r"[^a-z0-9]+", "-", batch.case.slug.lower()).strip("-") or f"case-{batch.case_id}"
    return f"{slug}-appeals-{batch.number}.pdf"


def batch_pdf(batch):
    """The batch's PDF, as printed (delivery/pdf.py)."""
    from delivery.pdf import batch_pdf as make_pdf

    return make_pdf(batch)


def refusal(batch, sending=True):
    """Why the batch cannot be emailed now (a message), or None. A test is refused for the
    same reasons as the send, except that a send was made already (`sending` False)."""
    limit = current_app.config["DELIVERY_EMAIL_MAX_LETTERS"]
    if batch.kind != "appeal":
        return _l("Only appeals batches go to the official by email.")
    if batch.state == "cancelled":
        return _l("This batch was cancelled.")
    if not batch.case.target_email:
        return _l("The case has no email address for its official: add one on the case form.")
    if batch.letters > limit:
        return _l(
            "This batch holds %(num)s appeals, more than the %(limit)s one email may carry: "
            "cancel it and make batches of at most %(limit)s appeals to email them.",
            num=batch.letters,
            limit=limit,
        )
    if not sending:
        return None
    if batch.emailed_at is not None:
        return _l("This batch was already emailed to %(address)s.", address=batch.emailed_to)
    if batch.state != "prepared":
        return _l("This batch is already recorded as sent.")
    if not tested(batch):
        return _l(
            "Send yourself a test first and read it: the email goes to the official only "
            "after a test."
        )
    return None


def tested(batch):
    """Whether a staff member had this batch's email sent to themselves (queued or gone):
    the official's copy goes only after such a test, as the issue's workflow asks."""
    return (
        db.session.scalar(
            sa.select(Outbox.id)
            .where(
                Outbox.delivery_batch_id == batch.id,
                Outbox.template == TEST,
                Outbox.state.in_(("pending", "sent")),
            )
            .limit(1)
        )
        is not None
    )


def locked(batch):
    """The batch, read afresh under its row lock, in the caller's write transaction."""
    return db.session.get(DeliveryBatch, batch.id, with_for_update=True, populate_existing=True)


def queue_test(batch, staff):
    """Queue the email as the official will get it, to the staff member's own address;
    audited. Staff may test as often as they like."""
    begin_write()
    batch = locked(batch)
    reason = refusal(batch, sending=False)
    if reason:
        db.session.rollback()
        raise EmailError(str(reason))
    add_email(batch, TEST, staff.email, staff)
    audit.record("delivery.email_test", batch, actor=staff, case=batch.case.slug)
    db.session.commit()


def queue_send(batch, staff):
    """Queue the email to the official and record it on the batch (emailed_to, emailed_at),
    audited, in one transaction under the batch's row lock: a second send, even one
    started at the same moment, is refused (EmailError)."""
    begin_write()
    batch = locked(batch)
    reason = refusal(batch) if batch is not None else _l("This batch no longer exists.")
    if reason:
        db.session.rollback()
        raise EmailError(str(reason))
    address = batch.case.target_email
    batch.emailed_to, batch.emailed_at = address, utcnow()
    add_email(batch, EMAIL, address, staff)
    audit.record("delivery.email", batch, actor=staff, case=batch.case.slug, letters=batch.letters)
    db.session.commit()


def add_email(batch, template, recipient, staff):
    db.session.add(
        Outbox(
            recipient=recipient,
            template=template,
            state="pending",
            priority=PRIORITY,
            staff_id=staff.id,  # who asked: the batch's sent_by once it went
            delivery_batch_id=batch.id,
            language=language_of(batch.case),
        )
    )


def language_of(case):
    """The official's language while the site has a catalog for it, else English."""
    return locale.supported(case.target_language)


def email_sent(email):
    """In the mail worker's transaction that records `email` as sent (mail/outbox.py): the
    official's copy makes its batch sent, by email, on this day, as the admin who sent it
    (delivery.batches.record_sent). A batch recorded sent meanwhile (by post, say) keeps
    what staff wrote."""
    from delivery.batches import record_sent

    if email.template != EMAIL or email.delivery_batch_id is None:
        return
    batch = db.session.get(
        DeliveryBatch, email.delivery_batch_id, with_for_update=True, populate_existing=True
    )
    if batch is None or batch.state != "prepared":
        return
    staff = db.session.get(StaffUser, email.staff_id) if email.staff_id else None
    record_sent(batch, staff, utcnow().date(), "email")


def render_email(email):
    """(subject, text, html) of a queued email (mail/outbox.py renders it when it sends
    it). A staff test says so at its top."""
    batch = db.session.get(DeliveryBatch, email.delivery_batch_id)
    return rendered(batch, email.language, test=email.template == TEST)


def rendered(batch, language=None, test=False):
    """(subject, text, html) of the batch's email, in the official's language."""
    with force_locale(language or language_of(batch.case)):
        return in_language(batch, test)


def in_language(batch, test):
    """The email in the current language. It counts the letters its PDF prints: those of
    the batch still deliverable (one rejected since the batch was made is left out)."""
    from delivery.batches import batch_count

    language = str(get_locale())
    case = batch.case.in_language(language)
    letters = batch_count(batch) if batch.state == "prepared" else batch.letters
    context = {
        "test": test,
        "case": case,
        "letters": letters,
        "attachment": attachment_name(batch),
    }
    subject = ngettext(
        "%(count)s appeal for %(name)s",
        "%(count)s appeals for %(name)s",
        letters,
        count=format_decimal(letters),
        name=case.name,
    )
    return (
        subject,
        render_template("email/delivery.txt", **context),
        render_template("email/delivery.html", **context),
    )


def attachments(email):
    """[(file name, content type, data)] of an email: the batch's PDF, made now."""
    if email.template not in (EMAIL, TEST) or email.delivery_batch_id is None:
        return []
    batch = db.session.get(DeliveryBatch, email.delivery_batch_id)
    return [(attachment_name(batch), "application/pdf", batch_pdf(batch))]


def latest_email(batch):
    """The outbox row of the batch's email to the official, or None (none yet, or deleted
    by retention after it went)."""
    return db.session.scalars(
        sa.select(Outbox)
        .where(Outbox.delivery_batch_id == batch.id, Outbox.template == EMAIL)
        .order_by(Outbox.id.desc())
        .limit(1)
    ).first()


def on_its_way(batch):
    """Whether the batch's email to the official is queued and not yet sent or failed."""
    email = latest_email(batch) if batch.emailed_at is not None else None
    return email is not None and email.state == "pending"


def withdraw(batch):
    """For cancel (delivery/batches.py), in its transaction: why a batch whose email to the
    official is queued or went cannot be cancelled (a message), else "" after stopping
    its emails that can no longer go (a failed one that "retry failed emails" would send
    again, a test not sent yet): a cancelled batch has no letters left to attach."""
    email = latest_email(batch)
    if batch.emailed_at is not None and (email is None or email.state != "dead"):
        return _l("This batch was emailed to the official: it can no longer be cancelled.")
    db.session.execute(
        sa.update(Outbox)
        .where(
            Outbox.delivery_batch_id == batch.id,
            Outbox.state.in_(("dead", "pending")),
            sa.or_(Outbox.template == TEST, Outbox.state == "dead"),
        )
        .values(state="stopped", claimed_by=None, held_until=None)
        .execution_options(synchronize_session=False)
    )
    return ""


def address_trouble(case):
    """The suppression list's row for the official's address when bounce reports say it
    takes no email (hard bounce, complaint, too many soft bounces), else None."""
    if not case.target_email:
        return None
    row = suppression.known(case.target_email)
    return row if row is not None and row.suppressed_at is not None else None
