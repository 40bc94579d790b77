"""Error pages: a readable message in the site's layout, never a stack trace."""

from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from web.htmx import fragment_or_page
from web.request_checks import UnreadableRequest


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
        500: _("Something went wrong on our side. Nothing you sent was lost: please try again."),
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
    return fragment_or_page(
        "errors/_message.html", "errors/error.html", code, title=title, message=message
    )


def register(app):
    """Unhandled exceptions arrive here too, as InternalServerError."""
    app.register_error_handler(HTTPException, error_page)
