"""Deciding a group of the same text in a real browser: one click decides every copy,
the page updates in place, the result is announced, and Undo puts them all back."""

import sqlalchemy as sa
from factories import SolidarityFactory, StaffUserFactory
from playwright.sync_api import expect
from test_queue_browser import moderations, not_reloaded, sign_in

from extensions import db
from models import TextGroup
from moderation.flags import fingerprint

SUGGESTED = "Stay strong, Gustavo. We are with you."


def open_group(live, page, cases):
    """A suggested text with 3 exact copies and 2 near-copies; its group's page open."""
    gustavo = cases["gustavo-gatica"]
    key = fingerprint(SUGGESTED)
    with live.app.app_context():
        StaffUserFactory(email="mod@example.org")
        db.session.add(TextGroup(key=key, text=SUGGESTED, case_id=gustavo, suggested=True))
        db.session.commit()
        exact = [SolidarityFactory(case_id=gustavo, body=SUGGESTED).id for _ in range(3)]
        near = [
            SolidarityFactory(case_id=gustavo, body=body, group_key=key).id
            for body in (f"{SUGGESTED} Ana from Leeds", "Stay strong Gustavo, we are here.")
        ]
    sign_in(page, live.url)
    page.goto(f"{live.url}/admin/queue/groups")
    page.get_by_role("link", name="Review this group").click()
    expect(page.locator("h1")).to_contain_text("A group of the same text")
    page.wait_for_load_state("load")
    page.evaluate("window.__noReload = true")
    return exact, near


def test_a_group_is_approved_in_place_and_undone(live, page, cases):
    exact, near = open_group(live, page, cases)
    decision = page.locator("#group-decision")
    expect(decision).to_contain_text("5 messages waiting")
    expect(page.locator(f"#near-{near[0]} ins")).to_contain_text("Leeds")
    page.uncheck(f"#near-{near[1]}-include")  # left for the queue
    page.get_by_role("button", name="Approve all").click()

    toast = page.locator("#queue-toast")
    expect(toast).to_contain_text("Approved 4 messages of this group.")
    expect(page.locator("#announcer")).to_have_text("Approved 4 messages of this group.")
    expect(decision).to_contain_text("1 message waiting")
    expect(decision).to_contain_text("Copies arriving now are approved on arrival.")
    expect(toast.get_by_role("button", name="Undo")).to_be_focused()  # not lost with the form
    assert moderations(live.app, exact + near) == ["approved"] * 4 + ["pending"]

    toast.get_by_role("button", name="Undo").click()
    expect(toast).to_contain_text("Undone: 4 messages are back in the queue.")
    expect(page.locator("#announcer")).to_have_text("Undone: 4 messages are back in the queue.")
    expect(decision).to_contain_text("5 messages waiting")
    expect(page.locator("#group-decision-title")).to_be_focused()
    assert moderations(live.app, exact + near) == ["pending"] * 5
    assert not_reloaded(page)


def test_a_group_is_rejected_with_a_reason(live, page, cases):
    exact, near = open_group(live, page, cases)
    page.get_by_role("button", name="Reject all").click()
    expect(page.locator("#queue-toast")).to_contain_text("Choose a reason to reject.")
    page.select_option("#group-reason", label="Spam or advertising")
    page.get_by_role("button", name="Reject all").click()
    expect(page.locator("#announcer")).to_have_text(
        "Rejected 5 messages of this group: Spam or advertising."
    )
    expect(page.locator("#group-decision")).to_contain_text("Nothing in this group is waiting.")
    assert moderations(live.app, exact + near) == ["rejected"] * 5
    with live.app.app_context():
        decided = db.session.scalar(
            sa.select(TextGroup.decision).where(TextGroup.key == fingerprint(SUGGESTED))
        )
    assert decided == "rejected"
    assert not_reloaded(page)
