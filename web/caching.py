"""Pages that are the same for every visitor, kept for a few seconds in each process.

A case page carries one value of one visitor: the CSRF token (which also tells when
the form was shown). It is rendered once with placeholders no text can contain, kept for
PAGE_CACHE_SECONDS, and each visitor gets a copy with their own values put in. So a
page view costs the same with ten letters stored or ten million, and a burst of
visitors after a press story does not render the same page thousands of times.
"""

import secrets
import time

from flask import current_app
from flask_wtf.csrf import generate_csrf as csrf_token

CSRF_SLOT = "csrf-slot-" + secrets.token_hex(16)  # where the token goes (form start time too)
MAX_PAGES = 500


def cached(key, render, seconds=None):
    """The value for `key` (a page, or a small row), made by `render()` at most once per
    `seconds` (PAGE_CACHE_SECONDS unless given; 0 keeps nothing)."""
    pages = current_app.extensions.setdefault("page_cache", {})
    now = time.monotonic()
    hit = pages.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    html = render()
    if seconds is None:
        seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if seconds > 0:
        if len(pages) >= MAX_PAGES:
            pages.clear()
        pages[key] = (now + seconds, html)
    return html


def visitor_locale():
    """The visitor's language, for a cache key: Babel's locale selector itself. A page
    served from the cache needs nothing else of Babel, and get_locale()'s per-request
    bookkeeping cost five times as much as the selector."""
    return str(current_app.extensions["babel"].locale_selector())


def forget(key):
    """Drop `key` from this process's cache, after a change its value must show at once."""
    current_app.extensions.get("page_cache", {}).pop(key, None)


def for_this_visitor(parts):
    """A cached page, kept as its bytes split where the token goes, with this visitor's
    CSRF token put in."""
    return csrf_token().encode().join(parts)


def split_at_slots(page):
    return page.encode().split(CSRF_SLOT.encode())
