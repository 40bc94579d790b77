"""HTTP benchmark: the real app under gunicorn, and behind nginx, measured with wrk
against a bare Flask app and against nginx serving a static file (issue 11).

Run from the repository root (wrk and nginx must be installed, PostgreSQL must answer on
127.0.0.1:5432 as user postgres for --db postgresql):

    .venv/bin/python bench/http_bench.py                 # both databases, 3 rounds of 10 s
    .venv/bin/python bench/http_bench.py --duration 5 --db sqlite --rounds 5

For each database (a SQLite file in a temporary folder; the PostgreSQL database
w4r_bench, dropped and created again) it builds the schema with
`flask --app app db upgrade` and `flask --app app seed`, then serves with the shipped
gunicorn.conf.py and measures, with `wrk --latency` (after a short warm-up):

  (a) GET /                        on bench/bare_app.py, the smallest Flask app
  (b) GET /cases/gustavo-gatica    the case page, straight from gunicorn
  (e) GET /cases/gustavo-gatica    the same, through nginx started with deploy/nginx.conf
                                   (filled in by deploy/render_nginx_conf.py, run as its
                                   comment says) in front of that gunicorn; the share of
                                   each X-Cache-Status (HIT, MISS, ...) is reported
  (f) GET /static/bench-case-page.html
                                   the same nginx serving, from /static/, a file holding
                                   the case page's HTML: the most that nginx could do
  (c) POST /cases/gustavo-gatica/letters/appeal
                                   one letter per request, sent as a browser sends the
                                   form (Sec-Fetch-Site: same-origin, Origin: BASE_URL,
                                   the form's hidden fields, and its cookie if the page
                                   set one) with a new email address each time
                                   (bench/wrk_submit.lua). Every answer must be the 303 to
                                   the thanks page, and the letters table must grow by as
                                   many rows: anything else is reported (checks column,
                                   exit status 1).
  (d) GET /cases/gustavo-gatica    again, after loading 1,000,000 letters with SQL
                                   (80 % confirmed and counted, with matching case_counters)
                                   and restarting gunicorn.

Without deploy/nginx.conf (older code), (e) and (f) are left out. wrk asks for no
compression, so the case page and the static file are sent as they are, by the app
and by nginx alike.

Throughput on a small machine varies by as much as a quarter from one gunicorn start to
the next, so each measurement is taken --rounds times (3 unless told), on a freshly
started gunicorn (and nginx, with an empty cache) each time, interleaved: round 1
measures (a), (b), (e), (f) and (c), round 2 the same again, and so on; the letters are
then loaded once, and (d) is measured --rounds times, gunicorn started anew for each.
Every round runs the checks of its own. (The unconfirmed letters of earlier rounds of
(c) stay in the table: the case page only reads case_counters, which they do not change.)

It prints, for each measurement, the median requests/s over the rounds with their
min-max range, the median p50 and p99 latencies and the median server CPU per request;
the ratios b/a, c/a, d/b and e/f are taken between medians and marked PASS or FAIL
against TARGETS in bench/http_report.py. The summary goes to bench/results/ too: text,
and JSON holding every round's numbers as well.

Two more columns help on a small or shared machine: the servers' CPU time per request
(the process groups of gunicorn and nginx, plus the PostgreSQL backends), which changes
little with outside load, and "other %", the CPU that processes outside the benchmark
took meanwhile (the highest of the rounds). A round disturbed by them (over 10 %) is run
again, at most --retries times, and the quietest run is kept for that round. The exit
status is 1 when a check failed in any round (wrong answers, missing rows, a crash);
targets that fail do not change it.

Its parts: bench/http_servers.py (gunicorn, nginx), http_wrk.py (wrk, CPU), http_letters.py
(the letters of (c)), http_databases.py (schema, the million letters), http_report.py
(summary, targets), http_common.py.

The app's instance folder (instance/ in the repository) is left as it is: with
DATABASE_URL set it only holds mail files, which only the mail worker writes, and no
mail worker runs here. Only 127.0.0.1 is contacted. Every server started here runs in
its own process group and is stopped at the end, even on errors or Ctrl-C.
"""

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from http_common import CASE_PATH, CASE_SLUG, RESULTS, ROOT, CheckFailed, log
from http_databases import LETTERS_TO_LOAD, PostgresDatabase, SQLiteDatabase
from http_letters import measure_submit
from http_report import LABELS, ratios, summarize, summary_text, write_report
from http_servers import (
    NGINX,
    NGINX_CONF,
    Gunicorn,
    Nginx,
    flask_command,
    http_request,
    stop_everything,
)
from http_wrk import measure_get

STATIC_FILE = "bench-case-page.html"


def on_sigterm(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


# Measurements -----------------------------------------------------------------------------


def measure_nginx(args, app_server, log_name):
    """(e) the case page through nginx in front of app_server, and (f) the same nginx
    serving a static file holding that page; with the page's size in bytes."""
    _status, _headers, page = http_request(app_server.port, "GET", CASE_PATH)
    with Nginx(app_server, args.nginx_conf, {STATIC_FILE: page}, log_name) as nginx:
        status, _headers, copy = http_request(nginx.port, "GET", f"/static/{STATIC_FILE}")
        if status != 200 or copy != page:
            raise CheckFailed(
                f"nginx answered {status} for /static/{STATIC_FILE}: does deploy/nginx.conf "
                f"serve /static/ from ${{STATIC_ROOT}}? See {nginx.log_path}"
            )
        proxied = measure_get(
            args, [nginx, app_server], nginx.base + CASE_PATH, "case page, through nginx"
        )
        static = measure_get(
            args, [nginx], f"{nginx.base}/static/{STATIC_FILE}", "static file, nginx"
        )
    return proxied, static, len(page.encode())


def measure_rounds(args, database, run_tag):
    """(a), (b), (c), (e) and (f), --rounds times, interleaved: {key: [round results]}."""
    with_nginx = args.nginx_conf.exists()
    if not with_nginx:
        log(f"no {args.nginx_conf}: (e) and (f) are left out")
    runs = {key: [] for key in ("bare", "case_page", "case_page_nginx", "static_nginx", "submit")}
    page_bytes = None
    for n in range(1, args.rounds + 1):
        log(f"== {database.name}: round {n}/{args.rounds}")
        with Gunicorn(
            "bench.bare_app:app", database.url, "/", f"{database.name}-bare-r{n}"
        ) as server:
            runs["bare"].append(measure_get(args, [server], server.base + "/", "bare Flask"))
        with Gunicorn("app:app", database.url, CASE_PATH, f"{database.name}-app-r{n}") as server:
            runs["case_page"].append(
                measure_get(args, [server], server.base + CASE_PATH, "case page, no letters")
            )
            if with_nginx:
                proxied, static, page_bytes = measure_nginx(args, server, f"{database.name}-r{n}")
                runs["case_page_nginx"].append(proxied)
                runs["static_nginx"].append(static)
            runs["submit"].append(measure_submit(args, server, database, f"{run_tag}-r{n}"))
    return {key: key_runs for key, key_runs in runs.items() if key_runs}, page_bytes


def measure_loaded(args, database):
    """Load the letters, check the counts, then (d) --rounds times: (runs, load facts)."""
    log(f"== {database.name}: loading {args.letters:,} letters")
    started = time.monotonic()
    database.load_letters(args.letters)
    load_seconds = round(time.monotonic() - started, 1)
    counted = database.scalar("SELECT count(*) FROM letters WHERE counted")
    in_counters = database.scalar("SELECT coalesce(sum(count), 0) FROM case_counters")
    total = database.scalar("SELECT count(*) FROM letters")
    log(f"  {total:,} letters now ({counted:,} counted) in {load_seconds} s")
    if counted != in_counters:
        raise CheckFailed(f"{counted} counted letters but case_counters add up to {in_counters}")
    case_total = database.scalar(
        "SELECT coalesce(sum(count), 0) FROM case_counters JOIN cases ON cases.id = case_id "  # noqa: S608
        f"WHERE slug = '{CASE_SLUG}'"
    )
    runs = []
    for n in range(1, args.rounds + 1):
        log(f"== {database.name}: letters loaded, round {n}/{args.rounds}")
        with Gunicorn("app:app", database.url, CASE_PATH, f"{database.name}-app-1m-r{n}") as server:
            _status, _headers, page = http_request(server.port, "GET", CASE_PATH)
            if f"{case_total:,}" not in page:
                raise CheckFailed(f"the case page does not show its {case_total:,} letters")
            runs.append(measure_get(args, [server], server.base + CASE_PATH, "case page, loaded"))
    load = {
        "loaded": args.letters,
        "letters": total,
        "counted": counted,
        "seconds": load_seconds,
        "case_count": case_total,
    }
    return runs, load


def bench_database(args, database, run_tag):
    """Every measurement on one database, summarized: {key: summary, "load": ...}."""
    log(f"== {database.name}: schema and demo campaign")
    database.create()
    flask_command(database.url, "db", "upgrade")
    flask_command(database.url, "seed")
    log(
        f"== {database.name}: measuring, {args.rounds} rounds "
        f"({args.duration} s each, {args.warmup} s warm-up)"
    )
    runs, page_bytes = measure_rounds(args, database, run_tag)
    runs["case_page_1m"], load = measure_loaded(args, database)
    results = {key: summarize(runs[key]) for key in LABELS if key in runs}
    results["load"] = load
    if page_bytes:
        results["page_bytes"] = page_bytes
    results["ratios"] = ratios(results)
    return results


# Start to end -----------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument(
        "--rounds", type=int, default=3, help="times each measurement is taken (medians shown)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--letters", type=int, default=LETTERS_TO_LOAD, help="letters to load")
    parser.add_argument(
        "--retries", type=int, default=2, help="extra runs of a measurement disturbed by others"
    )
    parser.add_argument(
        "--nginx-conf", type=Path, default=NGINX_CONF, help="nginx conf template for (e), (f)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args()
    if min(args.duration, args.rounds, args.threads, args.connections, args.letters) < 1:
        parser.error(
            "--duration, --rounds, --threads, --connections and --letters must be at least 1"
        )
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed")
    if args.nginx_conf.exists() and not Path(NGINX).exists():
        sys.exit("nginx is not installed (Debian: apt-get install nginx-light or nginx)")
    return args


def run_database(args, name, run_tag, temp):
    """bench_database on one database, which is dropped afterwards unless --keep;
    an error becomes {"error": first line}."""
    database = SQLiteDatabase(temp) if name == "sqlite" else PostgresDatabase()
    try:
        return bench_database(args, database, run_tag)
    except (CheckFailed, OSError, subprocess.SubprocessError, sqlite3.Error) as error:
        log(f"!!! {name} FAILED: {error}")
        return {"error": str(error).splitlines()[0]}
    finally:
        stop_everything()
        if not args.keep:
            try:
                database.drop()
            except Exception as error:  # noqa: BLE001 (cleanup must not hide the result)
                log(f"could not drop {name}: {error}")


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    RESULTS.mkdir(exist_ok=True)
    instance = ROOT / "instance"
    instance_existed = instance.exists()
    temp = tempfile.mkdtemp(prefix="w4r-bench-")
    run_tag = f"b{int(time.time())}"
    report = {
        "started": datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),
        "duration_s": args.duration,
        "rounds": args.rounds,
        "wrk_threads": args.threads,
        "wrk_connections": args.connections,
        "cpus": os.cpu_count(),
        "databases": {},
    }
    try:
        for name in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
            report["databases"][name] = run_database(args, name, run_tag, temp)
    finally:
        stop_everything()
        if args.keep:
            log(f"kept the SQLite database in {temp}")
        else:
            shutil.rmtree(temp, ignore_errors=True)
        if not instance_existed and instance.is_dir() and not any(instance.iterdir()):
            instance.rmdir()  # create_app makes it; leave the repository as it was

    text = summary_text(report)
    stem = write_report(report, text)
    print("\n" + text + "\n")
    print(f"Written to {stem}.json and {stem}.txt")
    failed = any(
        "error" in results
        or any(r.get("problems") for r in results.values() if isinstance(r, dict))
        for results in report["databases"].values()
    )
    if failed:
        print("\n!!! SOME CHECKS FAILED: see the checks column and the errors above.")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
