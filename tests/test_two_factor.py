"""Two-factor sign-in for staff: a password alone opens nothing; a code from the app (once),
or a recovery code (once), completes the sign-in; the first sign-in sets the app up."""

import time

import pyotp
import pytest
import segno
import sqlalchemy as sa
from factories import STAFF_TOTP_SECRET, StaffUserFactory
from helpers import (
    app_code,
    csrf_from,
    enrol,
    enter_code,
    hidden_value,
    setup_key,
    sign_in,
    sign_in_password,
)
from test_i18n import extracted

from extensions import db
from models import AuditEvent, StaffRecoveryCode, StaffUser
from staff import two_factor

EMAIL = "mod@example.org"
WRONG_CODE = "That code is not right. Please type the 6 digits your app shows now."


@pytest.fixture
def account(app):
    """A moderator whose app is set up with STAFF_TOTP_SECRET, not signed in."""
    with app.app_context():
        StaffUserFactory(email=EMAIL)


@pytest.fixture
def newcomer(app):
    """A moderator who has never signed in: no app set up yet."""
    with app.app_context():
        StaffUserFactory(email=EMAIL, totp_secret=None, totp_confirmed_at=None)


def signed_in(client):
    """Whether the staff entry lets this client in, rather than sending it to sign in."""
    return not client.get("/admin/").headers["Location"].startswith("/admin/sign-in")


def actions(app):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def other_code(code):
    """A 6-digit code that is not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def recovery_codes_for(app, email=EMAIL):
    with app.app_context():
        user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        codes = two_factor.new_recovery_codes(user)
        db.session.commit()
        return codes


def test_a_password_alone_opens_nothing(app, client, account):
    response = sign_in_password(client, EMAIL, next_path="/admin/queue")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/sign-in/code"
    assert not signed_in(client)
    assert client.get("/admin/queue").headers["Location"].startswith("/admin/sign-in")
    assert "staff.sign_in" not in actions(app)
    page = client.get("/admin/sign-in/code").get_data(as_text=True)
    assert 'inputmode="numeric"' in page and 'autocomplete="one-time-code"' in page
    assert "autofocus" in page
    done = enter_code(client, app_code(app, EMAIL))
    assert done.status_code == 303 and done.headers["Location"] == "/admin/queue"
    assert signed_in(client)
    assert actions(app) == ["staff.sign_in"]


def test_a_wrong_code_is_refused_with_a_clear_message(app, client, account):
    sign_in_password(client, EMAIL)
    response = enter_code(client, other_code(app_code(app, EMAIL)))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert WRONG_CODE in page and 'aria-invalid="true"' in page and 'role="alert"' in page
    assert not signed_in(client)
    assert enter_code(client, "12345").status_code == 422  # not six digits
    # Typed with a space, as apps show it: fine.
    code = app_code(app, EMAIL)
    assert enter_code(client, f"{code[:3]} {code[3:]}").status_code == 303


def test_a_code_works_once(app, account):
    owner, onlooker = app.test_client(), app.test_client()
    code = app_code(app, EMAIL)
    sign_in_password(owner, EMAIL)
    assert enter_code(owner, code).status_code == 303
    # The same code, seen over a shoulder, from another browser with the password.
    sign_in_password(onlooker, EMAIL)
    refused = enter_code(onlooker, code)
    assert refused.status_code == 422 and WRONG_CODE in refused.get_data(as_text=True)
    # Nor the code of the step before, once a later one was used.
    earlier = pyotp.TOTP(STAFF_TOTP_SECRET).at(time.time() - 30)
    assert enter_code(onlooker, earlier).status_code == 422
    assert not signed_in(onlooker)
    # The next step's code (the phone's clock a little ahead) is new, so it works.
    assert (
        enter_code(onlooker, pyotp.TOTP(STAFF_TOTP_SECRET).at(time.time() + 30)).status_code == 303
    )


def test_a_recovery_code_works_once_and_is_audited(app, account):
    codes = recovery_codes_for(app)
    assert len(codes) == 10 and len(set(codes)) == 10
    client = app.test_client()
    sign_in_password(client, EMAIL, next_path="/admin/queue")
    page = client.get("/admin/sign-in/code?use=recovery").get_data(as_text=True)
    assert 'name="recovery_code"' in page and "Use a code from your app instead" in page
    response = enter_code(client, codes[0].upper().replace("-", " "), recovery=True)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/queue"
    assert signed_in(client)
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "staff.recovery_code_used")
        )
        assert event.actor_email == EMAIL and event.details == {"left": 9}
        stored = db.session.scalars(sa.select(StaffRecoveryCode.code_hash)).all()
        assert not set(stored) & {code.replace("-", "") for code in codes}  # hashes only
    again = app.test_client()
    sign_in_password(again, EMAIL)
    refused = enter_code(again, codes[0], recovery=True)
    assert refused.status_code == 422
    assert "That is not one of your unused recovery codes." in refused.get_data(as_text=True)
    assert not signed_in(again)


def test_few_recovery_codes_left_leads_to_new_ones(app, account):
    codes = recovery_codes_for(app)
    for code in codes[:6]:
        client = app.test_client()
        sign_in_password(client, EMAIL)
        assert enter_code(client, code, recovery=True).headers["Location"] == "/admin/"
    client = app.test_client()
    sign_in_password(client, EMAIL)
    response = enter_code(client, codes[6], recovery=True)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/two-factor/recovery-codes?next=/admin/"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You have 3 recovery codes left." in page
    # New codes need a code from the app: a wrong one changes nothing.
    path = "/admin/two-factor/recovery-codes"
    wrong = client.post(path, data={"csrf_token": csrf_from(client, path), "code": "000000"})
    assert wrong.status_code == 422
    fresh = client.post(
        path, data={"csrf_token": csrf_from(client, path), "code": app_code(app, EMAIL)}
    )
    assert fresh.status_code == 200
    html = fresh.get_data(as_text=True)
    assert "shown only this once" in html and "Your old recovery codes no longer work." in html
    assert actions(app)[-1] == "staff.recovery_codes_renewed"
    assert client.get(path).get_data(as_text=True).count("10 unused recovery codes") == 1
    late = app.test_client()
    sign_in_password(late, EMAIL)
    assert enter_code(late, codes[7], recovery=True).status_code == 422  # an old code


def test_the_first_sign_in_sets_up_the_app(app, client, newcomer):
    response = sign_in_password(client, EMAIL, next_path="/admin/queue")
    assert response.headers["Location"] == "/admin/sign-in/enrol"
    page = client.get("/admin/sign-in/enrol").get_data(as_text=True)
    secret = setup_key(page)
    assert "Write for Rights" in page and EMAIL in page
    # The QR code carries the app's link: the same secret, the site's name as issuer.
    uri = pyotp.TOTP(secret).provisioning_uri(name=EMAIL, issuer_name="Write for Rights")
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff")
    assert f'src="{qr}"' in page.replace("&amp;", "&")
    assert (
        client.get("/admin/sign-in/enrol").get_data(as_text=True).count(two_factor.grouped(secret))
        == 1
    )  # a reload shows the same key: the app may have it already
    assert client.get("/admin/sign-in/code").headers["Location"] == "/admin/sign-in/enrol"
    # A wrong code sets up nothing.
    token = hidden_value(page, "csrf_token")
    wrong = client.post("/admin/sign-in/enrol", data={"csrf_token": token, "code": "123"})
    assert wrong.status_code == 422 and WRONG_CODE in wrong.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(sa.select(StaffUser))
        assert user.totp_confirmed_at is None and secret not in user.totp_secret  # encrypted
    done, codes = enrol(client)
    assert done.status_code == 303 and done.headers["Location"] == "/admin/queue"
    assert len(codes) == 10 and signed_in(client)
    assert actions(app) == ["staff.two_factor_enrolled", "staff.sign_in"]
    # From now on, the code step; the recovery codes shown work.
    later = app.test_client()
    assert sign_in_password(later, EMAIL).headers["Location"] == "/admin/sign-in/code"
    assert enter_code(later, codes[0], recovery=True).status_code == 303


def test_the_recovery_codes_are_shown_before_signing_in(app, client, newcomer):
    sign_in_password(client, EMAIL)
    page = client.get("/admin/sign-in/enrol").get_data(as_text=True)
    code = pyotp.TOTP(setup_key(page)).now()
    data = {"csrf_token": hidden_value(page, "csrf_token"), "code": code}
    shown = client.post("/admin/sign-in/enrol", data=data)
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert "Store these codes somewhere safe now: they are shown only this once." in html
    assert 'download="write-for-rights-recovery-codes.txt"' in html
    assert not signed_in(client)  # not until they say they have stored them
    finished = client.post("/admin/sign-in/finish", data={"csrf_token": csrf_from(client)})
    assert finished.status_code == 303 and signed_in(client)


def test_finishing_needs_a_confirmed_code(app, client, newcomer):
    sign_in_password(client, EMAIL)
    client.get("/admin/sign-in/enrol")
    response = client.post("/admin/sign-in/finish", data={"csrf_token": csrf_from(client)})
    assert response.headers["Location"].startswith("/admin/sign-in")
    assert not signed_in(client)


def test_reset_2fa_sets_up_the_app_again(app, runner, account):
    client = app.test_client()
    assert sign_in(client, EMAIL).status_code == 303
    recovery_codes_for(app)
    assert runner.invoke(args=["staff", "list"]).output.rstrip().endswith("\ttwo-factor set up")
    result = runner.invoke(args=["staff", "reset-2fa", "Mod@Example.org"])
    assert result.exit_code == 0, result.output
    assert "Two-factor sign-in reset for mod@example.org" in result.output
    assert not signed_in(client)  # its sessions ended
    with app.app_context():
        user = db.session.scalar(sa.select(StaffUser))
        assert user.totp_secret is None and user.totp_confirmed_at is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffRecoveryCode)) == 0
    assert actions(app)[-1] == "staff.reset_2fa"
    listed = runner.invoke(args=["staff", "list"]).output
    assert listed.rstrip().endswith("\tno two-factor yet")
    assert sign_in_password(client, EMAIL).headers["Location"] == "/admin/sign-in/enrol"
    unknown = runner.invoke(args=["staff", "reset-2fa", "nobody@example.org"])
    assert unknown.exit_code != 0 and "No staff account for nobody@example.org" in unknown.output


def test_the_second_step_expires(app, client, account, monkeypatch):
    sign_in_password(client, EMAIL, next_path="/admin/queue")
    code = app_code(app, EMAIL, step=0)
    token = csrf_from(client, "/admin/sign-in/code")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 11 * 60)
    page = client.get("/admin/sign-in/code")
    assert page.status_code == 303
    assert page.headers["Location"] == "/admin/sign-in?next=/admin/queue"
    late = client.post("/admin/sign-in/code", data={"csrf_token": token, "code": code})
    assert late.headers["Location"].startswith("/admin/sign-in")
    monkeypatch.setattr(time, "time", lambda: now)
    assert not signed_in(client)


def test_the_second_step_ends_with_the_accounts_sessions(app, client, runner, account):
    sign_in_password(client, EMAIL)
    data = {"csrf_token": csrf_from(client, "/admin/sign-in/code"), "code": app_code(app, EMAIL)}
    runner.invoke(args=["staff", "disable", EMAIL])  # between the password and the code
    response = client.post("/admin/sign-in/code", data=data)
    assert response.headers["Location"].startswith("/admin/sign-in")
    assert not signed_in(client)


def test_signing_in_gives_a_new_session(app, client, account):
    """The cookie of the pending step is not the signed-in one, and a copy of it never
    becomes signed in."""
    sign_in_password(client, EMAIL)
    pending = client.get_cookie("session").value
    assert enter_code(client, app_code(app, EMAIL)).status_code == 303
    assert client.get_cookie("session").value != pending
    thief = app.test_client()
    thief.set_cookie("session", pending)
    assert not signed_in(thief)
    assert signed_in(client)


def test_codes_are_throttled_per_account_and_per_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_TWO_FACTOR_ACCOUNT="3 per hour")
    with app.app_context():
        StaffUserFactory(email=EMAIL)
        StaffUserFactory(email="other@example.org")
    for n in range(3):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
        sign_in_password(guesser, EMAIL)
        assert enter_code(guesser, other_code(app_code(app, EMAIL))).status_code == 422
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    sign_in_password(elsewhere, EMAIL)
    blocked = enter_code(elsewhere, app_code(app, EMAIL))  # even the right code
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert not signed_in(elsewhere)
    assert sign_in(elsewhere, "other@example.org").status_code == 303  # another account
    # Per address: guesses at many accounts from one address stop too.
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_TWO_FACTOR="2 per minute")
    client = app.test_client()
    sign_in_password(client, EMAIL)
    for _ in range(2):
        assert enter_code(client, other_code(app_code(app, EMAIL))).status_code == 422
    sign_in_password(client, "other@example.org")
    assert enter_code(client, app_code(app, "other@example.org")).status_code == 429


def test_the_two_factor_pages_are_marked_for_translation():
    messages = extracted()
    for text in [
        "Set up two-factor sign-in",
        "6-digit code",
        WRONG_CODE,
        "That is not one of your unused recovery codes.",
        "Store these codes somewhere safe now: they are shown only this once.",
        "You have %(num)d recovery code left.",
    ]:
        assert text in messages, text


def test_a_new_secret_key_reads_the_app_secrets_through_its_fallbacks(make_app, caplog):
    old = make_app()
    with old.app_context():
        StaffUserFactory(email=EMAIL)  # its app secret encrypted with the old SECRET_KEY
    rotated = make_app(SECRET_KEY="a new secret key", SECRET_KEY_FALLBACKS=[old.secret_key])
    assert sign_in(rotated.test_client(), EMAIL).status_code == 303
    # Without the old key the secret cannot be read: no code signs in, and the log says why.
    forgotten = make_app(SECRET_KEY="a new secret key")
    client = forgotten.test_client()
    sign_in_password(client, EMAIL)
    assert enter_code(client, pyotp.TOTP(STAFF_TOTP_SECRET).now()).status_code == 422
    assert "cannot be read: SECRET_KEY changed?" in caplog.text
