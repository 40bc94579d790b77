"""What the server renders for screen readers and for the counters (issue 13): the error
summary's heading follows the page's heading order, a closed case's counter has nothing
to poll with, and counters write numbers as the page's locale does. Browser tests:
tests/browser/test_rtl_and_announcements.py."""

import re
from itertools import pairwise
from types import SimpleNamespace

import sqlalchemy as sa
from babel.numbers import format_decimal
from factories import CaseCounterFactory
from flask import render_template
from werkzeug.datastructures import MultiDict

from extensions import db
from letters.forms import LetterForm
from models import Case

CASE = "gustavo-gatica"


def headings(html):
    return [int(level) for level in re.findall(r"<h([1-6])\b", html)]


def test_the_letter_not_saved_pages_error_summary_is_an_h2_under_its_h1(app):
    with app.test_request_context("/privacy"):  # (any page: the form brings its own address)
        app.preprocess_request()  # (takes the language out of the address, as a request does)
        form = LetterForm("appeal", formdata=MultiDict({"appeal-email": "ada@"}))
        assert not form.validate()
        html = render_template(
            "public/letter_not_saved.html",
            case=SimpleNamespace(slug=CASE, solidarity_prompt=None),
            form=form,
            problem=None,
            problem_kind="appeal",
        )
    assert '<h2 class="form-problem__title">Please check' in html
    assert headings(html)[:2] == [1, 2]


def test_the_case_pages_error_summary_is_an_h3_under_its_panels_h2(client, supporter, case_slug):
    html = supporter.submit(case_slug, htmx=False, email="ada@").get_data(as_text=True)
    assert '<h3 class="form-problem__title">Please check' in html
    levels = headings(html)
    assert all(later <= earlier + 1 for earlier, later in pairwise(levels))


def close(app, slug):
    with app.app_context():
        db.session.execute(sa.update(Case).where(Case.slug == slug).values(status="closed"))
        db.session.commit()


def test_an_open_cases_counter_polls(client, cases):
    html = client.get(f"/cases/{CASE}").get_data(as_text=True)
    counter = html[html.index('id="case-counter"') :].split(">", 1)[0]
    assert "data-hx-trigger" in counter and "data-poll-while-visible" in counter


def test_a_closed_cases_counter_does_not_poll(app, client, cases):
    close(app, CASE)
    for path in (f"/cases/{CASE}", f"/cases/{CASE}/count", f"/ar/cases/{CASE}/count"):
        html = client.get(path).get_data(as_text=True)
        counter = html[html.index('id="case-counter"') :].split(">", 1)[0]
        assert "data-hx-" not in counter, path


def test_counters_write_numbers_as_the_pages_locale_does(app, client, cases):
    with app.app_context():
        CaseCounterFactory(case_id=cases[CASE], count=12345)
    for language, figure in (("es", "12.345"), ("fr", "12\u202f345"), ("ar", "12,345")):
        assert figure == format_decimal(12345, locale=language)  # Babel's, from CLDR
        case = client.get(f"/{language}/cases/{CASE}/count").get_data(as_text=True)
        assert f"<strong data-count>{figure}</strong>" in case, language
        total = client.get(f"/{language}/count").get_data(as_text=True)
        assert f"<strong data-count>{figure}</strong>" in total, language
