"""'Your letters': a supporter asks for a link by address (the answer never says whether the
address wrote), opens it once, and then sees, downloads and changes what the site holds
about them, for a short time, with a signed value in the page's forms."""

import json
import re
import statistics
import time
from datetime import timedelta

import itsdangerous
import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext
from helpers import SAME_ORIGIN, Supporter, csrf_from, hidden_value, stored

from extensions import db
from mail import outbox, suppression
from models import AuditEvent, ContactConsent, DataLink, Letter, Outbox, utcnow
from supporters import links
from web.log_privacy import private_url

CASE = "gustavo-gatica"
ADDRESS = "writer-7c1@example.org"
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


def deliver(app):
    with app.app_context():
        return outbox.send_due()


def ask(client, email, prefix="", headers=SAME_ORIGIN):
    return client.post(f"{prefix}/your-letters", data={"email": email}, headers=headers)


def link_path(message):
    """The path of the "Your letters" link in an email's text."""
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://localhost(/(?:\w\w/)?your-letters/[\w.\-]+)", text).group(1)


def emailed_link(app, smtp, client, email=ADDRESS, prefix=""):
    """Ask for a link on the site, let the worker send it, and read it from the inbox."""
    assert ask(client, email, prefix).status_code == 303
    deliver(app)
    return link_path(smtp.messages[-1])


def open_letters(client, path):
    """Press "Open my letters"; returns the page and its access value."""
    page = client.post(path, headers=SAME_ORIGIN)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    return html, hidden_value(html, "access")


def post_action(client, action, access, prefix="", headers=SAME_ORIGIN, **data):
    return client.post(
        f"{prefix}/your-letters/{action}", data={"access": access, **data}, headers=headers
    )


@pytest.fixture
def writer(mail_app, smtp, cases):
    """A supporter who wrote an appeal and confirmed it, ticking the consent box; the
    confirmation email is already in the inbox."""
    client = mail_app.test_client()
    Supporter(client).submit(CASE, email=ADDRESS, name="Rosa Writer", consent_contact="y")
    deliver(mail_app)
    confirm = re.search(
        r"http://localhost(/confirm/[\w.\-]+)", smtp.body(smtp.messages[-1], "plain")
    )
    client.post(confirm.group(1), headers=SAME_ORIGIN)
    return client


def test_known_and_unknown_addresses_get_the_same_answer(mail_app, smtp, writer):
    with mail_app.app_context():
        db.session.add(
            ContactConsent(email_key="consent-only@example.org", email="Consent-Only@example.org")
        )
        db.session.commit()
    sent_before = len(smtp.messages)
    answers = [
        ask(writer, email)
        for email in (ADDRESS, "nobody@example.org", ADDRESS.upper(), "consent-only@example.org")
    ]
    assert {(a.status_code, a.headers["Location"], a.get_data()) for a in answers} == {
        (answers[0].status_code, "/your-letters/sent", answers[0].get_data())
    }
    page = writer.get("/your-letters/sent").get_data(as_text=True)
    assert "If we have letters from this address, we have sent it a link" in page
    deliver(mail_app)
    received = [message["To"] for message in smtp.messages[sent_before:]]
    assert sorted(received) == sorted([ADDRESS, ADDRESS, "Consent-Only@example.org"])
    assert "nobody@example.org" not in " ".join(
        str(row.recipient) for row in stored(mail_app, Outbox)
    )
    with mail_app.app_context():  # nothing at all is kept of an unknown address
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(DataLink.email_key == "nobody@example.org")
            )
            == 0
        )


def median_ms(client, emails, rounds=9):
    times = {email: [] for email in emails}
    for _ in range(rounds):
        for email in emails:
            start = time.perf_counter()
            assert ask(client, email).status_code == 303
            times[email].append((time.perf_counter() - start) * 1000)
    return {email: statistics.median(each) for email, each in times.items()}


def test_a_known_address_takes_about_as_long_as_an_unknown_one(make_app, cases):
    app = make_app(RATELIMIT_ENABLED=False, MAIL_UNREQUESTED_PER_DAY=1000)
    client = app.test_client()
    Supporter(client).submit(CASE, email=ADDRESS)
    median = median_ms(client, [ADDRESS, "unknown@example.org"])
    # Without the even answer time an unknown address answered three times faster (2.5 ms
    # against 7 ms on SQLite). Now neither answers sooner than EVEN_ANSWER_SECONDS, far
    # above what either path takes; a ratio of timings would flake on a busy CI machine.
    floor = links.EVEN_ANSWER_SECONDS * 1000
    assert median["unknown@example.org"] >= floor and median[ADDRESS] >= floor, median


def test_the_link_email_is_in_the_language_of_the_page_that_asked(mail_app, smtp, writer):
    path = emailed_link(mail_app, smtp, writer, prefix="/ar")
    message = smtp.messages[-1]
    assert path.startswith("/ar/your-letters/")
    html = smtp.body(message, "html")
    assert '<html lang="ar" dir="rtl">' in html
    text = smtp.body(message, "plain")
    with mail_app.test_request_context(), force_locale("ar"):
        hello, thanks = gettext("Hello,"), gettext("The Write for Rights team")
    assert hello != "Hello," and text.startswith(hello)  # the Arabic catalog's words
    assert thanks in text
    assert f"http://localhost{path}" in text
    # The link names nothing personal: a signed number.
    assert ADDRESS not in path and "Rosa" not in path
    page = writer.get(path)
    assert page.status_code == 200
    assert 'lang="ar" dir="rtl"' in page.get_data(as_text=True)


def test_the_link_shows_the_letters_once(mail_app, smtp, writer):
    path = emailed_link(mail_app, smtp, writer)
    text = smtp.body(smtp.messages[-1], "plain")
    assert "The link works once, until" in text
    assert "If you did not ask for it, you can ignore this email" in text
    assert "Rosa" not in text and "Gustavo" not in text  # nothing about the letters
    html, _access = open_letters(writer, path)
    assert "Appeal for Gustavo Gatica" in html
    assert "Waiting for delivery with the case" in html
    assert "<dt>Written on</dt>" in html and "<dt>Confirmed by email</dt>" in html
    again = writer.post(path, headers=SAME_ORIGIN)
    assert again.status_code == 400
    used = again.get_data(as_text=True)
    assert "This link was used or has expired" in used
    assert 'action="/your-letters"' in used  # the form to ask for a new one
    assert "Appeal for Gustavo Gatica" not in used
    assert writer.get(path).status_code == 400  # its page says so too


def test_getting_the_link_changes_nothing(mail_app, smtp, writer):
    """Mail scanners open links: GET and HEAD show the button and use up nothing."""
    path = emailed_link(mail_app, smtp, writer)
    for _ in range(3):
        page = writer.get(path)
        assert page.status_code == 200
        assert "Open my letters" in page.get_data(as_text=True)
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert writer.head(path).status_code == 200
    assert writer.get("/your-letters/export").status_code in (400, 405)
    with mail_app.app_context():
        assert db.session.scalar(sa.select(DataLink.used_at)) is None
    open_letters(writer, path)  # still works


def test_an_expired_link_is_refused(mail_app, smtp, writer, monkeypatch):
    path = emailed_link(mail_app, smtp, writer)
    with mail_app.app_context():
        db.session.execute(sa.update(DataLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    refused = writer.post(path, headers=SAME_ORIGIN)
    assert refused.status_code == 400
    assert "This link was used or has expired" in refused.get_data(as_text=True)
    # A token signed longer ago than DATA_LINK_HOURS reads the same, whatever its row says.
    with mail_app.app_context():
        link = DataLink(email_key=ADDRESS, expires_at=utcnow() + timedelta(days=9))
        db.session.add(link)
        db.session.commit()
        long_ago = int(time.time()) - 25 * 3600
        monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: long_ago)
        with mail_app.test_request_context():
            old = links.link_url(link).removeprefix("http://localhost")
        monkeypatch.undo()
    refused = writer.post(old, headers=SAME_ORIGIN)
    assert refused.status_code == 400
    assert "This link was used or has expired" in refused.get_data(as_text=True)
    assert writer.post("/your-letters/not.a.token", headers=SAME_ORIGIN).status_code == 400


def test_a_forged_or_expired_access_value_is_refused(mail_app, smtp, writer):
    path = emailed_link(mail_app, smtp, writer)
    _html, access = open_letters(writer, path)
    forged = access[:-3] + ("AAA" if not access.endswith("AAA") else "BBB")
    for value in (forged, "", "e30.x.y"):
        answer = post_action(writer, "export", value)
        assert answer.status_code == 403
        assert "This link was used or has expired" in answer.get_data(as_text=True)
    # The same value, once the access has run out (DATA_ACCESS_MINUTES after opening).
    assert post_action(writer, "export", access).status_code == 200
    with mail_app.app_context():
        link = db.session.scalar(sa.select(DataLink))
        link.used_at -= timedelta(minutes=mail_app.config["DATA_ACCESS_MINUTES"])
        db.session.commit()
    assert post_action(writer, "export", access).status_code == 403
    with mail_app.app_context():  # and a link opened anew does not revive an old value
        db.session.execute(sa.update(DataLink).values(used_at=utcnow()))
        db.session.commit()
    assert post_action(writer, "export", access).status_code == 403


def test_the_download_holds_everything_about_the_address(mail_app, smtp, writer):
    Supporter(writer).submit(
        CASE, kind="solidarity", email=ADDRESS.upper(), body="Fuerza, Gustavo. Rosa."
    )
    path = emailed_link(mail_app, smtp, writer)
    _html, access = open_letters(writer, path)
    download = post_action(writer, "export", access)
    assert download.status_code == 200
    assert download.mimetype == "application/json"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in download.headers["Cache-Control"]
    exported = json.loads(download.get_data(as_text=True))
    assert exported["email"] == ADDRESS
    by_kind = {letter["kind"]: letter for letter in exported["letters"]}
    assert by_kind["appeal"]["text"] == "Please release him now."
    assert by_kind["appeal"]["name"] == "Rosa Writer"
    assert by_kind["appeal"]["confirmed"] is True
    assert by_kind["appeal"]["privacy_notice_version"] == mail_app.config["PRIVACY_NOTICE_VERSION"]
    assert by_kind["solidarity"]["text"] == "Fuerza, Gustavo. Rosa."
    assert by_kind["solidarity"]["confirmed"] is False
    assert by_kind["solidarity"]["case"]["name"] == "Gustavo Gatica"
    assert exported["case_news"] == {"unsubscribed": False, "no_email_after_bounces": False}


def test_consent_to_hear_from_the_campaign_is_withdrawn_and_given(mail_app, smtp, writer):
    path = emailed_link(mail_app, smtp, writer)
    _html, access = open_letters(writer, path)
    withdrawn = post_action(writer, "consent", access, consent="withdraw")
    assert withdrawn.status_code == 200
    assert "we will not contact you about the campaign" in withdrawn.get_data(as_text=True)
    with mail_app.app_context():
        assert db.session.get(ContactConsent, ADDRESS) is None
        assert not any(db.session.scalars(sa.select(Letter.consent_contact)))
    given = post_action(writer, "consent", access, consent="give")
    assert "we have recorded that you agree" in given.get_data(as_text=True)
    with mail_app.app_context():
        consent = db.session.get(ContactConsent, ADDRESS)
        assert consent.source == "your-letters"
        assert consent.privacy_version == mail_app.config["PRIVACY_NOTICE_VERSION"]
        assert utcnow() - consent.given_at < timedelta(minutes=1)
        assert consent.name == "Rosa Writer"
    assert "You agreed to hear from the campaign on" in given.get_data(as_text=True)


def test_case_news_is_stopped_and_started_again(mail_app, smtp, writer):
    path = emailed_link(mail_app, smtp, writer)
    _html, access = open_letters(writer, path)
    stopped = post_action(writer, "news", access, news="off")
    assert "You unsubscribed" in stopped.get_data(as_text=True)
    with mail_app.app_context():
        assert not suppression.may_send(ADDRESS, news=True)
        assert suppression.may_send(ADDRESS)  # letters' emails still go
    started = post_action(writer, "news", access, news="on")
    assert "we will email you news of the cases you wrote for" in started.get_data(as_text=True)
    with mail_app.app_context():
        assert suppression.may_send(ADDRESS, news=True)


def test_posts_from_another_site_are_refused(mail_app, smtp, writer):
    assert ask(writer, ADDRESS, headers=CROSS_SITE).status_code == 403
    with mail_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DataLink)) == 0
    path = emailed_link(mail_app, smtp, writer)
    assert writer.post(path, headers=CROSS_SITE).status_code == 403
    with mail_app.app_context():
        assert db.session.scalar(sa.select(DataLink.used_at)) is None
    _html, access = open_letters(writer, path)
    for action, data in (("erase", {"confirm": "yes"}), ("consent", {"consent": "withdraw"})):
        assert post_action(writer, action, access, headers=CROSS_SITE, **data).status_code == 403
    with mail_app.app_context():
        assert db.session.get(ContactConsent, ADDRESS) is not None
        assert db.session.scalar(sa.select(Letter.name)) == "Rosa Writer"


def test_asking_is_rate_limited(make_app, cases):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    answers = [ask(client, f"someone{n}@example.org").status_code for n in range(11)]
    assert answers == [303] * 10 + [429]


def test_an_address_gets_few_links_a_day_whoever_asks(make_app, smtp, cases):
    """A consent without letters (after retention) counts too: three emails a day."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, RATELIMIT_ENABLED=False)
    with app.app_context():
        db.session.add(ContactConsent(email_key=ADDRESS, email=ADDRESS))
        db.session.commit()
    client = app.test_client()
    for _ in range(6):
        assert ask(client, ADDRESS).status_code == 303
    deliver(app)
    assert len(smtp.messages) == app.config["MAIL_UNREQUESTED_PER_DAY"]


def test_an_invalid_address_is_said_and_kept(client, cases):
    answer = ask(client, "not an address")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Please enter a valid email address" in page
    assert 'value="not an address"' in page


def test_every_public_page_links_to_your_letters_in_its_language(client, cases):
    assert 'href="/your-letters"' in client.get("/").get_data(as_text=True)
    assert 'href="/es/your-letters"' in client.get(f"/es/cases/{CASE}").get_data(as_text=True)
    page = client.get("/ar/your-letters")
    assert page.status_code == 200
    assert 'action="/ar/your-letters"' in page.get_data(as_text=True)


def test_logs_name_the_link_without_its_token():
    assert private_url("/es/your-letters/MQ.aB-c.d_e") == "/es/your-letters/<token>"
    assert private_url("/your-letters/sent") == "/your-letters/sent"
    assert private_url("/your-letters/erase") == "/your-letters/erase"


def test_staff_let_email_go_again_to_an_address_a_bounce_stopped(
    mail_app, smtp, writer, admin, moderator
):
    """A bounce or a complaint, true or forged, stops every email to the address, even
    its "Your letters" link. Staff see it on Supporters' data and lift it (audited by
    keyed hash); the supporter's own unsubscribe from case news stays."""
    with mail_app.app_context():
        key = suppression.address_key(ADDRESS)
        suppression.unsubscribe(key, "link")
        suppression.suppress(key, suppression.HARD_BOUNCE, "ses")
        db.session.commit()
    sent = len(smtp.messages)
    assert ask(writer, ADDRESS).status_code == 303
    deliver(mail_app)
    assert len(smtp.messages) == sent  # the link did not go
    token = csrf_from(admin, "/admin/supporters")
    page = admin.post("/admin/supporters", data={"csrf_token": token, "email": ADDRESS})
    html = page.get_data(as_text=True)
    assert "No email at all since" in html and "an email to it bounced" in html
    assert "Unsubscribed from case news on" in html
    assert 'action="/admin/supporters/allow-email"' in html
    # Only an admin, only with the page's CSRF token.
    refused = admin.post("/admin/supporters/allow-email", data={"email": ADDRESS})
    assert refused.status_code == 400
    other = csrf_from(moderator)
    forbidden = moderator.post(
        "/admin/supporters/allow-email", data={"csrf_token": other, "email": ADDRESS}
    )
    assert forbidden.status_code == 403
    with mail_app.app_context():
        assert not suppression.may_send(ADDRESS)
    allowed = admin.post(
        "/admin/supporters/allow-email", data={"csrf_token": token, "email": ADDRESS.upper()}
    )
    assert allowed.status_code == 200
    html = allowed.get_data(as_text=True)
    assert "email may go to this address again" in html
    assert "Email goes to this address." in html and "Allow email again" not in html
    with mail_app.app_context():
        assert suppression.may_send(ADDRESS)
        assert not suppression.may_send(ADDRESS, news=True)  # their own choice stays
        row = suppression.known(ADDRESS)
        assert (row.suppressed_reason, row.soft_bounces) == ("", 0)
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "supporter.allow_email")
        ).all()
        assert [event.details for event in events] == [
            {"address": key, "was": "hard_bounce", "soft_bounces": 0}
        ]
        every_detail = json.dumps([e.details for e in db.session.scalars(sa.select(AuditEvent))])
        assert "writer-7c1" not in every_detail
    path = emailed_link(mail_app, smtp, writer)  # the link reaches the supporter now
    open_letters(writer, path)
    again = admin.post(
        "/admin/supporters/allow-email", data={"csrf_token": token, "email": ADDRESS}
    )
    assert "Nothing to change" in again.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["es", "fr", "ar", "tr"])
def test_one_letter_is_not_described_with_the_stats_pages_plural_headers(
    mail_app, smtp, writer, lang
):
    """The partner stats page's columns "Written" and "Confirmed" are plural in most
    languages ("Escritas"); one letter on this page has its own words."""
    path = emailed_link(mail_app, smtp, writer, prefix=f"/{lang}")
    html, _access = open_letters(writer, path)
    with mail_app.test_request_context(), force_locale(lang):
        own = gettext("Written on"), gettext("Confirmed by email")
        plural = gettext("Written"), gettext("Confirmed")
    for word in own:
        assert word not in ("Written on", "Confirmed by email")  # translated
        assert f"<dt>{word}</dt>" in html
    for word in plural:
        assert f"<dt>{word}</dt>" not in html
