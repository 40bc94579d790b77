"""Picking a suggested solidarity message in a real browser: with JavaScript it fills the
box, to be edited; without, the picked one is sent when the box is left empty."""

import sqlalchemy as sa
from playwright.sync_api import expect

from cases.demo import CASES
from extensions import db
from models import Letter

CASE = "/cases/gustavo-gatica"
MESSAGES = CASES[1]["solidarity_suggestions"]["en"]


def bodies(app):
    with app.app_context():
        return list(db.session.scalars(sa.select(Letter.body).where(Letter.kind == "solidarity")))


def fill_details(page):
    page.fill("#solidarity-name", "Ana")
    page.fill("#solidarity-email", "ana@example.org")
    page.select_option("#solidarity-country", "CL")
    page.check("#solidarity-consent_privacy")


def test_picking_a_message_fills_the_box_and_an_edit_is_sent(live, page):
    page.goto(live.url + CASE)
    group = page.get_by_role("group", name="Use a suggested message")
    expect(group.get_by_role("radio")).to_have_count(3)
    # By keyboard: into the group, then the arrow keys move between the messages.
    page.focus("#solidarity-suggestion-1")
    page.keyboard.press("Space")
    box = page.locator("#solidarity-body")
    expect(box).to_have_value(MESSAGES[0])
    page.keyboard.press("ArrowDown")
    expect(box).to_have_value(MESSAGES[1])
    expect(page.locator("#announcer")).to_contain_text("The message is in the box below")
    box.press("End")
    box.type(" From Leeds.")
    # The supporter's own words are replaced only if they say so.
    page.once("dialog", lambda dialog: dialog.dismiss())
    group.get_by_role("radio").nth(2).check()
    expect(box).to_have_value(MESSAGES[1] + " From Leeds.")
    fill_details(page)
    page.click("#solidarity-form button[type=submit]")
    expect(page.locator("#solidarity-thanks")).to_be_visible()
    assert bodies(live.app) == [MESSAGES[1] + " From Leeds."]


def test_without_javascript_a_picked_message_is_sent_as_it_is(live, no_js_page):
    page = no_js_page
    page.goto(live.url + CASE)
    page.get_by_label(MESSAGES[2]).check()
    expect(page.locator("#solidarity-body")).to_have_value("")
    fill_details(page)
    page.click("#solidarity-form button[type=submit]")
    expect(page.get_by_role("heading", name="Thank you! Please check your inbox.")).to_be_visible()
    assert bodies(live.app) == [MESSAGES[2]]
