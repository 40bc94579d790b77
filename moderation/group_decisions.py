"""One decision over a moderation group (moderation/groups.py), and its undo.

A decision approves or rejects every pending exact copy of the group's text and the
near-copies the moderator left ticked: one UPDATE and one AuditEvent, however many letters
the group holds. The group's TextGroup keeps the decision for copies arriving later.
"""

import dataclasses
from datetime import datetime

import sqlalchemy as sa

from delivery.batches import not_delivered
from extensions import begin_write, db, dialect_insert
from models import AuditEvent, Letter, TextGroup, utcnow
from moderation.decisions import DECISIONS, QueueError, rejection_reason, too_late
from moderation.groups import forget_figures
from moderation.queue import claimable
from staff import audit

ACTIONS = {"approve": "group.approve", "reject": "group.reject"}


@dataclasses.dataclass
class GroupOutcome:
    key: str
    decided: int = 0  # letters changed
    skipped: int = 0  # held by another moderator, or delivered meanwhile
    event: int | None = None  # the AuditEvent, for undo
    reason: str = ""


def decide_group(moderator, key, decision, reason_id=None, near_ids=()):
    """Approve or reject a group: every pending exact copy of its text, and the
    near-copies in `near_ids` (those the moderator left ticked). One UPDATE, one
    AuditEvent, one transaction; copies arriving later get the decision (TextGroup).

    Letters another moderator holds, and letters in a sent delivery batch, are left as
    they are and counted in `skipped`. Raises QueueError("unknown-decision" |
    "choose-reason" | "nothing-to-decide").
    """
    if decision not in DECISIONS:
        raise QueueError("unknown-decision")
    reason = rejection_reason(reason_id) if decision == "reject" else ""
    now = utcnow()
    begin_write()
    chosen = [
        Letter.status == "confirmed",
        Letter.moderation == "pending",
        Letter.group_key == key,
        sa.or_(Letter.fingerprint == key, Letter.id.in_(list(near_ids) or [0])),
    ]
    total = db.session.scalar(sa.select(sa.func.count()).where(*chosen))
    decided = db.session.execute(
        sa.update(Letter)
        .where(*chosen, claimable(moderator.id, now), not_delivered())
        .values(
            moderation=DECISIONS[decision],
            reject_reason=reason,
            moderated_by_id=moderator.id,
            moderated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not decided:
        db.session.rollback()
        raise QueueError("nothing-to-decide")
    previous = remember_decision(key, DECISIONS[decision], reason, moderator, now)
    first = db.session.scalar(
        sa.select(sa.func.min(Letter.id)).where(
            *decided_by(key, DECISIONS[decision], moderator.id, now)
        )
    )
    event = audit.record(
        ACTIONS[decision],
        None,
        reason,
        actor=moderator,
        key=key,
        letters=decided,
        skipped=total - decided,
        previous=previous,
    )
    event.target_type, event.target_id = "letters", first
    event.created_at = now  # the undo recognises the letters by this time
    db.session.flush()
    outcome = GroupOutcome(key, decided, total - decided, event.id, reason)
    db.session.commit()
    forget_figures()
    return outcome


def decided_by(key, state, moderator_id, at):
    """The letters of the group one decision changed: it stamped them with its moderator
    and time (as decisions.undo recognises a letter's decision)."""
    return [
        Letter.status == "confirmed",
        Letter.moderation == state,
        Letter.group_key == key,
        Letter.moderated_by_id == moderator_id,
        Letter.moderated_at == at,
    ]


def remember_decision(key, state, reason, moderator, now):
    """Set the TextGroup's decision (the row is made for a text not seen before, without
    its text: a supporter's words are never kept there); returns what it was."""
    db.session.execute(
        dialect_insert()(TextGroup)
        .values(key=key, text="", suggested=False, decision="", reason="")
        .on_conflict_do_nothing(index_elements=[TextGroup.key])
    )
    text_group = db.session.get(TextGroup, key, with_for_update=True, populate_existing=True)
    previous = {
        "decision": text_group.decision or "",
        "reason": text_group.reason or "",
        "decided_by_id": text_group.decided_by_id,
        "decided_at": text_group.decided_at.isoformat() if text_group.decided_at else None,
    }
    text_group.decision = state
    text_group.reason = reason
    text_group.decided_by_id = moderator.id
    text_group.decided_at = now
    return previous


def undo_group(moderator, event_id):
    """Put back every letter of this moderator's recent group decision (pending again),
    and the TextGroup's decision as it was; audited as "group.undo". Within
    QUEUE_UNDO_SECONDS (and a little grace). Letters decided again since are left alone.
    Returns (letters put back, the group's key). Raises QueueError("undo-expired" |
    "nothing-to-undo")."""
    now = utcnow()
    begin_write()
    event = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.id == event_id,
            AuditEvent.actor_id == moderator.id,
            AuditEvent.action.in_(ACTIONS.values()),
        )
    )
    if event is None:
        db.session.rollback()
        raise QueueError("nothing-to-undo")
    if too_late(event, now):
        db.session.rollback()
        raise QueueError("undo-expired")
    key = event.details["key"]
    state = "approved" if event.action == ACTIONS["approve"] else "rejected"
    restored = db.session.execute(
        sa.update(Letter)
        .where(*decided_by(key, state, moderator.id, event.created_at), not_delivered())
        .values(moderation="pending", reject_reason="", moderated_by_id=None, moderated_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not restored:
        db.session.rollback()
        raise QueueError("nothing-to-undo")
    text_group = db.session.get(TextGroup, key, with_for_update=True)
    if text_group is not None and (text_group.decided_at, text_group.decided_by_id) == (
        event.created_at,
        moderator.id,
    ):  # not decided again since
        previous = event.details["previous"]
        text_group.decision = previous["decision"]
        text_group.reason = previous["reason"]
        text_group.decided_by_id = previous["decided_by_id"]
        at = previous["decided_at"]
        text_group.decided_at = datetime.fromisoformat(at) if at else None
    undo_event = audit.record(
        "group.undo", None, actor=moderator, key=key, letters=restored, undoes=event.id
    )
    undo_event.target_type, undo_event.target_id = event.target_type, event.target_id
    db.session.commit()
    forget_figures()
    return restored, key
