"""The admins' dashboard: every figure matches the letters stored, the chart draws them,
the queue and outbox figures are right, and retrying dead emails works and is audited."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from factories import LetterFactory, OutboxFactory, PartnerFactory, StaffUserFactory
from helpers import csrf_from, sign_in
from staff_pages import Page, day, session_token

from extensions import db
from models import AuditEvent, Case, Outbox, Partner, utcnow
from staff import dashboard

XSS = "<script>alert(1)</script>"


def page(client):
    response = client.get("/admin/dashboard")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def partner(app):
    with app.app_context():
        return PartnerFactory(slug="school", name="Riverside School").id


def test_figures_match_the_letters_per_case_country_partner_and_kind(app, admin, cases, partner):
    gustavo, germain = cases["gustavo-gatica"], cases["germain-rukuki"]
    with app.app_context():
        db.session.execute(sa.update(Case).where(Case.id == gustavo).values(goal=10))
        db.session.commit()
        for _ in range(3):
            LetterFactory(case_id=gustavo, country="CL")
        LetterFactory(case_id=gustavo, country="CL", partner_id=partner)
        LetterFactory(case_id=gustavo, status="unconfirmed", country="TR")
        LetterFactory(case_id=gustavo, kind="solidarity", country="TR", partner_id=partner)
        LetterFactory(case_id=germain, kind="solidarity", country="BI")
        LetterFactory(case_id=germain, kind="solidarity", status="repeat", country="BI")
        # Confirmed but not counted: it lost a race to a letter from the same address.
        LetterFactory(case_id=germain, counted=False, country="FR")

    shown = Page(page(admin))
    assert shown.stats == shown.stats | {
        "written": "9",
        "confirmed": "7",
        "counted": "6",
        "appeal": "6 4 counted",
        "solidarity": "3 2 counted",
    }
    #              stored confirmed counted appeals solidarity offline total progress
    assert shown.row("data-case", "gustavo-gatica") == [
        "Gustavo Gatica", "6", "5", "5", "4", "1", "0", "5", "50% 50% of 10",
    ]  # fmt: skip
    assert shown.row("data-case", "germain-rukuki")[1:8] == ["3", "2", "1", "0", "1", "0", "1"]
    assert shown.row("data-case", "metu-pride-defenders")[1:8] == ["0"] * 7
    assert shown.row("data-case", "secret-draft")[0] == "Draft Person draft"

    assert shown.rows_with("data-country") == [  # most counted letters first
        ("CL", ["Chile", "4", "4"]),
        ("BI", ["Burundi", "2", "1"]),
        ("TR", ["Türkiye", "2", "1"]),
        ("FR", ["France", "1", "0"]),
    ]
    assert shown.rows_with("data-partner") == [
        ("direct", ["Direct (our site)", "7", "4"]),
        (str(partner), ["Riverside School", "2", "2"]),
    ]


def test_progress_towards_the_goal_is_a_progress_bar(app, admin, cases):
    with app.app_context():
        db.session.execute(sa.update(Case).where(Case.id == cases["gustavo-gatica"]).values(goal=4))
        db.session.commit()
        for _ in range(5):
            LetterFactory(case_id=cases["gustavo-gatica"])
    html = page(admin)
    assert '<progress class="goal" max="4" value="4"' in html
    assert Page(html).row("data-case", "gustavo-gatica")[-1] == "100% 100% of 4"


def test_only_the_top_countries_are_listed_and_the_rest_summed(app, admin, cases):
    codes = ["FR", "DE", "ES", "IT", "NL", "BE", "AT", "CH", "SE", "DK"]
    codes += ["NO", "FI", "PL", "PT", "IE", "US", "CA"]  # 17 countries
    with app.app_context():
        for n, code in enumerate(codes):
            for _ in range(1 if n >= 15 else 2):
                LetterFactory(case_id=cases["gustavo-gatica"], country=code)
    shown = Page(page(admin))
    listed = shown.rows_with("data-country")
    assert len(listed) == dashboard.TOP_COUNTRIES + 1
    assert listed[-1] == ("others", ["2 other countries", "2", "2"])
    assert "Letters came from 17 countries." in page(admin)


def test_letters_per_day_chart_has_a_bar_per_day_scaled_to_its_count(app, admin, cases):
    with app.app_context():
        for _ in range(8):
            LetterFactory(case_id=cases["gustavo-gatica"], created_at=day(3))
        for _ in range(2):
            LetterFactory(case_id=cases["germain-rukuki"], created_at=day(1), status="unconfirmed")
        LetterFactory(case_id=cases["gustavo-gatica"], created_at=day(0))
    html = page(admin)
    shown = Page(html)
    bars = {rect["data-day"]: rect for rect in shown.rects}
    days = [day(n).date().isoformat() for n in (3, 2, 1, 0)]
    assert list(bars) == days  # the quiet day in between is drawn as nothing
    assert [int(bars[d]["data-count"]) for d in days] == [8, 0, 2, 1]
    # The axis tops at 8 (ticks 0, 2, 4, 6, 8): heights are in proportion to the counts.
    heights = [float(bars[d]["height"]) for d in days]
    plot = dashboard.PLOT_BOTTOM - dashboard.PLOT_TOP
    assert heights == [pytest.approx(plot * n / 8, abs=0.01) for n in (8, 0, 2, 1)]
    for rect in bars.values():
        assert float(rect["y"]) + float(rect["height"]) == pytest.approx(dashboard.PLOT_BOTTOM)
    assert bars[days[0]]["title"].endswith(": 8 letters")
    assert bars[days[3]]["title"].endswith(": 1 letter")

    # Accessible: an image with a title and a description that says what it shows, and the
    # same numbers as a table.
    assert 'role="img" aria-labelledby="day-chart-title day-chart-desc"' in html
    assert '<title id="day-chart-title">Letters written per day</title>' in html
    description = html.split('<desc id="day-chart-desc">')[1].split("</desc>")[0]
    busiest = day(3).strftime("%-d %B %Y")
    assert "11 in all" in description
    assert f"The busiest day was {busiest}, with 8 letters." in description
    assert [(d, cells[1]) for d, cells in shown.rows_with("data-day")] == [
        (days[3], "1"),
        (days[2], "2"),
        (days[1], "0"),
        (days[0], "8"),
    ]


def test_chart_shows_at_most_sixty_days_up_to_the_latest_letter(app):
    per_day = {day(n).date(): n + 1 for n in range(0, 100, 3)}
    chart = dashboard.day_chart(per_day)
    assert len(chart["bars"]) == dashboard.CHART_DAYS
    assert chart["end"] == day(0).date()
    assert chart["start"] == day(59).date()
    assert chart["total"] == sum(n + 1 for n in range(0, 60, 3))
    assert chart["ticks"][-1]["value"] >= max(bar["count"] for bar in chart["bars"])
    assert chart["bars"][-1]["labelled"] and chart["bars"][-1]["major"]  # the latest day has a date


def test_no_letters_no_chart(admin, cases):
    html = page(admin)
    assert "No letters yet." in html and "<svg" not in html


def test_queue_counts_confirmed_pending_letters_per_kind_and_the_wait(app, admin, cases):
    now = utcnow()
    with app.app_context():
        case = cases["nassima-al-sada"]
        first = LetterFactory(case_id=case, created_at=now - timedelta(hours=3, minutes=5)).id
        LetterFactory(case_id=case)
        LetterFactory(case_id=case, status="unconfirmed")  # not in the queue until confirmed
        LetterFactory(case_id=case, moderation="approved")
        LetterFactory(
            case_id=case, kind="solidarity", created_at=now - timedelta(days=2, minutes=5)
        )
        LetterFactory(case_id=case, kind="solidarity", moderation="rejected")
        # Flagged letters come first in the queue: the wait counts them too.
        LetterFactory(case_id=case, flagged=True, created_at=now - timedelta(hours=1, minutes=5))
        LetterFactory(case_id=case, kind="solidarity", flagged=True)
        assert first
    shown = Page(page(admin))
    assert shown.row("data-kind", "appeal") == ["Appeals", "3", "3 hours"]
    assert shown.row("data-kind", "solidarity") == ["Solidarity messages", "2", "2 days"]


def test_the_longest_wait_can_be_a_flagged_letter(app, admin, cases):
    now = utcnow()
    with app.app_context():
        LetterFactory(
            case_id=cases["gustavo-gatica"], flagged=True, created_at=now - timedelta(days=3)
        )
        LetterFactory(case_id=cases["gustavo-gatica"], created_at=now - timedelta(hours=2))
    assert Page(page(admin)).row("data-kind", "appeal") == ["Appeals", "2", "3 days"]


def test_empty_queue_shows_no_wait(admin, cases):
    shown = Page(page(admin))
    assert shown.row("data-kind", "appeal") == ["Appeals", "0", "—"]


def test_outbox_health_counts_states_and_the_oldest_waiting_email(app, admin, cases):
    now = utcnow()
    with app.app_context():
        letter = LetterFactory(case_id=cases["gustavo-gatica"]).id
        OutboxFactory(letter_id=letter, state="pending", created_at=now - timedelta(minutes=42))
        OutboxFactory(letter_id=letter, state="pending", created_at=now - timedelta(minutes=2))
        OutboxFactory(letter_id=letter, state="sent")
        OutboxFactory(
            letter_id=letter,
            state="dead",
            last_error="550 <Private.Person@example.net>: no such user",
        )
    html = page(admin)
    shown = Page(html)
    assert shown.stats["outbox-pending"] == "2"
    assert shown.stats["outbox-sent"] == "1"
    assert shown.stats["outbox-dead"] == "1"
    assert shown.stats["outbox-oldest"] == "The oldest email waiting was queued 42 minutes ago."
    assert "550 [address]: no such user" in html
    assert "Private.Person" not in html and "example.net" not in html
    assert "Retry dead emails" in html


def test_no_dead_emails_no_retry_button(app, admin, cases):
    html = page(admin)
    assert "Retry dead emails" not in html
    assert Page(html).stats["outbox-oldest"] == "No email is waiting."


def dead_emails(app, count=2):
    with app.app_context():
        letter = LetterFactory(case_id=app_case(app)).id
        return [
            OutboxFactory(letter_id=letter, state="dead", last_error="timed out").id
            for _ in range(count)
        ]


def app_case(app):
    return db.session.scalar(sa.select(Case.id).order_by(Case.id))


def states(app):
    with app.app_context():
        return db.session.execute(sa.select(Outbox.state, Outbox.attempts)).all()


def audit_events(app, action):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_retry_dead_emails_queues_them_again_and_is_audited(app, admin, cases):
    dead_emails(app, 2)
    token = csrf_from(admin, "/admin/dashboard")
    response = admin.post("/admin/dashboard/retry-dead", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/dashboard"
    assert states(app) == [("pending", 0), ("pending", 0)]

    html = page(admin)
    assert "2 dead emails are queued again." in html
    assert Page(html).stats["outbox-dead"] == "0"
    assert Page(html).stats["outbox-pending"] == "2"
    [event] = audit_events(app, "outbox.retry_dead")
    assert event.actor_email == "admin@example.org"
    assert event.details == {"emails": 2}


def test_retry_dead_emails_with_htmx_header_token_works_too(app, admin, cases):
    dead_emails(app, 1)
    token = csrf_from(admin, "/admin/dashboard")
    response = admin.post("/admin/dashboard/retry-dead", headers={"X-CSRFToken": token})
    assert response.status_code == 303
    assert states(app) == [("pending", 0)]


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_retry_dead_emails_without_a_valid_csrf_token_is_refused(app, admin, cases, token):
    dead_emails(app, 2)
    data = {"csrf_token": token} if token else {}
    response = admin.post("/admin/dashboard/retry-dead", data=data)
    assert response.status_code == 400
    assert states(app) == [("dead", 20), ("dead", 20)]
    assert audit_events(app, "outbox.retry_dead") == []


ROUTES = [
    ("get", "/admin/dashboard"),
    ("post", "/admin/dashboard/retry-dead"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_moderators_are_refused(app, moderator, cases, method, path):
    dead_emails(app, 1)
    token = session_token(moderator)  # a valid token, so that CSRF is not what stops it
    response = getattr(moderator, method)(path, headers={"X-CSRFToken": token})
    assert response.status_code == 403
    assert states(app) == [("dead", 20)]
    assert audit_events(app, "outbox.retry_dead") == []


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_signed_out_visitors_are_sent_to_sign_in(client, cases, method, path):
    response = getattr(client, method)(path, headers={"X-CSRFToken": session_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/sign-in?next=/admin/dashboard")


def test_dashboard_and_delivery_are_in_the_staff_navigation(admin, cases):
    html = page(admin)
    assert '<a href="/admin/dashboard" aria-current="page">Dashboard</a>' in html
    assert '<a href="/admin/delivery">Delivery</a>' in html


def test_names_from_the_database_are_shown_as_text(app, admin, cases, partner):
    with app.app_context():
        case = db.session.get(Case, cases["gustavo-gatica"])
        case.name = f"Gustavo {XSS}"
        db.session.get(Partner, partner).name = f'<img src=x onerror="alert(2)">{XSS}'
        db.session.commit()
        letter = LetterFactory(case_id=case.id, partner_id=partner, country="<b").id
        OutboxFactory(letter_id=letter, state="dead", last_error=f"550 {XSS}")
    html = page(admin)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b<" not in html
    assert "Gustavo &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    assert "550 &lt;script&gt;" in html


def test_figures_are_kept_for_a_while_and_a_retry_shows_at_once(make_app, cases):
    app = make_app(DASHBOARD_CACHE_SECONDS=30)
    with app.app_context():
        StaffUserFactory(email="cache@example.org", role="admin")
    client = app.test_client()
    assert sign_in(client, "cache@example.org").status_code == 303
    dead_emails(app, 1)
    assert Page(page(client)).stats["written"] == "1"
    with app.app_context():
        LetterFactory(case_id=app_case(app))
    assert Page(page(client)).stats["written"] == "1"  # from the cache
    token = csrf_from(client, "/admin/dashboard")
    client.post("/admin/dashboard/retry-dead", data={"csrf_token": token})
    shown = Page(page(client))
    assert shown.stats["outbox-dead"] == "0"
    assert shown.stats["written"] == "2"
