"""Emailed links for staff: an invitation (set a first password) and a password reset.

A link works once, until it expires (STAFF_INVITE_HOURS, STAFF_RESET_MINUTES), while its
account is active and its password unchanged since the link was made. Its token is signed
with itsdangerous (one salt per purpose) and names a StaffLink row, which says whether it
was used; a newer link of the same kind replaces the older one. At most one such email
goes to an account every STAFF_LINK_EMAIL_MINUTES, whoever asks and however often.
The emails go through the outbox, so a request costs the same whether or not it sends one.
"""

import hashlib
import hmac
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from extensions import begin_write, db
from models import Outbox, StaffLink, StaffUser, utcnow
from staff import audit

MIN_PASSWORD = 12  # characters, for every way a password is set (create-admin too)
ENDPOINTS = {"invite": "auth.invitation", "reset": "auth.reset"}


def lifetime(purpose):
    config = current_app.config
    if purpose == "invite":
        return timedelta(hours=config["STAFF_INVITE_HOURS"])
    return timedelta(minutes=config["STAFF_RESET_MINUTES"])


def serializer(purpose):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"staff-{purpose}")


def password_stamp(user):
    """A short keyed digest of the account's password hash: a new password, however it
    was set, changes it, and so ends every link made before."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:16]


def link_url(link):
    """The full address of a link, for its email (built under BASE_URL by the outbox)."""
    user = db.session.get(StaffUser, link.staff_id)
    token = serializer(link.purpose).dumps([link.id, password_stamp(user)])
    return url_for(ENDPOINTS[link.purpose], token=token, _external=True)


def find_link(purpose, token):
    """The StaffLink a token names, if it may still be used; else None."""
    try:
        link_id, stamp = serializer(purpose).loads(
            token, max_age=int(lifetime(purpose).total_seconds())
        )
    except (BadData, ValueError, TypeError):
        return None
    link = db.session.get(StaffLink, link_id) if isinstance(link_id, int) else None
    if link is None or link.purpose != purpose or link.used_at is not None:
        return None
    user = db.session.get(StaffUser, link.staff_id)
    if link.expires_at <= utcnow() or not user.active or stamp != password_stamp(user):
        return None
    return link


def recently_emailed(user, purpose):
    """Whether this account was sent a link of this kind within STAFF_LINK_EMAIL_MINUTES."""
    since = utcnow() - timedelta(minutes=current_app.config["STAFF_LINK_EMAIL_MINUTES"])
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(StaffLink)
        .where(
            StaffLink.staff_id == user.id,
            StaffLink.purpose == purpose,
            StaffLink.created_at > since,
        )
    )


def retire_links(user, purpose=None, now=None):
    """End the account's unused links (of one kind, or all): they expire now."""
    now = now or utcnow()
    query = sa.update(StaffLink).where(
        StaffLink.staff_id == user.id, StaffLink.used_at.is_(None), StaffLink.expires_at > now
    )
    if purpose:
        query = query.where(StaffLink.purpose == purpose)
    db.session.execute(query.values(expires_at=now))


def send_link(user, purpose, by=None):
    """A new link of this kind for `user`, and its email, in the caller's write
    transaction; the account's earlier link of the kind stops working."""
    now = utcnow()
    retire_links(user, purpose, now)
    link = StaffLink(
        staff_id=user.id,
        purpose=purpose,
        created_at=now,
        created_by_id=by.id if by is not None else None,
        expires_at=now + lifetime(purpose),
    )
    db.session.add(link)
    db.session.flush()
    db.session.add(
        Outbox(
            recipient=user.email,
            template=f"staff_{purpose}",
            staff_id=user.id,
            staff_link_id=link.id,
        )
    )
    return link


def lock_account(email):
    """The active account with this address, its row locked until the commit (so two
    requests at once cannot both send a link), or None."""
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email).with_for_update())
    return user if user is not None and user.active else None


def request_reset(email):
    """Someone asked for a reset link for `email`. An active account gets one, unless it
    was sent one within STAFF_LINK_EMAIL_MINUTES; the asker is never told which. Every
    request is audited, so each one writes and commits alike: the answer takes about as
    long for an address without an account."""
    begin_write()
    user = lock_account((email or "").strip().lower())
    link = None
    if user is not None and not recently_emailed(user, "reset"):
        link = send_link(user, "reset")
    audit.record("staff.reset_request", user, actor=None, link=link.id if link else None)
    db.session.commit()


def set_password(link, password):
    """Use a link: the account gets this password, the link and every other unused link
    of the account stop working, and its sessions end (set_password). Returns the account,
    or None when the link was used meanwhile."""
    begin_write()
    link = db.session.get(StaffLink, link.id, with_for_update=True, populate_existing=True)
    if link.used_at is not None or link.expires_at <= utcnow():
        db.session.rollback()
        return None
    user = db.session.get(StaffUser, link.staff_id)
    now = utcnow()
    link.used_at = now
    retire_links(user, now=now)
    user.set_password(password)
    audit.record("staff.password_set", user, actor=user, link=link.id, purpose=link.purpose)
    db.session.commit()
    return user


def account_email(link):
    """The address of the account a link is for (shown on its page, for password managers)."""
    return db.session.get(StaffUser, link.staff_id).email
