"""Delivery batches as records (models.DeliveryBatch): which letters a batch holds, and
what was delivered. A letter is in at most one prepared or sent batch (its
delivery_batch_id); a letter in a sent batch was delivered and is no longer re-moderated.

make_batch freezes the letters ready at that moment; letters confirmed or approved later
wait for the next batch. A batch's files are made on download from its frozen letters,
those still deliverable: a letter rejected after the batch was made is left out, and
released when the batch is sent. Every change is audited on the case.
"""

from datetime import date

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _

from delivery import emailing
from delivery.export import (
    batches,
    deliverable_appeals,
    deliverable_solidarity,
    letter_rows,
    letters_csv,
)
from extensions import begin_write, db
from models import BATCH_KINDS, SEND_METHODS, Case, DeliveryBatch, Letter, utcnow
from models.delivery import BATCH_NOTE_MAX
from staff import audit

# What a placeholder postal address says (cases/demo.py's ADDRESS_TBC is one).
PLACEHOLDER = "to be confirmed"


class BatchError(Exception):
    """Why a batch cannot be made or changed, said to staff as it is."""


def deliverable(kind):
    """SQL: a letter of this kind may go out (delivery/export.py's rules)."""
    return deliverable_appeals() if kind == "appeal" else deliverable_solidarity()


def address_missing(case):
    """True while the case's postal address is empty or a placeholder "to be confirmed"."""
    address = (case.target_address or "").strip()
    return not address or PLACEHOLDER in address.casefold()


def refusal(case, kind):
    """Why the case's letters of `kind` cannot be exported yet, or "".

    Appeals go to the official's postal address, so not while it is a placeholder. A
    solidarity booklet goes to the person through the campaign's own contacts (staff or
    the section working on the case), never by the case's postal address: never refused.
    """
    if kind == "appeal" and address_missing(case):
        return _(
            "The official's postal address is still to be confirmed: enter it on the case "
            "form before exporting appeals."
        )
    return ""


def free_letters(case_id, kind):
    """SQL: the case's deliverable letters of `kind` that no batch holds."""
    return sa.and_(
        Letter.case_id == case_id,
        Letter.kind == kind,
        deliverable(kind),
        Letter.delivery_batch_id.is_(None),
    )


def waiting(case_id, kind):
    """How many letters the next batch of `kind` would take (without a limit)."""
    return db.session.scalar(sa.select(sa.func.count()).where(free_letters(case_id, kind)))


def make_batch(case, kind, staff, limit=None):
    """Freeze the case's free deliverable letters of `kind`, oldest first, at most `limit`
    (None: all) into a new prepared batch, numbered per case and kind. One UPDATE takes the
    letters: a letter a concurrent batch took is no longer free, so none is in two.
    Raises BatchError for an unknown kind, a placeholder address or no letter to take."""
    if kind not in BATCH_KINDS:
        raise BatchError(_("Choose appeals or solidarity messages."))
    if limit is not None and limit < 1:
        raise BatchError(_("A batch holds at least one letter."))
    refused = refusal(case, kind)
    if refused:
        raise BatchError(refused)
    begin_write()
    # The case's row, locked: two batches of one case are numbered one after the other.
    db.session.execute(sa.select(Case.id).where(Case.id == case.id).with_for_update())
    number = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(DeliveryBatch.number), 0)).where(
            DeliveryBatch.case_id == case.id, DeliveryBatch.kind == kind
        )
    )
    batch = DeliveryBatch(
        case_id=case.id, kind=kind, number=number + 1, state="prepared", created_by_id=staff.id
    )
    db.session.add(batch)
    db.session.flush()
    oldest = (
        sa.select(Letter.id).where(free_letters(case.id, kind)).order_by(Letter.id).limit(limit)
    )
    taken = db.session.execute(
        sa.update(Letter)
        .where(Letter.id.in_(oldest.scalar_subquery()), Letter.delivery_batch_id.is_(None))
        .values(delivery_batch_id=batch.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        db.session.rollback()
        raise BatchError(_("No letter is waiting for a batch: there is nothing to send yet."))
    first, last = db.session.execute(
        sa.select(sa.func.min(Letter.id), sa.func.max(Letter.id)).where(
            Letter.delivery_batch_id == batch.id
        )
    ).one()
    batch.letters, batch.first_letter_id, batch.last_letter_id = taken, first, last
    audit.record("delivery.batch", case, actor=staff, **details(batch))
    db.session.commit()
    return batch


def details(batch, **more):
    """What the audit log says about a batch."""
    return {"batch": batch.id, "kind": batch.kind, "number": batch.number, **more}


def prepared(batch):
    if batch.state != "prepared":
        raise BatchError(_("This batch was already sent or cancelled: it can no longer change."))


def cancel(batch, staff):
    """Cancel a prepared batch: its letters are free for the next one (audited)."""
    begin_write()
    db.session.refresh(batch, with_for_update=True)
    prepared(batch)
    refused = emailing.withdraw(batch)  # an email to the official on its way: not now
    if refused:
        raise BatchError(str(refused))
    released = release(Letter.delivery_batch_id == batch.id)
    batch.state = "cancelled"
    batch.cancelled_at = utcnow()
    batch.cancelled_by_id = staff.id
    audit.record("delivery.cancel", batch.case, actor=staff, **details(batch, letters=released))
    db.session.commit()
    return released


def release(condition):
    return db.session.execute(
        sa.update(Letter)
        .where(condition)
        .values(delivery_batch_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def mark_sent(batch, staff, sent_on, method, note="", emailed_to=""):
    """Record that a prepared batch went out on `sent_on` by `method`: it is final, and its
    letters can no longer be re-moderated. Letters rejected since it was made were not in
    its files: they leave it (free again) and its count becomes the letters sent."""
    if method not in SEND_METHODS:
        raise BatchError(_("Choose how the batch was sent: post, email or by hand."))
    if not isinstance(sent_on, date):
        raise BatchError(_("Enter the date the batch was sent."))
    if sent_on > utcnow().date():
        raise BatchError(_("The date a batch was sent cannot be in the future."))
    note = (note or "").strip()
    if len(note) > BATCH_NOTE_MAX:
        raise BatchError(_("The note is too long: %(max)s characters at most.", max=BATCH_NOTE_MAX))
    begin_write()
    db.session.refresh(batch, with_for_update=True)
    prepared(batch)
    if emailing.on_its_way(batch):  # the worker records it sent, by email, when it goes
        raise BatchError(
            _(
                "This batch's email to the official is on its way: the batch is recorded "
                "as sent when it goes."
            )
        )
    record_sent(batch, staff, sent_on, method, note, emailed_to)
    db.session.commit()
    return batch


def record_sent(batch, staff, sent_on, method, note="", emailed_to=""):
    """mark_sent's change, in the caller's write transaction, the prepared batch locked:
    also the mail worker's, which makes a batch emailed to the official sent in the
    transaction that records its email sent (delivery/emailing.py; `staff` is who asked)."""
    # Every letter of the batch is locked, not only those leaving: a moderator's decision
    # in flight finishes first, or waits and then sees the batch sent (decisions.py). A
    # lock writes no new row versions, as an update would (on PostgreSQL, with every index
    # of letters); SQLite's write transaction holds all rows anyway.
    mine = Letter.delivery_batch_id == batch.id
    locked = len(db.session.scalars(sa.select(Letter.id).where(mine).with_for_update()).all())
    sent = locked - release(sa.and_(mine, sa.not_(deliverable(batch.kind))))
    frozen = batch.letters
    batch.letters = sent
    batch.state = "sent"
    batch.sent_on = sent_on
    batch.method = method
    batch.note = note
    batch.sent_recorded_at = utcnow()
    batch.sent_by_id = getattr(staff, "id", None)
    if emailed_to:
        batch.emailed_to = emailed_to
        batch.emailed_at = batch.sent_recorded_at
    audit.record(
        "delivery.sent",
        batch.case,
        actor=staff,
        **details(batch, sent_on=sent_on.isoformat(), method=method, letters=sent, frozen=frozen),
    )


def batch_where(batch):
    """SQL: the batch's letters that still go out (a letter rejected since is left out)."""
    return sa.and_(Letter.delivery_batch_id == batch.id, deliverable(batch.kind))


def batch_letters(batch):
    """The batch's letters that go out, oldest first, as a select of Letter."""
    return sa.select(Letter).where(batch_where(batch)).order_by(Letter.id)


def batch_csv(batch):
    """The batch's letters that go out as CSV text, in chunks (export.letters_csv)."""
    return letters_csv(letter_rows(batch.case_id, batch_where(batch)))


def batch_count(batch):
    """How many of the batch's letters still go out."""
    return db.session.scalar(sa.select(sa.func.count()).where(batch_where(batch)))


def case_batches(case_id):
    """The case's batches, newest first."""
    return db.session.scalars(
        sa.select(DeliveryBatch)
        .where(DeliveryBatch.case_id == case_id)
        .order_by(DeliveryBatch.id.desc())
    ).all()


def parts(batch, size):
    """The batch's files: [(after_id, last_id, letters)] cutting its frozen letters in id
    order into parts of `size` (delivery/export.py's batches()), so a part stays the same
    while the batch is prepared; each file prints the part's letters that still go out."""
    return batches(Letter.delivery_batch_id == batch.id, size)


def delivered_message(batch):
    """Why a moderator can no longer change a letter of this sent batch."""
    return _(
        "Delivered on %(date)s: this decision can no longer change.",
        date=format_date(batch.sent_on, "long"),
    )


def delivered_batches(letter_ids):
    """{letter_id: its sent batch} for the letters among `letter_ids` that were delivered.
    A statement of its own, so it sees a batch sent while the caller waited for a lock."""
    rows = db.session.execute(
        sa.select(Letter.id, DeliveryBatch)
        .join(DeliveryBatch, DeliveryBatch.id == Letter.delivery_batch_id)
        .where(Letter.id.in_(letter_ids or [0]), DeliveryBatch.state == "sent")
    )
    return dict(rows.all())


def sent_batch_ids():
    """The ids of every sent batch, as a subquery."""
    return sa.select(DeliveryBatch.id).where(DeliveryBatch.state == "sent").scalar_subquery()


def delivered():
    """SQL: the letter is in a sent batch (delivered: its moderation is final)."""
    return sa.and_(
        Letter.delivery_batch_id.is_not(None), Letter.delivery_batch_id.in_(sent_batch_ids())
    )


def not_delivered():
    """SQL: no sent batch holds the letter (a moderator may still change it)."""
    return sa.or_(
        Letter.delivery_batch_id.is_(None), Letter.delivery_batch_id.not_in(sent_batch_ids())
    )


def delivered_by_case():
    """{case_id: {"appeal": letters, "solidarity": letters, "appeal_on": date of the
    latest appeals batch sent, or None}}: sums the few batch rows, never the letters."""
    rows = db.session.execute(
        sa.select(
            DeliveryBatch.case_id,
            DeliveryBatch.kind,
            sa.func.sum(DeliveryBatch.letters),
            sa.func.max(DeliveryBatch.sent_on),
        )
        .where(DeliveryBatch.state == "sent")
        .group_by(DeliveryBatch.case_id, DeliveryBatch.kind)
    )
    found = {}
    for case_id, kind, letters, last_on in rows:
        figures = found.setdefault(case_id, {"appeal": 0, "solidarity": 0, "appeal_on": None})
        figures[kind] = int(letters or 0)
        if kind == "appeal":
            figures["appeal_on"] = last_on
    return found
