"""The supporter's path in a real browser: htmx enhancement, and the same path without
JavaScript."""

import re
import threading
import time

import sqlalchemy as sa
from factories import CaseCounterFactory
from playwright.sync_api import expect

import letters
from extensions import db
from mail import outbox
from models import Letter, Outbox

CASE = "/cases/gustavo-gatica"


def fill_appeal(page, email="ada@example.org"):
    page.fill("#appeal-name", "Ada Lovelace")
    page.fill("#appeal-email", email)
    page.select_option("#appeal-country", "GB")
    page.fill("#appeal-city", "London")
    page.check("#appeal-consent_privacy")


def send_solidarity(page, message):
    page.fill("#solidarity-body", message)
    page.fill("#solidarity-name", "Ana")
    page.fill("#solidarity-email", "ana@example.org")
    page.select_option("#solidarity-country", "CL")
    page.check("#solidarity-consent_privacy")
    page.click("#solidarity-form button[type=submit]")


def stored_letters(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Letter).order_by(Letter.id)).all()
        db.session.expunge_all()
        return rows


def mark_page(page):
    """A flag that a full page load would wipe out."""
    page.evaluate("window.__noReload = true")


def not_reloaded(page):
    return page.evaluate("window.__noReload === true")


def test_inline_errors_appear_without_a_reload_and_take_focus(live, page):
    page.goto(live.url + CASE)
    mark_page(page)
    page.fill("#appeal-email", "ada@")
    page.click("#appeal-form button[type=submit]")
    problem = page.locator("#appeal-problem")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("Please check 4 things")
    expect(problem).to_be_focused()
    expect(page.locator("#appeal-name-error")).to_have_text("Error: Please tell us your name.")
    expect(page.locator("#appeal-email-error")).to_contain_text("valid email address")
    expect(page.locator("#appeal-email")).to_have_value("ada@")
    expect(problem).to_have_attribute("role", "alert")  # announced by itself...
    expect(page.locator("#announcer")).to_have_text("")  # ...and only once
    assert not_reloaded(page)
    assert stored_letters(live.app) == []


def test_email_is_checked_when_it_loses_focus(live, page):
    page.goto(live.url + CASE)
    page.fill("#appeal-email", "not-an-address")
    page.keyboard.press("Tab")
    expect(page.locator("#appeal-email-error")).to_contain_text("valid email address")
    page.fill("#appeal-email", "fine@example.org")
    page.keyboard.press("Tab")
    expect(page.locator("#appeal-email-error")).to_have_text("")


def test_thank_you_panel_replaces_the_form(live, page):
    page.goto(live.url + CASE)
    mark_page(page)
    page.fill("#appeal-body", "Dear Prosecutor, justice for Gustavo. ✊")
    fill_appeal(page)
    page.click("#appeal-form button[type=submit]")
    heading = page.locator("#appeal-thanks-heading")
    expect(heading).to_have_text("Thank you! Please check your inbox.")
    expect(heading).to_be_focused()
    expect(page.locator("#appeal-form")).to_have_count(0)
    expect(page.locator("#announcer")).to_have_text("")  # the focus reads it, once
    expect(page.locator("#appeal-thanks [data-copy]")).to_be_visible()
    expect(page.locator("#solidarity-form")).to_be_visible()  # the other form is untouched
    assert not_reloaded(page)
    [letter] = stored_letters(live.app)
    assert letter.body == "Dear Prosecutor, justice for Gustavo. ✊"


def test_a_double_click_sends_one_letter(live, page, monkeypatch):
    real_submit = letters.submit_letter
    in_flight = threading.Event()

    def slow_submit(*args, **kwargs):
        in_flight.set()
        time.sleep(0.8)  # a slow moment on the server: more clicks land mid-flight
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(letters, "submit_letter", slow_submit)
    page.goto(live.url + CASE)
    fill_appeal(page)
    page.locator("#appeal-form button[type=submit]").dblclick()
    assert in_flight.wait(5)
    # Submit again while the first is in flight, past the disabled button, as a
    # keyboard user pressing Enter twice would.
    page.evaluate("document.getElementById('appeal-form').requestSubmit()")
    expect(page.locator("#appeal-thanks-heading")).to_be_visible()
    page.wait_for_timeout(1500)  # a queued second request would have reached the server by now
    assert len(stored_letters(live.app)) == 1


def test_the_button_is_disabled_and_says_sending_while_in_flight(live, page, monkeypatch):
    real_submit = letters.submit_letter
    monkeypatch.setattr(
        letters, "submit_letter", lambda *a, **k: (time.sleep(0.8), real_submit(*a, **k))[1]
    )
    page.goto(live.url + CASE)
    fill_appeal(page)
    page.click("#appeal-form button[type=submit]")
    expect(page.locator("#appeal-form button[type=submit]")).to_be_disabled()
    expect(page.locator("#appeal-form .when-busy")).to_be_visible()
    expect(page.locator("#appeal-thanks-heading")).to_be_visible()


def test_a_server_error_keeps_the_form_and_says_so(live, page, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(letters, "submit_letter", broken)
    live.app.config["PROPAGATE_EXCEPTIONS"] = False
    page.goto(live.url + CASE)
    send_solidarity(page, "Words I do not want to lose")
    expect(page.locator("#solidarity-form [data-form-status]")).to_contain_text("could not send")
    expect(page.locator("#solidarity-body")).to_have_value("Words I do not want to lose")
    expect(page.locator("#solidarity-form button[type=submit]")).to_be_enabled()


def test_the_counter_updates_live_after_a_confirmation(live, page):
    page.goto(live.url + CASE)
    count = page.locator("#case-counter [data-count]")
    expect(count).to_have_text("0")
    with live.app.app_context():
        case_id = db.session.scalar(sa.text("SELECT id FROM cases WHERE slug='gustavo-gatica'"))
        CaseCounterFactory(case_id=case_id, count=3)
    expect(count).to_have_text("3", timeout=10_000)


def test_whole_path_with_htmx_then_confirm_by_email(live, page):
    page.goto(live.url + CASE)
    send_solidarity(page, "Fuerza, Gustavo 💛")
    expect(page.locator("#solidarity-thanks-heading")).to_be_visible()
    link = confirm_link(live.app)
    page.goto(link)
    page.click("text=Confirm my letter")
    expect(page.locator("h1")).to_have_text("Thank you: your letter counts")
    expect(page.locator("#case-counter [data-count]")).to_have_text("1")


def confirm_link(app):
    with app.app_context():
        email = db.session.scalar(sa.select(Outbox).order_by(Outbox.id.desc()))
        _subject, text, _html = outbox.render(email)
    return re.search(r"http://\S+/confirm/\S+", text).group(0)


def test_the_whole_path_without_javascript(live, no_js_page):
    page = no_js_page
    page.goto(live.url + CASE)
    page.click("#appeal-form button[type=submit]")  # empty: the server answers with the page
    expect(page.locator("#appeal-problem")).to_contain_text("Please check 4 things")
    expect(page.locator("#appeal-name-error")).to_contain_text("Please tell us your name.")
    fill_appeal(page, email="nojs@example.org")
    page.click("#appeal-form button[type=submit]")
    expect(page).to_have_url(live.url + CASE + "/letters/appeal")  # the thank-you page itself
    expect(page.locator("h1")).to_have_text("Thank you! Please check your inbox.")
    [letter] = stored_letters(live.app)
    assert (letter.email, letter.country, letter.kind) == ("nojs@example.org", "GB", "appeal")

    with live.app.app_context():
        outbox.send_due()  # no MAIL_SERVER reachable in tests: the row stays, the link is in it
    page.goto(confirm_link(live.app))
    page.click("text=Confirm my letter")
    expect(page).to_have_url(live.url + CASE + "/confirmed")
    expect(page.locator("#case-counter [data-count]")).to_have_text("1")


def test_every_control_has_a_label_and_the_honeypot_is_out_of_reach(live, page):
    page.goto(live.url + CASE)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(el => el.type !== 'hidden' && !el.closest('[aria-hidden=true]'))
            .filter(el => !(el.labels && el.labels.length) && !el.textContent.trim())
            .map(el => el.outerHTML)"""
    )
    assert unlabelled == []
    honeypot = page.locator("#appeal-leave_empty")
    assert (
        honeypot.get_attribute("tabindex") == "-1"
        and honeypot.get_attribute("autocomplete") == "off"
    )
    assert not honeypot.is_visible() or honeypot.bounding_box()["x"] < 0
    # Keyboard: from the message, Tab walks through the fields in reading order.
    page.focus("#appeal-body")
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        order.append(page.evaluate("(el => el.id || el.innerText.trim())(document.activeElement)"))
    assert order == [
        "appeal-name",
        "appeal-email",
        "appeal-country",
        "appeal-city",
        "appeal-consent_privacy",
        "privacy notice",  # the link inside the consent's label
        "appeal-consent_contact",
        "Send my appeal",
    ]
