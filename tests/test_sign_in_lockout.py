"""Wrong passwords from elsewhere never lock a staff member out where they sign in: the
per-account limit applies only to addresses that have not signed in to the account, and
the owner is told by one email when it is reached."""

import pytest
import sqlalchemy as sa
from factories import STAFF_PASSWORD, StaffUserFactory
from helpers import sign_in, staff_client

from extensions import db
from mail import outbox
from models import Outbox, StaffUser

OWNER = "mod@example.org"
OFFICE = "127.0.0.1"  # the test client's address: where the owner signed in before


@pytest.fixture
def app(make_app, smtp):
    """Rate limits on (per address high enough to leave the per-account one to test)."""
    return make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_SIGN_IN="100 per minute",
        RATELIMIT_SIGN_IN_ACCOUNT="5 per 15 minutes",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
    )


@pytest.fixture
def owner(app):
    """The owner signed in once from the office, which makes that address known."""
    return staff_client(app, "moderator", OWNER)


def client_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def guess(app, address, email=OWNER):
    return sign_in(client_at(app, address), email, "letmein123456").status_code


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out_of_their_usual_address(app, owner):
    stranger = "203.0.113.7"
    assert [guess(app, stranger) for _ in range(8)] == [422] * 5 + [429] * 3
    # The owner, from where they signed in before: a typo is just a typo, then they're in.
    assert guess(app, OFFICE) == 422
    response = sign_in(client_at(app, OFFICE), OWNER)
    assert response.status_code == 303
    assert not response.headers["Location"].startswith("/admin/sign-in")
    # From an address new to the account, sign-ins to it wait, even with the right password.
    assert sign_in(client_at(app, "198.51.100.20"), OWNER).status_code == 429


def test_guessing_from_many_new_addresses_is_throttled_per_account(app, owner):
    with app.app_context():
        StaffUserFactory(email="other@example.org")
    assert [guess(app, f"198.51.100.{n}") for n in range(5)] == [422] * 5
    assert guess(app, "198.51.100.99") == 429
    assert sign_in(client_at(app, "198.51.100.99"), "other@example.org").status_code == 303


def test_an_address_is_known_only_for_a_while(app, owner, make_app):
    forgetful = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_SIGN_IN_ACCOUNT="2 per 15 minutes",
        STAFF_KNOWN_ADDRESS_DAYS=0,
    )
    assert [guess(forgetful, OFFICE) for _ in range(3)] == [422, 422, 429]


def test_the_owner_gets_one_email_when_sign_ins_from_elsewhere_are_paused(app, owner, smtp):
    for n in range(12):
        guess(app, f"192.0.2.{n}")
    guess(app, "192.0.2.50", email="nobody@example.org")  # no account: nobody to tell
    for _ in range(6):
        guess(app, "192.0.2.51", email="nobody@example.org")
    with app.app_context():
        assert outbox.send_due() == (1, 0)
        assert db.session.scalar(sa.select(StaffUser.lockout_notified_at)) is not None
    (message,) = smtp.messages
    assert message["To"] == OWNER
    assert message["Subject"] == "Wrong passwords for your Write for Rights staff account"
    text = smtp.body(message, "plain")
    assert "paused for 15 minutes" in text
    assert "Where you have signed in before, you can sign in as usual" in text
    assert "http://localhost/admin/forgot-password" in text
    assert "192.0.2." not in text and "letmein" not in text
    assert "paused for 15 minutes" in smtp.body(message, "html")


def test_the_warning_is_sent_again_only_after_the_lockout_window(app, owner, monkeypatch):
    from staff import lockout

    def emails():
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Outbox))

    for n in range(7):
        guess(app, f"192.0.2.{n}")
    assert emails() == 1
    for n in range(3):
        guess(app, f"192.0.2.{n}")
    assert emails() == 1
    with app.app_context():
        later = lockout.utcnow() + lockout.lockout_window()
    monkeypatch.setattr(lockout, "utcnow", lambda: later)  # the next window, still guessed at
    guess(app, "192.0.2.9")
    assert emails() == 2


def test_an_invited_account_without_a_password_costs_one_hash_check_and_never_signs_in(
    app, monkeypatch
):
    from models import staff as models

    with app.app_context():
        invited = StaffUserFactory(email="new@example.org")
        invited.password_hash = ""
        db.session.commit()
        checked = []
        real_check = models.check_password_hash

        def counting(pwhash, password):
            checked.append(pwhash)
            return real_check(pwhash, password)

        monkeypatch.setattr(models, "check_password_hash", counting)
        assert not StaffUser.password_matches(invited, "")
        assert not StaffUser.password_matches(invited, STAFF_PASSWORD)
    assert checked == [models.no_account_hash()] * 2


def test_an_ipv6_address_is_known_by_its_network(app):
    """Phones and home routers change the last half of an IPv6 address every day or so."""
    with app.app_context():
        StaffUserFactory(email=OWNER)
    assert sign_in(client_at(app, "2001:db8:1:2::10"), OWNER).status_code == 303
    assert [guess(app, "2001:db8:9:9::1") for _ in range(6)] == [422] * 5 + [429]
    tomorrow = client_at(app, "2001:db8:1:2:aaaa:bbbb:cccc:dddd")
    assert sign_in(tomorrow, OWNER).status_code == 303
    assert sign_in(client_at(app, "2001:db8:1:3::10"), OWNER).status_code == 429
