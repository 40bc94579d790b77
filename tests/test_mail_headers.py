"""What goes out with each email besides its words, read from what a real SMTP server
(aiosmtpd) received: List-Unsubscribe on every email but a confirmation and staff emails,
pointing to the writer's language and naming no address; and a per-email return path
(VERP) that the bounces reader turns back into the address's key."""

import base64
import email
import re
from email import policy
from pathlib import Path

import pytest
from helpers import SAME_ORIGIN, Supporter, stored

from mail import outbox, unsubscribe, verp
from mail.suppression import address_key
from models import Outbox

ADA = "ada@example.org"
BOUNCES = "bounces@example.org"


@pytest.fixture
def verp_app(make_app, smtp):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_BOUNCE_ADDRESS=BOUNCES)


def deliver(app):
    with app.app_context():
        return outbox.send_due()


def link_in(message, path="/confirm/"):
    text = message.get_body(("plain",)).get_content()
    match = re.search(rf"http://localhost((?:/\w\w)?{path}[\w.\-]+)", text)
    assert match, f"no {path} link in the email"
    return match.group(1)


def write_again(app, smtp, address=ADA, prefix=""):
    """A letter, confirmed, then a second one to the same case: the second gets the
    "you have already written" note, an email that carries List-Unsubscribe. Returns the
    confirmation email and the note, as received."""
    supporter = Supporter(app.test_client(), prefix=prefix)
    assert supporter.submit("gustavo-gatica", email=address).status_code == 200
    deliver(app)
    confirmation = smtp.messages[-1]
    client = app.test_client()
    assert client.post(link_in(confirmation), headers=SAME_ORIGIN).status_code == 303
    assert supporter.submit("gustavo-gatica", email=address, body="Again.").status_code == 200
    deliver(app)
    return confirmation, smtp.messages[-1]


def test_a_note_carries_one_click_unsubscribe_and_a_confirmation_does_not(verp_app, smtp, cases):
    confirmation, note = write_again(verp_app, smtp)
    assert [row.template for row in stored(verp_app, Outbox)] == ["confirm", "repeat"]
    assert confirmation["List-Unsubscribe"] is None
    assert confirmation["List-Unsubscribe-Post"] is None
    assert note["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # As sent, the link stands on one line as itself: written as RFC 2047 encoded words
    # ("=?utf-8?q?=3Chttp...") no mail program would read it, nor post one-click to it.
    raw = note.raw.decode("ascii")
    assert re.search(r"^List-Unsubscribe: <http://localhost/unsubscribe/[\w.\-]+>\r?$", raw, re.M)
    assert "=?" not in raw.split("List-Unsubscribe: ", 1)[1].splitlines()[0]
    link = note["List-Unsubscribe"]
    assert re.fullmatch(r"<http://localhost/unsubscribe/[\w.\-]+>", link), link
    # Nothing in the link reads as the address, not even once its parts are decoded.
    token = link.strip("<>").rsplit("/", 1)[1]
    for part in token.split("."):
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        assert b"ada" not in decoded.lower() and b"example" not in decoded.lower()
    assert "ada" not in link.lower()
    with verp_app.app_context():
        assert unsubscribe.read_token(token) == address_key(ADA)


def test_the_link_opens_in_the_language_the_supporter_wrote_in(verp_app, smtp, cases):
    _confirmation, note = write_again(verp_app, smtp, prefix="/es")
    link = note["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://localhost/es/unsubscribe/")
    page = verp_app.test_client().get(link.removeprefix("http://localhost"))
    assert page.status_code == 200 and '<html lang="es"' in page.get_data(as_text=True)


def test_every_email_but_confirmations_and_staff_emails_carries_the_headers(app):
    carries = {"repeat", "news", "news_test", "data_link"}
    without = {"confirm", "resend", "staff_invite", "staff_reset", "staff_lockout"}
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        for template in carries | without:
            headers = unsubscribe.list_headers(Outbox(template=template, recipient=ADA))
            assert bool(headers) == (template in carries), template


def test_each_email_returns_to_its_own_address_and_the_key_comes_back(verp_app, smtp, cases):
    Supporter(verp_app.test_client()).submit("gustavo-gatica", email=ADA)
    Supporter(verp_app.test_client()).submit("gustavo-gatica", email="Grace@Example.org")
    deliver(verp_app)
    senders = {message["To"]: message.envelope_from for message in smtp.messages}
    with verp_app.app_context():
        for address, sender in senders.items():
            key = address_key(address)
            assert sender == f"bounces+{key}-{verp.mac(key)}@example.org"
            assert len(sender.partition("@")[0]) <= 64  # SMTP's limit for a local part
            assert verp.verp_address(address) == sender
            assert verp.key_from_verp(sender) == key
            # As a remote server may write it back: in capitals, in angle brackets.
            assert verp.key_from_verp(f"<{sender.upper()}>") == key
    assert smtp.messages[0]["From"] == "Write for Rights <letters@localhost>"  # From unchanged


def test_a_return_path_that_is_not_ours_gives_no_key(verp_app):
    with verp_app.app_context():
        key = address_key(ADA)
        for address in (
            f"bounces+{key}-{verp.mac(key)}@elsewhere.org",  # another domain
            f"letters+{key}-{verp.mac(key)}@example.org",  # another mailbox
            f"bounces+{key[:-1]}-{verp.mac(key)}@example.org",  # a key cut short
            f"bounces+{key[:-1]}z-{verp.mac(key)}@example.org",  # not a key
            f"bounces+{key}@example.org",  # the key alone (an unsubscribe link shows it)
            f"bounces+{key}-{verp.mac(key)[:-1]}@example.org",  # a mac cut short
            f"bounces+{key}-{verp.mac(key, 'another secret')}@example.org",  # not our mac
            BOUNCES,
            ADA,
            "",
            None,
        ):
            assert verp.key_from_verp(address) is None, address


def test_without_a_bounce_address_the_envelope_sender_is_the_from_address(make_app, smtp, cases):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    Supporter(app.test_client()).submit("gustavo-gatica", email=ADA)
    deliver(app)
    assert smtp.messages[0].envelope_from == "letters@localhost"
    with app.app_context():
        assert verp.verp_address(ADA) is None
        assert verp.key_from_verp(f"bounces+{address_key(ADA)}@example.org") is None


def test_the_mail_folder_shows_the_return_path(make_app, cases):
    app = make_app(MAIL_SERVER=None, MAIL_BOUNCE_ADDRESS=BOUNCES)
    Supporter(app.test_client()).submit("gustavo-gatica", email=ADA)
    deliver(app)
    [eml] = (Path(app.instance_path) / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    with app.app_context():
        key = address_key(ADA)
        assert message["Return-Path"] == f"<bounces+{key}-{verp.mac(key)}@example.org>"
    assert message["To"] == ADA


def test_a_return_path_made_before_a_key_change_still_reads(make_app):
    """Bounces come back days later: a return path made under a key now in
    SECRET_KEY_FALLBACKS still names its address; one made under no key of ours does not."""
    before = make_app(SECRET_KEY="the old key", MAIL_BOUNCE_ADDRESS=BOUNCES)
    with before.app_context():
        sent, key = verp.verp_address(ADA), address_key(ADA)
    after = make_app(
        SECRET_KEY="the new key", SECRET_KEY_FALLBACKS=["the old key"], MAIL_BOUNCE_ADDRESS=BOUNCES
    )
    stranger = make_app(SECRET_KEY="a key never ours", MAIL_BOUNCE_ADDRESS=BOUNCES)
    with after.app_context():
        assert verp.key_from_verp(sent) == key
    with stranger.app_context():
        assert verp.key_from_verp(sent) is None
