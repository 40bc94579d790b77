"""Dashboard benchmark: the staff dashboard's figures and the delivery pages over a million
letters.

Run by hand from the repository root (not part of the test suite):

    .venv/bin/python bench/dashboard_bench.py                   # SQLite, 1,000,000 letters
    .venv/bin/python bench/dashboard_bench.py --db postgresql   # PostgreSQL on 127.0.0.1
    .venv/bin/python bench/dashboard_bench.py --rows 100000     # a quicker look

It builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database
w4r_dashboard_bench, dropped and created again: never `test`) with the real migrations and
the demo campaign, then loads --rows letters with one INSERT ... SELECT: spread over 60
days with a launch-day and a press-day peak, 4 cases, 35 writer countries, a fifth of them
through 5 partners, the statuses and moderation states of a campaign under way, and one
outbox email per letter (mostly sent, some pending, a few dead). Moderators work oldest
first: the first four fifths of the letters are read, the newest fifth waits.

Then, with the dashboard's cache off, it times each query of dashboard.py and the whole
set (best and worst of --repeat runs), the dashboard and delivery pages as an admin's
browser gets them, the same dashboard from the cache, and the batches of the biggest
case; and prints each query's plan, to show which index it reads. The report goes to
bench/results/ too. --keep leaves the database for another run with --reuse.
"""

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from scratch import bench_app, database_url, drop_database, migrate_and_seed  # noqa: E402 (bench/ is on the path)

sys.path.insert(0, str(ROOT / "tests"))

PG_DATABASE = "w4r_dashboard_bench"
KEPT_SQLITE = Path(tempfile.gettempdir()) / "w4r-dashboard-bench"
BODY = (
    "Dear Minister,\n\nI am writing to urge you to release this human rights defender at "
    "once and without conditions, and to drop every charge brought for peaceful activism. "
    "Until then, please ensure that they are protected from torture and other ill-treatment, "
    "and have regular access to their family, a lawyer of their choosing and any medical "
    "care they need.\n\nYours sincerely,"
)

# i is 1..count. Day 0 is launch day (15 % of letters), day 20 a press story (10 %).
LETTERS = """
    INSERT INTO letters (case_id, kind, body, name, email, email_key, country, city,
        language, consent_privacy, consent_contact, status, moderation, counted,
        created_at, confirmed_at, partner_id, flags, flagged, fingerprint, reject_reason)
    SELECT
        CASE i % 10 WHEN 0 THEN :c1 WHEN 1 THEN :c1 WHEN 2 THEN :c2 WHEN 3 THEN :c3
            WHEN 4 THEN :c4 ELSE :c1 END,
        CASE WHEN i % 20 < 11 THEN 'appeal' ELSE 'solidarity' END,
        :body || ' (' || i || ')',
        'Supporter ' || i, 's' || i || '@example.org', 's' || i || '@example.org',
        CASE WHEN i % 3 = 0 THEN 'GB' WHEN i % 7 = 0 THEN 'CL' ELSE
            substr('DEFRESITNLBEATCHSEDKNOFIPLPTIEUSCAMXBRARPECOAUNZJPKRINZATRMAKEGHNG',
                   1 + 2 * ((i * 7) % 33), 2) END,
        'City ' || (i % 500), 'en', :yes, :no,
        CASE WHEN i % 25 < 20 THEN 'confirmed' WHEN i % 25 < 23 THEN 'unconfirmed'
            ELSE 'repeat' END,
        CASE WHEN i > :count * 4 / 5 THEN 'pending'
            WHEN i % 20 >= 11 AND i % 100 >= 93 THEN 'rejected'
            WHEN i % 100 >= 98 THEN 'rejected'
            ELSE 'approved' END,
        CASE WHEN i % 25 < 19 THEN :yes ELSE :no END,
        {at}, CASE WHEN i % 25 < 20 THEN {at} END,
        CASE WHEN i % 5 = 0 THEN :p1 + (i / 5) % 5 END,
        '', :no, '', ''
    FROM n
"""
EMAILS = """
    INSERT INTO outbox (recipient, template, state, attempts, next_attempt_at, last_error,
                        created_at, sent_at, letter_id)
    SELECT email, 'confirm',
        CASE WHEN id % 100 < 97 THEN 'sent' WHEN id % 100 < 99 THEN 'pending' ELSE 'dead' END,
        1, created_at, CASE WHEN id % 100 = 99 THEN '550 mailbox unavailable' ELSE '' END,
        created_at, created_at, id
    FROM letters
"""
AT = {
    "sqlite": "datetime('2026-09-26', '+' || CASE WHEN i % 100 < 15 THEN 0 "
    "WHEN i % 100 < 25 THEN 20 ELSE (i * 37) % 60 END || ' days', '+' || ((i * 7) % 86400) || "
    "' seconds')",
    "postgresql": "timestamp '2026-09-26' + make_interval(days => CASE WHEN i % 100 < 15 "
    "THEN 0 WHEN i % 100 < 25 THEN 20 ELSE (i * 37) % 60 END, secs => (i * 7) % 86400)",
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def load(app, rows):
    """Schema from the migrations, the demo campaign, partners, letters and emails."""
    import sqlalchemy as sa

    from extensions import db
    from models import Case, Partner

    with app.app_context():
        migrate_and_seed(app)
        for n in range(5):
            db.session.add(Partner(slug=f"partner-{n}", name=f"Partner group {n}"))
        db.session.commit()
        case_ids = db.session.scalars(sa.select(Case.id).order_by(Case.sort_order, Case.id))
        cases = {f"c{n}": case_id for n, case_id in enumerate(case_ids, 1)}
        partner_one = db.session.scalar(sa.select(sa.func.min(Partner.id)))
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            numbers = (
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            )
        else:
            numbers = "WITH n(i) AS (SELECT generate_series(1, :count)) "
        values = {"count": rows, "body": BODY, "yes": True, "no": False, "p1": partner_one}
        db.session.execute(sa.text(numbers + LETTERS.format(at=AT[dialect])), {**values, **cases})
        db.session.execute(sa.text(EMAILS))
        db.session.commit()
        if dialect == "sqlite":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
            db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(sa.text("VACUUM ANALYZE"))
        db.session.remove()


def timed(function, repeat):
    """(best, worst) seconds over `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), max(times), result


def plan(statement):
    """How the database answers `statement`, one line per step."""
    import sqlalchemy as sa

    from extensions import db

    dialect = db.engine.dialect
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "sqlite":
        rows = db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)).all()
        return [row[-1] for row in rows]
    return [row[0] for row in db.session.execute(sa.text("EXPLAIN " + sql)).all()]


def statements():
    """The dashboard's statements that read many rows, for their plans."""
    import sqlalchemy as sa

    from models import Outbox
    from staff import dashboard

    return {
        "letter groups": dashboard.groups_statement(),
        "by day": dashboard.days_statement(),
        "first in queue": dashboard.first_in_line_statement("appeal", False),
        "outbox": sa.select(Outbox.state, sa.func.count()).group_by(Outbox.state),
        "outbox oldest": dashboard.oldest_email_statement(),
    }


def measure(app, repeat):
    """The report's lines."""
    import sqlalchemy as sa
    from helpers import staff_client

    import delivery
    from extensions import db
    from models import Case, Letter
    from staff import dashboard

    lines = []

    def line(label, best, worst, note=""):
        lines.append(f"{label:<40} {best * 1000:>9.0f} {worst * 1000:>9.0f}  {note}")

    with app.app_context():
        letters = db.session.scalar(sa.select(sa.func.count()).select_from(Letter))
        lines.append(f"{letters:,} letters")
        lines.append("")
        lines.append(f"{'measurement':<40} {'best ms':>9} {'worst ms':>9}")
        for label, function in [
            ("letter_groups (case, country, partner)", dashboard.letter_groups),
            ("letters_by_day", dashboard.letters_by_day),
            ("first_in_queue", dashboard.first_in_queue),
            ("outbox_figures", dashboard.outbox_figures),
            ("collect (every figure)", dashboard.collect),
        ]:
            best, worst, _result = timed(function, repeat)
            db.session.rollback()
            line(label, best, worst)
        big_case = db.session.scalar(
            sa.select(Letter.case_id).group_by(Letter.case_id).order_by(sa.func.count().desc())
        )
        size = app.config["DELIVERY_PDF_BATCH"]
        best, worst, batches = timed(lambda: delivery.appeal_batches(big_case, size), repeat)
        line("appeal_batches (biggest case)", best, worst, f"{len(batches)} batches")
        after, last, _count = batches[len(batches) // 2]
        best, worst, _n = timed(lambda: delivery.appeals_in_range(big_case, after, last), repeat)
        line("appeals_in_range (one batch)", best, worst)
        slug = db.session.get(Case, big_case).slug
        db.session.rollback()

    email = f"bench-{time.time_ns()}@example.org"  # a new one when the database is reused
    client = staff_client(app, "admin", email)  # signed in, second step included
    pages = [
        ("GET /admin/dashboard", "/admin/dashboard"),
        ("GET /admin/delivery", "/admin/delivery"),
        (f"GET /admin/delivery/{big_case}", f"/admin/delivery/{big_case}"),
    ]
    for label, path in pages:
        best, worst, response = timed(lambda path=path: client.get(path), repeat)
        assert response.status_code == 200, (path, response.status_code)
        line(label, best, worst, f"{len(response.data) / 1000:.0f} kB")
    app.config["DASHBOARD_CACHE_SECONDS"] = 30
    client.get("/admin/dashboard")
    best, worst, response = timed(lambda: client.get("/admin/dashboard"), repeat)
    line("GET /admin/dashboard, cached", best, worst)
    lines.append("")
    lines.append(f"(the biggest case is {slug}; batches of {size} appeals)")

    with app.app_context():
        lines.append("")
        lines.append("Plans:")
        for label, statement in statements().items():
            lines.append(f"  {label}:")
            lines += [f"    {step}" for step in plan(statement)]
        db.session.rollback()
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="letters to load")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--keep", action="store_true", help="leave the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use the database --keep left")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="w4r-dashboard-bench-")
    data = KEPT_SQLITE if args.keep or args.reuse else Path(folder)
    data.mkdir(exist_ok=True)
    try:
        url = database_url(args.db, data, PG_DATABASE, args.reuse)
        app = bench_app(url, folder, DASHBOARD_CACHE_SECONDS=0)
        load_note = "reused"
        if not args.reuse:
            log(f"== {args.db}: loading {args.rows:,} letters and their emails")
            started = time.perf_counter()
            load(app, args.rows)
            load_note = f"loaded in {time.perf_counter() - started:.0f} s"
            log(f"   {load_note}")
        lines = [
            f"Dashboard benchmark, {args.db}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
            f"({load_note}); dashboard cache off unless said",
        ]
        lines += measure(app, args.repeat)
        report = "\n".join(lines)
        print(report)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"dashboard-{args.db}-{stamp}.txt").write_text(report + "\n")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if not args.keep:
            if data == KEPT_SQLITE:
                shutil.rmtree(KEPT_SQLITE, ignore_errors=True)
            drop_database(args.db, PG_DATABASE)


if __name__ == "__main__":
    main()
