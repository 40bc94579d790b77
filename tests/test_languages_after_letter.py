"""Without meeting a word of English after the letter (issues 13 and 14): the case news
on the page and by email, the unsubscribe pages, and "Your letters" with its email, in
every language the site has (tests/no_english.py reads what a reader meets)."""

from datetime import date

import pytest
import sqlalchemy as sa
from factories import StaffUserFactory
from helpers import LETTER, SAME_ORIGIN, filled, hidden_value, rendered, stored
from no_english import english_in

import letters
from config import Config
from extensions import db
from mail import news, unsubscribe
from models import Case, CaseUpdate, DataLink, Letter, Outbox, utcnow
from supporters import links

CASE = "gustavo-gatica"
CLOSED_CASE = "maxima-acuna"  # the demo's closed case, with its outcome
OTHER_LANGUAGES = [code for code in Config.LANGUAGES if code != "en"]


def write_and_confirm(client, app, language, address):
    """A letter written on the page in `language`, confirmed."""
    case = f"/{language}/cases/{CASE}"
    html = client.get(case).get_data(as_text=True)
    fields = {name: hidden_value(html, name) for name in ("appeal-started", "appeal-language")}
    letter = filled(fields, "appeal", {**LETTER, "email": address})
    assert (
        client.post(f"{case}/letters/appeal", data=letter, headers=SAME_ORIGIN).status_code == 200
    )
    with app.app_context():
        letter_id = db.session.scalar(sa.select(Letter.id).where(Letter.email_key == address))
        letters.confirm_letter(letter_id)


def queue_news(app, language):
    """A published update of the case, translated, queued for its writers."""
    with app.app_context():
        case = db.session.scalar(sa.select(Case).filter_by(slug=CASE))
        update = CaseUpdate(
            case_id=case.id,
            title="News",
            body="English text",
            translations={language: {"title": f"[{language}] title", "body": f"[{language}] text"}},
            happened_on=date(2026, 12, 1),
            published_at=utcnow(),
        )
        db.session.add(update)
        db.session.commit()
        news.queue_update(update, StaffUserFactory(role="admin"))
        news.queue_requested(log=lambda _line: None)  # the mail worker's share


def your_letters_pages(client, app, language, address):
    """(name, response) of the Your letters path in `language`, its link opened once."""
    base = f"/{language}/your-letters"
    yield "your letters", client.get(base)
    yield (
        "your letters, bad address",
        client.post(base, data={"email": "nope"}, headers=SAME_ORIGIN),
    )
    sent = client.post(base, data={"email": address}, headers=SAME_ORIGIN, follow_redirects=True)
    yield "your letters, link sent", sent
    with app.app_context():
        link = db.session.scalar(sa.select(DataLink).where(DataLink.email_key == address))
        token = links.serializer(links.LINK_SALT).dumps(link.id)
    yield "your letters link", client.get(f"{base}/{token}")
    opened = client.post(f"{base}/{token}", headers=SAME_ORIGIN)
    yield "your letters page", opened
    yield "your letters link used", client.post(f"{base}/{token}", headers=SAME_ORIGIN)
    access = {"access": hidden_value(opened.get_data(as_text=True), "access")}
    yield "erase question", client.post(f"{base}/erase", data=access, headers=SAME_ORIGIN)


def unsubscribe_pages(client, app, language, address):
    with app.test_request_context():
        token = unsubscribe.token(address)
    page = f"/{language}/unsubscribe/{token}"
    yield "unsubscribe", client.get(page)
    yield "unsubscribed", client.post(page, headers=SAME_ORIGIN, follow_redirects=True)
    yield "unsubscribe, bad link", client.get(f"/{language}/unsubscribe/not-a-token")


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_news_unsubscribe_and_your_letters_are_in_the_language(app, client, cases, language):
    address = f"after-{language}@example.org"
    write_and_confirm(client, app, language, address)
    queue_news(app, language)
    pages = [("closed case with its news", client.get(f"/{language}/cases/{CLOSED_CASE}"))]
    pages += your_letters_pages(client, app, language, address)
    pages += unsubscribe_pages(client, app, language, address)
    found = []
    for name, response in pages:
        assert response.status_code < 500, f"{name}: {response.status_code}"
        html = response.get_data(as_text=True)
        if "<html" in html:
            assert f'lang="{language}"' in html, f"{name} does not say it is in {language}"
        found += [f"{name}: {run}" for run in english_in(html, language)]
    emails = [e for e in stored(app, Outbox) if e.template in ("news", "data_link")]
    assert sorted(e.template for e in emails) == ["data_link", "news"]
    for email in emails:
        subject, text, html = rendered(app, email)
        assert f"[{language}] title" in subject or email.template == "data_link"
        found += [
            f"{email.template} email: {run}" for run in english_in(f"{subject}\n{text}", language)
        ]
        found += [f"{email.template} email's HTML: {run}" for run in english_in(html, language)]
    assert not found, f"{len(found)} English strings after the letter in {language}:\n" + "\n".join(
        sorted(set(found))
    )
