"""The staff pages in a real browser: htmx enhancements, focus, and a preview that sends nothing."""

import pyotp
import sqlalchemy as sa
from factories import STAFF_PASSWORD, STAFF_TOTP_SECRET, StaffUserFactory

from extensions import db
from models import Case, Letter


def sign_in_as_admin(live, page, next_path):
    with live.app.app_context():
        StaffUserFactory(email="admin@example.org", role="admin")
    page.goto(f"{live.url}/admin/sign-in?next={next_path}")
    page.fill("#email", "admin@example.org")
    page.fill("#password", STAFF_PASSWORD)
    page.click("form button[type=submit]")
    page.fill("#code", pyotp.TOTP(STAFF_TOTP_SECRET).now())  # the second step
    page.click("form button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def case_id(live, slug):
    with live.app.app_context():
        return db.session.scalar(sa.select(Case.id).where(Case.slug == slug))


def case_names(page):
    return page.locator(".cases-table .case-link").all_inner_texts()


def test_moving_a_case_keeps_the_keyboard_on_its_button(live, page):
    sign_in_as_admin(live, page, "/admin/cases")
    assert case_names(page)[:3] == ["Draft Person", "Germain Rukuki", "Gustavo Gatica"]
    gustavo = case_id(live, "gustavo-gatica")
    button = page.locator(f"#move-{gustavo}-up")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Moved Gustavo Gatica up.")
    assert case_names(page)[:3] == ["Draft Person", "Gustavo Gatica", "Germain Rukuki"]
    assert page.evaluate("document.activeElement.id") == f"move-{gustavo}-up"
    assert page.url.endswith("/admin/cases")  # swapped in place, no reload


def test_the_first_field_with_an_error_gets_the_focus(live, page):
    sign_in_as_admin(live, page, "/admin/cases/new")
    page.fill("#name", "Ana Example")
    page.click(".case-form button[type=submit]")
    page.wait_for_selector(".form-problem")
    assert page.evaluate("document.activeElement.id") == "slug"


def test_a_preview_form_sends_nothing(live, page):
    sign_in_as_admin(live, page, "/admin/cases")
    page.click(f"a[href='/admin/cases/{case_id(live, 'gustavo-gatica')}/preview']")  # published
    page.wait_for_selector(".preview-banner")
    page.fill("#solidarity-body", "Stay strong.")
    page.fill("#solidarity-name", "Ana")
    page.fill("#solidarity-email", "ana@example.org")
    page.select_option("#solidarity-country", "CL")
    page.check("#solidarity-consent_privacy")
    page.click("#solidarity-form button[type=submit]")
    page.wait_for_selector("text=This is a preview: nothing was sent.")
    assert "/preview" in page.url
    with live.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 0


def test_filtering_the_audit_log_updates_the_address(live, page):
    sign_in_as_admin(live, page, "/admin/audit")
    page.select_option("#action", "staff.sign_in")
    page.click("#audit-filter")
    page.wait_for_url("**/admin/audit?action=staff.sign_in*")
    assert page.locator(".audit-table code").all_inner_texts() == ["staff.sign_in"]
    assert page.evaluate("document.activeElement.id") == "audit-filter"
