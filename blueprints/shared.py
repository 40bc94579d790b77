"""View helpers that several blueprints share: finding a public case, the letter form's
answers (public pages and partner embeds)."""

import logging
from types import SimpleNamespace
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

import letters
from extensions import db
from letters.forms import LetterForm, sent_too_fast, started_token
from models import KINDS, Case
from web import caching, errors
from web.htmx import fragment_or_page

log = logging.getLogger(__name__)

CASE_CLOSED = _l("This case is closed: thank you for caring.")


NOT_SAVED = _l(
    "We could not save your letter just now. Your text is still here: please try again in a moment."
)


TOO_MANY = _l(
    "You have sent a lot of letters in a short time. Please wait a few minutes and try again: your text is still here."
)


def find_visible_case(slug):
    """The case if the public may see it (published or closed), else None; in the page's
    language (Case.in_language: each text staff translated, else English)."""
    case = db.session.scalar(sa.select(Case).where(Case.slug == slug, Case.status != "draft"))
    return case.in_language(str(get_locale())) if case else None


def visible_case(slug):
    case = find_visible_case(slug)
    if case is None:
        abort(404)
    return case


def share_url(case):
    """The case page's public address, for share links (never the request's host)."""
    return current_app.config["BASE_URL"] + url_for("public.case", slug=case.slug)


def case_summary(slug):
    """(id, status, letter languages) of a public case, kept a few seconds: every letter
    posted needs it."""

    def lookup():
        row = db.session.execute(
            sa.select(Case.id, Case.status, Case.appeal_templates).where(
                Case.slug == slug, Case.status != "draft"
            )
        ).first()
        db.session.rollback()  # end the read, so the write that follows starts afresh
        return (row.id, row.status, frozenset(row.appeal_templates or ())) if row else None

    found = caching.cached(("case-summary", slug), lookup)
    if found is None:
        abort(404)
    return found


def published_cases():
    """The cases the public may see, in order, in the page's language."""
    language = str(get_locale())
    found = db.session.scalars(
        sa.select(Case).where(Case.status != "draft").order_by(Case.sort_order, Case.id)
    )
    return [case.in_language(language) for case in found]


def check_kind(kind):
    if kind not in KINDS:
        abort(404)


def blank_form(case, kind, language, form_class=LetterForm, **data):
    """A new form of `kind`, the appeal prefilled in `language`; `data` fills other fields.

    A public form carries the time it was shown, signed (`started`)."""
    data = {"language": language, **data}
    if kind == "appeal":
        data["body"] = case.template_for(language)
    form = form_class(kind, formdata=None, data=data)
    if "started" in form:
        form.started.data = started_token()
    return form


def letter_refusal(status, form):
    """Why a submitted letter cannot be taken as it is, as (status code, problem), or None:
    the case is closed, or a field needs fixing (each field then says what)."""
    valid = form.validate()  # first, so that a closed case's form shows its errors too
    if status == "closed":
        return 409, CASE_CLOSED
    if not valid:
        return 422, None
    return None


def store_letter(slug, case_id, form, seconds_shown, partner_id=None):
    """Store a valid letter and its email; (503, problem) when the database fails, else None.

    A filled honeypot gets the same answer and nothing is stored: people never see that
    field. A letter sent too fast after its form was shown (or with no trustworthy time)
    is stored all the same, flagged "fast" for moderators: nothing a person sends is lost.
    """
    if form.leave_empty.data:
        return None
    try:
        form.letter_id = letters.submit_letter(  # the thank-you panel's follow-up names it
            case_id, form.letter(), partner_id, fast=sent_too_fast(seconds_shown)
        )
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not store a letter for case %s", slug)
        return 503, NOT_SAVED
    return None


def email_check(form):
    """The email field's message alone: empty, or what is wrong with the address. An
    empty field says nothing yet: the supporter may not have reached it."""
    errors = []
    if form.email.data and not form.email.validate(form):
        errors = form.email.errors
    return render_template("partials/_field_error.html", field=form.email, errors=errors)


def letter_language(languages, wanted=""):
    """The appeal's language among the case's letters (`languages`): `wanted` (a page's
    ?letter=, or a partner snippet's ?lang=) when the case has a letter in it, else the
    page's language, else English. Anything else is ignored, so a made-up query string
    cannot flood the cache."""
    for language in (wanted, str(get_locale())):
        if language in languages:
            return language
    return "en"


def requested_language(case):
    """A framed page's letter language, from its ?letter= or the snippet's ?lang=."""
    wanted = request.args.get("letter") or request.args.get("lang", "")
    return letter_language(case.appeal_templates or {}, wanted)


def local_path(target):
    """`target` when it is a path on this site, else None: never follow a link elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def no_store(response):
    """Staff pages carry names and messages: no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def no_referrer(response):
    """The page's address holds a token (a letter's confirmation, a staff member's emailed
    link): no link or resource on it may send that address on to another site."""
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def letter_not_saved(error, endpoint, form_class=LetterForm, **context):
    """The database does not answer. A letter posted to `endpoint` comes back in its form,
    text kept, on a 503 page that says it was not saved (the case itself cannot be read to
    show its whole page); any other page says the site cannot reach its letters."""
    args = request.view_args or {}
    kind = args.get("kind")
    if request.endpoint != endpoint or kind not in KINDS:
        return errors.database_down(error)
    errors.log_database_down(error)
    response = fragment_or_page(
        "partials/_letter_form.html",
        "public/letter_not_saved.html",
        503,
        # The form needs only the case's address (its slug), and a generic solidarity hint.
        case=SimpleNamespace(slug=args["slug"], solidarity_prompt=None),
        form=form_class(kind),
        problem=NOT_SAVED,
        problem_kind=kind,
        **context,
    )
    return errors.unavailable(response)
