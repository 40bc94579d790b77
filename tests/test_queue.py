"""The moderation queue as moderators use it: what they see, how they find messages,
and that two of them never review the same message."""

import re
import threading
from datetime import timedelta
from html import unescape

import sqlalchemy as sa
from factories import SolidarityFactory, StaffUserFactory
from helpers import sign_in
from queue_pages import (
    QUEUE,
    decide,
    events,
    letter_row,
    page,
    shown_ids,
)

from extensions import db
from models import Letter, StaffUser, utcnow
from moderation import queue

# What a moderator sees


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert "/admin/sign-in" in response.headers["Location"]


def test_pending_lists_confirmed_letters_flagged_first_then_oldest(app, moderator, gustavo):
    with app.app_context():
        older = SolidarityFactory(case_id=gustavo, body="Fuerza, Gustavo.").id
        unconfirmed = SolidarityFactory(
            case_id=gustavo, body="Not confirmed yet.", status="unconfirmed"
        ).id
        approved = SolidarityFactory(
            case_id=gustavo, body="Already approved.", moderation="approved"
        ).id
        newer = SolidarityFactory(case_id=gustavo, body="Todo mi apoyo.").id
        flagged = SolidarityFactory(
            case_id=gustavo, body="Write to me at someone@example.net please."
        ).id
    html = page(moderator)
    assert shown_ids(html) == [flagged, older, newer]
    assert unconfirmed not in shown_ids(html) and approved not in shown_ids(html)
    assert "Not confirmed yet." not in html and "Already approved." not in html


def test_an_item_shows_what_a_moderator_needs_and_never_the_email(app, moderator, gustavo):
    body = "Eres muy valiente.\nVisit www.example.com"
    with app.app_context():
        letters = [
            SolidarityFactory(
                case_id=gustavo,
                body=body,
                flags="link,repeated",  # the later copies carry "repeated"
                name="Ana",
                city="Valparaíso",
                country="CL",
                language="es",
            )
            for _copy in range(6)
        ]
        letters.append(SolidarityFactory(case_id=gustavo, body="Hola"))
        addresses = [letter.email for letter in letters]
    html = page(moderator)
    assert "Eres muy valiente.\nVisit www.example.com" in unescape(html)
    assert 'dir="auto" lang="es"' in html
    assert "Gustavo Gatica" in html and "Chile" in html
    assert "Español (es)" in html
    assert "Contains a link" in html and "Same text sent many times" in html
    assert "Ana, Valparaíso" in unescape(html)
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", html)
    for address in addresses:
        assert address not in html


def test_messages_are_shown_as_text_never_as_markup(app, moderator, gustavo):
    attacks = [
        "<script>alert('queue')</script>",
        '<img src=x onerror="alert(1)">',
        "</blockquote><a href='javascript:alert(1)'>click</a>",
    ]
    with app.app_context():
        for attack in attacks:
            SolidarityFactory(
                case_id=gustavo,
                body=attack,
                name="<b onmouseover=alert(2)>Eve</b>",
                city="<i>x</i>",
            )
    html = page(moderator)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<a href='javascript" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&#39;queue&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_filters_by_case_kind_language_flag_and_state(app, moderator, cases):
    gustavo, nassima = cases["gustavo-gatica"], cases["nassima-al-sada"]
    with app.app_context():
        solidarity = SolidarityFactory(case_id=gustavo, body="Fuerza.").id
        appeal = SolidarityFactory(
            case_id=gustavo, body="Please release him.", kind="appeal", language="en"
        ).id
        arabic = SolidarityFactory(case_id=nassima, body="نحن معك", language="ar").id
        phone = SolidarityFactory(
            case_id=nassima, body="Call me on +44 20 7946 0958", language="en"
        ).id
        shouting = SolidarityFactory(
            case_id=nassima, body="STAY STRONG WE ARE ALL WITH YOU EVERY DAY", language="en"
        ).id
        approved = SolidarityFactory(
            case_id=gustavo, body="Approved one.", moderation="approved"
        ).id
        rejected = SolidarityFactory(
            case_id=gustavo, body="Rejected one.", moderation="rejected"
        ).id

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
    with app.app_context():
        brave = SolidarityFactory(case_id=gustavo, body="You are BRAVE, Gustavo.").id
        percent = SolidarityFactory(case_id=gustavo, body="100% with you.").id
        SolidarityFactory(case_id=gustavo, body="Stay strong.")
    assert shown_ids(page(moderator, QUEUE + "?q=brave")) == [brave]
    assert shown_ids(page(moderator, QUEUE + "?q=100%25")) == [percent]
    assert shown_ids(page(moderator, QUEUE + "?q=%25")) == [percent]
    assert shown_ids(page(moderator, QUEUE + "?q=_")) == []
    assert "No messages match these filters." in page(moderator, QUEUE + "?q=_")
    assert 'value="brave"' in page(moderator, QUEUE + "?q=brave")


def test_pages_follow_a_keyset_cursor_without_gaps_or_repeats(make_app, cases):
    app = make_app(QUEUE_PAGE_SIZE=3)
    gustavo = cases["gustavo-gatica"]
    with app.app_context():
        plain = [SolidarityFactory(case_id=gustavo, body=f"Message {n}").id for n in range(5)]
        flagged = [
            SolidarityFactory(case_id=gustavo, body=f"Link {n}: www.example.com").id
            for n in range(4)
        ]
        StaffUserFactory(email="pager@example.org")
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


# Claims: two moderators never review the same letter


def test_two_moderators_never_see_the_same_pending_letters(make_app, cases):
    app = make_app(QUEUE_PAGE_SIZE=3)
    emails = ("one@example.org", "two@example.org", "three@example.org")
    with app.app_context():
        letters = [
            SolidarityFactory(case_id=cases["gustavo-gatica"], body=f"Message {n}").id
            for n in range(7)
        ]
        for email in emails:
            StaffUserFactory(email=email)
    clients = [app.test_client() for _email in emails]
    for client, email in zip(clients, emails, strict=True):
        sign_in(client, email)
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
    with app.app_context():
        letters = [
            SolidarityFactory(case_id=cases["gustavo-gatica"], body=f"Message {n}").id
            for n in range(2)
        ]
        for email in ("one@example.org", "two@example.org"):
            StaffUserFactory(email=email)
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
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
        mine = SolidarityFactory(case_id=gustavo).id
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
    with app.app_context():
        letters = [
            SolidarityFactory(case_id=cases["gustavo-gatica"], body=f"Message {n}").id
            for n in range(30)
        ]
        ids = [StaffUserFactory(email=f"racer{n}@example.org").id for n in range(6)]
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
    with app.app_context():
        letter = SolidarityFactory(case_id=gustavo).id
    assert shown_ids(page(admin)) == [letter]
    assert decide(admin, [letter], "approve").status_code == 303
    assert letter_row(app, letter).moderation == "approved"
