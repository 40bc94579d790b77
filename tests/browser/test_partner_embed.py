"""The partner embed in real Chromium: a partner's page on another site frames the letter
form, with third-party cookies blocked, and the letter counts for the partner.

The app runs at http://127.0.0.1:PORT and the partner's page at http://localhost:OTHER:
different sites, so the frame is a third-party frame. Third-party cookies are blocked by
the profile preference Chromium itself uses for "Block third-party cookies"
(profile.cookie_controls_mode = 1); command-line flags such as
--test-third-party-cookie-phaseout do not override it in this Chromium. The first test
proves the blocking is real, and that the probe would see a cookie if it were allowed.
"""

import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sites import OtherSite

import partners
from extensions import db
from models import Case, Letter, Outbox

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]  # as conftest.py
CASE = "gustavo-gatica"
PARTNER_CSS = """
body { font-family: Georgia, serif; margin: 0; background: #eef3f7; color: #1f2a33; }
header { background: #174a7c; color: #fff; padding: 1rem 1.5rem; }
header h1 { margin: 0; font-size: 1.4rem; }
main { max-width: 46rem; margin: 0 auto; padding: 1rem; }
.intro { font-size: 1.1rem; }
"""
PARTNER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Riverside School human rights club</title>
<link rel="stylesheet" href="/partner.css"></head>
<body><header><h1>Riverside School human rights club</h1></header>
<main><p class="intro">This year our club writes for Gustavo Gatica. Add your letter below:
it takes a minute.</p>
{snippet}
<p id="after-the-form">Thank you for writing with us.</p></main></body></html>"""
# 4xx answers are expected (htmx swaps a 422 form). Chromium ignores the autofocus
# attribute of content inserted into a cross-origin frame and says so; htmx moves the focus
# itself, which the tests check with to_be_focused().
EXPECTED_CONSOLE_ERRORS = ("Failed to load resource", "Blocked autofocusing on a")
COOKIE_PROBE = """() => {
    document.cookie = "w4r_probe=1; SameSite=None; Secure; Path=/";
    return document.cookie;
}"""


@pytest.fixture
def sites():
    """The partner's site and a site that is not on its list (another port: another origin)."""
    partner_site, other_site = OtherSite(), OtherSite()
    partner_site.files["/partner.css"] = other_site.files["/partner.css"] = (
        PARTNER_CSS,
        "text/css",
    )
    yield SimpleNamespace(partner=partner_site, other=other_site)
    partner_site.stop()
    other_site.stop()


@pytest.fixture
def embed(live, sites):
    """A partner allowed on its own site only, and its snippet on both sites' pages."""
    with live.app.app_context():
        partner = partners.add_partner("riverside", "Riverside School", [sites.partner.url])
        case = db.session.scalar(sa.select(Case).filter_by(slug=CASE))
        snippet = partners.snippet(partner, case)
        partner_id = partner.id
    page = PARTNER_PAGE.format(snippet=snippet)
    sites.partner.html = sites.other.html = page
    return SimpleNamespace(live=live, sites=sites, partner_id=partner_id, snippet=snippet)


def launch(playwright, user_data_dir, block_third_party_cookies):
    """A Chromium profile that blocks third-party cookies (or, for the control, allows them)."""
    (user_data_dir / "Default").mkdir(parents=True)
    mode = 1 if block_third_party_cookies else 0
    preferences = {"profile": {"cookie_controls_mode": mode}}
    (user_data_dir / "Default" / "Preferences").write_text(json.dumps(preferences))
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=CHROMIUM,
        args=ARGS,
        headless=True,
        viewport={"width": 390, "height": 844},
    )


@pytest.fixture(scope="module")
def cookieless(playwright, tmp_path_factory):
    """Chromium with third-party cookies blocked, as Safari and Firefox do by default."""
    context = launch(playwright, tmp_path_factory.mktemp("cookieless"), True)
    yield context
    context.close()


@pytest.fixture
def partner_page(cookieless):
    """A page in the cookie-blocking browser; page errors and console errors fail the test."""
    page = cookieless.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "console",
        lambda msg: (
            msg.type == "error"
            and not msg.text.startswith(EXPECTED_CONSOLE_ERRORS)
            and page.errors.append(msg.text)
        ),
    )
    yield page
    page.close()


def the_frame(page):
    return page.frame_locator("iframe[data-w4r-embed]")


def frame_of(page):
    return page.locator("iframe[data-w4r-embed]").element_handle().content_frame()


def fits_its_content(page):
    """The frame's height in the partner's page, and its content's height inside."""
    outer = page.locator("iframe[data-w4r-embed]").evaluate(
        "frame => frame.getBoundingClientRect().height"
    )
    inner = frame_of(page).evaluate("() => document.body.getBoundingClientRect().height")
    return outer, inner


def wait_until_fitted(page, not_height=None):
    page.wait_for_function(
        """(previous) => {
            const frame = document.querySelector("iframe[data-w4r-embed]");
            const height = parseFloat(frame.style.height || "0");
            return height > 0 && height !== previous;
        }""",
        arg=not_height,
    )
    outer, inner = fits_its_content(page)
    assert abs(outer - inner) <= 2, (outer, inner)
    return outer


def send_appeal(frame):
    """Fill in the rest of the framed appeal form and send it."""
    frame.locator("#appeal-name").fill("Ada Lovelace")
    frame.locator("#appeal-email").fill("ada@example.org")
    frame.locator("#appeal-country").select_option("GB")
    frame.locator("#appeal-consent_privacy").check()
    frame.locator("#appeal-form button[type=submit]").click()


def stored(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Letter)).all()
        db.session.expunge_all()
        return rows


def test_third_party_cookies_are_really_blocked_in_the_frame(
    embed, partner_page, playwright, tmp_path
):
    partner_page.goto(embed.sites.partner.url)
    expect(the_frame(partner_page).locator("#appeal-form")).to_be_visible()
    assert frame_of(partner_page).url.startswith(embed.live.url)  # a third-party frame
    assert frame_of(partner_page).evaluate(COOKIE_PROBE) == ""
    # The control: the same probe, in a profile that allows third-party cookies, sees one.
    allowing = launch(playwright, tmp_path / "allowing", False)
    page = allowing.new_page()
    page.goto(embed.sites.partner.url)
    expect(the_frame(page).locator("#appeal-form")).to_be_visible()
    assert frame_of(page).evaluate(COOKIE_PROBE) == "w4r_probe=1"
    allowing.close()


def test_a_letter_sent_inside_the_frame_counts_for_the_partner(embed, partner_page):
    page = partner_page
    page.goto(embed.sites.partner.url)
    frame = the_frame(page)
    expect(frame.locator("text=with Riverside School")).to_be_visible()
    first = wait_until_fitted(page)
    assert first > 900  # both forms are taller than the snippet's fallback height
    unlabelled = frame_of(page).evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(el => el.type !== 'hidden' && !el.closest('[aria-hidden=true]'))
            .filter(el => !(el.labels && el.labels.length) && !el.textContent.trim())
            .map(el => el.outerHTML)"""
    )
    assert unlabelled == []  # every control of the framed form has its label

    # A mistake: the problems are listed, take the focus and are announced; the frame grows.
    frame.locator("#appeal-email").fill("ada@")
    frame.locator("#appeal-form button[type=submit]").click()
    problem = frame.locator("#appeal-problem")
    expect(problem).to_contain_text("Please check 4 things")
    expect(problem).to_be_focused()
    expect(problem).to_have_attribute("role", "alert")  # announced once, by itself
    expect(frame.locator("#announcer")).to_have_text("")
    expect(frame.locator("#appeal-name-error")).to_have_text("Error: Please tell us your name.")
    with_errors = wait_until_fitted(page, not_height=first)
    assert with_errors > first

    send_appeal(frame)

    heading = frame.locator("#appeal-thanks-heading")
    expect(heading).to_have_text("Thank you! Please check your inbox.")
    expect(heading).to_be_focused()
    expect(heading).to_be_in_viewport()  # the partner's page scrolled to it
    expect(frame.locator("#announcer")).to_have_text("")  # the focus reads it, once
    after = wait_until_fitted(page, not_height=with_errors)
    assert after < with_errors  # the thank-you panel is shorter than the form it replaced

    [letter] = stored(embed.live.app)
    assert (letter.partner_id, letter.name, letter.email) == (
        embed.partner_id,
        "Ada Lovelace",
        "ada@example.org",
    )
    with embed.live.app.app_context():
        assert db.session.scalar(sa.select(Outbox.template)) == "confirm"
    assert page.context.cookies(embed.live.url) == []  # it worked with no cookie at all
    assert page.errors == []


def test_the_next_step_in_the_frame_brings_its_form_into_view(embed, partner_page):
    page = partner_page
    page.goto(embed.sites.partner.url)
    frame = the_frame(page)
    frame.locator("#solidarity-body").fill("Stay strong.")
    frame.locator("#solidarity-name").fill("Ana")
    frame.locator("#solidarity-email").fill("ana@example.org")
    frame.locator("#solidarity-country").select_option("CL")
    frame.locator("#solidarity-consent_privacy").check()
    frame.locator("#solidarity-form button[type=submit]").click()
    expect(frame.locator("#solidarity-thanks-heading")).to_be_focused()
    frame.locator("#solidarity-thanks a[href='#appeal']").click()
    expect(frame.locator("#appeal-heading")).to_be_in_viewport()
    assert [letter.kind for letter in stored(embed.live.app)] == ["solidarity"]
    assert page.errors == []


def test_the_partners_page_ignores_messages_that_are_not_the_frames(embed, partner_page):
    page = partner_page
    page.goto(embed.sites.partner.url)
    expect(the_frame(page).locator("#appeal-form")).to_be_visible()
    height = wait_until_fitted(page)
    height_now = "() => document.querySelector('iframe[data-w4r-embed]').style.height"
    # From the partner's own page (another origin), and from the frame with a bad shape.
    page.evaluate("() => window.postMessage({type: 'w4r:height', height: 5}, '*')")
    for message in (
        "{type: 'w4r:height', height: 50000}",
        "{type: 'w4r:height', height: '5px'}",
        "{type: 'w4r:height', height: -5}",
        "{height: 5}",
        "'w4r:height 5'",
    ):
        frame_of(page).evaluate(f"() => window.parent.postMessage({message}, '*')")
    page.wait_for_timeout(200)
    assert page.evaluate(height_now) == f"{height:g}px"
    # The frame's own, well-formed message is taken.
    frame_of(page).evaluate(
        "() => window.parent.postMessage({type: 'w4r:height', height: 1234}, '*')"
    )
    page.wait_for_function(f"() => ({height_now})() === '1234px'")
    assert page.errors == []


def test_without_the_script_the_frame_works_at_its_fixed_height(embed, partner_page):
    frame_only = embed.snippet.split("\n")[0]
    embed.sites.partner.html = PARTNER_PAGE.format(snippet=frame_only)
    page = partner_page
    page.goto(embed.sites.partner.url)
    frame = the_frame(page)
    send_appeal(frame)
    expect(frame.locator("#appeal-thanks-heading")).to_be_focused()
    frame_height = page.locator("iframe[data-w4r-embed]").evaluate("frame => frame.clientHeight")
    assert frame_height == 900  # the snippet's height; the frame scrolls inside
    assert [letter.partner_id for letter in stored(embed.live.app)] == [embed.partner_id]
    assert page.errors == []


def test_a_site_not_on_the_list_cannot_frame_the_form(embed, cookieless):
    page = cookieless.new_page()
    console = []
    page.on("console", lambda msg: console.append(msg.text))
    page.goto(embed.sites.other.url)
    page.wait_for_load_state("load")
    frame = frame_of(page)
    page.wait_for_function("() => true")
    assert not frame.url.startswith(embed.live.url)  # the browser refused to show it
    assert frame.locator("#appeal-form").count() == 0
    refused = [text for text in console if "frame-ancestors" in text]
    assert refused and embed.sites.partner.url in refused[0], console
    page.close()
