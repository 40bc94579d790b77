"""Campaign staff: the moderation queue for moderators, everything else for admins.

Every route here needs a signed-in staff member (signed out: the sign-in page);
routes marked @admin_only answer 403 to moderators. Nothing here is cached or framed.
"""

import time
from functools import wraps

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from blueprints.shared import no_store

bp = Blueprint("admin", __name__)

# The staff navigation: (endpoint, label, admins only). Sections appear once their
# module has registered the endpoint.
NAV = [
    ("admin.queue", _l("Queue"), False),
    ("admin.dashboard", _l("Dashboard"), True),
    ("admin.delivery", _l("Delivery"), True),
    ("admin.offline", _l("Offline letters"), True),
    ("admin.cases", _l("Cases"), True),
    ("admin.partners", _l("Partners"), True),
    ("admin.staff", _l("Staff"), True),
    ("admin.supporters", _l("Supporters' data"), True),
    ("admin.audit", _l("Audit log"), True),
    ("admin.settings", _l("Settings"), True),
    ("auth.recovery_codes", _l("Recovery codes"), False),  # each staff member's own
]


@bp.app_context_processor
def navigation():
    """The staff navigation for templates, made only where a page shows it."""

    def admin_nav():
        if not current_user.is_authenticated:
            return []
        return [
            (endpoint, label)
            for endpoint, label, admins_only in NAV
            if endpoint in current_app.view_functions and (current_user.is_admin or not admins_only)
        ]

    return {"admin_nav": admin_nav}


@bp.before_request
def staff_only():
    """Signed out, or idle for too long: to the sign-in page, and back here afterwards."""
    if current_user.is_authenticated:
        idle = time.time() - session.get("seen_at", time.time())
        if idle <= current_app.config["STAFF_IDLE_MINUTES"] * 60:
            session["seen_at"] = time.time()
            return None
        logout_user()  # idle too long: signed out, not just turned away
    session.pop("seen_at", None)
    target = url_for("auth.sign_in", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def admin_only(view):
    """For admins: a moderator gets 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


bp.after_request(no_store)  # staff pages, like the sign-in page, are never stored


# The routes register themselves on bp.
from blueprints.admin import (  # noqa: E402,F401
    audit_log,
    cases,
    dashboard,
    delivery,
    delivery_email,
    home,
    news,
    offline,
    partners,
    queue,
    queue_groups,
    settings,
    staff,
    supporters,
    updates,
)
