"""A moderator's decisions: approve or reject letters, one at a time or in bulk, and undo.

A decision on a letter that another moderator holds (queue.py claims letters as they are
shown) is refused, so two moderators never decide the same letter. Every decision and
every undo writes its AuditEvent in the same transaction; the decision's event keeps the
letter's previous state, which is what an undo puts back.
"""

import dataclasses
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from delivery import batches
from extensions import begin_write, db
from models import AuditEvent, Letter, RejectReason, utcnow
from moderation.queue import claim_until
from staff import audit

DECISIONS = {"approve": "approved", "reject": "rejected"}
ACTIONS = {"approve": "letter.approve", "reject": "letter.reject"}
NOTE_MAX = 500
# The toast hides its Undo button after QUEUE_UNDO_SECONDS; a click in its last second still
# has to travel, so the server allows a little longer.
UNDO_GRACE_SECONDS = 3


class QueueError(Exception):
    """A request the queue cannot carry out; `code` says why, for the message."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


@dataclasses.dataclass
class Outcome:
    decided: list = dataclasses.field(default_factory=list)  # letter ids changed
    refused: list = dataclasses.field(default_factory=list)  # held by another moderator
    delivered: list = dataclasses.field(default_factory=list)  # in a sent batch: final
    events: list = dataclasses.field(default_factory=list)  # audit event ids, for undo
    reason: str = ""


def decide(moderator, letter_ids, decision, reason_id=None, note=""):
    """Approve or reject letters, each with its AuditEvent, all in one transaction.

    A letter that another moderator holds is left as it is and reported in
    `refused`; a delivered one (in a sent batch) in `delivered`. The deciding moderator
    keeps the claim, so the letter is still theirs if they undo.
    Raises QueueError("nothing-selected" | "choose-reason" | "note-too-long").
    """
    if decision not in DECISIONS:
        raise QueueError("unknown-decision")
    if not letter_ids:
        raise QueueError("nothing-selected")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise QueueError("note-too-long")
    reason = rejection_reason(reason_id) if decision == "reject" else ""
    now = utcnow()
    outcome = Outcome(reason=reason)
    begin_write()
    events = []
    letters = locked_letters(letter_ids, Letter.status == "confirmed")
    for letter in changeable(moderator, letters, outcome, now):
        previous = decision_of(letter)
        letter.moderation = DECISIONS[decision]
        letter.reject_reason = reason
        letter.moderated_by_id = moderator.id
        letter.moderated_at = now
        letter.claimed_by_id = moderator.id
        letter.claimed_until = claim_until(now)
        details = {"previous": previous, "kind": letter.kind}
        if note:
            details["note"] = note
        event = audit.record(ACTIONS[decision], letter, reason, actor=moderator, **details)
        event.created_at = now  # the undo recognises its decision by this time
        events.append(event)
        outcome.decided.append(letter.id)
    db.session.flush()
    outcome.events = [event.id for event in events]
    db.session.commit()
    return outcome


def rejection_reason(reason_id):
    """The text of an active reason from the catalogue, or QueueError("choose-reason")."""
    found = db.session.scalar(
        sa.select(RejectReason.text).where(RejectReason.id == reason_id, RejectReason.active)
    )
    if not found:
        raise QueueError("choose-reason")
    return found


def locked_letters(letter_ids, *where):
    """The letters with these ids, locked for this transaction."""
    return db.session.scalars(
        sa.select(Letter)
        .where(Letter.id.in_(letter_ids), *where)
        .order_by(Letter.id)  # rows locked in one order everywhere: no deadlocks
        .with_for_update()
    ).all()


def changeable(moderator, letters, outcome, now):
    """The locked letters this moderator may change now. The others are reported in
    `outcome`: delivered (in a sent batch) or refused (another moderator holds them)."""
    delivered = delivered_among([letter.id for letter in letters])
    for letter in letters:
        if letter.id in delivered:
            outcome.delivered.append(letter.id)
        elif held_by_other(letter, moderator.id, now):
            outcome.refused.append(letter.id)
        else:
            yield letter


def held_by_other(letter, moderator_id, now):
    return (
        letter.claimed_by_id is not None
        and letter.claimed_by_id != moderator_id
        and letter.claimed_until is not None
        and letter.claimed_until >= now
    )


def undo(moderator, event_ids):
    """Put letters back as they were before this moderator's recent decision.

    Only the moderator's own approve/reject events, for QUEUE_UNDO_SECONDS after them
    (plus a little grace); a letter decided again since then is left alone. The undo is
    audited as "letter.undo". Returns the ids of the letters put back (pending again,
    still claimed by this moderator). A letter delivered since (its batch was sent) stays
    as it was. Raises QueueError("undo-expired" | "nothing-to-undo").
    """
    now = utcnow()
    begin_write()
    try:
        events = undoable_events(moderator, event_ids, now)
        locked = locked_letters([event.target_id for event in events])
        delivered = delivered_among([letter.id for letter in locked])
        letters = {letter.id: letter for letter in locked if letter.id not in delivered}
        restored = [
            event.target_id
            for event in sorted(events, key=lambda event: event.target_id)
            if restore(letters.get(event.target_id), event, moderator, now)
        ]
        if not restored:
            raise QueueError("nothing-to-undo")
    except QueueError:
        db.session.rollback()
        raise
    db.session.commit()
    return restored


def undoable_events(moderator, event_ids, now):
    """This moderator's decision events among `event_ids`, all still within the window."""
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.id.in_(event_ids or [0]),
            AuditEvent.actor_id == moderator.id,
            AuditEvent.action.in_(ACTIONS.values()),
        )
    ).all()
    if not events:
        raise QueueError("nothing-to-undo")
    if any(too_late(event, now) for event in events):
        raise QueueError("undo-expired")
    return events


def too_late(event, now):
    """Whether the decision `event` is past its undo (QUEUE_UNDO_SECONDS and the grace)."""
    window = timedelta(seconds=current_app.config["QUEUE_UNDO_SECONDS"] + UNDO_GRACE_SECONDS)
    return now - event.created_at > window


def restore(letter, event, moderator, now):
    """Put the letter back as `event` found it; False when it was undone already, or
    decided again since (its decision is no longer this event's)."""
    if letter is None or (letter.moderated_at, letter.moderated_by_id) != (
        event.created_at,
        moderator.id,
    ):
        return False
    previous = event.details["previous"]
    letter.moderation = previous["moderation"]
    letter.reject_reason = previous["reject_reason"]
    letter.moderated_by_id = previous["moderated_by_id"]
    at = previous["moderated_at"]
    letter.moderated_at = datetime.fromisoformat(at) if at else None
    letter.claimed_by_id = moderator.id
    letter.claimed_until = claim_until(now)
    audit.record(
        "letter.undo",
        letter,
        actor=moderator,
        undoes=event.id,
        undone=event.action,
        restored=previous["moderation"],
    )
    return True


# Re-opening a decision and changing a rejection's reason (from the Approved and Rejected
# lists). Unlike undo, these work at any time, by any moderator, until the letter is
# delivered: a letter in a sent batch was posted as it was moderated.


def reopen(moderator, letter_ids):
    """Decided letters back to pending, held by this moderator for a fresh look.

    Audited as "letter.reopen" with the decision it took back. Letters another
    moderator holds go to `refused`, delivered ones to `delivered`.
    """

    def change(letter, now):
        previous = decision_of(letter)
        letter.moderation = "pending"
        letter.reject_reason = ""
        letter.moderated_by_id = None
        letter.moderated_at = None
        return audit.record("letter.reopen", letter, actor=moderator, previous=previous)

    return change_decided(moderator, letter_ids, ("approved", "rejected"), change)


def change_reason(moderator, letter_ids, reason_id):
    """Give rejected letters another reason from the catalogue, as this moderator's
    decision now. Audited as "letter.reason", the previous reason in its details.
    Raises QueueError("choose-reason") for a reason not in the active catalogue."""
    reason = rejection_reason(reason_id)

    def change(letter, now):
        previous = decision_of(letter)
        letter.reject_reason = reason
        letter.moderated_by_id = moderator.id
        letter.moderated_at = now
        return audit.record(
            "letter.reason",
            letter,
            reason,
            actor=moderator,
            previous=previous,
            previous_reason=previous["reject_reason"],
        )

    outcome = change_decided(moderator, letter_ids, ("rejected",), change)
    outcome.reason = reason
    return outcome


def decision_of(letter):
    """What the letter's moderation is now, as an audit event keeps it."""
    return {
        "moderation": letter.moderation,
        "reject_reason": letter.reject_reason,
        "moderated_by_id": letter.moderated_by_id,
        "moderated_at": letter.moderated_at.isoformat() if letter.moderated_at else None,
    }


def change_decided(moderator, letter_ids, states, change):
    """Apply `change(letter, now)` (which returns its AuditEvent) to the letters in
    `states`, in one transaction; the moderator holds them afterwards. Letters held by
    another moderator, or delivered, are left as they are and reported."""
    if not letter_ids:
        raise QueueError("nothing-selected")
    now = utcnow()
    outcome = Outcome()
    begin_write()
    letters = locked_letters(
        letter_ids, Letter.status == "confirmed", Letter.moderation.in_(states)
    )
    for letter in changeable(moderator, letters, outcome, now):
        event = change(letter, now)
        event.created_at = now
        letter.claimed_by_id = moderator.id
        letter.claimed_until = claim_until(now)
        outcome.decided.append(letter.id)
    db.session.commit()
    return outcome


def delivered_among(letter_ids):
    """The ids among these of letters in a sent batch. Its own statement after the rows
    were locked: a batch sent while this waited for the lock is seen as sent (its
    mark_sent writes every letter of the batch, so it holds their locks until it commits)."""
    if not letter_ids:
        return set()
    found = sa.select(Letter.id).where(Letter.id.in_(letter_ids), batches.delivered())
    return set(db.session.scalars(found))
