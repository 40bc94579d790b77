"""The visitor's language, for Flask-Babel."""

from functools import lru_cache

from babel import Locale
from flask import current_app, g, request


def select_locale():
    """The visitor's language among those the site has, as a Locale parsed once."""
    languages = current_app.config["LANGUAGES"]
    if len(languages) == 1:
        return parsed_locale(languages[0])
    if g.get("language") in languages:  # a page in a chosen language: a partner's embed
        return parsed_locale(g.language)
    return parsed_locale(request.accept_languages.best_match(languages) or languages[0])


@lru_cache(maxsize=64)
def parsed_locale(name):
    """Babel parses the selector's answer on every request unless it is a Locale already."""
    return Locale.parse(name)
