"""Emailing an appeals batch to the official (admins): a preview of the email as it will
go (subject, recipient, text, attachment), a test to oneself, then the send behind a
confirmation step. The mail worker sends it and marks the batch sent (delivery/emailing.py).
"""

from flask import abort, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.admin import admin_only, bp
from blueprints.admin.delivery import audited, download, the_batch
from delivery import batches, emailing

BASE = "/delivery/<int:case_id>/batches/<int:batch_id>/email"
# The email's HTML, framed by the preview page only: its styles are the email's own inline
# ones, and the sandboxed frame runs nothing and loads nothing.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)


def back_to(batch):
    return redirect(url_for("admin.delivery_email", case_id=batch.case_id, batch_id=batch.id), 303)


@bp.get(BASE, endpoint="delivery_email")
@admin_only
def preview(case_id, batch_id):
    """The email as it will go, with its attachment's name and size (the PDF is made to
    measure it, as the worker will make it), what became of a send, and the buttons."""
    batch = the_batch(case_id, batch_id)
    subject, text, _html = emailing.rendered(batch)
    too_large = batch.letters > current_app.config["DELIVERY_EMAIL_MAX_LETTERS"]
    size = None if too_large or batch.kind != "appeal" else len(emailing.batch_pdf(batch))
    return render_template(
        "admin/delivery_email.html",
        batch=batch,
        case=batch.case,
        subject=subject,
        text=text,
        attachment=emailing.attachment_name(batch),
        size=size,
        going=batches.batch_count(batch),
        test_refused=emailing.refusal(batch, sending=False),
        send_refused=emailing.refusal(batch),
        email=emailing.latest_email(batch),
        trouble=emailing.address_trouble(batch.case),
    )


@bp.get(BASE + "/preview.html", endpoint="delivery_email_html")
@admin_only
def preview_html(case_id, batch_id):
    _subject, _text, html = emailing.rendered(the_batch(case_id, batch_id))
    response = make_response(html)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.get(BASE + "/attachment.pdf", endpoint="delivery_email_pdf")
@admin_only
def attachment(case_id, batch_id):
    """The PDF the email carries (audited: it holds supporters' names)."""
    batch = the_batch(case_id, batch_id)
    if batch.kind != "appeal" or batch.letters > current_app.config["DELIVERY_EMAIL_MAX_LETTERS"]:
        abort(404)
    data = emailing.batch_pdf(batch)
    audited("delivery.email_pdf", batch, slug=batch.case.slug, letters=batch.letters)
    return download(data, "application/pdf", emailing.attachment_name(batch))


def queued(batch, queue, said):
    """Queue a test or the send; a refusal is said on the page instead."""
    try:
        queue(batch, current_user)
    except emailing.EmailError as error:
        flash(str(error), "problem")
    else:
        flash(said())
    return back_to(batch)


@bp.post(BASE + "/test", endpoint="delivery_email_test")
@admin_only
def test(case_id, batch_id):
    said = _("A test is on its way to %(address)s.", address=current_user.email)
    return queued(the_batch(case_id, batch_id), emailing.queue_test, lambda: said)


@bp.get(BASE + "/send", endpoint="delivery_email_confirm")
@admin_only
def confirm(case_id, batch_id):
    """The last step: to whom, how many appeals; it cannot be called back."""
    batch = the_batch(case_id, batch_id)
    refused = emailing.refusal(batch)
    if refused:
        flash(str(refused), "problem")
        return back_to(batch)
    return render_template(
        "admin/delivery_email_confirm.html",
        batch=batch,
        case=batch.case,
        going=batches.batch_count(batch),
    )


@bp.post(BASE + "/send", endpoint="delivery_email_send")
@admin_only
def send(case_id, batch_id):
    """Queue the email and record it on the batch, once (under the batch's row lock)."""
    batch = the_batch(case_id, batch_id)
    return queued(
        batch,
        emailing.queue_send,
        lambda: _(
            "Sending to %(address)s: the batch is recorded as sent when the mail worker has "
            "sent the email.",
            address=batch.emailed_to,
        ),
    )
