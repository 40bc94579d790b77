"""HTTP benchmark: the real app under gunicorn, measured with wrk against a bare Flask app.

Run from the repository root (wrk must be installed, PostgreSQL must answer on
127.0.0.1:5432 as user postgres for --db postgresql):

    .venv/bin/python bench/http_bench.py                 # both databases, 3 rounds of 10 s
    .venv/bin/python bench/http_bench.py --duration 5 --db sqlite --rounds 5

For each database (a SQLite file in a temporary folder; the PostgreSQL database
w4r_bench, dropped and created again) it builds the schema with
`flask --app app db upgrade` and `flask --app app seed`, then serves with the shipped
gunicorn.conf.py and measures, with `wrk --latency` (after a short warm-up):

  (a) GET /                        on bench/bare_app.py, the smallest Flask app
  (b) GET /cases/gustavo-gatica    the case page, with no letters stored
  (c) POST /cases/gustavo-gatica/letters/appeal
                                   one letter per request, with a real session cookie and
                                   CSRF token and a new email address each time
                                   (bench/wrk_submit.lua). Every answer must be the 303 to
                                   the thanks page, and the letters table must grow by as
                                   many rows: anything else is reported (checks column, exit status 1).
  (d) GET /cases/gustavo-gatica    again, after loading 1,000,000 letters with SQL
                                   (80 % confirmed and counted, with matching case_counters)
                                   and restarting gunicorn.

Throughput on a small machine varies by as much as a quarter from one gunicorn start to
the next, so each measurement is taken --rounds times (3 unless told), on a freshly
started gunicorn each time, interleaved: round 1 measures (a), (b) and (c), round 2 the
same again, and so on; the letters are then loaded once, and (d) is measured --rounds
times, gunicorn started anew for each. Every round runs the checks of its own. (The
unconfirmed letters of earlier rounds of (c) stay in the table: the case page only reads
case_counters, which they do not change.)

It prints, for each measurement, the median requests/s over the rounds with their
min-max range, the median p50 and p99 latencies and the median server CPU per request;
the ratios b/a, c/a and d/b are taken between medians and marked PASS or FAIL against
TARGETS below. The summary goes to bench/results/ too: text, and JSON holding every
round's numbers as well.

Two more columns help on a small or shared machine: the server's CPU time per request
(gunicorn's process group, plus the PostgreSQL backends), which changes little with
outside load, and "other %", the CPU that processes outside the benchmark took meanwhile
(the highest of the rounds). A round disturbed by them (over 10 %) is run again, at most
--retries times, and the quietest run is kept for that round. The exit status is 1 when
a check failed in any round (wrong answers, missing rows, a crash); targets that fail do
not change it.

The app's instance folder (instance/ in the repository) is left as it is: with
DATABASE_URL set it only holds mail files, which only the mail worker writes, and no
mail worker runs here. Only 127.0.0.1 is contacted. Every gunicorn started here runs
in its own process group and is stopped at the end, even on errors or Ctrl-C.
"""

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import closing, suppress
from datetime import datetime
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent  # the venv's bin: flask and gunicorn live next to python
sys.path.insert(0, str(ROOT))

from models import COUNTER_SHARDS  # noqa: E402 (needs the repository on sys.path)

CASE_SLUG = "gustavo-gatica"
CASE_PATH = f"/cases/{CASE_SLUG}"
SUBMIT_PATH = f"{CASE_PATH}/letters/appeal"
LETTERS_TO_LOAD = 1_000_000
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "w4r_bench"  # never "test": that one belongs to the test suite
TARGETS = [  # (name, numerator, denominator, minimum)
    ("b/a", "case_page", "bare", 0.5),
    ("c/a", "submit", "bare", 0.2),
    ("d/b", "case_page_1m", "case_page", 0.9),
]
LABELS = {
    "bare": "(a) bare Flask GET /",
    "case_page": f"(b) GET {CASE_PATH}",
    "submit": "(c) POST .../letters/appeal",
    "case_page_1m": f"(d) GET {CASE_PATH}, loaded",
}
NOISY_PCT = 10  # more CPU than this taken by other processes makes a measurement unreliable
APP_SETTINGS = {
    "SECRET_KEY": "bench-secret",
    "RATELIMIT_ENABLED": "0",
    "MIN_FILL_SECONDS": "0",
    "SESSION_COOKIE_SECURE": "0",
    "ACCESS_LOG": "none",
    "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ left in bench/
}
# Taken out of the inherited environment so that the shipped defaults apply.
UNSET = (
    "MAIL_SERVER",
    "DATABASE_URL",
    "BIND",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "PAGE_CACHE_SECONDS",
)


class CheckFailed(Exception):
    """The app answered, but not what a working site answers."""


def log(message):
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# Processes ------------------------------------------------------------------------------

RUNNING = []  # every gunicorn started and not yet stopped


def app_env(database_url, bind=None):
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(APP_SETTINGS, DATABASE_URL=database_url)
    if bind:
        env["BIND"] = bind
    return env


def flask_command(database_url, *args):
    command = [str(BIN / "flask"), "--app", "app", *args]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=app_env(database_url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise CheckFailed(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py <app>` on a free port, in its own process group."""

    def __init__(self, app_spec, database_url, ready_path, log_name):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = RESULTS / f"gunicorn-{log_name}.log"
        command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", app_spec]
        env = app_env(database_url, bind=f"127.0.0.1:{self.port}")
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches the workers
            )
        RUNNING.append(self)
        self.wait_until_ready(ready_path)

    def wait_until_ready(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CheckFailed(f"gunicorn exited early, see {self.log_path}:\n{self.log_tail()}")
            try:
                status, _headers, _body = http_request(self.port, "GET", path)
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise CheckFailed(f"gunicorn did not answer in {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines=30):
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self):
        if self in RUNNING:
            RUNNING.remove(self)
        if self.process.poll() is None:
            signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        signal_group(self.process.pid, signal.SIGKILL)  # any worker left behind

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def signal_group(pgid, sig):
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def stop_everything():
    for server in list(RUNNING):
        server.stop()


def on_sigterm(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


# HTTP without wrk: reading the form, a first test letter -----------------------------


def http_request(port, method, path, body=None, headers=None):
    """(status, headers, body text) for one request to 127.0.0.1, no redirects followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


class HiddenInputs(HTMLParser):
    """{name: value} of the page's <input type="hidden"> fields."""

    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""


def letter_form(port):
    """(cookie header, url-encoded appeal fields without the email) from one page visit."""
    status, headers, page = http_request(port, "GET", CASE_PATH)
    if status != 200:
        raise CheckFailed(f"GET {CASE_PATH} answered {status}")
    jar = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    if not jar:
        raise CheckFailed(f"GET {CASE_PATH} set no session cookie")
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
    parser = HiddenInputs()
    parser.feed(page)
    fields = {
        "appeal-csrf_token": parser.values.get("appeal-csrf_token"),
        "appeal-started": parser.values.get("appeal-started"),
        "appeal-language": "en",
        "appeal-name": "Bench Supporter",
        "appeal-country": "GB",
        "appeal-city": "London",
        "appeal-body": "Please release him now and drop every charge against him.",
        "appeal-consent_privacy": "y",
    }
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise CheckFailed(f"the case page has no {', '.join(missing)}")
    return cookie, urllib.parse.urlencode(fields)


def post_one_letter(port, cookie, fields, email):
    """Send one letter outside wrk, so that a broken form fails with a readable answer."""
    body = fields + "&" + urllib.parse.urlencode({"appeal-email": email})
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    status, _headers, text = http_request(port, "POST", SUBMIT_PATH, body, headers)
    if status != 303:
        raise CheckFailed(f"a test letter got {status} instead of 303:\n{text[:2000]}")


# wrk --------------------------------------------------------------------------------------

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def run_wrk(args, url, script, duration, lua_args=()):
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(BENCH / script),
        url,
    ]
    if lua_args:
        command += ["--", *lua_args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise CheckFailed(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def parse_wrk(output):
    def number(pattern, default=None):
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            if default is None:
                raise CheckFailed(f"cannot read /{pattern}/ in wrk's output:\n{output}")
            return default
        return match.groups()

    def latency_ms(value, unit):
        return round(float(value) * UNITS_MS[unit], 2)

    rps = float(number(r"^Requests/sec:\s+([\d.]+)")[0])
    p50 = latency_ms(*number(r"^\s+50%\s+([\d.]+)(us|ms|s|m|h)"))
    p99 = latency_ms(*number(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)"))
    requests = int(number(r"^\s+(\d+) requests in")[0])
    non_ok = int(number(r"Non-2xx or 3xx responses: (\d+)", ("0",))[0])
    socket_errors = sum(
        int(n)
        for n in number(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
            ("0", "0", "0", "0"),
        )
    )
    statuses = {}
    for status, count in re.findall(r"^STATUS (\d+) (\d+)$", output, re.MULTILINE):
        statuses[int(status)] = statuses.get(int(status), 0) + int(count)
    return {
        "requests_per_s": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "requests": requests,
        "statuses": statuses,
        "non_2xx_3xx": non_ok,
        "socket_errors": socket_errors,
    }


def check_statuses(result, expected):
    """Every answer wrk saw must have the expected status; otherwise say so loudly."""
    wrong = {s: n for s, n in result["statuses"].items() if s != expected}
    problems = []
    if wrong:
        problems.append(f"unexpected statuses {wrong} (expected only {expected})")
    if result["non_2xx_3xx"]:
        problems.append(f"{result['non_2xx_3xx']} non-2xx/3xx answers")
    if result["socket_errors"]:
        problems.append(f"{result['socket_errors']} socket errors")
    if result["statuses"].get(expected, 0) == 0:
        problems.append(f"no {expected} answer at all")
    return problems


class CpuMeter:
    """CPU used during a measurement: by the server (gunicorn's process group and the
    PostgreSQL backends of the benchmark database), by wrk, and by anything else.

    The machine is small and may be shared: "other" says how much of it something
    outside the benchmark took, which makes requests/s lower than they should be. The
    server's CPU per request is the steadier number then.
    """

    def __init__(self, server):
        self.pgid = server.process.pid

    def start(self):
        self.before = self.snapshot()

    def stop(self, requests):
        after = self.snapshot()
        used = {key: after[key] - self.before[key] for key in after}
        server = used["gunicorn"] + used["postgres"]
        other = used["busy"] - server - used["wrk"]
        return {
            "server_cpu_ms_per_request": round(server / max(requests, 1) * 1000, 2),
            "postgres_cpu_ms_per_request": round(used["postgres"] / max(requests, 1) * 1000, 2),
            "other_load_pct": round(max(other, 0) / used["total"] * 100, 1),
        }

    def snapshot(self):
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat") as stat:
            fields = [int(n) for n in stat.readline().split()[1:]]
        total = sum(fields) / ticks
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
        gunicorn = postgres = 0.0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields_after_name = stat.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    command = cmdline.read().decode(errors="replace")
            except OSError:
                continue  # gone meanwhile
            # utime, stime, and the same for reaped children (recycled workers)
            seconds = sum(int(n) for n in fields_after_name[11:15]) / ticks
            if int(fields_after_name[2]) == self.pgid:
                gunicorn += seconds
            elif command.startswith("postgres:") and f" {PG_DATABASE} " in command:
                postgres += seconds
        return {
            "total": total,
            "busy": total - (fields[3] + fields[4]) / ticks,  # minus idle and iowait
            "wrk": children.ru_utime + children.ru_stime,
            "gunicorn": gunicorn,
            "postgres": postgres,
        }


def quietest(args, tag, measure_once):
    """Run measure_once(attempt); when other processes took more than NOISY_PCT % of the
    CPU meanwhile, run it again (at most --retries more times) and keep the quietest run.
    The problems found in every run are kept."""
    runs = []
    for attempt in range(1 + args.retries):
        runs.append(measure_once(attempt))
        log_result(tag, runs[-1])
        if runs[-1]["other_load_pct"] <= NOISY_PCT:
            break
        if attempt < args.retries:
            log("  (other processes were busy: measuring again)")
    best = min(runs, key=lambda run: run["other_load_pct"])
    best["problems"] = [problem for run in runs for problem in run["problems"]]
    best["attempts"] = len(runs)
    return best


def measure_get(args, server, path, tag):
    url = server.base + path
    run_wrk(args, url, "wrk_get.lua", args.warmup)

    def once(_attempt):
        meter = CpuMeter(server)
        meter.start()
        result = run_wrk(args, url, "wrk_get.lua", args.duration)
        result.update(meter.stop(result["requests"]))
        result["problems"] = check_statuses(result, 200)
        return result

    return quietest(args, tag, once)


def log_result(tag, result):
    stored = f", {result['letters_stored']} letters stored" if "letters_stored" in result else ""
    log(
        f"  {tag}: {result['requests_per_s']:.1f} req/s, p99 {result['p99_ms']} ms, "
        f"server {result['server_cpu_ms_per_request']} CPU ms/request "
        f"({result['postgres_cpu_ms_per_request']} of it PostgreSQL's), "
        f"other load {result['other_load_pct']} %{stored}"
    )


def settled_counts(database, timeout=10):
    """(letters, outbox rows) once the server has finished what wrk left in flight."""
    sql = "SELECT (SELECT count(*) FROM letters), (SELECT count(*) FROM outbox)"
    previous = database.row(sql)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = database.row(sql)
        if current == previous:
            break
        previous = current
    return previous


def measure_submit(args, server, database, run_tag):
    """Letters posted by wrk, each checked: 303 answers, and as many new rows. run_tag
    must be new for every call: it starts every email address sent."""
    cookie, fields = letter_form(server.port)
    post_one_letter(server.port, cookie, fields, f"{run_tag}-first@example.org")
    url = server.base + SUBMIT_PATH
    run_wrk(args, url, "wrk_submit.lua", args.warmup, (cookie, fields, f"{run_tag}-warm"))

    def once(attempt):
        tag = f"{run_tag}-run{attempt}"
        letters_before, outbox_before = settled_counts(database)
        meter = CpuMeter(server)
        meter.start()
        result = run_wrk(args, url, "wrk_submit.lua", args.duration, (cookie, fields, tag))
        result.update(meter.stop(result["requests"]))
        letters_after, outbox_after = settled_counts(database)
        grown, emails = letters_after - letters_before, outbox_after - outbox_before
        answered = result["statuses"].get(303, 0)
        problems = check_statuses(result, 303)
        # wrk stops with up to one request per connection in flight: the server may have
        # stored those letters without wrk counting their answers.
        if not answered <= grown <= answered + args.connections:
            problems.append(
                f"{answered} letters answered 303 but the letters table grew by {grown}"
            )
        distinct = database.scalar(
            f"SELECT count(DISTINCT email_key) FROM letters WHERE email_key LIKE '{tag}-%'"  # noqa: S608
        )
        if distinct != grown:
            problems.append(f"{grown} new letters but {distinct} distinct new addresses")
        if emails != grown:
            problems.append(f"{grown} new letters but {emails} new outbox emails")
        result.update(letters_stored=grown, emails_queued=emails, problems=problems)
        return result

    return quietest(args, "submissions", once)


# Databases ------------------------------------------------------------------------------

LETTER_BODY = (
    "Dear Minister, I am writing to urge you to ensure a prompt, independent and impartial "
    "investigation into the injuries suffered during the protests, and to bring all those "
    "suspected of criminal responsibility to justice. Yours sincerely."
)


def letters_insert_sql(numbers, case_ids, timestamp):
    """INSERT ... SELECT building one letter per integer i of `numbers`, on either database.

    Letters come in groups of ten (g = i / 10) going to one case and kind; in each group
    r = i % 10 decides: 0 unconfirmed, 1 a repeat from the address of letter i + 1, and
    2..9 confirmed and counted, each from its own address. So every counted letter has a
    distinct email_key (the unique index uq_letters_counted_once holds), and 80 % count.
    `numbers` is a FROM item with a column i (1, 2, ... N); `timestamp(seconds_ago)` is the
    database's "naive UTC now minus that many seconds".
    """
    pick_case = " ".join(f"WHEN {n} THEN {case_id}" for n, case_id in enumerate(case_ids))
    cases = len(case_ids)
    address = "'supporter' || (CASE WHEN i % 10 = 1 THEN i + 1 ELSE i END) || '@example.org'"
    seconds_ago = "(i % 2592000)"
    return f"""
        INSERT INTO letters (case_id, kind, body, name, email, email_key, country, city,
                             language, consent_privacy, consent_contact, status, moderation,
                             counted, created_at, confirmed_at)
        SELECT CASE (i / 10) % {cases} {pick_case} END,
               CASE WHEN (i / 10 / {cases}) % 4 = 3 THEN 'solidarity' ELSE 'appeal' END,
               '{LETTER_BODY}',
               'Supporter ' || i,
               {address},
               {address},
               substr('GBFRDECLUSKEIN', 1 + 2 * (i % 7), 2),
               '',
               'en',
               TRUE,
               i % 3 = 0,
               CASE i % 10 WHEN 0 THEN 'unconfirmed' WHEN 1 THEN 'repeat' ELSE 'confirmed' END,
               'pending',
               i % 10 >= 2,
               {timestamp(seconds_ago)},
               CASE WHEN i % 10 >= 2 THEN {timestamp(seconds_ago + " - 3600")} END
        FROM {numbers}
    """  # noqa: S608 (only this file's constants and integers go into the SQL)


COUNTERS_SQL = f"""
    INSERT INTO case_counters (case_id, shard, count)
    SELECT case_id, id % {COUNTER_SHARDS}, count(*) FROM letters WHERE counted
    GROUP BY case_id, id % {COUNTER_SHARDS}
"""  # noqa: S608


class SQLiteDatabase:
    name = "sqlite"

    def __init__(self, folder):
        self.path = Path(folder) / "letters.db"
        self.url = f"sqlite:///{self.path}"

    def create(self):
        pass  # `flask db upgrade` creates the file

    def drop(self):
        pass  # the temporary folder goes as a whole

    def row(self, sql):
        with closing(sqlite3.connect(self.path, timeout=30)) as connection:
            return connection.execute(sql).fetchone()

    def scalar(self, sql):
        return self.row(sql)[0]

    def load_letters(self, number):
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            case_ids = [row[0] for row in db.execute("SELECT id FROM cases ORDER BY id")]
            insert = letters_insert_sql(
                "numbers",
                case_ids,
                lambda ago: f"datetime('now', '-' || ({ago}) || ' seconds')",
            )
            last = f"WHERE i < {number}"
            numbers = f"WITH RECURSIVE numbers(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM numbers {last})"  # noqa: S608
            db.execute("BEGIN IMMEDIATE")
            db.execute(numbers + insert)
            db.execute("DELETE FROM case_counters")
            db.execute(COUNTERS_SQL)
            db.execute("COMMIT")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class PostgresDatabase:
    name = "postgresql"

    def __init__(self):
        self.url = f"postgresql://postgres@127.0.0.1:5432/{PG_DATABASE}"

    def admin(self, sql):
        import psycopg

        assert PG_DATABASE != "test"
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as connection:
            connection.execute(sql)

    def create(self):
        self.admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        self.admin(f"CREATE DATABASE {PG_DATABASE}")

    def drop(self):
        self.admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")

    def connect(self, **options):
        import psycopg

        return psycopg.connect(self.url, connect_timeout=10, **options)

    def row(self, sql):
        with self.connect() as connection:
            return connection.execute(sql).fetchone()

    def scalar(self, sql):
        return self.row(sql)[0]

    def load_letters(self, number):
        with self.connect() as db:  # one transaction, committed when the block ends
            case_ids = [row[0] for row in db.execute("SELECT id FROM cases ORDER BY id")]
            insert = letters_insert_sql(
                f"generate_series(1, {number}) AS i",
                case_ids,
                lambda ago: f"(now() AT TIME ZONE 'utc') - ({ago}) * interval '1 second'",
            )
            db.execute(insert)
            db.execute("DELETE FROM case_counters")
            db.execute(COUNTERS_SQL)
        with self.connect(autocommit=True) as db:  # as autovacuum would, but not mid-measurement
            db.execute("VACUUM ANALYZE letters")
            db.execute("VACUUM ANALYZE case_counters")


# One database, start to end ------------------------------------------------------------


def bench_database(args, database, run_tag):
    results = {}
    log(f"== {database.name}: schema and demo campaign")
    database.create()
    flask_command(database.url, "db", "upgrade")
    flask_command(database.url, "seed")

    log(
        f"== {database.name}: measuring, {args.rounds} rounds "
        f"({args.duration} s each, {args.warmup} s warm-up)"
    )
    runs = {key: [] for key in LABELS}
    for n in range(1, args.rounds + 1):
        log(f"== {database.name}: round {n}/{args.rounds}")
        with Gunicorn(
            "bench.bare_app:app", database.url, "/", f"{database.name}-bare-r{n}"
        ) as server:
            runs["bare"].append(measure_get(args, server, "/", "bare Flask"))
        with Gunicorn("app:app", database.url, CASE_PATH, f"{database.name}-app-r{n}") as server:
            runs["case_page"].append(measure_get(args, server, CASE_PATH, "case page, no letters"))
            runs["submit"].append(measure_submit(args, server, database, f"{run_tag}-r{n}"))

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

    for n in range(1, args.rounds + 1):
        log(f"== {database.name}: letters loaded, round {n}/{args.rounds}")
        with Gunicorn("app:app", database.url, CASE_PATH, f"{database.name}-app-1m-r{n}") as server:
            _status, _headers, page = http_request(server.port, "GET", CASE_PATH)
            if f"{case_total:,}" not in page:
                raise CheckFailed(f"the case page does not show its {case_total:,} letters")
            runs["case_page_1m"].append(measure_get(args, server, CASE_PATH, "case page, loaded"))
    for key, key_runs in runs.items():
        results[key] = summarize(key_runs)
    results["load"] = {
        "loaded": args.letters,
        "letters": total,
        "counted": counted,
        "seconds": load_seconds,
        "case_count": case_total,
    }
    return results


# Summary --------------------------------------------------------------------------------


def summarize(runs):
    """One measurement over its rounds: medians, the range of requests/s, every round."""

    def median(field):
        return round(statistics.median(run[field] for run in runs), 2)

    rates = [run["requests_per_s"] for run in runs]
    summary = {
        "requests_per_s": median("requests_per_s"),
        "requests_per_s_min": min(rates),
        "requests_per_s_max": max(rates),
        "p50_ms": median("p50_ms"),
        "p99_ms": median("p99_ms"),
        "server_cpu_ms_per_request": median("server_cpu_ms_per_request"),
        "other_load_pct_max": max(run["other_load_pct"] for run in runs),
        "problems": [
            f"round {n}: {problem}" for n, run in enumerate(runs, 1) for problem in run["problems"]
        ],
        "rounds": runs,
    }
    if "letters_stored" in runs[0]:
        summary["letters_stored"] = sum(run["letters_stored"] for run in runs)
    return summary


def ratios(results):
    """(name, ratio of the medians, minimum, PASS or FAIL) for each target."""
    rows = []
    for name, top, bottom, minimum in TARGETS:
        if top in results and bottom in results:
            value = results[top]["requests_per_s"] / results[bottom]["requests_per_s"]
            rows.append((name, round(value, 3), minimum, "PASS" if value >= minimum else "FAIL"))
    return rows


def summary_text(report):
    lines = [
        f"HTTP benchmark {report['started']}  (wrk -t{report['wrk_threads']} "
        f"-c{report['wrk_connections']} -d{report['duration_s']}s --latency, "
        f"gunicorn -c gunicorn.conf.py, {report['cpus']} CPUs, "
        f"{report['rounds']} rounds: medians, req/s range min-max)",
        "",
        f"{'database':<11} {'measurement':<38} {'req/s':>8} {'range':>15} {'p50 ms':>7}"
        f" {'p99 ms':>7} {'CPU ms/req':>10} {'other %':>7}  checks",
    ]
    noisy = False
    for db_name, results in report["databases"].items():
        if "error" in results:
            lines.append(f"{db_name:<11} ERROR: {results['error']}")
            continue
        for key, label in LABELS.items():
            if key in results:
                r = results[key]
                noisy = noisy or r["other_load_pct_max"] > NOISY_PCT
                spread = f"{r['requests_per_s_min']:.0f}-{r['requests_per_s_max']:.0f}"
                lines.append(
                    f"{db_name:<11} {label:<38} {r['requests_per_s']:>8.1f} {spread:>15}"
                    f" {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f}"
                    f" {r['server_cpu_ms_per_request']:>10.2f} {r['other_load_pct_max']:>7.1f}"
                    f"  {'; '.join(r['problems']) or 'ok'}"
                )
        if "load" in results:
            load = results["load"]
            lines.append(
                f"{'':<11} (d) after loading {load['loaded']:,} letters in {load['seconds']} s: "
                f"{load['letters']:,} in the table, {load['counted']:,} counted, "
                f"{load['case_count']:,} shown for {CASE_SLUG}"
            )
    lines += [
        "",
        "req/s, p50, p99 and CPU ms/req: medians over the rounds, each round on a newly "
        "started gunicorn; range: the lowest and highest req/s of the rounds.",
        "CPU ms/req: CPU time of gunicorn (and PostgreSQL) per request. other %: the "
        "machine's CPU taken by processes outside the benchmark meanwhile (worst round).",
    ]
    if noisy:
        lines.append(
            f"WARNING: other processes took more than {NOISY_PCT} % of the CPU during some "
            "measurements: their requests/s are lower than on a quiet machine."
        )
    lines += ["", f"{'database':<11} {'target (medians)':<16} {'ratio':>7}  result"]
    for db_name, results in report["databases"].items():
        for name, value, minimum, verdict in results.get("ratios", []):
            lines.append(
                f"{db_name:<11} {name + ' >= ' + str(minimum):<16} {value:>7.3f}  {verdict}"
            )
    return "\n".join(lines)


def write_report(report, text):
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"http_bench-{report['started'].replace(':', '').replace('-', '')}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".txt").write_text(text + "\n")
    return stem


def main():
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
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args()
    if min(args.duration, args.rounds, args.threads, args.connections, args.letters) < 1:
        parser.error(
            "--duration, --rounds, --threads, --connections and --letters must be at least 1"
        )
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed")

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
    chosen = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    failed = False
    try:
        for name in chosen:
            database = SQLiteDatabase(temp) if name == "sqlite" else PostgresDatabase()
            try:
                results = bench_database(args, database, run_tag)
                results["ratios"] = ratios(results)
            except (CheckFailed, OSError, subprocess.SubprocessError, sqlite3.Error) as error:
                log(f"!!! {name} FAILED: {error}")
                results = {"error": str(error).splitlines()[0]}
                failed = True
            finally:
                stop_everything()
                if not args.keep:
                    try:
                        database.drop()
                    except Exception as error:  # noqa: BLE001 (cleanup must not hide the result)
                        log(f"could not drop {name}: {error}")
            report["databases"][name] = results
            if any(r.get("problems") for r in results.values() if isinstance(r, dict)):
                failed = True
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
    if failed:
        print("\n!!! SOME CHECKS FAILED: see the checks column and the errors above.")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
