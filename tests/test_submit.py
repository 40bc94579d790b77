"""Sending a letter, with htmx and without: what is stored, what the supporter sees."""

import os
import re

import pytest
import sqlalchemy as sa
from helpers import Supporter, rendered, stored
from sqlalchemy.exc import OperationalError

import letters
from extensions import db
from models import Letter, Outbox

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def test_without_javascript_the_form_posts_and_answers_with_the_thank_you_page(
    app, client, supporter, case_slug
):
    response = supporter.submit(case_slug, city="Valparaíso")
    assert response.status_code == 200  # the page itself: it carries the supporter's details
    assert response.headers["Cache-Control"] == "no-store, private"
    thanks = response.get_data(as_text=True)
    assert "Thank you! Please check your inbox." in thanks and "<html" in thanks
    assert '<h1 id="appeal-thanks-heading"' in thanks
    # The thank-you address of old links still works, cached and the same for everyone.
    old_link = client.get(f"/cases/{case_slug}/thanks/appeal")
    assert old_link.status_code == 200 and "public" in old_link.headers["Cache-Control"]
    [letter] = stored(app)
    assert (letter.kind, letter.name, letter.email, letter.country, letter.city) == (
        "appeal",
        "Ada Lovelace",
        "ada@example.org",
        "GB",
        "Valparaíso",
    )
    assert letter.body == "Please release him now."
    assert (letter.status, letter.moderation, letter.counted) == ("unconfirmed", "pending", False)
    assert letter.consent_privacy and not letter.consent_contact
    [email] = stored(app, Outbox)
    assert email.recipient == "ada@example.org" and email.letter_id == letter.id
    assert email.state == "pending"


def test_with_htmx_the_answer_is_the_thank_you_fragment(app, supporter, case_slug):
    response = supporter.submit(case_slug, kind="solidarity", htmx=True, body="Stay strong ✊")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith("<section")
    assert response.headers["Cache-Control"] == "no-store, private"
    assert 'id="solidarity-thanks"' in html and "autofocus" in html
    assert "Our team reads every message of solidarity before it is delivered" in html
    assert "HX-Request" in response.headers["Vary"]
    [letter] = stored(app)
    assert letter.kind == "solidarity" and letter.body == "Stay strong ✊"


def test_thank_you_offers_every_share_action(supporter, case_slug):
    html = supporter.submit(case_slug, htmx=True).get_data(as_text=True)
    assert 'href="https://x.com/intent/post?text=I%20just%20wrote%20for%20Gustavo%20Gatica' in html
    assert "url=http%3A%2F%2Flocalhost%2Fcases%2Fgustavo-gatica" in html
    assert 'href="https://wa.me/?text=' in html
    assert 'href="sms:?&amp;body=' in html
    assert 'href="mailto:?subject=Will%20you%20write%20for%20Gustavo%20Gatica%3F' in html
    assert 'data-copy="#appeal-share-url"' in html
    assert 'value="http://localhost/cases/gustavo-gatica" readonly' in html


def test_both_paths_store_identical_records(app, supporter, case_slug):
    supporter.submit(case_slug, email="plain@example.org")
    supporter.submit(case_slug, email="htmx@example.org", htmx=True)
    plain, enhanced = stored(app)
    ignore = {"id", "email", "email_key", "created_at", "_sa_instance_state"}
    assert {k: v for k, v in vars(plain).items() if k not in ignore} == {
        k: v for k, v in vars(enhanced).items() if k not in ignore
    }
    assert len(stored(app, Outbox)) == 2


INVALID = [
    ({"name": ""}, "name", "Please tell us your name."),
    ({"name": "x" * 101}, "name", "Please keep your name to 100 characters or fewer."),
    ({"name": "Eve\r\nBcc: victim@example.org"}, "name", "Please keep this on one line."),
    ({"email": ""}, "email", "Please enter your email address."),
    ({"email": "not-an-email"}, "email", "Please enter a valid email address"),
    ({"email": "a@b"}, "email", "Please enter a valid email address"),
    ({"email": "x" * 250 + "@example.org"}, "email", "This email address is too long."),
    ({"country": ""}, "country", "Please choose your country."),
    ({"country": "XX"}, "country", "Please choose your country from the list."),
    ({"city": "y" * 101}, "city", "Please keep the city to 100 characters or fewer."),
    ({"body": "   "}, "body", "Please write your message."),
    ({"body": "z" * 5001}, "body", "Please keep it to 5000 characters or fewer."),
    # (A NUL byte never reaches the form: the request itself is refused, test_bad_bytes.)
    ({"body": "bad\x07byte"}, "body", "This message contains characters we cannot send."),
    ({"consent_privacy": None}, "consent_privacy", "Please agree to the privacy notice"),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize(("values", "field", "message"), INVALID)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_stored(
    app, supporter, case_slug, htmx, values, field, message
):
    response = supporter.submit(case_slug, htmx=htmx, **values)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert ("<html" in html) is not htmx  # the whole page, or just the form fragment
    after_id = html.split(f'id="appeal-{field}-error"', 1)[1]  # (email's: aria-live too)
    error = after_id.split(">", 1)[1].split("</p>", 1)[0]
    assert message.replace("'", "&#39;") in error
    assert f'href="#appeal-{field}"' in html  # the summary links to the field
    assert stored(app) == [] and stored(app, Outbox) == []


def test_solidarity_messages_are_short(app, supporter, case_slug):
    response = supporter.submit(case_slug, kind="solidarity", body="w" * 1001)
    assert response.status_code == 422
    assert "Please keep it to 1000 characters or fewer." in response.get_data(as_text=True)
    assert stored(app) == []


def test_refused_form_keeps_everything_the_supporter_typed(supporter, case_slug):
    response = supporter.submit(
        case_slug, htmx=True, email="oops", body="Mi carta 💌", city="Temuco", country="CL"
    )
    html = response.get_data(as_text=True)
    assert 'value="oops"' in html and "Mi carta 💌</textarea>" in html
    assert 'value="Temuco"' in html and "<option value=CL selected>" in html
    assert 'aria-invalid="true"' in html and 'role="alert"' in html


def test_unknown_kind_is_not_found(supporter, case_slug):
    fields = supporter.form_fields(case_slug, "appeal")
    data = {"bribe-started": fields["appeal-started"], "bribe-body": "A bribe"}
    assert supporter.client.post(f"/cases/{case_slug}/letters/bribe", data=data).status_code == 404


def test_markup_is_stored_as_typed_and_shown_escaped(app, supporter, case_slug):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = supporter.submit(case_slug, htmx=True, email="bad", name=payload, body=payload)
    html = response.get_data(as_text=True)
    assert payload not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    supporter.submit(case_slug, name=payload, body=payload)
    [letter] = stored(app)
    assert letter.name == payload and letter.body == payload
    _subject, _text, html = rendered(app, stored(app, Outbox)[0])
    assert "script" not in html  # the name stays out of the email altogether


def test_unicode_right_to_left_and_emoji_round_trip(app, supporter, case_slug):
    name = "نسيمة Zoë 李 🌍"
    body = "الحرية لنسيمة\nÖzgürlük şimdi! 🕊️✊🏾\n\tFin."
    response = supporter.submit(case_slug, name=name, body=body, city="İstanbul")
    assert response.status_code == 200
    [letter] = stored(app)
    assert (letter.name, letter.body, letter.city) == (name, body, "İstanbul")
    _subject, text, _html = rendered(app, stored(app, Outbox)[0])
    assert text.startswith("Hello,") and name not in text  # emails greet nobody by name


def test_email_is_checked_when_the_field_loses_focus(client, supporter, case_slug):
    fields = supporter.form_fields(case_slug, "appeal")
    url = f"/cases/{case_slug}/letters/appeal/check-email"
    bad = client.post(url, data={**fields, "appeal-email": "ada@"}, headers=HTMX)
    assert bad.status_code == 200
    html = bad.get_data(as_text=True)
    assert html.startswith('<p class="field-error" id="appeal-email-error" aria-live="polite">')
    assert "Please enter a valid email address" in html
    good = client.post(url, data={**fields, "appeal-email": "ada@example.org"}, headers=HTMX)
    assert good.get_data(as_text=True) == (
        '<p class="field-error" id="appeal-email-error" aria-live="polite"></p>'
    )


def test_oversize_bodies_get_413_and_store_nothing(app, supporter, case_slug):
    response = supporter.submit(case_slug, body="x" * 70_000)
    assert response.status_code == 413
    assert "too much text" in response.get_data(as_text=True)
    assert stored(app) == []


def test_over_the_rate_limit_is_429_with_retry_after_and_a_message(make_app, cases, case_slug):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SUBMIT="2 per minute")
    supporter = Supporter(app.test_client())
    for n in range(2):
        assert supporter.submit(case_slug, email=f"r{n}@example.org").status_code == 200
    response = supporter.submit(case_slug, htmx=True, email="r3@example.org", body="Mine")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    html = response.get_data(as_text=True)
    assert "Please wait a few minutes and try again" in html and "Mine</textarea>" in html
    assert "<html" not in html
    plain = supporter.submit(case_slug, email="r4@example.org")
    assert plain.status_code == 429 and "<html" in plain.get_data(as_text=True)
    assert len(stored(app)) == 2


def test_rate_limit_storage_down_still_takes_letters(make_app, cases, case_slug):
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_SUBMIT="1 per minute",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",  # nothing listens there
    )
    supporter = Supporter(app.test_client())
    assert supporter.submit(case_slug).status_code == 200
    assert len(stored(app)) == 1


def test_database_failure_keeps_the_text_and_stores_nothing(
    app, supporter, case_slug, monkeypatch, caplog
):
    caplog.set_level("DEBUG")
    fields = supporter.form_fields(case_slug, "appeal")

    def broken(*args, **kwargs):
        db.session.add(Letter(case_id=1, kind="appeal", body="partial", name="x", email="x"))
        raise OperationalError("INSERT INTO letters", {}, Exception("database is locked"))

    monkeypatch.setattr(letters, "submit_letter", broken)
    for htmx in (False, True):
        response = supporter.submit(case_slug, htmx=htmx, fields=fields, body="Precious words")
        assert response.status_code == 503
        html = response.get_data(as_text=True)
        assert "We could not save your letter just now" in html
        assert "Precious words</textarea>" in html
    assert stored(app) == []
    assert "could not store a letter for case gustavo-gatica" in caplog.text
    for personal in ("ada@example.org", "Ada Lovelace", "Precious words"):
        assert personal not in caplog.text  # nothing personal goes into the logs


def without_own_values(response):
    """The answer without what is the writer's own: the address as typed, and the signed
    values of the form it offers (they hold the letter's id and the time)."""
    own = r'(name="solidarity-(?:email|follow_up|started)"[^>]* value=")[^"]*'
    return re.sub(own, r"\1", response.get_data(as_text=True))


def test_a_repeat_letter_does_not_count_twice_and_the_page_does_not_tell(app, supporter, case_slug):
    first = supporter.submit(case_slug, htmx=True, email="Rita@Example.org")
    with app.app_context():
        letters.confirm_letter(stored(app)[0].id)
    again = supporter.submit(case_slug, htmx=True, email="rita@example.org")
    assert again.status_code == first.status_code == 200
    assert without_own_values(again) == without_own_values(first)
    first_letter, repeat = stored(app)
    assert (first_letter.counted, repeat.status, repeat.counted) == (True, "repeat", False)
    first_email, repeat_email = stored(app, Outbox)
    assert rendered(app, first_email)[0] == "Please confirm your letter for Gustavo Gatica"
    subject, text, _html = rendered(app, repeat_email)
    assert subject == "You have already written for Gustavo Gatica"
    assert "/confirm/" not in text and "Your first letter from this address already counts" in text
    with app.app_context():
        assert letters.case_count(first_letter.case_id) == 1


def test_a_solidarity_message_after_an_appeal_counts_separately(app, supporter, case_slug):
    supporter.submit(case_slug, email="both@example.org")
    supporter.submit(case_slug, kind="solidarity", email="both@example.org")
    with app.app_context():
        for letter in stored(app):
            letters.confirm_letter(letter.id)
        assert letters.case_count(stored(app)[0].case_id) == 2


def test_a_forged_country_value_is_refused_and_never_echoed_as_markup(app, supporter, case_slug):
    response = supporter.submit(case_slug, htmx=True, country='"><script>alert(1)</script>')
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html and " selected>" not in html
    assert "Please choose your country from the list." in html
    assert stored(app) == []


def test_letters_are_stored_with_their_flags_for_moderators(app, supporter, case_slug):
    supporter.submit(case_slug, "solidarity", body="Stay strong, Gustavo. We are with you.")
    supporter.submit(
        case_slug,
        "solidarity",
        email="two@example.org",
        body="Call me on +44 20 7946 0958 or see www.example.com",
    )
    quiet, loud = stored(app)
    assert (quiet.flags, quiet.flagged) == ("", False)
    assert (loud.flag_list, loud.flagged) == (["link", "phone"], True)
    assert quiet.fingerprint and quiet.fingerprint != loud.fingerprint


def test_a_solidarity_text_sent_many_times_is_flagged_repeated(app, supporter, case_slug):
    for n in range(letters.REPEATED_AFTER + 1):
        supporter.submit(
            case_slug, "solidarity", email=f"copy{n}@example.org", body="Free them all NOW."
        )
        supporter.submit(case_slug, "appeal", email=f"copy{n}@example.org")  # the template
    solidarity = [letter for letter in stored(app) if letter.kind == "solidarity"]
    appeals = [letter for letter in stored(app) if letter.kind == "appeal"]
    assert [letter.flags for letter in solidarity] == [""] * letters.REPEATED_AFTER + ["repeated"]
    assert solidarity[-1].flagged
    assert {letter.flags for letter in appeals} == {""}  # appeals share their text by design


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only: a database server restart"
)
def test_a_database_restart_costs_no_letter(app, supporter, case_slug):
    assert supporter.submit(case_slug, email="before@example.org").status_code == 200
    with app.app_context():
        url = db.engine.url
    outside = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with outside.begin() as connection:  # what a database restart does to the app's connections
        connection.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    outside.dispose()
    # The pool finds its connections dead before it hands one out, and opens new ones.
    assert supporter.submit(case_slug, email="after@example.org").status_code == 200
    assert [letter.email for letter in stored(app)] == ["before@example.org", "after@example.org"]
