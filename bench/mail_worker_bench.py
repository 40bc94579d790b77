"""Mail worker benchmark: emails through a slow relay, two workers, one killed halfway.

Run by hand from the repository root (not part of the test suite):

    .venv/bin/python bench/mail_worker_bench.py                  # PostgreSQL on 127.0.0.1
    .venv/bin/python bench/mail_worker_bench.py --db sqlite
    .venv/bin/python bench/mail_worker_bench.py --emails 100 --seconds 0.2   # a quick look

It builds a fresh database (the PostgreSQL database w4r_mail_bench, dropped and created
again, or a SQLite file in a temporary folder) with the real migrations and the demo
campaign, and queues --emails confirmation emails, all due at once, each to an address of
its own. A real SMTP relay (aiosmtpd, in a thread of this process) takes --seconds over
each message before accepting it, and records the recipient, Message-ID and time of every
message it accepts. Two `flask --app app mail-worker` processes send the emails as
operators run them (MAIL_CLAIM_SECONDS as configured, 30 s by default); when half the
emails are accepted, the first worker is killed with SIGKILL. When no email is pending any
more, the second worker gets SIGTERM.

Reported: duplicates (messages accepted beyond one per email), lost (emails never
accepted, and emails marked sent that the relay never accepted), the longest wait of any
email from its due time to its first acceptance, how long after the kill the emails held
then were accepted, and the total time. The report goes to bench/results/ too.
"""

import argparse
import asyncio
import email
import os
import shutil
import signal
import socket
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

PG_DATABASE = "w4r_mail_bench"
SECRET = "bench-only"  # noqa: S105 (a throwaway database)


def log(message):
    print(message, file=sys.stderr, flush=True)


def utcnow():
    return datetime.now(UTC).replace(tzinfo=None)  # as the app stores times


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Relay:
    """An SMTP relay that takes `seconds` per message and keeps a record of each one it
    accepts: (recipient, Message-ID, when)."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.seconds)
        message_id = email.message_from_bytes(envelope.content)["Message-ID"] or ""
        self.accepted.append((envelope.rcpt_tos[0], message_id, utcnow()))
        return "250 Message accepted for delivery"


def queue_emails(app, count):
    """`count` unconfirmed letters, each with its confirmation email due now: {address:
    due time}."""
    import sqlalchemy as sa

    from extensions import db
    from models import Case, Letter, Outbox

    with app.app_context():
        migrate_and_seed(app)
        case_id = db.session.scalar(sa.select(Case.id).where(Case.slug == "gustavo-gatica"))
        due = utcnow()
        addresses = [f"bench{n}@example.org" for n in range(count)]
        letters = [
            Letter(
                case_id=case_id,
                kind="appeal",
                body="Please release him.",
                name="Bench",
                email=address,
                email_key=address,
                country="GB",
                consent_privacy=True,
            )
            for address in addresses
        ]
        db.session.add_all(letters)
        db.session.flush()
        db.session.add_all(
            Outbox(
                recipient=letter.email,
                template="confirm",
                letter_id=letter.id,
                next_attempt_at=due,
                created_at=due,
            )
            for letter in letters
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return dict.fromkeys(addresses, due)


def start_worker(url, port, folder, number):
    env = os.environ | {
        "SECRET_KEY": SECRET,
        "DATABASE_URL": url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "BASE_URL": "http://127.0.0.1:8000",
    }
    output = (folder / f"worker{number}.log").open("wb")
    command = [sys.executable, "-m", "flask", "--app", "app", "mail-worker"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def outbox_rows(app):
    """[(recipient, state, attempts, claimed_by)] of every email."""
    import sqlalchemy as sa

    from extensions import db
    from models import Outbox

    with app.app_context():
        query = sa.select(Outbox.recipient, Outbox.state, Outbox.attempts, Outbox.claimed_by)
        rows = db.session.execute(query).all()
        db.session.remove()
        return rows


def holds(app):
    """{claim token: (its latest held_until, the recipients it holds)}."""
    import sqlalchemy as sa

    from extensions import db
    from models import Outbox

    with app.app_context():
        query = sa.select(Outbox.claimed_by, Outbox.held_until, Outbox.recipient).where(
            Outbox.state == "pending", Outbox.claimed_by.is_not(None)
        )
        result = {}
        for token, until, recipient in db.session.execute(query):
            latest, recipients = result.get(token, (until, set()))
            result[token] = (max(latest, until), recipients | {recipient})
        db.session.remove()
        return result


def dead_batch(at_kill, now):
    """The recipients of the killed worker's batch: held at the kill, and their hold not
    renewed since (the live worker renews its own every 10 s, or has finished it)."""
    dead = [held for token, (until, held) in at_kill.items() if now.get(token, (None,))[0] == until]
    return set().union(*dead)


def run(app, url, relay, port, folder, count, timeout):
    """Both workers until nothing is pending, the first killed halfway. Returns the time
    of the kill, the recipients the killed worker held, and the second worker's exit code."""
    workers = [start_worker(url, port, folder, n) for n in (1, 2)]
    start, killed_at, at_kill, held_by_dead = time.monotonic(), None, {}, None
    try:
        while time.monotonic() - start < timeout:
            time.sleep(0.5)
            if killed_at is None and len(relay.accepted) >= count // 2:
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                killed_at, at_kill = utcnow(), holds(app)
                log(f"killed worker 1 with SIGKILL after {len(relay.accepted)} accepted")
            if held_by_dead is None and killed_at and seconds_since(killed_at) > 15:
                held_by_dead = dead_batch(at_kill, holds(app))
            pending = any(state == "pending" for _r, state, _a, _b in outbox_rows(app))
            if held_by_dead is not None and not pending:
                break
        else:
            log(f"gave up after {timeout} s")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        exits = [worker.wait(timeout=120) for worker in workers]
    log(f"worker exit codes: {exits} (-9: killed; 0: stopped cleanly)")
    return killed_at, held_by_dead or set(), exits[1]


def seconds_since(moment):
    return (utcnow() - moment).total_seconds()


def report(args, due, relay, rows, start_wall, killed_at, held_by_dead, second_exit):
    first = {}
    for recipient, _message_id, at in relay.accepted:
        first.setdefault(recipient, at)
    accepted = len(relay.accepted)
    states = {}
    for _recipient, state, _attempts, _by in rows:
        states[state] = states.get(state, 0) + 1
    marked_not_received = sum(1 for r, state, _a, _b in rows if state == "sent" and r not in first)
    waits = [(first[r] - due[r]).total_seconds() for r in first]
    after_kill = [(first[r] - killed_at).total_seconds() for r in held_by_dead if r in first]
    end = max(first.values())
    lines = [
        f"Mail worker benchmark, {args.db}: {args.emails:,} emails, a relay taking "
        f"{args.seconds} s per message, 2 mail-worker processes, the first killed (SIGKILL) "
        f"once half were accepted",
        "",
        f"accepted by the relay      {accepted:,} messages, {len(first):,} distinct emails",
        f"duplicates                 {accepted - len(first):,}",
        f"lost (never accepted)      {args.emails - len(first):,}",
        f"marked sent, not received  {marked_not_received:,}",
        f"outbox states at the end   {dict(sorted(states.items()))}",
        f"attempts charged           {sum(row[2] for row in rows):,}",
        f"longest wait, due→accepted {max(waits):,.1f} s",
        f"the killed worker's batch  {len(held_by_dead)} emails, accepted "
        f"{min(after_kill, default=0):,.1f}–{max(after_kill, default=0):,.1f} s after the kill",
        f"total time                 {(end - start_wall).total_seconds():,.1f} s",
        f"second worker on SIGTERM   exit {second_exit}",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=1.0, help="relay time per message")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    folder = Path(tempfile.mkdtemp(prefix="w4r-mail-bench-"))
    url = database_url(args.db, folder, PG_DATABASE)
    controller = None
    try:
        app = bench_app(url, str(folder / "instance"))
        due = queue_emails(app, args.emails)
        relay, port = Relay(args.seconds), free_port()
        controller = Controller(relay, hostname="127.0.0.1", port=port)
        controller.start()
        timeout = args.emails * args.seconds * 2 + 300
        start_wall = utcnow()
        killed_at, held, second_exit = run(app, url, relay, port, folder, args.emails, timeout)
        time.sleep(args.seconds + 1)  # a message in hand at the SIGTERM is accepted
        text = report(args, due, relay, outbox_rows(app), start_wall, killed_at, held, second_exit)
        print(text)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"mail_worker-{args.db}-{stamp}.txt").write_text(text + "\n")
        return 0
    finally:
        if controller is not None:
            controller.stop()
        shutil.rmtree(folder, ignore_errors=True)
        drop_database(args.db, PG_DATABASE)


if __name__ == "__main__":
    sys.exit(main())
