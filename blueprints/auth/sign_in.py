"""Signing in with email and password, and signing out."""

import time

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from blueprints.auth import bp
from blueprints.shared import local_path
from extensions import begin_write, db, limiter, login_manager
from models import StaffUser, utcnow
from staff import audit, lockout, two_factor


class SignInForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST

    email = EmailField(_l("Email"), validators=[DataRequired(_l("Please enter your email."))])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Please enter your password."))]
    )


@login_manager.user_loader
def load_user(user_id):
    """The signed-in staff member, while their account is active, their session fresh and
    not ended since (sign-out, new password or role, disabled: StaffUser.end_sessions)."""
    signed_in_at = session.get("signed_in_at", 0)
    if time.time() - signed_in_at > current_app.config["STAFF_SESSION_HOURS"] * 3600:
        return None
    account, _, version = user_id.partition(":")
    user = db.session.get(StaffUser, int(account)) if account.isdigit() else None
    if user is None or not user.active or version != str(user.session_version):
        return None
    return user


def account_key():
    return "sign-in:" + request.form.get("email", "").strip().lower()


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["RATELIMIT_SIGN_IN"],
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 303,
)
@limiter.limit(  # guesses from elsewhere: never from where the owner signed in before
    lambda: current_app.config["RATELIMIT_SIGN_IN_ACCOUNT"],
    key_func=account_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 303,
    exempt_when=lockout.from_known_address,
    on_breach=lockout.warn_owner,
)
def sign_in():
    """Sign in with email and password; a failed attempt never says which one was wrong."""
    next_path = local_path(request.values.get("next")) or url_for("admin.index")
    if current_user.is_authenticated:
        return redirect(next_path)
    form = SignInForm()
    problem = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(db.select(StaffUser).where(StaffUser.email == email))
        if StaffUser.password_matches(user, form.password.data):
            return password_accepted(user, next_path)
        problem = _("That email and password do not match an active staff account.")
    status = 422 if request.method == "POST" else 200
    response = render_template("auth/sign_in.html", form=form, problem=problem, next=next_path)
    return response, status


def password_accepted(user, next_path):
    """The right password for an active account (at sign-in, or just set from an emailed
    link). A password alone never signs in: this starts the second step, kept a few minutes
    in the session, and sends the staff member (303) to type a code from their app, or to
    set up the app at their first sign-in. complete_sign_in() ends that step."""
    logout_user()  # no one is signed in while the second step waits
    session[two_factor.PENDING] = {
        "id": user.id,
        "version": user.session_version,
        "at": time.time(),
        "next": next_path,
    }
    step = "auth.two_factor_code" if two_factor.enrolled(user) else "auth.two_factor_enrol"
    return redirect(url_for(step), 303)


def complete_sign_in(user, next_path):
    """The second factor is done too: start the staff member's session and send them on
    with a 303. Every way of signing in ends here."""
    session.clear()  # a new session for the signed-in staff member (no fixation)
    session.permanent = True
    session["signed_in_at"] = session["seen_at"] = time.time()
    login_user(user)
    begin_write()
    user.last_sign_in_at = utcnow()
    lockout.remember_address(user)  # its guesses are never locked out
    audit.record("staff.sign_in", user, actor=user)
    db.session.commit()
    return redirect(next_path, 303)


@bp.post("/sign-out")
def sign_out():
    """Sign out here and everywhere else: copies of this session's cookie stop working too."""
    if current_user.is_authenticated:
        begin_write()
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in"), 303)
