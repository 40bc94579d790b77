"""The app's cache (Flask-Caching) and the caching headers of public pages.

Public pages (home, case pages, their counters, privacy, thank-you and confirmed pages)
and /api/stats are the same for every visitor of a language: they carry no per-visitor
token and set no cookie. So each is rendered at most once per PAGE_CACHE_SECONDS per
key, kept in the app's cache (in each process by default, in Redis when CACHE_REDIS_URL
is set), and answered `Cache-Control: public` so that a cache in front (deploy/nginx.conf,
a CDN) may keep it too. A burst of visitors after a press story, or thousands of open
pages polling a counter, then costs the same with ten letters stored or ten million.

A staff change shows within PAGE_CACHE_SECONDS. The max-age a page is sent with counts
down from when the app rendered it, so the app's copy and any copy kept from it are
together never older than that; and a staff change empties the app's cache (in every
process when it is Redis, else in the process that made the change).
"""

import logging
import math
import time
from time import monotonic

from flask import current_app, make_response, request
from flask_babel import get_locale
from redis.exceptions import RedisError

from extensions import cache
from web.htmx import is_htmx

log = logging.getLogger(__name__)


def cached(key, make, seconds=None):
    """make()'s value for `key` (a string, or a tuple of parts), made at most once per
    `seconds` (PAGE_CACHE_SECONDS unless given; 0 keeps nothing) and kept in the app's
    cache. For small values that many requests need: a case's status, the abuse word
    lists, the staff dashboard's figures. A value of None is not kept."""
    if seconds is None:
        seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if seconds <= 0:
        return make()
    key = key_text(key)
    value = read(key)
    if value is None:
        value = make()
        keep(key, value, seconds)
    return value


def forget(key):
    """Drop `key` from the app's cache, after a change its value must show at once."""
    ask_cache(cache.delete, key_text(key))


def forget_everything():
    """Empty the app's cache after a staff change to what public pages show (a case
    edited, published, closed or moved). Only this app's keys (CACHE_KEY_PREFIX)."""
    ask_cache(cache.clear)


def public_page(render, *variant):
    """A public page's response, from the app's cache when it holds one.

    `render()` makes the page (its text or a response); `variant` names what else of
    the request it depends on (the case page's letter language, checked against the
    case's languages). The key is the path, that variant, whether htmx asked for a
    fragment, and the page's language (in the path too). The query string
    itself is not in the key, so made-up query strings cannot flood the cache.
    """
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    key = page_key(variant)
    kept = read(key) if seconds > 0 else None
    if kept is not None:
        response, rendered_at = kept
        fresh_for = seconds - math.ceil(time.time() - rendered_at)
        if fresh_for > 0:  # in its last second it is rendered again, for a whole max-age
            return public_cache(response, fresh_for)
    response = make_response(render())
    if response.status_code != 200:
        return response  # never kept, nor offered to other caches
    if seconds > 0:
        keep(key, (response, time.time()), seconds)
    return public_cache(response, seconds)


def page_key(variant):
    parts = ["page", request.path, *variant, "fragment" if is_htmx() else "whole"]
    return ":".join([*map(str, parts), str(get_locale())])


def public_cache(response, seconds=None):
    """Let browsers and shared caches keep `response`, which carries nothing of one
    visitor, for `seconds` (PAGE_CACHE_SECONDS unless given); serve it stale while they
    fetch a fresh copy (PAGE_STALE_SECONDS), and while the app fails
    (PAGE_STALE_IF_ERROR_SECONDS). 0 seconds: they must ask again each time."""
    config = current_app.config
    if seconds is None:
        seconds = config["PAGE_CACHE_SECONDS"]
    control = response.cache_control
    control.public = True
    if seconds > 0:
        control.max_age = seconds
        control.stale_while_revalidate = config["PAGE_STALE_SECONDS"]
        control.stale_if_error = config["PAGE_STALE_IF_ERROR_SECONDS"]
    else:
        control.no_cache = True
    return response


def key_text(key):
    return key if isinstance(key, str) else ":".join(map(str, key))


# The app's cache fails open: when Redis is down or frozen, pages are rendered afresh (the
# database does the work) rather than refused. Each call waits at most REDIS_TIMEOUT_MS
# (config.py); after a failure this process leaves Redis alone for REDIS_CACHE_PAUSE_SECONDS
# (a circuit breaker), so an outage costs one short wait per pause, not one per request,
# and it warns at most once a minute rather than once per request.
WARN_EVERY_SECONDS = 60


class CacheOutage:
    """When this app's cache (in each process) last failed, and when that was logged."""

    def __init__(self):
        self.paused_until = -math.inf
        self.warned_at = -math.inf


def ask_cache(call, *args, **kwargs):
    """call(*args, **kwargs), a method of the app's cache; None when the cache fails, or
    failed less than REDIS_CACHE_PAUSE_SECONDS ago."""
    outage = current_app.extensions.setdefault("cache_outage", CacheOutage())
    now = monotonic()
    if now < outage.paused_until:
        return None
    try:
        return call(*args, **kwargs)
    except RedisError as error:
        pause = current_app.config["REDIS_CACHE_PAUSE_SECONDS"]
        outage.paused_until = now + pause
        if now - outage.warned_at >= WARN_EVERY_SECONDS:
            outage.warned_at = now
            log.warning(
                "the app's cache (Redis) failed: %s. Pages are rendered without it; "
                "Redis is tried again after %d s",
                error,
                pause,
            )
        return None


def read(key):
    return ask_cache(cache.get, key)


def keep(key, value, seconds):
    ask_cache(cache.set, key, value, timeout=seconds)
