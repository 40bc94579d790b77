"""Unsubscribe links: one per address, in every email but a confirmation (List-Unsubscribe,
RFC 2369 and RFC 8058) and as a link in case news.

The link carries the address's keyed hash (mail/suppression.address_key), signed, never the
address: a link that is forwarded, logged or prefetched tells nobody who it belongs to.
It never expires, because an unsubscribe link in an email read years later must still
work; the signature alone keeps anyone from making one for an address of their choosing.
Keys in SECRET_KEY_FALLBACKS still read links signed before a key change.
"""

from flask import current_app, url_for
from itsdangerous import BadData, URLSafeSerializer

from mail.suppression import KEY_LENGTH, address_key

SALT = "unsubscribe"
# Emails that carry no List-Unsubscribe: a confirmation link (the address has not said yet
# that it wants anything from us, and no news follows unless it confirms), staff emails, and
# an appeals batch to its official (and staff's test of it): no mailing, nothing to stop.
NO_LIST_HEADERS = ("confirm", "resend", "delivery", "delivery_test")
ONE_CLICK = "List-Unsubscribe=One-Click"  # the body of an RFC 8058 one-click post


def serializer():
    """Signed with SECRET_KEY; the fallbacks (oldest first, as itsdangerous takes them) read."""
    config = current_app.config
    keys = [*reversed(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeSerializer(keys, salt=SALT)


def token(address):
    """The signed key of an address, as it stands in its unsubscribe link."""
    return serializer().dumps(address_key(address))


def unsubscribe_url(address):
    """The address's unsubscribe page, absolute. Call it where emails are rendered (the
    outbox's request context on BASE_URL, in the email's language): the page opens in the
    language the supporter wrote in."""
    return url_for("unsubscribe.page", token=token(address), _external=True)


def read_token(value):
    """The address key a link carries, or None for a link we did not sign (forged, cut
    short, changed)."""
    try:
        key = serializer().loads(value)
    except BadData:
        return None
    return key if isinstance(key, str) and len(key) == KEY_LENGTH else None


def list_headers(email):
    """The List-Unsubscribe headers of a queued email ({} for confirmations and staff
    emails). One-click: a mail program's "Unsubscribe" button posts ONE_CLICK to the link
    and the address is off the news list, with no page to go through."""
    if email.template in NO_LIST_HEADERS or email.template.startswith("staff_"):
        return {}
    return {
        "List-Unsubscribe": OneLine("List-Unsubscribe", f"<{unsubscribe_url(email.recipient)}>"),
        "List-Unsubscribe-Post": ONE_CLICK,
    }


class OneLine(str):
    """A header the email package writes as it is, on one line. A link is longer than the
    78 characters a line should have and has no space to fold at, and the package's SMTP
    policy (Flask-Mail's) would then write it as RFC 2047 encoded words
    ("=?utf-8?q?=3Chttps...?="), which no mail program reads as a link: one-click would
    fail. A value with a `name` is a header object to the email package (email.policy:
    "a value with a name attribute"), which it asks to fold itself; lines may run to 998
    characters (RFC 5322)."""

    def __new__(cls, name, value):
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy):
        return f"{self.name}: {self}{policy.linesep}"
