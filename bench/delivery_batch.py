"""Delivery batch benchmark: making a batch of 100,000 appeals with a million letters stored.

Run by hand from the repository root (not part of the test suite):

    .venv/bin/python bench/delivery_batch.py                   # SQLite
    .venv/bin/python bench/delivery_batch.py --db postgresql   # PostgreSQL on 127.0.0.1
    .venv/bin/python bench/delivery_batch.py --total 200000    # a quicker look

It builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL
database test_batch_bench or --pg-database, dropped and created again) with the real
migrations and the demo campaign, then loads --total letters with one INSERT ... SELECT:
--appeals deliverable appeals to one case (approved or unread and unflagged), beside them
that case's flagged unread appeals (held), rejected ones and solidarity messages, and
the rest to the other cases. Then it times, through delivery/batches.py as the admin
pages call it:

- waiting: the "N appeals are ready and in no batch yet" figure of the case's page;
- make_batch: one UPDATE freezing every waiting appeal (the figure the issue asks for);
- the batch page's figures: batch_count and parts (DELIVERY_PDF_BATCH letters a PDF);
- cancel (frees them all), make_batch again, then mark_sent (writes every letter of
  the batch, so a moderator's decision in flight waits for it or sees it sent);
- waiting again with 100,000 letters in a sent batch, and the plan of make_batch's select.
"""

import argparse
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from news_queue import analyse, server_cpu  # noqa: E402
from scratch import (  # noqa: E402
    bench_app,
    database_url,
    drop_database,
    log,
    migrate_and_seed,
    plan,
    timed,
)

PG_DATABASE = "test_batch_bench"

# i is the letter's number. The first :span letters belong to the case, where 1 in 10 is
# a solidarity message, 1 in 50 a rejected appeal, 1 in 40 a flagged unread appeal (held)
# and the others deliverable appeals (every third approved, the rest unread). The letters
# after :span go to the other cases, both kinds, every state.
INSERT_LETTERS = """
    INSERT INTO letters (case_id, kind, body, name, email, email_key, country, city,
        language, locale, consent_privacy, consent_contact, status, moderation, counted,
        created_at, confirmed_at, flags, flagged, fingerprint, reject_reason, privacy_version)
    SELECT
        CASE WHEN i <= :span THEN :case_id ELSE :other_case + (i % 3) END,
        CASE WHEN i % 10 = 1 THEN 'solidarity' ELSE 'appeal' END,
        'Please release him at once. ' || i,
        'Supporter ' || i,
        'writer' || i || '@example.org',
        'writer' || i || '@example.org',
        'GB', 'City', 'en', 'en', :yes, :no,
        CASE WHEN i > :span AND i % 7 = 0 THEN 'unconfirmed' ELSE 'confirmed' END,
        CASE WHEN i % 50 = 2 THEN 'rejected' WHEN i % 3 = 0 THEN 'approved' ELSE 'pending' END,
        :yes, :at, :at,
        CASE WHEN i % 40 = 3 THEN 'link' ELSE '' END,
        CASE WHEN i % 40 = 3 THEN :yes ELSE :no END,
        '', '', '1'
    FROM n
"""


def load(app, appeals, total):
    """Schema, demo campaign, an admin, the case's confirmed address, then the letters."""
    import sqlalchemy as sa

    from delivery import batches
    from extensions import db
    from models import Case, Letter, StaffUser

    with app.app_context():
        migrate_and_seed(app)
        case_id, other_case = db.session.scalars(
            sa.select(Case.id).order_by(Case.sort_order).limit(2)
        ).all()
        db.session.get(Case, case_id).target_address = "Catedral 1437\nSantiago, Chile"
        admin = StaffUser(email="admin@example.org", role="admin")
        admin.set_password("bench password, not secret")
        db.session.add(admin)
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            numbers = "WITH RECURSIVE n(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM n WHERE i < :end) "
        else:
            numbers = "WITH n(i) AS (SELECT generate_series(:start, :end)) "
        span = int(appeals / 0.82) + 1  # about 0.86 of the case's letters are deliverable
        values = {
            "start": 1,
            "end": total,
            "span": span,
            "case_id": case_id,
            "other_case": other_case,
            "yes": True,
            "no": False,
            "at": datetime(2025, 11, 24, 9, 30),
        }
        db.session.execute(sa.text(numbers + INSERT_LETTERS), values)
        db.session.commit()
        waiting = batches.waiting(case_id, "appeal")
        if waiting > appeals:  # exactly `appeals`: the newest extra ones rejected
            surplus = (
                sa.select(Letter.id)
                .where(batches.free_letters(case_id, "appeal"))
                .order_by(Letter.id.desc())
                .limit(waiting - appeals)
            )
            db.session.execute(
                sa.update(Letter)
                .where(Letter.id.in_(surplus.scalar_subquery()))
                .values(moderation="rejected")
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
        analyse(db, sa, "letters")
        ids = case_id, admin.id
        db.session.remove()
        db.engine.dispose()
    return ids


def measure(app, case_id, admin_id):
    import sqlalchemy as sa
    from flask import current_app

    from delivery import batches
    from extensions import db
    from models import Case, Letter, StaffUser, utcnow

    lines = []
    with app.app_context():
        case = db.session.get(Case, case_id)
        staff = db.session.get(StaffUser, admin_id)
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Letter))
        lines.append(f"letters stored: {stored:,}")
        seconds, waiting = timed(batches.waiting, case_id, "appeal")
        lines.append(f"waiting (case page):            {seconds:7.3f} s  {waiting:,} appeals")
        server, load = server_cpu(db, sa), os.getloadavg()[0]
        seconds, batch = timed(batches.make_batch, case, "appeal", staff)
        lines.append(
            f"make_batch:                     {seconds:7.3f} s  {batch.letters:,} appeals frozen "
            f"(database server CPU {server():.2f} s; load {load:.1f} on {os.cpu_count()} CPUs)"
        )
        seconds, count = timed(batches.batch_count, batch)
        lines.append(f"batch_count (batch page):       {seconds:7.3f} s  {count:,}")
        size = current_app.config["DELIVERY_PDF_BATCH"]
        seconds, parts = timed(batches.parts, batch, size)
        lines.append(
            f"parts (batch page):             {seconds:7.3f} s  {len(parts)} PDFs of {size}"
        )
        seconds, freed = timed(batches.cancel, batch, staff)
        lines.append(f"cancel:                         {seconds:7.3f} s  {freed:,} letters freed")
        seconds, batch = timed(batches.make_batch, case, "appeal", staff)
        lines.append(f"make_batch again:               {seconds:7.3f} s  {batch.letters:,}")
        seconds, _batch = timed(batches.mark_sent, batch, staff, utcnow().date(), "post")
        lines.append(f"mark_sent:                      {seconds:7.3f} s")
        seconds, waiting = timed(batches.waiting, case_id, "appeal")
        lines.append(f"waiting, after the send:        {seconds:7.3f} s  {waiting:,}")
        seconds, delivered = timed(batches.delivered_by_case)
        lines.append(f"delivered_by_case (/api/stats): {seconds:7.3f} s  {delivered}")
        lines += explain(db, sa, batches, case_id, Letter)
        db.session.remove()
    return lines


def explain(db, sa, batches, case_id, letter):
    """The plan of make_batch's select of the free letters."""
    statement = (
        sa.select(letter.id)
        .where(batches.free_letters(case_id, "appeal"))
        .order_by(letter.id)
        .limit(None)
    )
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    return plan(db, sa, "make_batch's select", sql)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--appeals", type=int, default=100_000, help="deliverable appeals")
    parser.add_argument("--total", type=int, default=1_000_000, help="letters stored")
    parser.add_argument("--pg-database", default=PG_DATABASE, help="dropped and made again")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="w4r-batch-bench-")
    try:
        url = database_url(args.db, folder, args.pg_database)
        app = bench_app(url, folder)
        log(f"== {args.db}: loading {args.total:,} letters, {args.appeals:,} appeals to batch")
        seconds, (case_id, admin_id) = timed(load, app, args.appeals, args.total)
        log(f"   loaded in {seconds:.1f} s")
        app = bench_app(url, folder)  # a fresh pool, as a server process starts
        lines = [
            f"Delivery batch benchmark, {args.db}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
            f"loaded in {seconds:.1f} s",
            *measure(app, case_id, admin_id),
        ]
        print("\n".join(lines))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if args.db == "postgresql":
            drop_database(args.db, args.pg_database)


if __name__ == "__main__":
    main()
