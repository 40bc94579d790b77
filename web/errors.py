"""Error pages: a readable message in the site's layout, never a stack trace."""

import logging

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc
from werkzeug.exceptions import HTTPException

from web.htmx import fragment_or_page
from web.request_checks import UnreadableRequest

log = logging.getLogger(__name__)

# What a database that does not answer raises: a refused or broken connection, or no
# free connection in the pool within its timeout. Answered 503 and "try again", not 500.
DATABASE_DOWN = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)

# How long a client (or a crawler) should wait before asking again after a 503.
RETRY_AFTER_SECONDS = 30

DATABASE_DOWN_TITLE = _l("We cannot reach our letters just now")
DATABASE_DOWN_MESSAGE = _l(
    "The site cannot reach its letters just now, so this page cannot be shown. "
    "Please try again in a minute."
)


def titles():
    return {
        400: _("That did not work"),
        404: _("Page not found"),
        405: _("That did not work"),
        413: _("Too much text"),
        429: _("Please slow down"),
        500: _("Something went wrong"),
        503: _("We are very busy"),
    }


def messages():
    return {
        400: _("Something in that request was not right. Please go back and try again."),
        404: _("We could not find that page. It may have moved, or the case may be closed."),
        405: _("That is not something this page can do."),
        413: _("That was too much text to send at once. Please shorten your message."),
        429: _("Too many requests in a short time. Please wait a few minutes and try again."),
        # Never "nothing was lost": a 500 may come before anything sent was stored.
        500: _("Something went wrong on our side. Please go back and try again in a moment."),
        503: _("We are very busy right now. Please try again in a moment."),
    }


def error_page(error):
    """The error's page; htmx requests get just the message (4xx is swapped in htmx 4)."""
    code = error.code or 500
    message = messages().get(code, error.description)
    if isinstance(error, CSRFError):
        message = _(
            "This form had expired, so nothing was sent. Please reload the page and try again."
        )
    elif isinstance(error, UnreadableRequest):  # says what was wrong, not just "not right"
        message = error.description
    title = titles().get(code, _("That did not work"))
    g.error_page = True  # its language links lead to the home pages (web/locale.py)
    response = fragment_or_page(
        "errors/_message.html", "errors/error.html", code, title=title, message=message
    )
    return unavailable(response) if code >= 500 else response


def unavailable(response):
    """A 5xx answer: no cache keeps it (a cache in front keeps serving its last good copy,
    stale-if-error), and a 503 says when to try again."""
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def database_down(error):
    """The database does not answer: say so truly, 503, and try again shortly."""
    log_database_down(error)
    response = fragment_or_page(
        "errors/_message.html",
        "errors/error.html",
        503,
        title=DATABASE_DOWN_TITLE,
        message=DATABASE_DOWN_MESSAGE,
    )
    return unavailable(response)


def log_database_down(error):
    """Log the driver's own words (their first line: "connection refused"), never the
    statement or its parameters, which can hold what a supporter typed."""
    cause = getattr(error, "orig", None) or error
    log.error("the database did not answer: %s", str(cause).partition("\n")[0])


def register(app):
    """Unhandled exceptions arrive here too, as InternalServerError."""
    app.register_error_handler(HTTPException, error_page)
    for error in DATABASE_DOWN:
        app.register_error_handler(error, database_down)
