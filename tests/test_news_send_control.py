"""Case news, once staff press Send: the mail worker queues the emails in batches (not the
admin's request), resumes where it stopped, never queues an address twice; staff can stop
a send, unpublishing stops it, a draft with test sends can be deleted; one-click
unsubscribe from the received email keeps the next update away; progress counts every
state. Read from what the test SMTP server received after the mail worker ran."""

import pytest
import sqlalchemy as sa
from factories import LetterFactory, SolidarityFactory, insert_letters
from helpers import SAME_ORIGIN, hidden_value
from test_news_email import (
    CASE,
    TITLE,
    admin_user,
    base,
    deliver,
    make_update,
    news_rows,
    prepare,
    send,
    writer,
)

from extensions import db
from mail import news, outbox
from models import AuditEvent, CaseUpdate, Letter, Outbox

ONE_CLICK = {
    "data": "List-Unsubscribe=One-Click",
    "content_type": "application/x-www-form-urlencoded",
}
QUIET = {"log": lambda _line: None}


def other_case(cases):
    return next(id_ for slug, id_ in cases.items() if slug not in (CASE, "secret-draft"))


def page_of(client, case_id, update_id):
    return client.get(f"/admin/cases/{case_id}/updates/{update_id}").get_data(as_text=True)


def post(client, case_id, update_id, url, **data):
    token = hidden_value(page_of(client, case_id, update_id), "csrf_token")
    return client.post(url, data={"csrf_token": token, **data}, headers=SAME_ORIGIN)


def test_one_click_from_the_received_news_email_keeps_the_next_update_away(
    mail_app, smtp, cases, admin
):
    """The issue's test: an update reaches writers of that case only, once each, in their
    language, with working one-click unsubscribe headers read from the email that the test
    SMTP server received; the next update to the case does not reach that address."""
    case_id = cases[CASE]
    writer(mail_app, case_id, "ana@example.org")
    writer(mail_app, case_id, "ana@example.org", factory=SolidarityFactory)  # still one email
    writer(mail_app, case_id, "sofia@example.org", "es")
    writer(mail_app, other_case(cases), "elsewhere@example.org")
    first = make_update(mail_app, case_id)
    assert send(admin, case_id, first).status_code == 303
    deliver(mail_app)

    by_address = {message["To"]: message for message in smtp.messages}
    assert sorted(by_address) == ["ana@example.org", "sofia@example.org"]
    assert len(smtp.messages) == 2
    assert by_address["sofia@example.org"]["Subject"] == TITLE["es"]
    ana = by_address["ana@example.org"]
    assert ana["Subject"] == TITLE["en"]
    assert ana["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = ana["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://localhost/unsubscribe/") and "example.org" not in link
    # What a mail program's "Unsubscribe" button does: one POST, no page, no cookie.
    response = mail_app.test_client().post(link.removeprefix("http://localhost"), **ONE_CLICK)
    assert response.status_code == 200

    smtp.messages.clear()
    second = make_update(mail_app, case_id)
    send(admin, case_id, second)
    deliver(mail_app)
    assert [message["To"] for message in smtp.messages] == ["sofia@example.org"]
    with mail_app.app_context():
        figures = news.progress(db.session.get(CaseUpdate, second))
    assert figures["total"] == {"queued": 2, "sent": 1, "failed": 0, "skipped": 1, "pending": 0}


def test_the_worker_queues_in_batches_and_resumes_without_queueing_anyone_twice(
    app, cases, monkeypatch
):
    monkeypatch.setattr(news, "BATCH_LETTERS", 10)
    case_id, elsewhere = cases[CASE], other_case(cases)
    update_id = make_update(app, case_id)
    with app.app_context():
        insert_letters(12, case_id=case_id)
        insert_letters(15, case_id=elsewhere)  # ranges with no writer of the case
        insert_letters(13, case_id=case_id)
        news.queue_update(db.session.get(CaseUpdate, update_id), admin_user())
    while not news_rows(app, update_id):  # passes until a range with writers of the case
        with app.app_context():
            assert news.queue_requested(seconds=0, **QUIET) == 1  # bounded: a batch a pass
    with app.app_context():
        update = db.session.get(CaseUpdate, update_id)
        assert news.progress(update)["preparing"]
        through = update.recipients[news.PREPARING]
    # A writer of a queued range writes again, with the address spelt otherwise, between
    # two batches: their newer letter must not bring them the update a second time.
    with app.app_context():
        first = db.session.scalar(
            sa.select(Letter).where(Letter.case_id == case_id, Letter.id <= through).limit(1)
        )
        assert first.email in {row.recipient for row in news_rows(app, update_id)}
        LetterFactory(
            case_id=case_id, email=first.email.upper(), email_key=first.email_key, counted=False
        )
    prepare(app)  # a worker started again goes on from where it was
    rows = news_rows(app, update_id)
    assert len(rows) == 25
    assert len({row.recipient.lower() for row in rows}) == 25
    with app.app_context():
        update = db.session.get(CaseUpdate, update_id)
        assert sum(update.recipients.values()) == 25 and not news.progress(update)["preparing"]
        # The same ranges again (a worker killed before it could commit): nothing added.
        update.recipients = {news.PREPARING: 0}
        db.session.commit()
    prepare(app)
    assert len(news_rows(app, update_id)) == 25


def sent_in_part(app, case_id, admin, writers, sent):
    """An update sent by an admin to `writers` writers, of which the worker sent `sent`."""
    update_id = make_update(app, case_id)
    with app.app_context():
        insert_letters(writers, case_id=case_id)
    send(admin, case_id, update_id)
    prepare(app)
    with app.app_context():
        assert outbox.send_due(limit=sent) == (sent, 0)
    return case_id, update_id


def test_staff_stop_a_send_and_the_worker_sends_no_more(mail_app, smtp, cases, admin, moderator):
    case_id, update_id = sent_in_part(mail_app, cases[CASE], admin, writers=20, sent=5)
    with mail_app.app_context():
        held = outbox.claims.claim_due(limit=3)  # a worker has three in hand
    page = page_of(admin, case_id, update_id)
    assert "Stop sending" in page
    stop = base(update_id, case_id) + "/stop"
    mod_token = hidden_value(moderator.get("/admin/queue").text, "csrf_token")
    refused = moderator.post(stop, data={"csrf_token": mod_token}, headers=SAME_ORIGIN)
    assert refused.status_code == 403
    assert admin.post(stop, headers=SAME_ORIGIN).status_code == 400  # no CSRF token
    response = post(admin, case_id, update_id, stop)
    assert response.status_code == 303
    assert "15 emails will not be sent" in admin.get(response.headers["Location"]).text

    with mail_app.app_context():
        assert outbox.send_claimed(held) == (0, 0)  # the worker drops what it held
    assert deliver(mail_app) == (0, 0)
    assert len(smtp.messages) == 5
    with mail_app.app_context():
        figures = news.progress(db.session.get(CaseUpdate, update_id))
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "case_update.email_stop")
        )
    assert figures["total"] == {"queued": 20, "sent": 5, "failed": 0, "skipped": 15, "pending": 0}
    assert figures["done"] and figures["stopped"]
    assert event.target_id == update_id and event.details["stopped"] == 15
    page = page_of(admin, case_id, update_id)
    assert "Stopped." in page and "Stop sending" not in page
    again = post(admin, case_id, update_id, stop)
    assert "Nothing was left to stop" in admin.get(again.headers["Location"]).text


def test_a_send_stopped_while_it_is_being_prepared_queues_no_more(app, cases, admin, monkeypatch):
    monkeypatch.setattr(news, "BATCH_LETTERS", 10)
    case_id = cases[CASE]
    update_id = make_update(app, case_id)
    with app.app_context():
        insert_letters(30, case_id=case_id)
    send(admin, case_id, update_id)
    while not news_rows(app, update_id):  # until the first batch with writers of the case
        with app.app_context():
            assert news.queue_requested(seconds=0, **QUIET) == 1
    assert "Preparing the emails…" in page_of(admin, case_id, update_id)
    post(admin, case_id, update_id, base(update_id, case_id) + "/stop")
    prepare(app)
    rows = news_rows(app, update_id)
    assert 0 < len(rows) < 30 and {row.state for row in rows} == {"stopped"}
    with app.app_context():
        figures = news.progress(db.session.get(CaseUpdate, update_id))
    assert figures["done"] and not figures["preparing"]
    assert figures["total"]["skipped"] == figures["total"]["queued"] == len(rows)


def test_unpublishing_an_update_stops_its_email(mail_app, smtp, cases, admin):
    case_id, update_id = sent_in_part(mail_app, cases[CASE], admin, writers=10, sent=4)
    unpublish = f"/admin/cases/{case_id}/updates/{update_id}/unpublish"
    assert post(admin, case_id, update_id, unpublish).status_code == 303
    post(admin, case_id, update_id, f"/admin/cases/{case_id}/updates/{update_id}/publish")
    assert deliver(mail_app) == (0, 0)  # published again: the stopped emails stay stopped
    assert len(smtp.messages) == 4
    with mail_app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "case_update.unpublish")
        )
    assert event.details["emails_stopped"] == 6


def test_a_draft_with_test_sends_can_be_deleted(mail_app, smtp, cases, admin):
    case_id = cases[CASE]
    update_id = make_update(mail_app, case_id, published=False)
    path = base(update_id, case_id) + "/test"
    post(admin, case_id, update_id, path, language="en")
    deliver(mail_app)  # one test sent
    post(admin, case_id, update_id, path, language="es")  # one still waiting
    response = post(admin, case_id, update_id, f"/admin/cases/{case_id}/updates/{update_id}/delete")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/cases/{case_id}/updates")
    with mail_app.app_context():
        assert db.session.get(CaseUpdate, update_id) is None
    assert news_rows(mail_app, update_id) == []
    assert deliver(mail_app) == (0, 0)
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("state", "figure"),
    [("suppressed", "skipped"), ("capped", "skipped"), ("stopped", "skipped"), ("dead", "failed")],
)
def test_progress_counts_each_unsent_state(app, cases, state, figure):
    case_id = cases[CASE]
    update_id = make_update(app, case_id)
    with app.app_context():
        insert_letters(3, case_id=case_id)
        news.queue_update(db.session.get(CaseUpdate, update_id), admin_user())
    prepare(app)
    with app.app_context():
        row = db.session.scalar(sa.select(Outbox).where(Outbox.case_update_id == update_id))
        row.state = state
        if state == "suppressed":  # an erased address's row (supporters/erase.py)
            row.recipient = f"erased:{row.letter_id}"
        db.session.execute(
            sa.update(Outbox)
            .where(Outbox.case_update_id == update_id, Outbox.id != row.id)
            .values(state="sent")
        )
        db.session.commit()
        total = news.progress(db.session.get(CaseUpdate, update_id))["total"]
    expected = {"queued": 3, "sent": 2, "failed": 0, "skipped": 0, "pending": 0}
    assert total == expected | {figure: 1}
