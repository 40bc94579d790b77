"""The audit log for admins: every staff action, newest first, filtered and paged by keyset
(a page costs the same on the first day of the campaign and after a million decisions)."""

import re
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError

from blueprints.admin import admin_only, bp
from extensions import db
from models import AuditEvent, StaffUser
from web.htmx import fragment_or_page

PAGE_SIZE = 50
ACTION = re.compile(r"^[a-z_]+(?:\.[a-z_]+)*(?:\.\*)?$")
TARGET_TYPE = re.compile(r"^[a-z_]+$")
COMMAND_LINE = "cli"  # the actor filter's value for events with no staff member (CLI)
TARGET_LABELS = {
    "cases": _l("Case"),
    "case_updates": _l("Case update"),
    "letters": _l("Letter"),
    "staff_users": _l("Staff account"),
    "partners": _l("Partner"),
}


def distinct_values(column):
    """The distinct values of an indexed column, one index lookup each (a "loose index
    scan"): a plain DISTINCT would read the whole index of a long log."""
    seen = sa.select(sa.func.min(column).label("value")).cte("seen", recursive=True)
    following = sa.select(sa.func.min(column)).where(column > seen.c.value).scalar_subquery()
    seen = seen.union_all(sa.select(following).where(seen.c.value.is_not(None)))
    return [value for value in db.session.scalars(sa.select(seen.c.value)) if value]


class AuditFilterForm(FlaskForm):
    """The filters, read from the query string so a filtered view can be bookmarked."""

    class Meta:
        csrf = False  # a GET that changes nothing

    # The choices are what the log holds; a value from an old bookmark is kept and checked
    # for its form only, so it narrows to nothing rather than failing.
    action = SelectField(_l("Action"), default="", validate_choice=False)
    actor = SelectField(_l("Staff member"), default="", validate_choice=False)
    target_type = SelectField(_l("Target"), default="", validate_choice=False)
    target_id = IntegerField(
        _l("Target number"),
        validators=[Optional(), NumberRange(min=1, message=_l("Please enter a number from 1 up."))],
    )
    date_from = DateField(_l("From (UTC)"), validators=[Optional()])
    date_to = DateField(_l("To (UTC, inclusive)"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, formdata=request.args, **kwargs)
        actions = distinct_values(AuditEvent.action)
        families = sorted({action.split(".")[0] for action in actions if "." in action})
        self.action.choices = [("", _("Any action"))]
        for family in families:
            self.action.choices.append((f"{family}.*", _("Any %(family)s action", family=family)))
            self.action.choices += [(a, a) for a in actions if a.startswith(family + ".")]
        self.action.choices += [(a, a) for a in actions if "." not in a]
        staff = db.session.execute(
            sa.select(StaffUser.id, StaffUser.email).order_by(StaffUser.email)
        ).all()
        self.actor.choices = [
            ("", _("Anyone")),
            (COMMAND_LINE, _("Command line (no staff member)")),
            *((str(user_id), email) for user_id, email in staff),
        ]
        self.target_type.choices = [("", _("Anything"))] + [
            (value, TARGET_LABELS.get(value, value))
            for value in distinct_values(AuditEvent.target_type)
        ]
        for field in (self.action, self.actor, self.target_type):
            values = {value for value, _label in field.choices}
            if field.data and field.data not in values:
                field.choices.append((field.data, field.data))
        self.replace_messages()

    def replace_messages(self):
        """WTForms' own parse errors, in our words."""
        if self.date_from.process_errors:
            self.date_from.process_errors = [_("Please enter a date like 2026-11-24.")]
        if self.date_to.process_errors:
            self.date_to.process_errors = [_("Please enter a date like 2026-11-24.")]
        if self.target_id.process_errors:
            self.target_id.process_errors = [_("Please enter a number, like 12.")]

    def validate_action(self, field):
        if field.data and not ACTION.match(field.data):
            raise ValidationError(_("Please choose an action from the list."))

    def validate_actor(self, field):
        if field.data not in ("", COMMAND_LINE) and not field.data.isdigit():
            raise ValidationError(_("Please choose a staff member from the list."))

    def validate_target_type(self, field):
        if field.data and not TARGET_TYPE.match(field.data):
            raise ValidationError(_("Please choose a target from the list."))

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("The end date is before the start date."))

    def validate_target_id(self, field):
        if field.data and not self.target_type.data:
            raise ValidationError(_("Please choose what kind of target the number is for."))

    @property
    def first_error(self):
        return next((field.id for field in self if field.errors), None)

    def filters(self):
        """The chosen filters, as query-string arguments for links to other pages."""
        return {name: request.args[name] for name in self.data if request.args.get(name)}


def filtered(query, form):
    """`query` narrowed by each filter the admin chose."""
    action = form.action.data
    if action.endswith(".*"):
        query = query.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
    elif action:
        query = query.where(AuditEvent.action == action)
    if form.actor.data == COMMAND_LINE:
        query = query.where(AuditEvent.actor_id.is_(None))
    elif form.actor.data:
        query = query.where(AuditEvent.actor_id == int(form.actor.data))
    if form.target_type.data:
        query = query.where(AuditEvent.target_type == form.target_type.data)
    if form.target_id.data:
        query = query.where(AuditEvent.target_id == form.target_id.data)
    if form.date_from.data:
        query = query.where(AuditEvent.created_at >= datetime.combine(form.date_from.data, time()))
    if form.date_to.data:
        end = datetime.combine(form.date_to.data + timedelta(days=1), time())
        query = query.where(AuditEvent.created_at < end)
    return query


def after_cursor(query, before_id):
    """Events older than the event `before_id` (the last one of the previous page)."""
    cursor = db.session.execute(
        sa.select(AuditEvent.created_at, AuditEvent.id).where(AuditEvent.id == before_id)
    ).first()
    if cursor is None:
        return query
    return query.where(
        sa.or_(
            AuditEvent.created_at < cursor.created_at,
            sa.and_(AuditEvent.created_at == cursor.created_at, AuditEvent.id < cursor.id),
        )
    )


@bp.get("/audit")
@admin_only
def audit():
    form = AuditFilterForm()
    events, older = [], None
    valid = form.validate()
    if valid:
        query = filtered(sa.select(AuditEvent), form)
        before = request.args.get("before", "")
        if before.isdigit():
            query = after_cursor(query, int(before))
        query = query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        events = db.session.scalars(query.limit(PAGE_SIZE + 1)).all()
        if len(events) > PAGE_SIZE:
            events = events[:PAGE_SIZE]
            older = url_for(".audit", **form.filters(), before=events[-1].id)
    return fragment_or_page(
        "admin/partials/_audit.html",
        "admin/audit.html",
        200 if valid else 400,
        form=form,
        events=events,
        older=older,
        newest=url_for(".audit", **form.filters()) if request.args.get("before") else None,
        target_labels=TARGET_LABELS,
        audit_target_link=audit_target_link,
    )


def audit_target_link(event):
    """Where an event's target can be seen, when it has a page of its own."""
    if event.target_type == "cases" and event.target_id:
        return url_for("admin.case_edit", case_id=event.target_id)
    return None
