"""The case form: every field of a case, with its checks, and its texts per language.

English is the case's own columns and is required; for each other language of LANGUAGES
the form has the texts of cases.languages.TRANSLATED_FIELDS (stored in Case.translations) and the
appeal letter (Case.appeal_templates), each optional: a text left empty is "not yet
translated" and public pages show the English one. Its checks read the database (a web
address no other case uses) and the photo upload (cases/photos.py), so a form that
validates can be saved as it is. The fields made per language (the appeal letter, the
suggested messages) are in case_fields.py.
"""

import re
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from blueprints.admin.case_fields import appeal_field, language_choices, suggestions_field, text
from cases import photos
from cases.languages import TRANSLATED_FIELDS, display_name, language_status, other_languages
from cases.suggestions import join_messages, split_messages
from extensions import db
from letters.forms import country_names, no_control_characters, normalize_email, single_line
from models import BODY_MAX, EMAIL_MAX, Case

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The case's plain columns that the form edits (the appeal letters and photo come apart).
COLUMNS = [
    *("slug", "name", "country", "summary", "story", "ask", "target_title", "target_address"),
    "target_email",
    *("solidarity_prompt", "goal", "sort_order", "photo_alt"),
    *("person_language", "target_language"),
]
# Translated texts short enough that the English one is shown beside them as a hint.
SHORT_TEXTS = ("name", "summary", "target_title", "photo_alt")


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
    # Where an appeals batch can be emailed (blueprints/admin/delivery_email.py).
    target_email = StringField(
        _l("Official's email address (optional)"),
        filters=[text, normalize_email],
        validators=[
            Optional(),
            Length(max=EMAIL_MAX, message=_l("This email address is too long.")),
            Email(_l("Please enter a valid email address, like name@example.org.")),
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

    def language_fields(self, code):
        """The texts in one language besides English, its letter last."""
        names = [f"{field}_{code}" for field in TRANSLATED_FIELDS]
        # The suggested messages come after the solidarity prompt, as in English.
        names.insert(names.index(f"solidarity_prompt_{code}") + 1, f"suggestions_{code}")
        return [self[name] for name in [*names, f"appeal_{code}"] if name in self]

    @property
    def language_groups(self):
        """Per language besides English: its fields and how complete the form has it.
        A group is shown open when one of its fields has an error."""
        groups, values, site = [], SimpleNamespace(**self.values()), other_languages()
        for code in self.languages[1:]:
            fields = self.language_fields(code)
            groups.append(
                {
                    "code": code,
                    "name": display_name(code),
                    "fields": fields,
                    "status": language_status(values, code) if code in site else None,
                    "open": any(field.errors for field in fields),
                }
            )
        return groups

    @property
    def uploaded(self):
        return bool(self.photo.data and getattr(self.photo.data, "filename", ""))

    def in_page_order(self):
        """The fields as the page shows them: English first, the other languages last."""
        names = ["name", "slug", "country", "summary", "story", "ask"]
        names += ["target_title", "target_address", "target_email", "appeal_en"]
        names += ["solidarity_prompt", "suggestions_en", "photo", "photo_alt", "remove_photo"]
        names += ["goal", "sort_order", "person_language", "target_language"]
        fields = [self[name] for name in names]
        for code in self.languages[1:]:
            fields += self.language_fields(code)
        return fields

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
        values["translations"] = self.translations()
        values["solidarity_suggestions"] = self.suggestions()
        if self.remove_photo.data and not self.uploaded:
            values["photo_alt"] = ""
            for texts in values["translations"].values():
                texts.pop("photo_alt", None)
        return values

    def translations(self):
        """Case.translations as the form has them: the texts written, per language. A
        language the form does not show (no longer in LANGUAGES) is kept as it was."""
        kept = (self.case.translations or {}) if self.case is not None else {}
        site = other_languages()
        found = {code: dict(texts) for code, texts in kept.items() if code not in site}
        for code in site:
            texts = {
                field: self[f"{field}_{code}"].data
                for field in TRANSLATED_FIELDS
                if self[f"{field}_{code}"].data
            }
            if texts:
                found[code] = texts
        return found

    def suggestions(self):
        """Case.solidarity_suggestions as the form has them: the messages written, per
        language. A language the form does not show (no longer in LANGUAGES) is kept."""
        kept = (self.case.solidarity_suggestions or {}) if self.case is not None else {}
        shown = ["en", *other_languages()]
        found = {code: list(texts) for code, texts in kept.items() if code not in shown}
        for code in shown:
            if messages := split_messages(self[f"suggestions_{code}"].data):
                found[code] = messages
        return found


def translated_field(name, code):
    """`name`'s field in another language: the English field's checks and limits, but
    optional (empty is "not yet translated")."""
    english = getattr(CaseForm, name)  # an UnboundField: its class, label and options
    validators = [Optional()] + [
        check
        for check in english.kwargs.get("validators", [])
        if not isinstance(check, (DataRequired, InputRequired, Optional))
    ]
    label = _("%(text)s (%(language)s)", text=english.args[0], language=display_name(code))
    return english.field_class(label, filters=english.kwargs["filters"], validators=validators)


def case_form(case=None):
    """The form for `case` (or a new case): English, then each other language of
    LANGUAGES, then any other language the case has a letter in."""
    languages = ["en", *other_languages()]
    templates = (case.appeal_templates if case else None) or {}
    languages += [code for code in templates if code not in languages]

    class Form(CaseForm):
        person_language = SelectField(
            _l("The person's language"),
            choices=language_choices(case.person_language if case else None),
        )
        target_language = SelectField(
            _l("The official's language"),
            choices=language_choices(case.target_language if case else None),
        )

    for code in ["en", *other_languages()]:
        setattr(Form, f"suggestions_{code}", suggestions_field(code))
    limit = BODY_MAX["appeal"]
    for code in languages:
        if code != "en" and code in current_app.config["LANGUAGES"]:
            for name in TRANSLATED_FIELDS:
                setattr(Form, f"{name}_{code}", translated_field(name, code))
        setattr(Form, f"appeal_{code}", appeal_field(code, limit))
    if case is not None:
        data = {name: getattr(case, name) for name in COLUMNS}
        for code, letter in templates.items():
            data[f"appeal_{code}"] = letter
        for code, texts in (case.translations or {}).items():
            data.update({f"{name}_{code}": value for name, value in texts.items()})
        for code, messages in (case.solidarity_suggestions or {}).items():
            data[f"suggestions_{code}"] = join_messages(messages)
    else:
        data = {"goal": 10000, "sort_order": next_position()}
        data["person_language"] = data["target_language"] = "en"
    form = Form(data=data)
    form.case = case
    form.languages = languages
    for field in form.appeal_fields:
        field.language = field.name.removeprefix("appeal_")
        field.max_length = limit
    for code in ["en", *other_languages()]:
        field = form[f"suggestions_{code}"]
        # No maxlength: a browser would cut a long paste without a word; its error says.
        field.language, field.max_length = code, None
    for code in languages[1:]:
        for name in TRANSLATED_FIELDS:
            if f"{name}_{code}" in form:
                field = form[f"{name}_{code}"]
                field.language = code
                field.max_length = next(v.max for v in field.validators if isinstance(v, Length))
                field.english = getattr(case, name, "") if name in SHORT_TEXTS and case else ""
    return form


def next_position():
    """New cases go to the end of the home page."""
    return (db.session.scalar(sa.select(sa.func.max(Case.sort_order))) or 0) + 1
