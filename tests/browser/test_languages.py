"""Every supporter in their own language, in real Chromium (issue 13): the whole path in
Spanish and in Arabic with JavaScript and without, from the home page through the email to
the confirmed page; a visit to `/` from an Arabic browser; a Turkish partner's frame; and
axe-core on those pages.

Every page and email is held to "without meeting a word of English" (tests/no_english.py):
a catalog string still untranslated shows up in the failure, by name.

One live server for the module (with the demo campaign, and its mail going to a real SMTP
server): each test writes with an address of its own, so the tests do not meet.
"""

import re
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from babel import Locale
from console import watch_errors
from database import empty_tables
from flask_babel import force_locale, gettext
from helpers import Inbox, stored
from no_english import assert_no_english, case_in_english
from playwright.sync_api import expect
from sites import OtherSite
from werkzeug.serving import make_server

import partners
from app import create_app
from config import TestConfig
from extensions import db
from mail import outbox
from models import Case

CASE = "gustavo-gatica"
AXE = Path(__file__).parents[2] / "node_modules/axe-core/axe.min.js"
# The country each supporter picks (a <select> of ISO codes): their own.
COUNTRY = {"es": "ES", "ar": "EG", "tr": "TR"}
RTL = {"ar"}
# What each supporter types: their name, and a message of solidarity.
NAME = {"es": "Lucía Hernández", "ar": "ليلى حسن", "tr": "Deniz Yılmaz"}
MESSAGE = {"es": "¡Fuerza, Gustavo! Desde Sevilla.", "ar": "نحن معك يا غوستافو."}


@pytest.fixture(scope="module")
def site(schema, tmp_path_factory):
    """The app with the demo campaign, served on a free port; its mail goes to a real SMTP
    server whose messages are in `site.inbox`."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    smtp.start()
    settings = {"SQLALCHEMY_DATABASE_URI": schema, "MAIL_PORT": inbox.port}
    app = create_app(
        type("Config", (TestConfig,), settings),
        instance_path=str(tmp_path_factory.mktemp("instance")),
    )
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed"])
        assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=app.config["BASE_URL"], app=app, inbox=inbox)
    server.shutdown()
    thread.join()
    smtp.stop()
    with app.app_context():
        db.session.remove()
        empty_tables()
        db.session.remove()
        db.engine.dispose()


def said(app, locale, message, **values):
    """What the catalog says for `message` in `locale`, as the site would show it."""
    with app.test_request_context(), force_locale(locale):
        return gettext(message, **values)


def case_in(app, language, slug=CASE):
    """The case's texts in `language` (English where staff have not translated them), and
    the English ones its pages in `language` must not show (`english`)."""
    with app.app_context():
        case = db.session.scalar(sa.select(Case).filter_by(slug=slug))
        translated = case.in_language(language)
        return SimpleNamespace(
            name=translated.name,
            target_title=translated.target_title,
            english=case_in_english(case, language),
        )


def email_to(site, address):
    """The one email the SMTP server received for `address`, once the outbox is sent."""
    with site.app.app_context():
        outbox.send_due()
    messages = [m for m in site.inbox.messages if address in m.envelope_to]
    assert len(messages) == 1, f"{len(messages)} emails to {address}"
    return messages[0]


def in_language(page, language):
    """The page says it is in `language`, in the right direction."""
    html = page.locator("html")
    expect(html).to_have_attribute("lang", language)
    expect(html).to_have_attribute("dir", "rtl" if language in RTL else "ltr")


class Reader:
    """Reads each page (or email) of a path in one language and notes the English strings
    it meets; `done()` fails with all of them, page by page, so that one run lists every
    string a catalog still lacks."""

    def __init__(self, language, case_texts=()):
        self.language, self.found, self.case_texts = language, [], case_texts

    def page(self, page, where):
        """The page is in the language, in its direction; its English is noted."""
        in_language(page, self.language)
        self.text(page.content(), where)

    def text(self, text, where):
        try:
            assert_no_english(text, self.language, where, self.case_texts)
        except AssertionError as english:
            self.found.append(str(english))

    def says(self, expected, text, where):
        """`text` holds the catalog's `expected` words (noted, not failed, when it does not)."""
        if expected not in text:
            self.found.append(f"{where} ({self.language}) lacks {expected!r}: {text[:200]!r}")

    def link(self, link, base):
        """The email's link leads to a page in the language (noted when it does not; the
        path goes on from the page in the language, to see the rest of it)."""
        prefix = f"{base}/{self.language}/"
        if link.startswith(prefix):
            return link
        self.found.append(f"the email's link is not under /{self.language}/: {link}")
        return prefix + link.removeprefix(base + "/")

    def done(self):
        assert not self.found, "\n".join(self.found)


def fill_appeal(page, language, email):
    page.fill("#appeal-name", NAME[language])
    page.fill("#appeal-email", email)
    page.select_option("#appeal-country", COUNTRY[language])
    page.fill("#appeal-city", "Sevilla" if language != "ar" else "القاهرة")
    page.check("#appeal-consent_privacy")


def email_in(site, message, reader, case):
    """The email is in the reader's language: its subject and words are the catalog's,
    and neither part shows English. Returns its confirmation link."""
    language = reader.language
    subject = said(site.app, language, "Please confirm your letter for %(name)s", name=case.name)
    reader.says(subject, message["Subject"], "the email's subject")
    text, html = site.inbox.body(message, "plain"), site.inbox.body(message, "html")
    for words in ("Hello,", "With thanks,"):
        reader.says(said(site.app, language, words), text, "the email's text")
    reader.text(message["Subject"] + "\n" + text, "the email's text")
    reader.text(html, "the email's HTML")
    match = re.search(r"https?://\S+/confirm/\S+", text)
    assert match, "no confirmation link in the email"
    return match.group(0)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("language", ["es", "ar"])
def test_the_whole_path_in_the_supporters_language(site, page, no_js_page, language, javascript):
    page = page if javascript else no_js_page
    case = case_in(site.app, language)
    address = f"{language}-{'js' if javascript else 'nojs'}@example.org"
    read = Reader(language, case.english)
    assert case.english, f"the demo case has no texts in {language}"  # else nothing to miss

    page.goto(f"{site.url}/{language}/")
    read.page(page, "the home page")
    page.locator(f"a[href='/{language}/cases/{CASE}']").first.click()
    expect(page).to_have_url(f"{site.url}/{language}/cases/{CASE}")
    read.page(page, "the case page")

    page.click("#appeal-form button[type=submit]")  # nothing filled in: the errors
    problem = page.locator("#appeal-problem")
    expect(problem).to_be_visible()
    expect(page.locator("#appeal-name-error")).to_contain_text(
        said(site.app, language, "Please tell us your name.")
    )
    read.page(page, "the form with its errors")

    fill_appeal(page, language, address)
    page.click("#appeal-form button[type=submit]")
    thanks = said(site.app, language, "Thank you! Please check your inbox.")
    if javascript:
        expect(page.locator("#appeal-thanks-heading")).to_have_text(thanks)
    else:
        expect(page).to_have_url(re.compile(rf"{site.url}/{language}/cases/{CASE}/"))
        expect(page.locator("h1")).to_have_text(thanks)
    read.page(page, "the thank-you panel")
    copy = page.locator("#appeal-thanks [data-copy]")  # it needs JavaScript to work
    expect(copy).to_be_visible() if javascript else expect(copy).to_be_hidden()

    # The message of solidarity is offered with the details already there: one more line
    # to write, and the same email confirms both letters.
    expect(page.locator("#solidarity-name")).to_have_value(NAME[language])
    expect(page.locator("#solidarity-email")).to_have_value(address)
    expect(page.locator("#solidarity-country")).to_have_value(COUNTRY[language])
    page.fill("#solidarity-body", MESSAGE[language])
    page.check("#solidarity-consent_privacy")
    page.click("#solidarity-form button[type=submit]")
    heading = page.locator("#solidarity-thanks-heading" if javascript else "h1")
    expect(heading).to_have_text(thanks)
    joined = "The email we sent you for your first letter confirms this one too: press the button in it once, and both your letters will count."
    expect(page.locator("main")).to_contain_text(said(site.app, language, joined))
    read.page(page, "the thank-you panel of the second letter")

    message = email_to(site, address)  # one email for both letters
    link = read.link(email_in(site, message, read, case), site.url)
    both = said(
        site.app,
        language,
        "This link confirms both letters you wrote on %(date)s: your appeal to %(target)s and your message of solidarity to %(name)s.",
        date="\0",
        target=case.target_title,
        name=case.name,
    )
    text = " ".join(site.inbox.body(message, "plain").split())
    for part in both.split("\0"):
        read.says(" ".join(part.split()), text, "the email's text")
    page.goto(link)
    read.page(page, "the confirm page")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(f"{site.url}/{language}/cases/{CASE}/confirmed")
    expect(page.locator("h1")).to_have_text(
        said(site.app, language, "Thank you: your letter counts")
    )
    read.page(page, "the confirmed page")
    written = [(row.kind, row.status) for row in stored(site.app) if row.email == address]
    assert sorted(written) == [("appeal", "confirmed"), ("solidarity", "confirmed")]
    read.done()


def test_an_arabic_browser_is_offered_the_arabic_site(site, browser):
    context = browser.new_context(
        extra_http_headers={"Accept-Language": "ar,en;q=0.3"},
        viewport={"width": 390, "height": 844},
    )
    page = context.new_page()
    page.goto(site.url + "/")
    in_language(page, "en")  # the address is the English page; the offer hides nothing
    offer = page.locator(".language-suggestion")
    expect(offer).to_be_visible()
    expect(offer).to_have_attribute("lang", "ar")
    expect(offer).to_have_attribute("dir", "rtl")
    arabic = Locale.parse("ar").get_display_name("ar")  # the language's name for itself
    offered = said(site.app, "ar", "This site is also in %(language)s.", language=arabic)
    expect(offer).to_contain_text(offered)
    link = offer.get_by_role(
        "link", name=said(site.app, "ar", "Read it in %(language)s", language=arabic)
    )
    expect(link).to_have_attribute("href", "/ar/")
    link.click()
    expect(page).to_have_url(site.url + "/ar/")
    read = Reader("ar")
    read.page(page, "the Arabic home page")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    context.close()
    read.done()


@pytest.fixture(scope="module")
def turkish_partner(site):
    """A partner's page on another site, framing Gustavo Gatica's form in Turkish."""
    other = OtherSite()
    with site.app.app_context():
        partner = partners.add_partner("okul", "Okulumuz", [other.url])
        case = db.session.scalar(sa.select(Case).filter_by(slug=CASE))
        snippet = partners.snippet(partner, case, "tr")
    other.html = (
        '<!doctype html><html lang="tr"><head><meta charset="utf-8"><title>Okulumuz</title>'
        f"</head><body><main><h1>Okulumuz</h1>{snippet}</main></body></html>"
    )
    yield other
    other.stop()


@pytest.fixture
def framing_page(browser):
    """A page for a partner's site. Chromium refuses the autofocus attribute of content
    swapped into a cross-origin frame and says so on the console (htmx moves the focus
    itself): that message is expected, any other error fails the test."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = watch_errors(page, ("Failed to load resource", "Blocked autofocusing on a"))
    yield page
    context.close()
    assert errors == [], f"the page reported errors: {errors}"


def test_a_turkish_partners_frame_is_entirely_in_turkish(site, framing_page, turkish_partner):
    page, read = framing_page, Reader("tr", case_in(site.app, "tr").english)
    page.goto(turkish_partner.url + "/")
    expect(page.frame_locator("iframe[data-w4r-embed]").locator("#appeal-form")).to_be_visible()
    frame = page.frame(url=re.compile(r"/embed/"))
    assert "lang=tr" in frame.url
    name = said(site.app, "tr", "Write for %(name)s", name=case_in(site.app, "tr").name)
    expect(page.locator("iframe[data-w4r-embed]")).to_have_attribute("title", name)
    read.page(frame, "the Turkish frame")

    frame.click("#appeal-form button[type=submit]")  # nothing filled in: the errors
    expect(frame.locator("#appeal-problem")).to_be_visible()
    expect(frame.locator("#appeal-name-error")).to_contain_text(
        said(site.app, "tr", "Please tell us your name.")
    )
    read.page(frame, "the Turkish frame with errors")

    address = "tr-frame@example.org"
    frame.fill("#appeal-name", NAME["tr"])
    frame.fill("#appeal-email", address)
    frame.select_option("#appeal-country", "TR")
    frame.check("#appeal-consent_privacy")
    frame.click("#appeal-form button[type=submit]")
    expect(frame.locator("#appeal-thanks-heading")).to_have_text(
        said(site.app, "tr", "Thank you! Please check your inbox.")
    )
    read.page(frame, "the Turkish thank-you panel")

    link = read.link(
        email_in(site, email_to(site, address), read, case_in(site.app, "tr")), site.url
    )
    assert "/confirm/" in link
    page.goto(link)  # the email's link opens the site itself, in Turkish
    read.page(page, "the Turkish confirm page")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(f"{site.url}/tr/cases/{CASE}/confirmed")
    read.page(page, "the Turkish confirmed page")
    read.done()


@pytest.fixture
def axe_page(browser):
    """A page that lets axe-core in: the site's Content-Security-Policy refuses any script
    that is not its own file, and Playwright puts axe in the page as an inline script, so
    this context bypasses the CSP (the other tests keep it, and fail on what it blocks)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make install-dev` installs it (npm ci)")
    context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def serious_violations(target):
    """axe-core's serious and critical violations in a page or frame, one line each."""
    target.add_script_tag(path=str(AXE))
    return target.evaluate(
        """async () => (await axe.run(document)).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => `${v.id} (${v.impact}): ${v.help}: `
                + v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(' | '))"""
    )


class Audit:
    """axe-core on each page of a path; `done()` fails with every violation, page by page."""

    def __init__(self):
        self.found = {}

    def check(self, target, where):
        violations = serious_violations(target)
        if violations:
            self.found[where] = violations

    def done(self):
        assert not self.found, "axe-core found serious or critical violations:\n" + "\n".join(
            f"{where}:\n  " + "\n  ".join(lines) for where, lines in self.found.items()
        )


@pytest.mark.parametrize("language", ["es", "ar"])
def test_axe_finds_nothing_serious_on_the_path(site, axe_page, language):
    page, audit = axe_page, Audit()
    address = f"{language}-axe@example.org"
    page.goto(f"{site.url}/{language}/")
    audit.check(page, "home")
    page.goto(f"{site.url}/{language}/cases/{CASE}")
    audit.check(page, "case page")
    page.click("#appeal-form button[type=submit]")
    expect(page.locator("#appeal-problem")).to_be_visible()
    audit.check(page, "case page with the form's errors")
    fill_appeal(page, language, address)
    page.click("#appeal-form button[type=submit]")
    expect(page.locator("#appeal-thanks-heading")).to_be_visible()
    audit.check(page, "thank-you panel")
    token = email_to(site, address).get_body(("plain",)).get_content()
    token = re.search(r"/confirm/(\S+)", token).group(1)
    page.goto(f"{site.url}/{language}/confirm/{token}")
    audit.check(page, "confirm page")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(f"{site.url}/{language}/cases/{CASE}/confirmed")
    audit.check(page, "confirmed page")
    audit.done()


def test_axe_finds_nothing_serious_in_a_turkish_frame(site, axe_page, turkish_partner):
    page, audit = axe_page, Audit()
    page.goto(turkish_partner.url + "/")
    expect(page.frame_locator("iframe[data-w4r-embed]").locator("#appeal-form")).to_be_visible()
    frame = page.frame(url=re.compile(r"/embed/"))
    audit.check(frame, "the Turkish frame")
    frame.click("#appeal-form button[type=submit]")
    expect(frame.locator("#appeal-problem")).to_be_visible()
    audit.check(frame, "the Turkish frame with errors")
    frame.fill("#appeal-name", NAME["tr"])
    frame.fill("#appeal-email", "tr-axe@example.org")
    frame.select_option("#appeal-country", "TR")
    frame.check("#appeal-consent_privacy")
    frame.click("#appeal-form button[type=submit]")
    expect(frame.locator("#appeal-thanks-heading")).to_be_visible()
    audit.check(frame, "the Turkish thank-you panel")
    audit.done()


def test_axe_reports_what_it_finds(site, axe_page):
    """The check can fail: an image without a text alternative is a critical violation."""
    axe_page.goto(f"{site.url}/ar/")
    axe_page.evaluate("document.querySelector('main').append(document.createElement('img'))")
    assert any(line.startswith("image-alt (critical)") for line in serious_violations(axe_page))
