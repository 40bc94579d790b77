"""Offline reports in real Chromium: a partner fills in the report form on its stats page
(the date picker, the country list, a photo), gets its errors with the keyboard on them,
and sees its report waiting; an admin approves it with its photo in view."""

import io
from datetime import timedelta

import sqlalchemy as sa
from factories import PartnerFactory
from PIL import Image
from playwright.sync_api import expect
from test_admin_pages import sign_in_as_admin

from extensions import db
from models import OfflineReport, utcnow


def photo(tmp_path):
    path = tmp_path / "stack.jpg"
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return str(path)


def test_a_partner_reports_in_the_browser_and_an_admin_approves(live, page, tmp_path):
    with live.app.app_context():
        token = PartnerFactory(slug="riverside", name="Riverside School").stats_token
    page.goto(f"{live.url}/partners/stats/{token}")
    page.fill("#event", "Stall at the Harbour Festival")
    page.click(".report-form button[type=submit]")
    problem = page.locator(".report-form .form-problem")
    expect(problem).to_be_focused()  # the page comes back with the keyboard on what to fix
    expect(problem).to_contain_text("Please choose the case the letters were written for.")
    expect(page.locator("#event")).to_have_value("Stall at the Harbour Festival")  # kept

    page.select_option("#case_id", label="Gustavo Gatica")
    page.fill("#appeals", "1,200")
    page.fill("#town", "Leeds")
    page.select_option("#country", "GB")
    page.fill("#held_on", (utcnow().date() - timedelta(days=1)).isoformat())
    page.set_input_files("#photo", photo(tmp_path))
    page.click(".report-form button[type=submit]")
    expect(page.locator(".report-notice")).to_contain_text("Thank you: your report was sent.")
    expect(page.locator(".report-list")).to_contain_text("Waiting for review")
    expect(page.locator(".report-list")).to_contain_text("1,200 appeal letters")
    with live.app.app_context():
        report = db.session.scalar(sa.select(OfflineReport))
        assert (report.appeals, report.solidarity, report.photo is not None) == (1200, 0, True)

    sign_in_as_admin(live, page, "/admin/offline")
    page.click("text=Stall at the Harbour Festival")
    image = page.locator("img.offline-photo")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 800  # served, and readable
    page.check("#decision-approve")
    page.click("text=Record the decision")
    expect(page.locator(".notice")).to_contain_text("Approved: the report counts in the totals.")
