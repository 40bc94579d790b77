"""A supporter's emails go out in the language of the page they wrote on: words, the case's
texts, dates and links. The expected sentences are read from the compiled catalogs (as
translators fill them in), never written here in a given language."""

import re

import pytest
from flask_babel import force_locale, format_date, gettext
from helpers import SAME_ORIGIN, Supporter, form_values, stored

from extensions import db
from mail import outbox
from models import Case

CASE = "gustavo-gatica"


def deliver(app):
    with app.app_context():
        return outbox.send_due()


def said(app, language, text, **values):
    """`text` as the catalog of `language` says it."""
    with app.test_request_context(), force_locale(language):
        return gettext(text, **values)


def case_in(app, language):
    with app.app_context():
        case = db.session.query(Case).filter_by(slug=CASE).one().in_language(language)
        return case.name, case.target_title


def parts(message):
    return (
        message["Subject"],
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


@pytest.mark.parametrize(("language", "direction"), [("es", "ltr"), ("ar", "rtl")])
def test_a_supporter_on_a_translated_page_gets_the_email_in_that_language(
    mail_app, smtp, cases, language, direction
):
    client = mail_app.test_client()
    Supporter(client, prefix=f"/{language}").submit(CASE)
    [letter] = stored(mail_app)
    assert letter.locale == language
    assert deliver(mail_app) == (1, 0)
    subject, text, html = parts(smtp.messages[0])

    name, _target = case_in(mail_app, language)
    assert subject == said(mail_app, language, "Please confirm your letter for %(name)s", name=name)
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert said(mail_app, language, "Hello,") in text
    assert said(mail_app, language, "Thank you for writing for %(case)s.", case=name) in text
    with mail_app.test_request_context(), force_locale(language):
        written_on = format_date(letter.created_at, "long")
    assert written_on in text  # the day, as that language writes it
    link = re.search(rf"http://localhost(/{language}/confirm/[\w.\-]+)", text)
    assert link, "the link leads to the confirm page in the supporter's language"
    assert link.group(0) in html

    page = client.get(link.group(1))
    assert f'<html lang="{language}" dir="{direction}"' in page.get_data(as_text=True)
    done = client.post(link.group(1), headers=SAME_ORIGIN)
    assert done.headers["Location"] == f"/{language}/cases/{CASE}/confirmed"
    confirmed = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f'<html lang="{language}"' in confirmed


def test_the_case_texts_in_the_email_are_the_translated_ones(mail_app, smtp, cases):
    Supporter(mail_app.test_client(), prefix="/es").submit(CASE)
    deliver(mail_app)
    subject, text, _html = parts(smtp.messages[0])
    name_es, target_es = case_in(mail_app, "es")
    _name_en, target_en = case_in(mail_app, "en")
    assert target_es != target_en, "the demo case has a Spanish target title"
    assert target_es in text and target_en not in text
    assert name_es in subject


def test_an_english_page_still_writes_english(mail_app, smtp, cases):
    Supporter(mail_app.test_client()).submit(CASE)
    deliver(mail_app)
    subject, text, html = parts(smtp.messages[0])
    assert subject == "Please confirm your letter for Gustavo Gatica"
    assert '<html lang="en" dir="ltr">' in html
    assert "http://localhost/confirm/" in text


def test_the_joined_letters_email_says_both_in_the_supporters_language(mail_app, smtp, cases):
    client = mail_app.test_client()
    answer = Supporter(client, prefix="/es").submit(CASE)
    offered = form_values(answer.get_data(as_text=True), "solidarity-form")
    data = {**offered, "solidarity-body": "¡Ánimo!", "solidarity-consent_privacy": "y"}
    client.post(f"/es/cases/{CASE}/letters/solidarity", data=data, headers=SAME_ORIGIN)
    assert [letter.locale for letter in stored(mail_app)] == ["es", "es"]
    assert deliver(mail_app) == (1, 0)
    [message] = smtp.messages
    _subject, text, _html = parts(message)
    appeal = stored(mail_app)[0]
    name, target = case_in(mail_app, "es")
    with mail_app.test_request_context(), force_locale("es"):
        written_on = format_date(appeal.created_at, "long")
    both = said(
        mail_app,
        "es",
        "This link confirms both letters you wrote on %(date)s: your appeal to %(target)s and "
        "your message of solidarity to %(name)s.",
        date=written_on,
        target=target,
        name=name,
    )
    assert both in " ".join(text.split())


def test_a_new_link_email_is_in_the_language_of_the_newest_letter(mail_app, smtp, cases):
    client = mail_app.test_client()
    Supporter(client).submit(CASE)
    Supporter(client, prefix="/ar").submit("nassima-al-sada")
    deliver(mail_app)
    resent = client.post("/confirm/resend", data={"email": "ada@example.org"}, headers=SAME_ORIGIN)
    assert resent.status_code == 303
    deliver(mail_app)
    subject, text, html = parts(smtp.messages[-1])
    assert subject == said(mail_app, "ar", "Your new confirmation link")
    assert '<html lang="ar" dir="rtl">' in html
    assert len(re.findall(r"http://localhost/ar/confirm/", text)) == 2  # both letters' links
