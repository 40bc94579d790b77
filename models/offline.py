"""Letters written offline (at a stall, a school, a local group's evening) that organisers
report afterwards: counted once staff approve the report."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.campaign import Case, Partner, utcnow

# submitted: waiting for staff; correction: staff asked the reporter to correct it;
# approved: counted; rejected: not counted, with the reason; withdrawn: by its reporter.
REPORT_STATES = ("submitted", "correction", "approved", "rejected", "withdrawn")
EVENT_MAX = 200
TOWN_MAX = 100
NOTE_MAX = 500


class OfflineReport(db.Model):
    """How many appeals and solidarity cards were written for one case at one event."""

    __tablename__ = "offline_reports"
    __table_args__ = (
        # The counters: approved reports' sums per case.
        sa.Index("ix_offline_reports_state_case", "state", "case_id"),
        # Duplicates: the same partner, case and date (and event, compared folded).
        sa.Index("ix_offline_reports_same", "partner_id", "case_id", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    # Reported by a partner through its stats page, or by staff (partner_id None, or a
    # partner's report that staff typed in for it).
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partners.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    appeals: Mapped[int] = mapped_column(default=0)
    solidarity: Mapped[int] = mapped_column(default=0)
    event: Mapped[str] = mapped_column(sa.String(EVENT_MAX))
    town: Mapped[str] = mapped_column(sa.String(TOWN_MAX), default="")
    country: Mapped[str] = mapped_column(sa.String(2))  # ISO 3166-1 alpha-2
    held_on: Mapped[date]
    photo: Mapped[str | None] = mapped_column(sa.String(200))  # as Case.photo: cleaned file
    state: Mapped[str] = mapped_column(sa.String(20), default="submitted")
    # Staff's words to the reporter: what to correct, or why it was rejected.
    review_note: Mapped[str] = mapped_column(sa.String(NOTE_MAX), default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    case: Mapped[Case] = relationship()
    partner: Mapped[Partner | None] = relationship()
