"""Two-factor sign-in in a real browser: the QR code shows under the site's CSP, the code
field has the focus, and a wrong code is said next to it."""

import pyotp
from factories import STAFF_PASSWORD, STAFF_TOTP_SECRET, StaffUserFactory
from playwright.sync_api import expect


def password_step(live, page, email):
    page.goto(f"{live.url}/admin/sign-in?next=/admin/queue")
    page.fill("#email", email)
    page.fill("#password", STAFF_PASSWORD)
    page.click("form button[type=submit]")


def test_the_code_step_has_the_focus_and_says_what_is_wrong(live, page):
    with live.app.app_context():
        StaffUserFactory(email="mod@example.org")
    password_step(live, page, "mod@example.org")
    expect(page).to_have_url(f"{live.url}/admin/sign-in/code")
    expect(page.locator("#code")).to_be_focused()
    page.fill("#code", "000000")
    page.click("form button[type=submit]")
    expect(page.locator("#code-error")).to_have_text(
        "Error: That code is not right. Please type the 6 digits your app shows now."
    )
    expect(page.locator("#code")).to_be_focused()
    expect(page.locator("#code")).to_have_attribute("aria-invalid", "true")
    page.click("text=No phone? Use a recovery code")
    expect(page.locator("#recovery_code")).to_be_focused()
    page.click("text=Use a code from your app instead")
    page.fill("#code", pyotp.TOTP(STAFF_TOTP_SECRET).now())
    page.click("form button[type=submit]")
    expect(page).to_have_url(f"{live.url}/admin/queue")


def test_the_first_sign_in_shows_a_qr_code_and_signs_in(live, page):
    with live.app.app_context():
        StaffUserFactory(email="new@example.org", totp_secret=None, totp_confirmed_at=None)
    password_step(live, page, "new@example.org")
    expect(page).to_have_url(f"{live.url}/admin/sign-in/enrol")
    qr = page.locator("img.qr-code")
    expect(qr).to_be_visible()
    # The data: image loaded (the CSP allows it): a blocked one has no natural size.
    assert qr.evaluate("image => image.complete && image.naturalWidth") > 100
    key = page.locator(".secret-key code").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(key).now())
    page.click("form button[type=submit]")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.click("text=I have stored them: sign in")
    expect(page).to_have_url(f"{live.url}/admin/queue")
