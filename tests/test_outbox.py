"""Email delivery: the outbox survives SMTP failures, retries with backoff, and goes dead
visibly; the worker command; development mail written to a folder."""

import email
import socket
import threading
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from helpers import Inbox, Supporter, free_port

from extensions import db
from mail import claims, outbox
from models import Outbox, utcnow


def emails(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Outbox).order_by(Outbox.id)).all()
        db.session.expunge_all()
        return rows


def later(monkeypatch, seconds):
    """Let time pass for the outbox and the workers' holds."""
    for module in (outbox, claims):
        monkeypatch.setattr(module, "utcnow", lambda: utcnow() + timedelta(seconds=seconds))


@pytest.fixture
def down_port():
    return free_port()  # nothing listens here until a test starts a server on it


def test_retry_delays_start_within_ten_seconds_double_and_cap_at_five_minutes(app):
    with app.app_context():
        delays = [outbox.retry_delay(n) for n in range(1, 10)]
    assert delays[0] <= 10
    assert delays[:7] == [5, 10, 20, 40, 80, 160, 300]
    assert set(delays[6:]) == {300}


def test_smtp_down_loses_nothing_and_all_is_sent_when_it_is_back(
    make_app, cases, down_port, monkeypatch
):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=down_port)
    supporter = Supporter(app.test_client())
    for n in range(3):
        response = supporter.submit("gustavo-gatica", email=f"s{n}@example.org", htmx=True)
        assert response.status_code == 200  # the letter is taken while SMTP is down

    with app.app_context():
        # Each pass tries one email and gives the rest back untouched (no attempt charged,
        # due at once), so that a worker pauses instead of charging a whole batch.
        assert [outbox.send_due() for _ in range(3)] == [(0, 1)] * 3
    rows = emails(app)
    assert {(r.state, r.attempts) for r in rows} == {("pending", 1)}
    assert all("Connection refused" in r.last_error or "111" in r.last_error for r in rows)
    assert all(r.next_attempt_at > utcnow() for r in rows)
    with app.app_context():
        assert outbox.send_due() == (0, 0)  # not due again before the retry delay

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=down_port)
    controller.start()
    try:
        later(monkeypatch, 6)
        with app.app_context():
            assert outbox.send_due() == (3, 0)
    finally:
        controller.stop()
    assert sorted(m["To"] for m in inbox.messages) == [f"s{n}@example.org" for n in range(3)]
    assert {(r.state, r.attempts, r.last_error) for r in emails(app)} == {("sent", 2, "")}


def test_after_the_last_attempt_an_email_is_dead_and_operators_can_retry_it(
    make_app, cases, down_port, monkeypatch
):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=down_port, MAIL_MAX_ATTEMPTS=3)
    Supporter(app.test_client()).submit("gustavo-gatica")
    for attempt in range(1, 4):
        later(monkeypatch, 1000 * attempt)
        with app.app_context():
            assert outbox.send_due() == (0, 1)
    [row] = emails(app)
    assert (row.state, row.attempts) == ("dead", 3)
    later(monkeypatch, 10_000)
    with app.app_context():
        assert outbox.send_due() == (0, 0)  # dead emails are left alone

    runner = app.test_cli_runner()
    status = runner.invoke(args=["outbox", "status"])
    assert "dead: 1" in status.output and "pending: 0" in status.output
    assert "Connection refused" in status.output or "111" in status.output
    assert "1 dead email queued again." in runner.invoke(args=["outbox", "retry-dead"]).output
    [row] = emails(app)
    assert (row.state, row.attempts) == ("pending", 0)


def test_a_slow_smtp_server_times_out_instead_of_hanging(make_app, cases):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections but never says hello
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1], MAIL_TIMEOUT=1)
        Supporter(app.test_client()).submit("gustavo-gatica")
        with app.app_context():
            assert outbox.send_due() == (0, 1)
        [row] = emails(app)
        assert row.state == "pending" and "timed out" in row.last_error
    finally:
        listener.close()


def test_a_worker_killed_mid_send_loses_nothing(mail_app, smtp, cases, monkeypatch):
    Supporter(mail_app.test_client()).submit("gustavo-gatica")
    with mail_app.app_context():
        claimed = claims.claim_due()  # ...and the worker dies before sending
        assert len(claimed) == 1
        assert outbox.send_due() == (0, 0)  # another worker leaves the claimed row alone
    later(monkeypatch, mail_app.config["MAIL_CLAIM_SECONDS"] + 1)
    with mail_app.app_context():
        assert outbox.send_due() == (1, 0)  # the claim ran out: it is sent
    assert len(smtp.messages) == 1
    assert emails(mail_app)[0].state == "sent"


def test_concurrent_workers_never_claim_the_same_email(mail_app, cases):
    supporter = Supporter(mail_app.test_client())
    for n in range(30):
        supporter.submit("germain-rukuki", email=f"c{n}@example.org")
    claimed = []
    start = threading.Barrier(3)

    def worker():
        with mail_app.app_context():
            start.wait()
            for _ in range(10):
                claimed.extend(row.id for row in claims.claim_due(limit=4))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == len(set(claimed)) == 30


def test_mail_worker_once_sends_what_is_due_and_exits(mail_app, smtp, cases):
    supporter = Supporter(mail_app.test_client())
    supporter.submit("gustavo-gatica", email="one@example.org")
    supporter.submit("nassima-al-sada", email="two@example.org")
    result = mail_app.test_cli_runner().invoke(args=["mail-worker", "--once"])
    assert result.exit_code == 0
    assert "2 sent, 0 failed" in result.output
    assert sorted(m["To"] for m in smtp.messages) == ["one@example.org", "two@example.org"]


def test_without_mail_server_emails_are_written_to_instance_mail(make_app, cases):
    app = make_app(MAIL_SERVER=None)
    Supporter(app.test_client()).submit("gustavo-gatica", email="dev@example.org")
    result = app.test_cli_runner().invoke(args=["mail-worker", "--once"])
    assert "1 sent" in result.output
    [eml] = (Path(app.instance_path) / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "dev@example.org"
    assert "/confirm/" in message.get_body(("plain",)).get_content()
    assert emails(app)[0].state == "sent"


def test_an_email_that_cannot_be_built_does_not_stop_the_others(mail_app, smtp, cases, monkeypatch):
    supporter = Supporter(mail_app.test_client())
    supporter.submit("gustavo-gatica", email="first@example.org")
    supporter.submit("gustavo-gatica", email="second@example.org")
    real_render = outbox.render
    broken_id = emails(mail_app)[0].id

    def render(email):
        if email.id == broken_id:
            raise KeyError("template")
        return real_render(email)

    monkeypatch.setattr(outbox, "render", render)
    with mail_app.app_context():
        assert outbox.send_due() == (1, 1)
    assert [m["To"] for m in smtp.messages] == ["second@example.org"]
    broken, fine = emails(mail_app)
    assert (broken.state, fine.state) == ("pending", "sent")
    assert "template" in broken.last_error


def test_the_worker_outlives_a_database_outage(mail_app, smtp, cases, monkeypatch):
    calls = []

    def flaky(**options):
        calls.append(options)
        if len(calls) == 1:
            raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))
        return (0, 0)

    monkeypatch.setattr(outbox, "send_due", flaky)
    monkeypatch.setattr(outbox.time, "sleep", lambda seconds: None)
    lines = []
    with mail_app.app_context():
        outbox.run_worker(once=True, log=lines.append)
    assert len(calls) == 2
    assert lines == ["mail-worker: database unavailable, retrying in a few seconds"]
