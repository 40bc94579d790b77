"""'Your letters': a supporter sees, downloads, changes and erases what the site holds
about their address (supporters/), from a link emailed to that address.

No page here says whether an address wrote. The link's page (GET) changes nothing, so a
mail scanner that opens it does not use it up; its button (POST) opens the letters once.
The letters page's forms carry a short-lived signed access value (supporters/links.py),
never a cookie or a URL; their answers are the page itself, for this visitor only.
"""

import json

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from blueprints.shared import no_referrer, no_store
from extensions import csrf, limiter
from letters.forms import INVALID_EMAIL, normalized_email
from supporters import data, links
from web import caching, locale

bp = Blueprint("your_letters", __name__)
# Like the public pages: no session, no token; a post from another site is refused by
# what the browser says of its origin (web/security.py).
csrf.exempt(bp)
bp.url_value_preprocessor(locale.take_language_from_url)


@locale.route(bp, "/your-letters")
def ask():
    """The form: an address, to which we send a link (if it wrote)."""
    return caching.public_page(lambda: render_template("public/your_letters_ask.html"))


@locale.route(bp, "/your-letters", methods=["POST"])
@limiter.limit("10 per hour")
def ask_post():
    """The same answer for every address: a link goes only to one the site knows."""
    typed = request.form.get("email", "").strip()
    address = normalized_email(typed) if typed else None
    if address is None:
        page = render_template("public/your_letters_ask.html", email=typed, error=INVALID_EMAIL)
        return no_store(make_response(page, 422))
    links.request_link(address, g.language)
    return redirect(url_for(".sent"), 303)


@locale.route(bp, "/your-letters/sent")
def sent():
    return caching.public_page(lambda: render_template("public/your_letters_sent.html"))


@locale.route(bp, "/your-letters/<token>")
def link(token):
    """The button that opens the letters; GET and HEAD change nothing."""
    _link, problem = links.read_link(token)
    page = render_template("public/your_letters_link.html", token=token, problem=problem)
    return no_referrer(no_store(make_response(page, 400 if problem else 200)))


@locale.route(bp, "/your-letters/<token>", methods=["POST"])
@limiter.limit("30 per hour")
def open_link(token):
    """Use the link (once) and show the letters."""
    link = links.open_link(token)
    if link is None:
        return link_used()
    return letters_page(link)


def link_used(status=400):
    """The link was used, or has expired, or the page's access has ended: ask again."""
    page = render_template("public/your_letters_link.html", problem="used")
    return no_referrer(no_store(make_response(page, status)))


def letters_page(link, done=None, status=200):
    """The address's letters, consents and choices, with the access value in its forms."""
    overview = data.overview(link.email_key, g.language)
    page = render_template(
        "public/your_letters.html",
        access=links.access_value(link),
        until=links.access_until(link),
        done=done,
        **overview,
    )
    return no_referrer(no_store(make_response(page, status)))


def with_access(action):
    """Run `action(link)` when the posted access value is valid, else say it has ended."""
    link = links.read_access(request.form.get("access"))
    if link is None:
        return link_used(403)
    return action(link)


@locale.route(bp, "/your-letters/view", methods=["POST"])
def view():
    """The letters page again (back from the erase question)."""
    return with_access(letters_page)


@locale.route(bp, "/your-letters/export", methods=["POST"])
def export():
    """Everything about the address as a JSON file."""

    def download(link):
        body = json.dumps(data.export(link.email_key), ensure_ascii=False, indent=2)
        response = current_app.response_class(body, mimetype="application/json")
        response.headers["Content-Disposition"] = 'attachment; filename="your-letters.json"'
        return no_store(response)

    return with_access(download)


@locale.route(bp, "/your-letters/consent", methods=["POST"])
def consent():
    """Give or withdraw consent to hear from the campaign."""

    def change(link):
        if request.form.get("consent") == "give":
            data.give_consent(link.email_key, g.language)
            return letters_page(link, done="consent_given")
        data.withdraw_consent(link.email_key)
        return letters_page(link, done="consent_withdrawn")

    return with_access(change)


@locale.route(bp, "/your-letters/news", methods=["POST"])
def news():
    """Case news by email again, or no more."""

    def change(link):
        wanted = request.form.get("news") == "on"
        data.set_news(link.email_key, wanted)
        return letters_page(link, done="news_on" if wanted else "news_off")

    return with_access(change)


@locale.route(bp, "/your-letters/erase", methods=["POST"])
def erase():
    """First a question (a second button confirms), then the erasure and what it did."""

    def ask_or_erase(link):
        if request.form.get("confirm") != "yes":
            page = render_template(
                "public/your_letters_erase.html",
                access=request.form["access"],
                fates=data.fates(link.email_key, g.language),
            )
            return no_referrer(no_store(make_response(page)))
        fates, _counts = data.erase(link.email_key, g.language)
        page = render_template("public/your_letters_erased.html", fates=fates)
        return no_referrer(no_store(make_response(page)))

    return with_access(ask_or_erase)
