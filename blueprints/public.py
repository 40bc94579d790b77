"""What supporters see: the campaign, its cases, the letter forms and confirmation."""

import logging
import os

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import TooManyRequests

import letters
from blueprints.next_letter import next_letter, private
from blueprints.shared import (
    TOO_MANY,
    blank_form,
    case_summary,
    check_kind,
    email_check,
    find_visible_case,
    letter_language,
    letter_not_saved,
    letter_refusal,
    no_referrer,
    published_cases,
    share_url,
    store_letter,
    visible_case,
)
from cases import updates
from extensions import csrf, db, limiter
from letters import totals
from letters.forms import INVALID_EMAIL, LetterForm, normalized_email
from models import KINDS, Letter
from supporters import retention
from web import caching, errors, locale
from web.htmx import fragment_or_page, is_htmx
from web.security import CrossSiteRequest

bp = Blueprint("public", __name__)
# Supporters never sign in, so their forms carry no session-bound token: a forged post
# from another site is refused by what the browser says of its origin (web/security.py).
csrf.exempt(bp)
# Every page is in every language: /cases/<slug> in English, /es/cases/<slug>... (locale.py)
bp.url_value_preprocessor(locale.take_language_from_url)
log = logging.getLogger(__name__)

FROM_ANOTHER_SITE = _l(
    "For your safety we only take letters sent from this site's own form, and this one came "
    "from another site, so nothing was sent. Please read it below, and send it if it says "
    "what you want to say."
)


@locale.route(bp, "/")
def index():
    """The home page. At `/` (English, no language in the URL) it suggests the browser's
    language when the site has it: one cached copy per suggestion, `Vary: Accept-Language`."""
    if g.language != locale.DEFAULT:
        return caching.public_page(render_index)
    suggested = locale.suggested_language()
    response = caching.public_page(lambda: render_index(suggested), suggested or "")
    response.vary.add("Accept-Language")
    return response


def render_index(suggested=None):
    cases = published_cases()
    figures = totals.figures_by_case([case.id for case in cases])
    whole = totals.added_up(figures.values())
    suggestion = locale.suggestion(suggested) if suggested else None
    return render_template(
        "public/index.html",
        cases=cases,
        figures=figures,
        total=whole["total"],
        online=whole["online"],
        offline=whole["offline"],
        suggestion=suggestion,
        outcomes=updates.home_outcomes(str(get_locale())),
        format_date=format_date,
    )


def case_news(case):
    """The case page's news section: the case's published updates in the page's language."""
    return {
        "news": updates.published_updates(case.id, str(get_locale())),
        "format_date": format_date,
    }


@locale.route(bp, "/cases/<slug>")
def case(slug):
    """The case page, the same for everyone: from the cache, with its letter forms. Its
    appeal is in the page's language when the case has a letter in it; `?letter=` picks
    another of the case's letters."""
    _case_id, _status, languages = case_summary(slug)
    older_link = request.args.get("lang")  # ?lang= chose the letter before the page had one
    if g.language == locale.DEFAULT and older_link in languages:
        if older_link in current_app.config["LANGUAGES"]:
            return redirect(url_for(".case", slug=slug, lang=older_link), 301)
        return redirect(url_for(".case", slug=slug, letter=older_link), 301)
    language = letter_language(languages, request.args.get("letter", ""))
    return caching.public_page(lambda: render_case(slug, language), language)


def render_case(slug, language):
    case = visible_case(slug)
    return render_template(
        "public/case.html",
        case=case,
        forms={kind: blank_form(case, kind, language) for kind in KINDS},
        **totals.counter(case.id),
        language=language,
        **case_news(case),
    )


def render_form(case, form, status, problem=None):
    """The form again (its fragment for htmx, else the whole case page), text kept."""
    forms = {kind: blank_form(case, kind, form.language.data or "en") for kind in KINDS}
    forms[form.kind] = form
    response = fragment_or_page(
        "partials/_letter_form.html",
        "public/case.html",
        status,
        case=case,
        form=form,
        forms=forms,
        problem=problem,
        problem_kind=form.kind,
        **totals.counter(case.id),
        language=form.language.data or "en",
        **({} if is_htmx() else case_news(case)),  # a fragment has no news section
    )
    return errors.unavailable(response) if status >= 500 else response


@locale.route(bp, "/cases/<slug>/letters/<kind>", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SUBMIT"])
def submit(slug, kind):
    check_kind(kind)
    case_id, status, _languages = case_summary(slug)
    form = LetterForm(kind)
    refused = letter_refusal(status, form) or store_letter(
        slug, case_id, form, form.seconds_shown()
    )
    if refused:
        return render_form(visible_case(slug), form, *refused)
    # The thank-you page itself (not a redirect to the cached one): it offers the other
    # letter with the supporter's details filled in, so it is theirs alone.
    case = visible_case(slug)
    joined, next_form = next_letter(case, form)
    return private(thanks_response(case, kind, joined=joined, next_form=next_form))


def thanks_response(case, kind, joined=False, next_form=None):
    return fragment_or_page(
        "partials/_thanks_answer.html",
        "public/thanks.html",
        case=case,
        kind=kind,
        share_url=share_url(case),
        joined=joined,
        next_form=next_form,
    )


@locale.route(bp, "/cases/<slug>/thanks/<kind>")
def thanks(slug, kind):
    check_kind(kind)
    return caching.public_page(lambda: thanks_response(visible_case(slug), kind))


@locale.route(bp, "/cases/<slug>/letters/<kind>/check-email", methods=["POST"])
def check_email(slug, kind):
    """Inline check when the email field loses focus: only that field's message."""
    check_kind(kind)
    return email_check(LetterForm(kind))


@bp.errorhandler(CrossSiteRequest)
@bp.errorhandler(TooManyRequests)
def submit_problem(error):
    """A letter posted from another site, or too many letters: say so in the form, keep
    what was typed, store nothing."""
    kind = (request.view_args or {}).get("kind")
    if request.endpoint != "public.submit" or kind not in KINDS:
        return errors.error_page(error)
    case = find_visible_case(request.view_args["slug"])  # no abort inside an error handler
    if case is None:
        return errors.error_page(error)
    form = LetterForm(kind)
    problem = FROM_ANOTHER_SITE if isinstance(error, CrossSiteRequest) else TOO_MANY
    return render_form(case, form, error.code, problem)  # Flask-Limiter adds Retry-After


def database_down(error):
    """The database does not answer: a posted letter comes back in its form, 503."""
    return letter_not_saved(error, "public.submit")


for database_error in errors.DATABASE_DOWN:
    bp.register_error_handler(database_error, database_down)


@locale.route(bp, "/cases/<slug>/count")
def case_counter(slug):
    """The case's counter alone: cached pages poll it to show the count going up."""

    def render():
        case = visible_case(slug)
        return render_template("partials/_case_counter.html", case=case, **totals.counter(case.id))

    return caching.public_page(render)


@locale.route(bp, "/count")
def total_counter():
    """The campaign's total alone, polled by the home page."""
    return caching.public_page(
        lambda: render_template("partials/_total_counter.html", **totals.public_totals())
    )


def confirm_page(token):
    """The Confirm button, or why the link no longer works and how to get a new one."""
    letter_id, problem = letters.read_confirm_token(token)
    letter = db.session.get(Letter, letter_id) if letter_id is not None else None
    if letter is None:
        problem = "invalid"
    joined = letters.joined_to(letter) if letter is not None and problem is None else []
    page = render_template(
        "public/confirm.html", letter=letter, problem=problem, token=token, joined=joined
    )
    return no_referrer(make_response(page, 400 if problem else 200))


@locale.route(bp, "/confirm/<token>")
def confirm(token):
    """A page with a Confirm button: GET and HEAD change nothing (mail scanners prefetch)."""
    return confirm_page(token)


@locale.route(bp, "/confirm/<token>", methods=["POST"])
def confirm_post(token):
    letter_id, problem = letters.read_confirm_token(token)
    letter = letters.confirm_letter(letter_id) if problem is None else None
    if letter is None:
        return confirm_page(token)
    return no_referrer(redirect(url_for(".confirmed", slug=letter.case.slug), 303))


@locale.route(bp, "/cases/<slug>/confirmed")
def confirmed(slug):
    """Where a confirmed letter lands: the same for everyone (the token stayed behind)."""

    def render():
        case = visible_case(slug)
        return render_template(
            "public/confirmed.html",
            case=case,
            **totals.counter(case.id),
            share_url=share_url(case),
        )

    return caching.public_page(render)


@locale.route(bp, "/confirm/resend", methods=["POST"])
@limiter.limit("10 per hour")
def resend():
    """New confirmation links, for an expired link or by address: one email at most, with
    a link for each letter of that address still waiting. The page says the same whether
    the address is unknown, known or over its daily cap (mail/cap.py)."""
    token = request.form.get("token", "")
    email = request.form.get("email", "").strip()
    if token:
        letter_id, _problem = letters.read_confirm_token(token)  # expired is fine here
        letter = db.session.get(Letter, letter_id) if letter_id is not None else None
        if letter is not None:
            letters.resend_confirmation(letter.email_key)
    elif email:
        address = normalized_email(email)
        if address is None:
            page = render_template(
                "public/confirm.html", problem="invalid", email=email, email_error=INVALID_EMAIL
            )
            return no_referrer(make_response(page, 422))
        letters.resend_confirmation(address.lower())
    return redirect(url_for(".resent"), 303)


@locale.route(bp, "/confirm/sent")
def resent():
    return render_template("public/resent.html")


@locale.route(bp, "/privacy")
def privacy():
    """The privacy notice, with the names, address and periods the settings give."""
    return caching.public_page(
        lambda: render_template("public/privacy.html", notice=retention.notice())
    )


@bp.get("/photos/<path:filename>")
def photo(filename):
    """Case photos live in instance/photos, outside the code tree."""
    response = send_from_directory(os.path.join(current_app.instance_path, "photos"), filename)
    return caching.public_cache(response, 86400)  # a new photo gets a new file name
