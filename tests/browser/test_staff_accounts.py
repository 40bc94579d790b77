"""The Staff page and the set-password page in a real browser, at a phone's width."""

from test_admin_pages import sign_in_as_admin

from extensions import db
from models import StaffLink, StaffUser
from staff import links


def test_the_staff_page_fits_a_phone_and_its_table_scrolls_in_its_box(live, page):
    with live.app.app_context():
        db.session.add(
            StaffUser(
                email="a.rather.long.address.for.a.moderator@partner.example.org", password_hash=""
            )
        )
        db.session.commit()
    sign_in_as_admin(live, page, "/admin/staff")
    # The table's visually hidden labels once widened the page to 605 px.
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    box = page.locator(".table-scroll")
    assert page.evaluate("(box) => box.scrollWidth > box.clientWidth", box.element_handle())


def test_an_invitation_ends_in_the_second_step_set_up(live, page):
    sign_in_as_admin(live, page, "/admin/staff")
    page.fill("#invite-email", "new@example.org")
    page.click("button:text-is('Send the invitation')")
    page.wait_for_selector("text=An invitation is on its way to new@example.org")

    with live.app.test_request_context(base_url=live.url):  # the emailed link
        link = db.session.scalar(db.select(StaffLink))
        url = links.link_url(link)
    page.context.clear_cookies()
    page.goto(url)
    assert page.title().startswith("Welcome: choose your password")
    page.fill("#password", "short")
    page.fill("#confirm", "short")
    page.click("form button[type=submit]")
    assert "Use at least 12 characters." in page.inner_text("main")
    page.fill("#password", "seven silver kites over harbour")
    page.fill("#confirm", "seven silver kites over harbour")
    page.click("form button[type=submit]")
    page.wait_for_url("**/admin/sign-in/enrol")
