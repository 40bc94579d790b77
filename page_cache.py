"""Pages that are the same for every visitor, kept for a few seconds in each process.

A case page carries two values of one visitor: the CSRF token and the time the form
was shown. It is rendered once with placeholders no text can contain, kept for
PAGE_CACHE_SECONDS, and each visitor gets a copy with their own values put in. So a
page view costs the same with ten letters stored or ten million, and a burst of
visitors after a press story does not render the same page thousands of times.
"""

import secrets
import time
from functools import lru_cache

from flask import current_app, g, session
from itsdangerous import URLSafeTimedSerializer

from forms import form_started_token

CSRF_SLOT = "csrf-slot-" + secrets.token_hex(16)
STARTED_SLOT = "started-slot-" + secrets.token_hex(16)
MAX_PAGES = 500


def cached(key, render):
    """The value for `key` (a page, or a small row), made by `render()` at most once per
    PAGE_CACHE_SECONDS."""
    pages = current_app.extensions.setdefault("page_cache", {})
    now = time.monotonic()
    hit = pages.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    html = render()
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if seconds > 0:
        if len(pages) >= MAX_PAGES:
            pages.clear()
        pages[key] = (now + seconds, html)
    return html


def for_this_visitor(html):
    """Put this visitor's CSRF token and form start time into a cached page."""
    return html.replace(CSRF_SLOT, csrf_token()).replace(STARTED_SLOT, form_started_token())


def csrf_token():
    """Flask-WTF's generate_csrf(), with its serializer built once instead of per call.

    Same session key, salt and token format, so CSRFProtect validates the token as its own
    (the tests submit with it). Building the serializer was half the cost of a cached
    page view; every visitor to a case page needs a token.
    """
    if "csrf_token" not in g:
        if "csrf_token" not in session:
            session["csrf_token"] = secrets.token_hex(20)  # as random as Flask-WTF's
        g.csrf_token = csrf_serializer(current_app.secret_key).dumps(session["csrf_token"])
    return g.csrf_token


@lru_cache(maxsize=4)
def csrf_serializer(secret_key):
    return URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token")
