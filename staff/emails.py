"""What a staff email (an invitation, a reset link, a sign-in warning) says, gathered
when the outbox sends it."""

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from extensions import db
from models import StaffLink, StaffUser
from staff import links, lockout

# Staff emails are in English, like the staff pages (their words are marked all the same).
SUBJECTS = {
    "staff_invite": _l("You are invited to the Write for Rights staff pages"),
    "staff_reset": _l("Choose a new password for the Write for Rights staff pages"),
    "staff_lockout": _l("Wrong passwords for your Write for Rights staff account"),
}

# A role as the invitation names it: "as a moderator", "as an admin".
ROLE_NAMES = {"moderator": _l("a moderator"), "admin": _l("an admin")}


def staff_context(email):
    """The template context of a staff email row of the outbox."""
    user = db.session.get(StaffUser, email.staff_id)
    config = current_app.config
    context = {
        "staff": user,
        "role_name": ROLE_NAMES.get(user.role, user.role),
        "sign_in_url": url_for("auth.sign_in", _external=True),
        "forgot_url": url_for("auth.forgot_password", _external=True),
        "reset_minutes": config["STAFF_RESET_MINUTES"],
        "invite_hours": config["STAFF_INVITE_HOURS"],
        "lockout_minutes": int(lockout.lockout_window().total_seconds() // 60),
    }
    if email.staff_link_id is not None:
        link = db.session.get(StaffLink, email.staff_link_id)
        context["link_url"] = links.link_url(link)
        inviter = db.session.get(StaffUser, link.created_by_id) if link.created_by_id else None
        context["inviter"] = inviter.email if inviter is not None else ""
    return context
