"""The supporter's letter form: every limit is checked here, on the server."""

import re
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
from wtforms.validators import ValidationError

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


INVALID_EMAIL = _l("Please enter a valid email address, like name@example.org.")


def normalized_email(value):
    """The address as email-validator normalises it, or None when its syntax is wrong."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def strip(value):
    return value.strip() if isinstance(value, str) else value


def csrf_token():
    """Flask-WTF's generate_csrf(), with its serializer built once instead of per call.

    Same session key, salt and token format, so CSRFProtect validates the token as its own.
    Building the serializer was half the cost of a cached page view, and every visitor to
    a case page needs a token.
    """
    token = g.get("csrf_token")
    if token is None:
        raw = session.get("csrf_token")
        if raw is None:
            raw = session["csrf_token"] = secrets.token_hex(20)  # as random as Flask-WTF's
        token = g.csrf_token = csrf_serializer(current_app.secret_key).dumps(raw)
    return token


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


REQUIRED = ("name", "email", "country", "body", "consent_privacy")
COUNTRY_CODES = frozenset(code for code, _name in country_choices("en"))
# Names and cities are one line (a line break could forge an email header): no control
# characters (Unicode's Cc) nor line or paragraph separators (Zl, Zp). Message bodies keep
# line breaks and tabs, but no other control character.
LINE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
ONE_LINE = _l("Please keep this on one line.")
CANNOT_SEND = _l("This message contains characters we cannot send.")


def single_line(form, field):
    """The same rule as a WTForms validator, for the staff's forms."""
    if field.data and LINE_BREAKS.search(field.data):
        raise ValidationError(ONE_LINE)


def no_control_characters(form, field):
    if field.data and CONTROL_CHARACTERS.search(field.data):
        raise ValidationError(CANNOT_SEND)


LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
FALSE_VALUES = ("", "false")  # how a checkbox reads as unticked, as WTForms' BooleanField


def read_letter(formdata, kind):
    """A posted letter form: (letter, errors).

    `letter` holds each field of the form cleaned as it is stored (kind, name, email,
    country, city, body, language, the consents, and the honeypot and start token);
    `errors` maps a field's name to its message, and is empty when the letter can be
    stored. Every limit of the letter form is checked here, on the server.

    A plain function rather than WTForms validators: building and validating a WTForms
    form took about 200 µs of a submission's 650 in Python (bench/http_bench.py), for
    what these few lines do. LetterForm is built only to show a form again, with these
    errors (LetterForm.with_errors).
    """

    def value(name, default=""):
        return formdata.get(f"{kind}-{name}", default)

    letter = {
        "kind": kind,
        "name": value("name").strip(),
        "email": value("email").strip(),
        "country": value("country"),
        "city": value("city").strip(),
        "body": value("body").strip(),
        "language": value("language", "en"),
        "consent_privacy": value("consent_privacy") not in FALSE_VALUES,
        "consent_contact": value("consent_contact") not in FALSE_VALUES,
        "website": value("website"),
        "started": value("started"),
    }
    errors = {}
    name, email, city, body = letter["name"], letter["email"], letter["city"], letter["body"]
    if not name:
        errors["name"] = _l("Please tell us your name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _l("Please keep your name under %(max)d characters.", max=NAME_MAX)
    elif LINE_BREAKS.search(name):
        errors["name"] = ONE_LINE
    if not email:
        errors["email"] = _l("Please enter your email address.")
    elif len(email) > EMAIL_MAX:
        errors["email"] = _l("This email address is too long.")
    elif (normalized := normalized_email(email)) is None:
        errors["email"] = INVALID_EMAIL
    else:
        letter["email"] = normalized
    if not letter["country"]:
        errors["country"] = _l("Please choose your country.")
    elif letter["country"] not in COUNTRY_CODES:
        errors["country"] = _l("Please choose your country from the list.")
    if len(city) > CITY_MAX:
        errors["city"] = _l("Please keep the city under %(max)d characters.", max=CITY_MAX)
    elif LINE_BREAKS.search(city):
        errors["city"] = ONE_LINE
    if not body:
        errors["body"] = _l("Please write your message.")
    elif CONTROL_CHARACTERS.search(body):
        errors["body"] = CANNOT_SEND
    elif len(body) > BODY_MAX[kind]:
        errors["body"] = _l("Please keep it under %(max)d characters.", max=BODY_MAX[kind])
    if not LANGUAGE.fullmatch(letter["language"]):
        errors["language"] = _l("Unknown language.")
    if not letter["consent_privacy"]:
        errors["consent_privacy"] = _l("Please agree to the privacy notice so we can send it.")
    return letter, errors


def looks_automated(letter, seconds_shown):
    """A filled honeypot, or a form sent faster than a person could write it: the seconds
    since it was shown, or None when that cannot be trusted."""
    if letter["website"]:
        return True
    return seconds_shown is None or seconds_shown < current_app.config["MIN_FILL_SECONDS"]


class LetterForm(FlaskForm):
    """One appeal or one solidarity message as a page shows it (labels, ids, the values
    typed and their errors); read_letter checks what is posted. Built with prefix=kind so
    both fit on a page."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST before the view; no need to twice

    name = StringField(_l("Your name"), filters=[strip])
    email = StringField(_l("Email"), filters=[strip])
    country = StringField(_l("Country"))  # shown as a <select> of country_options()
    city = StringField(_l("City (optional)"), filters=[strip])
    body = TextAreaField(_l("Your message"), filters=[strip])
    language = HiddenField(default="en")
    consent_privacy = BooleanField(_l("I agree to the privacy notice."))
    consent_contact = BooleanField(
        _l("Keep me posted about this campaign and other ways to help (optional).")
    )
    website = StringField(_l("Leave this empty"))  # honeypot: people never see it
    started = HiddenField()

    def __init__(self, kind, *args, **kwargs):
        super().__init__(*args, prefix=kind, **kwargs)
        self.kind = kind
        self.body.max_length = BODY_MAX[kind]
        for name in REQUIRED:  # marked required for screen readers
            self[name].flags.required = True
        if not self.started.data:
            self.started.data = self.start_token()

    def start_token(self):
        """What the `started` field carries: the time the form was shown, signed."""
        return form_started_token()

    def with_errors(self, errors):
        """The form showing read_letter's errors next to their fields."""
        for name, message in errors.items():
            self[name].errors = [message]
        return self


class EmbedLetterForm(LetterForm):
    """The letter form inside a partner's frame, where no cookie arrives.

    A signed, expiring, single-use form token (partners.py) stands in for the cookie-bound
    CSRF token, and carries the time the form was first shown. Nothing here touches the
    session, so the framed page sets no cookie.
    """

    form_token = HiddenField()

    def start_token(self):
        return ""  # the form token carries the time instead
