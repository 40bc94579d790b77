"""Moderation by group: letters that share a text (Letter.group_key) are decided together,
and copies arriving after a decision on their text get it (models.TextGroup).

A group is the pending confirmed letters with one group_key: the exact copies of a text
(their fingerprint is the key) and the near-copies of a case's suggested text (their own
fingerprint differs; moderation/similar.py gives them the suggested text's key). One
decision over a group is one UPDATE and one AuditEvent, however many letters it holds:
a suggested text can have 70,000 copies waiting at the peak.
"""

import dataclasses
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from delivery.batches import not_delivered
from extensions import begin_write, db, dialect_insert
from models import MODERATION_STATES, AuditEvent, Case, Letter, TextGroup, utcnow
from moderation.decisions import DECISIONS, UNDO_GRACE_SECONDS, QueueError, rejection_reason
from moderation.queue import claimable
from moderation.settings import setting
from staff import audit
from web import caching

ACTIONS = {"approve": "group.approve", "reject": "group.reject"}
GROUPS_PAGE = 50  # groups listed on one page of the Groups view, largest first
WAITING_KEY = ("queue-waiting",)
GENERATION_KEY = ("queue-groups-generation",)
GENERATION_SECONDS = 3600  # long: a new generation only when a decision forgets it


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


def waiting():
    """{"messages": pending confirmed letters, "groups": distinct group keys among them}.

    One index-only scan of ix_letters_groups (status, moderation, group_key). The queue
    header shows it on every page, so it is kept in the app's cache for
    PAGE_CACHE_SECONDS (in each process, or in Redis); a decision made here forgets it.
    """

    def count():
        messages, groups = db.session.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(Letter.group_key))).where(
                Letter.status == "confirmed", Letter.moderation == "pending"
            )
        ).one()
        return {"messages": messages, "groups": groups}

    return caching.cached(WAITING_KEY, count)


@dataclasses.dataclass(frozen=True)
class Group:
    key: str
    size: int  # pending letters a decision can change (not delivered)
    exact: int  # of them exact copies of the text
    flagged: int
    text: str  # the suggested text, else the oldest exact copy's body
    suggested: bool
    decision: str = ""  # what copies arriving later get ("" for the queue)
    reason: str = ""

    @property
    def near(self):
        return self.size - self.exact


def pending(key=None):
    """The WHERE terms of the letters a group decision can change (of one group)."""
    where = [Letter.status == "confirmed", Letter.moderation == "pending", not_delivered()]
    if key is not None:
        where.append(Letter.group_key == key)
    return where


def figures():
    """size, exact, flagged and the oldest exact copy's id, per group_key."""
    exact = Letter.fingerprint == Letter.group_key
    return (
        sa.func.count().label("size"),
        sa.func.coalesce(sa.func.sum(sa.case((exact, 1), else_=0)), 0).label("exact"),
        sa.func.coalesce(sa.func.sum(sa.case((Letter.flagged, 1), else_=0)), 0).label("flagged"),
        sa.func.min(sa.case((exact, Letter.id))).label("first_exact"),
    )


def pending_groups(case_id=None, kind="", language="", page=0):
    """Groups of two or more decidable letters, largest first (then oldest): a page of
    them, and whether there are more. The filters narrow the letters counted.

    Counting them reads every pending letter (a second with 100,000 waiting), so a page
    is kept in the app's cache for PAGE_CACHE_SECONDS; a group decision starts a new
    generation of these pages (in every process when the cache is Redis, else in the
    process that made it), so the group decided is not listed again.
    """
    generation = caching.cached(GENERATION_KEY, time.time_ns, seconds=GENERATION_SECONDS)
    return caching.cached(
        ("queue-groups", generation, case_id, kind, language, page),
        lambda: count_groups(case_id, kind, language, page),
    )


def count_groups(case_id, kind, language, page):
    """pending_groups() from the database: one GROUP BY over the pending letters."""
    where = [*pending(), Letter.group_key != ""]
    if case_id is not None:
        where.append(Letter.case_id == case_id)
    if kind:
        where.append(Letter.kind == kind)
    if language:
        where.append(Letter.language == language)
    size = sa.func.count()
    rows = db.session.execute(
        sa.select(Letter.group_key, *figures())
        .where(*where)
        .group_by(Letter.group_key)
        .having(size >= 2)
        .order_by(size.desc(), sa.func.min(Letter.id))
        .limit(GROUPS_PAGE + 1)
        .offset(page * GROUPS_PAGE)
    ).all()
    more = len(rows) > GROUPS_PAGE
    return with_texts(rows[:GROUPS_PAGE]), more


def with_texts(rows):
    """Groups from rows of (group_key, *figures()), with each group's text."""
    keys = [row.group_key for row in rows]
    kept = {
        row.key: row
        for row in db.session.execute(
            sa.select(
                TextGroup.key,
                TextGroup.text,
                TextGroup.suggested,
                TextGroup.decision,
                TextGroup.reason,
            ).where(TextGroup.key.in_(keys or [""]))
        )
    }
    first_ids = [row.first_exact for row in rows if row.first_exact]
    found = db.session.execute(
        sa.select(Letter.id, Letter.body).where(Letter.id.in_(first_ids or [0]))
    )
    bodies = dict(found.all())
    groups = []
    for row in rows:
        text_group = kept.get(row.group_key)
        groups.append(
            Group(
                key=row.group_key,
                size=row.size,
                exact=int(row.exact),
                flagged=int(row.flagged),
                text=(text_group.text if text_group and text_group.text else "")
                or bodies.get(row.first_exact, ""),
                suggested=bool(text_group and text_group.suggested),
                decision=text_group.decision if text_group else "",
                reason=text_group.reason if text_group else "",
            )
        )
    return groups


def group(key):
    """One group as its page shows it (figures of its decidable letters), or None for a
    key no letter has. Its text is the suggested text, else the oldest exact copy,
    decided or not, so the page still reads after the decision."""
    row = db.session.execute(sa.select(*figures()).where(*pending(key))).one()
    (found,) = with_texts([GroupRow(key, row.size, row.exact, row.flagged, None)])
    if found.text:
        return found
    oldest = db.session.scalar(
        sa.select(Letter.body)
        .where(
            Letter.status == "confirmed",
            Letter.moderation.in_(MODERATION_STATES),
            Letter.group_key == key,
            Letter.fingerprint == key,
        )
        .order_by(Letter.id)
        .limit(1)
    )
    if oldest is None and not found.size:
        return None
    return dataclasses.replace(found, text=oldest or "")


@dataclasses.dataclass
class GroupRow:
    group_key: str
    size: int
    exact: int
    flagged: int
    first_exact: int | None


NEAR_COLUMNS = (
    Letter.id,
    Letter.body,
    Letter.language,
    Letter.flags,
    Letter.created_at,
    Letter.claimed_by_id,
    Letter.claimed_until,
    Case.name.label("case_name"),
)


def near_copies(key, after=None, limit=200):
    """The group's decidable near-copies (text not the group's own), oldest first, from
    after the id `after`: `limit` of them and the cursor of the next page (or None)."""
    where = [*pending(key), Letter.fingerprint != key]
    if after is not None:
        where.append(Letter.id > after)
    rows = db.session.execute(
        sa.select(*NEAR_COLUMNS)
        .join(Case, Case.id == Letter.case_id)
        .where(*where)
        .order_by(Letter.id)
        .limit(limit + 1)
    ).all()
    next_after = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_after


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
    window = timedelta(seconds=current_app.config["QUEUE_UNDO_SECONDS"] + UNDO_GRACE_SECONDS)
    if now - event.created_at > window:
        db.session.rollback()
        raise QueueError("undo-expired")
    key = event.details["key"]
    state = "approved" if event.action == ACTIONS["approve"] else "rejected"
    restored = db.session.execute(
        sa.update(Letter)
        .where(*decided_by(key, state, moderator.id, event.created_at))
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


def forget_figures():
    """After a group decision or its undo: the queue's counts and Groups pages afresh."""
    caching.forget(WAITING_KEY)
    caching.forget(GENERATION_KEY)
