"""The queue's reason chooser from the keyboard (numbered reasons, Enter, Escape from
anywhere, Tab, Cancel), and re-opening or changing the reason of a rejected message, with
and without JavaScript."""

from factories import SolidarityFactory, StaffUserFactory
from playwright.sync_api import expect
from test_queue_browser import PERSONAL_DATA, item, not_reloaded, open_queue, sign_in, states

ABUSE = "Abuse, insults or threats"
SPAM = "Spam or advertising"


def chooser(page, letter_id):
    return item(page, letter_id).locator("[data-reject]")


def reason(page, letter_id, n):
    """The n-th reason (from 1, as its key) of the letter's chooser."""
    return chooser(page, letter_id).locator(f'input[type=radio][data-key="{n}"]')


def rejected_messages(live, cases):
    """Two solidarity messages rejected as abuse: their ids."""
    with live.app.app_context():
        return [
            SolidarityFactory(
                case_id=cases["gustavo-gatica"],
                body=body,
                moderation="rejected",
                reject_reason=ABUSE,
            ).id
            for body in ("Uno", "Dos")
        ]


def test_reject_with_the_keys_alone(live, page, cases):
    first, second = open_queue(live, page, cases, count=2)
    page.keyboard.press("j")
    page.keyboard.press("r")
    expect(chooser(page, first)).to_have_attribute("open", "")
    expect(chooser(page, first).locator("[data-keys-hint]")).to_be_visible()
    expect(chooser(page, first).locator("[data-reason-key]").nth(1)).to_have_text("2")
    page.keyboard.press("2")
    expect(reason(page, first, 2)).to_be_checked()
    expect(reason(page, first, 2)).to_be_focused()
    page.keyboard.press("Enter")
    expect(item(page, first)).to_contain_text("Rejected")
    expect(item(page, second)).to_be_focused()
    expect(page.locator("#announcer")).to_have_text(f"Rejected 1 message: {PERSONAL_DATA}.")
    assert states(live.app, [first, second]) == {
        first: ("rejected", PERSONAL_DATA),
        second: ("pending", ""),
    }
    assert not_reloaded(page)


def test_escape_leaves_the_chooser_from_anywhere_without_deciding(live, page, cases):
    (first, second) = open_queue(live, page, cases, count=2)
    page.keyboard.press("r")
    page.keyboard.press("3")
    expect(reason(page, first, 3)).to_be_focused()
    # Tab goes through the reasons (one stop), the note, Reject, Cancel: in reading order.
    page.keyboard.press("Tab")
    expect(page.locator(f"#letter-{first}-note")).to_be_focused()
    page.keyboard.type("line 12")  # digits in the note are the note's, not reasons
    expect(page.locator(f"#letter-{first}-note")).to_have_value("line 12")
    expect(reason(page, first, 3)).to_be_checked()
    page.keyboard.press("Tab")
    expect(
        chooser(page, first).get_by_role("button", name=f"Reject message #{first}")
    ).to_be_focused()
    page.keyboard.press("Tab")
    expect(chooser(page, first).get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Escape")
    expect(chooser(page, first)).not_to_have_attribute("open", "")
    expect(item(page, first)).to_be_focused()

    # From the summary, and with focus nowhere (a click on the page's text).
    page.keyboard.press("r")
    chooser(page, first).locator("summary").focus()
    page.keyboard.press("Escape")
    expect(chooser(page, first)).not_to_have_attribute("open", "")
    expect(item(page, first)).to_be_focused()
    page.keyboard.press("r")
    item(page, first).locator("blockquote").click()
    page.keyboard.press("Escape")
    expect(chooser(page, first)).not_to_have_attribute("open", "")
    expect(item(page, first)).to_be_focused()

    # The Cancel button, for the mouse and for screen readers.
    page.keyboard.press("r")
    chooser(page, first).get_by_role("button", name="Cancel").click()
    expect(chooser(page, first)).not_to_have_attribute("open", "")
    expect(item(page, first)).to_be_focused()
    # Back on the letter, the queue's keys work again.
    page.keyboard.press("j")
    expect(item(page, second)).to_be_focused()
    page.wait_for_timeout(300)
    expect(page.locator("#queue-toast")).to_be_empty()
    assert set(states(live.app, [first, second]).values()) == {("pending", "")}


def test_one_chooser_open_at_a_time_and_no_number_keys_when_shortcuts_are_off(live, page, cases):
    first, second = open_queue(live, page, cases, count=2)
    page.keyboard.press("r")
    chooser(page, second).locator("summary").click()
    expect(chooser(page, second)).to_have_attribute("open", "")
    expect(chooser(page, first)).not_to_have_attribute("open", "")

    page.uncheck("#queue-keys-on")
    expect(chooser(page, second).locator("[data-reason-key]").first).to_be_hidden()
    reason(page, second, 1).focus()
    page.keyboard.press("4")
    expect(reason(page, second, 4)).not_to_be_checked()
    page.keyboard.press("Escape")  # Escape is no shortcut: it always leaves
    expect(chooser(page, second)).not_to_have_attribute("open", "")


def test_reopen_and_change_the_reason_of_rejected_messages(live, page, cases):
    rejected = first, second = rejected_messages(live, cases)
    open_queue(live, page, cases, count=0)
    page.goto(live.url + "/admin/queue?state=rejected")
    page.evaluate("window.__noReload = true")

    item(page, first).get_by_role("button", name=f"Re-open message #{first}").click()
    expect(page.locator("#queue-toast")).to_contain_text("Re-opened 1 message")
    expect(item(page, first)).to_contain_text("Pending")
    expect(item(page, first)).to_be_focused()  # open again, to decide in place
    page.keyboard.press("a")
    expect(item(page, first)).to_have_class("queue-item queue-item--done")
    expect(item(page, first)).to_contain_text("Approved")

    # The second one's reason, by keys: r opens "Change reason…" on a rejected message.
    expect(item(page, second)).to_be_focused()
    page.keyboard.press("r")
    expect(chooser(page, second).locator("summary")).to_contain_text("Change reason")
    spam_key = chooser(page, second).locator(".queue-reason", has_text=SPAM).locator("input")
    page.keyboard.press(spam_key.get_attribute("data-key"))
    page.keyboard.press("Enter")
    expect(page.locator("#queue-toast")).to_contain_text(f"Reason changed for 1 message: {SPAM}.")
    expect(item(page, second)).to_contain_text(f"Rejected: {SPAM}")
    assert states(live.app, rejected) == {first: ("approved", ""), second: ("rejected", SPAM)}
    assert not_reloaded(page)


def test_reopen_and_change_the_reason_without_javascript(live, no_js_page, cases):
    page = no_js_page
    first, second = rejected_messages(live, cases)
    with live.app.app_context():
        StaffUserFactory(email="mod@example.org")
    sign_in(page, live.url)
    page.goto(live.url + "/admin/queue?state=rejected")
    expect(chooser(page, first).locator("[data-reject-cancel]")).to_be_hidden()
    item(page, first).get_by_role("button", name=f"Re-open message #{first}").click()
    expect(page).to_have_url(live.url + "/admin/queue?state=rejected")
    expect(page.locator("#queue-toast")).to_contain_text("Re-opened 1 message")
    expect(item(page, first)).to_have_count(0)

    item(page, second).locator("summary").click()
    item(page, second).get_by_label(SPAM).check()
    item(page, second).get_by_role("button", name=f"Change the reason of message #{second}").click()
    expect(page.locator("#queue-toast")).to_contain_text(f"Reason changed for 1 message: {SPAM}.")
    assert states(live.app, [first, second]) == {first: ("pending", ""), second: ("rejected", SPAM)}
