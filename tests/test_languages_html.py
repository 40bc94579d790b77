"""Without meeting a word of English (issue 13), page by page and in every language the site
has: each supporter-side page, in the states a supporter meets, and the confirmation email,
hold no English string of the catalog (tests/no_english.py). The browser tests
(tests/browser/test_languages.py) walk the same path in Spanish and Arabic in Chromium; this
one reads the server's answers, so it is quick enough to cover every language.
"""

import re

import pytest
import sqlalchemy as sa
from helpers import LETTER, SAME_ORIGIN, filled, hidden_value, rendered, stored
from no_english import assert_no_english, case_in_english, english_in, english_in_case_texts

from config import Config
from extensions import db
from models import Case, Outbox

CASE = "gustavo-gatica"
OTHER_LANGUAGES = [code for code in Config.LANGUAGES if code != "en"]
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def supporter_pages(client, language):
    """(name, HTML) of every page of the supporter's path in `language`, sending one letter."""
    case = f"/{language}/cases/{CASE}"
    page = client.get(case)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    fields = {name: hidden_value(html, name) for name in ("appeal-started", "appeal-language")}
    send = f"{case}/letters/appeal"
    yield "home", client.get(f"/{language}/")
    yield "case", page
    yield "form errors", client.post(send, data=fields, headers=SAME_ORIGIN)
    nope = {**fields, "appeal-email": "nope"}
    yield "email check", client.post(f"{send}/check-email", data=nope, headers=SAME_ORIGIN)
    letter = filled(dict(fields), "appeal", {**LETTER, "email": f"{language}@example.org"})
    yield "thank-you page", client.post(send, data=letter, headers=SAME_ORIGIN)
    yield "thank-you panel", client.post(send, data=letter, headers={**SAME_ORIGIN, **HTMX})
    yield "privacy", client.get(f"/{language}/privacy")
    yield "not found", client.get(f"/{language}/no/such/page")
    yield "bad link", client.get(f"/{language}/confirm/not-a-token")
    yield "confirmed", client.get(f"{case}/confirmed")
    yield "embed", client.get(f"/embed/riverside/{CASE}?lang={language}")


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_supporter_page_and_email_is_in_the_language(
    app, client, cases, partner_id, language
):
    with app.app_context():
        case = db.session.scalar(sa.select(Case).filter_by(slug=CASE))
        case_texts = case_in_english(case, language)
    assert case_texts, f"the demo case has no texts in {language}"
    found = []
    for name, response in supporter_pages(client, language):
        assert response.status_code < 500, f"{name}: {response.status_code}"
        html = response.get_data(as_text=True)
        if "<html" in html:  # a whole page, not an htmx fragment
            assert f'lang="{language}"' in html, f"{name} does not say it is in {language}"
        found += [f"{name}: {run}" for run in english_in(html, language)]
        found += [f"{name}: {text}" for text in english_in_case_texts(html, case_texts)]
    emails = stored(app, Outbox)
    assert emails, "no confirmation email was queued"
    for email in emails:
        subject, text, html = rendered(app, email)
        found += [f"the email: {run}" for run in english_in(f"{subject}\n{text}", language)]
        found += [f"the email's HTML: {run}" for run in english_in(html, language)]
    assert not found, f"{len(found)} English strings on the {language} path:\n" + "\n".join(
        sorted(set(found))
    )


def test_the_check_finds_english(client, cases):
    """The check can fail: the English case page, read as Spanish, is all English."""
    english = client.get(f"/cases/{CASE}").get_data(as_text=True)
    assert "Send my appeal" in english_in(english, "es")
    with pytest.raises(AssertionError, match="Send my appeal"):
        assert_no_english(english, "es", "the English page")


@pytest.mark.parametrize("language", ["es", "ar"])
def test_every_language_link_leads_to_a_page(client, cases, partner_id, language):
    """The language switcher and the hreflang alternates of every page of the path, the
    answers to a posted form included, lead to a page a browser can open (GET): the same
    page in another language (a refused link is refused in every language)."""
    broken = set()
    for name, response in supporter_pages(client, language):
        fine = {200} | ({response.status_code} if response.request.method == "GET" else set())
        html = response.get_data(as_text=True)
        nav = re.search(r'<nav class="languages-nav".*?</nav>', html, re.S)
        links = re.findall(r'href="([^"]+)"', nav.group(0)) if nav else []
        links += re.findall(r'<link rel="alternate" hreflang="[^"]+" href="([^"]+)"', html)
        for link in set(links):
            path = link.removeprefix("http://localhost")
            status = client.get(path).status_code
            if status not in fine:
                broken.add(f"{name}: {path} answers {status}")
    assert not broken, "\n".join(sorted(broken))
