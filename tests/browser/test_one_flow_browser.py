"""One flow for both letters in Chromium: after the appeal, the solidarity message is
offered filled in (with htmx and without JavaScript), and sending it adds no email.
Screenshots of the thank-you panel at 390 and 1280 px go to $SCREENSHOT_DIR (else the
system's temporary folder), for people to look at."""

import os
import tempfile
from pathlib import Path

import pytest
from console import watch_errors
from helpers import stored
from playwright.sync_api import expect
from test_supporter_path import fill_appeal

from models import Letter, Outbox

CASE = "/cases/gustavo-gatica"
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", tempfile.gettempdir())) / "one-flow"
WIDTHS = {390: 844, 1280: 900}


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def offered_form_is_filled_in(page):
    form = page.locator("#solidarity-form")
    expect(form.locator("#solidarity-name")).to_have_value("Ada Lovelace")
    expect(form.locator("#solidarity-email")).to_have_value("ada@example.org")
    expect(form.locator("#solidarity-country")).to_have_value("GB")
    expect(form.locator("#solidarity-city")).to_have_value("London")
    expect(form.locator("#solidarity-consent_privacy")).not_to_be_checked()
    return form


def send_offered(form):
    form.locator("#solidarity-body").fill("Stay strong, Gustavo.")
    form.locator("#solidarity-consent_privacy").check()
    form.locator("button[type=submit]").click()


def one_email_for_both(app):
    appeal, solidarity = stored(app, Letter)
    assert solidarity.confirm_with_id == appeal.id
    assert [email.letter_id for email in stored(app, Outbox)] == [appeal.id]


@pytest.mark.parametrize("width", WIDTHS)
def test_with_htmx_the_pages_own_solidarity_form_is_filled_in(live, browser, width):
    context = browser.new_context(viewport={"width": width, "height": WIDTHS[width]})
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(live.url + CASE)
    fill_appeal(page)
    page.click("#appeal-form button[type=submit]")
    expect(page.locator("#appeal-thanks-heading")).to_be_focused()
    form = offered_form_is_filled_in(page)
    assert page.locator("[id=solidarity-form]").count() == 1
    next_step = page.locator("#appeal-thanks a[href='#solidarity']")
    expect(next_step).to_be_visible()
    shot(page, f"htmx-thanks-{width}")
    next_step.click()
    expect(page).to_have_url(live.url + CASE + "#solidarity")
    send_offered(form)
    expect(page.locator("#solidarity-thanks")).to_contain_text("confirms this one too")
    shot(page, f"htmx-both-sent-{width}")
    context.close()
    assert errors == [], f"the page reported errors: {errors}"
    one_email_for_both(live.app)


@pytest.mark.parametrize("width", WIDTHS)
def test_without_javascript_the_thank_you_page_holds_the_filled_in_form(live, browser, width):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": width, "height": WIDTHS[width]}
    )
    page = context.new_page()
    page.goto(live.url + CASE)
    fill_appeal(page)
    page.click("#appeal-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Thank you! Please check your inbox.")
    form = offered_form_is_filled_in(page)
    shot(page, f"no-js-thanks-{width}")
    send_offered(form)
    expect(page.locator("h1")).to_have_text("Thank you! Please check your inbox.")
    expect(page.locator("#solidarity-thanks")).to_contain_text("confirms this one too")
    shot(page, f"no-js-both-sent-{width}")
    assert context.cookies(live.url) == []
    context.close()
    one_email_for_both(live.app)
