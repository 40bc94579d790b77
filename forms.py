"""The supporter's letter form: every limit is checked here, on the server."""

import secrets
import time
import unicodedata
from functools import lru_cache

import pycountry
from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask import current_app, g, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature
from markupsafe import Markup
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from extensions import Serializer
from models import BODY_MAX, CITY_MAX, EMAIL_MAX, NAME_MAX


@lru_cache(maxsize=16)
def country_choices(locale_name):
    """ISO 3166 countries as (code, name) in the visitor's language, sorted by name."""
    names = Locale.parse(locale_name).territories
    countries = [(c.alpha_2, names.get(c.alpha_2) or c.name) for c in pycountry.countries]
    return tuple(sorted(countries, key=lambda pair: unicodedata.normalize("NFKD", pair[1])))


@lru_cache(maxsize=16)
def country_names(locale_name):
    return dict(country_choices(locale_name))


@lru_cache(maxsize=16)
def country_options_html(locale_name):
    """The country select's <option>s, built once per language: every case page has two.

    Written short (unquoted two-letter values, no end tags, both valid HTML): 500 options
    are most of a case page's bytes.
    """
    option = Markup("<option value={}>{}")
    return Markup("\n").join(
        option.format(code, name) for code, name in country_choices(locale_name)
    )


def country_options(selected=None):
    """The options with `selected` marked; a value not in the list matches nothing."""
    locale_name = str(get_locale())
    html = country_options_html(locale_name)
    if selected in country_names(locale_name):  # a plain two-letter code from our list
        mark = f"value={selected}>"
        html = Markup(str(html).replace(mark, f"value={selected} selected>", 1))  # noqa: S704
    return html


def single_line(form, field):
    """Names and cities are one line: a line break could forge an email header."""
    if field.data and any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in field.data):
        raise ValidationError(_l("Please keep this on one line."))


def no_control_characters(form, field):
    """Message bodies keep line breaks and tabs, but no other control characters."""
    if field.data and any(
        unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in field.data
    ):
        raise ValidationError(_l("This message contains characters we cannot send."))


INVALID_EMAIL = _l("Please enter a valid email address, like name@example.org.")


def normalized_email(value):
    """The address as email-validator normalises it, or None when its syntax is wrong."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def email_address(form, field):
    """Check the syntax and keep the normalised form."""
    if field.data:
        normalized = normalized_email(field.data)
        if normalized is None:
            raise ValidationError(INVALID_EMAIL)
        field.data = normalized


def strip(value):
    return value.strip() if isinstance(value, str) else value


def csrf_token():
    """Flask-WTF's generate_csrf(), with its serializer built once instead of per call.

    Same session key, salt and token format, so CSRFProtect validates the token as its own.
    Building the serializer was half the cost of a cached page view, and every visitor to
    a case page needs a token.
    """
    if "csrf_token" not in g:
        if "csrf_token" not in session:
            session["csrf_token"] = secrets.token_hex(20)  # as random as Flask-WTF's
        g.csrf_token = csrf_serializer(current_app.secret_key).dumps(session["csrf_token"])
    return g.csrf_token


@lru_cache(maxsize=4)
def csrf_serializer(secret_key):
    return Serializer(secret_key, salt="wtf-csrf-token")


def form_started_token():
    """A signed time stamp put in the form, to tell a person from a script that posts at once.

    The CSRF token is one already (itsdangerous signs the time with it), so the form
    carries it twice rather than paying for a second signature on every page view.
    The field keeps its first value when the form comes back with errors.
    """
    return csrf_token()


def seconds_since_started(token):
    """Seconds since the form was shown, or None when the token is missing or forged."""
    try:
        _, signed_at = csrf_serializer(current_app.secret_key).loads(
            token or "", return_timestamp=True
        )
    except BadSignature:
        return None
    return time.time() - signed_at.timestamp()


class LetterForm(FlaskForm):
    """One appeal or one solidarity message. Built with prefix=kind so both fit on a page."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST before the view; no need to twice

    name = StringField(
        _l("Your name"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please tell us your name.")),
            Length(max=NAME_MAX, message=_l("Please keep your name under %(max)d characters.")),
            single_line,
        ],
    )
    email = StringField(
        _l("Email"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=EMAIL_MAX, message=_l("This email address is too long.")),
            email_address,
        ],
    )
    country = StringField(  # shown as a <select> of country_options(); checked in validate_country
        _l("Country"),
        validators=[InputRequired(_l("Please choose your country."))],
    )
    city = StringField(
        _l("City (optional)"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=CITY_MAX, message=_l("Please keep the city under %(max)d characters.")),
            single_line,
        ],
    )
    body = TextAreaField(
        _l("Your message"),
        filters=[strip],
        validators=[DataRequired(_l("Please write your message.")), no_control_characters],
    )
    language = HiddenField(
        default="en",
        validators=[Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", message=_l("Unknown language."))],
    )
    consent_privacy = BooleanField(
        _l("I agree to the privacy notice."),
        validators=[DataRequired(_l("Please agree to the privacy notice so we can send it."))],
    )
    consent_contact = BooleanField(
        _l("Keep me posted about this campaign and other ways to help (optional).")
    )
    website = StringField(_l("Leave this empty"))  # honeypot: people never see it
    started = HiddenField()

    def __init__(self, kind, *args, **kwargs):
        super().__init__(*args, prefix=kind, **kwargs)
        self.kind = kind
        limit = BODY_MAX[kind]
        self.body.validators = [
            *self.body.validators,
            Length(max=limit, message=_l("Please keep it under %(max)d characters.")),
        ]
        self.body.max_length = limit
        if not self.started.data:
            self.started.data = self.start_token()

    def start_token(self):
        """What the `started` field carries: the time the form was shown, signed."""
        return form_started_token()

    def seconds_since_shown(self):
        """Seconds since the form was shown, or None when that cannot be trusted."""
        return seconds_since_started(self.started.data)

    def validate_country(self, field):
        if field.data not in country_names(str(get_locale())):
            raise ValidationError(_l("Please choose your country from the list."))

    @property
    def looks_automated(self):
        """A filled honeypot, or a form sent faster than a person could write it."""
        if self.website.data:
            return True
        elapsed = self.seconds_since_shown()
        return elapsed is None or elapsed < current_app.config["MIN_FILL_SECONDS"]


class EmbedLetterForm(LetterForm):
    """The letter form inside a partner's frame, where no cookie arrives.

    A signed, expiring, single-use form token (partners.py) stands in for the cookie-bound
    CSRF token, and carries the time the form was first shown; the view reads it and sets
    `shown_at`. Nothing here touches the session, so the framed page sets no cookie.
    """

    form_token = HiddenField()
    shown_at = None  # epoch seconds, from the verified form token

    def start_token(self):
        return ""  # the form token carries the time instead

    def seconds_since_shown(self):
        return None if self.shown_at is None else time.time() - self.shown_at
