"""An email's unsubscribe link in Chromium with JavaScript off (a mail app's own browser
may run none): the page shows a button, opening it changes nothing, pressing it stops
the news and says so. And the dashboard's bounces, complaints and unsubscribes."""

import os

from test_admin_pages import sign_in_as_admin

from extensions import begin_write, db
from mail import suppression
from mail.unsubscribe import unsubscribe_url

ADA = "ada@example.org"
SHOTS = os.environ.get("SCREENSHOTS_DIR")  # set it to keep the pages as PNGs


def shoot(page, name):
    if SHOTS:
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)


def link(live):
    with live.app.test_request_context(base_url=live.url):
        return unsubscribe_url(ADA)


def unsubscribed(live):
    with live.app.app_context():
        row = suppression.known(ADA)
        return row is not None and row.unsubscribed_at is not None


def test_the_button_works_without_javascript(live, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(link(live))
    assert page.locator("h1").inner_text() == "Stop case news?"
    shoot(page, "unsubscribe")
    assert not unsubscribed(live)  # opening the link changed nothing
    page.get_by_role("button", name="Stop case news").click()
    page.wait_for_url("**/unsubscribed")
    assert page.locator("h1").inner_text() == "You will get no more news emails"
    shoot(page, "unsubscribed")
    assert unsubscribed(live)
    page.goto(live.url + "/ar/unsubscribe/not-a-link")
    assert page.locator("html").get_attribute("dir") == "rtl"
    shoot(page, "unsubscribe-invalid-ar")
    context.close()


def test_the_dashboard_shows_what_came_back(live, page):
    with live.app.app_context():
        begin_write()
        suppression.unsubscribe(suppression.address_key(ADA), "one-click")
        suppression.suppress(suppression.address_key("b@example.org"), "hard_bounce", "dsn")
        suppression.suppress(suppression.address_key("c@example.org"), "complaint", "ses")
        db.session.commit()
    sign_in_as_admin(live, page, "/admin/dashboard")
    section = page.locator("section[aria-labelledby=mail-events-title]")
    assert section.locator("[data-stat=mail-unsubscribe]").inner_text() == "1"
    page.get_by_text("Bounces, complaints and unsubscribes per day as a table").click()
    assert section.locator("#mail-events-table").is_visible()
    section.scroll_into_view_if_needed()
    shoot(page, "dashboard-mail-events")
