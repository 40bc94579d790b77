"""The case form: every field of a case, with its checks, and an appeal letter per language.

Its checks read the database (a web address no other case uses) and the photo upload
(cases/photos.py), so a form that validates can be saved as it is.
"""

import re

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from cases import photos
from extensions import db
from letters.forms import country_names, no_control_characters, single_line
from models import BODY_MAX, Case
from web.templating import language_name

# The appeal's languages an admin is offered; a case keeps any other language it has.
APPEAL_LANGUAGES = ("en", "es", "fr", "ar", "tr")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The case's plain columns that the form edits (the appeal letters and photo come apart).
COLUMNS = [
    *("slug", "name", "country", "summary", "story", "ask", "target_title", "target_address"),
    *("solidarity_prompt", "goal", "sort_order", "photo_alt"),
]


def text(value):
    """Textarea text with one kind of line break (the story splits on blank lines)."""
    return (
        value.replace("\r\n", "\n").replace("\r", "\n").strip() if isinstance(value, str) else value
    )


def slug_text(value):
    return value.strip().lower() if isinstance(value, str) else value


class WholeNumberField(IntegerField):
    """A whole number, written as people write them ("250,000" or "250 000" too)."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [re.sub(r"[\s,.'’]", "", valuelist[0])]
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_("Please enter a whole number, like 10000.")) from error


class CaseForm(FlaskForm):
    """Every field of a case; the appeal letters per language are added by case_form()."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST before the view

    slug = StringField(
        _l("Web address"),
        filters=[slug_text],
        validators=[
            DataRequired(_l("Please give the case a web address.")),
            Length(max=80, message=_l("Please keep the web address under %(max)d characters.")),
            Regexp(
                SLUG,
                message=_l(
                    "Use lower-case letters, digits and single hyphens only, like gustavo-gatica."
                ),
            ),
        ],
    )
    name = StringField(
        _l("Name of the person or group"),
        filters=[text],
        validators=[
            DataRequired(_l("Please enter the name.")),
            Length(max=200, message=_l("Please keep the name under %(max)d characters.")),
            single_line,
        ],
    )
    country = StringField(  # a <select> of country_options(); checked in validate_country
        _l("Country"), validators=[InputRequired(_l("Please choose the country."))]
    )
    summary = StringField(
        _l("Summary"),
        filters=[text],
        validators=[
            DataRequired(_l("Please write a one-sentence summary.")),
            Length(max=300, message=_l("Please keep the summary under %(max)d characters.")),
            single_line,
        ],
    )
    story = TextAreaField(
        _l("Story"),
        filters=[text],
        validators=[
            DataRequired(_l("Please tell the story.")),
            Length(max=20000, message=_l("Please keep the story under %(max)d characters.")),
            no_control_characters,
        ],
    )
    ask = TextAreaField(
        _l("What we ask for"),
        filters=[text],
        validators=[
            DataRequired(_l("Please say what the campaign asks for.")),
            Length(max=5000, message=_l("Please keep this under %(max)d characters.")),
            no_control_characters,
        ],
    )
    target_title = StringField(
        _l("Official the appeal goes to"),
        filters=[text],
        validators=[
            DataRequired(_l("Please name the official by title.")),
            Length(max=300, message=_l("Please keep the title under %(max)d characters.")),
            single_line,
        ],
    )
    target_address = TextAreaField(
        _l("Official's postal address (optional)"),
        filters=[text],
        validators=[
            Optional(),
            Length(max=1000, message=_l("Please keep the address under %(max)d characters.")),
            no_control_characters,
        ],
    )
    solidarity_prompt = TextAreaField(
        _l("Prompt for solidarity messages (optional)"),
        filters=[text],
        validators=[
            Optional(),
            Length(max=300, message=_l("Please keep the prompt under %(max)d characters.")),
            no_control_characters,
        ],
    )
    goal = WholeNumberField(
        _l("Goal (messages)"),
        validators=[
            InputRequired(_l("Please set a goal.")),
            NumberRange(
                1, 100_000_000, message=_l("Please enter a goal between 1 and 100,000,000.")
            ),
        ],
    )
    sort_order = WholeNumberField(
        _l("Position on the home page"),
        validators=[
            InputRequired(_l("Please give a position.")),
            NumberRange(0, 100_000, message=_l("Please enter a position between 0 and 100,000.")),
        ],
    )
    photo = FileField(_l("Photo (optional)"))
    photo_alt = StringField(
        _l("Photo description"),
        filters=[text],
        validators=[
            Length(max=300, message=_l("Please keep the description under %(max)d characters.")),
            single_line,
        ],
    )
    remove_photo = BooleanField(_l("Remove the current photo"))

    case = None  # the case being edited, None for a new one
    photo_data = None  # the cleaned JPEG, once the upload passed its checks

    @property
    def appeal_fields(self):
        return [field for field in self if field.name.startswith("appeal_")]

    @property
    def uploaded(self):
        return bool(self.photo.data and getattr(self.photo.data, "filename", ""))

    def in_page_order(self):
        """The fields as the page shows them (the letters, added last, sit mid-page)."""
        before = ["name", "slug", "country", "summary", "story", "ask"]
        before += ["target_title", "target_address"]
        after = ["solidarity_prompt", "photo", "photo_alt", "remove_photo", "goal", "sort_order"]
        return [self[name] for name in before] + self.appeal_fields + [self[n] for n in after]

    @property
    def first_error(self):
        """The id of the first field with an error: the page puts the focus there."""
        return next((field.id for field in self.in_page_order() if field.errors), None)

    def validate_slug(self, field):
        taken = sa.select(Case.id).where(Case.slug == field.data)
        if self.case is not None:
            taken = taken.where(Case.id != self.case.id)
        if db.session.scalar(taken) is not None:
            raise ValidationError(_("Another case already uses this web address."))

    def validate_country(self, field):
        if field.data not in country_names(str(get_locale())):
            raise ValidationError(_("Please choose the country from the list."))

    def validate_photo(self, field):
        if self.uploaded:
            try:
                self.photo_data = photos.prepare(field.data.stream)
            except photos.PhotoError as error:
                raise ValidationError(str(error)) from error

    def validate_photo_alt(self, field):
        keeps_photo = self.case is not None and self.case.photo and not self.remove_photo.data
        if (self.uploaded or keeps_photo) and not field.data:
            raise ValidationError(
                _(
                    "Please describe the photo for people who cannot see it, like “Gustavo smiling at a march”."
                )
            )

    def values(self):
        """The case's columns as the form has them."""
        values = {name: self[name].data or "" for name in COLUMNS}
        values["goal"], values["sort_order"] = self.goal.data, self.sort_order.data
        values["appeal_templates"] = {
            field.name.removeprefix("appeal_"): field.data
            for field in self.appeal_fields
            if field.data
        }
        if self.remove_photo.data and not self.uploaded:
            values["photo_alt"] = ""
        return values


def case_form(case=None):
    """The form for `case` (or a new case), with a letter field per language it may have."""
    languages = list(APPEAL_LANGUAGES)
    languages += [code for code in (case.appeal_templates if case else {}) if code not in languages]

    class Form(CaseForm):
        pass

    limit = BODY_MAX["appeal"]
    for code in languages:
        first = DataRequired(_("Please write the English letter.")) if code == "en" else Optional()
        label = _("Appeal letter in %(language)s", language=f"{language_name(code)} ({code})")
        field = TextAreaField(
            label,
            filters=[text],
            validators=[
                first,
                Length(max=limit, message=_("Please keep the letter under %(max)d characters.")),
                no_control_characters,
            ],
        )
        setattr(Form, f"appeal_{code}", field)
    if case is not None:
        data = {name: getattr(case, name) for name in COLUMNS}
        for code, letter in (case.appeal_templates or {}).items():
            data[f"appeal_{code}"] = letter
    else:
        data = {"goal": 10000, "sort_order": next_position()}
    form = Form(data=data)
    form.case = case
    for field in form.appeal_fields:
        field.language = field.name.removeprefix("appeal_")
        field.max_length = limit
    return form


def next_position():
    """New cases go to the end of the home page."""
    return (db.session.scalar(sa.select(sa.func.max(Case.sort_order))) or 0) + 1
