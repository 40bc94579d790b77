"""Delivery (admins): per case, the batches that take the letters to the official and to the
person (delivery/batches.py): make one (its letters frozen), download its files, record it
as sent or cancel it. Every change and every download is audited."""

import re
from datetime import date

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

import delivery
from blueprints.admin import admin_only, bp
from delivery import batches
from extensions import begin_write, db
from models import Case, DeliveryBatch
from models.delivery import BATCH_NOTE_MAX
from staff import audit, dashboard

METHODS = {"post": _l("By post"), "email": _l("By email"), "hand": _l("By hand")}


def file_name(case, suffix):
    """A name any system saves as is: the case's slug in plain letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", case.slug.lower()).strip("-") or f"case-{case.id}"
    return f"{slug}-{suffix}"


def download(body, mimetype, name):
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def audited(action, case, **details):
    """Record who took which file: delivered letters carry supporters' names."""
    begin_write()
    audit.record(action, case, **details)
    db.session.commit()


def refused(message, status=409):
    """A download or change refused: the message as plain text (a link, not a form)."""
    return Response(message, status=status, mimetype="text/plain")


@bp.get("/delivery", endpoint="delivery")
@admin_only
def overview():
    cases = dashboard.all_cases()
    counts = dashboard.letters_by_case()
    held = delivery.held_by_case()
    for case in cases:
        case.update(counts.get(case["id"], {}), held=held.get(case["id"], 0))
        case["ready"] = case.get("deliverable_appeals", 0) - case["held"]  # counted unrejected
    return render_template("admin/delivery.html", cases=cases)


def case_page(case, status=200, problem="", form=None):
    """The case's delivery page: what waits for a batch, the batches, the form to make one."""
    return (
        render_template(
            "admin/delivery_case.html",
            case=case,
            waiting={kind: batches.waiting(case.id, kind) for kind in ("appeal", "solidarity")},
            held=delivery.held_by_case().get(case.id, 0),
            address_refusal=batches.refusal(case, "appeal"),
            batches=batches.case_batches(case.id),
            problem=problem,
            form=form or {},
            batch_max=current_app.config["DELIVERY_BATCH_MAX"],
            methods=METHODS,
        ),
        status,
    )


@bp.get("/delivery/<int:case_id>", endpoint="delivery_case")
@admin_only
def case_delivery(case_id):
    return case_page(db.get_or_404(Case, case_id))


@bp.post("/delivery/<int:case_id>/batches", endpoint="delivery_make")
@admin_only
def make(case_id):
    """Make a batch of the letters waiting, at most the number asked (or DELIVERY_BATCH_MAX)."""
    case = db.get_or_404(Case, case_id)
    kind = request.form.get("kind", "")
    typed = request.form.get("limit", "").strip()
    if typed and not (typed.isdigit() and int(typed) > 0):
        message = _(
            "Enter the most letters the batch may hold as a whole number, or leave it empty."
        )
        return case_page(case, 400, message, request.form)
    limit = int(typed) if typed else current_app.config["DELIVERY_BATCH_MAX"] or None
    try:
        batch = batches.make_batch(case, kind, current_user, limit)
    except batches.BatchError as problem:
        status = 409 if kind in ("appeal", "solidarity") else 400
        return case_page(case, status, str(problem), request.form)
    flash(
        ngettext(
            "Batch %(number)s made: %(count)s letter, frozen. Download its files below.",
            "Batch %(number)s made: %(count)s letters, frozen. Download its files below.",
            batch.letters,
            number=batch.number,
            count=format_decimal(batch.letters),
        )
    )
    return redirect(url_for("admin.delivery_batch", case_id=case.id, batch_id=batch.id), 303)


def the_batch(case_id, batch_id):
    batch = db.session.get(DeliveryBatch, batch_id)
    if batch is None or batch.case_id != case_id:
        abort(404)
    return batch


def batch_page(batch, status=200, problem="", form=None):
    size = part_size(batch)
    try:  # emailing a batch to the official (blueprints/admin/delivery_email.py)
        email_url = url_for("admin.delivery_email", case_id=batch.case_id, batch_id=batch.id)
    except BuildError:
        email_url = None
    return (
        render_template(
            "admin/delivery_batch.html",
            batch=batch,
            case=batch.case,
            # Counted while it can still change; a sent batch's count is final.
            going=batches.batch_count(batch) if batch.state == "prepared" else batch.letters,
            parts=batches.parts(batch, size),
            size=size,
            refusal=batches.refusal(batch.case, batch.kind),
            problem=problem,
            form=form or {},
            today=date.today(),
            methods=METHODS,
            note_max=BATCH_NOTE_MAX,
            # Emailing is for a prepared appeals batch; once emailed, its page tells the send.
            email_url=email_url
            if batch.kind == "appeal" and (batch.state == "prepared" or batch.emailed_at)
            else None,
        ),
        status,
    )


def part_size(batch):
    key = "DELIVERY_PDF_BATCH" if batch.kind == "appeal" else "DELIVERY_BOOKLET_BATCH"
    return current_app.config[key]


@bp.get("/delivery/<int:case_id>/batches/<int:batch_id>", endpoint="delivery_batch")
@admin_only
def batch_view(case_id, batch_id):
    return batch_page(the_batch(case_id, batch_id))


@bp.post("/delivery/<int:case_id>/batches/<int:batch_id>/sent", endpoint="delivery_sent")
@admin_only
def sent(case_id, batch_id):
    """Record the batch as sent: on which day, how, with staff's note. Final."""
    batch = the_batch(case_id, batch_id)
    method = request.form.get("method", "")
    try:
        sent_on = date.fromisoformat(request.form.get("sent_on", ""))
    except ValueError:  # shown again with today's date: a date field holds a date or nothing
        form = {name: value for name, value in request.form.items() if name != "sent_on"}
        return batch_page(batch, 400, _("Enter the date the batch was sent."), form)
    try:
        batches.mark_sent(batch, current_user, sent_on, method, request.form.get("note", ""))
    except batches.BatchError as problem:
        status = 409 if batch.state != "prepared" else 400
        return batch_page(batch, status, str(problem), request.form)
    flash(
        _(
            "Batch %(number)s is recorded as sent: its letters can no longer be re-moderated.",
            number=batch.number,
        )
    )
    return redirect(url_for("admin.delivery_batch", case_id=case_id, batch_id=batch.id), 303)


@bp.post("/delivery/<int:case_id>/batches/<int:batch_id>/cancel", endpoint="delivery_cancel")
@admin_only
def cancel(case_id, batch_id):
    """Cancel a prepared batch: its letters wait for the next one."""
    batch = the_batch(case_id, batch_id)
    try:
        released = batches.cancel(batch, current_user)
    except batches.BatchError as problem:
        return batch_page(batch, 409, str(problem))
    flash(
        ngettext(
            "Batch %(number)s is cancelled: its %(count)s letter waits for the next batch.",
            "Batch %(number)s is cancelled: its %(count)s letters wait for the next batch.",
            released,
            number=batch.number,
            count=format_decimal(released),
        )
    )
    return redirect(url_for("admin.delivery_case", case_id=case_id), 303)


def downloadable(batch):
    """The batch's files, unless the case's address is a placeholder (409) or the batch
    was cancelled (404: it holds no letters)."""
    if batch.state == "cancelled":
        abort(404)
    return batches.refusal(batch.case, batch.kind)


@bp.get("/delivery/<int:case_id>/batches/<int:batch_id>/letters.csv", endpoint="delivery_batch_csv")
@admin_only
def batch_csv(case_id, batch_id):
    """The batch's letters that go out, streamed as they are read."""
    batch = the_batch(case_id, batch_id)
    problem = downloadable(batch)
    if problem:
        return refused(problem)
    name = file_name(batch.case, f"{batch.kind}-batch-{batch.number}.csv")
    audited("delivery.csv", batch.case, **batches.details(batch))
    rows = stream_with_context(batches.batch_csv(batch))
    return download(rows, "text/csv; charset=utf-8", name)


@bp.get(
    "/delivery/<int:case_id>/batches/<int:batch_id>/part-<int:part>.pdf",
    endpoint="delivery_batch_pdf",
)
@admin_only
def batch_pdf(case_id, batch_id, part):
    """One part of the batch as PDF (DELIVERY_PDF_BATCH appeals, or a booklet volume of
    DELIVERY_BOOKLET_BATCH messages): made within one request."""
    batch = the_batch(case_id, batch_id)
    problem = downloadable(batch)
    if problem:
        return refused(problem)
    parts = batches.parts(batch, part_size(batch))
    if not 1 <= part <= len(parts):
        abort(404)
    after, last, letters = parts[part - 1]
    name = file_name(batch.case, f"{batch.kind}-batch-{batch.number}-part-{part}.pdf")
    data = delivery.batch_pdf(batch, after_id=after, last_id=last)
    action = "delivery.pdf" if batch.kind == "appeal" else "delivery.booklet"
    audited(action, batch.case, **batches.details(batch, part=part, letters=letters))
    return download(data, "application/pdf", name)


@bp.get("/delivery/<int:case_id>/appeals.csv", endpoint="delivery_csv")
@admin_only
def appeals_csv(case_id):
    """Every deliverable appeal of the case, in batches or not (a record, or for a
    mail merge): streamed while it is read, so a million rows take no more memory than ten."""
    case = db.get_or_404(Case, case_id)
    problem = batches.refusal(case, "appeal")
    if problem:
        return refused(problem)
    name = file_name(case, "appeals.csv")
    audited("delivery.csv", case)
    rows = stream_with_context(delivery.appeals_csv(case_id))
    return download(rows, "text/csv; charset=utf-8", name)
