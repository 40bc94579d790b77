"""Delivery benchmark: the CSV export of a million appeals, and the PDF of ten thousand.

Run by hand from the repository root (not part of the test suite):

    .venv/bin/python bench/delivery_bench.py                   # SQLite, 1,000,000 appeals
    .venv/bin/python bench/delivery_bench.py --db postgresql   # PostgreSQL on 127.0.0.1
    .venv/bin/python bench/delivery_bench.py --rows 200000 --pdf 2000   # a quicker look

It builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL
database w4r_delivery_bench, dropped and created again: never `test`) with the real
migrations and the demo campaign, then loads with one INSERT ... SELECT per case:
--rows confirmed appeals for Gustavo Gatica and a tenth as many for Germain Rukuki,
about 500 characters each (one in twenty Arabic, one in twenty Spanish, one in
twenty with emoji). Then it measures, each in a fresh process so that its peak memory is
its own:

  (a) appeals_csv for the big case: every row, encoded as a response would be
  (b) appeals_csv for the case with a tenth of the rows: memory must not grow with rows
  (c) appeals_pdf of the first --pdf appeals of the big case

For each: seconds, rows per second, and the growth of the process's peak resident memory
(ru_maxrss) during the operation, over what the process held before it (imports, app).
The CSV is also checked: as many rows as loaded, and no "@" anywhere (no email address).
The table goes to bench/results/ too. The temporary SQLite folder is removed at the end,
the PostgreSQL database dropped.
"""

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from scratch import bench_app, database_url, drop_database, migrate_and_seed  # noqa: E402 (bench/ is on the path)

PG_DATABASE = "w4r_delivery_bench"
BIG_CASE, SMALL_CASE = "gustavo-gatica", "germain-rukuki"

ENGLISH = (
    "Dear National Prosecutor,\n\nI am writing about Gustavo Gatica, a psychology student "
    "who was blinded in both eyes when police fired rubber and metal ammunition at a "
    "protest.\n\nI urge you to ensure a prompt, thorough and impartial investigation, and "
    "to bring everyone responsible to justice, including those who gave the orders. "
    "Gustavo must also receive full reparation.\n\nPeaceful protest is a right, and no one "
    "should lose their sight for exercising it.\n\nYours sincerely,"
)
SPANISH = (
    "Estimado señor Fiscal Nacional:\n\nLe escribo por Gustavo Gatica, estudiante de "
    "psicología que quedó ciego de ambos ojos cuando la policía disparó munición de goma y "
    "metal en una protesta.\n\nLe pido que garantice una investigación pronta, exhaustiva e "
    "imparcial, y que todas las personas responsables comparezcan ante la justicia.\n\n"
    "Atentamente,"
)
ARABIC = (
    "السيد النائب العام الوطني،\n\nأكتب إليكم بشأن غوستافو غاتيكا، طالب علم النفس الذي فقد "
    "بصره في كلتا عينيه عندما أطلقت الشرطة الذخيرة المطاطية والمعدنية خلال احتجاج.\n\n"
    "أحثكم على ضمان تحقيق سريع وشامل ونزيه، وتقديم جميع المسؤولين إلى العدالة.\n\n"
    "مع فائق الاحترام،"
)
EMOJI = ENGLISH + " ✊ 🕊 ❤️ 👍🏽"


INSERT_LETTERS = """
    INSERT INTO letters (case_id, kind, body, name, email, email_key, country, city,
        language, consent_privacy, consent_contact, status, moderation, counted,
        created_at, confirmed_at)
    SELECT :case_id, 'appeal',
        CASE i % 20 WHEN 0 THEN :arabic WHEN 1 THEN :spanish WHEN 2 THEN :emoji
            ELSE :english END || ' (' || i || ')',
        'Supporter ' || i, 's' || i || '@example.org', 's' || i || '@example.org',
        CASE i % 4 WHEN 0 THEN 'GB' WHEN 1 THEN 'CL' WHEN 2 THEN 'TR' ELSE 'SA' END,
        'City ' || (i % 500),
        CASE i % 20 WHEN 0 THEN 'ar' WHEN 1 THEN 'es' ELSE 'en' END,
        :yes, :no, 'confirmed', 'pending', :yes, :at, :at
    FROM n
"""


def log(message):
    print(message, file=sys.stderr, flush=True)


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


# The database ---------------------------------------------------------------------------


def load(url, folder, rows):
    """Schema from the migrations, the demo campaign, then the letters in bulk SQL."""
    import sqlalchemy as sa

    from extensions import db
    from models import Case

    app = bench_app(url, folder)
    with app.app_context():
        migrate_and_seed(app)
        cases = dict(db.session.execute(sa.select(Case.slug, Case.id)).all())
        db.session.commit()
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            numbers = (
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            )
        else:
            numbers = "WITH n(i) AS (SELECT generate_series(1, :count)) "
        insert = sa.text(numbers + INSERT_LETTERS)
        texts = {"arabic": ARABIC, "spanish": SPANISH, "emoji": EMOJI, "english": ENGLISH}
        at = datetime(2025, 11, 24, 9, 30)
        for slug, count in ((BIG_CASE, rows), (SMALL_CASE, rows // 10)):
            values = {"count": count, "case_id": cases[slug], "yes": True, "no": False, "at": at}
            db.session.execute(insert, {**values, **texts})
            db.session.commit()
        if dialect == "sqlite":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
            db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(sa.text("VACUUM ANALYZE letters"))
        db.session.remove()
        db.engine.dispose()
    return cases


# One measurement, in a process of its own ----------------------------------------------


def child(args):
    """Run one operation and print its figures as JSON."""
    import delivery
    from extensions import db

    app = bench_app(args.url, args.instance)
    with app.app_context():
        db.session.execute(db.select(1))  # connect before the baseline
        db.session.commit()
        before = peak_mb()
        start = time.perf_counter()
        if args.child == "csv":
            rows = size = 0
            emails = False
            for chunk in delivery.appeals_csv(args.case_id):
                data = chunk.encode()  # as the response sends it
                size += len(data)
                rows += chunk.count("\r\n")  # bodies hold bare \n only
                emails = emails or "@" in chunk
            rows -= 1  # the header
        else:
            data = delivery.appeals_pdf(args.case_id, limit=args.limit)
            size = len(data)
            rows = len(re.findall(rb"/Type /Page\b", data))  # pages
            emails = False
        seconds = time.perf_counter() - start
    figures = {
        "rows": rows,
        "seconds": seconds,
        "mb_out": size / 1e6,
        "peak_growth_mb": peak_mb() - before,
        "baseline_mb": before,
        "emails": emails,
    }
    print(json.dumps(figures))


def measure(what, url, folder, case_id, limit=None):
    command = [sys.executable, __file__, "--child", what, "--url", url, "--instance", folder]
    command += ["--case-id", str(case_id), "--limit", str(limit or 0)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="appeals in the big case")
    parser.add_argument("--pdf", type=int, default=10_000, help="appeals in the PDF")
    parser.add_argument("--child", choices=["csv", "pdf"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--case-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.limit = args.limit or None
        return child(args)

    folder = tempfile.mkdtemp(prefix="w4r-delivery-bench-")
    try:
        url = database_url(args.db, folder, PG_DATABASE)
        log(f"== {args.db}: loading {args.rows:,} + {args.rows // 10:,} appeals")
        started = time.perf_counter()
        cases = load(url, folder, args.rows)
        load_seconds = time.perf_counter() - started
        log(f"   loaded in {load_seconds:.1f} s")
        runs = [
            ("CSV, big case", "csv", cases[BIG_CASE], None, args.rows),
            ("CSV, a tenth", "csv", cases[SMALL_CASE], None, args.rows // 10),
            ("PDF of appeals", "pdf", cases[BIG_CASE], args.pdf, args.pdf),
        ]
        lines = [
            f"Delivery benchmark, {args.db}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
            f"{args.rows + args.rows // 10:,} letters loaded in {load_seconds:.1f} s",
            "",
            f"{'measurement':<16} {'rows':>10} {'seconds':>8} {'rows/s':>8} "
            f"{'out MB':>8} {'peak RSS growth MB':>19} {'check':>6}",
        ]
        failed = False
        for label, what, case_id, limit, expected in runs:
            log(f"== {label}")
            figures = measure(what, url, folder, case_id, limit)
            ok = figures["rows"] == expected and not figures["emails"]
            failed = failed or not ok
            lines.append(
                f"{label:<16} {figures['rows']:>10,} {figures['seconds']:>8.1f} "
                f"{figures['rows'] / figures['seconds']:>8,.0f} {figures['mb_out']:>8.1f} "
                f"{figures['peak_growth_mb']:>19.1f} {'ok' if ok else 'FAIL':>6}"
            )
        lines.append("")
        lines.append("rows: CSV data rows, or PDF pages. Peak RSS growth: ru_maxrss during the")
        lines.append("operation over the process's peak before it (imports and app, each run in")
        lines.append("a fresh process). check: rows as expected and no '@' in the CSV.")
        report = "\n".join(lines)
        print(report)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"delivery-{args.db}-{stamp}.txt").write_text(report + "\n")
        return 1 if failed else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        drop_database(args.db, PG_DATABASE)


if __name__ == "__main__":
    sys.exit(main())
