"""What a visitor sees: the home page, case pages, the stats API, headers and errors."""

import flask
import pytest
from factories import CaseCounterFactory

from cases.demo import CASES
from cases.demo_outcomes import CASE as CLOSED_CASE
from extensions import db
from models import Case


def test_home_lists_every_published_case_with_its_count(app, client, cases):
    with app.app_context():
        CaseCounterFactory(case_id=cases["gustavo-gatica"], count=1234)
        CaseCounterFactory(case_id=cases["secret-draft"], count=99)
    page = client.get("/").get_data(as_text=True)
    for case in CASES:
        assert case["name"] in page
        assert case["summary"].replace("'", "&#39;") in page
    assert "Draft Person" not in page
    assert "1,234 of 200,000 messages" in page
    assert "<strong data-count>1,234</strong>" in page  # the live total ignores drafts
    assert "Letters work" in page and "Máxima Acuña" in page


def test_case_page_shows_story_target_and_both_forms(client, case_slug):
    page = client.get(f"/cases/{case_slug}").get_data(as_text=True)
    assert "Gustavo Gatica" in page
    assert "Chile&#39;s National Prosecutor" in page
    assert "Postal address to be confirmed by campaign staff." in page
    assert 'id="appeal-form"' in page and 'id="solidarity-form"' in page
    assert "Dear National Prosecutor," in page  # the prefilled, editable appeal
    assert "reads every message before it is delivered" in page  # solidarity is moderated
    assert 'method="post" action="/cases/gustavo-gatica/letters/appeal"' in page


def test_case_page_offers_the_letter_in_its_other_languages(client, case_slug):
    page = client.get(f"/cases/{case_slug}?letter=es").get_data(as_text=True)
    assert '<html lang="en"' in page  # the page stays English; its letter is Spanish
    assert "Estimado señor Fiscal Nacional:" in page
    assert 'name="appeal-language" type="hidden" value="es"' in page
    unknown = client.get(f"/cases/{case_slug}?letter=<script>").get_data(as_text=True)
    assert "Dear National Prosecutor," in unknown and "<script>" not in unknown


@pytest.mark.parametrize("path", ["/cases/secret-draft", "/cases/no-such-case"])
def test_drafts_and_unknown_cases_are_not_found(client, cases, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "We could not find that page" in response.get_data(as_text=True)


def test_closed_case_shows_its_story_but_takes_no_letters(app, client, supporter, case_slug):
    fields = supporter.form_fields(case_slug, "appeal")
    with app.app_context():
        case = db.session.scalar(db.select(Case).filter_by(slug=case_slug))
        case.status = "closed"
        db.session.commit()
    page = client.get(f"/cases/{case_slug}").get_data(as_text=True)
    assert "This case is closed" in page and "appeal-form" not in page
    response = supporter.submit(case_slug, fields=fields)
    assert response.status_code == 409
    assert "This case is closed" in response.get_data(as_text=True)


def test_stats_api_gives_totals_per_published_case(app, client, cases):
    with app.app_context():
        CaseCounterFactory(case_id=cases["germain-rukuki"], count=5)
        CaseCounterFactory(case_id=cases["germain-rukuki"], count=2)
        CaseCounterFactory(case_id=cases["metu-pride-defenders"], count=3)
        CaseCounterFactory(case_id=cases["secret-draft"], count=50)
    response = client.get("/api/stats")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert body["total"] == 10
    by_slug = {case["slug"]: case for case in body["cases"]}
    assert set(by_slug) == {case["slug"] for case in CASES} | {CLOSED_CASE["slug"]}
    assert by_slug[CLOSED_CASE["slug"]]["status"] == "closed"
    assert by_slug["germain-rukuki"] == {
        "slug": "germain-rukuki",
        "name": "Germain Rukuki",
        "count": 7,
        "goal": 250000,
        "status": "published",
        "online": 7,
        "offline": 0,
        "total": 7,
        "delivered": {"appeals": 0, "solidarity": 0, "appeals_on": None},
    }
    assert by_slug["gustavo-gatica"]["count"] == 0


def test_counter_fragments_are_small_and_cacheable(app, client, cases, case_slug):
    with app.app_context():
        CaseCounterFactory(case_id=cases[case_slug], count=42)
    fragment = client.get(f"/cases/{case_slug}/count")
    assert fragment.cache_control.public
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and "<strong data-count>42</strong>" in html
    # it keeps polling after each swap (and catches up when a hidden tab is seen again)
    assert 'data-hx-trigger="every 15s, visibilitychange from:document"' in html
    total = client.get("/count").get_data(as_text=True)
    assert "<strong data-count>42</strong>" in total


@pytest.mark.parametrize("path", ["/", "/cases/gustavo-gatica", "/privacy", "/nowhere"])
def test_security_headers_on_every_page(client, cases, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_a_page_that_sets_a_cookie_is_never_publicly_cached(make_app):
    """Headers are added to the final response, so a public page that also sets a cookie
    is made private: a shared cache would hand it to others. A stricter policy a page sets
    stays."""
    app = make_app()

    @app.get("/test-cookie-page")
    def cookie_page():
        response = flask.make_response("hello")
        response.cache_control.public = True
        response.cache_control.max_age = 30
        response.set_cookie("visitor", "one")
        return response

    @app.get("/test-no-store")
    def no_store_page():
        response = flask.make_response("hello")
        response.headers["Cache-Control"] = "no-store"
        response.set_cookie("visitor", "one")
        return response

    client = app.test_client()
    public_page = client.get("/test-cookie-page")
    assert public_page.headers.getlist("Cache-Control") == ["private, no-cache"]
    assert public_page.headers["X-Frame-Options"] == "DENY"
    assert client.get("/test-no-store").headers.getlist("Cache-Control") == ["no-store"]


def test_pages_have_no_inline_script_or_style(client, case_slug):
    for path in ("/", f"/cases/{case_slug}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and " style=" not in page and "<style" not in page
        assert '<script src="/static/js/htmx-4.0.1.min.js?v=' in page


def test_missing_secret_key_stops_the_app(make_app):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make_app(SECRET_KEY=None)


def test_htmx_error_answers_are_fragments(client, cases):
    response = client.get("/nowhere", headers={"HX-Request": "true"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'role="alert"' in html
