"""One flow for both letters: after the appeal, the solidarity message is offered with the
supporter's details filled in, and one email confirms both letters (with htmx and without,
on the site and in a partner's frame). Anything else about the value falls back to a
letter of its own, with its own email."""

import itertools
import logging
import re
import threading
import time
from unittest import mock

import pytest
from embed_pages import HTMX, PAGE, FramedSupporter
from helpers import SAME_ORIGIN, Supporter, form_values, stored

import letters
from letters.follow_up import FOLLOW_UP_MAX_AGE
from mail import outbox
from models import Letter, Outbox

CASE = "gustavo-gatica"
ADDRESS = "ada@example.org"
MESSAGE = "Stay strong, Gustavo."


def deliver(app):
    with app.app_context():
        return outbox.send_due()


def confirm_path(message):
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://localhost(/(?:\w\w/)?confirm/[\w.\-]+)", text).group(1)


def send_appeal(supporter, htmx=False, **values):
    """The appeal, and the solidarity form its answer offers (as a browser would post it)."""
    response = supporter.submit(CASE, htmx=htmx, **values)
    assert response.status_code == 200
    return response, form_values(response.get_data(as_text=True), "solidarity-form")


def send_offered(client, offered, htmx=False, prefix="", **changes):
    """Write the message in the offered form, tick the privacy box, press Send."""
    data = {**offered, "solidarity-body": MESSAGE, "solidarity-consent_privacy": "y"}
    data.update({f"solidarity-{key}": value for key, value in changes.items()})
    headers = {**SAME_ORIGIN, **(HTMX if htmx else {})}
    return client.post(f"{prefix}/cases/{CASE}/letters/solidarity", data=data, headers=headers)


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_the_offered_form_is_filled_in_and_one_email_confirms_both_letters(
    mail_app, smtp, cases, htmx
):
    client = mail_app.test_client()
    supporter = Supporter(client)
    _answer, offered = send_appeal(
        supporter, htmx=htmx, city="Valparaíso", country="CL", consent_contact="y"
    )
    assert offered["solidarity-name"] == "Ada Lovelace"
    assert offered["solidarity-email"] == ADDRESS
    assert offered["solidarity-country"] == "CL" and offered["solidarity-city"] == "Valparaíso"
    assert offered["solidarity-consent_contact"] == "y"  # the choice they made
    assert "solidarity-consent_privacy" not in offered  # agreed to again, per letter
    assert offered["solidarity-body"] == ""

    thanks = send_offered(client, offered, htmx=htmx)
    assert thanks.status_code == 200
    html = thanks.get_data(as_text=True)
    assert "The email we sent you for your first letter confirms this one too" in html
    assert 'id="appeal-form"' not in html  # both are written: nothing more to offer

    appeal, solidarity = stored(mail_app)
    assert (solidarity.kind, solidarity.confirm_with_id) == ("solidarity", appeal.id)
    assert solidarity.body == MESSAGE and solidarity.consent_contact
    [email] = stored(mail_app, Outbox)
    assert email.letter_id == appeal.id
    assert deliver(mail_app) == (1, 0)
    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content()
    assert "This link confirms both letters you wrote on" in text
    assert "your appeal to Chile's National Prosecutor" in text  # no HTML entity
    assert "your message of solidarity to Gustavo Gatica" in text
    assert MESSAGE not in text  # nothing the writer typed

    page = client.get(confirm_path(message))
    assert "Your appeal to Chile&#39;s National Prosecutor" in page.get_data(as_text=True)
    assert client.post(confirm_path(message), headers=SAME_ORIGIN).status_code == 303
    appeal, solidarity = stored(mail_app)
    assert (appeal.status, appeal.counted) == ("confirmed", True)
    assert (solidarity.status, solidarity.counted) == ("confirmed", True)
    assert (appeal.moderation, solidarity.moderation) == ("pending", "pending")  # each its own
    with mail_app.app_context():
        assert letters.case_count(cases[CASE]) == 2


def test_htmx_fills_in_the_pages_own_solidarity_form_and_no_id_appears_twice(app, cases):
    supporter = Supporter(app.test_client())
    case_page = supporter.client.get(f"/cases/{CASE}").get_data(as_text=True)
    answer, _offered = send_appeal(supporter, htmx=True)
    assert answer.headers["Cache-Control"] == "no-store, private"
    html = answer.get_data(as_text=True)
    panel, partial = html.split("<hx-partial", 1)
    # The panel takes the appeal form's place; the filled-in form replaces the page's own.
    assert partial.startswith(' data-hx-target="#solidarity-form" data-hx-swap="outerHTML">')
    assert partial.count('id="solidarity-form"') == 1 and 'id="solidarity-form"' not in panel
    appeal_form = re.search(r'<form id="appeal-form".*?</form>', case_page, re.S).group(0)
    rest_of_page = case_page.replace(appeal_form, "")
    for element_id in re.findall(r'id="([^"]+)"', panel):
        assert f'id="{element_id}"' not in rest_of_page, element_id
    assert 'href="#solidarity"' in panel  # the next step: the page's own filled-in form


def test_without_javascript_the_thank_you_page_holds_the_offered_form_under_its_h1(app, cases):
    answer, _offered = send_appeal(Supporter(app.test_client()))
    html = answer.get_data(as_text=True)
    headings = re.findall(r"<h(\d)[ >]", html.split("<main", 1)[1])
    assert headings[0] == "1" and headings.count("1") == 1
    assert all(int(b) - int(a) <= 1 for a, b in itertools.pairwise(headings))
    assert '<h2 id="solidarity-heading"' in html  # the form's label
    assert 'aria-labelledby="solidarity-heading"' in html


def test_no_address_in_a_url_a_cookie_or_a_log(app, cases, caplog):
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    answer, offered = send_appeal(Supporter(client), htmx=False)
    thanks = send_offered(client, offered)
    for response in (answer, thanks):
        assert "Set-Cookie" not in response.headers and "Location" not in response.headers
        assert ADDRESS not in response.headers.get("Content-Location", "")
        assert ADDRESS not in response.headers.get("HX-Push-Url", "")
        assert response.headers["Cache-Control"] == "no-store, private"
    assert client.get_cookie("session") is None
    assert ADDRESS not in caplog.text


def solidarity_alone(app):
    """The solidarity letter was handled as before: not joined, an email of its own."""
    appeal, solidarity = stored(app)
    assert solidarity.confirm_with_id is None and solidarity.status == "unconfirmed"
    emails = stored(app, Outbox)
    assert [email.letter_id for email in emails] == [appeal.id, solidarity.id]
    assert emails[1].template == "confirm"


def test_a_forged_value_gets_an_email_of_its_own(app, cases):
    client = app.test_client()
    _answer, offered = send_appeal(Supporter(client))
    forged = offered["solidarity-follow_up"][:-2] + "xx"
    assert send_offered(client, offered, follow_up=forged).status_code == 200
    solidarity_alone(app)


def test_an_expired_value_gets_an_email_of_its_own(app, cases):
    client = app.test_client()
    _answer, offered = send_appeal(Supporter(client))
    later = time.time() + FOLLOW_UP_MAX_AGE + 60
    with mock.patch("time.time", lambda: later):
        assert send_offered(client, offered).status_code == 200
    solidarity_alone(app)


def test_another_address_gets_an_email_of_its_own_but_the_same_in_capitals_joins(app, cases):
    client = app.test_client()
    _answer, offered = send_appeal(Supporter(client))
    send_offered(client, offered, email="someone.else@example.org")
    solidarity_alone(app)
    _answer, offered = send_appeal(Supporter(client), email="Bo@Example.org")
    send_offered(client, offered, email="BO@example.ORG")
    *_earlier, appeal, solidarity = stored(app)
    assert solidarity.confirm_with_id == appeal.id


def test_a_value_for_another_case_gets_an_email_of_its_own(app, cases):
    client = app.test_client()
    _answer, offered = send_appeal(Supporter(client))
    other = Supporter(client).form_fields("nassima-al-sada", "solidarity")
    data = {**offered, **other, "solidarity-body": MESSAGE, "solidarity-consent_privacy": "y"}
    url = "/cases/nassima-al-sada/letters/solidarity"
    assert client.post(url, data=data, headers=SAME_ORIGIN).status_code == 200
    _appeal, solidarity = stored(app)
    assert solidarity.case_id == cases["nassima-al-sada"] and solidarity.confirm_with_id is None
    assert len(stored(app, Outbox)) == 2


def test_once_the_appeal_is_confirmed_the_message_gets_an_email_of_its_own(app, cases):
    client = app.test_client()
    _answer, offered = send_appeal(Supporter(client))
    with app.app_context():
        letters.confirm_letter(stored(app)[0].id)
    send_offered(client, offered)
    appeal, solidarity = stored(app)
    assert appeal.status == "confirmed" and solidarity.confirm_with_id is None
    assert len(stored(app, Outbox)) == 2


def test_a_new_link_email_carries_one_link_for_the_joined_letters(mail_app, smtp, cases):
    client = mail_app.test_client()
    _answer, offered = send_appeal(Supporter(client))
    send_offered(client, offered)
    deliver(mail_app)
    resent = client.post("/confirm/resend", data={"email": ADDRESS}, headers=SAME_ORIGIN)
    assert resent.status_code == 303
    deliver(mail_app)
    _confirm, new_links = smtp.messages
    text = new_links.get_body(("plain",)).get_content()
    assert len(re.findall(r"/confirm/[\w.\-]+", text)) == 1
    client.post(confirm_path(new_links), headers=SAME_ORIGIN)
    assert [letter.status for letter in stored(mail_app)] == ["confirmed", "confirmed"]


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_in_a_partners_frame_one_email_confirms_both_letters(app, cases, partner_id, htmx):
    client = app.test_client()
    framed = FramedSupporter(client)
    answer = framed.send(htmx=htmx)
    assert answer.status_code == 200
    offered = form_values(answer.get_data(as_text=True), "solidarity-form")
    assert offered["solidarity-email"] == ADDRESS and offered["solidarity-form_token"]
    data = {**offered, "solidarity-body": MESSAGE, "solidarity-consent_privacy": "y"}
    headers = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    headers |= HTMX if htmx else {}
    sent = client.post(f"{PAGE}/letters/solidarity", data=data, headers=headers)
    assert sent.status_code == 200
    appeal, solidarity = stored(app)
    assert solidarity.confirm_with_id == appeal.id
    assert (appeal.partner_id, solidarity.partner_id) == (partner_id, partner_id)
    assert len(stored(app, Outbox)) == 1


def test_confirming_one_letter_leaves_letters_joined_to_another_alone(app, cases):
    client = app.test_client()
    _answer, offered = send_appeal(Supporter(client))
    send_offered(client, offered)
    _answer, other = send_appeal(Supporter(client), email="bo@example.org")
    send_offered(client, other)
    with app.app_context():
        letters.confirm_letter(stored(app)[0].id)
    assert [(row.email, row.status) for row in stored(app, Letter)] == [
        (ADDRESS, "confirmed"),
        (ADDRESS, "confirmed"),
        ("bo@example.org", "unconfirmed"),
        ("bo@example.org", "unconfirmed"),
    ]


def test_a_message_sent_while_the_appeal_is_confirmed_is_never_left_waiting(app, cases):
    """The solidarity letter and the appeal's confirmation at the same moment: either the
    message joined before the confirmation (and is confirmed with it) or it came after (and
    has an email of its own). Never joined to a letter whose link was already used."""
    rounds = 10  # the race is lost only sometimes: a few rounds make a lost one show
    offers = []
    for n in range(rounds):
        _answer, offered = send_appeal(Supporter(app.test_client()), email=f"r{n}@example.org")
        offers.append(offered)
    with app.test_request_context():
        appeals = [letter.id for letter in stored(app)]
        links = [letters.confirm_url(row) for row in stored(app)]
    problems = []

    def run(call, start):
        start.wait()
        try:
            call()
        except Exception as error:  # noqa: BLE001 - a test thread reports, not raises
            problems.append(repr(error))

    for offered, link in zip(offers, links, strict=True):
        start = threading.Barrier(2)
        calls = [
            lambda offered=offered: send_offered(app.test_client(), offered),
            lambda link=link: app.test_client().post(
                link.removeprefix("http://localhost"), headers=SAME_ORIGIN
            ),
        ]
        threads = [threading.Thread(target=run, args=(call, start)) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert problems == []
    rows = stored(app)
    emails = {email.letter_id for email in stored(app, Outbox)}
    for message in (row for row in rows if row.kind == "solidarity"):
        if message.confirm_with_id is not None:
            assert message.confirm_with_id in appeals and message.id not in emails
            assert (message.status, message.counted) == ("confirmed", True)
        else:
            assert message.status == "unconfirmed" and message.id in emails
    assert all(row.status == "confirmed" for row in rows if row.kind == "appeal")


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_a_mistake_in_the_offered_form_keeps_it_joined(app, cases, htmx):
    client = app.test_client()
    _answer, offered = send_appeal(Supporter(client))
    refused = send_offered(client, offered, htmx=htmx, body="")
    assert refused.status_code == 422
    again = form_values(refused.get_data(as_text=True), "solidarity-form")
    assert again["solidarity-follow_up"] == offered["solidarity-follow_up"]
    send_offered(client, again, htmx=htmx)
    appeal, solidarity = stored(app)
    assert solidarity.confirm_with_id == appeal.id and len(stored(app, Outbox)) == 1


def test_the_answer_never_tells_whether_an_address_wrote_before(app, cases):
    """Someone typing another person's address must not learn from the page whether that
    address already wrote to the case (its first letter is then a repeat, which no second
    letter joins): both answers read the same."""

    def answer_to_the_offered_form(address):
        client = app.test_client()
        _answer, offered = send_appeal(Supporter(client), email=address)
        return send_offered(client, offered).get_data(as_text=True)

    client = app.test_client()
    _answer, offered = send_appeal(Supporter(client), email="wrote@example.org")
    with app.app_context():
        letters.confirm_letter(stored(app)[0].id)  # this address's appeal counts already
    send_offered(client, offered)  # ...and its message: a second visit finds both counted

    def visible(html):
        return re.sub(r'name="[^"]*token[^"]*" value="[^"]*"|\d+', "", html)

    before, never = (
        answer_to_the_offered_form("wrote@example.org"),
        answer_to_the_offered_form("never@example.org"),
    )
    assert "The email we sent you for your first letter confirms this one too" in never
    assert visible(before) == visible(never)


def test_a_value_sent_again_joins_no_second_letter(app, cases):
    """A reload of the answer, or the value replayed on purpose, gets letters of their own
    with their own emails: one click never confirms more than the two letters."""
    client = app.test_client()
    _answer, offered = send_appeal(Supporter(client))
    send_offered(client, offered)
    send_offered(client, offered)
    appeal, joined, again = stored(app)
    assert joined.confirm_with_id == appeal.id and again.confirm_with_id is None
    assert [email.letter_id for email in stored(app, Outbox)] == [appeal.id, again.id]
