"""Letters written offline count in every total once staff approve their report, shown
apart from those sent online: the case page and its counter, the home page and its
total, /api/stats, the staff dashboard and the partner's own stats page. And what was
delivered: /api/stats and the case page say it once a batch was sent."""

import re
from datetime import date

import pytest
from embed_pages import RIVERSIDE, UNION
from factories import CaseCounterFactory, LetterFactory, PartnerFactory
from flask_babel import format_date
from staff_pages import Page

import partners
from extensions import db
from models import Case, DeliveryBatch, OfflineReport
from offline import reports as offline_reports

CASE = "gustavo-gatica"


def words(html):
    """The text a reader meets (tags dropped, spaces collapsed)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def counter(html, element="div", marker='id="case-counter"'):
    """The case counter's (or the total counter's) markup within a page."""
    start = html.rindex("<", 0, html.index(marker))
    return html[start : html.index(f"</{element}>", start)]


def report(app, case_id, state="approved", appeals=3, solidarity=4, partner_id=None):
    with app.app_context():
        row = OfflineReport(
            case_id=case_id,
            partner_id=partner_id,
            appeals=appeals,
            solidarity=solidarity,
            event="Letter-writing evening",
            town="Leeds",
            country="GB",
            held_on=date(2026, 11, 28),
            state=state,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def batch(app, case_id, kind="appeal", letters=40, state="sent", sent_on=date(2026, 12, 1)):
    with app.app_context():
        number = db.session.query(DeliveryBatch).filter_by(case_id=case_id, kind=kind).count()
        db.session.add(
            DeliveryBatch(
                case_id=case_id,
                kind=kind,
                number=number + 1,
                state=state,
                letters=letters,
                sent_on=sent_on if state == "sent" else None,
                method="post" if state == "sent" else "",
            )
        )
        db.session.commit()


def stats_page(app, client, slug="riverside"):
    with app.app_context():
        token = partners.find_partner(slug).stats_token
    response = client.get(f"/partners/stats/{token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def api_case(body, slug=CASE):
    return next(case for case in body["cases"] if case["slug"] == slug)


@pytest.fixture
def online(app, cases):
    """5 appeals confirmed and counted online for Gustavo Gatica, 2 for Germain Rukuki:
    the letters (the dashboard's figures) and their counters (the public ones)."""
    with app.app_context():
        for slug, count in ((CASE, 5), ("germain-rukuki", 2)):
            LetterFactory.create_batch(count, case_id=cases[slug])
            CaseCounterFactory(case_id=cases[slug], count=count)


def test_an_approved_report_counts_offline_and_in_every_total(
    app, client, admin, cases, online, partner_id
):
    report(app, cases[CASE], partner_id=partner_id)  # 3 appeals, 4 solidarity cards

    page = client.get(f"/cases/{CASE}").get_data(as_text=True)
    for html in (page, client.get(f"/cases/{CASE}/count").get_data(as_text=True)):
        shown = counter(html)
        assert "<strong data-count>12</strong>" in shown
        assert "12 messages sent 5 online · 7 written offline" in words(shown)
        assert 'value="12"' in shown  # the progress towards the goal counts both

    home = client.get("/").get_data(as_text=True)
    for html in (home, client.get("/count").get_data(as_text=True)):
        total = words(counter(html, "p", 'id="total-counter"'))
        assert total == "14 messages sent so far 7 online · 7 written offline"
    assert '<p class="card__count">12 of 200,000 messages</p>' in home

    body = client.get("/api/stats").get_json()
    assert (body["total"], body["online"], body["offline"]) == (14, 7, 7)
    gustavo = api_case(body)
    assert (gustavo["count"], gustavo["total"], gustavo["online"], gustavo["offline"]) == (
        12,
        12,
        5,
        7,
    )
    assert api_case(body, "germain-rukuki")["offline"] == 0

    dashboard = Page(admin.get("/admin/dashboard").get_data(as_text=True))
    assert dashboard.stats == dashboard.stats | {"counted": "7", "offline": "7", "total": "14"}
    assert dashboard.stats["appeal"] == "7 7 counted 3 offline"
    assert dashboard.stats["solidarity"] == "0 0 counted 4 offline"
    #                            counted appeals solidarity offline total progress
    assert dashboard.row("data-case", CASE)[3:] == ["5", "5", "0", "7", "12", "0% 0% of 200,000"]
    cases_list = words(admin.get("/admin/cases").get_data(as_text=True))
    assert f"/cases/{CASE} Published 12 / 200,000 messages" in cases_list

    stats = stats_page(app, client)
    assert "Your reports add 7 letters written offline at your events" in stats
    offline_table = stats[stats.index('id="offline-table"') :]
    assert '<tr><th scope="row">Gustavo Gatica</th><td>3</td><td>4</td></tr>' in offline_table


@pytest.mark.parametrize("state", ["submitted", "correction", "rejected", "withdrawn"])
def test_a_report_not_approved_counts_nowhere(app, client, admin, cases, online, partner_id, state):
    report(app, cases[CASE], state=state, partner_id=partner_id)

    shown = counter(client.get(f"/cases/{CASE}").get_data(as_text=True))
    assert "<strong data-count>5</strong>" in shown and "offline" not in shown
    home = client.get("/").get_data(as_text=True)
    assert words(counter(home, "p", 'id="total-counter"')) == "7 messages sent so far"

    body = client.get("/api/stats").get_json()
    assert (body["total"], body["online"], body["offline"]) == (7, 7, 0)
    assert (api_case(body)["count"], api_case(body)["offline"]) == (5, 0)

    dashboard = Page(admin.get("/admin/dashboard").get_data(as_text=True))
    assert (dashboard.stats["offline"], dashboard.stats["total"]) == ("0", "7")

    stats = stats_page(app, client)
    assert "Your reports add" not in stats and 'id="offline-table"' not in stats


def test_a_partner_sees_its_own_offline_letters_only(app, client, cases, partner_id):
    with app.app_context():
        union = PartnerFactory(**UNION).id
    report(app, cases[CASE], partner_id=union, appeals=70, solidarity=0)
    report(app, cases[CASE], partner_id=None, appeals=0, solidarity=90)  # staff's own
    assert 'id="offline-table"' not in stats_page(app, client, RIVERSIDE["slug"])
    theirs = stats_page(app, client, UNION["slug"])
    assert "add 70 letters written offline" in theirs and "90" not in theirs
    assert '<tr><th scope="row">Gustavo Gatica</th><td>70</td><td>0</td></tr>' in theirs
    # Everyone's count in the public figures.
    assert client.get("/api/stats").get_json()["offline"] == 160


def test_a_drafts_offline_letters_are_not_public(app, client, admin, cases, online):
    report(app, cases["secret-draft"], appeals=50, solidarity=0)
    body = client.get("/api/stats").get_json()
    assert (body["total"], body["offline"]) == (7, 0)
    assert "secret-draft" not in {case["slug"] for case in body["cases"]}
    home = client.get("/").get_data(as_text=True)
    assert words(counter(home, "p", 'id="total-counter"')) == "7 messages sent so far"
    # Staff follow a draft: the dashboard has it.
    dashboard = Page(admin.get("/admin/dashboard").get_data(as_text=True))
    assert dashboard.row("data-case", "secret-draft")[6:8] == ["50", "50"]


def test_offline_figures_are_written_the_pages_way(app, client, cases):
    with app.app_context():
        CaseCounterFactory(case_id=cases[CASE], count=12345)
    report(app, cases[CASE], appeals=1000, solidarity=234)
    for language, online, offline, total in (
        ("es", "12.345", "1.234", "13.579"),
        ("fr", "12\u202f345", "1\u202f234", "13\u202f579"),
        ("en", "12,345", "1,234", "13,579"),
    ):
        prefix = "" if language == "en" else f"/{language}"
        shown = counter(client.get(f"{prefix}/cases/{CASE}/count").get_data(as_text=True))
        assert f"<strong data-count>{total}</strong>" in shown, language
        assert f'<span data-figure="online">{online} ' in shown, language
        assert f'<span data-figure="offline">{offline} ' in shown, language


def test_delivered_letters_show_once_a_batch_is_sent(app, client, cases):
    gustavo = cases[CASE]
    batch(app, gustavo, state="prepared", letters=30)
    batch(app, gustavo, state="cancelled", letters=20)
    body = client.get("/api/stats").get_json()
    nothing = {"appeals": 0, "solidarity": 0, "appeals_on": None}
    assert body["delivered"] == nothing and api_case(body)["delivered"] == nothing
    assert "delivered to the official" not in client.get(f"/cases/{CASE}").get_data(as_text=True)

    batch(app, gustavo, letters=40, sent_on=date(2026, 12, 1))
    batch(app, gustavo, letters=1, sent_on=date(2026, 12, 3))
    batch(app, gustavo, kind="solidarity", letters=25, sent_on=date(2026, 12, 4))
    batch(app, cases["germain-rukuki"], letters=1, sent_on=date(2026, 11, 30))
    body = client.get("/api/stats").get_json()
    assert api_case(body)["delivered"] == {
        "appeals": 41,
        "solidarity": 25,
        "appeals_on": "2026-12-03",
    }
    assert api_case(body, "germain-rukuki")["delivered"]["appeals_on"] == "2026-11-30"
    assert api_case(body, "metu-pride-defenders")["delivered"] == nothing
    assert body["delivered"] == {"appeals": 42, "solidarity": 25, "appeals_on": "2026-12-03"}

    page = words(client.get(f"/cases/{CASE}").get_data(as_text=True))
    assert "41 letters delivered to the official on December 3, 2026" in page
    one = words(client.get("/cases/germain-rukuki/count").get_data(as_text=True))
    assert "1 letter delivered to the official on November 30, 2026" in one
    with app.test_request_context("/es/"):
        app.preprocess_request()
        spanish_day = format_date(date(2026, 12, 3), "long")
    assert spanish_day == "3 de diciembre de 2026"
    assert spanish_day in client.get(f"/es/cases/{CASE}").get_data(as_text=True)


def test_a_solidarity_booklet_alone_says_nothing_of_the_official(app, client, cases):
    batch(app, cases[CASE], kind="solidarity", letters=25)
    assert "delivered to the official" not in client.get(f"/cases/{CASE}").get_data(as_text=True)
    assert api_case(client.get("/api/stats").get_json())["delivered"]["solidarity"] == 25


def test_the_names_in_the_offline_figures_are_escaped(app, client, cases, partner_id):
    with app.app_context():
        case = db.session.get(Case, cases[CASE])  # a name staff typed
        case.name = "<b>Gustavo</b>"
        db.session.commit()
    report(app, cases[CASE], partner_id=partner_id)
    stats = stats_page(app, client)
    assert "<b>Gustavo</b>" not in stats and "&lt;b&gt;Gustavo&lt;/b&gt;" in stats


def test_an_approval_shows_on_the_cached_counters_at_once(make_app, cases):
    """Counters are cached pages (PAGE_CACHE_SECONDS); approving a report empties the
    app's cache, as a staff change to a case does, so the next poll shows it."""
    app = make_app(PAGE_CACHE_SECONDS=60)
    client = app.test_client()
    report_id = report(app, cases[CASE], state="submitted")
    paths = (f"/cases/{CASE}/count", "/count", "/api/stats")
    before = [client.get(path, headers={"HX-Request": "true"}) for path in paths]
    assert "<strong data-count>0</strong>" in before[0].get_data(as_text=True)
    assert before[2].get_json()["offline"] == 0
    with app.test_request_context():
        offline_reports.review_report(db.session.get(OfflineReport, report_id), "approve")
    after = [client.get(path, headers={"HX-Request": "true"}) for path in paths]
    assert "<strong data-count>7</strong>" in after[0].get_data(as_text=True)
    assert "<strong data-count>7</strong>" in after[1].get_data(as_text=True)
    assert after[2].get_json()["offline"] == 7
    assert all(response.cache_control.max_age == 60 for response in after)
