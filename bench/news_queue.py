"""Case news benchmark: queuing an update for a million writers, and reading its progress.

Run by hand from the repository root (not part of the test suite):

    .venv/bin/python bench/news_queue.py                   # SQLite, 1,000,000 writers
    .venv/bin/python bench/news_queue.py --db postgresql   # PostgreSQL on 127.0.0.1
    .venv/bin/python bench/news_queue.py --rows 100000     # a quicker look

It builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL
database test_news_bench or --pg-database, dropped and created again) with the real migrations and the
demo campaign, then loads --rows confirmed letters to one case with one INSERT ... SELECT:
each from its own address, in five page languages, plus --others letters to other cases,
unconfirmed ones and erased ones that must not be emailed. Then it times, through
mail/news.py as the admin page calls it:

- recipient_count: the "N addresses would get it" figure on the update's page;
- queue_update: the admin's Send, which only records the request;
- the mail worker's queueing (news.queue_batch until the update is queued, as the
  worker's passes do it): one outbox row per address, in transactions of BATCH_LETTERS
  letter ids (the goal is under 60 s for a million end to end, without loading the
  writers into this process: its peak memory is printed before and after), and the
  longest of these transactions (on SQLite, the longest wait of a letter submitted
  meanwhile);
- progress: the progress bar's GROUP BY, right after queuing, and again once half the
  emails are marked sent (as the worker leaves them) and the table was analysed.
"""

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import (  # noqa: E402
    bench_app,
    database_url,
    drop_database,
    log,
    migrate_and_seed,
    plan,
    timed,
)

PG_DATABASE = "test_news_bench"
GOAL_SECONDS = 60

# i is the letter's number. Writers of the case: confirmed, one address each, five page
# languages (one in fifty on a language the site no longer has: it goes out in English).
INSERT_LETTERS = """
    INSERT INTO letters (case_id, kind, body, name, email, email_key, country, city,
        language, locale, consent_privacy, consent_contact, status, moderation, counted,
        created_at, confirmed_at, flags, flagged, fingerprint, reject_reason, privacy_version)
    SELECT
        CASE WHEN i <= :rows THEN :case_id ELSE :other_case END,
        CASE WHEN i % 3 = 0 THEN 'appeal' ELSE 'solidarity' END,
        'Stay strong, we are thinking of you. ' || i,
        'Supporter ' || i,
        CASE WHEN i % 97 = 5 AND i <= :rows THEN '' ELSE 'Writer' || i || '@example.org' END,
        CASE WHEN i % 97 = 5 AND i <= :rows THEN 'erased:' || i
             ELSE 'writer' || i || '@example.org' END,
        'GB', 'City', 'en',
        CASE WHEN i % 50 = 7 THEN 'de'
             ELSE CASE i % 5 WHEN 0 THEN 'en' WHEN 1 THEN 'es' WHEN 2 THEN 'ar' WHEN 3 THEN 'tr'
                  ELSE 'fr' END END,
        :yes, :no,
        CASE WHEN i % 89 = 3 THEN 'unconfirmed' ELSE 'confirmed' END,
        'approved', i % 89 <> 3, :at, :at, '', :no, '', '', '1'
    FROM n
"""


def peak_mb():
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(app, rows, others):
    """Schema, demo campaign, an admin, a published update, then the letters."""
    import sqlalchemy as sa

    from extensions import db
    from models import Case, CaseUpdate, StaffUser, utcnow

    with app.app_context():
        migrate_and_seed(app)
        case_id, other_case = db.session.scalars(
            sa.select(Case.id).order_by(Case.sort_order).limit(2)
        ).all()
        admin = StaffUser(email="admin@example.org", role="admin")
        admin.set_password("bench password, not secret")
        update = CaseUpdate(
            case_id=case_id,
            title="Released",
            body="Thank you for writing.",
            translations={"es": {"title": "Liberado", "body": "Gracias por escribir."}},
            happened_on=date(2026, 11, 30),
            published_at=utcnow(),
        )
        db.session.add_all([admin, update])
        db.session.commit()
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            numbers = (
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            )
        else:
            numbers = "WITH n(i) AS (SELECT generate_series(1, :count)) "
        values = {
            "count": rows + others,
            "rows": rows,
            "case_id": case_id,
            "other_case": other_case,
            "yes": True,
            "no": False,
            "at": datetime(2025, 11, 24, 9, 30),
        }
        db.session.execute(sa.text(numbers + INSERT_LETTERS), values)
        db.session.commit()
        analyse(db, sa, "letters")
        ids = update.id, admin.id
        db.session.remove()
        db.engine.dispose()
    return ids


def analyse(db, sa, table):
    if db.engine.dialect.name == "sqlite":
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text(f"VACUUM ANALYZE {table}"))


def server_cpu(db, sa):
    """A function that tells the CPU seconds the database's own process has spent since:
    on a machine busy with other work the wall-clock time says more about the others.
    PostgreSQL on this machine only (its backend's /proc entry); SQLite runs in this
    process, whose time is the wall-clock time."""
    if db.engine.dialect.name != "postgresql":
        return lambda: float("nan")
    pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    db.session.commit()

    def seconds():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    start = seconds()
    return lambda: seconds() - start


def progress_times(update, repeat=5):
    from mail import news

    times = [timed(news.progress, update)[0] for _ in range(repeat)]
    return statistics.median(times), max(times)


def queue_in_worker(db, news):
    """What the mail worker does over its passes: batches until the update is queued.
    Returns each batch's seconds (one transaction each)."""
    times = []
    while True:
        seconds, queued = timed(news.queue_batch, lambda _line: None)
        if not queued:
            return times
        times.append(seconds)


def measure(app, update_id, admin_id):
    import sqlalchemy as sa

    from extensions import db
    from mail import news
    from models import CaseUpdate, Outbox, StaffUser

    lines = []
    with app.app_context():
        update = db.session.get(CaseUpdate, update_id)
        staff = db.session.get(StaffUser, admin_id)
        seconds, count = timed(news.recipient_count, update.case_id)
        lines.append(f"recipient_count (update page):     {seconds:7.2f} s  {count:,} addresses")
        seconds, _none = timed(news.queue_update, update, staff)
        lines.append(f"queue_update (the admin's Send):   {seconds:7.3f} s  (records the request)")
        before, server, load = peak_mb(), server_cpu(db, sa), os.getloadavg()[0]
        seconds, batches = timed(queue_in_worker, db, news)
        update = db.session.get(CaseUpdate, update_id)
        counts = update.recipients
        lines.append(
            f"worker queueing, end to end:       {seconds:7.2f} s  {sum(counts.values()):,} "
            f"emails queued in {len(batches)} transactions of {news.BATCH_LETTERS:,} letter ids"
        )
        lines.append(
            f"  longest transaction {max(batches):.2f} s, median {statistics.median(batches):.2f} s"
            " (how long letters submitted meanwhile may wait, on SQLite)"
        )
        lines.append(
            f"  CPU of the database server's process: {server():.1f} s; machine load average "
            f"{load:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs"
        )
        lines.append(f"  per language: {dict(sorted(counts.items()))}")
        lines.append(
            f"  goal {GOAL_SECONDS} s: {'ok' if seconds < GOAL_SECONDS else 'OVER'}; "
            f"peak memory of this process {before:.0f} MB before, {peak_mb():.0f} MB after"
        )
        update = db.session.get(CaseUpdate, update_id)
        median, top = progress_times(update)
        lines.append(f"progress, just queued:             {median:7.3f} s median, {top:.3f} s max")
        figures = news.progress(update)["total"]
        lines.append(f"  {figures}")
        db.session.execute(
            sa.update(Outbox)
            .where(Outbox.case_update_id == update_id, Outbox.id % 2 == 0)
            .values(state="sent")
        )
        db.session.commit()
        analyse(db, sa, "outbox")
        median, top = progress_times(update)
        lines.append(f"progress, half sent, analysed:     {median:7.3f} s median, {top:.3f} s max")
        lines.append(f"  {news.progress(update)['total']}")
        lines += explain(db, sa, update_id)
        db.session.remove()
    return lines


def explain(db, sa, update_id):
    """The progress query's plan: the progress index, read alone."""
    query = (
        "SELECT language, state, count(*) FROM outbox "
        "WHERE case_update_id = :id AND template = 'news' GROUP BY language, state"
    )
    return plan(db, sa, "progress()", query, {"id": update_id})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="letters to the case")
    parser.add_argument("--others", type=int, default=50_000, help="letters to another case")
    parser.add_argument("--pg-database", default=PG_DATABASE, help="dropped and made again")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="w4r-news-bench-")
    try:
        url = database_url(args.db, folder, args.pg_database)
        app = bench_app(url, folder)
        log(f"== {args.db}: loading {args.rows:,} + {args.others:,} letters")
        seconds, (update_id, admin_id) = timed(load, app, args.rows, args.others)
        log(f"   loaded in {seconds:.1f} s")
        app = bench_app(url, folder)  # a fresh pool, as a server process starts
        lines = [
            f"News queue benchmark, {args.db}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
            f"{args.rows:,} letters to the case (1 in 97 erased, 1 in 89 unconfirmed), "
            f"{args.others:,} to another case; loaded in {seconds:.1f} s",
            "",
            *measure(app, update_id, admin_id),
        ]
        print("\n".join(lines))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if args.db == "postgresql":
            drop_database(args.db, args.pg_database)


if __name__ == "__main__":
    main()
