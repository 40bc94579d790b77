"""A case's news for admins (who edit cases): the list of its updates, writing and editing
one, publishing it on the case page or taking it back, and deleting a draft. The update's
own page also carries the email to the case's writers (admin/partials/_news_send.html,
blueprints/admin/news.py)."""

from datetime import date

from flask import (
    abort,
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _

from blueprints.admin import admin_only, bp
from blueprints.admin.cases import changes_shown_message, find_case
from blueprints.admin.update_form import update_form
from cases import updates
from extensions import db
from models import CaseUpdate


def find_update(case, update_id):
    update = db.session.get(CaseUpdate, update_id)
    if update is None or update.case_id != case.id:
        abort(404)
    return update


@bp.get("/cases/<int:case_id>/updates")
@admin_only
def case_updates(case_id):
    case = find_case(case_id)
    return render_template(
        "admin/updates.html",
        case=case,
        updates=updates.case_updates(case),
        outcomes=updates.OUTCOMES,
        messages=get_flashed_messages(),
        format_date=format_date,
    )


def render_form(case, form, update=None, status=200):
    page = render_template(
        "admin/update_form.html",
        case=case,
        form=form,
        update=update,
        outcomes=updates.OUTCOMES,
        messages=get_flashed_messages(),
        format_date=format_date,
    )
    return make_response(page, status)


@bp.route("/cases/<int:case_id>/updates/new", methods=["GET", "POST"])
@admin_only
def update_new(case_id):
    case = find_case(case_id)
    form = update_form(happened_on=date.today())
    if not form.validate_on_submit():
        return render_form(case, form, status=422 if form.is_submitted() else 200)
    update = updates.create_update(case, form.values())
    flash(_("Update saved as a draft: the public cannot see it until you publish it."))
    return redirect(url_for(".update_edit", case_id=case.id, update_id=update.id), 303)


@bp.route("/cases/<int:case_id>/updates/<int:update_id>", methods=["GET", "POST"])
@admin_only
def update_edit(case_id, update_id):
    """The update's page: its form, whether the public sees it, and its email."""
    case = find_case(case_id)
    update = find_update(case, update_id)
    form = update_form(update)
    if not form.validate_on_submit():
        return render_form(case, form, update, status=422 if form.is_submitted() else 200)
    changed = updates.edit_update(update, form.values())
    if not changed:
        flash(_("Nothing had changed, so nothing was saved."))
    elif update.published_at is None:
        flash(_("Saved. This update is still a draft: only staff can see it."))
    else:
        flash(_("Saved.") + " " + changes_shown_message())
    return redirect(url_for(".update_edit", case_id=case.id, update_id=update.id), 303)


@bp.post("/cases/<int:case_id>/updates/<int:update_id>/publish")
@admin_only
def update_publish(case_id, update_id):
    case = find_case(case_id)
    update = find_update(case, update_id)
    if not updates.set_published(update, True):
        flash(_("That update is already published."))
    elif case.status == "draft":
        flash(_("Published. It will show on the case page once the case is published."))
    else:
        flash(_("Published on the case page.") + " " + changes_shown_message())
    return redirect(url_for(".update_edit", case_id=case.id, update_id=update.id), 303)


@bp.post("/cases/<int:case_id>/updates/<int:update_id>/unpublish")
@admin_only
def update_unpublish(case_id, update_id):
    case = find_case(case_id)
    update = find_update(case, update_id)
    if updates.set_published(update, False):
        flash(
            _("Back to a draft: the case page no longer shows it.") + " " + changes_shown_message()
        )
    else:
        flash(_("That update is already a draft."))
    return redirect(url_for(".update_edit", case_id=case.id, update_id=update.id), 303)


@bp.post("/cases/<int:case_id>/updates/<int:update_id>/delete")
@admin_only
def update_delete(case_id, update_id):
    case = find_case(case_id)
    update = find_update(case, update_id)
    if not updates.delete_draft(update):
        flash(_("Only a draft that was never published or emailed can be deleted."))
        return redirect(url_for(".update_edit", case_id=case.id, update_id=update.id), 303)
    flash(_("Draft deleted."))
    return redirect(url_for(".case_updates", case_id=case.id), 303)
