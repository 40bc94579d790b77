"""Moderation by group: letters that share a text are listed as one group with its size,
decided with one audited decision (and undone at once), however many they are. Copies
arriving later: test_queue_groups_arrival.py."""

import re
from datetime import timedelta
from html import unescape

import sqlalchemy as sa
from factories import SolidarityFactory, sent_batch
from helpers import csrf_from, staff_client
from queue_pages import HTMX, QUEUE, events, letter_row, page, reason_id, staff_id

from extensions import db
from models import Letter, TextGroup, utcnow
from moderation import group_decisions, groups
from moderation.flags import fingerprint

GROUPS = QUEUE + "/groups"
UNDO = GROUPS + "/undo"
SUGGESTED = "Stay strong, Gustavo. We are with you."


def group_url(key):
    return f"{GROUPS}/{key}"


def copies(count, body, case_id, **values):
    """`count` pending confirmed letters with this exact text."""
    return [SolidarityFactory(case_id=case_id, body=body, **values).id for _ in range(count)]


def suggested_group(case_id, near_bodies=()):
    """The case's suggested text (a TextGroup row as moderation/suggested.py keeps it) and
    near-copies of it in its group; returns (key, near-copy ids)."""
    key = fingerprint(SUGGESTED)
    db.session.add(TextGroup(key=key, text=SUGGESTED, case_id=case_id, suggested=True))
    db.session.commit()
    near = [SolidarityFactory(case_id=case_id, body=body, group_key=key).id for body in near_bodies]
    return key, near


def decide_group(client, key, decision, htmx=False, near=(), **fields):
    data = {
        "csrf_token": csrf_from(client, GROUPS),
        "decision": decision,
        "letter": [str(n) for n in near],
        **fields,
    }
    return client.post(group_url(key) + "/decision", data=data, headers=HTMX if htmx else {})


def undo(client, event_id, htmx=True):
    data = {"csrf_token": csrf_from(client, GROUPS), "event": str(event_id)}
    return client.post(UNDO, data=data, headers=HTMX if htmx else {})


def moderations(app, ids):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Letter.id, Letter.moderation).where(Letter.id.in_(ids))
        ).all()
    found = dict(rows)
    return [found[n] for n in ids]


def text_group(app, key):
    with app.app_context():
        row = db.session.get(TextGroup, key)
        db.session.expunge_all()
        return row


def listed_keys(html):
    return re.findall(r'id="group-([0-9a-f]{16})"', html)


# The Groups view


def test_groups_are_listed_largest_first_with_their_figures(app, moderator, gustavo, cases):
    with app.app_context():
        key, near = suggested_group(gustavo, ["Stay strong, Gustavo! We are with you, from Ana."])
        suggested = copies(2, SUGGESTED, gustavo)
        other = "Fuerza Gustavo, todo Chile está contigo."
        copies(4, other, gustavo, language="es")
        copies(1, "A message of my own.", gustavo)
        copies(2, "Decided already.", gustavo, moderation="approved")
        copies(2, "Call me on +44 7700 900123 please.", other_case(cases))
    html = page(moderator, GROUPS)
    assert listed_keys(html) == [fingerprint(other), key, fingerprint(flagged_body())]
    suggested_item = html.split(f'id="group-{key}"')[1].split("</li>")[0]
    assert "3 messages" in suggested_item and "Suggested text" in suggested_item
    assert "2 exact copies" in suggested_item and "1 near-copy" in suggested_item
    assert SUGGESTED in unescape(suggested_item)
    flagged_item = html.split(f'id="group-{fingerprint(flagged_body())}"')[1].split("</li>")[0]
    assert "2 flagged" in flagged_item
    assert "A message of my own." not in html and "Decided already." not in html
    assert len(suggested + near) == 3

    # The queue's filters narrow the letters counted.
    html = page(moderator, GROUPS + "?language=es")
    assert listed_keys(html) == [fingerprint(other)]
    html = page(moderator, GROUPS + f"?case={other_case(cases)}")
    assert listed_keys(html) == [fingerprint(flagged_body())]
    assert "No group of two or more messages" in page(moderator, GROUPS + "?kind=appeal")


def flagged_body():
    return "Call me on +44 7700 900123 please."


def test_the_queue_header_counts_messages_and_groups_waiting(app, moderator, gustavo):
    with app.app_context():
        copies(3, "Same words.", gustavo)
        copies(1, "Other words.", gustavo)
        copies(2, "Not confirmed.", gustavo, status="unconfirmed")
        copies(2, "Approved.", gustavo, moderation="approved")
        assert groups.waiting() == {"messages": 4, "groups": 2}
    for path in (QUEUE, GROUPS):
        html = page(moderator, path)
        assert "4 messages waiting" in html and "2 groups of one text" in html


def test_the_groups_figures_are_kept_a_few_seconds_and_a_decision_renews_them(
    make_app, app, gustavo
):
    cached = make_app(PAGE_CACHE_SECONDS=10)  # the same database, with the app's cache on
    moderator = staff_client(cached, "moderator", "mod3@example.org")
    with app.app_context():
        first = copies(3, "Same words.", gustavo)
    html = page(moderator, GROUPS)
    assert "3 messages waiting" in html and len(listed_keys(html)) == 1
    with app.app_context():
        later = copies(2, "Other words.", gustavo)
    html = page(moderator, GROUPS)
    assert "3 messages waiting" in html and len(listed_keys(html)) == 1  # kept
    key = letter_row(app, first[0]).group_key
    decide_group(moderator, key, "approve")
    html = page(moderator, GROUPS)
    assert "2 messages waiting" in html
    assert listed_keys(html) == [letter_row(app, later[0]).group_key]


def test_a_group_text_is_escaped(app, moderator, gustavo):
    with app.app_context():
        (letter, _copy) = copies(2, "<script>alert(1)</script> <b>Free him</b>", gustavo)
        key = letter_row(app, letter).group_key
    for path in (GROUPS, group_url(key)):
        html = page(moderator, path)
        assert "<script>alert(1)" not in html and "<b>Free" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_group_page_shows_the_near_copies_with_what_differs(app, moderator, gustavo):
    near_body = "Stay strong, Gustavo. We are with you. Ana from Leeds"
    with app.app_context():
        key, (near,) = suggested_group(gustavo, [near_body])
        copies(3, SUGGESTED, gustavo)
    html = page(moderator, group_url(key))
    assert "4 messages waiting" in html
    assert "3 exact copies" in html and "1 near-copy" in html
    assert SUGGESTED in unescape(html)
    item = html.split(f'id="near-{near}"')[1].split("</li>")[0]
    assert f'name="letter" value="{near}" form="group-form" checked' in item
    assert "<ins" in item and "Leeds" in item  # the added words are marked
    assert moderator.get(group_url("0" * 16)).status_code == 404
    assert moderator.get(group_url("not-a-key")).status_code == 404


def test_near_copies_are_listed_a_page_at_a_time(app, moderator, gustavo, monkeypatch):
    import blueprints.admin.queue_groups as views

    monkeypatch.setattr(views, "MAX_SELECTED", 2)
    with app.app_context():
        key, near = suggested_group(
            gustavo, [f"Stay strong, Gustavo. We are with you. From {n}" for n in range(3)]
        )
    html = page(moderator, group_url(key))
    assert re.findall(r'id="near-(\d+)"', html) == [str(n) for n in near[:2]]
    next_page = unescape(re.search(r'href="([^"]+)">Next near-copies', html)[1])
    assert re.findall(r'id="near-(\d+)"', page(moderator, next_page)) == [str(near[2])]


# One decision for a group


def test_approving_a_group_is_one_audited_decision_over_its_letters(app, moderator, gustavo):
    with app.app_context():
        key, near = suggested_group(
            gustavo,
            ["Stay strong, Gustavo. We are with you. Ana", "Stay strong Gustavo. Free him."],
        )
        exact = copies(3, SUGGESTED, gustavo)
        others = copies(2, "Another text.", gustavo)
    response = decide_group(moderator, key, "approve", near=near[:1])  # the second unticked
    assert response.status_code == 303
    assert response.headers["Location"] == group_url(key)
    assert moderations(app, exact + near) == ["approved"] * 4 + ["pending"]
    assert moderations(app, others) == ["pending", "pending"]
    (event,) = events(app, "group.approve")
    assert events(app, "letter.approve") == []
    assert event.actor_id == staff_id(app, "mod@example.org")
    assert event.details["key"] == key and event.details["letters"] == 4
    assert (event.target_type, event.target_id) == ("letters", min(exact + near[:1]))
    assert letter_row(app, exact[0]).moderated_at == event.created_at
    stored = text_group(app, key)
    assert (stored.decision, stored.reason, stored.text) == ("approved", "", SUGGESTED)
    assert stored.decided_by_id == event.actor_id
    html = page(moderator, group_url(key))
    assert "Approved 4 messages of this group." in html
    assert "1 message waiting" in html  # the near-copy left out
    assert "Copies arriving now are approved on arrival." in html


def test_rejecting_a_group_needs_a_reason_and_keeps_it_for_later_copies(app, moderator, gustavo):
    with app.app_context():
        letters = copies(3, "Buy cheap watches at our shop.", gustavo)
    key = letter_row(app, letters[0]).group_key
    response = decide_group(moderator, key, "reject", htmx=True)
    assert response.status_code == 422
    assert "Choose a reason to reject." in response.get_data(as_text=True)
    assert moderations(app, letters) == ["pending"] * 3

    spam = reason_id(app, "Spam")
    response = decide_group(moderator, key, "reject", htmx=True, reason=spam)
    html = response.get_data(as_text=True)
    assert "Rejected 3 messages of this group: Spam or advertising." in html
    assert 'id="group-decision"' in html and 'data-hx-swap-oob="true"' in html
    assert "Nothing in this group is waiting." in html
    assert 'action="/admin/queue/groups/undo"' in html
    assert moderations(app, letters) == ["rejected"] * 3
    assert {letter_row(app, n).reject_reason for n in letters} == {"Spam or advertising"}
    (event,) = events(app, "group.reject")
    assert event.reason == "Spam or advertising" and event.details["letters"] == 3
    stored = text_group(app, key)
    assert (stored.decision, stored.reason, stored.text, stored.suggested) == (
        "rejected",
        "Spam or advertising",
        "",  # a supporter's words are never kept in text_groups
        False,
    )


def test_undo_puts_the_whole_group_back(app, moderator, second_moderator, gustavo):
    with app.app_context():
        key, near = suggested_group(gustavo, ["Stay strong, Gustavo. We are with you. Ana"])
        exact = copies(2, SUGGESTED, gustavo)
    response = decide_group(moderator, key, "approve", htmx=True, near=near)
    (event_id,) = re.findall(r'name="event" value="(\d+)"', response.get_data(as_text=True))
    assert undo(second_moderator, event_id).status_code == 409  # not theirs to undo
    assert moderations(app, exact + near) == ["approved"] * 3

    response = undo(moderator, event_id)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Undone: 3 messages are back in the queue." in html
    assert 'id="group-form"' in html  # the decision form is back in place
    assert moderations(app, exact + near) == ["pending"] * 3
    row = letter_row(app, exact[0])
    assert (row.moderated_by_id, row.moderated_at, row.reject_reason) == (None, None, "")
    stored = text_group(app, key)
    assert (stored.decision, stored.decided_by_id, stored.decided_at) == ("", None, None)
    (undone,) = events(app, "group.undo")
    assert undone.details == {"key": key, "letters": 3, "undoes": int(event_id)}
    again = undo(moderator, event_id)
    assert again.status_code == 409
    assert "Nothing to undo" in again.get_data(as_text=True)


def test_undo_is_refused_after_the_window(app, moderator, gustavo, monkeypatch):
    with app.app_context():
        letters = copies(2, "Same words.", gustavo)
    key = letter_row(app, letters[0]).group_key
    response = decide_group(moderator, key, "approve", htmx=True)
    (event_id,) = re.findall(r'name="event" value="(\d+)"', response.get_data(as_text=True))
    later = utcnow() + timedelta(seconds=app.config["QUEUE_UNDO_SECONDS"] + 5)
    monkeypatch.setattr(group_decisions, "utcnow", lambda: later)
    response = undo(moderator, event_id)
    assert response.status_code == 409
    assert "Too late to undo" in response.get_data(as_text=True)
    assert moderations(app, letters) == ["approved", "approved"]


def test_undo_without_javascript_returns_to_the_group(app, moderator, gustavo):
    with app.app_context():
        letters = copies(2, "Same words.", gustavo)
    key = letter_row(app, letters[0]).group_key
    decide_group(moderator, key, "approve")
    html = page(moderator, group_url(key))
    event_id = re.search(r'name="event" value="(\d+)"', html)[1]
    data = {"csrf_token": csrf_from(moderator, GROUPS), "event": event_id}
    response = moderator.post(UNDO, data={**data, "next": group_url(key)})
    assert response.status_code == 303 and response.headers["Location"] == group_url(key)
    assert "Undone: 2 messages are back in the queue." in page(moderator, group_url(key))
    assert moderations(app, letters) == ["pending", "pending"]
    response = moderator.post(UNDO, data={**data, "next": "https://evil.example/"})
    assert response.headers["Location"] == GROUPS


def test_letters_another_moderator_holds_are_left_out(app, moderator, second_moderator, gustavo):
    with app.app_context():
        letters = copies(3, "Same words.", gustavo)
    key = letter_row(app, letters[0]).group_key
    page(second_moderator)  # shows, and so claims, every pending letter
    assert letter_row(app, letters[0]).claimed_by_id == staff_id(app, "mod2@example.org")
    response = decide_group(moderator, key, "approve", htmx=True)
    assert response.status_code == 422
    assert "other moderators are reviewing them" in response.get_data(as_text=True)
    with app.app_context():
        db.session.execute(
            sa.update(Letter).where(Letter.id == letters[0]).values(claimed_by_id=None)
        )
        db.session.commit()
    html = decide_group(moderator, key, "approve", htmx=True).get_data(as_text=True)
    assert "Approved 1 message of this group." in html
    assert "2 were left as they were: another moderator is reviewing them" in html
    assert moderations(app, letters) == ["approved", "pending", "pending"]
    assert events(app, "group.approve")[0].details["skipped"] == 2


def test_delivered_letters_are_left_out(app, moderator, gustavo):
    with app.app_context():
        letters = copies(3, "Please release him now.", gustavo, kind="appeal")
        sent_batch(letters[0])
    key = letter_row(app, letters[0]).group_key
    html = page(moderator, GROUPS)
    assert "2 messages" in html.split(f'id="group-{key}"')[1].split("</li>")[0]
    html = decide_group(moderator, key, "reject", htmx=True, reason=reason_id(app))
    assert "1 was left as it was" in html.get_data(as_text=True)
    assert moderations(app, letters) == ["pending", "rejected", "rejected"]


def test_undo_leaves_a_letter_delivered_meanwhile_as_it_went(app, moderator, gustavo):
    with app.app_context():
        letters = copies(3, "Please release him now.", gustavo, kind="appeal")
    key = letter_row(app, letters[0]).group_key
    response = decide_group(moderator, key, "approve", htmx=True)
    (event_id,) = re.findall(r'name="event" value="(\d+)"', response.get_data(as_text=True))
    with app.app_context():  # a batch holding one of them is sent within the undo window
        sent_batch(letters[0])
    assert undo(moderator, event_id).status_code == 200
    assert moderations(app, letters) == ["approved", "pending", "pending"]


def test_a_near_copy_of_another_group_cannot_be_slipped_in(app, moderator, gustavo):
    with app.app_context():
        letters = copies(2, "Same words.", gustavo)
        (stranger,) = copies(1, "Something else entirely.", gustavo)
    key = letter_row(app, letters[0]).group_key
    decide_group(moderator, key, "approve", near=[stranger])
    assert moderations(app, [*letters, stranger]) == ["approved", "approved", "pending"]


def test_a_group_of_70000_letters_is_decided_with_one_update(app, moderator, gustavo):
    body = "Stay strong. Many people are with you."
    key = fingerprint(body)
    with app.app_context():
        many_copies(SolidarityFactory(case_id=gustavo, body=body, counted=False).id, 70_000)
        assert groups.waiting() == {"messages": 70_000, "groups": 1}
    app.config["QUEUE_UNDO_SECONDS"] = 3600  # 70,000 rows take a while on a busy machine
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            response = decide_group(moderator, key, "approve", htmx=True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert "Approved 70,000 messages of this group." in response.get_data(as_text=True)
    assert statements.count("UPDATE") <= 3  # the letters, the text group, the session
    assert statements.count("INSERT") <= 3  # the audit event, the text group row
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Letter.moderation == "approved"))
            == 70_000
        )
    (event,) = events(app, "group.approve")
    assert event.details["letters"] == 70_000
    event_id = event.id
    html = undo(moderator, event_id).get_data(as_text=True)
    assert "Undone: 70,000 messages are back in the queue." in html


# Who may


def test_signed_out_visitors_cannot_see_or_decide_groups(app, client, gustavo):
    with app.app_context():
        letters = copies(2, "Same words.", gustavo)
    key = letter_row(app, letters[0]).group_key
    for path in (GROUPS, group_url(key)):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/sign-in" in response.headers["Location"]
    response = client.post(group_url(key) + "/decision", data={"decision": "approve"})
    assert response.status_code in (302, 400)
    assert moderations(app, letters) == ["pending", "pending"]


def test_a_group_decision_without_the_csrf_token_is_refused(app, moderator, gustavo):
    with app.app_context():
        letters = copies(2, "Same words.", gustavo)
    key = letter_row(app, letters[0]).group_key
    page(moderator, GROUPS)
    for headers in ({}, HTMX):
        response = moderator.post(
            group_url(key) + "/decision", data={"decision": "approve"}, headers=headers
        )
        assert response.status_code == 400
    assert moderator.post(UNDO, data={"event": "1"}).status_code == 400
    assert moderations(app, letters) == ["pending", "pending"]
    assert events(app, "group.approve") == []


def other_case(cases):
    """A demo case other than Gustavo Gatica's."""
    return next(case_id for slug, case_id in cases.items() if slug != "gustavo-gatica")


def many_copies(letter_id, count):
    """The letter and count - 1 copies of it, made by the database in one INSERT."""
    numbers = sa.select(sa.literal(2).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(sa.select(numbers.c.n + 1).where(numbers.c.n < count))
    columns = [column for column in Letter.__table__.columns if column.name != "id"]
    db.session.execute(
        sa.insert(Letter.__table__).from_select(
            [column.name for column in columns],
            sa.select(*columns).where(Letter.id == letter_id).join(numbers, sa.true()),
        )
    )
    db.session.commit()


def test_the_audit_log_shows_a_group_decision(app, admin, gustavo):
    with app.app_context():
        letters = copies(2, "Same words.", gustavo)
    key = letter_row(app, letters[0]).group_key
    decide_group(admin, key, "approve")
    html = page(admin, "/admin/audit?action=group.*")
    assert "group.approve" in html and key in html
