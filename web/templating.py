"""Filters and globals the templates share."""

from functools import lru_cache

from babel import Locale
from flask import current_app
from flask_babel import format_decimal, format_percent, get_locale

from letters.forms import country_names, country_options
from web.locale import this_page_in_every_language


def country_name(code):
    """The country's name in the visitor's language."""
    return country_names(str(get_locale())).get(code, code)


@lru_cache(maxsize=64)
def language_name(code, in_language=None):
    """A language's name: for itself ("Español", for language links), or in another
    language ("Spanish" on the staff pages)."""
    try:
        return Locale.parse(code).get_display_name(in_language or code).capitalize()
    except (ValueError, TypeError):
        return code


def text_direction(language=None):
    """ "ltr" or "rtl": of `language`, else of the page's language."""
    return Locale.parse(language or str(get_locale())).text_direction


def percent_of(count, goal):
    return min(100, int(count * 100 / goal)) if goal else 0


def percent(count, goal):
    """How far `count` is towards `goal`, written as the locale writes a percentage ("45%",
    "45 %" in French, "%45" in Turkish)."""
    return format_percent(percent_of(count, goal) / 100)


def register(app):
    app.jinja_env.filters["country_name"] = country_name
    app.jinja_env.filters["language_name"] = language_name
    app.jinja_env.filters["number"] = format_decimal
    app.jinja_env.filters["text_direction"] = text_direction
    app.jinja_env.globals.update(
        percent=percent,
        text_direction=text_direction,
        get_locale=get_locale,
        country_options=country_options,
        this_page_in_every_language=this_page_in_every_language,
    )

    @app.context_processor
    def settings():
        return {
            "counter_poll": current_app.config["COUNTER_POLL_SECONDS"],
            "base_url": current_app.config["BASE_URL"],
        }
