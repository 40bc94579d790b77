"""Partner embeds: a case's letter form framed on a partner's site, and partners' stats.

Browsers block or partition cookies in third-party frames, so the framed form never
relies on one: each form carries a signed, expiring, single-use token bound to its case,
partner and kind (partners.py), and a letter is taken only when the browser says it was
posted by the framed page itself (Origin, Sec-Fetch-Site). Each framed page may be framed
by its partner's own origins and nowhere else.
"""

import logging
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import TooManyRequests

import partners
from blueprints.next_letter import OTHER_KIND, next_letter
from blueprints.shared import (
    NOT_SAVED,
    TOO_MANY,
    blank_form,
    case_summary,
    check_kind,
    email_check,
    find_visible_case,
    letter_not_saved,
    letter_refusal,
    requested_language,
    share_url,
    store_letter,
    visible_case,
)
from extensions import csrf, db, limiter
from letters.forms import EmbedLetterForm
from models import KINDS
from web import caching, errors, locale
from web.htmx import fragment_or_page, is_htmx
from web.security import CSP, CrossSiteRequest

bp = Blueprint("embed", __name__)
# No cookie arrives in a third-party frame, so no session-bound CSRF token either: each
# form carries its signed single-use token, and posts must come from the framed page.
csrf.exempt(bp)
# A partner's snippet names the frame's language with ?lang= (links in the frame keep it).
bp.before_request(locale.language_from_query)
log = logging.getLogger(__name__)

NOT_FROM_THE_FORM = _l(
    "For your safety we only take letters sent from this form itself, and this one was not, "
    "so nothing was sent. Please use the form below."
)
FORM_EXPIRED = _l(
    "This form had expired, so nothing was sent. We have refreshed it: please send it again."
)
FORM_INVALID = _l(
    "We could not check this form, so nothing was sent. We have refreshed it: please send it again."
)
ALREADY_SENT = _l(
    "This form was already sent, so nothing more was sent. The form below is ready for another letter."
)


def frame_policy(origins):
    """The site's CSP, with frame-ancestors listing exactly these origins ('none' if none).

    The origins are the partner's stored ones, checked once more here: nothing from the
    request (its Origin or Referer) ever gets into the policy.
    """
    sources = " ".join(origin for origin in origins if partners.ORIGIN.fullmatch(origin))
    return CSP.replace("frame-ancestors 'none'", "frame-ancestors " + (sources or "'none'"))


def embed_partner(slug):
    """The partner whose page this is; an unknown or removed one gets a 404 that nobody can
    frame (its response keeps the site's frame-ancestors 'none')."""
    partner = partners.find_partner(slug)
    if partner is None:
        abort(404)
    g.embed_partner = partner
    return partner


def database_down(error):
    """The database does not answer when a framed form is sent: the form comes back with
    the text, 503, saying it was not saved. The partner's origins cannot be read either, so
    only htmx's fragment (fetched by the framed page) shows in the frame; a page answer
    keeps frame-ancestors 'none' and the browser keeps the form it sent."""
    partner = SimpleNamespace(slug=(request.view_args or {}).get("partner_slug"))
    return letter_not_saved(error, "embed.submit", EmbedLetterForm, embed=True, partner=partner)


for database_error in errors.DATABASE_DOWN:
    bp.register_error_handler(database_error, database_down)


@bp.after_request
def embed_headers(response):
    """Framed pages are never stored by any cache: each form carries a single-use token,
    and a shared copy would hand the same token to two people (the second refused)."""
    partner = g.get("embed_partner")
    if partner is not None:
        response.headers["Content-Security-Policy"] = frame_policy(partner.origins)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.after_app_request
def embed_script_for_other_sites(response):
    """Partners load the sizing script with an integrity hash, which needs CORS."""
    # The path first: this runs after every request of the site, and it is the cheapest test.
    if request.path.endswith(partners.EMBED_SCRIPT) and request.endpoint == "static":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def new_form(case, partner, kind, language, shown_at=None):
    token = partners.form_token(case.id, partner.id, kind, shown_at)
    return blank_form(case, kind, language, form_class=EmbedLetterForm, form_token=token)


def page_context(partner, case, language):
    return {
        "partner": partner,
        "case": case,
        "language": language,
        "embed": True,
        "parent_origins": partner.origins,
    }


@bp.get("/embed/<partner_slug>/<slug>")
def form(partner_slug, slug):
    """The framed page: the case in short, "with PARTNER", and its two letter forms."""
    partner = embed_partner(partner_slug)
    case = visible_case(slug)
    language = requested_language(case)
    forms = {kind: new_form(case, partner, kind, language) for kind in KINDS}
    return render_template("embed/form.html", forms=forms, **page_context(partner, case, language))


def render_embed_form(partner, case, form, status, problem=None):
    """The form again in the frame (its fragment for htmx), with what was typed."""
    language = form.language.data if form.language.data in case.appeal_templates else "en"
    forms = {}
    if not is_htmx():
        forms = {kind: new_form(case, partner, kind, language) for kind in KINDS}
        forms[form.kind] = form
    return fragment_or_page(
        "partials/_letter_form.html",
        "embed/form.html",
        status,
        form=form,
        forms=forms,
        problem=problem,
        problem_kind=form.kind,
        **page_context(partner, case, language),
    )


def own_origins():
    """This site's origin, as configured and as the request reached it."""
    configured = urlsplit(current_app.config["BASE_URL"])
    return {f"{configured.scheme}://{configured.netloc}", request.host_url.rstrip("/")}


def posted_from_the_frame():
    """The browser says the post came from a page of this site, i.e. the framed form.

    A forged post from another site says Sec-Fetch-Site: cross-site and carries that
    site's Origin; browsers send Origin with every POST, so one without it is refused too.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    return request.headers.get("Origin") in own_origins()


def token_refusal(token, problem, case_id, partner_id, kind):
    """(status, message) when the form token cannot be used here, else None."""
    if problem == "expired":
        return 400, FORM_EXPIRED
    if token is None or problem or not token.fits(case_id, partner_id, kind):
        return 400, FORM_INVALID
    return None


@bp.post("/embed/<partner_slug>/<slug>/letters/<kind>")
@limiter.limit(lambda: current_app.config["RATELIMIT_SUBMIT"])
def submit(partner_slug, slug, kind):
    """Take a letter from the framed form; the partner comes from the signed token."""
    check_kind(kind)
    partner = embed_partner(partner_slug)
    case_id, status, _languages = case_summary(slug)
    form = EmbedLetterForm(kind)
    token, problem = partners.read_form_token(form.form_token.data)

    def refuse(code, message, keep_token=False):
        if not keep_token:  # a fresh token, which keeps the time the form was first shown
            shown_at = token.shown_at if token is not None else None
            form.form_token.data = partners.form_token(case_id, partner.id, kind, shown_at)
        return render_embed_form(partner, visible_case(slug), form, code, message)

    if not posted_from_the_frame():
        return refuse(403, NOT_FROM_THE_FORM)
    refused = token_refusal(token, problem, case_id, partner.id, kind)
    if refused:
        return refuse(*refused)
    refused = letter_refusal(status, form)
    if refused:  # nothing was spent: the form keeps its token
        return refuse(*refused, keep_token=True)
    try:
        spent = partners.spend_form_token(token)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not spend an embed form token for case %s", case_id)
        return refuse(503, NOT_SAVED, keep_token=True)
    if not spent:
        return refuse(409, ALREADY_SENT)
    seconds_shown = time.time() - token.shown_at
    refused = store_letter(slug, case_id, form, seconds_shown, partner_id=token.partner_id)
    if refused:
        return refuse(*refused)
    # The thank-you panel (a framed page of its own without htmx) offers the other letter
    # filled in, with a fresh form token of its own.
    case = visible_case(slug)
    next_token = partners.form_token(case_id, partner.id, OTHER_KIND[kind])
    joined, next_form = next_letter(case, form, form_token=next_token)
    return thanks_response(
        partner,
        case,
        kind,
        form.language.data,
        next_url="" if is_htmx() else None,
        joined=joined,
        next_form=next_form,
    )


def thanks_response(partner, case, kind, language, next_url=None, joined=False, next_form=None):
    """The thank-you panel: in the framed page for htmx, else a framed page of its own
    whose next step leads back to the framed form."""
    if next_url is None:
        next_url = url_for(".form", partner_slug=partner.slug, slug=case.slug)
    return fragment_or_page(
        "partials/_thanks_answer.html",
        "embed/thanks.html",
        kind=kind,
        share_url=share_url(case),
        next_url=next_url,
        joined=joined,
        next_form=next_form,
        **page_context(partner, case, language),
    )


@bp.get("/embed/<partner_slug>/<slug>/thanks/<kind>")
def thanks(partner_slug, slug, kind):
    check_kind(kind)
    partner = embed_partner(partner_slug)
    case = visible_case(slug)
    return thanks_response(partner, case, kind, requested_language(case))


@bp.post("/embed/<partner_slug>/<slug>/letters/<kind>/check-email")
def check_email(partner_slug, slug, kind):
    """The inline email check of the framed form."""
    check_kind(kind)
    embed_partner(partner_slug)
    return email_check(EmbedLetterForm(kind))


@bp.errorhandler(CrossSiteRequest)
@bp.errorhandler(TooManyRequests)
def submit_problem(error):
    """A letter posted from another site, or too many letters from one address: say so in
    the frame, keeping the text."""
    from web.errors import error_page

    args = request.view_args or {}
    if request.endpoint != "embed.submit" or args.get("kind") not in KINDS:
        return error_page(error)
    partner = partners.find_partner(args["partner_slug"])
    case = find_visible_case(args["slug"])  # no abort inside an error handler
    if partner is None or case is None:
        return error_page(error)
    g.embed_partner = partner
    form = EmbedLetterForm(args["kind"])  # its token was not spent: the form keeps it
    problem = NOT_FROM_THE_FORM if isinstance(error, CrossSiteRequest) else TOO_MANY
    return render_embed_form(partner, case, form, error.code, problem)


def stats_partner(token):
    """The partner whose private stats link this is; a 404 for a wrong, old or removed one."""
    partner = partners.partner_for_stats_link(token)
    if partner is None:
        abort(404)
    return partner


@bp.get("/partners/stats/<token>")
def stats(token):
    """A partner's own figures, behind its private link: per case and per day."""
    return stats_page(stats_partner(token))


def stats_page(partner, status=200, **report_forms):
    """The stats page; its offline reports section (blueprints/partner_reports.py) takes
    `report_forms` when a report form comes back with its errors."""
    # The figures are sums over the partner's letters, which grow through the campaign:
    # kept for a few seconds, like the site's pages, so a partner reloading the page
    # does not make the database add them up again each time.
    figures = caching.cached(
        ("partner-stats", partner.id),
        lambda: (
            partners.stats_per_case(partner.id),
            partners.stats_per_day(partner.id),
            partners.offline_per_case(partner.id),
        ),
    )
    page = render_template(
        "embed/stats.html",
        partner=partner,
        per_case=figures[0],
        per_day=figures[1],
        offline_per_case=figures[2],
        **partner_reports.section(partner, **report_forms),
    )
    return make_response(page, status)


@bp.after_request
def private_link(response):
    """The stats link's secret never leaves in a Referer, whatever the answer (the stats
    page and its offline reports' pages and posts: embed.stats*)."""
    if (request.endpoint or "").startswith("embed.stats"):
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


# The offline reports on the stats page register their routes on bp.
from blueprints import partner_reports  # noqa: E402
