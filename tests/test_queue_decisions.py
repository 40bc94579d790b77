"""A moderator's decisions in the queue: approve and reject, one or many, each audited,
and undone within a few seconds."""

import re
from datetime import timedelta

import sqlalchemy as sa
from factories import RejectReasonFactory, SolidarityFactory
from queue_pages import (
    DECIDE,
    HTMX,
    QUEUE,
    UNDO,
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
from models import Letter, utcnow
from moderation import decisions

# Decisions


def test_approving_without_javascript_returns_to_the_same_filters(app, moderator, gustavo):
    with app.app_context():
        first = SolidarityFactory(case_id=gustavo, body="Fuerza.").id
        second = SolidarityFactory(case_id=gustavo, body="Ánimo.").id
    back = f"{QUEUE}?case={gustavo}&kind=solidarity"
    page(moderator, back)
    response = decide(moderator, [first], "approve", next=back)
    assert response.status_code == 303
    assert response.headers["Location"] == back
    assert letter_row(app, first).moderation == "approved"
    html = page(moderator, back)
    assert shown_ids(html) == [second]
    assert "Approved 1 message." in html
    assert 'action="/admin/queue/undo"' in html
    # The toast is shown once.
    assert "Approved 1 message." not in page(moderator, back)


def test_the_way_back_never_leaves_the_queue(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
    for elsewhere in ("https://evil.example/", "//evil.example/admin/queue", "/admin/settings"):
        response = decide(moderator, [letter], "approve", next=elsewhere)
        assert response.headers["Location"] == QUEUE


def test_approving_with_htmx_swaps_the_item_and_shows_undo(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo, body="Fuerza.").id
    response = decide(moderator, [letter], "approve", htmx=True, next=QUEUE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Approved 1 message." in html
    assert f'id="letter-{letter}"' in html and 'data-hx-swap-oob="true"' in html
    assert "queue-item--done" in html and "Approved" in html
    assert 'name="event"' in html and 'data-undo-seconds="10"' in html
    assert "Vary" in response.headers


def test_rejecting_needs_a_reason_from_the_catalogue(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo, body="You idiot.").id
    response = decide(moderator, [letter], "reject", htmx=True)
    assert response.status_code == 422
    assert "Choose a reason to reject." in response.get_data(as_text=True)
    with app.app_context():
        retired_id = RejectReasonFactory(text="Retired reason", active=False).id
    assert decide(moderator, [letter], "reject", htmx=True, reason=retired_id).status_code == 422
    assert letter_row(app, letter).moderation == "pending"
    assert events(app, "letter.reject") == []
    assert "Retired reason" not in page(moderator)

    abuse = reason_id(app)
    response = decide(moderator, [letter], "reject", reason=abuse, note="insult in line 1")
    assert response.status_code == 303
    stored = letter_row(app, letter)
    assert stored.moderation == "rejected"
    assert stored.reject_reason == "Abuse, insults or threats"
    assert "Rejected 1 message: Abuse, insults or threats." in page(moderator)


def test_the_reason_chooser_lists_active_reasons_in_catalogue_order(app, moderator, gustavo):
    with app.app_context():
        SolidarityFactory(case_id=gustavo)
    with app.app_context():
        RejectReasonFactory(text="First of all", sort_order=-1)
    html = page(moderator)
    chooser = html[html.index("Why reject message") :]
    texts = re.findall(r'<label for="letter-\d+-reason-\d+">([^<]+)</label>', chooser)
    assert texts[0] == "First of all"
    assert texts[1].startswith("Abuse, insults or threats")
    assert texts[-1] == "Unreadable or empty"


def test_every_decision_is_audited_with_who_what_and_why(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo, body="Stupid message.").id
    decide(moderator, [letter], "reject", reason=reason_id(app), note="rude")
    (event,) = events(app, "letter.reject")
    assert event.actor_email == "mod@example.org"
    assert event.actor_id == staff_id(app, "mod@example.org")
    assert (event.target_type, event.target_id) == ("letters", letter)
    assert event.reason == "Abuse, insults or threats"
    assert event.details["note"] == "rude"
    assert event.details["previous"]["moderation"] == "pending"
    assert event.created_at == letter_row(app, letter).moderated_at
    decide(moderator, [letter], "approve")
    (approval,) = events(app, "letter.approve")
    assert approval.details["previous"]["moderation"] == "rejected"


def test_appeals_can_be_rejected_before_delivery(app, moderator, gustavo):
    import delivery

    with app.app_context():
        appeal = SolidarityFactory(case_id=gustavo, body="Please free him.", kind="appeal").id
        # Flags marked this one: it is held until a moderator has looked at it.
        flagged = SolidarityFactory(
            case_id=gustavo, body="You will pay, we know where you live.", kind="appeal"
        ).id
    with app.app_context():
        deliverable = sa.select(Letter.id).where(delivery.deliverable_appeals())
        assert db.session.scalars(deliverable).all() == [appeal]
    decide(moderator, [appeal, flagged], "reject", reason=reason_id(app))
    with app.app_context():
        assert db.session.scalars(deliverable).all() == []


def test_bulk_decisions_change_every_selected_letter(app, moderator, gustavo):
    with app.app_context():
        letters = [SolidarityFactory(case_id=gustavo, body=f"Message {n}").id for n in range(4)]
    page(moderator)
    response = decide(moderator, letters[:2], "approve", htmx=True)
    assert "Approved 2 messages." in response.get_data(as_text=True)
    response = decide(moderator, letters[2:], "reject", htmx=True, reason=reason_id(app, "Spam"))
    html = response.get_data(as_text=True)
    assert "Rejected 2 messages: Spam or advertising." in html
    assert html.count('data-hx-swap-oob="true"') == 2
    states = [letter_row(app, n).moderation for n in letters]
    assert states == ["approved", "approved", "rejected", "rejected"]
    assert len(events(app, "letter.approve")) == 2 and len(events(app, "letter.reject")) == 2
    assert shown_ids(page(moderator)) == []


def test_a_bulk_decision_with_nothing_selected_says_so(app, moderator, gustavo):
    with app.app_context():
        SolidarityFactory(case_id=gustavo)
    response = decide(moderator, [], "approve", htmx=True)
    assert response.status_code == 422
    assert "Select at least one message first" in response.get_data(as_text=True)


def test_a_decision_without_the_csrf_token_is_refused(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
    page(moderator)
    for headers in ({}, HTMX):
        response = moderator.post(
            DECIDE, data={"letter": str(letter), "decision": "approve"}, headers=headers
        )
        assert response.status_code == 400
        assert "This form had expired" in response.get_data(as_text=True)
    response = moderator.post(UNDO, data={"event": "1"})
    assert response.status_code == 400
    assert letter_row(app, letter).moderation == "pending"
    assert events(app, "letter.approve") == []


# Undo


def test_undo_puts_the_letters_back_and_is_audited(app, moderator, gustavo):
    with app.app_context():
        letters = [SolidarityFactory(case_id=gustavo, body=f"Message {n}").id for n in range(2)]
    page(moderator)
    response = decide(moderator, letters, "reject", htmx=True, reason=reason_id(app))
    event_ids = re.findall(r'name="event" value="(\d+)"', response.get_data(as_text=True))
    assert len(event_ids) == 2
    response = moderator.post(
        UNDO, data={"csrf_token": csrf_token(moderator), "event": event_ids}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Undone: 2 messages are back in the queue." in html
    assert html.count('data-open tabindex="-1"') == 2  # swapped back in as open items
    for letter in letters:
        stored = letter_row(app, letter)
        assert (stored.moderation, stored.reject_reason) == ("pending", "")
        assert stored.moderated_by_id is None and stored.moderated_at is None
    undos = events(app, "letter.undo")
    assert sorted(event.target_id for event in undos) == letters
    assert {event.details["undoes"] for event in undos} == {int(n) for n in event_ids}
    assert shown_ids(page(moderator)) == letters

    again = moderator.post(UNDO, data={"csrf_token": csrf_token(moderator), "event": event_ids})
    assert again.status_code == 303
    assert "Nothing to undo" in page(moderator)


def test_undo_restores_an_earlier_decision_too(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
    decide(moderator, [letter], "reject", reason=reason_id(app))
    before = letter_row(app, letter)
    response = decide(moderator, [letter], "approve", htmx=True)
    (event_id,) = re.findall(r'name="event" value="(\d+)"', response.get_data(as_text=True))
    moderator.post(UNDO, data={"csrf_token": csrf_token(moderator), "event": event_id})
    after = letter_row(app, letter)
    assert (after.moderation, after.reject_reason, after.moderated_at) == (
        "rejected",
        before.reject_reason,
        before.moderated_at,
    )


def test_undo_is_refused_after_the_window(app, moderator, gustavo, monkeypatch):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
    response = decide(moderator, [letter], "approve", htmx=True)
    (event_id,) = re.findall(r'name="event" value="(\d+)"', response.get_data(as_text=True))
    later = utcnow() + timedelta(seconds=app.config["QUEUE_UNDO_SECONDS"] + 5)
    monkeypatch.setattr(decisions, "utcnow", lambda: later)
    response = moderator.post(
        UNDO, data={"csrf_token": csrf_token(moderator), "event": event_id}, headers=HTMX
    )
    assert response.status_code == 409
    assert "Too late to undo" in response.get_data(as_text=True)
    assert letter_row(app, letter).moderation == "approved"
    assert events(app, "letter.undo") == []


def test_the_undo_button_is_gone_after_the_window_without_javascript(
    app, moderator, gustavo, monkeypatch
):
    import blueprints.admin.queue as views

    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
    decide(moderator, [letter], "approve")
    now = views.time.time()
    monkeypatch.setattr(views.time, "time", lambda: now + 60)
    html = page(moderator)
    assert "Approved 1 message." in html
    assert 'action="/admin/queue/undo"' not in html


def test_nobody_undoes_another_moderators_decision(app, moderator, second_moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
    response = decide(moderator, [letter], "approve", htmx=True)
    (event_id,) = re.findall(r'name="event" value="(\d+)"', response.get_data(as_text=True))
    response = second_moderator.post(
        UNDO, data={"csrf_token": csrf_token(second_moderator), "event": event_id}, headers=HTMX
    )
    assert response.status_code == 409
    assert letter_row(app, letter).moderation == "approved"


def test_decided_letters_can_be_changed_from_their_list(app, moderator, gustavo):
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo, moderation="approved").id
    html = page(moderator, QUEUE + "?state=approved")
    assert shown_ids(html) == [letter]
    item = html.split(f'id="letter-{letter}"')[1].split("</li>")[0]
    assert "data-approve" not in item and "data-reject" in item
    response = decide(
        moderator,
        [letter],
        "reject",
        htmx=True,
        reason=reason_id(app),
        next=QUEUE + "?state=approved",
    )
    html = response.get_data(as_text=True)
    assert "queue-item--done" in html and "Rejected" in html
    assert letter_row(app, letter).moderation == "rejected"
