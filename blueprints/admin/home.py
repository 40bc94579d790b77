"""The admin entry: moderators go to their queue, admins see the dashboard."""

from flask import redirect, url_for
from flask_login import current_user

from blueprints.admin import bp


@bp.get("/")
def index():
    if current_user.is_admin:
        return redirect(url_for("admin.dashboard"))
    return redirect(url_for("admin.queue"))
