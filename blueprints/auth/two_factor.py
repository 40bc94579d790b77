"""The second step of signing in: a code from the staff member's authenticator app, or one
of their recovery codes; at the first sign-in, setting up the app (a QR code, the secret as
text) and the recovery codes, shown once. And, signed in, new recovery codes.

The step waits in the (signed) session cookie for PENDING_SECONDS after the right password,
for that account only while its sessions have not been ended since (a new password, a
disabled account). Wrong codes are counted per address and per account (flask-limiter):
six digits cannot be guessed within the limits.
"""

import time

import segno
from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from blueprints.auth import bp
from blueprints.auth.sign_in import complete_sign_in
from blueprints.shared import local_path
from extensions import begin_write, db, limiter
from models import StaffUser, utcnow
from staff import audit, two_factor

PENDING_SECONDS = 600  # from the right password to the code: time to find a phone, not more


class CodeForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST

    code = StringField(
        _l("6-digit code"), validators=[DataRequired(_l("Please enter the code from your app."))]
    )


class RecoveryForm(FlaskForm):
    class Meta:
        csrf = False

    recovery_code = StringField(
        _l("Recovery code"), validators=[DataRequired(_l("Please enter a recovery code."))]
    )


WRONG_CODE = _l("That code is not right. Please type the 6 digits your app shows now.")
WRONG_RECOVERY_CODE = _l("That is not one of your unused recovery codes.")


def pending():
    value = session.get(two_factor.PENDING)
    return value if isinstance(value, dict) else {}


def pending_user():
    """The account waiting for its second step, or None: none waits, it waited too long,
    or the account's sessions were ended since the password (new password, disabled)."""
    step = pending()
    if not step or time.time() - step.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(StaffUser, step.get("id"))
    if user is None or not user.active or user.session_version != step.get("version"):
        return None
    return user


def start_again():
    """To the sign-in page: the password again, then a new second step."""
    next_path = pending().get("next")
    session.pop(two_factor.PENDING, None)
    return redirect(url_for("auth.sign_in", next=next_path), 303)


def account_key():
    """Wrong codes are counted per account too: a new address does not start afresh."""
    if current_user.is_authenticated:
        return f"two-factor:{current_user.id}"
    return f"two-factor:{pending().get('id')}"


def refused(response):
    return response.status_code == 422


def code_limits(view):
    """The code limits on every page that checks a code: per address, then per account."""
    view = limiter.limit(
        lambda: current_app.config["RATELIMIT_TWO_FACTOR_ACCOUNT"],
        key_func=account_key,
        methods=["POST"],
        deduct_when=refused,
    )(view)
    return limiter.limit(
        lambda: current_app.config["RATELIMIT_TWO_FACTOR"], methods=["POST"], deduct_when=refused
    )(view)


@bp.route("/sign-in/code", methods=["GET", "POST"])
@code_limits
def two_factor_code():
    """Type the code the app shows now, or (?use=recovery) one of the recovery codes."""
    user = pending_user()
    if user is None:
        return start_again()
    if not two_factor.enrolled(user):
        return redirect(url_for("auth.two_factor_enrol"), 303)
    recovery = request.values.get("use") == "recovery"
    form = RecoveryForm() if recovery else CodeForm()
    if form.validate_on_submit():
        begin_write()
        if recovery and two_factor.use_recovery_code(user, form.recovery_code.data):
            return signed_in_with_recovery_code(user)
        if not recovery and two_factor.accept_code(user, form.code.data):
            return complete_sign_in(user, pending()["next"])
        db.session.rollback()
        field = form.recovery_code if recovery else form.code
        field.errors = [WRONG_RECOVERY_CODE if recovery else WRONG_CODE]
    status = 422 if request.method == "POST" else 200
    return render_template("auth/code.html", form=form, recovery=recovery), status


def signed_in_with_recovery_code(user):
    """A recovery code is used up (audited, with how many are left); with few left, the
    staff member lands on the page that makes new ones, which says so."""
    left = two_factor.recovery_codes_left(user)
    audit.record("staff.recovery_code_used", user, actor=user, left=left)
    next_path = pending()["next"]
    if left <= two_factor.RECOVERY_LOW:
        next_path = url_for("auth.recovery_codes", next=next_path)
    return complete_sign_in(user, next_path)


def qr_code(uri):
    """The otpauth link as a QR code: an SVG data: image (the CSP allows data: images)."""
    qr = segno.make(uri, error="m")
    width, _height = qr.symbol_size(scale=5)
    return {"src": qr.svg_data_uri(scale=5, dark="#000", light="#fff"), "size": width}


@bp.route("/sign-in/enrol", methods=["GET", "POST"])
@code_limits
def two_factor_enrol():
    """First sign-in: add the account to an authenticator app (QR code, or the secret
    typed in), and prove it with a first code; then the recovery codes, shown once."""
    user = pending_user()
    if user is None:
        return start_again()
    if two_factor.enrolled(user):
        return redirect(url_for("auth.two_factor_code"), 303)
    if not two_factor.readable(user):  # kept until confirmed: a reload shows the same QR
        begin_write()
        two_factor.start_enrolment(user)
        db.session.commit()
    form = CodeForm()
    if form.validate_on_submit():
        begin_write()
        if two_factor.accept_code(user, form.code.data):
            return enrolled(user)
        db.session.rollback()
        form.code.errors = [WRONG_CODE]
    status = 422 if request.method == "POST" else 200
    secret = two_factor.secret(user)
    return render_template(
        "auth/enrol.html",
        form=form,
        qr=qr_code(two_factor.provisioning_uri(user)),
        secret=two_factor.grouped(secret),
        issuer=two_factor.ISSUER,
        account=user.email,
    ), status


def enrolled(user):
    """The first code was right: the app is set up. The recovery codes are shown in this
    answer only (never kept in the session or anywhere in clear); the staff member
    signs in by confirming they have stored them."""
    user.totp_confirmed_at = utcnow()
    codes = two_factor.new_recovery_codes(user)
    audit.record("staff.two_factor_enrolled", user, actor=user)
    db.session.commit()
    session[two_factor.PENDING] = {**pending(), "confirmed": True}
    return render_template("auth/recovery_codes.html", codes=codes, account=user.email)


@bp.post("/sign-in/finish")
def two_factor_finish():
    """After the recovery codes of a first sign-in: signed in."""
    user = pending_user()
    if user is None or not pending().get("confirmed"):
        return start_again()
    return complete_sign_in(user, pending()["next"])


@bp.route("/two-factor/recovery-codes", methods=["GET", "POST"])
@code_limits
def recovery_codes():
    """Signed in: how many recovery codes are left, and ten new ones for a code from the
    app (so that someone at an unlocked computer cannot take a way in for later)."""
    next_path = local_path(request.values.get("next")) or url_for("admin.index")
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
    user = current_user._get_current_object()
    form = CodeForm()
    if form.validate_on_submit():
        begin_write()
        if two_factor.accept_code(user, form.code.data):
            codes = two_factor.new_recovery_codes(user)
            audit.record("staff.recovery_codes_renewed", user, actor=user)
            db.session.commit()
            return render_template(
                "auth/recovery_codes_new.html", codes=codes, account=user.email, next=next_path
            )
        db.session.rollback()
        form.code.errors = [WRONG_CODE]
    left = two_factor.recovery_codes_left(user)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "auth/recovery_codes_manage.html",
        form=form,
        left=left,
        low=left <= two_factor.RECOVERY_LOW,
        next=next_path,
    ), status
