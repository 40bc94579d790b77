"""Staff accounts, their sign-in factors and links, and the audit log."""

import functools
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from models.campaign import EMAIL_MAX, utcnow


@functools.cache
def no_account_hash():
    """A hash made as set_password makes one, of a password nobody knows, once per process:
    a sign-in for an address without an active account is checked against it, so that
    answer costs as much time as a wrong password for a real account."""
    return generate_password_hash(secrets.token_urlsafe(32))


class StaffUser(UserMixin, db.Model):
    """A member of campaign staff: a moderator (the queue) or an admin (everything)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(EMAIL_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20), default="moderator")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    # Part of every session's user id (get_id): raising it ends all of the account's
    # sessions at once, on the server, even ones whose cookie was copied elsewhere.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The second factor (TOTP): the secret, set at enrolment and confirmed by a first code;
    # the last time step used, so a code works once; when the owner was last told of
    # sign-in attempts from elsewhere (at most one such email per lockout).
    totp_secret: Mapped[str | None] = mapped_column(sa.String(255))
    totp_confirmed_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    lockout_notified_at: Mapped[datetime | None]

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        """The id kept in the session: Flask-Login's "alternative token", id and version."""
        return f"{self.id}:{self.session_version}"

    def end_sessions(self):
        """Sign this account out everywhere: every session cookie issued so far stops working."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def is_admin(self):
        return self.role == "admin"

    def set_password(self, password):
        """werkzeug's current default: scrypt, with a random salt per password."""
        self.password_hash = generate_password_hash(password)
        self.end_sessions()  # whoever knew the old password is signed out too

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def password_matches(user, password):
        """Whether `password` signs in `user`, an active account (None: no account). Either
        way it costs one hash check: a quick answer for an unknown or disabled address
        would tell an attacker by its timing which addresses belong to staff. An invited
        account has no password yet (an empty hash, which werkzeug refuses at once)."""
        if user is None or not user.active or not user.password_hash:
            check_password_hash(no_account_hash(), password)
            return False
        return user.check_password(password)


class StaffRecoveryCode(db.Model):
    """One of a staff member's single-use codes for signing in without their phone."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(255))
    used_at: Mapped[datetime | None]


class StaffLink(db.Model):
    """An emailed, single-use, expiring link: an invitation or a password reset."""

    __tablename__ = "staff_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))  # invite | reset
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class StaffKnownAddress(db.Model):
    """An address (keyed hash) this account signed in from: guessing from elsewhere never
    locks the owner out here."""

    __tablename__ = "staff_known_addresses"

    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"), primary_key=True)
    address_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_sign_in_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(db.Model):
    """Who did what, when and why: every moderation decision and every staff change."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_created_at", "created_at"),
        sa.Index("ix_audit_events_action_created_at", "action", "created_at"),
        sa.Index("ix_audit_events_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    actor_email: Mapped[str] = mapped_column(sa.String(EMAIL_MAX), default="")  # kept as it was
    action: Mapped[str] = mapped_column(sa.String(60))  # "letter.approve", "case.publish", ...
    target_type: Mapped[str] = mapped_column(sa.String(40), default="")
    target_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
