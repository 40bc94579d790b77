"""Bounces, complaints and unsubscribes per day on the dashboard: counted from the events
the suppression list records (never naming an address), the last 30 days, as charts and
as a table."""

from datetime import timedelta

import sqlalchemy as sa
from staff_pages import Page

from extensions import begin_write, db
from mail import suppression
from models import MailEvent, utcnow
from staff import dashboard

ADDRESSES = [f"reader{n}@example.org" for n in range(6)]


def record(app, days_ago, action, address, *arguments):
    """One event through mail/suppression.py, dated `days_ago` days back."""
    with app.app_context():
        begin_write()
        action(suppression.address_key(address), *arguments)
        db.session.flush()
        newest = db.session.scalar(sa.select(sa.func.max(MailEvent.id)))
        event = db.session.get(MailEvent, newest)
        event.created_at = utcnow() - timedelta(days=days_ago)
        db.session.commit()


def test_the_dashboard_counts_each_kind_per_day(app, admin, cases):
    record(app, 0, suppression.unsubscribe, ADDRESSES[0], "one-click")
    record(app, 0, suppression.unsubscribe, ADDRESSES[1], "link")
    record(app, 0, suppression.suppress, ADDRESSES[2], suppression.HARD_BOUNCE, "dsn")
    record(app, 2, suppression.suppress, ADDRESSES[3], suppression.COMPLAINT, "ses")
    record(app, 2, suppression.soft_bounce, ADDRESSES[4], "dsn")
    record(app, 40, suppression.suppress, ADDRESSES[5], suppression.HARD_BOUNCE, "dsn")  # too old
    html = admin.get("/admin/dashboard").get_data(as_text=True)
    shown = Page(html)
    assert {
        name: shown.stats[f"mail-{name}"]
        for name in ("bounce", "soft_bounce", "complaint", "unsubscribe")
    } == {"bounce": "1", "soft_bounce": "1", "complaint": "1", "unsubscribe": "2"}
    today, two_days_ago = (utcnow().date() - timedelta(days=n) for n in (0, 2))
    rows = dict(shown.rows_with("data-mail-day"))
    assert len(rows) == dashboard.MAIL_EVENT_DAYS
    # Day, bounces, soft bounces, complaints, unsubscribes.
    assert rows[today.isoformat()][1:] == ["1", "0", "0", "2"]
    assert rows[two_days_ago.isoformat()][1:] == ["0", "1", "1", "0"]
    assert rows[(today - timedelta(days=1)).isoformat()][1:] == ["0"] * 4
    # One chart each for bounces, complaints and unsubscribes, on the same 30 days.
    for kind, count in (("bounce", 1), ("complaint", 1), ("unsubscribe", 2)):
        assert f'aria-labelledby="mail-chart-{kind}-title mail-chart-{kind}-desc"' in html
        description = html.split(f'<desc id="mail-chart-{kind}-desc">')[1].split("</desc>")[0]
        assert description.endswith(f"(UTC): {count} in all.")
    todays = [r for r in shown.rects if r["data-day"] == today.isoformat()]
    assert sorted(int(r["data-count"]) for r in todays) == [0, 1, 2]  # 3 charts, today
    for address in ADDRESSES:
        assert address not in html


def test_no_events_says_so_without_charts(admin, cases):
    html = admin.get("/admin/dashboard").get_data(as_text=True)
    assert "Bounces, complaints and unsubscribes" in html
    assert 'data-stat="mail-events-none"' in html and "mail-chart-" not in html
