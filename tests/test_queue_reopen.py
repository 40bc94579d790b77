"""Re-opening a decided message and changing a rejection's reason, from the Rejected (and
Approved) lists: audited, refused for delivered letters and letters another moderator
holds, and only for signed-in staff with the form's token."""

from datetime import date

from factories import SolidarityFactory, sent_batch
from helpers import csrf_from
from queue_pages import (
    HTMX,
    QUEUE,
    csrf_token,
    decide,
    events,
    letter_row,
    page,
    reason_id,
    shown_ids,
    staff_id,
)

from extensions import db
from models import DeliveryBatch, Letter

REOPEN = "/admin/queue/reopen"
REASON = "/admin/queue/reason"
REJECTED = QUEUE + "?state=rejected"


def rejected_letter(app, gustavo, client, body="Mensaje"):
    """A solidarity message `client`'s moderator rejected as abuse."""
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo, body=body).id
    decide(client, [letter], "reject", reason=reason_id(app))
    return letter


def post(client, url, letters, htmx=False, **fields):
    data = {"csrf_token": csrf_token(client), "letter": [str(n) for n in letters], **fields}
    return client.post(url, data=data, headers=HTMX if htmx else {})


def deliver(app, letter_id, sent_on=date(2026, 12, 1)):
    """Put the letter in a sent solidarity batch."""
    with app.app_context():
        sent_batch(letter_id, kind="solidarity", sent_on=sent_on)


def item_html(html, letter_id):
    return html.split(f'id="letter-{letter_id}"')[1].split("</li>")[0]


# Re-open


def test_a_rejected_message_is_reopened_held_by_the_moderator_and_audited(app, moderator, gustavo):
    letter = rejected_letter(app, gustavo, moderator)
    html = page(moderator, REJECTED)
    item = item_html(html, letter)
    assert 'action="/admin/queue/reopen"' in item and 'action="/admin/queue/reason"' in item
    assert 'value="reject"' not in item  # rejected already: the chooser changes the reason

    response = post(moderator, REOPEN, [letter], next=REJECTED)
    assert response.status_code == 303
    assert response.headers["Location"] == REJECTED
    stored = letter_row(app, letter)
    assert (stored.moderation, stored.reject_reason) == ("pending", "")
    assert stored.moderated_by_id is None and stored.moderated_at is None
    assert stored.claimed_by_id == staff_id(app, "mod@example.org")
    (event,) = events(app, "letter.reopen")
    assert (event.actor_email, event.target_id) == ("mod@example.org", letter)
    assert event.details["previous"]["moderation"] == "rejected"
    assert event.details["previous"]["reject_reason"] == "Abuse, insults or threats"

    html = page(moderator, REJECTED)
    assert "Re-opened 1 message" in html
    assert shown_ids(html) == []
    assert shown_ids(page(moderator)) == [letter]  # back in the pending queue, held


def test_reopening_with_htmx_shows_the_message_open_to_decide_again(app, moderator, gustavo):
    letter = rejected_letter(app, gustavo, moderator)
    response = post(moderator, REOPEN, [letter], htmx=True, next=REJECTED)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Re-opened 1 message" in html
    item = item_html(html, letter)
    assert 'data-hx-swap-oob="true"' in html and "data-open" in html
    assert "Pending" in item and "data-approve" in item and 'value="reject"' in item
    assert 'action="/admin/queue/reopen"' not in item
    assert 'name="event"' not in html  # re-opening is itself the way back: no Undo


def test_an_approved_message_can_be_reopened_too(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo, moderation="approved").id
    assert 'action="/admin/queue/reopen"' in item_html(
        page(moderator, QUEUE + "?state=approved"), letter
    )
    post(moderator, REOPEN, [letter])
    assert letter_row(app, letter).moderation == "pending"
    (event,) = events(app, "letter.reopen")
    assert event.details["previous"]["moderation"] == "approved"


def test_a_pending_message_is_not_reopened(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
    response = post(moderator, REOPEN, [letter], htmx=True)
    assert response.status_code == 409
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert events(app, "letter.reopen") == []
    response = post(moderator, REOPEN, [], htmx=True)
    assert response.status_code == 422
    assert "Select at least one message first" in response.get_data(as_text=True)


# Change of reason


def test_the_reason_is_changed_and_the_previous_one_kept_in_the_audit(app, moderator, gustavo):
    letter = rejected_letter(app, gustavo, moderator)
    spam = reason_id(app, "Spam")
    response = post(moderator, REASON, [letter], htmx=True, reason=str(spam), next=REJECTED)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Reason changed for 1 message: Spam or advertising." in html
    assert "Rejected: Spam or advertising" in item_html(html, letter)
    stored = letter_row(app, letter)
    assert (stored.moderation, stored.reject_reason) == ("rejected", "Spam or advertising")
    assert stored.moderated_by_id == staff_id(app, "mod@example.org")
    (event,) = events(app, "letter.reason")
    assert event.reason == "Spam or advertising"
    assert event.details["previous_reason"] == "Abuse, insults or threats"
    assert event.created_at == stored.moderated_at


def test_a_change_of_reason_needs_a_reason_and_a_rejected_message(app, moderator, gustavo):
    letter = rejected_letter(app, gustavo, moderator)
    response = post(moderator, REASON, [letter], htmx=True)
    assert response.status_code == 422
    assert "Choose a reason to reject." in response.get_data(as_text=True)
    with app.app_context():
        approved = SolidarityFactory(case_id=gustavo, moderation="approved").id
    response = post(moderator, REASON, [approved], reason=str(reason_id(app, "Spam")))
    assert response.status_code == 303
    assert letter_row(app, approved).reject_reason == ""
    assert letter_row(app, letter).reject_reason == "Abuse, insults or threats"
    assert events(app, "letter.reason") == []


# Refusals


def test_a_delivered_message_is_neither_reopened_nor_given_another_reason(app, moderator, gustavo):
    letter = rejected_letter(app, gustavo, moderator)
    deliver(app, letter)
    response = post(moderator, REOPEN, [letter], htmx=True, next=REJECTED)
    assert response.status_code == 409
    assert "1 message was not changed: it was already delivered." in response.get_data(as_text=True)
    response = post(moderator, REASON, [letter], reason=str(reason_id(app, "Spam")))
    assert response.status_code == 303
    assert "it was already delivered" in page(moderator, REJECTED)
    stored = letter_row(app, letter)
    assert (stored.moderation, stored.reject_reason) == ("rejected", "Abuse, insults or threats")
    assert events(app, "letter.reopen") == [] and events(app, "letter.reason") == []


def test_a_prepared_batch_does_not_lock_the_decision(app, moderator, gustavo):
    letter = rejected_letter(app, gustavo, moderator)
    with app.app_context():
        batch = DeliveryBatch(case_id=gustavo, kind="solidarity", state="prepared", letters=1)
        db.session.add(batch)
        db.session.flush()
        db.session.get(Letter, letter).delivery_batch_id = batch.id
        db.session.commit()
    post(moderator, REOPEN, [letter])
    assert letter_row(app, letter).moderation == "pending"


def test_a_message_another_moderator_holds_is_left_alone(app, moderator, second_moderator, gustavo):
    # The deciding moderator holds the letter for QUEUE_CLAIM_MINUTES after deciding.
    letter = rejected_letter(app, gustavo, moderator)
    for url, fields in ((REOPEN, {}), (REASON, {"reason": str(reason_id(app, "Spam"))})):
        response = post(second_moderator, url, [letter], htmx=True, next=REJECTED, **fields)
        assert response.status_code == 409
        html = response.get_data(as_text=True)
        assert "another moderator is reviewing it" in html
        assert "Not changed: another moderator is reviewing this message." in html
    stored = letter_row(app, letter)
    assert (stored.moderation, stored.reject_reason) == ("rejected", "Abuse, insults or threats")
    assert events(app, "letter.reopen") == [] and events(app, "letter.reason") == []


def test_in_a_bulk_change_the_free_letters_change_and_the_others_are_reported(
    app, moderator, second_moderator, gustavo
):
    held = rejected_letter(app, gustavo, moderator, body="Uno")
    delivered = rejected_letter(app, gustavo, second_moderator, body="Dos")
    deliver(app, delivered)
    free = rejected_letter(app, gustavo, second_moderator, body="Tres")
    response = post(second_moderator, REOPEN, [held, delivered, free], htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Re-opened 1 message" in html
    assert "1 message was not changed: another moderator is reviewing it." in html
    assert "1 message was not changed: it was already delivered." in html
    assert [letter_row(app, n).moderation for n in (held, delivered, free)] == [
        "rejected",
        "rejected",
        "pending",
    ]


def test_admins_reopen_too_and_signed_out_visitors_cannot(app, admin, client, gustavo):
    letter = rejected_letter(app, gustavo, admin)
    token = csrf_from(client)  # the sign-in page's: a valid token, but nobody signed in
    for url in (REOPEN, REASON):
        data = {"csrf_token": token, "letter": str(letter), "reason": "1"}
        response = client.post(url, data=data)
        assert response.status_code == 302
        assert "/admin/sign-in" in response.headers["Location"]
        assert client.post(url, data=data, headers=HTMX).status_code == 401
    assert letter_row(app, letter).moderation == "rejected"
    post(admin, REOPEN, [letter])
    assert letter_row(app, letter).moderation == "pending"
    (event,) = events(app, "letter.reopen")
    assert event.actor_email == "admin@example.org"


def test_without_the_csrf_token_nothing_changes(app, moderator, gustavo):
    letter = rejected_letter(app, gustavo, moderator)
    spam = str(reason_id(app, "Spam"))
    for url in (REOPEN, REASON):
        for headers in ({}, HTMX):
            response = moderator.post(
                url, data={"letter": str(letter), "reason": spam}, headers=headers
            )
            assert response.status_code == 400
            assert "This form had expired" in response.get_data(as_text=True)
    stored = letter_row(app, letter)
    assert (stored.moderation, stored.reject_reason) == ("rejected", "Abuse, insults or threats")
    assert events(app, "letter.reopen") == [] and events(app, "letter.reason") == []


def test_the_reason_chooser_numbers_its_reasons_for_the_keyboard(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
    item = item_html(page(moderator), letter)
    assert 'aria-keyshortcuts="1"' in item and 'aria-keyshortcuts="2"' in item
    assert '<kbd aria-hidden="true" data-reason-key>1</kbd>' in item
    assert "Keys: 1–9 choose a reason, Enter confirms, Escape cancels." in item
    assert f'aria-describedby="letter-{letter}-reason-keys"' in item


def test_a_copy_rejected_on_arrival_is_reopened_from_decided_automatically(app, moderator, gustavo):
    with app.app_context():
        automatic = SolidarityFactory(
            case_id=gustavo, moderation="rejected", reject_reason="Spam or advertising"
        ).id
        letter = db.session.get(Letter, automatic)
        letter.moderated_at = letter.created_at  # decided on arrival: nobody's decision
        db.session.commit()
    listed = QUEUE + "?state=rejected&auto=1"
    html = page(moderator, listed)
    assert shown_ids(html) == [automatic]
    assert 'action="/admin/queue/reopen"' in item_html(html, automatic)
    response = post(moderator, REOPEN, [automatic], htmx=True, next=listed)
    assert "Re-opened 1 message" in response.get_data(as_text=True)
    assert letter_row(app, automatic).moderation == "pending"
    (event,) = events(app, "letter.reopen")
    assert event.details["previous"]["moderated_by_id"] is None
