"""Taking a supporter's personal data out of the letters, keeping the counts.

Used for an erasure the supporter (or staff for them) asks for, and by retention after a
case closed. A confirmed letter stays as a row, so every count and figure stays the same,
but loses its writer's name, address and city; its text stays only while it is still to
be delivered (without a name). Unconfirmed letters count for nothing and go entirely.
The emails about these letters go too, sent or not.
"""

import sqlalchemy as sa

from delivery.export import deliverable_appeals, deliverable_solidarity
from extensions import db
from models import Case, Letter, Outbox

ERASED = "erased:"  # email_key prefix: unique per letter, so the counted-once index holds


def still_to_deliver():
    """Letters whose text someone is still to receive: deliverable, to an open case."""
    open_case = sa.select(Case.id).where(Case.status != "closed").scalar_subquery()
    return sa.and_(
        sa.or_(deliverable_appeals(), deliverable_solidarity()),
        Letter.case_id.in_(open_case),
    )


def anonymise_letters(condition):
    """Erase the writers' data from the letters matching `condition` (a SQL condition on
    Letter), in the caller's write transaction. Returns (anonymised, deleted) counts."""
    ids = sa.select(Letter.id).where(condition)
    db.session.execute(
        sa.delete(Outbox)
        .where(Outbox.letter_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    deleted = delete_unconfirmed(condition)
    anonymised = db.session.execute(
        sa.update(Letter)
        .where(condition, ~Letter.email_key.startswith(ERASED))
        .values(
            name="",
            email="",
            city="",
            email_key=sa.literal(ERASED) + sa.cast(Letter.id, sa.String),
            body=sa.case((still_to_deliver(), Letter.body), else_=""),
            consent_contact=False,
        )
        .execution_options(synchronize_session=False)
    )
    return anonymised.rowcount, deleted


def delete_unconfirmed(condition):
    """Delete the matching letters nobody confirmed (and the letters joined to them)."""
    waiting = sa.select(Letter.id).where(condition, Letter.status != "confirmed")
    waiting_ids = db.session.scalars(waiting).all()
    if not waiting_ids:
        return 0
    joined = sa.select(Letter.id).where(Letter.confirm_with_id.in_(waiting_ids))
    db.session.execute(
        sa.update(Letter)
        .where(Letter.id.in_(joined), Letter.status == "confirmed")
        .values(confirm_with_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.delete(Outbox)
        .where(Outbox.letter_id.in_(joined))
        .execution_options(synchronize_session=False)
    )
    result = db.session.execute(
        sa.delete(Letter)
        .where(sa.or_(Letter.id.in_(waiting_ids), Letter.confirm_with_id.in_(waiting_ids)))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
