"""Security for every request and response: state-changing requests that another site's
page sent are refused (Fetch Metadata), and every answer carries the security headers
(CSP, framing, sniffing, referrer, HSTS)."""

from urllib.parse import urlsplit

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import Headers, ResponseCacheControl
from werkzeug.exceptions import Forbidden
from werkzeug.http import parse_cache_control_header

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)

# Methods that change nothing (RFC 9110's safe methods): never refused here.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The one endpoint any page may post to: an email's unsubscribe link (blueprints/
# unsubscribe.py), the target of RFC 8058's one-click post. A mail provider posts it from
# its servers, but a webmail may post it from the reader's browser, from the webmail's own
# site: refusing that would keep someone on our list who asked to leave. Letting it
# through is harmless: all it can do is take the address in its signed link off the news
# list (which only that address's emails carry), idempotently; nothing else is reachable.
CROSS_SITE_ALLOWED = frozenset({"unsubscribe.confirm"})


class CrossSiteRequest(Forbidden):
    """A state-changing request that a page of another site sent: a forgery, or a copy of
    one of our forms on another site. Nothing was done."""

    description = _l(
        "For your safety we only take what is sent from this site's own pages, and this "
        "came from another site, so nothing was done. Please go back and try again here."
    )


def refuse_cross_site_requests():
    """A before_request hook: refuse a state-changing request that a browser says came from
    another site, before any view runs (so nothing is stored).

    The browser's word, as the OWASP CSRF cheat sheet and Go's CrossOriginProtection take
    it: Sec-Fetch-Site when it is sent (every current browser sends it to https sites and
    to localhost), else Origin. Neither can be set by a page's script. A request with neither header is not from a browser, so
    it is no forgery; it is judged by the other checks (staff posts still need Flask-WTF's
    token, embed posts their form token).
    """
    if request.method in SAFE_METHODS or request.endpoint in CROSS_SITE_ALLOWED:
        return
    if not sent_from_this_site(request.headers, current_app.config):
        raise CrossSiteRequest()


def sent_from_this_site(headers, config):
    """Whether a request's Fetch Metadata (or, without it, Origin) says that one of our own
    pages sent it, or that no page did (an address typed in, a bookmark, a script)."""
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        allowed = {"same-origin", "none"}
        if config["CSRF_ALLOW_SAME_SITE"]:  # pages on our other subdomains may post
            allowed.add("same-site")
        return fetch_site in allowed
    origin = headers.get("Origin")
    # "Origin: null" (a sandboxed frame, a data: page) is nobody's origin: refused.
    return origin is None or origin == site_origin(config["BASE_URL"])


def site_origin(base_url):
    """scheme://host[:port] of BASE_URL, as a browser writes it in an Origin header."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def register(app):
    """The cross-site check before every request, and the security headers on every answer."""
    app.before_request(refuse_cross_site_requests)
    defaults = [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if app.config["SESSION_COOKIE_SECURE"]:
        defaults.append(("Strict-Transport-Security", "max-age=31536000"))
    app.wsgi_app = SecurityHeaders(app.wsgi_app, defaults)


class SecurityHeaders:
    """WSGI middleware that adds the security headers a response does not set itself.

    A middleware sees the final response, session cookie included, which an after_request
    hook runs too early to see.
    """

    def __init__(self, wsgi_app, defaults):
        self.wsgi_app = wsgi_app
        self.defaults = defaults

    def __call__(self, environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            headers = Headers(headers)
            add_security_headers(headers, self.defaults)
            return start_response(status, headers.to_wsgi_list(), exc_info)

        return self.wsgi_app(environ, start_with_headers)


def add_security_headers(headers, defaults):
    """The defaults a response lacks, no framing, and no shared caching of what is private.

    Pages that may be framed (a partner's embed) set their own Content-Security-Policy,
    whose frame-ancestors name who may frame them, and get no X-Frame-Options. A response
    that says nothing about caching is private; so is a public one that sets a cookie, which
    a shared cache would otherwise hand to everyone.
    """
    if "Content-Security-Policy" not in headers:
        headers["X-Frame-Options"] = "DENY"
    for name, value in defaults:
        headers.setdefault(name, value)
    cache = headers.get("Cache-Control")
    if cache is None or ("Set-Cookie" in headers and is_public(cache)):
        headers["Cache-Control"] = "private, no-cache"


def is_public(cache_control):
    return parse_cache_control_header(cache_control, cls=ResponseCacheControl).public
