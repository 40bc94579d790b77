"""A partner's offline reports, on its private stats page: report the letters written at
an event, see what staff decided, correct a report sent back, withdraw one.

The routes live under the stats link (/partners/stats/<token>/...), on the embed
blueprint, so they share its answers: never stored by a cache, never framed, no Referer
(embed.private_link), a 404 for a wrong, old or removed link. The forms carry the token of
offline/partner_form.py instead of a session's (see there why).
"""

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import CombinedMultiDict

from blueprints.embed import bp, stats_page, stats_partner
from extensions import db, limiter
from models import OfflineReport
from offline import partner_form, reports
from offline.forms import ReportForm, form_context

UPLOADS = {"embed.stats_report_new", "embed.stats_report_correct"}
FORM_EXPIRED = _l(
    "This form had expired, so nothing was sent. We have refreshed it: please send it again."
)
FORM_INVALID = _l(
    "We could not check this form, so nothing was sent. We have refreshed it: please send it again."
)
ALREADY_SENT = _l("This report was already sent: you can see it in the list below.")
NOTICES = {
    "reported": _l("Thank you: your report was sent. It counts once campaign staff approve it."),
    "corrected": _l("Thank you: your correction was sent. Campaign staff will look at it again."),
    "withdrawn": _l("The report was withdrawn: it no longer counts."),
}


def upload_limit():
    return current_app.config["PHOTO_MAX_BYTES"] + 256 * 1024  # the photo and the texts


@bp.url_value_preprocessor
def allow_photo_uploads(endpoint, values):
    """A report may carry a photo, beyond the 64 KB every other form may send: raised
    before anything reads the body, and only on a working stats link, so a stranger cannot
    make the server read a large body."""
    if endpoint in UPLOADS and request.method == "POST":
        token = (values or {}).get("token")
        if token and reports_partner_exists(token):
            request.max_content_length = upload_limit()


def reports_partner_exists(token):
    from partners import partner_for_stats_link

    return partner_for_stats_link(token) is not None


def section(partner, form=None, problem=None, report=None):
    """The template values of the stats page's offline reports section."""
    listed = reports.partner_reports(partner)
    form = form or ReportForm()
    return {
        "reports": listed,
        "report_duplicates": reports.duplicates(listed),
        "report_form": form,
        "report_problem": problem,
        "report_token": partner_form.report_token(partner),
        "report_notice": next((NOTICES[name] for name in NOTICES if name in request.args), None),
        "report_states": reports.STATE_LABELS,
        "stats_token": partner.stats_token,
        **form_context(form),
    }


def posted_form():
    return ReportForm(CombinedMultiDict((request.files, request.form)))


def token_problem(partner):
    """(token, message): the message when the form's token cannot be used."""
    token, problem = partner_form.read_report_token(request.form.get("form_token"), partner)
    if problem == "expired":
        return None, FORM_EXPIRED
    if token is None:
        return None, FORM_INVALID
    return token, None


def partner_report(partner, report_id):
    """One of this partner's reports; another partner's (or staff's own) is a 404."""
    report = db.session.get(OfflineReport, report_id)
    if report is None or report.partner_id != partner.id:
        abort(404)
    return report


def back_to_stats(partner, notice):
    return redirect(
        url_for("embed.stats", token=partner.stats_token, **{notice: 1}) + "#reports", 303
    )


@bp.post("/partners/stats/<token>/reports")
@limiter.limit(lambda: current_app.config["RATELIMIT_OFFLINE_REPORTS"])
def stats_report_new(token):
    """A new report from the partner: checked whole, stored whole or not at all."""
    partner = stats_partner(token)
    form = posted_form()
    spendable, problem = token_problem(partner)
    if problem:
        return stats_page(partner, 400, form=form, problem=problem)
    if not form.validate():
        return stats_page(partner, 422, form=form)
    if not partner_form.spend(spendable):
        return stats_page(partner, 409, form=ReportForm(), problem=ALREADY_SENT)
    reports.create_report(form.values(), form.photo_data, partner=partner)
    return back_to_stats(partner, "reported")


def render_report(partner, report, form=None, problem=None, status=200):
    """One report on a page of its own: to correct it when staff asked for a correction."""
    if form is None:
        form = ReportForm(obj=report)
    page = render_template(
        "embed/offline_report.html",
        partner=partner,
        report=report,
        report_form=form,
        report_problem=problem,
        report_token=partner_form.report_token(partner),
        report_states=reports.STATE_LABELS,
        stats_token=partner.stats_token,
        **form_context(form),
    )
    return page, status


@bp.get("/partners/stats/<token>/reports/<int:report_id>")
def stats_report(token, report_id):
    partner = stats_partner(token)
    return render_report(partner, partner_report(partner, report_id))


@bp.post("/partners/stats/<token>/reports/<int:report_id>")
@limiter.limit(lambda: current_app.config["RATELIMIT_OFFLINE_REPORTS"])
def stats_report_correct(token, report_id):
    """The partner's correction of a report staff sent back: to review again."""
    partner = stats_partner(token)
    report = partner_report(partner, report_id)
    form = posted_form()
    _token, problem = token_problem(partner)
    if problem:
        return render_report(partner, report, form, problem, 400)
    if not form.validate():
        return render_report(partner, report, form, status=422)
    try:
        reports.correct_report(report, form.values(), form.photo_data, partner=partner)
    except reports.ReportError as error:
        db.session.rollback()
        return render_report(partner, report, form, str(error), 409)
    return back_to_stats(partner, "corrected")


@bp.post("/partners/stats/<token>/reports/<int:report_id>/withdraw")
@limiter.limit(lambda: current_app.config["RATELIMIT_OFFLINE_REPORTS"])
def stats_report_withdraw(token, report_id):
    partner = stats_partner(token)
    report = partner_report(partner, report_id)
    _token, problem = token_problem(partner)
    if problem:
        return stats_page(partner, 400, problem=problem)
    try:
        reports.withdraw_report(report, partner=partner)
    except reports.ReportError as error:
        db.session.rollback()
        return stats_page(partner, 409, problem=str(error))
    return back_to_stats(partner, "withdrawn")
