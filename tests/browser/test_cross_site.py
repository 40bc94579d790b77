"""Attacks from another site, in real Chromium: what the browser itself says of where a
post came from (Sec-Fetch-Site, Origin) is what refuses it, and a page of ours cannot be
framed by another site.

The app runs at http://127.0.0.1:PORT and the attacker's page at http://attacker.example:
different sites, as they would be on the internet.
"""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sites import OtherSite

import partners
from extensions import db
from models import Letter

CASE = "gustavo-gatica"
# A copy of our letter form on the attacker's site, posting to us.
FORGED_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Win a prize</title></head>
<body><form method="post" action="{action}">
<input type="hidden" name="appeal-name" value="Ada Lovelace">
<input type="hidden" name="appeal-email" value="victim@example.org">
<input type="hidden" name="appeal-country" value="GB">
<input type="hidden" name="appeal-body" value="Words the attacker chose">
<input type="hidden" name="appeal-consent_privacy" value="y">
<input type="hidden" name="appeal-language" value="en">
<button type="submit">Claim your prize</button></form></body></html>"""
FRAMING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A trap</title></head>
<body><iframe src="{src}" title="our page" width="800" height="600"></iframe></body></html>"""


ATTACKER = "http://attacker.example/"


def serve_attacker_page(page, html):
    """The attacker's site, http://attacker.example, with one page: Chromium fetches it
    through Playwright's router, and treats it as that origin like any other."""
    page.route(ATTACKER, lambda route: route.fulfill(body=html, content_type="text/html"))


@pytest.fixture
def attacker():
    """A real site on this machine, for framing: Chromium refuses to let a page from the
    internet (as a routed page counts) frame a local server at all."""
    site = OtherSite()
    yield site
    site.stop()


def letters_stored(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Letter))


def test_a_letter_form_on_another_site_cannot_post_to_us(live, no_js_page):
    page = no_js_page
    serve_attacker_page(page, FORGED_FORM.format(action=f"{live.url}/cases/{CASE}/letters/appeal"))
    page.goto(ATTACKER)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Claim your prize").click()
    assert posted.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("came from another site")
    # Our page now shows the text it was sent, for the supporter to read; nothing stored.
    expect(page.locator("#appeal-body")).to_have_value("Words the attacker chose")
    assert letters_stored(live.app) == 0


def test_our_own_form_still_posts_without_any_token(live, no_js_page):
    page = no_js_page
    page.goto(f"{live.url}/cases/{CASE}")
    form = page.locator("#appeal-form")
    assert form.locator("input[name$='csrf_token']").count() == 0
    form.get_by_label("Your name").fill("Ada Lovelace")
    form.get_by_label("Email").fill("ada@example.org")
    form.get_by_label("Country").select_option("GB")
    form.get_by_label("I agree to the privacy notice.").check()
    form.get_by_role("button", name="Send my appeal").click()
    expect(page).to_have_url(f"{live.url}/cases/{CASE}/letters/appeal")  # the thank-you page
    expect(page.locator("h1")).to_have_text("Thank you! Please check your inbox.")
    assert letters_stored(live.app) == 1
    assert page.context.cookies(live.url) == []  # and no cookie on the way


def framed_url(browser, attacker, src):
    """The address the frame on the attacker's page ends up showing."""
    attacker.html = FRAMING_PAGE.format(src=src)
    page = browser.new_page()  # not the page fixture: a refused frame is a console error
    page.goto(attacker.url)
    page.frames[1].wait_for_load_state("load")
    url = page.frames[1].url
    page.close()
    return url


def test_another_site_cannot_frame_our_case_page(live, browser, attacker):
    case_page = f"{live.url}/cases/{CASE}"
    assert framed_url(browser, attacker, case_page).startswith("chrome-error:")  # refused
    # The control: a page whose policy names the attacker's origin (a partner's embed) shows.
    with live.app.app_context():
        partners.add_partner("attacker", "Allowed here", [attacker.url])
    embed = f"{live.url}/embed/attacker/{CASE}"
    assert framed_url(browser, attacker, embed) == embed
