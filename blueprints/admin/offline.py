"""Offline letters, for admins: the reports partners sent and staff typed in, their review
(approve, ask for a correction, reject with a reason), staff's corrections and withdrawals.

Admins only: a decision changes the campaign's public totals, like a case's goal does.
Views parse the form and call one operation of offline/reports.py, which audits it.
"""

import sqlalchemy as sa
from flask import abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import CombinedMultiDict

import partners
from blueprints.admin import admin_only, bp
from blueprints.admin.offline_forms import DECISIONS, ReviewForm, StaffReportForm
from extensions import db
from models import AuditEvent, OfflineReport
from offline import reports
from offline.forms import ReportForm, form_context

UPLOADS = {"admin.offline_new", "admin.offline_edit"}
FILTERS = {
    "submitted": _l("Waiting"),
    "correction": _l("Sent back"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
    "all": _l("All"),
}
DONE = {
    "approve": _l("Approved: the report counts in the totals."),
    "correction": _l("Sent back: the reporter sees your note and can correct it."),
    "reject": _l("Rejected: the reporter sees your reason."),
    "created": _l("The report was added and waits for review."),
    "edited": _l("The report was changed."),
    "withdrawn": _l("The report was withdrawn: it no longer counts."),
}


@bp.url_value_preprocessor
def allow_report_photos(endpoint, _values):
    """A report form may carry a photo: a larger body, for signed-in admins only (as the
    case form: admin/cases.py)."""
    if (
        endpoint in UPLOADS
        and request.method == "POST"
        and current_user.is_authenticated
        and current_user.is_admin
    ):
        request.max_content_length = current_app.config["PHOTO_MAX_BYTES"] + 256 * 1024


def report_or_404(report_id):
    report = db.session.get(OfflineReport, report_id)
    if report is None:
        abort(404)
    return report


def posted():
    return CombinedMultiDict((request.files, request.form))


@bp.get("/offline", endpoint="offline")
@admin_only
def offline_list():
    """The reports in one state, oldest first; waiting ones by default."""
    shown = request.args.get("state", "submitted")
    if shown not in FILTERS:
        shown = "submitted"
    listed = reports.staff_reports(None if shown == "all" else shown)
    return render_template(
        "admin/offline.html",
        reports=listed,
        duplicates=reports.duplicates(listed),
        shown=shown,
        filters=FILTERS,
        counts=reports.state_counts(),
        states=reports.STATE_LABELS,
        done=DONE.get(request.args.get("done")),
    )


def render_form(form, report=None, status=200):
    page = render_template(
        "admin/offline_form.html", report_form=form, report=report, **form_context(form)
    )
    return page, status


@bp.route("/offline/new", methods=["GET", "POST"])
@admin_only
def offline_new():
    """Staff type in a report: their own, or one a partner sent by email or on paper."""
    listed = partners.active_partners()
    if request.method == "GET":
        return render_form(StaffReportForm(partners=listed))
    form = StaffReportForm(posted(), partners=listed)
    if not form.validate():
        return render_form(form, status=422)
    partner = next((p for p in listed if p.id == form.partner_id.data), None)
    report = reports.create_report(form.values(), form.photo_data, partner=partner, by_staff=True)
    return redirect(url_for("admin.offline_show", report_id=report.id, done="created"), 303)


def audit_trail(report):
    return db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.target_type == "offline_reports", AuditEvent.target_id == report.id)
        .order_by(AuditEvent.id)
    ).all()


def render_report(report, review=None, problem=None, status=200):
    page = render_template(
        "admin/offline_report.html",
        report=report,
        review=review or ReviewForm(),
        decisions=DECISIONS,
        reviewable=reports.REVIEWABLE,
        withdrawable=reports.WITHDRAWABLE,
        duplicates=[
            db.session.get(OfflineReport, i)
            for i in reports.duplicates([report]).get(report.id, [])
        ],
        trail=audit_trail(report),
        states=reports.STATE_LABELS,
        problem=problem,
        done=DONE.get(request.args.get("done")),
    )
    return page, status


@bp.get("/offline/<int:report_id>")
@admin_only
def offline_show(report_id):
    """One report, to review: its figures, its photo, its duplicates, its history."""
    return render_report(report_or_404(report_id))


@bp.post("/offline/<int:report_id>/review")
@admin_only
def offline_review(report_id):
    report = report_or_404(report_id)
    review = ReviewForm(request.form)
    if not review.validate():
        return render_report(report, review, status=422)
    try:
        reports.review_report(report, review.decision.data, review.note.data)
    except reports.ReportError as error:
        db.session.rollback()
        return render_report(report, review, problem=str(error), status=409)
    return redirect(
        url_for("admin.offline_show", report_id=report.id, done=review.decision.data), 303
    )


@bp.route("/offline/<int:report_id>/edit", methods=["GET", "POST"])
@admin_only
def offline_edit(report_id):
    """Staff correct a report's figures; its state stays (see offline/reports.py)."""
    report = report_or_404(report_id)
    if report.state == "withdrawn":
        return render_report(
            report,
            problem=_l("This report was withdrawn, so it can no longer be changed."),
            status=409,
        )
    if request.method == "GET":
        return render_form(ReportForm(obj=report), report)
    form = ReportForm(posted())
    if not form.validate():
        return render_form(form, report, 422)
    try:
        reports.correct_report(report, form.values(), form.photo_data)
    except reports.ReportError as error:  # withdrawn since the check above
        return render_report(report, problem=str(error), status=409)
    return redirect(url_for("admin.offline_show", report_id=report.id, done="edited"), 303)


@bp.post("/offline/<int:report_id>/withdraw")
@admin_only
def offline_withdraw(report_id):
    report = report_or_404(report_id)
    try:
        reports.withdraw_report(report, reason=request.form.get("reason", "").strip()[:500])
    except reports.ReportError as error:
        db.session.rollback()
        return render_report(report, problem=str(error), status=409)
    return redirect(url_for("admin.offline_show", report_id=report.id, done="withdrawn"), 303)


@bp.get("/offline/<int:report_id>/photo")
@admin_only
def offline_photo(report_id):
    """The report's photo, for staff only (it may show names on the letters)."""
    path = reports.photo_path(report_or_404(report_id))
    if path is None:
        abort(404)
    try:
        return send_file(path, mimetype="image/jpeg", max_age=0)
    except FileNotFoundError:
        abort(404)
