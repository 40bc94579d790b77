"""One-click unsubscribe, as a mail provider does it (RFC 8058: a plain POST from its
servers, no browser headers, no cookie) and as a reader does it (a page with a button);
and the suppression list at send time: an unsubscribed address gets no news but still
its confirmation links, and a bounced address gets nothing. Real SMTP, real database."""

import pytest
import sqlalchemy as sa
from helpers import SAME_ORIGIN, Supporter, staff_client, stored
from itsdangerous import URLSafeSerializer
from test_mail_headers import link_in, write_again
from test_staff_invites import invite

from extensions import begin_write, db
from mail import outbox, suppression
from mail.suppression import address_key
from models import MailAddress, MailEvent, Outbox
from web.log_privacy import private_url

ADA = "ada@example.org"
ONE_CLICK = {
    "data": "List-Unsubscribe=One-Click",
    "content_type": "application/x-www-form-urlencoded",
}
CROSS_SITE = {"Origin": "https://mail.example.net", "Sec-Fetch-Site": "cross-site"}


def deliver(app):
    with app.app_context():
        return outbox.send_due()


def to(smtp, address):
    return [message for message in smtp.messages if message["To"] == address]


def unsubscribe_path(message):
    return message["List-Unsubscribe"].strip("<>").removeprefix("http://localhost")


def queue_news(app, address):
    """A case-news email to `address`, as mail/news.py queues it."""
    with app.app_context():
        begin_write()
        row = Outbox(recipient=address, template="news", priority=1, language="en")
        db.session.add(row)
        db.session.commit()
        return row.id


def address_row(app, address=ADA):
    with app.app_context():
        row = suppression.known(address)
        if row is not None:
            db.session.expunge(row)
        return row


def events(app):
    return [(event.kind, event.source) for event in stored(app, MailEvent)]


def test_one_click_from_the_received_headers_stops_news_but_not_confirmations(
    mail_app, smtp, cases
):
    _confirmation, note = write_again(mail_app, smtp)
    assert note["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The mail provider's server posts the body to the link: no Origin, no Sec-Fetch-Site,
    # no cookie, a client that never saw the site.
    response = mail_app.test_client().post(unsubscribe_path(note), **ONE_CLICK)
    assert response.status_code == 200
    assert len(response.get_data()) < 100
    assert response.headers["Cache-Control"] == "no-store"
    assert address_row(mail_app).unsubscribed_at is not None
    assert events(mail_app) == [("unsubscribe", "one-click")]

    received = len(smtp.messages)
    news = queue_news(mail_app, ADA)
    assert deliver(mail_app) == (0, 0)
    row = next(row for row in stored(mail_app, Outbox) if row.id == news)
    assert (row.state, row.attempts, row.sent_at) == ("suppressed", 0, None)
    assert len(smtp.messages) == received  # no news reached the address

    # Letters are still welcome, and their confirmation links still arrive.
    Supporter(mail_app.test_client()).submit("germain-rukuki", email=ADA)
    assert deliver(mail_app) == (1, 0)
    assert smtp.messages[-1]["To"] == ADA and "/confirm/" in link_in(smtp.messages[-1])

    # A second one-click (providers retry) changes and counts nothing more.
    assert mail_app.test_client().post(unsubscribe_path(note), **ONE_CLICK).status_code == 200
    assert events(mail_app) == [("unsubscribe", "one-click")]


def test_one_click_from_a_webmail_page_is_let_through_and_other_forms_are_not(
    mail_app, smtp, cases
):
    _confirmation, note = write_again(mail_app, smtp)
    client = mail_app.test_client()
    response = client.post(unsubscribe_path(note), headers=CROSS_SITE, **ONE_CLICK)
    assert response.status_code == 200
    assert address_row(mail_app).unsubscribed_at is not None
    # Every other form still refuses a post from another site: a letter, a confirmation.
    Supporter(client).submit("germain-rukuki", email="grace@example.org")
    deliver(mail_app)
    confirm = link_in(to(smtp, "grace@example.org")[0])
    assert client.post(confirm, headers=CROSS_SITE).status_code == 403
    refused = Supporter(client).submit("germain-rukuki", headers=CROSS_SITE)
    assert refused.status_code == 403


def test_the_page_changes_nothing_and_its_button_unsubscribes(mail_app, smtp, cases):
    _confirmation, note = write_again(mail_app, smtp)
    path = unsubscribe_path(note)
    client = mail_app.test_client()
    for method in (client.get, client.head, client.get):  # a scanner's prefetches
        page = method(path)
        assert page.status_code == 200
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"
    html = client.get(path).get_data(as_text=True)
    assert "Stop case news" in html and f'action="{path}"' in html and ADA not in html
    assert address_row(mail_app) is None and events(mail_app) == []

    done = client.post(path, headers=SAME_ORIGIN)  # the button, from the page
    assert done.status_code == 303 and done.headers["Location"] == "/unsubscribed"
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "You will get no more news emails" in page
    assert "You can still write letters" in page
    assert address_row(mail_app).unsubscribed_at is not None
    assert client.post(path, headers=SAME_ORIGIN).status_code == 303  # again: no change
    assert events(mail_app) == [("unsubscribe", "link")]


def test_a_forged_or_altered_link_is_refused(mail_app, smtp, cases):
    _confirmation, note = write_again(mail_app, smtp)
    path = unsubscribe_path(note)
    token = path.rsplit("/", 1)[1]
    with mail_app.app_context():
        key = address_key("victim@example.org")
    other_key = URLSafeSerializer("not-our-secret", salt="unsubscribe").dumps(key)
    other_salt = URLSafeSerializer(mail_app.config["SECRET_KEY"], salt="confirm").dumps(key)
    altered = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    bare_key = URLSafeSerializer(mail_app.config["SECRET_KEY"], salt="unsubscribe").dumps(1)
    client = mail_app.test_client()
    for forged in (altered, other_key, other_salt, bare_key, key, "x"):
        page = client.get(f"/unsubscribe/{forged}")
        assert page.status_code == 400, forged
        assert "This link does not work" in page.get_data(as_text=True)
        assert "Stop case news" not in page.get_data(as_text=True)
        assert client.post(f"/unsubscribe/{forged}", **ONE_CLICK).status_code == 400
        assert client.post(f"/unsubscribe/{forged}", headers=SAME_ORIGIN).status_code == 400
    assert stored(mail_app, MailAddress) == [] and events(mail_app) == []


def test_a_bounced_address_gets_no_email_at_all(mail_app, smtp, cases):
    with mail_app.app_context():
        begin_write()
        suppression.suppress(address_key("Gone@Example.org"), suppression.HARD_BOUNCE, "dsn")
        db.session.commit()
    Supporter(mail_app.test_client()).submit("gustavo-gatica", email="gone@example.org")
    queue_news(mail_app, "gone@example.org")
    Supporter(mail_app.test_client()).submit("gustavo-gatica", email="here@example.org")
    assert deliver(mail_app) == (1, 0)
    assert [message["To"] for message in smtp.messages] == ["here@example.org"]
    states = {
        (row.recipient, row.template): (row.state, row.attempts) for row in stored(mail_app, Outbox)
    }
    assert states == {
        ("gone@example.org", "confirm"): ("suppressed", 0),
        ("gone@example.org", "news"): ("suppressed", 0),
        ("here@example.org", "confirm"): ("sent", 1),
    }
    result = mail_app.test_cli_runner().invoke(args=["outbox", "status"])
    assert "suppressed: 2" in result.output and "capped: 0" in result.output
    assert "sent: 1" in result.output


def test_staff_emails_still_reach_a_suppressed_address(mail_app, smtp, cases):
    """A staff invitation or reset link is how staff get in: no suppression (a forged
    bounce, a complaint about news from the same mailbox) may lock them out."""
    with mail_app.app_context():
        begin_write()
        suppression.suppress(address_key("new@example.org"), suppression.COMPLAINT, "ses")
        db.session.commit()
    admin = staff_client(mail_app, "admin", "admin@example.org")
    assert invite(admin, email="new@example.org").status_code == 303
    assert deliver(mail_app) == (1, 0)
    assert smtp.messages[-1]["To"] == "new@example.org"
    assert smtp.messages[-1]["List-Unsubscribe"] is None


def test_the_link_is_rate_limited_per_link(make_app, smtp, cases):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, RATELIMIT_ENABLED=True)
    _confirmation, note = write_again(app, smtp)
    client = app.test_client()
    answers = [client.get(unsubscribe_path(note)).status_code for _ in range(11)]
    assert answers == [200] * 10 + [429]
    assert client.get("/unsubscribe/another-link").status_code == 400  # each link its own


@pytest.mark.parametrize("language", ["es", "ar"])
def test_the_pages_are_in_the_link_language(mail_app, smtp, cases, language):
    _confirmation, note = write_again(mail_app, smtp, prefix=f"/{language}")
    path = unsubscribe_path(note)
    assert path.startswith(f"/{language}/unsubscribe/")
    page = mail_app.test_client().get(path).get_data(as_text=True)
    assert f'<html lang="{language}"' in page
    done = mail_app.test_client().post(path, headers=SAME_ORIGIN)
    assert done.headers["Location"] == f"/{language}/unsubscribed"
    with mail_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MailEvent)) == 1


def test_the_link_stays_out_of_the_logs(mail_app, smtp, cases):
    """The same link is in every email to an address: logged, it would tie lines together."""
    _confirmation, note = write_again(mail_app, smtp)
    path = unsubscribe_path(note)
    token = path.rsplit("/", 1)[1]
    assert private_url(f"http://localhost{path}?x=1") == "http://localhost/unsubscribe/<token>"
    assert token not in private_url(f"/es{path}")
