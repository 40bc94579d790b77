"""Fields of the case form (case_form.py) made for each language: the appeal letter, the
suggested solidarity messages with their checks (cases/suggestions.py), and the choice of a
language; and the filter its text fields share.
"""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from cases.languages import display_name
from cases.suggestions import MAX_PER_LANGUAGE, problems, split_messages
from letters.forms import no_control_characters
from models import BODY_MAX


def text(value):
    """Textarea text with one kind of line break (the story splits on blank lines)."""
    return (
        value.replace("\r\n", "\n").replace("\r", "\n").strip() if isinstance(value, str) else value
    )


SUGGESTION_PROBLEMS = {
    "too_many": _l(
        "Please keep to %(max)d messages or fewer: this has %(num)d. Leave a blank line only between two messages."
    ),
    "too_long": _l(
        "Message %(number)d is %(length)d characters long: please keep each message to %(max)d characters or fewer."
    ),
    "repeated": _l("Message %(number)d is the same as message %(first)d: please write it once."),
}


def valid_suggestions(form, field):
    """A WTForms validator: a few messages, each short enough to send as it is."""
    found = problems(split_messages(field.data))
    if found:
        name, values = found
        raise ValidationError(SUGGESTION_PROBLEMS[name] % values)


def suggestions_field(code):
    """The suggested solidarity messages in one language: one per paragraph."""
    limits = {"num": MAX_PER_LANGUAGE, "max": BODY_MAX["solidarity"]}
    if code == "en":
        label = _("Suggested solidarity messages (optional)")
        hint = _(
            "One message per paragraph, with a blank line between two messages: at most %(num)d, of at most %(max)d characters each. The solidarity form offers them to start from; where a language has none, it offers the English ones.",
            **limits,
        )
    else:
        label = _("Suggested solidarity messages (%(language)s)", language=display_name(code))
        hint = _(
            "One message per paragraph, a blank line between two: at most %(num)d, of at most %(max)d characters each. Left empty, the form offers the English ones.",
            **limits,
        )
    return TextAreaField(
        label,
        filters=[text],
        validators=[Optional(), no_control_characters, valid_suggestions],
        description=hint,
    )


def language_choices(current):
    """The site's languages, by name, and `current` if the case has another one."""
    codes = list(current_app.config["LANGUAGES"])
    if current and current not in codes:
        codes.append(current)
    return [SelectChoice(code, f"{display_name(code)} ({code})") for code in codes]


def appeal_field(code, limit):
    first = DataRequired(_("Please write the English letter.")) if code == "en" else Optional()
    return TextAreaField(
        _("Appeal letter (%(language)s)", language=display_name(code)),
        filters=[text],
        validators=[
            first,
            Length(max=limit, message=_("Please keep the letter under %(max)d characters.")),
            no_control_characters,
        ],
    )
