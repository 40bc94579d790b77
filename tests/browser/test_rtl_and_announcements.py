"""Right to left, what screen readers hear, touch targets and the counters, in Chromium
(issue 13): an Arabic page mirrors and shows real Arabic letters; the inline email check,
the error summary and "Sending…" are each announced once; header and footer links are big
enough for a thumb; counters rest while the tab is hidden and for a closed case.

The screenshots test saves its PNGs under pytest's temporary folder (its path is printed,
and kept with --basetemp): look at them after a change to the layout."""

import time
from itertools import pairwise

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

import letters
import partners
from extensions import db
from models import Case

CASE = "/cases/gustavo-gatica"
ARABIC_CASE = "/ar/cases/nassima-al-sada"
PHONE = {"width": 390, "height": 844}


def counter_requests(page):
    """The counter polls the page makes from now on (a list that fills as they happen)."""
    seen = []
    page.on("request", lambda request: request.url.endswith("/count") and seen.append(request))
    return seen


def set_visibility(page, state):
    """What the browser does when the tab goes to the background or comes back."""
    page.evaluate(
        """state => {
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            Object.defineProperty(document, "hidden", {value: state === "hidden", configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def close_case(app, slug):
    with app.app_context():
        db.session.execute(sa.update(Case).where(Case.slug == slug).values(status="closed"))
        db.session.commit()


def fill_letter(page, kind, name, email, country):
    """Everything a letter form asks for but its text (the appeal's is suggested)."""
    for field, value in (("name", name), ("email", email)):
        page.fill(f"#{kind}-{field}", value)
    page.select_option(f"#{kind}-country", country)
    page.check(f"#{kind}-consent_privacy")


# What screen readers hear


def test_the_inline_email_error_is_announced_by_a_live_region_that_stays(live, page):
    page.goto(live.url + CASE)
    error = page.locator("#appeal-email-error")
    expect(error).to_have_attribute("aria-live", "polite")
    # A live region announces changes to its text, not a fresh element put in its place.
    error.evaluate("element => { window.emailRegion = element }")
    page.fill("#appeal-email", "ada@")
    page.keyboard.press("Tab")
    expect(error).to_contain_text("valid email address")
    assert error.evaluate("element => element === window.emailRegion")
    expect(error).to_have_attribute("aria-live", "polite")
    expect(page.locator("#appeal-email")).to_have_attribute(
        "aria-describedby", "appeal-email-hint appeal-email-error"
    )


def test_errors_after_send_are_announced_once(live, page):
    page.goto(live.url + CASE)
    page.fill("#appeal-email", "ada@")
    page.click("#appeal-form button[type=submit]")
    expect(page.locator("#appeal-problem")).to_contain_text("Please check 4 things")
    # Only the summary itself (role=alert) speaks: no live region repeats it.
    speaking = page.evaluate(
        """() => [...document.querySelectorAll('[role=alert], [aria-live], [role=status]')]
            .filter(el => el.textContent.includes('Please check'))
            .map(el => el.id || el.className)"""
    )
    assert speaking == ["appeal-problem"]
    # Under the panel's h2, the summary's heading is an h3.
    expect(page.locator("#appeal-problem h3")).to_have_count(1)


def test_sending_is_announced_in_the_forms_status_region(live, page, monkeypatch):
    real_submit = letters.submit_letter
    monkeypatch.setattr(
        letters, "submit_letter", lambda *a, **k: (time.sleep(1.0), real_submit(*a, **k))[1]
    )
    page.goto(live.url + CASE)
    page.fill("#solidarity-body", "Stay strong.")
    fill_letter(page, "solidarity", "Ana", "ana@example.org", "EG")
    status = page.locator("#solidarity-form [data-form-status]")
    expect(status).to_have_attribute("role", "status")
    page.click("#solidarity-form button[type=submit]")
    expect(status).to_have_text("Sending…")
    expect(page.locator("#solidarity-thanks-heading")).to_be_visible()


def test_the_inline_email_check_does_not_say_sending(live, page):
    page.goto(live.url + CASE)
    page.fill("#appeal-email", "ada@")
    page.keyboard.press("Tab")
    expect(page.locator("#appeal-email-error")).to_contain_text("valid email address")
    expect(page.locator("#appeal-form [data-form-status]")).to_have_text("")


# Counters


def test_counters_do_not_poll_while_the_tab_is_hidden(live, page):
    page.goto(live.url + CASE)
    polls = counter_requests(page)
    page.wait_for_timeout(2500)
    assert polls, "the counter polls every second while the page is seen"
    set_visibility(page, "hidden")
    page.wait_for_timeout(300)  # a poll already on its way may still land
    polls.clear()
    page.wait_for_timeout(3500)
    assert polls == []
    set_visibility(page, "visible")  # back: brought up to date right away
    page.wait_for_timeout(500)
    assert len(polls) >= 1


def test_a_closed_cases_counter_never_polls(live, page):
    close_case(live.app, "gustavo-gatica")
    page.clock.install()
    page.goto(live.url + CASE)
    expect(page.locator("#case-counter")).to_be_visible()
    expect(page.locator("#case-counter")).not_to_have_attribute("data-hx-trigger", "")
    polls = counter_requests(page)
    page.clock.run_for(60_000)  # a minute
    page.wait_for_timeout(300)
    assert polls == []
    assert page.locator("#case-counter[data-hx-trigger]").count() == 0


def test_an_open_cases_counter_polls_in_the_same_minute(live, page):
    """The control for the test above: the fake minute does run the counter's timer."""
    page.clock.install()
    page.goto(live.url + CASE)
    polls = counter_requests(page)
    page.clock.run_for(60_000)
    page.wait_for_timeout(300)
    assert len(polls) >= 1


# Right to left


def text_box(page, selector):
    """The box of an element's text itself (a label stretches the field's whole width)."""
    return page.evaluate(
        """selector => {
            const range = document.createRange();
            range.selectNodeContents(document.querySelector(selector));
            const box = range.getBoundingClientRect();
            return {left: box.left, right: box.right};
        }""",
        selector,
    )


def test_an_arabic_page_reads_right_to_left_with_its_labels_at_the_right(live, page):
    page.goto(live.url + ARABIC_CASE)
    assert page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
    for field in ("appeal-body", "appeal-name", "appeal-email", "appeal-country"):
        control = page.locator(f"#{field}").bounding_box()
        label = text_box(page, f"label[for={field}]")
        control_right = control["x"] + control["width"]
        assert abs(label["right"] - control_right) <= 2, field  # starts where the field does
        assert label["left"] > control["x"] + 24, field  # and is not stretched to the left
    # The summary of errors reads from the right too, its list in order.
    page.click("#appeal-form button[type=submit]")
    expect(page.locator("#appeal-problem")).to_be_visible()
    problem = page.locator("#appeal-problem").bounding_box()
    first = text_box(page, "#appeal-problem li:first-child a")
    assert abs(first["right"] - (problem["x"] + problem["width"])) < 60
    links = page.locator("#appeal-problem li a")
    assert links.first.get_attribute("href") == "#appeal-name"  # the first field left empty


def test_arrows_point_the_way_the_page_reads(live, page):
    for path, arrow in (("/", "→"), ("/ar/", "←")):
        page.goto(live.url + path)
        content = page.evaluate(
            "getComputedStyle(document.querySelector('.card__cta'), '::after').content"
        )
        assert arrow in content, path


def test_arabic_letters_are_drawn_with_the_sites_webfont(live, page):
    page.goto(live.url + ARABIC_CASE)
    statuses = page.evaluate(
        """async () => {
            await document.fonts.ready;
            return [...document.fonts].filter(f => f.family.includes("Naskh")).map(f => f.status);
        }"""
    )
    assert statuses == ["loaded"]  # (Chromium here has only DejaVu's crude Arabic)


@pytest.mark.parametrize("path", ["/", CASE, ARABIC_CASE, "/ar/"])
def test_header_and_footer_links_are_big_enough_to_touch_on_a_phone(live, page, path):
    page.goto(live.url + path)
    links = page.locator("header.site-header a, footer.site-footer a")
    assert links.count() >= 8  # the brand, five languages, two sections; two in the footer
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        name = links.nth(index).inner_text()
        assert box["width"] >= 24 and box["height"] >= 24, (name, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_language_switcher_marks_the_page_language_and_shows_focus(live, page):
    page.goto(live.url + ARABIC_CASE)
    current = page.locator(".languages-nav a[aria-current=page]")
    expect(current).to_have_text("العربية")
    expect(current).to_have_attribute("lang", "ar")
    spanish = page.locator('.languages-nav a[hreflang="es"]')
    expect(spanish).to_have_text("Español")
    spanish.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).boxShadow") != "none"


def test_screenshots_of_the_arabic_and_spanish_pages(live, browser, tmp_path_factory):
    """For a person to look at (the path is printed), and no page wider than the screen."""
    out = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots in {out}")

    def shoot(page, name):
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
        page.evaluate("document.fonts.ready")
        page.screenshot(path=out / f"{name}.png", full_page=True)

    phone = browser.new_page(viewport=PHONE)
    phone.goto(live.url + ARABIC_CASE)
    shoot(phone, "ar-case-390")
    phone.goto(live.url + "/ar/")
    shoot(phone, "ar-home-390")
    phone.goto(live.url + ARABIC_CASE + "#appeal")
    phone.fill("#appeal-email", "ada@")
    phone.click("#appeal-form button[type=submit]")
    expect(phone.locator("#appeal-problem")).to_be_visible()
    shoot(phone, "ar-case-errors-390")
    phone.locator("#appeal-form").screenshot(path=out / "ar-form-errors-390.png")
    fill_letter(phone, "appeal", "سلمى", "salma@example.org", "EG")
    phone.click("#appeal-form button[type=submit]")
    expect(phone.locator("#appeal-thanks-heading")).to_be_visible()
    shoot(phone, "ar-case-thanks-390")
    phone.locator("#appeal-thanks").screenshot(path=out / "ar-thanks-panel-390.png")
    phone.close()

    desktop = browser.new_page(viewport={"width": 1280, "height": 900})
    for path, name in (("/es/", "es-home-1280"), ("/es" + CASE, "es-case-1280")):
        desktop.goto(live.url + path)
        shoot(desktop, name)
    desktop.goto(live.url + "/es" + CASE + "#appeal")
    desktop.click("#appeal-form button[type=submit]")
    expect(desktop.locator("#appeal-problem")).to_be_visible()
    shoot(desktop, "es-case-errors-1280")
    desktop.close()
    assert len(list(out.glob("*.png"))) == 9


def test_an_arabic_partner_frame_mirrors_and_its_summary_follows_the_heading_order(
    live, page, tmp_path_factory
):
    """The frame's own page (a partner frames it; opened here directly, as its layout is
    the same): right to left, and the error summary an h3 under the panel's h2."""
    with live.app.app_context():
        partners.add_partner("riverside", "Riverside School", ["https://partner.example"])
    page.goto(live.url + "/embed/riverside/nassima-al-sada?lang=ar")
    assert page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
    page.click("#appeal-form button[type=submit]")
    expect(page.locator("#appeal-problem h3")).to_have_count(1)
    levels = page.evaluate(
        """() => [...document.querySelectorAll('h1, h2, h3, h4')]
            .map(heading => Number(heading.tagName[1]))"""
    )
    assert levels[0] == 1
    assert all(later <= earlier + 1 for earlier, later in pairwise(levels))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    out = tmp_path_factory.mktemp("screenshots")
    page.screenshot(path=out / "ar-frame-errors-390.png", full_page=True)
    print(f"screenshot in {out}")
