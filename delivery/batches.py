"""Delivery batches as records (models.DeliveryBatch): which letters a batch holds, and
what was delivered. A letter is in at most one prepared or sent batch (its
delivery_batch_id); a letter in a sent batch was delivered and is no longer re-moderated.
"""

import sqlalchemy as sa

from extensions import db
from models import DeliveryBatch, Letter


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
