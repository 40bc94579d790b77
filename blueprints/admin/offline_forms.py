"""The admins' offline report forms: a report typed in for a partner or for staff, and
the review of a report. Staff-side words (English), apart from the partner's form."""

from flask_babel import lazy_gettext as _l
from wtforms import Form, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from models.offline import NOTE_MAX
from offline.forms import ReportForm


class StaffReportForm(ReportForm):
    """Staff's report form: the report may be typed in for a partner (who then sees it on
    its stats page) or be staff's own."""

    partner_id = SelectField(
        _l("Reported by"), coerce=lambda value: int(value) if value else None, validate_choice=False
    )

    def __init__(self, *args, partners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.partner_id.choices = [SelectChoice("", _l("Campaign staff"))] + [
            SelectChoice(p.id, p.name) for p in partners
        ]
        self.partner_ids = {p.id for p in partners}

    def validate_partner_id(self, field):
        if field.data is not None and field.data not in self.partner_ids:
            raise ValidationError(_l("Please choose a partner from the list."))


DECISIONS = {
    "approve": _l("Approve: it counts"),
    "correction": _l("Ask for a correction"),
    "reject": _l("Reject"),
}


class ReviewForm(Form):
    """Staff's decision on a report; asking for a correction or rejecting needs words."""

    decision = SelectField(
        _l("Decision"),
        choices=[SelectChoice(name, label) for name, label in DECISIONS.items()],
        validate_choice=False,  # checked below, with a message in words
        validators=[InputRequired(_l("Please choose a decision."))],
    )
    note = TextAreaField(
        _l("Note to the reporter"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            Length(max=NOTE_MAX, message=_l("Please keep the note under %(max)d characters."))
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.note.max_length = NOTE_MAX  # the textarea's maxlength

    def validate_decision(self, field):
        if field.data not in DECISIONS:
            raise ValidationError(_l("Please choose a decision."))

    def validate_note(self, field):
        if self.decision.data in ("correction", "reject") and not field.data:
            raise ValidationError(
                _l(
                    "Please say what to correct, or why the report is rejected: the reporter reads it."
                )
            )
