"""Forgery from other sites (Fetch Metadata, Origin), cookies, and framing.

Supporter pages carry no per-visitor token and set no cookie, so a forged post is told
apart by what the browser says of where it came from (Sec-Fetch-Site, else Origin). Staff
pages keep their session cookie and Flask-WTF's token as well.
"""

import pytest
import sqlalchemy as sa
from helpers import SAME_ORIGIN, Supporter, csrf_from, staff_client, stored

import letters
import partners
from extensions import db
from models import Letter, Outbox

CASE = "gustavo-gatica"
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
EVIL = "https://evil.example"
CROSS_SITE = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
# A page on another subdomain of the same site (say, a blog at blog.localhost).
SAME_SITE = {"Origin": "http://blog.localhost", "Sec-Fetch-Site": "same-site"}
FROM_ANOTHER_SITE = "this one came from another site, so nothing was sent"

REFUSED = {
    "cross-site": CROSS_SITE,
    "same-site": SAME_SITE,
    "unknown fetch site": {"Sec-Fetch-Site": "somewhere-new"},
    "another site's origin, no fetch metadata": {"Origin": EVIL},
    "our host on another port": {"Origin": "http://localhost:8080"},
    "our host over https": {"Origin": "https://localhost"},
    "null origin": {"Origin": "null"},
}
ACCEPTED = {
    "same-origin": SAME_ORIGIN,
    "same-origin without Origin": {"Sec-Fetch-Site": "same-origin"},
    "typed in or bookmarked (none)": {"Sec-Fetch-Site": "none"},
    "our origin, no fetch metadata (older browsers)": {"Origin": "http://localhost"},
    "no headers at all (curl, a script)": {},
}


# Letters


@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_a_letter_posted_from_another_site_is_refused_and_nothing_stored(
    app, supporter, case_slug, headers
):
    response = supporter.submit(case_slug, headers=headers, body="Words I did not write")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert FROM_ANOTHER_SITE in html
    assert "<html" in html  # the case page again, the form showing what was sent
    assert "Words I did not write</textarea>" in html
    assert stored(app) == [] and stored(app, Outbox) == []


def test_with_htmx_the_refusal_is_the_form_with_the_message_on_top(app, supporter, case_slug):
    response = supporter.submit(case_slug, htmx=True, headers=CROSS_SITE, body="Keep this text")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith("<form")
    problem = html.index('role="alert"')
    assert problem < html.index("<textarea") and FROM_ANOTHER_SITE in html[problem:]
    assert "Keep this text</textarea>" in html  # nothing typed is lost
    assert stored(app) == []


@pytest.mark.parametrize("headers", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_letter_from_our_own_page_or_from_no_page_is_taken_without_any_token(
    app, supporter, case_slug, headers
):
    page = supporter.client.get(f"/cases/{case_slug}").get_data(as_text=True)
    assert "csrf" not in page.lower()  # nothing of one visitor in the page
    response = supporter.submit(case_slug, headers=headers)
    assert response.status_code == 200
    assert len(stored(app)) == 1


def test_same_site_pages_may_post_when_the_setting_allows_them(make_app, cases):
    app = make_app(CSRF_ALLOW_SAME_SITE=True)
    supporter = Supporter(app.test_client())
    assert supporter.submit(CASE, headers=SAME_SITE).status_code == 200
    assert supporter.submit(CASE, headers=CROSS_SITE, email="b@example.org").status_code == 403
    assert len(stored(app)) == 1


def test_the_origin_must_match_base_url_not_the_host_the_request_named(make_app, cases):
    app = make_app(BASE_URL="https://letters.example.org")
    client = app.test_client()
    ours = Supporter(client).submit(CASE, headers={"Origin": "https://letters.example.org"})
    assert ours.status_code == 200
    # A request that names the attacker's host, from the attacker's page: Host is no proof.
    forged = client.post(f"/cases/{CASE}/letters/appeal", headers={"Origin": EVIL}, base_url=EVIL)
    assert forged.status_code == 403
    assert len(stored(app)) == 1


def test_the_email_check_follows_the_same_rules(client, cases):
    url = f"/cases/{CASE}/letters/appeal/check-email"
    data = {"appeal-email": "ada@"}
    assert client.post(url, data=data, headers={**HTMX, **CROSS_SITE}).status_code == 403
    assert client.post(url, data=data, headers={**HTMX, **SAME_ORIGIN}).status_code == 200


# Confirmation


def confirm_path(app):
    """Send a letter and return its confirmation link's path."""
    Supporter(app.test_client()).submit(CASE)
    with app.test_request_context():
        letter = db.session.scalars(sa.select(Letter)).one()
        return letters.confirm_url(letter).removeprefix("http://localhost")


def is_confirmed(app):
    return stored(app)[0].status == "confirmed"


@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_another_site_cannot_confirm_a_letter_or_ask_for_links(app, client, cases, headers):
    link = confirm_path(app)
    assert client.post(link, headers=headers).status_code == 403
    assert not is_confirmed(app)
    resend = client.post("/confirm/resend", data={"email": "ada@example.org"}, headers=headers)
    assert resend.status_code == 403
    assert len(stored(app, Outbox)) == 1  # no second email


@pytest.mark.parametrize("headers", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_confirm_button_works_without_any_token(app, client, cases, headers):
    link = confirm_path(app)
    assert "csrf" not in client.get(link).get_data(as_text=True).lower()
    assert client.post(link, headers=headers).status_code == 303
    assert is_confirmed(app)


# Staff: the session-bound token as well


def test_a_staff_post_without_its_token_is_refused_even_with_no_headers(app, cases):
    admin = staff_client(app, "admin", "admin@example.org")
    response = admin.post("/admin/dashboard/retry-dead")
    assert response.status_code == 400


def test_a_staff_post_from_another_site_is_refused_even_with_its_token(app, cases):
    admin = staff_client(app, "admin", "admin@example.org")
    token = csrf_from(admin)
    forged = admin.post("/admin/sign-out", data={"csrf_token": token}, headers=CROSS_SITE)
    assert forged.status_code == 403
    assert admin.get("/admin/dashboard").status_code == 200  # still signed in
    mine = admin.post("/admin/sign-out", data={"csrf_token": token}, headers=SAME_ORIGIN)
    assert mine.status_code == 303
    assert admin.get("/admin/dashboard").status_code == 302  # signed out


def test_sign_in_from_another_site_is_refused(app, client):
    token = csrf_from(client)  # the sign-in page's own token
    data = {"csrf_token": token, "email": "nobody@example.org", "password": "x"}
    assert client.post("/admin/sign-in", data=data, headers=CROSS_SITE).status_code == 403


# Cookies: supporters never get one, and no supporter page varies on one


@pytest.fixture
def partner(app, cases):
    with app.app_context():
        partners.add_partner("riverside", "Riverside School", ["https://riverside.example"])


def supporter_pages(app):
    link = confirm_path(app)
    return [
        "/",
        f"/cases/{CASE}",
        f"/cases/{CASE}?letter=es",
        f"/es/cases/{CASE}",
        f"/cases/{CASE}/thanks/appeal",
        f"/cases/{CASE}/confirmed",
        f"/cases/{CASE}/count",
        "/count",
        "/privacy",
        "/api/stats",
        link,
        "/confirm/not-a-token",
        "/confirm/sent",
        f"/embed/riverside/{CASE}",
        f"/embed/riverside/{CASE}/thanks/appeal",
        "/nowhere",
    ]


def assert_no_cookie(response, path):
    assert response.status_code < 500, path
    assert "Set-Cookie" not in response.headers, path
    assert "cookie" not in response.headers.get("Vary", "").lower(), path


@pytest.mark.parametrize("who", ["visitor", "staff"])
def test_supporter_pages_set_no_cookie_and_do_not_vary_on_it(app, partner, who):
    """Even for a signed-in staff member, whose browser sends the session cookie there:
    a shared cache keeps one copy of each public page, for everyone."""
    client = (
        staff_client(app, "admin", "admin@example.org") if who == "staff" else app.test_client()
    )
    for path in supporter_pages(app):
        for headers in ({}, HTMX):
            assert_no_cookie(client.get(path, headers=headers), path)
    posted = [
        Supporter(client).submit(CASE, email="one@example.org"),
        Supporter(client).submit(CASE, email="two@example.org", htmx=True),
        Supporter(client).submit(CASE, email="bad", htmx=True),  # the form again, 422
        Supporter(client).submit(CASE, headers=CROSS_SITE),  # refused, 403
        client.post("/confirm/resend", data={"email": "one@example.org"}, headers=SAME_ORIGIN),
    ]
    for response in posted:
        assert_no_cookie(response, response.request.path)
    if who == "staff":
        assert client.get("/admin/dashboard").status_code == 200  # still signed in


def test_staff_pages_keep_their_session_cookie_httponly_and_lax(app, client):
    response = client.get("/admin/sign-in")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Cookie" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-store"
    admin = staff_client(app, "admin", "admin@example.org")
    assert "session=" in admin.get("/admin/dashboard").headers["Set-Cookie"]  # kept alive


def test_in_production_the_session_cookie_is_secure_and_https_is_required(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)
    response = app.test_client().get("/admin/sign-in")
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# Framing


@pytest.mark.parametrize("path", ["/", f"/cases/{CASE}", "/admin/sign-in", "/nowhere"])
def test_no_other_site_may_frame_our_pages(client, cases, path):
    """An attacker's page that frames ours (to trick a click) is refused by the browser."""
    headers = client.get(path).headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
