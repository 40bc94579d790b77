"""Every user-facing string is marked for translation, so a new language is only a catalog."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from flask import render_template
from werkzeug.datastructures import MultiDict

from extensions import db
from letters.forms import LetterForm
from models import Case

ROOT = Path(__file__).resolve().parent.parent


def extracted():
    method_map = [
        ("tests/**", "ignore"),
        (".venv/**", "ignore"),
        ("bench/**", "ignore"),
        ("**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    keywords = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=keywords
    ):
        found.update(message if isinstance(message, tuple) else (message,))
    return found


def test_the_supporter_path_is_marked_for_translation():
    messages = extracted()
    for text in [
        "Your words can set people free",  # home
        "Write to %(target)s",  # case page
        "Send my appeal",
        "Please tell us your name.",  # form errors
        "Please enter a valid email address, like name@example.org.",
        "Thank you! Please check your inbox.",  # thank-you panel
        "Please confirm your letter for %(name)s",  # email subject
        "Hello,",  # email body
        "This link has expired",  # confirm page
        "We could not find that page. It may have moved, or the case may be closed.",
        "message sent",  # counters (plural)
    ]:
        assert text in messages, f"not marked for translation: {text!r}"


def test_the_language_is_in_the_address(client, cases):
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in english
    arabic = client.get("/ar/").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in arabic
    assert "السعودية" in arabic  # country names come from the page's locale
    spanish = client.get("/es/cases/gustavo-gatica").get_data(as_text=True)
    assert '<html lang="es" dir="ltr"' in spanish
    assert 'action="/es/cases/gustavo-gatica/letters/appeal"' in spanish  # links keep it


def test_a_browser_language_does_not_change_a_page_it_did_not_ask_for(client, cases):
    """Each address is one document: a Spanish browser on an English case page gets the
    English page (with a switcher), so that any cache can keep it."""
    response = client.get("/cases/gustavo-gatica", headers={"Accept-Language": "es"})
    assert '<html lang="en"' in response.get_data(as_text=True)
    assert "Accept-Language" not in response.headers.get("Vary", "")


def test_english_has_one_address(client, cases):
    response = client.get("/en/cases/gustavo-gatica")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/cases/gustavo-gatica")


def test_a_language_the_site_does_not_have_is_not_found(client, cases):
    assert client.get("/de/cases/gustavo-gatica").status_code == 404
    assert client.get("/xx/").status_code == 404


def test_the_home_page_suggests_the_browsers_language(client, cases):
    response = client.get("/", headers={"Accept-Language": "ar,en;q=0.5"})
    page = response.get_data(as_text=True)
    assert '<html lang="en"' in page  # the suggestion hides nothing
    assert 'class="language-suggestion" lang="ar" dir="rtl"' in page
    assert 'href="/ar/" hreflang="ar"' in page
    assert "Accept-Language" in response.headers["Vary"]
    french = client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9"}).get_data(as_text=True)
    assert 'class="language-suggestion" lang="fr"' in french  # not the Arabic copy
    english = client.get("/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "language-suggestion" not in english


def test_every_public_page_links_to_itself_in_every_language(client, cases):
    page = client.get("/tr/cases/metu-pride-defenders").get_data(as_text=True)
    for code, path in [("en", "/"), ("es", "/es/"), ("fr", "/fr/"), ("ar", "/ar/"), ("tr", "/tr/")]:
        href = f"http://localhost{path}cases/metu-pride-defenders"
        assert f'<link rel="alternate" hreflang="{code}" href="{href}">' in page
        assert f'<a href="{path}cases/metu-pride-defenders" hreflang="{code}" lang="{code}"' in page
    assert '<link rel="alternate" hreflang="x-default" href="http://localhost/cases/' in page
    assert 'hreflang="tr" lang="tr" aria-current="page"' in page


def test_staff_pages_stay_in_english_without_language_links(client):
    page = client.get("/admin/sign-in", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in page
    assert "hreflang" not in page


def test_a_missing_page_under_a_language_is_in_that_language(client, cases):
    response = client.get("/ar/no-such-page")
    assert response.status_code == 404
    assert '<html lang="ar" dir="rtl"' in response.get_data(as_text=True)


# Count phrases: each is one ngettext, so every language picks its own plural form.


def rendered_words(app, template, path="/", **context):
    """The template's text as a person reads it (tags dropped, spaces collapsed)."""
    with app.test_request_context(path):
        app.preprocess_request()  # the address's language, as a request takes it
        html = render_template(template, **context)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    ("count", "words"),
    [(1, "1 message sent"), (3, "3 messages sent"), (1234, "1,234 messages sent")],
)
def test_a_case_counter_reads_right_for_one_and_for_more(app, count, words):
    case = SimpleNamespace(slug="gustavo-gatica", status="published", goal=1000)
    text = rendered_words(app, "partials/_case_counter.html", case=case, count=count)
    assert text.startswith(words + " ")
    assert "Goal: 1,000" in text


@pytest.mark.parametrize(
    ("total", "words"), [(1, "1 message sent so far"), (3, "3 messages sent so far")]
)
def test_the_total_counter_reads_right_for_one_and_for_more(app, total, words):
    assert rendered_words(app, "partials/_total_counter.html", total=total) == words


@pytest.mark.parametrize(
    ("goal", "words"),
    [(1, "0 of 1 message"), (3, "0 of 3 messages"), (5000, "0 of 5,000 messages")],
)
def test_a_case_card_reads_its_goal_right(app, cases, goal, words):
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.slug == "gustavo-gatica"))
        case.goal = goal
        db.session.commit()
    with app.test_client() as client:
        page = client.get("/").get_data(as_text=True)
    assert f'<p class="card__count">{words}</p>' in page


VALID = {
    "appeal-name": "Ada",
    "appeal-email": "ada@example.org",
    "appeal-country": "GB",
    "appeal-body": "Please release him.",
    "appeal-consent_privacy": "y",
}


@pytest.mark.parametrize(
    ("wrong", "heading"),
    [
        ({"appeal-email": "ada@"}, "Please check one thing:"),
        ({"appeal-email": "ada@", "appeal-name": "", "appeal-body": ""}, "Please check 3 things:"),
    ],
)
def test_the_error_summary_counts_right(app, wrong, heading):
    with app.test_request_context("/privacy"):
        app.preprocess_request()
        form = LetterForm("appeal", formdata=MultiDict(VALID | wrong))
        assert not form.validate()
        html = render_template(
            "public/letter_not_saved.html",
            case=SimpleNamespace(slug="gustavo-gatica", solidarity_prompt=None),
            form=form,
            problem=None,
            problem_kind="appeal",
        )
    assert f'<h2 class="form-problem__title">{heading}</h2>' in html


def test_percentages_are_written_the_locales_way(app):
    case = SimpleNamespace(slug="metu-pride-defenders", status="published", goal=200)
    turkish = rendered_words(app, "partials/_case_counter.html", "/tr/", case=case, count=90)
    assert "%45" in turkish  # Turkish writes the sign first
    english = rendered_words(app, "partials/_case_counter.html", case=case, count=90)
    assert "45%" in english


def test_links_from_before_the_language_was_in_the_address_still_work(client, cases):
    """`?lang=` picked a case page's letter; such links (shared, on partners' sites) now
    lead to the page in that language, or to that letter when the site is not in it."""
    response = client.get("/cases/gustavo-gatica?lang=es")
    assert response.status_code == 301
    assert response.headers["Location"] == "/es/cases/gustavo-gatica"
    assert client.get("/cases/gustavo-gatica?lang=xx").status_code == 200  # nothing to follow


def test_a_missing_case_links_to_the_home_page_in_each_language(client, cases):
    page = client.get("/ar/cases/no-such-case").get_data(as_text=True)
    assert '<a href="/es/" hreflang="es" lang="es"' in page
    assert "/es/cases/no-such-case" not in page
