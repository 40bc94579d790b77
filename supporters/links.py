"""The "Your letters" link: a supporter asks for it by address, and opens their data with it.

Asking answers the same whatever the address (it sends the link only to an address with
letters or a consent to hear from the campaign, within its daily cap of unrequested
emails, mail/cap.py). The emailed token is a DataLink's id, signed (its own salt) and
expiring after DATA_LINK_HOURS: nothing personal is in the URL. Opening the link is a
POST (a mail scanner's GET changes nothing) and works once; it starts an access of
DATA_ACCESS_MINUTES, carried by a signed value in the page's forms (never a cookie, never
a URL, as letters/follow_up.py does for the one flow) and bound to that DataLink, so an
erasure (which deletes it) ends the access too.
"""

import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer

from extensions import begin_write, db
from mail import cap
from models import ContactConsent, DataLink, Letter, Outbox, utcnow

LINK_SALT = "your-letters-link"
ACCESS_SALT = "your-letters-access"
SUBJECT = _l("Your link to see your letters")
# Every request for a link is answered after this long at least: making a link and its
# email takes a few milliseconds more than finding nothing, which would tell an asker
# (who may ask 10 times an hour) whether an address wrote.
EVEN_ANSWER_SECONDS = 0.1


def serializer(salt):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def link_lifetime():
    return timedelta(hours=current_app.config["DATA_LINK_HOURS"])


def access_lifetime():
    return timedelta(minutes=current_app.config["DATA_ACCESS_MINUTES"])


def request_link(address, language):
    """Someone asked for a link for `address` on a page in `language`. A known address
    (letters, or a consent) gets one, within its daily cap; the asker is never told: both
    ways read the same rows, and the answer waits until EVEN_ANSWER_SECONDS have passed."""
    started = time.monotonic()
    store_link(address.strip().lower(), language)
    time.sleep(max(0.0, EVEN_ANSWER_SECONDS - (time.monotonic() - started)))


def store_link(key, language):
    """A new link and its email for a known address, in one transaction, else nothing."""
    begin_write()
    newest = db.session.scalar(
        sa.select(Letter).where(Letter.email_key == key).order_by(Letter.id.desc()).limit(1)
    )
    consent = db.session.get(ContactConsent, key)
    state = cap.outbox_state(key)  # takes the address's lock on PostgreSQL, known or not
    if (newest is not None or consent is not None) and state != cap.CAPPED:
        now = utcnow()
        link = DataLink(email_key=key, created_at=now, expires_at=now + link_lifetime())
        db.session.add(link)
        db.session.flush()
        db.session.add(
            Outbox(
                recipient=newest.email if newest is not None else consent.email,
                template="data_link",
                data_link_id=link.id,
                letter_id=newest.id if newest is not None else None,
                language=language,
                state="pending",
            )
        )
    db.session.commit()


def link_url(link):
    """The emailed address of a link (built under BASE_URL, in the email's language)."""
    token = serializer(LINK_SALT).dumps(link.id)
    return url_for("your_letters.link", token=token, _external=True)


def read_link(token):
    """(DataLink, problem): problem is None while the link may be opened, else "used"
    (or expired: the page says the same) or "invalid" (forged, cut short)."""
    max_age = int(link_lifetime().total_seconds())
    try:
        link_id = serializer(LINK_SALT).loads(token, max_age=max_age)
    except BadData:  # SignatureExpired is one: a link past its time reads as used
        return None, "used" if expired_link(token) else "invalid"
    link = db.session.get(DataLink, link_id) if isinstance(link_id, int) else None
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None, "used"
    return link, None


def expired_link(token):
    """Whether the token was ours, only too old."""
    try:
        serializer(LINK_SALT).loads(token)
    except BadData:
        return False
    return True


def open_link(token):
    """Use a link, once: the DataLink, its used_at set now (the access starts), or None
    when it was used (by another request too), has expired or is not ours."""
    link, problem = read_link(token)
    if problem is not None:
        return None
    begin_write()
    link = db.session.get(DataLink, link.id, with_for_update=True, populate_existing=True)
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        db.session.rollback()
        return None
    link.used_at = utcnow()
    db.session.commit()
    return link


def access_value(link):
    """The signed value the letters page puts in its forms: this link, opened at used_at."""
    return serializer(ACCESS_SALT).dumps([link.id, link.used_at.isoformat()])


def read_access(value):
    """The DataLink whose access `value` carries, while it lasts; else None (forged,
    expired, or the link is gone: erased)."""
    max_age = int(access_lifetime().total_seconds())
    try:
        link_id, used_at = serializer(ACCESS_SALT).loads(value or "", max_age=max_age)
    except (BadData, ValueError, TypeError):
        return None
    link = db.session.get(DataLink, link_id) if isinstance(link_id, int) else None
    if link is None or link.used_at is None or link.used_at.isoformat() != used_at:
        return None
    return link if utcnow() < link.used_at + access_lifetime() else None


def access_until(link):
    """When the page's access ends."""
    return link.used_at + access_lifetime()


def render_email(email, letter):
    """(subject, text, html) of a "Your letters" email: the link, when it stops working,
    and what to do if the reader did not ask. Called in the email's locale (mail/outbox)."""
    link = db.session.get(DataLink, email.data_link_id)
    context = {
        "url": link_url(link),
        "until": format_datetime(link.expires_at, "long"),
    }
    return (
        str(SUBJECT),
        render_template("email/data_link.txt", **context),
        render_template("email/data_link.html", **context),
    )
