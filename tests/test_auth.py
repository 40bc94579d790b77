"""Staff sign-in, sessions and accounts: what staff see, and what an attacker gets."""

import time

import pytest
import sqlalchemy as sa
from factories import STAFF_PASSWORD, StaffUserFactory
from helpers import hidden_value, sign_in

from extensions import db
from models import AuditEvent, StaffUser


@pytest.fixture
def account(app):
    """A moderator's account, not signed in: mod@example.org with STAFF_PASSWORD."""
    with app.app_context():
        StaffUserFactory(email="mod@example.org")


def test_admin_entry_leads_signed_out_visitors_to_sign_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/sign-in?next=/admin/"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and 'type="password"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_htmx_requests_signed_out_are_sent_to_sign_in(client):
    response = client.get("/admin/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/admin/sign-in?next=")


def test_sign_in_then_back_to_the_page_asked_for(app, client, account):
    response = sign_in(client, "Mod@Example.org ", next_path="/admin/?view=mine")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/?view=mine"
    with app.app_context():
        user = db.session.scalar(sa.select(StaffUser))
        assert user.last_sign_in_at is not None
        assert db.session.scalar(sa.select(AuditEvent.action)) == "staff.sign_in"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_sign_in_never_follows_a_next_link_elsewhere(client, target, account):
    response = sign_in(client, "mod@example.org", next_path=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize(
    ("email", "password"),
    [("mod@example.org", "wrong password!"), ("nobody@example.org", STAFF_PASSWORD)],
)
def test_a_failed_sign_in_says_the_same_whatever_was_wrong(client, email, password, account):
    response = sign_in(client, email, password)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "That email and password do not match an active staff account." in html
    assert password not in html  # the password is never sent back
    assert client.get("/admin/").status_code == 302


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(app, runner, account):
    client = app.test_client()
    assert sign_in(client, "mod@example.org").status_code == 303
    assert client.get("/admin/").status_code == 302  # to the queue: signed in
    assert client.get("/admin/").headers["Location"] != "/admin/sign-in?next=/admin/"
    result = runner.invoke(args=["staff", "disable", "mod@example.org"])
    assert result.exit_code == 0 and "Disabled mod@example.org" in result.output
    assert client.get("/admin/").headers["Location"] == "/admin/sign-in?next=/admin/"
    assert sign_in(app.test_client(), "mod@example.org").status_code == 422


def test_sign_in_gives_a_new_session(client, account):
    """Session fixation: the cookie from before sign-in is not the one after."""
    client.get("/admin/sign-in")
    before = client.get_cookie("session").value
    sign_in(client, "mod@example.org")
    after = client.get_cookie("session").value
    assert before != after
    assert client.get_cookie("session").expires is not None  # a session that ends


def test_sign_in_without_csrf_token_is_refused(client, account):
    response = client.post(
        "/admin/sign-in", data={"email": "mod@example.org", "password": STAFF_PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/").headers["Location"].startswith("/admin/sign-in")


def test_sessions_end_when_idle_and_after_their_lifetime(app, monkeypatch, account):
    client = app.test_client()
    sign_in(client, "mod@example.org")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 59 * 60)  # idle 59 minutes: still in
    assert not client.get("/admin/").headers["Location"].startswith("/admin/sign-in")
    monkeypatch.setattr(time, "time", lambda: now + 59 * 60 + 61 * 60)  # idle 61 minutes
    assert client.get("/admin/").headers["Location"].startswith("/admin/sign-in")
    sign_in(client, "mod@example.org")
    start = time.time()
    for hour in range(1, 8):  # busy all day, never idle: out after STAFF_SESSION_HOURS
        monkeypatch.setattr(time, "time", lambda hour=hour: start + hour * 3600 - 60)
        assert not client.get("/admin/").headers["Location"].startswith("/admin/sign-in")
    monkeypatch.setattr(time, "time", lambda: start + 8 * 3600 + 1)
    assert client.get("/admin/").headers["Location"].startswith("/admin/sign-in")


def test_sign_out_ends_the_session(client, account):
    sign_in(client, "mod@example.org")
    page = client.get("/admin/sign-in", follow_redirects=True).get_data(as_text=True)
    token = hidden_value(page, "csrf_token")
    response = client.post("/admin/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/admin/").headers["Location"].startswith("/admin/sign-in")


def test_sign_in_is_rate_limited_per_address_and_per_account(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="4 per minute")
    with app.app_context():
        StaffUserFactory(email="mod@example.org")
        StaffUserFactory(email="other@example.org")
    client = app.test_client()
    for _ in range(4):
        assert sign_in(client, "nobody@example.org", "guess").status_code == 422
    blocked = sign_in(client, "other@example.org")  # even the right password, from here
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    # Per account: guesses at one account from many addresses stop too.
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN_ACCOUNT="3 per 15 minutes")
    for n in range(3):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
        assert sign_in(guesser, "mod@example.org", "guess").status_code == 422
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert sign_in(elsewhere, "mod@example.org").status_code == 429
    assert sign_in(elsewhere, "other@example.org").status_code == 303


def test_create_admin_asks_twice_or_reads_the_environment(app, runner, monkeypatch):
    prompted = runner.invoke(
        args=["create-admin", "Boss@Example.org"],
        input="a long enough secret\na long enough secret\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert "Created admin boss@example.org" in prompted.output
    monkeypatch.setenv("ADMIN_PASSWORD", "another long secret")
    scripted = runner.invoke(args=["create-admin", "mod@example.org", "--role", "moderator"])
    assert "Created moderator mod@example.org" in scripted.output
    short = runner.invoke(args=["create-admin", "x@example.org"], env={"ADMIN_PASSWORD": "short"})
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    listed = runner.invoke(args=["staff", "list"]).output
    assert "boss@example.org\tadmin\tactive" in listed
    assert "mod@example.org\tmoderator\tactive" in listed and "x@example.org" not in listed
    client = app.test_client()
    assert sign_in(client, "mod@example.org", "another long secret").status_code == 303
    with app.app_context():
        stored = db.session.scalar(sa.select(StaffUser.password_hash).limit(1))
        assert stored.startswith("scrypt:") and "secret" not in stored
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[:2] == ["staff.create", "staff.create"]
