"""Case management for admins: the list, the case form with its photo, a preview of the
public page, publish, close and the home page's order."""

import re

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge
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

import letters
from blueprints.admin import admin_only, bp
from blueprints.shared import blank_form
from cases import manage as case_changes
from cases import photos
from extensions import db
from letters.forms import country_names, no_control_characters, single_line
from models import BODY_MAX, KINDS, Case
from web.htmx import fragment_or_page, is_htmx
from web.templating import language_name

# The appeal's languages an admin is offered; a case keeps any other language it has.
APPEAL_LANGUAGES = ("en", "es", "fr", "ar", "tr")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
UPLOAD_ENDPOINTS = {"admin.case_new", "admin.case_edit"}
# The case's plain columns that the form edits (the appeal letters and photo come apart).
COLUMNS = [
    *("slug", "name", "country", "summary", "story", "ask", "target_title", "target_address"),
    *("solidarity_prompt", "goal", "sort_order", "photo_alt"),
]
STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"), "closed": _l("Closed")}


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


def find_case(case_id):
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def changes_shown_message():
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if seconds <= 0:
        return _("The public site shows it now.")
    return _("The public site shows it within %(seconds)d seconds.", seconds=seconds)


@bp.url_value_preprocessor
def allow_photo_uploads(endpoint, _values):
    """Case forms carry a photo, beyond the 64 KB every other form may send.

    Raised here, before CSRFProtect reads the form, and only for signed-in admins: a
    stranger cannot make the server read a large body. Photos larger than
    PHOTO_MAX_BYTES, but within this limit, get their message next to the field.
    """
    if (
        endpoint in UPLOAD_ENDPOINTS
        and request.method == "POST"
        and current_user.is_authenticated
        and current_user.is_admin
    ):
        request.max_content_length = upload_limit()


def upload_limit():
    return current_app.config["PHOTO_MAX_BYTES"] * 4 + 512 * 1024  # the texts take < 300 KB


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A case form sent more than even a photo may be: say so in words about photos."""
    from web.errors import error_page

    if request.endpoint not in UPLOAD_ENDPOINTS or not current_user.is_admin:
        return error_page(error)
    limit = photos.megabytes(current_app.config["PHOTO_MAX_BYTES"])
    message = _(
        "That photo is far larger than %(limit)s, so nothing was saved. Please go back and choose a smaller photo.",
        limit=limit,
    )
    page = render_template("errors/error.html", title=_("That photo is too large"), message=message)
    return make_response(page, 413)


def render_list(message=None, status=200):
    cases = db.session.scalars(sa.select(Case).order_by(Case.sort_order, Case.id)).all()
    messages = [message] if message else get_flashed_messages()
    return fragment_or_page(
        "admin/partials/_cases_table.html",
        "admin/cases.html",
        status,
        cases=cases,
        counts=letters.counts_by_case(),
        messages=messages,
        status_labels=STATUS_LABELS,
    )


@bp.get("/cases")
@admin_only
def cases():
    return render_list()


def render_form(form, status=200, photo_note=None):
    return make_response(
        render_template(
            "admin/case_form.html",
            form=form,
            case=form.case,
            photo_note=photo_note,
            photo_limit=photos.megabytes(current_app.config["PHOTO_MAX_BYTES"]),
            photo_max_bytes=current_app.config["PHOTO_MAX_BYTES"],
            status_labels=STATUS_LABELS,
            messages=get_flashed_messages(),
        ),
        status,
    )


def invalid_form(form):
    """The form again with its errors; a good photo has to be chosen again (browsers
    never refill a file field)."""
    note = None
    if form.photo_data:
        note = _("Your photo was fine, but please choose it again: the form had other problems.")
    return render_form(form, 422, note)


def slug_taken(form):
    """Two admins chose the same web address at the same moment: the database said no."""
    db.session.rollback()
    form.slug.errors = [*form.slug.errors, _("Another case already uses this web address.")]
    return invalid_form(form)


@bp.route("/cases/new", methods=["GET", "POST"])
@admin_only
def case_new():
    form = case_form()
    if not form.validate_on_submit():
        return invalid_form(form) if form.is_submitted() else render_form(form)
    try:
        case = case_changes.create_case(form.values(), form.photo_data)
    except IntegrityError:
        return slug_taken(form)
    flash(_("Case created as a draft: the public cannot see it until you publish it."))
    return redirect(url_for(".case_edit", case_id=case.id), 303)


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@admin_only
def case_edit(case_id):
    case = find_case(case_id)
    form = case_form(case)
    if not form.validate_on_submit():
        if form.is_submitted():
            return invalid_form(form)
        return render_form(form)
    try:
        changed = case_changes.update_case(
            case, form.values(), form.photo_data, remove_photo=form.remove_photo.data
        )
    except IntegrityError:
        return slug_taken(form)
    if not changed:
        flash(_("Nothing had changed, so nothing was saved."))
    elif case.status == "draft":
        flash(_("Saved. This case is still a draft: only staff can see it."))
    else:
        flash(_("Saved.") + " " + changes_shown_message())
    return redirect(url_for(".case_edit", case_id=case.id), 303)


@bp.get("/cases/<int:case_id>/preview")
@admin_only
def case_preview(case_id):
    """The public page as it would look, drafts included; for staff eyes only."""
    case = find_case(case_id)
    languages = case.appeal_templates or {}
    wanted = request.args.get("lang", "")
    language = wanted if wanted in languages else "en"
    page = render_template(
        "admin/case_preview.html",
        case=case,
        forms={kind: blank_form(case, kind, language) for kind in KINDS},
        count=letters.case_count(case.id),
        language=language,
        status_labels=STATUS_LABELS,
    )
    response = make_response(page)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def status_change(case_id, change, done, refused):
    """Publish or close, then the list again (htmx) or back where the button was."""
    case = find_case(case_id)
    message = done if change(case) else refused
    if is_htmx():
        return render_list(message)
    flash(message)
    if request.form.get("back") == "edit":
        return redirect(url_for(".case_edit", case_id=case.id), 303)
    return redirect(url_for(".cases"), 303)


@bp.post("/cases/<int:case_id>/publish")
@admin_only
def case_publish(case_id):
    return status_change(
        case_id,
        case_changes.publish,
        _("Published. It is open for letters.") + " " + changes_shown_message(),
        _("That case is already published."),
    )


@bp.post("/cases/<int:case_id>/close")
@admin_only
def case_close(case_id):
    return status_change(
        case_id,
        case_changes.close,
        _("Closed. Its page stays online but takes no more letters.")
        + " "
        + changes_shown_message(),
        _("Only a published case can be closed."),
    )


@bp.post("/cases/<int:case_id>/move")
@admin_only
def case_move(case_id):
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    case = find_case(case_id)
    moved = case_changes.move(case, direction)
    messages = {
        (True, "up"): _("Moved %(name)s up.", name=case.name),
        (True, "down"): _("Moved %(name)s down.", name=case.name),
        (False, "up"): _("%(name)s is already first.", name=case.name),
        (False, "down"): _("%(name)s is already last.", name=case.name),
    }
    message = messages[moved, direction]
    if is_htmx():
        return render_list(message)
    flash(message)
    return redirect(url_for(".cases"), 303)
