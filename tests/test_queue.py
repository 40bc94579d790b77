"""The moderation queue as moderators use it: what they see, what their decisions do, and
that two of them never review the same message."""

import re
import threading
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa
from helpers import add_staff, csrf_from, sign_in

from extensions import db
from models import AuditEvent, Letter, RejectReason, StaffUser, utcnow
from moderation import decisions, flags, queue

QUEUE = "/admin/queue"
DECIDE = "/admin/queue/decisions"
UNDO = "/admin/queue/undo"
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
WRITER_EMAIL = "writer.private@example.org"


def add_letter(app, case_id, body="Stay strong, we are with you.", **fields):
    """A letter stored as the submission would store it, confirmed unless told otherwise."""
    found = flags.text_flags(body, fields.get("language", "en"))
    values = {
        "kind": "solidarity",
        "name": "Ana",
        "email": WRITER_EMAIL,
        "email_key": WRITER_EMAIL,
        "country": "CL",
        "language": "es",
        "status": "confirmed",
        "flags": ",".join(found),
        "flagged": bool(found),
        "fingerprint": flags.fingerprint(body),
        "confirmed_at": utcnow(),
        **fields,
    }
    if "flags" in fields and "flagged" not in fields:
        values["flagged"] = bool(fields["flags"])
    with app.app_context():
        letter = Letter(case_id=case_id, body=body, **values)
        db.session.add(letter)
        db.session.commit()
        return letter.id


def letter_row(app, letter_id):
    with app.app_context():
        letter = db.session.get(Letter, letter_id)
        db.session.expunge(letter)
        return letter


def events(app, action=None):
    with app.app_context():
        query = sa.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def shown_ids(html):
    """The letters a page lists open for a decision, in order."""
    return [int(n) for n in re.findall(r'data-letter="(\d+)" data-open', html)]


def page(client, path=QUEUE):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def reason_id(app, text_start="Abuse"):
    with app.app_context():
        return db.session.scalar(
            sa.select(RejectReason.id).where(RejectReason.text.startswith(text_start))
        )


def decide(client, letter_ids, decision, htmx=False, **fields):
    data = {
        "csrf_token": csrf_token(client),
        "letter": [str(i) for i in letter_ids],
        "decision": decision,
        **fields,
    }
    return client.post(DECIDE, data=data, headers=HTMX if htmx else {})


def csrf_token(client):
    """The token of a staff page that claims nothing (the approved list)."""
    return csrf_from(client, QUEUE + "?state=approved")


@pytest.fixture
def gustavo(cases):
    return cases["gustavo-gatica"]


@pytest.fixture
def second_moderator(app):
    add_staff(app, "mod2@example.org", "moderator")
    client = app.test_client()
    assert sign_in(client, "mod2@example.org").status_code == 303
    return client


def staff_id(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email))


# What a moderator sees


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert "/admin/sign-in" in response.headers["Location"]


def test_pending_lists_confirmed_letters_flagged_first_then_oldest(app, moderator, gustavo):
    older = add_letter(app, gustavo, "Fuerza, Gustavo.")
    unconfirmed = add_letter(app, gustavo, "Not confirmed yet.", status="unconfirmed")
    approved = add_letter(app, gustavo, "Already approved.", moderation="approved")
    newer = add_letter(app, gustavo, "Todo mi apoyo.")
    flagged = add_letter(app, gustavo, "Write to me at someone@example.net please.")
    html = page(moderator)
    assert shown_ids(html) == [flagged, older, newer]
    assert unconfirmed not in shown_ids(html) and approved not in shown_ids(html)
    assert "Not confirmed yet." not in html and "Already approved." not in html


def test_an_item_shows_what_a_moderator_needs_and_never_the_email(app, moderator, gustavo):
    body = "Eres muy valiente.\nVisit www.example.com"
    for _copy in range(6):  # the later copies carry "repeated"
        add_letter(
            app, gustavo, body, flags="link,repeated", city="Valparaíso", email="a@example.org"
        )
    add_letter(app, gustavo, "Hola", email="other.writer@example.org")
    html = page(moderator)
    assert "Eres muy valiente.\nVisit www.example.com" in unescape(html)
    assert 'dir="auto" lang="es"' in html
    assert "Gustavo Gatica" in html and "Chile" in html
    assert "Español (es)" in html
    assert "Contains a link" in html and "Same text sent many times" in html
    assert "Ana, Valparaíso" in unescape(html)
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", html)
    for address in ("a@example.org", WRITER_EMAIL, "other.writer@example.org"):
        assert address not in html


def test_messages_are_shown_as_text_never_as_markup(app, moderator, gustavo):
    attacks = [
        "<script>alert('queue')</script>",
        '<img src=x onerror="alert(1)">',
        "</blockquote><a href='javascript:alert(1)'>click</a>",
    ]
    for attack in attacks:
        add_letter(app, gustavo, attack, name="<b onmouseover=alert(2)>Eve</b>", city="<i>x</i>")
    html = page(moderator)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<a href='javascript" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&#39;queue&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_filters_by_case_kind_language_flag_and_state(app, moderator, cases):
    gustavo, nassima = cases["gustavo-gatica"], cases["nassima-al-sada"]
    solidarity = add_letter(app, gustavo, "Fuerza.")
    appeal = add_letter(app, gustavo, "Please release him.", kind="appeal", language="en")
    arabic = add_letter(app, nassima, "نحن معك", language="ar")
    phone = add_letter(app, nassima, "Call me on +44 20 7946 0958", language="en")
    shouting = add_letter(app, nassima, "STAY STRONG WE ARE ALL WITH YOU EVERY DAY", language="en")
    approved = add_letter(app, gustavo, "Approved one.", moderation="approved")
    rejected = add_letter(app, gustavo, "Rejected one.", moderation="rejected")

    def ids(query):
        return shown_ids(page(moderator, f"{QUEUE}?{query}"))

    assert ids(f"case={gustavo}") == [solidarity, appeal]
    assert ids(f"case={nassima}") == [phone, shouting, arabic]
    assert ids("kind=appeal") == [appeal]
    assert ids("language=ar") == [arabic]
    assert ids("flag=phone") == [phone]
    assert ids("flag=any") == [phone, shouting]
    assert ids("flag=shouting&language=en") == [shouting]
    assert ids("state=approved") == [approved]
    assert ids("state=rejected") == [rejected]
    assert ids("state=nonsense") == ids("")  # an unknown value means the default view


def test_search_is_case_insensitive_and_takes_wildcards_literally(app, moderator, gustavo):
    brave = add_letter(app, gustavo, "You are BRAVE, Gustavo.")
    percent = add_letter(app, gustavo, "100% with you.")
    add_letter(app, gustavo, "Stay strong.")
    assert shown_ids(page(moderator, QUEUE + "?q=brave")) == [brave]
    assert shown_ids(page(moderator, QUEUE + "?q=100%25")) == [percent]
    assert shown_ids(page(moderator, QUEUE + "?q=%25")) == [percent]
    assert shown_ids(page(moderator, QUEUE + "?q=_")) == []
    assert "No messages match these filters." in page(moderator, QUEUE + "?q=_")
    assert 'value="brave"' in page(moderator, QUEUE + "?q=brave")


def test_pages_follow_a_keyset_cursor_without_gaps_or_repeats(make_app, cases):
    app = make_app(QUEUE_PAGE_SIZE=3)
    gustavo = cases["gustavo-gatica"]
    plain = [add_letter(app, gustavo, f"Message {n}") for n in range(5)]
    flagged = [add_letter(app, gustavo, f"Link {n}: www.example.com") for n in range(4)]
    add_staff(app, "pager@example.org")
    client = app.test_client()
    sign_in(client, "pager@example.org")
    seen, path, pages = [], QUEUE + "?kind=solidarity", 0
    while path:
        html = page(client, path)
        seen += shown_ids(html)
        pages += 1
        found = re.search(r'rel="next" href="([^"]+)"', html)
        path = unescape(found.group(1)) if found else None
        if path:
            assert "kind=solidarity" in path and "after=" in path
    assert seen == flagged + plain
    assert pages == 3


# Decisions


def test_approving_without_javascript_returns_to_the_same_filters(app, moderator, gustavo):
    first = add_letter(app, gustavo, "Fuerza.")
    second = add_letter(app, gustavo, "Ánimo.")
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
    letter = add_letter(app, gustavo)
    for elsewhere in ("https://evil.example/", "//evil.example/admin/queue", "/admin/settings"):
        response = decide(moderator, [letter], "approve", next=elsewhere)
        assert response.headers["Location"] == QUEUE


def test_approving_with_htmx_swaps_the_item_and_shows_undo(app, moderator, gustavo):
    letter = add_letter(app, gustavo, "Fuerza.")
    response = decide(moderator, [letter], "approve", htmx=True, next=QUEUE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Approved 1 message." in html
    assert f'id="letter-{letter}"' in html and 'data-hx-swap-oob="true"' in html
    assert "queue-item--done" in html and "Approved" in html
    assert 'name="event"' in html and 'data-undo-seconds="10"' in html
    assert "Vary" in response.headers


def test_rejecting_needs_a_reason_from_the_catalogue(app, moderator, gustavo):
    letter = add_letter(app, gustavo, "You idiot.")
    response = decide(moderator, [letter], "reject", htmx=True)
    assert response.status_code == 422
    assert "Choose a reason to reject." in response.get_data(as_text=True)
    with app.app_context():
        retired = RejectReason(text="Retired reason", active=False, sort_order=99)
        db.session.add(retired)
        db.session.commit()
        retired_id = retired.id
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
    add_letter(app, gustavo)
    with app.app_context():
        db.session.add(RejectReason(text="First of all", sort_order=-1))
        db.session.commit()
    html = page(moderator)
    chooser = html[html.index("Why reject message") :]
    texts = re.findall(r'<label for="letter-\d+-reason-\d+">([^<]+)</label>', chooser)
    assert texts[0] == "First of all"
    assert texts[1].startswith("Abuse, insults or threats")
    assert texts[-1] == "Unreadable or empty"


def test_every_decision_is_audited_with_who_what_and_why(app, moderator, gustavo):
    letter = add_letter(app, gustavo, "Stupid message.")
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

    appeal = add_letter(app, gustavo, "You will pay, we know where you live.", kind="appeal")
    with app.app_context():
        deliverable = sa.select(Letter.id).where(delivery.deliverable_appeals())
        assert db.session.scalars(deliverable).all() == [appeal]
    decide(moderator, [appeal], "reject", reason=reason_id(app))
    with app.app_context():
        assert db.session.scalars(deliverable).all() == []


def test_bulk_decisions_change_every_selected_letter(app, moderator, gustavo):
    letters = [add_letter(app, gustavo, f"Message {n}") for n in range(4)]
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
    add_letter(app, gustavo)
    response = decide(moderator, [], "approve", htmx=True)
    assert response.status_code == 422
    assert "Select at least one message first" in response.get_data(as_text=True)


def test_a_decision_without_the_csrf_token_is_refused(app, moderator, gustavo):
    letter = add_letter(app, gustavo)
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
    letters = [add_letter(app, gustavo, f"Message {n}") for n in range(2)]
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
    letter = add_letter(app, gustavo)
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
    letter = add_letter(app, gustavo)
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

    letter = add_letter(app, gustavo)
    decide(moderator, [letter], "approve")
    now = views.time.time()
    monkeypatch.setattr(views.time, "time", lambda: now + 60)
    html = page(moderator)
    assert "Approved 1 message." in html
    assert 'action="/admin/queue/undo"' not in html


def test_nobody_undoes_another_moderators_decision(app, moderator, second_moderator, gustavo):
    letter = add_letter(app, gustavo)
    response = decide(moderator, [letter], "approve", htmx=True)
    (event_id,) = re.findall(r'name="event" value="(\d+)"', response.get_data(as_text=True))
    response = second_moderator.post(
        UNDO, data={"csrf_token": csrf_token(second_moderator), "event": event_id}, headers=HTMX
    )
    assert response.status_code == 409
    assert letter_row(app, letter).moderation == "approved"


# Claims: two moderators never review the same letter


def test_two_moderators_never_see_the_same_pending_letters(make_app, cases):
    app = make_app(QUEUE_PAGE_SIZE=3)
    letters = [add_letter(app, cases["gustavo-gatica"], f"Message {n}") for n in range(7)]
    clients = []
    for email in ("one@example.org", "two@example.org", "three@example.org"):
        add_staff(app, email)
        clients.append(app.test_client())
        sign_in(clients[-1], email)
    one, two, three = (shown_ids(page(client)) for client in clients)
    assert one == letters[:3] and two == letters[3:6] and three == letters[6:]
    # Reloading keeps each moderator's own letters.
    assert shown_ids(page(clients[0])) == one
    with app.app_context():
        holders = db.session.execute(
            sa.select(Letter.id, StaffUser.email).join(
                StaffUser, Letter.claimed_by_id == StaffUser.id
            )
        ).all()
    assert dict(holders)[letters[0]] == "one@example.org"


def test_claims_run_out(make_app, cases, monkeypatch):
    app = make_app(QUEUE_PAGE_SIZE=2, QUEUE_CLAIM_MINUTES=5)
    letters = [add_letter(app, cases["gustavo-gatica"], f"Message {n}") for n in range(2)]
    for email in ("one@example.org", "two@example.org"):
        add_staff(app, email)
    one, two = app.test_client(), app.test_client()
    sign_in(one, "one@example.org")
    sign_in(two, "two@example.org")
    assert shown_ids(page(one)) == letters
    assert shown_ids(page(two)) == []
    assert "Nothing is waiting for you" in page(two)
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(queue, "utcnow", lambda: later)
    assert shown_ids(page(two)) == letters


def test_a_decision_on_another_moderators_letter_is_refused(
    app, moderator, second_moderator, gustavo
):
    letter = add_letter(app, gustavo)
    mine = add_letter(app, gustavo)
    page(moderator)  # claims both
    response = decide(second_moderator, [letter], "approve", htmx=True)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "another moderator is reviewing it" in html
    assert "Not changed: another moderator is reviewing this message." in html
    assert letter_row(app, letter).moderation == "pending"
    assert events(app, "letter.approve") == []
    # In a bulk decision the free letters are decided and the held ones reported.
    with app.app_context():
        db.session.execute(sa.update(Letter).where(Letter.id == mine).values(claimed_by_id=None))
        db.session.commit()
    response = decide(second_moderator, [letter, mine], "approve")
    assert response.status_code == 303
    assert letter_row(app, mine).moderation == "approved"
    assert letter_row(app, letter).moderation == "pending"
    assert "1 message was not changed" in page(second_moderator)


def test_moderators_claiming_at_the_same_moment_get_different_letters(make_app, cases):
    """Threads with their own connections load pages together (real races on PostgreSQL)."""
    app = make_app(QUEUE_PAGE_SIZE=5)
    letters = [add_letter(app, cases["gustavo-gatica"], f"Message {n}") for n in range(30)]
    ids = [add_staff(app, f"racer{n}@example.org") for n in range(6)]
    barrier = threading.Barrier(len(ids))
    results, errors = {}, []

    def load(staff_id):
        try:
            with app.app_context():
                staff = db.session.get(StaffUser, staff_id)
                barrier.wait()
                page = queue.queue_page(staff, queue.Filters(), 5)
                results[staff_id] = [row.id for row in page.items]
                db.session.remove()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=load, args=(staff_id,)) for staff_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    shown = [letter for page in results.values() for letter in page]
    assert len(shown) == len(set(shown)), "two moderators were shown the same letter"
    assert sorted(shown) == letters
    with app.app_context():
        holders = dict(db.session.execute(sa.select(Letter.id, Letter.claimed_by_id)).all())
    for staff_id, page_ids in results.items():
        assert all(holders[letter] == staff_id for letter in page_ids)


def test_admins_use_the_queue_too(app, admin, gustavo):
    letter = add_letter(app, gustavo)
    assert shown_ids(page(admin)) == [letter]
    assert decide(admin, [letter], "approve").status_code == 303
    assert letter_row(app, letter).moderation == "approved"


def test_decided_letters_can_be_changed_from_their_list(app, moderator, gustavo):
    letter = add_letter(app, gustavo, moderation="approved")
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
