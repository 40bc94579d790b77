"""The moderation queue in a real browser: the keyboard, bulk decisions and undo, updated
in place without a reload; and the same decisions without JavaScript."""

import pyotp
import sqlalchemy as sa
from factories import STAFF_PASSWORD, STAFF_TOTP_SECRET, SolidarityFactory, StaffUserFactory
from playwright.sync_api import expect

from extensions import db
from models import Letter

# The catalogue's second reason, as the migration seeds it.
PERSONAL_DATA = "Personal data that could endanger the person (address, phone, email, links)"


def states(app, ids):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Letter.id, Letter.moderation, Letter.reject_reason).where(Letter.id.in_(ids))
        ).all()
        return {row.id: (row.moderation, row.reject_reason) for row in rows}


def moderations(app, ids):
    """The moderation state of each letter, in the order of `ids`."""
    found = states(app, ids)
    return [found[letter_id][0] for letter_id in ids]


def sign_in(page, url):
    page.goto(url + "/admin/sign-in")
    page.fill("#email", "mod@example.org")
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.fill("#code", pyotp.TOTP(STAFF_TOTP_SECRET).now())  # the second step
    page.click("button[type=submit]")
    expect(page).to_have_url(url + "/admin/queue")
    # The URL changes before the page has run its deferred scripts (queue.js's keys): a key
    # pressed in between does nothing, as it would for a person on a slow machine.
    page.wait_for_load_state("load")


def open_queue(live, page, cases, count=4):
    with live.app.app_context():
        StaffUserFactory(email="mod@example.org")
        ids = [
            SolidarityFactory(
                case_id=cases["gustavo-gatica"], body=f"Mensaje {n}", language="es"
            ).id
            for n in range(count)
        ]
    sign_in(page, live.url)
    page.evaluate("window.__noReload = true")
    return ids


def not_reloaded(page):
    return page.evaluate("window.__noReload === true")


def item(page, letter_id):
    return page.locator(f"#letter-{letter_id}")


def test_keyboard_moves_approves_rejects_and_selects(live, page, cases):
    first, second, third, fourth = open_queue(live, page, cases)
    expect(page.locator("#queue-keys")).to_be_visible()

    page.keyboard.press("j")
    expect(item(page, first)).to_be_focused()
    page.keyboard.press("j")
    expect(item(page, second)).to_be_focused()
    page.keyboard.press("k")
    expect(item(page, first)).to_be_focused()

    page.keyboard.press("a")
    expect(item(page, first)).to_have_class("queue-item queue-item--done")
    expect(item(page, first)).to_contain_text("Approved")
    expect(item(page, second)).to_be_focused()
    expect(page.locator("#queue-toast")).to_contain_text("Approved 1 message.")
    expect(page.locator("#announcer")).to_have_text("Approved 1 message.")

    page.keyboard.press("r")
    chooser = item(page, second).locator("[data-reject]")
    expect(chooser).to_have_attribute("open", "")
    expect(chooser.locator("input[type=radio]").first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(chooser.locator("input[type=radio]").nth(1)).to_be_checked()
    page.keyboard.press("Enter")
    expect(item(page, second)).to_contain_text("Rejected")
    expect(item(page, third)).to_be_focused()
    expect(page.locator("#announcer")).to_have_text(f"Rejected 1 message: {PERSONAL_DATA}.")

    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(item(page, third).locator("[data-select]")).to_be_checked()
    expect(item(page, fourth).locator("[data-select]")).to_be_checked()
    expect(page.locator("[data-selected-count]")).to_have_text("(2)")
    page.keyboard.press("x")
    expect(item(page, fourth).locator("[data-select]")).not_to_be_checked()

    assert states(live.app, [first, second, third, fourth]) == {
        first: ("approved", ""),
        second: ("rejected", PERSONAL_DATA),
        third: ("pending", ""),
        fourth: ("pending", ""),
    }
    assert not_reloaded(page)


def test_escape_closes_the_reason_chooser_and_keys_never_fire_while_typing(live, page, cases):
    first, second = open_queue(live, page, cases, count=2)
    page.keyboard.press("r")
    chooser = item(page, first).locator("[data-reject]")
    expect(chooser).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(chooser).not_to_have_attribute("open", "")
    expect(item(page, first)).to_be_focused()

    page.fill("#filter-q", "")
    page.focus("#filter-q")
    page.keyboard.type("a jxr")
    expect(page.locator("#filter-q")).to_have_value("a jxr")
    page.focus("#bulk-note")
    page.keyboard.type("ax")
    expect(page.locator("#bulk-note")).to_have_value("ax")
    page.wait_for_timeout(300)
    expect(page.locator("#queue-toast")).to_be_empty()
    assert states(live.app, [first])[first] == ("pending", "")

    page.check(f"#letter-{first}-select")  # a checkbox is not a field being typed in
    page.keyboard.press("j")
    expect(item(page, second)).to_be_focused()

    page.uncheck("#queue-keys-on")
    page.locator("h1").click()
    page.keyboard.press("a")
    page.wait_for_timeout(300)
    assert set(states(live.app, [first, second]).values()) == {("pending", "")}


def test_bulk_reject_then_undo_in_place(live, page, cases):
    ids = open_queue(live, page, cases, count=3)
    page.click("#bulk-form button[value=reject]")  # nothing selected: a 422, shown in place
    expect(page.locator("#queue-toast")).to_contain_text("Select at least one message first")
    for letter_id in ids[:2]:
        page.check(f"#letter-{letter_id}-select")
    page.click("#bulk-form button[value=reject]")
    expect(page.locator("#queue-toast")).to_contain_text("Choose a reason to reject.")
    page.select_option("#bulk-reason", label="Spam or advertising")
    page.click("#bulk-form button[value=reject]")
    expect(page.locator("#queue-toast")).to_contain_text(
        "Rejected 2 messages: Spam or advertising."
    )
    for letter_id in ids[:2]:
        expect(item(page, letter_id)).to_contain_text("Rejected")
    expect(item(page, ids[2])).to_be_focused()
    assert moderations(live.app, ids) == ["rejected", "rejected", "pending"]

    page.keyboard.press("u")
    expect(page.locator("#queue-toast")).to_contain_text(
        "Undone: 2 messages are back in the queue."
    )
    for letter_id in ids[:2]:
        expect(item(page, letter_id)).to_have_attribute("data-open", "")
        expect(item(page, letter_id).locator("blockquote")).to_be_visible()
    expect(item(page, ids[0])).to_be_focused()
    assert moderations(live.app, ids) == ["pending"] * 3

    page.click("text=Select all on this page")
    expect(page.locator("[data-selected-count]")).to_have_text("(3)")
    page.click("#bulk-form button[value=approve]")
    expect(page.locator("#queue-toast")).to_contain_text("Approved 3 messages.")
    # Nothing left to decide on this page: focus goes to the next batch.
    expect(page.get_by_role("link", name="Load the next messages")).to_be_focused()
    assert moderations(live.app, ids) == ["approved"] * 3
    assert not_reloaded(page)


def test_the_undo_button_leaves_after_the_window(live, page, cases):
    live.app.config["QUEUE_UNDO_SECONDS"] = 1
    (first,) = open_queue(live, page, cases, count=1)
    item(page, first).locator("[data-approve] button").click()
    expect(page.locator("#queue-toast [data-undo]")).to_be_visible()
    expect(page.locator("#queue-toast [data-undo]")).to_have_count(0, timeout=3000)
    assert states(live.app, [first])[first] == ("approved", "")


def test_decisions_without_javascript(live, no_js_page, cases):
    page = no_js_page
    with live.app.app_context():
        StaffUserFactory(email="mod@example.org")
        first, second = (
            SolidarityFactory(case_id=cases["gustavo-gatica"], body=body, language="es").id
            for body in ("Uno", "Dos")
        )
    sign_in(page, live.url)
    page.goto(live.url + "/admin/queue?kind=solidarity")
    expect(page.locator("#queue-keys")).to_be_hidden()
    item(page, first).locator("[data-approve] button").click()
    expect(page).to_have_url(live.url + "/admin/queue?kind=solidarity")
    expect(page.locator("#queue-toast")).to_contain_text("Approved 1 message.")
    expect(item(page, first)).to_have_count(0)

    item(page, second).locator("summary").click()
    item(page, second).get_by_label("Abuse, insults or threats").check()
    item(page, second).get_by_role("button", name=f"Reject message #{second}").click()
    expect(page.locator("#queue-toast")).to_contain_text("Rejected 1 message")
    page.locator("#queue-toast button", has_text="Undo").click()
    expect(page.locator("#queue-toast")).to_contain_text("Undone: the message is back")
    expect(item(page, second)).to_be_visible()
    assert states(live.app, [first, second]) == {
        first: ("approved", ""),
        second: ("pending", ""),
    }
