"""The visitor's language, for Flask-Babel."""

from flask import current_app, g, request


def select_locale():
    """The visitor's language among those the site has (LANGUAGES): the one a page was
    asked in (a partner's embed sets g.language from its snippet), else the browser's
    preference, else the first."""
    languages = current_app.config["LANGUAGES"]
    if g.get("language") in languages:
        return g.language
    return request.accept_languages.best_match(languages) or languages[0]
