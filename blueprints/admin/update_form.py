"""The form of a case update: its title and text in English (required) and in each other
language of LANGUAGES (optional: an empty text is "not yet translated" and the case page
shows the English one), the day it happened, and what became of the person, if it says."""

from types import SimpleNamespace

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from blueprints.admin.case_fields import text
from cases.languages import LanguageStatus, display_name, other_languages
from cases.updates import OUTCOMES, TRANSLATED_TEXTS
from letters.forms import no_control_characters, single_line

TITLE_MAX = 200  # CaseUpdate.title's column
BODY_MAX = 10000
TEXT_NAMES = {"title": _l("title"), "body": _l("text")}


class UpdateStatus(LanguageStatus):
    """How complete one language of an update is (the case form's LanguageStatus)."""

    @property
    def missing_names(self):
        return [str(TEXT_NAMES[name]) for name in self.missing]


def title_field(label, required):
    first = DataRequired(_l("Please give the update a title.")) if required else Optional()
    return StringField(
        label,
        filters=[text],
        validators=[
            first,
            Length(max=TITLE_MAX, message=_l("Please keep the title under %(max)d characters.")),
            single_line,
        ],
    )


def body_field(label, required):
    first = DataRequired(_l("Please write what happened.")) if required else Optional()
    return TextAreaField(
        label,
        filters=[text],
        validators=[
            first,
            Length(max=BODY_MAX, message=_l("Please keep the text under %(max)d characters.")),
            no_control_characters,
        ],
    )


class DayField(DateField):
    """A day as the browser's date picker sends it (2017-05-03), with our own message."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_("Please give the date like 2017-05-03.")) from error


class UpdateForm(FlaskForm):
    """The English texts, the date and the outcome; update_form() adds the languages."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST before the view

    title = title_field(_l("Title"), True)
    body = body_field(_l("What happened"), True)
    happened_on = DayField(
        _l("Date"), validators=[InputRequired(_l("Please give the date like 2017-05-03."))]
    )
    outcome = SelectField(_l("Outcome for the person (optional)"), default="")

    update = None  # the update being edited, None for a new one
    languages = ()

    def language_fields(self, code):
        return [self[f"{name}_{code}"] for name in TRANSLATED_TEXTS]

    @property
    def language_groups(self):
        """Per language besides English: its fields and how complete it is. A group is
        shown open when one of its fields has an error."""
        values = SimpleNamespace(title=self.title.data, body=self.body.data)
        groups = []
        for code in self.languages:
            fields = self.language_fields(code)
            needed = [name for name in TRANSLATED_TEXTS if getattr(values, name)]
            missing = [name for name in needed if not self[f"{name}_{code}"].data]
            groups.append(
                {
                    "code": code,
                    "name": display_name(code),
                    "fields": fields,
                    "status": UpdateStatus(code, display_name(code), needed, missing),
                    "open": any(field.errors for field in fields),
                }
            )
        return groups

    def in_page_order(self):
        fields = [self.title, self.happened_on, self.outcome, self.body]
        for code in self.languages:
            fields += self.language_fields(code)
        return fields

    @property
    def first_error(self):
        """The id of the first field with an error: the page puts the focus there."""
        return next((field.id for field in self.in_page_order() if field.errors), None)

    def values(self):
        """CaseUpdate's columns as the form has them. A language the form does not show
        (no longer in LANGUAGES) keeps its texts."""
        kept = (self.update.translations or {}) if self.update is not None else {}
        translations = {code: dict(t) for code, t in kept.items() if code not in self.languages}
        for code in self.languages:
            texts = {name: self[f"{name}_{code}"].data for name in TRANSLATED_TEXTS}
            texts = {name: value for name, value in texts.items() if value}
            if texts:
                translations[code] = texts
        return {
            "title": self.title.data,
            "body": self.body.data,
            "happened_on": self.happened_on.data,
            "outcome": self.outcome.data,
            "translations": translations,
        }


def update_form(update=None, **defaults):
    """The form for `update` (or a new one, with `defaults`)."""
    languages = other_languages()

    class Form(UpdateForm):
        pass

    for code in languages:
        name = display_name(code)
        label = _("%(text)s (%(language)s)", text=_("Title"), language=name)
        setattr(Form, f"title_{code}", title_field(label, False))
        label = _("%(text)s (%(language)s)", text=_("What happened"), language=name)
        setattr(Form, f"body_{code}", body_field(label, False))
    data = dict(defaults)
    if update is not None:
        data = {name: getattr(update, name) for name in ("title", "body", "happened_on", "outcome")}
        for code, texts in (update.translations or {}).items():
            data.update({f"{name}_{code}": value for name, value in texts.items()})
    form = Form(data=data)
    form.update = update
    form.languages = languages
    form.outcome.choices = [("", _("None: news only")), *OUTCOMES.items()]
    for field in form.in_page_order():
        maximum = [v.max for v in field.validators if isinstance(v, Length)]
        field.max_length = maximum[0] if maximum else None
    for code in languages:
        form[f"title_{code}"].english = update.title if update is not None else ""
    return form
