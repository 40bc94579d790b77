"""The database down: case pages and the letter post answer 503 with Retry-After and a
true message, a posted letter comes back in its form with the text, and no cache keeps
any of it (a cache in front serves its last good copy instead)."""

import pytest
from embed_pages import FramedSupporter
from helpers import Supporter, stored, unreachable_database
from sqlalchemy.exc import OperationalError

import letters

CASE = "gustavo-gatica"
TYPED = "Precious words, typed once"


@pytest.fixture
def down(app, schema, make_app):
    """An app whose database does not answer, of the kind the tests run on. (`app` comes
    first: the tables are emptied afterwards through the first app built.)"""
    return make_app(SQLALCHEMY_DATABASE_URI=unreachable_database(schema))


@pytest.fixture
def fields(app, cases):
    """The appeal form's hidden fields, from the case page shown while the database was up."""
    return Supporter(app.test_client()).form_fields(CASE, "appeal")


def assert_unavailable(response):
    assert response.status_code == 503
    assert 0 < int(response.headers["Retry-After"]) <= 300
    assert response.headers["Cache-Control"] == "no-store"  # never kept as a fresh page


@pytest.mark.parametrize("path", ["/", f"/cases/{CASE}", f"/cases/{CASE}/count"])
@pytest.mark.parametrize("htmx", [False, True])
def test_a_page_says_the_site_cannot_reach_its_letters(down, path, htmx):
    headers = {"HX-Request": "true", "HX-Request-Type": "partial"} if htmx else {}
    response = down.test_client().get(path, headers=headers)
    assert_unavailable(response)
    html = response.get_data(as_text=True)
    assert "The site cannot reach its letters just now" in html
    assert "was lost" not in html
    assert html.lstrip().startswith("<div") if htmx else "<h1>" in html


@pytest.mark.parametrize("htmx", [False, True])
def test_a_letter_posted_while_the_database_is_down_comes_back_unsaved(down, fields, htmx, caplog):
    response = Supporter(down.test_client()).submit(CASE, htmx=htmx, fields=fields, body=TYPED)
    assert_unavailable(response)
    html = response.get_data(as_text=True)
    assert f"{TYPED}</textarea>" in html  # the text comes back, to send again
    assert 'value="Ada Lovelace"' in html and 'value="ada@example.org"' in html
    assert f'action="/cases/{CASE}/letters/appeal"' in html
    assert "We could not save your letter just now" in html
    assert "was lost" not in html
    if htmx:
        assert html.lstrip().startswith("<form")
    else:
        assert "<h1" in html and "Your letter was not saved" in html
    assert "the database did not answer" in caplog.text
    for personal in (TYPED, "Ada Lovelace", "ada@example.org"):
        assert personal not in caplog.text


def test_the_letter_sent_again_once_the_database_is_back_is_stored(app, down, fields):
    unsaved = Supporter(down.test_client()).submit(CASE, fields=fields, body=TYPED)
    assert unsaved.status_code == 503
    again = Supporter(app.test_client()).submit(CASE, fields=fields, body=TYPED)
    assert again.status_code == 200
    assert [letter.body for letter in stored(app)] == [TYPED]


@pytest.mark.parametrize("htmx", [False, True])
def test_a_failed_write_answers_503_with_retry_after(app, fields, monkeypatch, htmx):
    """The case can still be read, the letter cannot be written: the whole case page."""

    def broken(*args, **kwargs):
        raise OperationalError("INSERT INTO letters", {}, Exception("server closed"))

    monkeypatch.setattr(letters, "submit_letter", broken)
    response = Supporter(app.test_client()).submit(CASE, htmx=htmx, fields=fields, body=TYPED)
    assert_unavailable(response)
    html = response.get_data(as_text=True)
    assert f"{TYPED}</textarea>" in html and "We could not save your letter" in html
    assert ('id="case-title"' in html) is not htmx  # the whole case page without htmx
    assert stored(app) == []


def test_an_unexpected_error_never_claims_nothing_was_lost(app, fields, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(letters, "submit_letter", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = Supporter(app.test_client()).submit(CASE, fields=fields, body=TYPED)
    assert response.status_code == 500
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert "was lost" not in html
    assert stored(app) == []


def test_a_made_up_case_address_is_not_written_into_the_page(down, fields):
    """The page is made from the address posted to, since the case cannot be read: it goes
    into the form's action escaped, never as markup."""
    response = Supporter(down.test_client()).submit('"><img src=x onerror=alert(1)>', fields=fields)
    assert_unavailable(response)
    html = response.get_data(as_text=True)
    assert "<img src=x" not in html
    assert 'action="/cases/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E/letters/appeal"' in html


@pytest.mark.parametrize("htmx", [False, True])
def test_a_letter_posted_in_a_partner_frame_while_the_database_is_down_comes_back(
    app, down, partner_id, htmx
):
    """The framed form (issue 12): its token cannot be checked nor its letter stored, so the
    frame says so with 503 and gives the supporter their text back, to send again."""
    fields = FramedSupporter(app.test_client()).form_fields()
    response = FramedSupporter(down.test_client()).send(fields=fields, htmx=htmx, body=TYPED)
    assert_unavailable(response)
    html = response.get_data(as_text=True)
    assert f"{TYPED}</textarea>" in html
    assert "was lost" not in html
    again = FramedSupporter(app.test_client()).send(fields=fields, body=TYPED)
    assert again.status_code == 200
    assert [letter.body for letter in stored(app)] == [TYPED]
