"""The letter counters: sharded rows per case, so a count never scans the letters."""

import sqlalchemy as sa

from extensions import db, dialect_insert
from models import Case, CaseCounter, OfflineReport


def add_to_counter(case_id, n=1):
    """Add to one random shard of the case's counter (an upsert on both databases)."""
    statement = dialect_insert()(CaseCounter).values(
        case_id=case_id, shard=CaseCounter.random_shard(), count=n
    )
    statement = statement.on_conflict_do_update(
        index_elements=["case_id", "shard"],
        set_={"count": CaseCounter.count + statement.excluded.count},
    )
    db.session.execute(statement)


def counts_by_case():
    """{case_id: confirmed letters}: sums a few counter rows per case, never the letters."""
    rows = db.session.execute(
        sa.select(CaseCounter.case_id, sa.func.sum(CaseCounter.count)).group_by(CaseCounter.case_id)
    )
    return {case_id: int(total) for case_id, total in rows}


def case_count(case_id):
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CaseCounter.count), 0)).where(
            CaseCounter.case_id == case_id
        )
    )
    return int(total)


def total_count():
    """Confirmed letters across the published cases."""
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CaseCounter.count), 0))
        .join(Case, Case.id == CaseCounter.case_id)
        .where(Case.status != "draft")
    )
    return int(total)


def offline_by_case():
    """{case_id: {"appeal": letters, "solidarity": letters}} written offline, from the
    approved reports (models.OfflineReport): a few rows per case."""
    rows = db.session.execute(
        sa.select(
            OfflineReport.case_id,
            sa.func.sum(OfflineReport.appeals),
            sa.func.sum(OfflineReport.solidarity),
        )
        .where(OfflineReport.state == "approved")
        .group_by(OfflineReport.case_id)
    )
    return {
        case_id: {"appeal": int(appeals or 0), "solidarity": int(solidarity or 0)}
        for case_id, appeals, solidarity in rows
    }
