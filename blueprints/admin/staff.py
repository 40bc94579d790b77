"""Staff accounts, for admins: who has an account, invitations, roles, disabling.

No admin sees or sets another person's password: an invitation emails a link with which
the invited person sets their own (staff/links.py). Views call one operation of
staff/accounts.py, which audits the change.
"""

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.admin import admin_only, bp
from models import ROLES
from staff import accounts


def account_or_404(staff_id):
    user = accounts.account_or_none(staff_id)
    if user is None:
        abort(404)
    return user


@bp.get("/staff", endpoint="staff")
@admin_only
def staff_list(problem=None, status=200, form=None, invite_problem=None):
    """Every account with its role, state, second factor and last sign-in; the invite form."""
    page = render_template(
        "admin/staff.html",
        accounts=accounts.all_staff(),
        roles=ROLES,
        pending=accounts.invitation_pending,
        problem=problem,
        invite_problem=invite_problem,
        form=form or {},
        done=request.args.get("done"),
        who=changed_account(),
    )
    return page, status


def changed_account():
    """The address of the account a change just applied to (?who=<id>), or ""."""
    user = accounts.account_or_none(request.args.get("who", type=int) or 0)
    return user.email if user is not None else ""


def done(what, user):
    # The account by its id: an address in a URL would stay in the browser's history.
    return redirect(url_for("admin.staff", done=what, who=user.id), 303)


def refused(error):
    return staff_list(problem=str(error), status=422)


@bp.post("/staff")
@admin_only
def staff_invite():
    try:
        user = accounts.invite(request.form.get("email"), request.form.get("role"), current_user)
    except accounts.AccountError as error:  # told beside the form, which keeps what was typed
        return staff_list(invite_problem=str(error), status=422, form=request.form)
    return done("invited", user)


def change_account(staff_id, operation, outcome):
    """Apply one operation of staff/accounts.py to the account, then back to the page
    saying what changed (or why not)."""
    user = account_or_404(staff_id)
    try:
        operation(user, current_user)
    except accounts.AccountError as error:
        return refused(error)
    return done(outcome, user)


@bp.post("/staff/<int:staff_id>/invitation")
@admin_only
def staff_resend(staff_id):
    return change_account(staff_id, accounts.resend_invite, "resent")


@bp.post("/staff/<int:staff_id>/role")
@admin_only
def staff_role(staff_id):
    role = request.form.get("role")
    return change_account(staff_id, lambda user, by: accounts.change_role(user, role, by), "role")


@bp.post("/staff/<int:staff_id>/active")
@admin_only
def staff_active(staff_id):
    active = request.form.get("active") == "1"
    return change_account(
        staff_id,
        lambda user, by: accounts.set_active(user, active, by),
        "enabled" if active else "disabled",
    )
