"""Case management for admins: the list, creating and editing a case (the form itself is
in case_form.py), a preview of the public page, publish, close and the home page's order."""

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from blueprints.admin import admin_only, bp
from blueprints.admin.case_form import case_form
from blueprints.shared import blank_form
from cases import manage as case_changes
from cases import photos
from cases.languages import completeness
from extensions import db
from letters import totals
from models import KINDS, Case
from web.htmx import fragment_or_page, is_htmx

UPLOAD_ENDPOINTS = {"admin.case_new", "admin.case_edit"}
STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"), "closed": _l("Closed")}


def find_case(case_id):
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def changes_shown_message():
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if seconds <= 0:
        return _("The public site shows it now.")
    return _("The public site shows it within %(seconds)d seconds.", seconds=seconds)


@bp.url_value_preprocessor
def allow_photo_uploads(endpoint, _values):
    """Case forms carry a photo, beyond the 64 KB every other form may send.

    Raised here, before CSRFProtect reads the form, and only for signed-in admins: a
    stranger cannot make the server read a large body. Photos larger than
    PHOTO_MAX_BYTES, but within this limit, get their message next to the field.
    """
    if (
        endpoint in UPLOAD_ENDPOINTS
        and request.method == "POST"
        and current_user.is_authenticated
        and current_user.is_admin
    ):
        request.max_content_length = upload_limit()


def upload_limit():
    return current_app.config["PHOTO_MAX_BYTES"] * 4 + 512 * 1024  # the texts take < 300 KB


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A case form sent more than even a photo may be: say so in words about photos."""
    from web.errors import error_page

    if request.endpoint not in UPLOAD_ENDPOINTS or not current_user.is_admin:
        return error_page(error)
    limit = photos.megabytes(current_app.config["PHOTO_MAX_BYTES"])
    message = _(
        "That photo is far larger than %(limit)s, so nothing was saved. Please go back and choose a smaller photo.",
        limit=limit,
    )
    page = render_template("errors/error.html", title=_("That photo is too large"), message=message)
    return make_response(page, 413)


def render_list(message=None, status=200):
    cases = db.session.scalars(sa.select(Case).order_by(Case.sort_order, Case.id)).all()
    messages = [message] if message else get_flashed_messages()
    return fragment_or_page(
        "admin/partials/_cases_table.html",
        "admin/cases.html",
        status,
        cases=cases,
        # As the public counter counts towards the goal: online and approved offline letters.
        counts={
            case_id: figures["total"]
            for case_id, figures in totals.figures_by_case([case.id for case in cases]).items()
        },
        messages=messages,
        status_labels=STATUS_LABELS,
        completeness=completeness,
    )


@bp.get("/cases")
@admin_only
def cases():
    return render_list()


def render_form(form, status=200, photo_note=None):
    return make_response(
        render_template(
            "admin/case_form.html",
            form=form,
            case=form.case,
            photo_note=photo_note,
            photo_limit=photos.megabytes(current_app.config["PHOTO_MAX_BYTES"]),
            photo_max_bytes=current_app.config["PHOTO_MAX_BYTES"],
            status_labels=STATUS_LABELS,
            messages=get_flashed_messages(),
        ),
        status,
    )


def invalid_form(form):
    """The form again with its errors; a good photo has to be chosen again (browsers
    never refill a file field)."""
    note = None
    if form.photo_data:
        note = _("Your photo was fine, but please choose it again: the form had other problems.")
    return render_form(form, 422, note)


def slug_taken(form):
    """Two admins chose the same web address at the same moment: the database said no."""
    db.session.rollback()
    form.slug.errors = [*form.slug.errors, _("Another case already uses this web address.")]
    return invalid_form(form)


@bp.route("/cases/new", methods=["GET", "POST"])
@admin_only
def case_new():
    form = case_form()
    if not form.validate_on_submit():
        return invalid_form(form) if form.is_submitted() else render_form(form)
    try:
        case = case_changes.create_case(form.values(), form.photo_data)
    except IntegrityError:
        return slug_taken(form)
    flash(_("Case created as a draft: the public cannot see it until you publish it."))
    return redirect(url_for(".case_edit", case_id=case.id), 303)


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@admin_only
def case_edit(case_id):
    case = find_case(case_id)
    form = case_form(case)
    if not form.validate_on_submit():
        if form.is_submitted():
            return invalid_form(form)
        return render_form(form)
    try:
        changed = case_changes.update_case(
            case, form.values(), form.photo_data, remove_photo=form.remove_photo.data
        )
    except IntegrityError:
        return slug_taken(form)
    if not changed:
        flash(_("Nothing had changed, so nothing was saved."))
    elif case.status == "draft":
        flash(_("Saved. This case is still a draft: only staff can see it."))
    else:
        flash(_("Saved.") + " " + changes_shown_message())
    return redirect(url_for(".case_edit", case_id=case.id), 303)


@bp.get("/cases/<int:case_id>/preview")
@admin_only
def case_preview(case_id):
    """The public page as it would look, drafts included; for staff eyes only."""
    case = find_case(case_id)
    languages = case.appeal_templates or {}
    wanted = request.args.get("lang", "")
    language = wanted if wanted in languages else "en"
    page = render_template(
        "admin/case_preview.html",
        case=case,
        forms={kind: blank_form(case, kind, language) for kind in KINDS},
        language=language,
        status_labels=STATUS_LABELS,
        **totals.counter(case.id),  # as the public page counts: online and offline
    )
    response = make_response(page)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def status_change(case_id, change, done, refused):
    """Publish or close, then the list again (htmx) or back where the button was."""
    case = find_case(case_id)
    message = done if change(case) else refused
    if is_htmx():
        return render_list(message)
    flash(message)
    if request.form.get("back") == "edit":
        return redirect(url_for(".case_edit", case_id=case.id), 303)
    return redirect(url_for(".cases"), 303)


@bp.post("/cases/<int:case_id>/publish")
@admin_only
def case_publish(case_id):
    return status_change(
        case_id,
        case_changes.publish,
        _("Published. It is open for letters.") + " " + changes_shown_message(),
        _("That case is already published."),
    )


@bp.post("/cases/<int:case_id>/close")
@admin_only
def case_close(case_id):
    return status_change(
        case_id,
        case_changes.close,
        _("Closed. Its page stays online but takes no more letters.")
        + " "
        + changes_shown_message(),
        _("Only a published case can be closed."),
    )


@bp.post("/cases/<int:case_id>/move")
@admin_only
def case_move(case_id):
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    case = find_case(case_id)
    moved = case_changes.move(case, direction)
    messages = {
        (True, "up"): _("Moved %(name)s up.", name=case.name),
        (True, "down"): _("Moved %(name)s down.", name=case.name),
        (False, "up"): _("%(name)s is already first.", name=case.name),
        (False, "down"): _("%(name)s is already last.", name=case.name),
    }
    message = messages[moved, direction]
    if is_htmx():
        return render_list(message)
    flash(message)
    return redirect(url_for(".cases"), 303)
