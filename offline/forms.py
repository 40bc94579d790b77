"""The offline report form: the same fields for a partner (on its stats page) and for staff
(in the admin), every limit checked on the server. The admins' own forms (staff-side
words) are in blueprints/admin/offline_forms.py.

Plain WTForms forms (no Flask-WTF token of their own): staff pages are covered by
CSRFProtect before the view runs, and the partner's form carries its own signed token
(offline/partner_form.py), because partners have no session.
"""

import re
import unicodedata
from datetime import date

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, Form, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from cases import photos
from extensions import db
from letters.forms import country_names, country_options, single_line
from models import Case, utcnow
from models.offline import EVENT_MAX, TOWN_MAX

# One report is one event: a big school assembly or a city stall writes thousands, not
# hundreds of thousands. A larger figure is a typing slip (an extra zero or two).
MAX_LETTERS = 50_000
# The campaign runs in November and December; its year starts on 1 November. A report may
# be about an event from the start of the previous campaign year on (late reports of the
# last edition), never about one in the future.
CAMPAIGN_YEAR_STARTS = (11, 1)


def campaign_year_start(today):
    month, day = CAMPAIGN_YEAR_STARTS
    start = date(today.year, month, day)
    return start if start <= today else date(today.year - 1, month, day)


def earliest_event_date(today=None):
    start = campaign_year_start(today or utcnow().date())
    return start.replace(year=start.year - 1)


def form_context(form):
    """What the report fields' template needs besides the form: the country options, the
    range of dates the date picker offers, the cases' names in the page's language."""
    return {
        "case_names": {choice.value: choice.label for choice in form.case_id.choices},
        "country_options": country_options,
        "today": utcnow().date(),
        "earliest": earliest_event_date(),
    }


def one_line_text(value):
    """Trimmed, with runs of spaces made one: what people see is what we compare."""
    return " ".join(value.split()) if isinstance(value, str) else value


def folded(text):
    """The event's name as duplicates are compared: trimmed, spaces made one, case and
    width ignored ("Stall  at the MARKET " is "stall at the market")."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


class LetterCountField(IntegerField):
    """A whole number as people write it ("1,200" or "1 200" too); empty is 0."""

    def process_formdata(self, valuelist):
        if valuelist:
            written = re.sub(r"[\s,.'’]", "", valuelist[0])
            valuelist = [written or "0"]
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_l("Please enter a whole number, like 120.")) from error


class EventDateField(DateField):
    """A date from the date picker (YYYY-MM-DD), with a message in words when it is not one."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(
                _l("Please give the date as year-month-day, like 2026-12-10.")
            ) from error


def count_field(label):
    return LetterCountField(
        label,
        default=0,
        validators=[NumberRange(0, MAX_LETTERS, _l("Please enter a number between 0 and 50,000."))],
    )


def line_field(label, most, missing):
    """A required line of text, trimmed, at most `most` characters."""
    return StringField(
        label,
        filters=[one_line_text],
        validators=[
            DataRequired(missing),
            Length(max=most, message=_l("Please keep this under %(max)d characters.")),
            single_line,
        ],
    )


def counted_cases():
    """The cases a report may be about: those the public sees (published or closed)."""
    language = str(get_locale())
    found = db.session.scalars(
        sa.select(Case).where(Case.status.in_(("published", "closed"))).order_by(Case.sort_order)
    )
    return [case.in_language(language) for case in found]


class ReportForm(Form):
    """One offline report. `photo_data` holds the cleaned JPEG once an upload passed."""

    case_id = SelectField(
        _l("Case"),
        coerce=int,
        validate_choice=False,  # checked below, with a message in words
        validators=[InputRequired(_l("Please choose the case the letters were written for."))],
    )
    appeals = count_field(_l("Appeal letters"))
    solidarity = count_field(_l("Solidarity cards"))
    event = line_field(
        _l("Event"), EVENT_MAX, _l("Please name the event, like “Stall at the Saturday market”.")
    )
    town = line_field(_l("Town"), TOWN_MAX, _l("Please give the town where it took place."))
    country = StringField(  # shown as a <select> of letters.forms.country_options()
        _l("Country"),
        validators=[DataRequired(_l("Please choose the country."))],
    )
    held_on = EventDateField(
        _l("Date"),
        validators=[InputRequired(_l("Please give the date of the event."))],
    )
    photo = FileField(_l("Photo of the letters (optional)"))

    photo_data = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = counted_cases()
        self.case_id.choices = [SelectChoice(case.id, case.name) for case in self.cases]

    def validate_case_id(self, field):
        if field.data not in {case.id for case in self.cases}:
            raise ValidationError(_l("Please choose the case the letters were written for."))

    def validate_solidarity(self, field):
        both_numbers = not field.errors and not self.appeals.errors
        if both_numbers and not (self.appeals.data or 0) and not (field.data or 0):
            raise ValidationError(
                _l("Please give how many letters or cards were written: both are 0.")
            )

    def validate_country(self, field):
        if field.data not in country_names(str(get_locale())):
            raise ValidationError(_l("Please choose the country from the list."))

    def validate_held_on(self, field):
        if field.data is None:
            return  # not a date: its message is already there
        if field.data > utcnow().date():
            raise ValidationError(
                _l("That date is in the future. Please give the day it took place.")
            )
        earliest = earliest_event_date()
        if field.data < earliest:
            raise ValidationError(
                _l(
                    "Please report events of this campaign or the last one: from %(date)s on.",
                    date=earliest.isoformat(),
                )
            )

    @property
    def uploaded(self):
        return bool(self.photo.data and getattr(self.photo.data, "filename", ""))

    def validate_photo(self, field):
        if self.uploaded:
            try:
                self.photo_data = photos.prepare(field.data.stream)
            except photos.PhotoError as error:
                raise ValidationError(str(error)) from error

    @property
    def first_error(self):
        return next((field.id for field in self if field.errors), None)

    def values(self):
        """The columns of the report, as checked."""
        return {
            "case_id": self.case_id.data,
            "appeals": self.appeals.data or 0,
            "solidarity": self.solidarity.data or 0,
            "event": self.event.data,
            "town": self.town.data,
            "country": self.country.data,
            "held_on": self.held_on.data,
        }
