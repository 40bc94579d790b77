"""Moderation by group: letters that share a text (Letter.group_key) are decided together,
and copies arriving after a decision on their text get it (models.TextGroup)."""

import sqlalchemy as sa

from extensions import db
from models import TextGroup
from moderation.settings import setting


def arrival_decision(fingerprint):
    """(moderation, reject_reason) a new letter with this exact text gets on arrival, or
    None for the queue: copies of a rejected text are rejected with its reason; copies of
    an approved text are approved when the admins' setting says so (on by default for a
    case's suggested texts, off for others)."""
    row = db.session.execute(
        sa.select(TextGroup.decision, TextGroup.reason, TextGroup.suggested).where(
            TextGroup.key == fingerprint
        )
    ).first()
    if row is None or not row.decision:
        return None
    if row.decision == "rejected":
        return "rejected", row.reason
    name = "auto_approve_suggested" if row.suggested else "auto_approve_other"
    return ("approved", "") if setting(name) else None
