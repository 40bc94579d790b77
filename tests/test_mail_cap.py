"""Email as a weapon: nobody can make the site write to an address more than once a
request, nor more than a few times a day (mail/cap.py), whoever asks and however."""

import re
import threading

from helpers import SAME_ORIGIN, Supporter, stored

from mail import outbox

CASE = "gustavo-gatica"
VICTIM = "victim@example.org"


def deliver(app):
    with app.app_context():
        return outbox.send_due()


def to(smtp, address):
    return [message for message in smtp.messages if message["To"] == address]


def links(smtp, message):
    return re.findall(r"http://localhost/confirm/[\w.\-]+", smtp.body(message, "plain"))


def resend(client, **data):
    return client.post("/confirm/resend", data=data, headers=SAME_ORIGIN)


def test_one_resend_request_sends_one_email_with_every_waiting_link(make_app, smtp, cases):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_UNREQUESTED_PER_DAY=50)
    supporter = Supporter(app.test_client())
    for n in range(5):
        supporter.submit(CASE, email=VICTIM, body=f"Letter {n}")
    deliver(app)
    assert len(to(smtp, VICTIM)) == 5
    assert resend(app.test_client(), email=VICTIM).status_code == 303
    deliver(app)
    assert len(to(smtp, VICTIM)) == 6  # one more email, not five
    assert len(set(links(smtp, smtp.messages[-1]))) == 5  # each waiting letter's link


def test_unasked_emails_to_an_address_stop_at_the_daily_cap(make_app, smtp, cases):
    """Letters, resends by address and by link, through two app servers: three emails a
    day (the default); later letters are kept, and the requester is never told."""
    apps = [make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port) for _ in range(2)]
    first, second = (app.test_client() for app in apps)
    Supporter(first).submit(CASE, email=VICTIM)
    deliver(apps[0])
    token = links(smtp, smtp.messages[0])[0].rsplit("/", 1)[1]
    pages = []
    for n in range(4):
        pages.append(resend(first if n % 2 else second, email=VICTIM))
        pages.append(resend(second, token=token))
    pages.append(resend(first, email="nobody@example.org"))
    assert {(page.status_code, page.headers["Location"]) for page in pages} == {
        (303, "/confirm/sent")
    }
    Supporter(second).submit(CASE, email=VICTIM.upper(), body="A later letter")
    deliver(apps[1])
    assert len(smtp.messages) == 3
    assert len(stored(apps[0])) == 2  # the later letter is kept, without its email
    with apps[0].app_context():
        assert "pending" not in outbox.status_counts()  # nothing waits to go out later


def test_requests_at_the_same_moment_do_not_pass_the_cap_together(make_app, smtp, cases):
    """Eight new-link requests for one address at once, as several app servers would
    take them: three emails, the cap, and never more."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_UNREQUESTED_PER_DAY=3)
    Supporter(app.test_client()).submit(CASE, email=VICTIM)
    start, answers = threading.Barrier(8), []

    def ask():
        client = app.test_client()
        start.wait()
        answers.append(resend(client, email=VICTIM).status_code)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [303] * 8
    deliver(app)
    assert len(to(smtp, VICTIM)) == 3
