"""The confirmation email, through a real SMTP server, and the confirm page."""

import re
import threading

import pytest
import sqlalchemy as sa
from helpers import SAME_ORIGIN, Supporter, hidden_value
from itsdangerous import timed

import letters
from extensions import db
from mail import outbox
from models import Letter


@pytest.fixture
def mail_supporter(mail_app):
    return Supporter(mail_app.test_client())


def deliver(app):
    with app.app_context():
        return outbox.send_due()


def first_link(app, supporter, smtp, **values):
    """Send one letter and return the confirmation link the email carries."""
    supporter.submit("gustavo-gatica", **values)
    deliver(app)
    return confirm_link(smtp.messages[0])


def confirm_link(message):
    match = re.search(
        r"http://localhost(/confirm/[\w.\-]+)", message.get_body(("plain",)).get_content()
    )
    assert match, "no confirmation link in the email"
    return match.group(1)


def letter_row(app, **filters):
    with app.app_context():
        letter = db.session.scalars(sa.select(Letter).filter_by(**filters)).one()
        db.session.expunge(letter)
        return letter


def count(app, slug="gustavo-gatica"):
    with app.app_context():
        case_id = db.session.scalar(sa.text("SELECT id FROM cases WHERE slug = :s"), {"s": slug})
        return letters.case_count(case_id)


def test_confirmation_email_has_both_parts_and_a_working_link(
    mail_app, mail_supporter, smtp, cases
):
    mail_supporter.submit("gustavo-gatica", name="Ada Lovelace", email="ada@example.org")
    assert deliver(mail_app) == (1, 0)
    [message] = smtp.messages
    assert message["To"] == "ada@example.org"
    assert message.envelope_to == ["ada@example.org"]
    assert message["Subject"] == "Please confirm your letter for Gustavo Gatica"
    assert "Write for Rights" in message["From"]
    text = smtp.body(message, "plain")
    html = smtp.body(message, "html")
    assert text.startswith("Hello,") and "Ada" not in text  # nothing the writer typed
    assert "Open this link and press the button on that page to confirm" in text
    assert ">Confirm my letter</a>" in html
    link = confirm_link(message)
    assert f'href="http://localhost{link}"' in html
    assert "ada" not in link  # nothing personal in the URL

    client = mail_app.test_client()
    page = client.get(link)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "Confirm my letter" in html and f'action="{link}"' in html
    assert letter_row(mail_app).status == "unconfirmed" and count(mail_app) == 0

    done = client.post(link, headers=SAME_ORIGIN)  # the button, as a browser sends it
    assert done.status_code == 303 and done.headers["Location"] == "/cases/gustavo-gatica/confirmed"
    landing = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Thank you: your letter counts" in landing
    assert "<strong data-count>1</strong>" in landing
    letter = letter_row(mail_app)
    assert letter.status == "confirmed" and letter.counted and letter.confirmed_at
    assert count(mail_app) == 1


def test_get_and_head_never_confirm(mail_app, mail_supporter, smtp, cases):
    link = first_link(mail_app, mail_supporter, smtp)
    client = mail_app.test_client()
    for _ in range(3):
        assert client.get(link).status_code == 200
        assert client.head(link).status_code == 200
    assert letter_row(mail_app).status == "unconfirmed"
    assert count(mail_app) == 0


def test_confirming_twice_is_harmless(mail_app, mail_supporter, smtp, cases):
    link = first_link(mail_app, mail_supporter, smtp)
    client = mail_app.test_client()
    for _ in range(2):
        assert client.post(link, headers=SAME_ORIGIN).status_code == 303
    assert count(mail_app) == 1
    again = client.get(link).get_data(as_text=True)
    assert "Your letter is already confirmed" in again


def test_another_site_cannot_confirm_a_letter(mail_app, mail_supporter, smtp, cases):
    link = first_link(mail_app, mail_supporter, smtp)
    forged = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    response = mail_app.test_client().post(link, headers=forged)
    assert response.status_code == 403
    assert letter_row(mail_app).status == "unconfirmed" and count(mail_app) == 0


def test_two_letters_from_one_address_count_once_whichever_is_confirmed(
    mail_app, mail_supporter, smtp, cases
):
    mail_supporter.submit("gustavo-gatica", email="twice@example.org", body="First")
    mail_supporter.submit("gustavo-gatica", email="TWICE@example.org", body="Second")
    deliver(mail_app)
    assert len(smtp.messages) == 2  # neither was confirmed yet, so both get a link
    with mail_app.app_context():
        ids = db.session.scalars(sa.select(Letter.id).order_by(Letter.id)).all()
        for letter_id in reversed(ids):
            letters.confirm_letter(letter_id)
    assert count(mail_app) == 1
    with mail_app.app_context():
        counted = db.session.scalars(sa.select(Letter.counted).order_by(Letter.id)).all()
    assert counted == [False, True]


def test_two_letters_from_one_address_confirmed_at_once_both_confirm_and_count_once(
    app, supporter, cases
):
    """Both links pressed at the same moment (two devices, a double click across tabs):
    each supporter sees the confirmed page, both letters are confirmed, one counts."""
    rounds = 4  # the race is lost only sometimes: a few pairs make a lost one show
    for n in range(rounds):
        for body in ("First", "Second"):
            supporter.submit("gustavo-gatica", email=f"race{n}@example.org", body=body)
    with app.test_request_context():
        ids = db.session.scalars(sa.select(Letter.id).order_by(Letter.id)).all()
        links = [letters.confirm_url(db.session.get(Letter, i)) for i in ids]
    answers = []

    def press(link, start):
        client = app.test_client()
        start.wait()
        try:
            response = client.post(link.removeprefix("http://localhost"), headers=SAME_ORIGIN)
            answers.append((response.status_code, response.headers.get("Location")))
        except (sa.exc.SQLAlchemyError, RuntimeError) as error:  # a 500, re-raised by the client
            answers.append(repr(error))

    for pair in zip(links[::2], links[1::2], strict=True):
        start = threading.Barrier(2)
        threads = [threading.Thread(target=press, args=(link, start)) for link in pair]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == [(303, "/cases/gustavo-gatica/confirmed")] * 2 * rounds
    with app.app_context():
        query = sa.select(Letter.email_key, Letter.status, Letter.counted)
        rows = db.session.execute(query).all()
    assert {status for _, status, _ in rows} == {"confirmed"}
    assert sorted(key for key, _, counted in rows if counted) == [
        f"race{n}@example.org" for n in range(rounds)
    ]
    assert count(app) == rounds


def expired_link(app, letter_id, monkeypatch):
    """A link signed 40 days ago (links live CONFIRM_MAX_AGE_DAYS = 30)."""
    real_time = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real_time() - 40 * 86400)
    with app.test_request_context():
        url = letters.confirm_url(db.session.get(Letter, letter_id))
    monkeypatch.setattr(timed.time, "time", real_time)
    return url.removeprefix("http://localhost")


def test_expired_link_says_so_and_sends_a_new_one(
    mail_app, mail_supporter, smtp, cases, monkeypatch
):
    mail_supporter.submit("gustavo-gatica")
    letter_id = letter_row(mail_app).id
    deliver(mail_app)
    link = expired_link(mail_app, letter_id, monkeypatch)
    client = mail_app.test_client()
    page = client.get(link)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "This link has expired" in html
    refused = client.post(link)
    assert refused.status_code == 400 and letter_row(mail_app).status == "unconfirmed"

    resend = client.post("/confirm/resend", data={"token": hidden_value(html, "token")})
    assert resend.status_code == 303 and resend.headers["Location"] == "/confirm/sent"
    deliver(mail_app)
    assert len(smtp.messages) == 2
    fresh = confirm_link(smtp.messages[1])
    assert client.post(fresh).status_code == 303
    assert count(mail_app) == 1


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-3] + "abc", lambda t: "x" + t, lambda t: "nonsense"]
)
def test_tampered_link_is_refused_and_offers_a_new_email(
    mail_app, mail_supporter, smtp, cases, mangle
):
    link = first_link(mail_app, mail_supporter, smtp, email="tamper@example.org")
    token = link.removeprefix("/confirm/")
    client = mail_app.test_client()
    page = client.get(f"/confirm/{mangle(token)}")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "This link does not work" in html and 'name="email"' in html
    assert client.post(f"/confirm/{mangle(token)}").status_code == 400
    assert letter_row(mail_app).status == "unconfirmed"

    sent = client.post("/confirm/resend", data={"email": "Tamper@example.org"})
    assert sent.status_code == 303
    assert "If a letter from that address is waiting" in client.get("/confirm/sent").get_data(
        as_text=True
    )
    deliver(mail_app)
    assert len(smtp.messages) == 2 and smtp.messages[1]["To"] == "tamper@example.org"


def test_resend_by_address_reveals_nothing(mail_app, smtp, cases):
    client = mail_app.test_client()
    unknown = client.post("/confirm/resend", data={"email": "nobody@example.org"})
    assert unknown.status_code == 303 and unknown.headers["Location"] == "/confirm/sent"
    deliver(mail_app)
    assert smtp.messages == []
    bad = client.post("/confirm/resend", data={"email": "nope"})
    assert bad.status_code == 422
    assert "Please enter a valid email address" in bad.get_data(as_text=True)


def test_resending_links_is_rate_limited(make_app, cases):
    """Ten new links an hour per address; the eleventh asks gets a page that says why."""
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for n in range(10):
        sent = client.post("/confirm/resend", data={"email": f"r{n}@example.org"})
        assert sent.status_code == 303
    refused = client.post("/confirm/resend", data={"email": "r@example.org"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "Please wait a few minutes and try again" in refused.get_data(as_text=True)


def test_markup_in_a_name_never_reaches_the_email(mail_app, mail_supporter, smtp, cases):
    assert mail_supporter.submit("gustavo-gatica", name="<b>Click</b>").status_code == 200
    deliver(mail_app)
    [message] = smtp.messages
    for part in ("html", "plain"):
        assert "Click" not in smtp.body(message, part)


def test_line_breaks_cannot_reach_mail_headers(mail_app, mail_supporter, smtp, cases):
    response = mail_supporter.submit("gustavo-gatica", name="Eve\nBcc: victim@example.org")
    assert response.status_code == 422
    deliver(mail_app)
    assert smtp.messages == []


def test_email_links_use_base_url_whatever_host_the_request_named(mail_app, smtp, cases):
    client = mail_app.test_client()
    evil = "http://evil.example"
    page = client.get("/cases/gustavo-gatica", base_url=evil).get_data(as_text=True)
    data = {
        "appeal-started": hidden_value(page, "appeal-started"),
        "appeal-name": "Ada",
        "appeal-email": "host@example.org",
        "appeal-country": "GB",
        "appeal-body": "Hello",
        "appeal-consent_privacy": "y",
    }
    response = client.post("/cases/gustavo-gatica/letters/appeal", data=data, base_url=evil)
    assert response.status_code == 200
    deliver(mail_app)
    text = smtp.body(smtp.messages[0], "plain")
    assert "http://localhost/confirm/" in text and "evil.example" not in text
