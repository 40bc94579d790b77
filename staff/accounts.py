"""Staff accounts, as admins manage them: invite, send the invitation again, change a
role, disable and enable. Nobody sets or sees another person's password: an invited
person sets their own from the emailed link (staff/links.py). Each change is audited in
its own transaction, and the site always keeps one active admin."""

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from extensions import begin_write, db
from models import EMAIL_MAX, ROLES, StaffUser
from staff import audit, links


class AccountError(ValueError):
    """A change refused, with the message the admin reads."""


def all_staff():
    return db.session.scalars(sa.select(StaffUser).order_by(StaffUser.email)).all()


def account_or_none(staff_id):
    return db.session.get(StaffUser, staff_id)


def checked_email(value):
    value = (value or "").strip()
    if not value or len(value) > EMAIL_MAX:
        raise AccountError(_l("Enter the new staff member's email address."))
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise AccountError(_l("That does not look like an email address.")) from None


def checked_role(value):
    if value not in ROLES:
        raise AccountError(_l("Choose a role: moderator or admin."))
    return value


def invite(email, role, by):
    """A new account with no usable password (it cannot sign in until its owner sets
    one from the invitation), and the invitation email."""
    email, role = checked_email(email), checked_role(role)
    begin_write()
    if db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email)):
        db.session.rollback()
        raise AccountError(_l("There is already a staff account for %(email)s.", email=email))
    user = StaffUser(email=email, role=role, password_hash="")
    db.session.add(user)
    db.session.flush()
    link = links.send_link(user, "invite", by=by)
    audit.record("staff.invite", user, actor=by, role=role, link=link.id)
    db.session.commit()
    return user


def invitation_pending(user):
    """Invited, and no password set yet."""
    return not user.password_hash


def resend_invite(user, by):
    """A new invitation link (the earlier one stops working), at most one per
    STAFF_LINK_EMAIL_MINUTES."""
    begin_write()
    user = db.session.get(StaffUser, user.id, with_for_update=True, populate_existing=True)
    if not invitation_pending(user) or not user.active:
        db.session.rollback()
        raise AccountError(_l("%(email)s has no invitation waiting.", email=user.email))
    if links.recently_emailed(user, "invite"):
        db.session.rollback()
        raise AccountError(
            _l(
                "An invitation went to %(email)s a few minutes ago: please wait before sending another.",
                email=user.email,
            )
        )
    link = links.send_link(user, "invite", by=by)
    audit.record("staff.invite_resent", user, actor=by, link=link.id)
    db.session.commit()


def leaves_no_admin(user):
    """Whether taking `user` out of the active admins would leave none. The admins' rows
    stay locked until the commit, so two admins demoting each other cannot both pass."""
    admins = db.session.scalars(
        sa.select(StaffUser.id)
        .where(StaffUser.role == "admin", StaffUser.active.is_(True))
        .with_for_update()
    ).all()
    return user.is_admin and user.active and admins == [user.id]


def change_role(user, role, by):
    role = checked_role(role)
    begin_write()
    user = db.session.get(StaffUser, user.id, populate_existing=True)
    if role == user.role:
        db.session.rollback()
        return
    if leaves_no_admin(user):
        db.session.rollback()
        raise AccountError(
            _l(
                "%(email)s is the only active admin: make someone else an admin first.",
                email=user.email,
            )
        )
    audit.record("staff.role", user, actor=by, role=role, was=user.role)
    user.role = role
    user.end_sessions()  # the new role applies from the next sign-in
    db.session.commit()


def set_active(user, active, by):
    """Disable an account (its sessions and links end at once) or enable it again."""
    begin_write()
    user = db.session.get(StaffUser, user.id, populate_existing=True)
    if user.active == active:
        db.session.rollback()
        return
    if not active and leaves_no_admin(user):
        db.session.rollback()
        raise AccountError(
            _l(
                "%(email)s is the only active admin: make someone else an admin first.",
                email=user.email,
            )
        )
    user.active = active
    if not active:
        user.end_sessions()
    # Either way no earlier link works: one made before `staff disable` (command line),
    # still unexpired when the account is enabled again, stays dead too.
    links.retire_links(user)
    audit.record("staff.enable" if active else "staff.disable", user, actor=by)
    db.session.commit()
