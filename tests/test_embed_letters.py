"""Letters sent from the form framed on a partner's site: stored with their partner, the
cookie-free single-use form token, and the attacks it must refuse (posts from elsewhere,
tampered, expired, replayed or borrowed tokens, a forged attribution)."""

import base64

import pytest
import sqlalchemy as sa
from embed_pages import (
    CASE,
    HTMX,
    PAGE,
    RIVERSIDE,
    UNION,
    FramedSupporter,
    frame_ancestors,
)
from factories import PartnerFactory
from helpers import Supporter, hidden_value, rendered, stored
from itsdangerous import timed
from sqlalchemy.exc import OperationalError

import letters
import partners
from extensions import db
from models import Outbox, UsedFormToken, utcnow


def test_a_letter_from_the_frame_is_stored_with_its_partner(app, framed, partner_id):
    response = framed.send(htmx=True, body="Free him ✊")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="appeal-thanks"' in html
    assert "Thank you! Please check your inbox." in html
    # The next step stays in the frame; the campaign's other pages open a new tab.
    assert 'href="#solidarity"' in html
    assert 'href="/#cases" target="_blank"' in html
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"
    assert "Set-Cookie" not in response.headers
    [letter] = stored(app)
    assert (letter.partner_id, letter.kind, letter.body) == (partner_id, "appeal", "Free him ✊")
    assert letter.status == "unconfirmed"
    [email] = stored(app, Outbox)
    assert email.template == "confirm" and email.recipient == "ada@example.org"
    subject, text, _html = rendered(app, email)
    assert subject == "Please confirm your letter for Gustavo Gatica"  # the site's own email
    assert "/confirm/" in text


def test_without_javascript_the_frame_posts_then_shows_its_own_thank_you_page(
    app, client, framed, partner_id
):
    fields = framed.form_fields(f"{PAGE}?lang=es")
    response = framed.send(fields=fields, body="Libérenlo.", query="?lang=es")
    assert response.status_code == 200  # the thank-you page itself, with the next letter
    html = response.get_data(as_text=True)
    assert '<html lang="es"' in html and '<h1 id="appeal-thanks-heading"' in html  # in Spanish
    assert "Riverside School" in html
    assert 'id="solidarity-form"' in html and 'name="solidarity-form_token"' in html
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"
    # The thank-you address of old links still works, and leads back to the framed form.
    thanks = client.get(f"{PAGE}/thanks/appeal?lang=es")
    assert f'href="{PAGE}?lang=es#solidarity"' in thanks.get_data(as_text=True)
    [letter] = stored(app)
    assert letter.partner_id == partner_id and letter.language == "es"


def test_a_mistake_comes_back_in_the_frame_and_the_same_token_still_works(app, framed, partner_id):
    fields = framed.form_fields()
    response = framed.send(fields=fields, htmx=True, email="ada@", name="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Please check 2 things:" in html
    assert 'id="appeal-problem" role="alert" tabindex="-1" autofocus>' in html
    assert "Error: </span>Please tell us your name." in html
    assert 'aria-invalid="true"' in html and 'href="#appeal-email"' in html
    assert hidden_value(html, "appeal-form_token") == fields["appeal-form_token"]
    assert stored(app) == []
    assert framed.send(fields=fields, htmx=True).status_code == 200
    assert len(stored(app)) == 1


def test_the_email_check_works_in_the_frame_without_a_cookie(client, partner_id):
    response = client.post(
        f"{PAGE}/letters/appeal/check-email", data={"appeal-email": "nope"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "valid email address" in response.get_data(as_text=True)


def test_a_closed_case_takes_no_letters_in_the_frame(app, framed, partner_id, cases):
    fields = framed.form_fields()
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE cases SET status = 'closed' WHERE slug = :s"), {"s": CASE}
        )
        db.session.commit()
    response = framed.send(fields=fields, htmx=True)
    assert response.status_code == 409
    assert "This case is closed" in response.get_data(as_text=True)
    assert stored(app) == []


def test_a_letter_sent_at_once_from_the_frame_is_kept_flagged_fast(make_app, cases):
    app = make_app(MIN_FILL_SECONDS=3)
    with app.app_context():
        PartnerFactory(**RIVERSIDE)
    framed = FramedSupporter(app.test_client())
    at_once = framed.send(htmx=True)  # sent the moment the form was shown
    assert at_once.status_code == 200 and "Thank you!" in at_once.get_data(as_text=True)
    [letter] = stored(app)
    assert letter.flag_list == ["fast"] and letter.status == "unconfirmed"


def test_a_filled_honeypot_in_the_frame_gets_thanks_and_nothing_is_stored(app, framed, partner_id):
    honeypot = framed.send(htmx=True, leave_empty="http://spam.example")
    assert honeypot.status_code == 200 and "Thank you!" in honeypot.get_data(as_text=True)
    assert stored(app) == [] and stored(app, Outbox) == []


def test_the_fill_time_comes_from_the_token(make_app, cases, monkeypatch):
    app = make_app(MIN_FILL_SECONDS=3)
    with app.app_context():
        PartnerFactory(**RIVERSIDE)
    framed = FramedSupporter(app.test_client())
    real_time = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real_time() - 60)
    fields = framed.form_fields()  # shown a minute ago
    monkeypatch.setattr(timed.time, "time", real_time)
    assert framed.send(fields=fields, htmx=True).status_code == 200
    [letter] = stored(app)
    assert letter.flags == ""


def test_a_database_failure_keeps_the_text_in_the_frame(app, framed, partner_id, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("INSERT INTO letters", {}, Exception("database is locked"))

    monkeypatch.setattr(letters, "submit_letter", broken)
    fields = framed.form_fields()
    response = framed.send(fields=fields, htmx=True, body="Precious words")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "We could not save your letter just now" in html
    assert "Precious words</textarea>" in html
    # The token was spent on the way: the form comes back with a fresh one.
    fresh = hidden_value(html, "appeal-form_token")
    assert fresh != fields["appeal-form_token"]
    monkeypatch.undo()
    assert framed.send(fields={**fields, "appeal-form_token": fresh}, htmx=True).status_code == 200
    assert len(stored(app)) == 1


def test_the_frame_says_when_a_supporter_sends_too_much(make_app, cases):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SUBMIT="1 per minute")
    with app.app_context():
        PartnerFactory(**RIVERSIDE)
    framed = FramedSupporter(app.test_client())
    assert framed.send(htmx=True).status_code == 200
    response = framed.send(htmx=True, body="Another one")
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "You have sent a lot of letters in a short time" in html
    assert "Another one</textarea>" in html
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"
    assert len(stored(app)) == 1


# Attacks: each is refused with a message in the frame, and stores nothing


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Origin at all: not the framed form
        {"Origin": "https://evil.example"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {
            "Origin": "https://riverside.example",
            "Sec-Fetch-Site": "cross-site",
        },  # the partner's page itself
        {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "same-site"},
        {"Referer": "http://localhost/embed/riverside/gustavo-gatica"},  # a Referer is not enough
    ],
)
def test_a_post_that_did_not_come_from_the_frame_is_refused(app, framed, partner_id, headers):
    fields = framed.form_fields()  # a genuine, unused token
    response = framed.send(fields=fields, headers=headers)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "we only take letters sent from this form itself" in html
    assert "Please release him now.</textarea>" in html  # what was typed is still there
    assert stored(app) == [] and stored(app, Outbox) == [] and stored(app, UsedFormToken) == []


def test_a_tampered_token_is_refused(app, framed, partner_id):
    fields = framed.form_fields()
    token = fields["appeal-form_token"]
    _payload, rest = token.split(".", 1)
    # Claim another partner in the payload, keeping the signature: it no longer matches.
    forged = base64.urlsafe_b64encode(b'[2,99,"appeal","n",1]').rstrip(b"=").decode()
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        f"{forged}.{rest}",
        "",
        "x",
    ):
        response = framed.send(fields={**fields, "appeal-form_token": bad}, htmx=True)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "We could not check this form, so nothing was sent." in html
        assert hidden_value(html, "appeal-form_token") not in (bad, token)
    assert stored(app) == [] and stored(app, Outbox) == []


def test_an_expired_token_is_refused_and_the_form_refreshed(app, framed, partner_id, monkeypatch):
    real_time = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real_time() - 121 * 60)
    fields = framed.form_fields()  # shown two hours ago: the token has expired
    monkeypatch.setattr(timed.time, "time", real_time)
    response = framed.send(fields=fields, htmx=True, body="Written slowly")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This form had expired, so nothing was sent." in html
    assert "Written slowly</textarea>" in html
    assert stored(app) == []
    fresh = hidden_value(html, "appeal-form_token")
    assert fresh != fields["appeal-form_token"]
    again = framed.send(
        fields={**fields, "appeal-form_token": fresh}, htmx=True, body="Written slowly"
    )
    assert again.status_code == 200
    assert [letter.body for letter in stored(app)] == ["Written slowly"]


def test_a_replayed_token_is_refused(app, framed, partner_id):
    fields = framed.form_fields()
    assert framed.send(fields=fields, htmx=True).status_code == 200
    replay = framed.send(fields=fields, htmx=True, email="someone-else@example.org")
    assert replay.status_code == 409
    assert "This form was already sent, so nothing more was sent." in replay.get_data(as_text=True)
    assert len(stored(app)) == 1 and len(stored(app, Outbox)) == 1
    plain_replay = framed.send(fields=fields, email="third@example.org")  # without htmx too
    assert plain_replay.status_code == 409 and "<html" in plain_replay.get_data(as_text=True)
    assert len(stored(app)) == 1


def test_a_token_only_works_for_its_own_case_partner_and_form(app, framed, partner_id):
    with app.app_context():
        PartnerFactory(**UNION)
    other_partner = framed.form_fields(f"/embed/union/{CASE}")
    other_case = framed.form_fields("/embed/riverside/germain-rukuki")
    solidarity = framed.form_fields(kind="solidarity")
    attempts = [
        other_partner,  # the union's token, posted as Riverside's letter
        other_case,
        {"appeal-form_token": solidarity["solidarity-form_token"], "appeal-language": "en"},
    ]
    for fields in attempts:
        response = framed.send(fields=fields, htmx=True)
        assert response.status_code == 400, fields
        assert "We could not check this form" in response.get_data(as_text=True)
    # And the other way round: Riverside's token on the union's page.
    mine = framed.form_fields()
    response = framed.send(fields=mine, htmx=True, page=f"/embed/union/{CASE}")
    assert response.status_code == 400
    assert stored(app) == []


def test_attribution_comes_from_the_token_not_from_a_parameter(app, framed, partner_id):
    with app.app_context():
        union = PartnerFactory(**UNION).id
    response = framed.send(htmx=True, partner="union", partner_id=str(union))
    assert response.status_code == 200
    [letter] = stored(app)
    assert letter.partner_id == partner_id


def test_spent_tokens_are_kept_until_they_expire_then_purged(app, framed, partner_id):
    framed.send(htmx=True)
    [spent] = stored(app, UsedFormToken)
    lifetime = (spent.expires_at - utcnow()).total_seconds()
    assert 119 * 60 < lifetime <= 122 * 60
    with app.app_context():
        assert partners.purge_spent_tokens() == 0
        assert partners.purge_spent_tokens(now=spent.expires_at.replace(year=2100)) == 1
        db.session.commit()
    assert stored(app, UsedFormToken) == []


# The main site's form: a partner's token there gives no attribution


def test_an_embed_token_posted_to_the_main_sites_form_attributes_nothing(app, client, partner_id):
    embed_token = FramedSupporter(app.test_client()).form_fields()["appeal-form_token"]
    supporter = Supporter(client)
    fields = supporter.form_fields(CASE, "appeal") | {"appeal-form_token": embed_token}
    assert supporter.submit(CASE, fields=fields).status_code == 200
    [letter] = stored(app)
    assert letter.partner_id is None
