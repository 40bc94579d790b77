"""Delivery batches: which letters went to the official or the person, when and how."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.campaign import Case, utcnow

# prepared: its letters are frozen and its files can be made; sent: delivered (on sent_on,
# by method), its letters can no longer be re-moderated; cancelled: its letters are free
# for the next batch.
BATCH_STATES = ("prepared", "sent", "cancelled")
BATCH_KINDS = ("appeal", "solidarity")  # appeals to the official, or a booklet volume
SEND_METHODS = ("post", "email", "hand")
BATCH_NOTE_MAX = 500


class DeliveryBatch(db.Model):
    """One batch of a case's letters of one kind. Its letters are those whose
    Letter.delivery_batch_id points to it, set when it is made and cleared if it is
    cancelled, so a letter is in at most one prepared or sent batch."""

    __tablename__ = "delivery_batches"
    __table_args__ = (sa.Index("ix_delivery_batches_case_kind", "case_id", "kind", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    number: Mapped[int] = mapped_column(default=1)  # per case and kind: "Appeals, batch 3"
    state: Mapped[str] = mapped_column(sa.String(20), default="prepared")
    letters: Mapped[int] = mapped_column(default=0)  # how many it froze when made
    first_letter_id: Mapped[int | None]
    last_letter_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    # Sent: the day it went, how, and staff's note ("registered post RR123…").
    sent_on: Mapped[date | None]
    method: Mapped[str] = mapped_column(sa.String(20), default="")
    note: Mapped[str] = mapped_column(sa.String(BATCH_NOTE_MAX), default="")
    sent_recorded_at: Mapped[datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    # An appeals batch emailed to the official (Case.target_email) through the outbox.
    emailed_to: Mapped[str] = mapped_column(sa.String(254), default="")
    emailed_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
