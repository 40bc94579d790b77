"""A forgotten password, and setting a password from an emailed link (an invitation or
a reset). The link's token is in the path (logged as <token>, web/log_privacy.py) and
these pages send no Referer, so the token stays between the email and this site."""

from flask import current_app, make_response, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from blueprints.auth import bp
from blueprints.auth.sign_in import password_accepted
from blueprints.shared import no_referrer
from extensions import limiter
from staff import links


class ForgotForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST

    email = EmailField(_l("Email"), validators=[DataRequired(_l("Please enter your email."))])


class SetPasswordForm(FlaskForm):
    class Meta:
        csrf = False

    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(
                min=links.MIN_PASSWORD,
                message=_l("Use at least %(min)d characters.", min=links.MIN_PASSWORD),
            ),
            Length(max=200, message=_l("Use at most 200 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("The same password again"),
        validators=[
            DataRequired(_l("Please type the password a second time.")),
            EqualTo("password", _l("The two passwords are not the same.")),
        ],
    )


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_PASSWORD_RESET"], methods=["POST"])
def forgot_password():
    """Ask for a reset link. The answer is the same whether or not the address has an
    account; the email, if any, goes through the outbox (staff/links.py limits it)."""
    form = ForgotForm()
    if form.validate_on_submit():
        links.request_reset(form.email.data)
        return redirect(url_for("auth.forgot_password_sent"), 303)
    status = 422 if form.errors else 200
    return render_template("auth/forgot_password.html", form=form), status


@bp.get("/forgot-password/sent")
def forgot_password_sent():
    return render_template("auth/forgot_password_sent.html")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token):
    """An invited person sets their first password, then enrols the second factor."""
    return set_password_page("invite", token)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token):
    """A staff member sets a new password, then gives their second factor as usual."""
    return set_password_page("reset", token)


def link_refused(purpose):
    page = render_template("auth/link_refused.html", purpose=purpose)
    return no_referrer(make_response(page, 400))


def set_password_page(purpose, token):
    link = links.find_link(purpose, token)
    if link is None:
        return link_refused(purpose)
    form = SetPasswordForm()
    if form.validate_on_submit():
        user = links.set_password(link, form.password.data)
        if user is None:  # used by another request a moment ago
            return link_refused(purpose)
        return no_referrer(password_accepted(user, url_for("admin.index")))
    page = render_template(
        "auth/set_password.html",
        form=form,
        purpose=purpose,
        min_length=links.MIN_PASSWORD,
        email=links.account_email(link),
    )
    return no_referrer(make_response(page, 422 if form.errors else 200))
