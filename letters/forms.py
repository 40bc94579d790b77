"""The supporter's letter form: one WTForms form renders it and checks every limit, on
the server; the country list for its select."""

import re
import time
import unicodedata
from functools import lru_cache

import pycountry
from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, TimestampSigner
from markupsafe import Markup
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Email, Length, Regexp, ValidationError

from cases.suggestions import suggestions_for
from models import BODY_MAX, CITY_MAX, EMAIL_MAX, NAME_MAX
from moderation.flags import has_email, has_link


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


def normalize_email(value):
    """A WTForms filter: the address as it is stored, or as typed when it is not one
    (the Email validator then says so, and the form shows it back unchanged)."""
    return (normalized_email(value) if value else None) or value


# When the form was shown, signed: a letter sent sooner than MIN_FILL_SECONDS after that,
# or with a missing or forged time, is flagged "fast" for moderators (never dropped).
# Pages are cached and shared, so this is the time the page was rendered: a cached page
# only makes a letter look slower, never faster.
STARTED_SALT = "letter-form-started"


def started_signer():
    return TimestampSigner(current_app.secret_key, salt=STARTED_SALT)


def started_token():
    """What a new form's `started` field carries: now, signed."""
    return started_signer().sign("letter-form").decode()


def seconds_since_started(token):
    """Seconds since the form was shown, or None when the token is missing or forged."""
    try:
        _value, signed_at = started_signer().unsign(token or "", return_timestamp=True)
    except BadSignature:
        return None
    return time.time() - signed_at.timestamp()


def sent_too_fast(seconds_shown):
    """Whether a letter came sooner after its form was shown than a person writes one
    (None: the time is missing or forged, which no browser sends)."""
    return seconds_shown is None or seconds_shown < current_app.config["MIN_FILL_SECONDS"]


COUNTRY_CODES = frozenset(code for code, _name in country_choices("en"))
# Names and cities are one line (a line break could forge an email header): no control
# characters (Unicode's Cc) nor line or paragraph separators (Zl, Zp). Message bodies keep
# line breaks and tabs, but no other control character.
LINE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
ONE_LINE = _l("Please keep this on one line.")
CANNOT_SEND = _l("This message contains characters we cannot send.")


def single_line(form, field):
    """A WTForms validator: one line of text (names, cities; the staff's forms too)."""
    if field.data and LINE_BREAKS.search(field.data):
        raise ValidationError(ONE_LINE)


# A name is shown beside our words (in the letters we deliver and on staff pages), so it
# may not be a way to show someone a link under our name. Besides what the moderators' flags call a
# link or an address, any word.word with letters after the dot is taken for a domain
# ("evil.example"); initials ("J.R.R.") and titles ("Dr. Ana") have none.
DOMAIN = re.compile(r"\w\.[^\W\d_]{2,}")
NOT_A_NAME = _l("Please write only your name, without a link, an email address or a website.")


def only_a_name(form, field):
    """A WTForms validator: a name carries no link, email address or domain.

    Read as mail programs read it: NFKC turns full-width letters and dots into plain ones,
    and an ideographic full stop is a dot in a domain name (IDNA), so "evil。com" is a link.
    """
    text = unicodedata.normalize("NFKC", field.data or "").replace("\u3002", ".")
    if has_link(text) or has_email(text) or DOMAIN.search(text):
        raise ValidationError(NOT_A_NAME)


def no_control_characters(form, field):
    if field.data and CONTROL_CHARACTERS.search(field.data):
        raise ValidationError(CANNOT_SEND)


def body_length(form, field):
    """The message's limit depends on its kind (appeals are longer)."""
    limit = BODY_MAX[form.kind]
    if field.data and len(field.data) > limit:
        raise ValidationError(_l("Please keep it to %(max)d characters or fewer.", max=limit))


# A language tag as the case's templates name them ("en", "pt-BR"); \Z, as $ allows a "\n".
LANGUAGE = r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?\Z"


class LetterForm(FlaskForm):
    """One appeal or one solidarity message: the fields, their limits and their messages,
    checked on the server. Built with prefix=kind so both fit on a page.

    No CSRF token: the public pages carry nothing of one visitor, so any cache may keep
    them; cross-site posts are refused from the browser's Fetch Metadata (web/security.py).
    """

    class Meta:
        csrf = False

    name = StringField(
        _l("Your name"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please tell us your name.")),
            Length(
                max=NAME_MAX, message=_l("Please keep your name to %(max)d characters or fewer.")
            ),
            single_line,
            only_a_name,
        ],
    )
    email = StringField(
        _l("Email"),
        filters=[strip, normalize_email],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=EMAIL_MAX, message=_l("This email address is too long.")),
            Email(INVALID_EMAIL),
        ],
    )
    country = StringField(  # shown as a <select> of country_options()
        _l("Country"),
        validators=[
            DataRequired(_l("Please choose your country.")),
            AnyOf(COUNTRY_CODES, _l("Please choose your country from the list.")),
        ],
    )
    city = StringField(
        _l("City (optional)"),
        default="",  # optional: a post may leave it out
        filters=[strip],
        validators=[
            Length(
                max=CITY_MAX, message=_l("Please keep the city to %(max)d characters or fewer.")
            ),
            single_line,
        ],
    )
    body = TextAreaField(
        _l("Your message"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please write your message.")),
            no_control_characters,
            body_length,
        ],
    )
    language = HiddenField(
        default="en", validators=[Regexp(LANGUAGE, message=_l("Unknown language."))]
    )
    # The case's suggested message the supporter picked (radio buttons of the solidarity
    # form): sent when the message box is left empty, so picking works without JavaScript.
    # Any text posted here is only ever a body the supporter could have typed, checked as one.
    suggestion = StringField(_l("Use a suggested message"), default="")
    consent_privacy = BooleanField(
        _l("I agree to the privacy notice."),
        validators=[DataRequired(_l("Please agree to the privacy notice so we can send it."))],
    )
    consent_contact = BooleanField(
        _l("Keep me posted about this campaign and other ways to help (optional).")
    )
    # The honeypot: hidden from people (off-screen, out of the tab order, hidden from
    # screen readers); a script that fills every field fills it. Named so that no
    # browser's autofill takes it for a person's name, address or website.
    leave_empty = StringField(_l("Leave this field empty"))
    started = HiddenField()  # started_token(), set by a new form
    # The signed details of the supporter's first letter of this case, in the form the
    # thank-you panel offers next (letters/follow_up.py): this letter then joins that one.
    follow_up = HiddenField()
    letter_id = None  # the stored letter's id, once store_letter has stored it

    def __init__(self, kind, *args, **kwargs):
        super().__init__(*args, prefix=kind, **kwargs)
        self.kind = kind
        self.body.max_length = BODY_MAX[kind]

    def suggestions(self, case):
        """(language, messages): the case's suggested messages this form offers, a
        solidarity form's, in the letter's language, else in English."""
        if self.kind != "solidarity":
            return "en", []
        return suggestions_for(case, self.language.data)

    def validate(self, extra_validators=None):
        if self.kind == "solidarity" and not self.body.data and self.suggestion.data:
            self.body.data = strip(self.suggestion.data.replace("\r\n", "\n"))
        return super().validate(extra_validators)

    def seconds_shown(self):
        """Seconds since this form was shown, from its signed `started` field."""
        return seconds_since_started(self.started.data)

    def letter(self):
        """What the form says, as letters.submit_letter takes it."""
        return {**self.data, "kind": self.kind}


class EmbedLetterForm(LetterForm):
    """The letter form inside a partner's frame, where no cookie arrives.

    A signed, expiring, single-use form token (partners/form_tokens.py) carries the
    partner's attribution and the time the form was first shown.
    """

    form_token = HiddenField()
    started = None  # the form token carries the time instead
