"""Screenshot every page at a phone and a desktop width, to look at by hand.

    python tools/screenshots.py http://127.0.0.1:8000 [out-folder]

Staff pages too when STAFF_EMAIL and STAFF_PASSWORD name an admin account
(`flask --app app create-admin`) and STAFF_TOTP_SECRET is the setup key its
authenticator app was given at its first sign-in (the second step). Needs Debian's
chromium (/usr/bin/chromium) and the dev requirements.
"""

import os
import sys
import time
from pathlib import Path

import pyotp
from playwright.sync_api import sync_playwright

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
PAGES = {
    "home": "/",
    "case": "/cases/gustavo-gatica",
    "thanks": "/cases/gustavo-gatica/thanks/appeal",
    "confirm-invalid": "/confirm/not-a-token",
    "confirmed": "/cases/gustavo-gatica/confirmed",
    "privacy": "/privacy",
    "your-letters": "/your-letters",
    "your-letters-link-used": "/your-letters/not-a-token",
    "not-found": "/nowhere",
}
# The language is in the address (English has none): each other language's main pages,
# Arabic (right to left) in full.
for code in ("es", "fr", "tr", "ar"):
    PAGES[f"home-{code}"] = f"/{code}/"
    PAGES[f"case-{code}"] = f"/{code}/cases/gustavo-gatica"
PAGES.update(
    {
        "case-ar-nassima": "/ar/cases/nassima-al-sada",
        # A closed case with its news, and the home page's "Letters work" it feeds.
        "case-closed": "/cases/maxima-acuna",
        "case-closed-es": "/es/cases/maxima-acuna",
        "case-closed-ar": "/ar/cases/maxima-acuna",
        "thanks-ar": "/ar/cases/nassima-al-sada/thanks/appeal",
        "confirm-invalid-ar": "/ar/confirm/not-a-token",
        "privacy-ar": "/ar/privacy",
        "your-letters-ar": "/ar/your-letters",
        "not-found-ar": "/ar/nowhere",
    }
)
# The forms with their errors and their thank-you panel, as htmx shows them, per language.
FORM_PAGES = {"": "/cases/gustavo-gatica", "-ar": "/ar/cases/nassima-al-sada"}
STAFF_PAGES = {
    "admin-sign-in": "/admin/sign-in",
    "admin-queue": "/admin/queue",
    "admin-dashboard": "/admin/dashboard",
    "admin-cases": "/admin/cases",
    "admin-delivery": "/admin/delivery",
    "admin-audit": "/admin/audit",
    "admin-settings": "/admin/settings",
    "admin-partners": "/admin/partners",
    "admin-supporters": "/admin/supporters",
}


def staff_pages(page, base, out, width_name):
    """Sign in as STAFF_EMAIL and take every staff page that exists."""
    page.goto(base + STAFF_PAGES["admin-sign-in"])
    page.screenshot(path=out / f"admin-sign-in-{width_name}.png", full_page=True)
    page.fill("#email", os.environ["STAFF_EMAIL"])
    page.fill("#password", os.environ["STAFF_PASSWORD"])
    page.click("button[type=submit]")
    page.screenshot(path=out / f"admin-two-factor-{width_name}.png", full_page=True)
    secret = os.environ["STAFF_TOTP_SECRET"].replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + (30 if width_name == "desktop" else 0)))
    page.click("button[type=submit]")  # (a code works once: the second width uses the next)
    for name, path in list(STAFF_PAGES.items())[1:]:
        if page.goto(base + path).status == 200:
            page.screenshot(path=out / f"{name}-{width_name}.png", full_page=True)
    news_pages(page, base, out, width_name)
    page.context.clear_cookies()


def news_pages(page, base, out, width_name):
    """The last case's news (the demo's closed case): its list, its first update's page
    with the email to its writers, and the form for a new update."""
    page.goto(base + STAFF_PAGES["admin-cases"])
    links = page.locator('a[href$="/updates"]')
    if not links.count():
        return
    updates = base + links.last.get_attribute("href")
    page.goto(updates)
    page.screenshot(path=out / f"admin-updates-{width_name}.png", full_page=True)
    first = page.locator(".updates-table a")
    if first.count():
        page.goto(base + first.first.get_attribute("href"))
        page.screenshot(path=out / f"admin-update-{width_name}.png", full_page=True)
    page.goto(updates + "/new")
    page.screenshot(path=out / f"admin-update-new-{width_name}.png", full_page=True)


def form_pages(page, url, out, suffix):
    """The appeal form with its inline errors, and the thank-you panel that replaces the
    solidarity form once it is sent."""
    page.goto(url + "#appeal")
    page.click("#appeal-form button[type=submit]")
    page.wait_for_selector("#appeal-problem")
    page.screenshot(path=out / f"case-errors{suffix}.png", full_page=True)
    page.fill("#solidarity-body", "Stay strong.")
    page.fill("#solidarity-name", "Ana")
    page.fill("#solidarity-email", "ana@example.org")
    page.select_option("#solidarity-country", "CL")
    page.check("#solidarity-consent_privacy")
    page.click("#solidarity-form button[type=submit]")
    page.wait_for_selector("#solidarity-thanks")
    page.locator("#solidarity-thanks").screenshot(path=out / f"thanks-panel{suffix}.png")


def main(base, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        for width_name, (width, height) in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            for name, path in PAGES.items():
                page.goto(base + path)
                page.screenshot(path=out / f"{name}-{width_name}.png", full_page=True)
            for suffix, path in FORM_PAGES.items():
                form_pages(page, base + path, out, f"{suffix}-{width_name}")
            # / offers a browser's own language (here Spanish) above the page.
            page.set_extra_http_headers({"Accept-Language": "es"})
            page.goto(base + "/")
            page.screenshot(path=out / f"home-suggests-es-{width_name}.png", full_page=True)
            page.set_extra_http_headers({})
            if os.environ.get("STAFF_EMAIL"):
                staff_pages(page, base, out, width_name)
            page.close()
        browser.close()
    print(f"screenshots in {out}/")


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), sys.argv[2] if len(sys.argv) > 2 else "screenshots")
