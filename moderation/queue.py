"""The moderation queue: which letters a moderator sees, and claiming them as they are shown.

Solidarity messages go to people in prison or at risk, so each one waits for a moderator's
approval; appeals are delivered unless a moderator rejects them (delivery/). Moderators
read tens of thousands of messages a day at the peak, so a queue page is a few range scans
on one index, whatever the number of letters, and two moderators never read the same
message: showing a pending message claims it for QUEUE_CLAIM_MINUTES. Their decisions
(approve, reject, undo) are in decisions.py.
"""

import dataclasses
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from extensions import begin_write, db
from models import KINDS, MODERATION_STATES, Case, DeliveryBatch, Letter, RejectReason, utcnow
from moderation.flags import FLAGS

SEARCH_MAX = 100

# What a moderator sees of a letter: never the email address.
ITEM_COLUMNS = (
    Letter.id,
    Letter.kind,
    Letter.body,
    Letter.name,
    Letter.city,
    Letter.country,
    Letter.language,
    Letter.created_at,
    Letter.flags,
    Letter.flagged,
    Letter.moderation,
    Letter.reject_reason,
    Letter.moderated_at,
    Letter.claimed_by_id,
    Letter.claimed_until,
    Case.name.label("case_name"),
    # The day its batch was sent, for a delivered letter (no longer re-moderated), or None.
    sa.select(DeliveryBatch.sent_on)
    .where(DeliveryBatch.id == Letter.delivery_batch_id, DeliveryBatch.state == "sent")
    .scalar_subquery()
    .label("delivered_on"),
)


@dataclasses.dataclass(frozen=True)
class Filters:
    """Which letters a queue page lists, and where it starts (keyset cursor)."""

    state: str = "pending"
    case_id: int | None = None
    kind: str = ""
    flag: str = ""  # "", "any", or one of flags.FLAGS
    language: str = ""
    search: str = ""
    after: tuple[bool, int] | None = None  # (flagged, id) of the last letter of the page before
    # Only letters decided on arrival (a copy of a decided text: moderation/groups.py),
    # so that copies of a rejected text stay visible. Approved or rejected lists only.
    auto: bool = False

    def args(self, **changes):
        """The query-string arguments that give these filters (defaults left out)."""
        values = dataclasses.replace(self, **changes)
        args = {
            "state": values.state if values.state != "pending" else None,
            "case": values.case_id,
            "kind": values.kind,
            "flag": values.flag,
            "language": values.language,
            "q": values.search,
            "auto": "1" if values.auto else None,
            "after": f"{int(values.after[0])}.{values.after[1]}" if values.after else None,
        }
        return {name: value for name, value in args.items() if value}

    @classmethod
    def parse(cls, args):
        """Filters from query-string arguments; an unknown value means "no filter"."""
        state = args.get("state", "")
        kind = args.get("kind", "")
        flag = args.get("flag", "")
        language = args.get("language", "")
        case_id = args.get("case", "")
        after = None
        flagged, _, last_id = args.get("after", "").partition(".")
        if flagged in ("0", "1") and last_id.isdigit():
            after = (flagged == "1", int(last_id))
        auto = args.get("auto", "") == "1"
        if state not in MODERATION_STATES or (auto and state == "pending"):
            # Nothing pending was decided automatically: "decided automatically" alone
            # asks for the rejected copies, which is what the filter is there to show.
            state = "rejected" if auto else "pending"
        return cls(
            state=state,
            case_id=int(case_id) if case_id.isdigit() else None,
            kind=kind if kind in KINDS else "",
            flag=flag if flag == "any" or flag in FLAGS else "",
            language=language if language.replace("-", "").isalnum() else "",
            search=args.get("q", "").strip()[:SEARCH_MAX],
            after=after,
            auto=auto,
        )


@dataclasses.dataclass
class Page:
    items: list  # rows of ITEM_COLUMNS, in queue order
    next_after: tuple[bool, int] | None  # the cursor of the next page, or None at the end


def conditions(filters):
    """The WHERE terms of a queue page, other than the claims and the cursor."""
    where = [Letter.status == "confirmed", Letter.moderation == filters.state]
    if filters.case_id is not None:
        where.append(Letter.case_id == filters.case_id)
    if filters.kind:
        where.append(Letter.kind == filters.kind)
    if filters.language:
        where.append(Letter.language == filters.language)
    if filters.auto:
        where.append(Letter.moderated_by_id.is_(None))  # decided on arrival, by nobody
    if filters.flag and filters.flag != "any":
        where.append(("," + Letter.flags + ",").contains("," + filters.flag + ","))
    if filters.search:
        # A plain case-insensitive LIKE: the same on SQLite and PostgreSQL; a trigram index
        # would slow down every submission at the peak for a tool moderators use rarely.
        where.append(Letter.body.icontains(filters.search, autoescape=True))
    return where


def claimable(moderator_id, now):
    """Letters nobody holds, held by this moderator, or whose claim ran out."""
    return sa.or_(
        Letter.claimed_by_id.is_(None),
        Letter.claimed_by_id == moderator_id,
        Letter.claimed_until < now,
    )


def next_letters(where, after, limit, flagged_only=False, lock=False):
    """(flagged, id) of the next `limit` letters in queue order: flagged first, then oldest.

    One query per part (flagged, then not flagged), each a range scan of ix_letters_queue
    in id order from the cursor, so page 10,000 opens as quickly as page 1.
    """
    found = []
    for flagged in (True, False):
        if len(found) >= limit or (flagged_only and not flagged):
            break
        if after is not None and flagged and not after[0]:
            continue  # the cursor is already past the flagged letters
        after_id = after[1] if after is not None and after[0] == flagged else None
        statement = part_query(where, flagged, after_id, limit - len(found))
        if lock:
            statement = statement.with_for_update(skip_locked=True, of=Letter)
        found += [(flagged, letter_id) for _flagged, letter_id in db.session.execute(statement)]
    return found


def part_query(where, flagged, after_id, limit):
    """The flagged (or not flagged) letters after `after_id`, oldest first.

    Ordered by (flagged, id), not just id: the same order, since flagged is fixed here,
    but PostgreSQL only sees that ix_letters_queue gives it when flagged is in the ORDER
    BY; ordered by id alone it walked the primary key instead, past every decided
    letter, and the queue grew slower as the campaign went on.
    """
    where = [*where, Letter.flagged == flagged]
    if after_id is not None:
        where.append(Letter.id > after_id)
    return (
        sa.select(Letter.flagged, Letter.id)
        .where(*where)
        .order_by(Letter.flagged, Letter.id)
        .limit(limit)
    )


def queue_page(moderator, filters, size):
    """One page of the queue. Pending letters on it are claimed for this moderator.

    Other moderators' letters are skipped while their claim lasts, so two moderators
    never see the same pending letter. Decided letters (approved, rejected) are listed
    without claims: they are looked at again, not reviewed for the first time.
    """
    where = conditions(filters)
    flagged_only = bool(filters.flag)
    if filters.state == "pending":
        found, shown = claim_next(moderator, where, filters.after, size, flagged_only)
    else:
        found = next_letters(where, filters.after, size + 1, flagged_only)
        shown = [letter_id for _flagged, letter_id in found[:size]]
    next_after = found[size - 1] if len(found) > size else None
    return Page(items=item_rows(shown), next_after=next_after)


def claim_next(moderator, where, after, size, flagged_only):
    """Claim the next `size` pending letters; returns ((flagged, id) of the next size + 1
    claimable letters, ids of the letters now held).

    Race-free on both databases: the letters are chosen inside the write transaction, and
    the UPDATE claims a letter only if it is still claimable when it runs. SQLite runs
    one writer at a time (BEGIN IMMEDIATE); on PostgreSQL, FOR UPDATE SKIP LOCKED makes
    moderators loading pages at the same moment take different letters instead of
    waiting for each other (or all picking the same ones and getting few).
    """
    now = utcnow()
    where = [*where, claimable(moderator.id, now)]
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    begin_write()
    found = next_letters(where, after, size, flagged_only, lock=postgresql)
    if len(found) == size:  # is there a next page? (looked up without locking it)
        found += next_letters(where, found[-1], 1, flagged_only)
    ids = [letter_id for _flagged, letter_id in found[:size]]
    held = set()
    if ids:
        held = set(
            db.session.scalars(
                sa.update(Letter)
                .where(Letter.id.in_(ids), claimable(moderator.id, now))
                .values(claimed_by_id=moderator.id, claimed_until=claim_until(now))
                .returning(Letter.id)
                .execution_options(synchronize_session=False)
            )
        )
    db.session.commit()
    return found, [letter_id for letter_id in ids if letter_id in held]


def claim_until(now):
    return now + timedelta(minutes=current_app.config["QUEUE_CLAIM_MINUTES"])


def item_rows(ids):
    """The letters with these ids, as a moderator sees them, in the order given."""
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(*ITEM_COLUMNS).join(Case, Case.id == Letter.case_id).where(Letter.id.in_(ids))
    ).all()
    position = {letter_id: n for n, letter_id in enumerate(ids)}
    return sorted(rows, key=lambda row: position[row.id])


def active_reasons():
    """The reasons a moderator chooses from, in the catalogue's order."""
    return db.session.execute(
        sa.select(RejectReason.id, RejectReason.text)
        .where(RejectReason.active)
        .order_by(RejectReason.sort_order, RejectReason.id)
    ).all()


def filter_choices():
    """The cases and the letter languages the filters offer; both come from the few case
    rows (a letter's language is one of its case's templates), never from the letters."""
    cases = db.session.execute(
        sa.select(Case.id, Case.name, Case.appeal_templates).order_by(Case.sort_order, Case.name)
    ).all()
    languages = sorted({"en"}.union(*(case.appeal_templates or {} for case in cases)))
    return [(case.id, case.name) for case in cases], languages
