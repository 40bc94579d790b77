"""Unsubscribe links (mail/unsubscribe.py): a page with a button, the button's post, and
the one-click post that mail programs send for their own "Unsubscribe" button (RFC 8058).

The link opens a page and changes nothing: mail scanners and link previews fetch every
link of an email, and must not unsubscribe anyone. Only a POST does. Pages carrying the
link's token are no-store, and send no Referer on.
"""

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for

from blueprints.shared import no_referrer
from extensions import begin_write, csrf, db, limiter
from mail import suppression
from mail.unsubscribe import read_token
from web import caching, locale

bp = Blueprint("unsubscribe", __name__)
# Supporters never sign in: no session-bound token. The cross-site check (web/security.py)
# lets the confirm endpoint through, and explains why.
csrf.exempt(bp)
bp.url_value_preprocessor(locale.take_language_from_url)

# Lightly: a link's owner clicks once or twice; a mail provider posts each one-click once,
# but for all its users from the same few servers, so the limit per network address counts
# only links that do not work (someone trying tokens), and each link has its own.
PER_LINK = "10 per minute"
REFUSED_PER_ADDRESS = "30 per minute"


def link_key():
    return "unsubscribe:" + str((request.view_args or {}).get("token", ""))[:200]


def refused(response):
    return response.status_code >= 400


def private(response, status=200):
    """A page holding the link's token: kept by no cache, its address sent to no one."""
    response = make_response(response, status)
    response.headers["Cache-Control"] = "no-store"
    return no_referrer(response)


def invalid_link():
    """A link we did not sign (cut short, changed, made up): 400, with what to do."""
    return private(render_template("public/unsubscribe.html", token=None), 400)


@locale.route(bp, "/unsubscribe/<token>", endpoint="page")
@limiter.limit(PER_LINK, key_func=link_key)
def page(token):
    """The button. A GET or HEAD changes nothing (mail scanners prefetch links)."""
    if read_token(token) is None:
        return invalid_link()
    return private(render_template("public/unsubscribe.html", token=token))


@locale.route(bp, "/unsubscribe/<token>", endpoint="confirm", methods=["POST"])
@limiter.limit(PER_LINK, key_func=link_key)
@limiter.limit(REFUSED_PER_ADDRESS, deduct_when=refused)
def confirm(token):
    """No more case news to the link's address; letters are still welcome. The page's
    button lands on a page that says so (POST/Redirect/GET); a one-click post (the body
    `List-Unsubscribe=One-Click`, sent by the mail provider's server with no browser
    headers) gets a short 200. Idempotent: a second post changes and counts nothing."""
    key = read_token(token)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    if key is None:
        if one_click:
            abort(400)
        return invalid_link()
    begin_write()
    suppression.unsubscribe(key, "one-click" if one_click else "link")
    db.session.commit()
    if one_click:
        return private(make_response("Unsubscribed.\n", {"Content-Type": "text/plain"}))
    return no_referrer(redirect(url_for(".done"), 303))


@locale.route(bp, "/unsubscribed")
def done():
    """Where the button lands: the same for everyone (the token stayed behind)."""
    return caching.public_page(lambda: render_template("public/unsubscribed.html"))
