"""MAIL_RATE_PER_SECOND: each mail worker sends at most that many emails a second, across
its batches; an idle worker sends its next email at once. Asserted on the pauses the
worker computes, with a clock of the test's own (no timing that a busy machine could
flake), and once on the wall clock as a lower bound."""

import time

import pytest
from helpers import Supporter

from extensions import begin_write, db
from mail import outbox, relays, suppression

ADDRESSES = [f"writer{n}@example.org" for n in range(10)]


class FakeClock:
    """A monotonic clock that moves only when the worker sleeps (or the test says so)."""

    def __init__(self):
        self.now, self.sleeps = 100.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def queue(app, addresses=ADDRESSES):
    supporter = Supporter(app.test_client())
    for address in addresses:
        assert supporter.submit("gustavo-gatica", email=address).status_code == 200


def test_ten_emails_at_five_a_second_are_spaced_a_fifth_of_a_second_apart(make_app, smtp, cases):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_RATE_PER_SECOND=5)
    queue(app)
    clock = FakeClock()
    with app.app_context():
        pacer = relays.Pacer.for_worker(clock=clock, sleep=clock.sleep)
        # Two batches, one pacer (as run_worker does): the rate holds across them.
        assert outbox.send_due(limit=4, pacer=pacer) == (4, 0)
        assert outbox.send_due(limit=10, pacer=pacer) == (6, 0)
    assert clock.sleeps == [0.2] * 9  # the first goes at once, then one every 0.2 s
    assert sum(clock.sleeps) >= 1.8 - 1e-9
    assert sorted(message["To"] for message in smtp.messages) == sorted(ADDRESSES)


def test_time_spent_sending_counts_towards_the_pause():
    clock = FakeClock()
    pacer = relays.Pacer(4, clock=clock, sleep=clock.sleep)
    assert pacer.wait() == 0  # first email: at once
    clock.now += 0.1  # sending it took 0.1 s
    assert pacer.wait() == pytest.approx(0.15)  # so 0.15 s more makes 0.25 s
    clock.now += 0.3  # a slow relay: already past the next slot
    assert pacer.wait() == 0
    clock.now += 5  # idle for a while: no burst is owed, and no wait either
    assert pacer.wait() == 0
    assert pacer.wait() == pytest.approx(0.25)
    assert clock.sleeps == pytest.approx([0.15, 0.25])


def test_no_rate_means_no_pause():
    clock = FakeClock()
    pacer = relays.Pacer(0, clock=clock, sleep=clock.sleep)
    assert [pacer.wait() for _ in range(5)] == [0] * 5 and clock.sleeps == []


def test_suppressed_emails_take_no_slot(make_app, smtp, cases):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_RATE_PER_SECOND=5)
    queue(app, ADDRESSES[:3])
    with app.app_context():
        begin_write()
        for address in ADDRESSES[:2]:
            suppression.suppress(suppression.address_key(address), "hard_bounce", "dsn")
        db.session.commit()
        clock = FakeClock()
        pacer = relays.Pacer.for_worker(clock=clock, sleep=clock.sleep)
        assert outbox.send_due(pacer=pacer) == (1, 0)
    assert clock.sleeps == [] and [m["To"] for m in smtp.messages] == [ADDRESSES[2]]


def test_the_worker_keeps_the_rate_on_the_wall_clock(make_app, smtp, cases):
    """A lower bound only: a slow machine can take longer, never shorter."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_RATE_PER_SECOND=5)
    queue(app)
    with app.app_context():
        started = time.monotonic()
        assert outbox.run_worker(once=True, log=lambda line: None) == (10, 0)
        elapsed = time.monotonic() - started
    assert elapsed >= 1.8
    assert len(smtp.messages) == 10
