"""Moderation by group: letters that share a text (Letter.group_key) are decided together,
and copies arriving after a decision on their text get it (models.TextGroup).

A group is the pending confirmed letters with one group_key: the exact copies of a text
(their fingerprint is the key) and the near-copies of a case's suggested text (their own
fingerprint differs; moderation/similar.py gives them the suggested text's key). One
decision over a group (moderation/group_decisions.py) is one UPDATE and one AuditEvent,
however many letters it holds: a suggested text can have 70,000 copies waiting at the peak.
"""

import dataclasses
import time
import unicodedata

import sqlalchemy as sa

from delivery.batches import not_delivered
from extensions import db
from models import MODERATION_STATES, Case, Letter, TextGroup
from moderation.settings import setting
from web import caching

GROUPS_PAGE = 50  # groups listed on one page of the Groups view, largest first
WAITING_KEY = ("queue-waiting",)
GENERATION_KEY = ("queue-groups-generation",)
GENERATION_SECONDS = 3600  # long: a new generation only when a decision forgets it


def arrival_decision(fingerprint, flags=(), body=""):
    """(moderation, reject_reason) a new letter with this exact text gets on arrival, or
    None for the queue: copies of a rejected text are rejected with its reason; copies of
    an approved text are approved when the admins' setting says so (on by default for a
    case's suggested texts, off for others), if they read as that text does (reads_as_copy).
    """
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
    return ("approved", "") if setting(name) and reads_as_copy(flags, body) else None


def reads_as_copy(flags, body):
    """Whether nobody need read a copy the fingerprint matched: it raised no flag of its own
    (being one of many copies aside), and it holds none of the characters the fingerprint
    leaves out that can change what a reader sees: combining marks (a strike-through over
    "never") and format characters (a right-to-left override). Punctuation the fingerprint
    also ignores ("famo.us") raises the link flag. Others go to the queue, in the group."""
    if set(flags) - {"repeated"}:
        return False
    return not any(unicodedata.category(ch) in ("Mn", "Me", "Cf") for ch in body)


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


def forget_figures():
    """After a group decision or its undo: the queue's counts and Groups pages afresh."""
    caching.forget(WAITING_KEY)
    caching.forget(GENERATION_KEY)
