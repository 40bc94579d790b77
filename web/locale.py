"""The page's language. It is in the URL, so each page is one document any cache can keep:
English (the default) at `/`, `/cases/<slug>`..., every other language of LANGUAGES under
its code, `/es/`, `/es/cases/<slug>`... A partner's frame says it with `?lang=`.

Flask-Babel reads it through select_locale(); url_for() keeps it (a link on a Spanish page
stays Spanish) unless it is given another `lang`.
"""

from babel import Locale
from flask import current_app, g, has_request_context, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from werkzeug.routing import AnyConverter

STAFF_BLUEPRINTS = ("admin", "auth")
DEFAULT = "en"  # at the URLs without a language, and what a missing translation falls back to


def route(bp, rule, **options):
    """Route a public page in every language: the default one at `rule`, the others at
    `/<lang>` + `rule`. The view gets no `lang` argument: the page's language is g.language.
    `/en/...` redirects to the address without a language (Werkzeug's redirect_defaults),
    so each page has one address per language."""

    def decorator(view):
        bp.add_url_rule(rule, view_func=view, defaults={"lang": DEFAULT}, **options)
        bp.add_url_rule("/<lang:lang>" + rule, view_func=view, **options)
        return view

    return decorator


def take_language_from_url(_endpoint, values):
    """A blueprint's url_value_preprocessor: the URL's language becomes the page's."""
    if values and "lang" in values:
        g.language = values.pop("lang")


def language_from_query():
    """A before_request for pages a partner frames: `?lang=` names the language."""
    g.language = supported(request.args.get("lang", ""))


def supported(code):
    """`code` when the site has that language, else the default."""
    return code if code in current_app.config["LANGUAGES"] else DEFAULT


def select_locale():
    """Flask-Babel's locale selector: the page's language (g.language, from the URL); on a
    page the site does not have (a 404 under /es/), the language its path starts with;
    else the default. Staff pages are in the default language."""
    if "language" in g:
        return g.language
    if has_request_context():
        first = request.path.split("/", 2)[1]
        if first in current_app.config["LANGUAGES"]:
            return first
    return DEFAULT


def add_language(endpoint, values):
    """An app-wide url_defaults: links keep the page's language (the locale in force, so
    an email rendered in Spanish links to Spanish pages). A frame's pages carry it as
    `?lang=`, the others in their path."""
    if "lang" in values or not endpoint:
        return
    language = str(get_locale())
    in_path = current_app.url_map.is_endpoint_expecting(endpoint, "lang")
    if in_path or (endpoint.startswith("embed.") and language != DEFAULT):
        values["lang"] = language


def suggested_language():
    """The browser's preferred language among the site's, when it is not the default: the
    home page at `/` suggests it (and keeps every language one click away)."""
    languages = current_app.config["LANGUAGES"]
    best = request.accept_languages.best_match(languages)
    return best if best and best != DEFAULT else None


def suggestion(language):
    """The suggestion's words, in the language suggested: a visitor who reads only that
    language can still read the offer."""
    name = Locale.parse(language).get_display_name(language)
    with force_locale(language):
        return {
            "language": language,
            "text": _("This site is also in %(language)s.", language=name),
            "link": _("Read it in %(language)s", language=name),
        }


# The page whose form a posted answer (its errors, a thank-you, a refused link) answers;
# a post from no page of its own (a new link asked for) has the home pages instead.
POSTED_FROM = {
    "public.submit": "public.case",
    "public.confirm_post": "public.confirm",
    # "Your letters": every answer to its forms leads to its first page in each language
    # (the letters page itself has no address: it lives in the answer to a POST).
    **{
        f"your_letters.{view}": "your_letters.ask"
        for view in ("ask_post", "open_link", "view", "export", "consent", "news", "erase")
    },
}


def this_page_in_every_language():
    """[(code, path)]: this page's address in each of the site's languages, for the language
    switcher and the hreflang alternates; the home pages for a page that has no address of
    its own (an error); the form's page for the answer to a form (a GET of the address a
    form posts to would be refused); none on the staff side, which is in English only."""
    if request.blueprint in STAFF_BLUEPRINTS:
        return []
    endpoint, args = request.endpoint, dict(request.view_args or {})
    if request.method == "POST":  # a posted form's answer has no address: the form's page
        endpoint = POSTED_FROM.get(endpoint)
        args.pop("kind", None)
        if endpoint == "your_letters.ask":
            args = {}  # a used "Your letters" link's token goes into no other address
    in_languages = endpoint and (
        endpoint.startswith("embed.") or current_app.url_map.is_endpoint_expecting(endpoint, "lang")
    )
    if not in_languages or g.get("error_page"):  # a missing case is missing in every language
        endpoint, args = "public.index", {}
    return [
        (code, url_for(endpoint, **args, lang=code)) for code in current_app.config["LANGUAGES"]
    ]


def language_converter(languages):
    """The `<lang:...>` URL converter: one of `languages` (Werkzeug's `any`), else the rule
    does not match (404)."""

    class LanguageConverter(AnyConverter):
        def __init__(self, url_map):
            super().__init__(url_map, *languages)

    return LanguageConverter


def register(app):
    app.url_map.converters["lang"] = language_converter(app.config["LANGUAGES"])
    app.url_defaults(add_language)
