"""The audit log: who did what, when and why. Written in the caller's transaction, so an
action and its record are committed together or not at all."""

from flask_login import current_user

from extensions import db
from models import AuditEvent


def record(action, target=None, reason="", actor=None, **details):
    """Add an AuditEvent for `action` on `target` (a model row, or None) to the session."""
    actor = actor if actor is not None else current_user
    signed_in = getattr(actor, "is_authenticated", False)
    event = AuditEvent(
        actor_id=actor.id if signed_in else None,
        actor_email=actor.email if signed_in else "",
        action=action,
        target_type=target.__tablename__ if target is not None else "",
        target_id=target.id if target is not None else None,
        reason=reason or "",
        details=details,
    )
    db.session.add(event)
    return event
