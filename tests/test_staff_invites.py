"""Staff accounts without anyone knowing another's password: admins invite staff by
email (a single-use, expiring link to set a password, then the second factor), staff
reset a forgotten password by email, and admins change roles and disable accounts."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from factories import StaffUserFactory
from helpers import app_code, csrf_from, enrol, enter_code, hidden_value, sign_in, staff_client
from test_i18n import extracted

from extensions import db
from mail import outbox
from models import AuditEvent, StaffLink, StaffUser, utcnow

NEW_PASSWORD = "seven silver kites over harbour"
LINK = re.compile(r"http://localhost(/admin/(?:invitation|reset)/[^\s\"<]+)")


@pytest.fixture
def app(make_app, smtp):
    """The app, its mail to the test SMTP server."""
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)


@pytest.fixture
def admin(app):
    return staff_client(app, "admin", "admin@example.org")


def send_mail(app):
    with app.app_context():
        return outbox.send_due()


def post(client, path, **fields):
    """A staff form sent with the session's CSRF token, as the page's form sends it."""
    return client.post(path, data={"csrf_token": csrf_from(client), **fields})


def link_in(smtp, message):
    """The path of the link an email carries; the same in its text and HTML parts."""
    text_links = LINK.findall(smtp.body(message, "plain"))
    html_links = set(LINK.findall(smtp.body(message, "html")))
    assert len(text_links) == 1 and html_links == set(text_links)
    return text_links[0]


def set_password(client, path, password=NEW_PASSWORD, confirm=None):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    data = {
        "csrf_token": hidden_value(page.get_data(as_text=True), "csrf_token"),
        "password": password,
        "confirm": password if confirm is None else confirm,
    }
    return client.post(path, data=data)


def account(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        db.session.expunge_all()
        return user


def invite(admin, email="new@example.org", role="moderator"):
    return post(admin, "/admin/staff", email=email, role=role)


def test_an_invited_person_sets_their_own_password_then_goes_to_the_second_step(app, admin, smtp):
    response = invite(admin)
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "An invitation is on its way to new@example.org" in page
    assert "invited, no password yet" in page
    invited = account(app, "new@example.org")
    assert invited.role == "moderator" and invited.password_hash == ""
    # Nobody can sign in to it before its owner chooses a password.
    assert sign_in(app.test_client(), "new@example.org", "").status_code == 422

    assert send_mail(app) == (1, 0)
    (message,) = smtp.messages
    assert message["To"] == "new@example.org"
    assert "invited" in message["Subject"]
    assert "admin@example.org invited you to the Write for Rights staff pages as a moderator" in (
        smtp.body(message, "plain")
    )
    path = link_in(smtp, message)

    newcomer = app.test_client()
    page = newcomer.get(path)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Welcome: choose your password" in page.get_data(as_text=True)
    response = set_password(newcomer, path)
    assert response.status_code == 303
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # Not signed in yet: on to setting up the second step, then into the staff pages.
    assert response.headers["Location"] == "/admin/sign-in/enrol"
    assert newcomer.get("/admin/queue").headers["Location"].startswith("/admin/sign-in")
    finished, recovery_codes = enrol(newcomer)
    assert finished.status_code == 303 and len(recovery_codes) == 10
    assert newcomer.get(finished.headers["Location"], follow_redirects=True).status_code == 200
    assert newcomer.get("/admin/queue").status_code == 200
    assert account(app, "new@example.org").check_password(NEW_PASSWORD)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert {"staff.invite", "staff.password_set"} <= set(actions)

    # The link worked once.
    again = app.test_client().get(path)
    assert again.status_code == 400
    assert "This link no longer works" in again.get_data(as_text=True)
    assert "ask the admin who invited you" in again.get_data(as_text=True)


def expire_links(app):
    with app.app_context():
        db.session.execute(sa.update(StaffLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def test_an_expired_or_altered_invitation_is_refused(app, admin, smtp):
    invite(admin)
    send_mail(app)
    path = link_in(smtp, smtp.messages[0])
    newcomer = app.test_client()
    token_page = newcomer.get(path)  # the form, fetched while the link worked
    assert newcomer.get(path[:-2] + "xx").status_code == 400  # altered: a bad signature
    expire_links(app)
    refused = newcomer.get(path)
    assert refused.status_code == 400
    assert refused.headers["Referrer-Policy"] == "no-referrer"
    data = {
        "csrf_token": hidden_value(token_page.get_data(as_text=True), "csrf_token"),
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    assert newcomer.post(path, data=data).status_code == 400
    assert account(app, "new@example.org").password_hash == ""


def test_a_resent_invitation_replaces_the_first_and_is_not_sent_twice_in_a_row(make_app, smtp):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, STAFF_LINK_EMAIL_MINUTES=0)
    admin = staff_client(app, "admin", "admin@example.org")
    invite(admin)
    staff_id = account(app, "new@example.org").id
    assert post(admin, f"/admin/staff/{staff_id}/invitation").status_code == 303
    assert send_mail(app) == (2, 0)
    first, second = (link_in(smtp, message) for message in smtp.messages)
    assert app.test_client().get(first).status_code == 400
    assert set_password(app.test_client(), second).status_code == 303
    # Once the password is set, there is no invitation to send again.
    page = post(admin, f"/admin/staff/{staff_id}/invitation")
    assert page.status_code == 422
    assert "new@example.org has no invitation waiting" in page.get_data(as_text=True)

    waiting = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)  # 10 minutes apart
    admin = staff_client(waiting, "admin", "admin2@example.org")
    invite(admin, "later@example.org")
    later_id = account(waiting, "later@example.org").id
    again = post(admin, f"/admin/staff/{later_id}/invitation")
    assert again.status_code == 422
    assert "a few minutes ago" in again.get_data(as_text=True)


def test_the_new_password_is_checked_with_clear_messages(app, admin, smtp):
    invite(admin)
    send_mail(app)
    path = link_in(smtp, smtp.messages[0])
    newcomer = app.test_client()
    short = set_password(newcomer, path, "too short")
    assert short.status_code == 422
    assert "Use at least 12 characters" in short.get_data(as_text=True)
    different = set_password(newcomer, path, NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
    assert different.status_code == 422
    assert "The two passwords are not the same" in different.get_data(as_text=True)
    assert set_password(newcomer, path).status_code == 303  # the link still works


def forgot(client, email):
    page = client.get("/admin/forgot-password").get_data(as_text=True)
    data = {"csrf_token": hidden_value(page, "csrf_token"), "email": email}
    return client.post("/admin/forgot-password", data=data)


def test_a_forgotten_password_is_reset_by_email_and_other_sessions_end(app, smtp):
    laptop = staff_client(app, "moderator", "mod@example.org")
    assert "Forgotten your password?" in app.test_client().get("/admin/sign-in").get_data(
        as_text=True
    )
    phone = app.test_client()
    response = forgot(phone, " Mod@Example.org ")
    assert response.status_code == 303
    sent = phone.get(response.headers["Location"]).get_data(as_text=True)
    assert "If that address belongs to an active staff account" in sent
    assert send_mail(app) == (1, 0)
    (message,) = smtp.messages
    assert message["To"] == "mod@example.org"
    assert "works once, for 60 minutes" in smtp.body(message, "plain")
    path = link_in(smtp, message)
    assert "Choose a new password" in phone.get(path).get_data(as_text=True)
    response = set_password(phone, path)
    # A new password is not a way round the second step: the app's code comes next.
    assert response.headers["Location"] == "/admin/sign-in/code"
    assert laptop.get("/admin/").headers["Location"].startswith("/admin/sign-in")
    signed_in = enter_code(phone, app_code(app, "mod@example.org"))
    assert signed_in.status_code == 303
    assert phone.get("/admin/queue").status_code == 200
    assert sign_in(app.test_client(), "mod@example.org").status_code == 422  # old password
    assert sign_in(app.test_client(), "mod@example.org", NEW_PASSWORD).status_code == 303
    assert app.test_client().get(path).status_code == 400  # used


def test_a_reset_for_an_unknown_address_reads_the_same_and_sends_nothing(app, smtp):
    with app.app_context():
        StaffUserFactory(email="mod@example.org")
        StaffUserFactory(email="gone@example.org", active=False)
    client = app.test_client()
    answers = [forgot(client, email) for email in ("nobody@example.org", "gone@example.org")]
    answers.append(forgot(client, "mod@example.org"))
    assert {answer.status_code for answer in answers} == {303}
    assert len({answer.headers["Location"] for answer in answers}) == 1
    assert send_mail(app) == (1, 0)
    assert [message["To"] for message in smtp.messages] == ["mod@example.org"]
    with app.app_context():  # operators see every request, the address typed nowhere
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "staff.reset_request")
        ).all()
        assert [(event.target_id is None, event.details["link"] is None) for event in events] == [
            (True, True),
            (True, True),  # a disabled account is no account here
            (False, False),
        ]


def test_one_reset_email_per_account_however_many_requests(app, smtp):
    with app.app_context():
        StaffUserFactory(email="mod@example.org")
    for _ in range(4):
        assert forgot(app.test_client(), "mod@example.org").status_code == 303
    assert send_mail(app) == (1, 0)


def test_a_newer_reset_link_or_password_ends_the_older_link(make_app, smtp, runner, monkeypatch):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, STAFF_LINK_EMAIL_MINUTES=0)
    with app.app_context():
        StaffUserFactory(email="mod@example.org")
    forgot(app.test_client(), "mod@example.org")
    forgot(app.test_client(), "mod@example.org")
    send_mail(app)
    older, newer = (link_in(smtp, message) for message in smtp.messages)
    assert app.test_client().get(older).status_code == 400
    assert app.test_client().get(newer).status_code == 200
    # A password set another way (create-admin) ends it too.
    monkeypatch.setenv("ADMIN_PASSWORD", NEW_PASSWORD)
    result = app.test_cli_runner().invoke(
        args=["create-admin", "mod@example.org", "--role", "moderator"]
    )
    assert result.exit_code == 0, result.output
    assert app.test_client().get(newer).status_code == 400


def test_forgotten_password_requests_are_limited_per_address(make_app, smtp):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_PASSWORD_RESET="2 per hour")
    client = app.test_client()
    assert forgot(client, "a@example.org").status_code == 303
    assert forgot(client, "b@example.org").status_code == 303
    assert forgot(client, "c@example.org").status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    assert forgot(elsewhere, "c@example.org").status_code == 303


def test_staff_pages_are_for_admins_and_their_forms_need_the_csrf_token(app, admin):
    moderator = staff_client(app, "moderator", "mod@example.org")
    staff_id = account(app, "mod@example.org").id
    assert moderator.get("/admin/staff").status_code == 403
    assert post(moderator, "/admin/staff", email="x@example.org", role="admin").status_code == 403
    assert post(moderator, f"/admin/staff/{staff_id}/role", role="admin").status_code == 403
    forged = admin.post("/admin/staff", data={"email": "x@example.org", "role": "admin"})
    assert forged.status_code == 400
    assert admin.post(f"/admin/staff/{staff_id}/active", data={"active": "0"}).status_code == 400
    assert account(app, "x@example.org") is None
    assert account(app, "mod@example.org").active
    page = admin.get("/admin/staff").get_data(as_text=True)
    assert "mod@example.org" in page and "Invite someone" in page
    assert 'type="password"' not in page


def test_admins_change_roles_and_disable_accounts_but_keep_one_admin(app, admin):
    moderator = staff_client(app, "moderator", "mod@example.org")
    mod_id = account(app, "mod@example.org").id
    admin_id = account(app, "admin@example.org").id
    refused = post(admin, f"/admin/staff/{admin_id}/role", role="moderator")
    assert refused.status_code == 422
    assert "the only active admin" in refused.get_data(as_text=True)
    assert post(admin, f"/admin/staff/{admin_id}/active", active="0").status_code == 422
    assert account(app, "admin@example.org").is_admin

    assert post(admin, f"/admin/staff/{mod_id}/active", active="0").status_code == 303
    assert moderator.get("/admin/queue").status_code == 302  # signed out at once
    assert sign_in(app.test_client(), "mod@example.org").status_code == 422
    assert post(admin, f"/admin/staff/{mod_id}/active", active="1").status_code == 303
    assert post(admin, f"/admin/staff/{mod_id}/role", role="admin").status_code == 303
    # Now another admin exists: this one may step down.
    assert post(admin, f"/admin/staff/{admin_id}/role", role="moderator").status_code == 303
    assert not account(app, "admin@example.org").is_admin
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action != "staff.sign_in")
        ).all()
    assert actions == ["staff.disable", "staff.enable", "staff.role", "staff.role"]


def test_an_address_that_already_has_an_account_is_not_invited_again(app, admin):
    page = invite(admin, "Admin@Example.org")
    assert page.status_code == 422
    assert "There is already a staff account for admin@example.org" in page.get_data(as_text=True)
    assert invite(admin, "not an address").status_code == 422


def test_a_link_for_a_disabled_account_is_refused(app, admin, smtp):
    invite(admin)
    send_mail(app)
    path = link_in(smtp, smtp.messages[0])
    staff_id = account(app, "new@example.org").id
    assert post(admin, f"/admin/staff/{staff_id}/active", active="0").status_code == 303
    assert app.test_client().get(path).status_code == 400
    assert post(admin, f"/admin/staff/{staff_id}/active", active="1").status_code == 303
    assert app.test_client().get(path).status_code == 400  # disabling ended it for good


def test_the_staff_account_pages_and_emails_are_marked_for_translation():
    messages = extracted()
    for text in [
        "Invite someone",  # the Staff page
        "%(email)s is the only active admin: make someone else an admin first.",
        "Forgotten your password?",  # sign-in page
        "Welcome: choose your password",  # set-password page
        "Use at least %(min)d characters.",
        "This link no longer works",
        "You are invited to the Write for Rights staff pages",  # email subjects and bodies
        "Wrong passwords for your Write for Rights staff account",
        "an admin",
        "If you did not ask for it, you can ignore this email: your password stays as it is.",
    ]:
        assert text in messages, text


def test_no_address_goes_into_the_staff_pages_urls(app, admin):
    response = invite(admin, "new@example.org")
    assert "example.org" not in response.headers["Location"]
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "An invitation is on its way to new@example.org" in page


def test_a_link_from_before_staff_disable_stays_dead_when_the_account_is_enabled(app, admin, smtp):
    with app.app_context():
        StaffUserFactory(email="mod@example.org")
    forgot(app.test_client(), "mod@example.org")
    send_mail(app)
    path = link_in(smtp, smtp.messages[0])
    assert app.test_cli_runner().invoke(args=["staff", "disable", "mod@example.org"]).exit_code == 0
    staff_id = account(app, "mod@example.org").id
    assert post(admin, f"/admin/staff/{staff_id}/active", active="1").status_code == 303
    assert app.test_client().get(path).status_code == 400
