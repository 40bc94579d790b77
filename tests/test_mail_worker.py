"""The mail worker against a slow relay, a second worker, a kill and a stop: each email is
charged for its own tries only, with their real cause and no address in it; no worker
sends an email another one holds; a dead worker's emails wait seconds; SIGTERM finishes
the email in hand and gives the rest back. Real SMTP (aiosmtpd), real database."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from helpers import Inbox, Supporter, stored
from test_outbox import later

from extensions import db
from mail import claims, outbox
from models import Outbox, utcnow

ROOT = Path(__file__).resolve().parent.parent
ADDRESSES = ["first@example.org", "second@example.org", "third@example.org"]


class SlowRelay(Inbox):
    """A relay that takes `seconds` over each message (or only over the messages to
    `slow_for`) before it accepts it. A message whose sender hangs up before that is not
    accepted (aiosmtpd drops the session)."""

    def __init__(self, seconds, slow_for=None):
        super().__init__()
        self.seconds, self.slow_for = seconds, slow_for
        self.receiving = threading.Event()  # a message's data has arrived

    async def handle_DATA(self, server, session, envelope):
        self.receiving.set()
        if self.slow_for is None or self.slow_for in envelope.rcpt_tos:
            await asyncio.sleep(self.seconds)
        return await super().handle_DATA(server, session, envelope)

    def recipients(self):
        return sorted(message["To"] for message in self.messages)


class RefusingRelay(Inbox):
    """A relay that refuses every recipient, quoting the address as Postfix does."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


@pytest.fixture
def start_relay():
    controllers = []

    def start(relay):
        controller = Controller(relay, hostname="127.0.0.1", port=relay.port)
        controller.start()
        controllers.append(controller)
        return relay

    yield start
    for controller in controllers:
        controller.stop()


def queue_letters(app, addresses=ADDRESSES):
    supporter = Supporter(app.test_client())
    for address in addresses:
        assert supporter.submit("gustavo-gatica", email=address).status_code == 200


def by_recipient(app):
    return {row.recipient: row for row in stored(app, Outbox)}


def test_a_relay_slower_than_the_timeout_charges_the_slow_email_alone(make_app, cases, start_relay):
    relay = start_relay(SlowRelay(seconds=2, slow_for=ADDRESSES[0]))
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=relay.port, MAIL_TIMEOUT=1)
    queue_letters(app)
    with app.app_context():
        assert outbox.send_due() == (0, 1)
    rows = by_recipient(app)
    slow = rows.pop(ADDRESSES[0])
    assert (slow.state, slow.attempts) == ("pending", 1)
    assert "timed out" in slow.last_error and "connect()" not in slow.last_error
    for row in rows.values():  # given back untouched, due again at once
        assert (row.state, row.attempts, row.last_error) == ("pending", 0, "")
        assert row.next_attempt_at <= utcnow() and row.held_until is None

    with app.app_context():
        assert outbox.send_due() == (2, 0)  # the slow one waits for its own retry
    assert relay.recipients() == sorted(ADDRESSES[1:])


def test_a_batch_longer_than_its_hold_is_never_sent_twice(make_app, cases, start_relay):
    relay = start_relay(SlowRelay(seconds=1))
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=relay.port, MAIL_CLAIM_SECONDS=4)
    addresses = [f"hold{n}@example.org" for n in range(6)]
    queue_letters(app, addresses)
    first_done = threading.Event()

    def first_worker():  # one batch of six at a second each: longer than the hold
        try:
            with app.app_context():
                outbox.send_due(limit=10)
                db.session.remove()
        finally:
            first_done.set()

    def second_worker():  # keeps looking for due emails meanwhile
        with app.app_context():
            while not first_done.wait(0.2):
                outbox.send_due()
            db.session.remove()

    workers = [threading.Thread(target=first_worker), threading.Thread(target=second_worker)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert relay.recipients() == sorted(addresses)
    assert {(row.state, row.attempts) for row in stored(app, Outbox)} == {("sent", 1)}


def test_a_worker_whose_hold_ran_out_drops_what_another_worker_took(
    mail_app, smtp, cases, monkeypatch
):
    queue_letters(mail_app)
    with mail_app.app_context():
        stalled = claims.claim_due()  # this worker stalls beyond its hold...
    later(monkeypatch, mail_app.config["MAIL_CLAIM_SECONDS"] + 1)
    with mail_app.app_context():
        taken = claims.claim_due()  # ...and another one claims the emails
        assert [row.id for row in taken] == [row.id for row in stalled]
        assert claims.renew(stalled) == 0  # renewing does not take them back
        assert outbox.send_claimed(stalled) == (0, 0)  # the first worker sends nothing
    assert smtp.messages == []
    rows = stored(mail_app, Outbox)
    assert {(row.state, row.attempts, row.claimed_by) for row in rows} == {
        ("pending", 0, taken[0].claimed_by)
    }


def test_a_refused_recipient_is_recorded_without_the_address(make_app, cases, start_relay):
    relay = start_relay(RefusingRelay())
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=relay.port, MAIL_MAX_ATTEMPTS=1)
    queue_letters(app, ["refused.person@example.org"])
    with app.app_context():
        assert outbox.send_due() == (0, 1)
    status = app.test_cli_runner().invoke(args=["outbox", "status"]).output
    assert "dead: 1" in status
    assert "550" in status and "Recipient address rejected" in status
    assert "refused.person" not in status and "@" not in status


@pytest.fixture
def busy_worker(make_app, cases, start_relay):
    """`flask --app app mail-worker` as operators run it, on the test database, caught
    while a relay that takes 3 s per email receives its first email: (app, relay, process)."""
    relay = start_relay(SlowRelay(seconds=3))
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=relay.port)
    queue_letters(app)
    env = os.environ | {
        "SECRET_KEY": "test-mail-worker",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(relay.port),
    }
    command = [sys.executable, "-m", "flask", "--app", "app", "mail-worker"]
    worker = subprocess.Popen(  # noqa: S603 (the app's own command)
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert relay.receiving.wait(60), "the worker never sent anything"
        yield app, relay, worker
    finally:
        worker.kill()
        worker.communicate(timeout=60)


def test_a_killed_worker_holds_its_emails_for_seconds_only(busy_worker, monkeypatch):
    app, relay, worker = busy_worker
    worker.kill()
    worker.wait(timeout=60)
    rows = stored(app, Outbox)
    assert {row.state for row in rows} == {"pending"}
    assert max(row.held_until for row in rows) <= utcnow() + timedelta(seconds=30)

    relay.seconds = 0
    queue_letters(app, ["newcomer@example.org"])  # due after them
    later(monkeypatch, 30)
    with app.app_context():  # another worker sends them all, in their place in line
        assert outbox.send_due(limit=3) == (3, 0)
    assert relay.recipients() == sorted(ADDRESSES)


def test_sigterm_finishes_the_email_in_hand_and_gives_the_rest_back(busy_worker):
    app, relay, worker = busy_worker
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output.decode()
    assert "mail-worker: stopped; emails not sent yet are back in the queue" in output.decode()
    assert relay.recipients() == [ADDRESSES[0]]  # the one in hand, sent in full
    rows = by_recipient(app)
    assert (rows[ADDRESSES[0]].state, rows[ADDRESSES[0]].attempts) == ("sent", 1)
    for address in ADDRESSES[1:]:  # given back at once, no attempt charged
        row = rows[address]
        assert (row.state, row.attempts) == ("pending", 0)
        assert row.claimed_by is None and row.held_until is None
        assert row.next_attempt_at <= utcnow()


def test_an_email_sent_twice_carries_one_message_id(make_app, cases, start_relay):
    """The duplicate the README allows (a worker dies between the relay's acceptance and
    the row's update) reaches the inbox with the Message-ID of the first copy, so mail
    programs that merge by Message-ID show one email; each email has its own."""
    relay = start_relay(Inbox())
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=relay.port)
    queue_letters(app)
    with app.app_context():
        assert outbox.send_due() == (3, 0)
        first = db.session.get(Outbox, by_recipient(app)[ADDRESSES[0]].id)
        first.state, first.sent_at = "pending", None  # as if the update never happened
        db.session.commit()
        assert outbox.send_due() == (1, 0)
    ids = {}
    for message in relay.messages:
        ids.setdefault(message["To"], []).append(message["Message-ID"])
    assert len(ids[ADDRESSES[0]]) == 2 and len(set(ids[ADDRESSES[0]])) == 1
    assert len({each[0] for each in ids.values()}) == 3


def test_an_email_erased_while_it_is_sent_leaves_the_worker_running(
    mail_app, cases, smtp, monkeypatch
):
    """Erasing an address (or retention) may delete an email the worker is sending: the
    worker records nothing for it and goes on (it used to stop on the missing row)."""
    Supporter(mail_app.test_client()).submit("gustavo-gatica", email="erased@example.org")
    Supporter(mail_app.test_client()).submit("gustavo-gatica", email="kept@example.org")
    first = stored(mail_app, Outbox)[0]
    real_build = outbox.build_message

    def erased_meanwhile(email):
        message = real_build(email)
        if email.id == first.id:
            db.session.execute(sa.delete(Outbox).where(Outbox.id == email.id))
            db.session.commit()
        return message

    monkeypatch.setattr(outbox, "build_message", erased_meanwhile)
    with mail_app.app_context():
        assert outbox.run_worker(once=True, log=lambda line: None) == (2, 0)
    assert [row.recipient for row in stored(mail_app, Outbox)] == ["kept@example.org"]
    assert [m.envelope_to for m in smtp.messages] == [["erased@example.org"], ["kept@example.org"]]
