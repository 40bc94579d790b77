"""Email as a weapon: nobody can put their own words (a link, an offer) in what the site
sends to an address that has not confirmed it is theirs."""

import pytest
import sqlalchemy as sa
from helpers import SAME_ORIGIN, Supporter, stored

import letters
from extensions import db
from mail import outbox
from models import Letter, Outbox

CASE = "gustavo-gatica"
VICTIM = "victim@example.org"


def deliver(app):
    with app.app_context():
        return outbox.send_due()


@pytest.mark.parametrize(
    "name",
    [
        "You won! Claim at https://evil.example",
        "Claim your prize at evil.example",
        "Visit www.evil.com",
        "Write to prize@evil.example",
        "prize [at] evil [dot] com",
        "Claim at evil\uff0ecom",  # a full-width dot: mail programs link it all the same
        "Claim at evil\u3002com",  # an ideographic full stop, a dot in domain names too
        "Claim at \uff45\uff56\uff49\uff4c.com",  # full-width letters
    ],
)
def test_a_name_cannot_carry_a_link_an_address_or_a_domain(mail_app, smtp, cases, name):
    supporter = Supporter(mail_app.test_client())
    response = supporter.submit(CASE, name=name, email=VICTIM)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please write only your name, without a link, an email address or a website." in html
    deliver(mail_app)
    assert stored(mail_app) == [] and smtp.messages == []


@pytest.mark.parametrize(
    "name", ["J.R.R. Tolkien", "Zoë O'Brien-Smith", "نسيمة", "Dr. Ana Díaz", "山田\u3000花子"]
)
def test_ordinary_names_are_taken(mail_app, cases, name):
    response = Supporter(mail_app.test_client()).submit(CASE, name=name)
    assert response.status_code == 200


def test_emails_to_an_unconfirmed_address_carry_nothing_the_writer_typed(make_app, smtp, cases):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_UNREQUESTED_PER_DAY=50)
    client = app.test_client()
    typed = {"name": "Mallory Marker", "city": "Markerville", "body": "Marker body text"}
    Supporter(client).submit(CASE, email=VICTIM, **typed)  # a confirmation
    with app.app_context():
        letters.confirm_letter(db.session.scalar(sa.select(Letter.id)))
    Supporter(client).submit(CASE, email=VICTIM, **typed)  # a repeat note
    Supporter(client).submit(CASE, kind="solidarity", email=VICTIM, **typed)
    client.post("/confirm/resend", data={"email": VICTIM}, headers=SAME_ORIGIN)  # a new link
    deliver(app)
    assert {row.template for row in stored(app, Outbox)} >= {"confirm", "repeat"}
    assert len(smtp.messages) == 4
    for message in smtp.messages:
        whole = message["Subject"] + smtp.body(message, "plain") + smtp.body(message, "html")
        assert "Marker" not in whole
        assert "Gustavo Gatica" in whole  # our text: the case's name
