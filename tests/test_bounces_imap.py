"""`flask --app app mail bounces --imap` against a real IMAP server: Debian's Dovecot, run
for the test on a free port with a configuration written to a temporary folder, serving
IMAP over TLS only, with a certificate the test makes. Reports are recorded and deleted,
other mail is kept read and flagged, a second run reads nothing, and the server's
certificate and the password are checked."""

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from certs import self_signed
from helpers import free_port
from test_bounces import (
    BOUNCE_ADDRESS,
    address_state,
    exim_dsn,
    out_of_office,
    postfix_dsn,
    return_path,
)

PASSWORD = "imap-test-password"  # a throwaway server's
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONFIG = """\
base_dir = {run}
state_dir = {run}/state
log_path = {run}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{run}/cert.pem
ssl_key = <{run}/key.pem
auth_mechanisms = plain
first_valid_uid = 1
first_valid_gid = 1
{users}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={run}/home/%u
}}
mail_location = maildir:~/Maildir
"""


@pytest.fixture
def app(make_app):
    return make_app(MAIL_BOUNCE_ADDRESS=BOUNCE_ADDRESS, MAIL_BOUNCE_IMAP_PASSWORD=PASSWORD)


@pytest.fixture
def dovecot(monkeypatch):
    """A Dovecot IMAP server (TLS only) for one test: its port and certificate. The test's
    TLS clients trust that certificate (SSL_CERT_FILE), as they would a real server's CA."""
    assert os.path.exists(DOVECOT), "Dovecot is missing: .ci/run installs dovecot-imapd"
    run = Path(tempfile.mkdtemp(prefix="dv"))  # short: it holds the server's sockets
    run.chmod(0o755)
    _key, cert_pem, key_pem = self_signed("localhost", ["localhost", "127.0.0.1"])
    (run / "cert.pem").write_bytes(cert_pem)
    (run / "key.pem").write_bytes(key_pem)
    (run / "home").mkdir()
    port = free_port()
    config = run / "imap-test.conf"  # not dovecot.conf: Dovecot links that name to it
    config.write_text(CONFIG.format(run=run, port=port, password=PASSWORD, **accounts(run)))
    server = subprocess.Popen([DOVECOT, "-F", "-c", str(config)])  # noqa: S603 (Debian's)
    monkeypatch.setenv("SSL_CERT_FILE", str(run / "cert.pem"))
    try:
        wait_for(port, server, run)
        yield SimpleNamespace(port=port, cert=str(run / "cert.pem"))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(run, ignore_errors=True)


def accounts(run):
    """Who Dovecot runs as and whose mail it keeps: as root, its own users (it refuses
    root's mail); as anyone else, that user for everything."""
    if os.geteuid() == 0:
        (run / "home").chmod(0o777)
        return {"users": "", "user": "dovecot", "group": "dovecot"}
    me = pwd.getpwuid(os.geteuid()).pw_name
    users = (
        f"default_internal_user = {me}\ndefault_login_user = {me}\n"
        f"default_internal_group = {os.getegid()}\n"
    )
    return {"users": users, "user": os.geteuid(), "group": os.getegid()}


def wait_for(port, server, run):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert server.poll() is None, (run / "dovecot.log").read_text(errors="replace")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("Dovecot did not start")


def imap(port):
    connection = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl.create_default_context())
    connection.login("bounces", PASSWORD)
    return connection


def deliver(port, *messages):
    with imap(port) as connection:
        for message in messages:
            assert connection.append("INBOX", None, None, message)[0] == "OK"


def mailbox_now(port):
    """[(flags, subject)] of every message in the INBOX."""
    with imap(port) as connection:
        connection.select("INBOX")
        found = []
        for uid in connection.uid("SEARCH", None, "ALL")[1][0].split():
            answer = connection.uid("FETCH", uid, "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            meta, header = answer[1][0]
            flags = [flag.decode() for flag in imaplib.ParseFlags(meta)]
            found.append((sorted(flags), header.decode().strip()))
        return found


def run_imap(runner, url):
    return runner.invoke(args=["mail", "bounces", "--imap", url])


def test_imap_bounces_are_recorded_and_deleted_and_other_mail_kept(app, runner, dovecot):
    jane, bob, dave = "jane@example.net", "bob@example.net", "dave@example.net"
    deliver(
        dovecot.port,
        postfix_dsn(return_path(app, jane), jane),
        exim_dsn(return_path(app, bob), bob),
        postfix_dsn(return_path(app, dave), dave, "delayed", "4.4.1"),
        out_of_office(return_path(app, dave), dave),
    )
    url = f"imaps://bounces@localhost:{dovecot.port}/INBOX"
    result = run_imap(runner, url)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "bounces: 2 hard, 1 soft, 0 complaints, 1 not bounces"
    assert address_state(app, jane) == ("hard_bounce", 0)
    assert address_state(app, bob) == ("hard_bounce", 0)
    assert address_state(app, dave) == (None, 1)
    assert mailbox_now(dovecot.port) == [([r"\Flagged", r"\Seen"], "Subject: Out of office")]

    again = run_imap(runner, url)
    assert again.output.strip() == "bounces: 0 hard, 0 soft, 0 complaints, 0 not bounces"
    assert address_state(app, dave) == (None, 1)


def test_imap_checks_the_certificate_and_the_password(app, make_app, runner, dovecot, monkeypatch):
    deliver(dovecot.port, postfix_dsn(return_path(app, "jane@example.net"), "jane@example.net"))
    url = f"imaps://bounces@localhost:{dovecot.port}/INBOX"

    wrong = make_app(MAIL_BOUNCE_IMAP_PASSWORD="not-the-password")
    refused = run_imap(wrong.test_cli_runner(), url)
    assert refused.exit_code == 1 and "IMAP" in refused.output
    assert "not-the-password" not in refused.output

    assert "password" in run_imap(make_app().test_cli_runner(), url).output  # none set
    with_password = run_imap(runner, f"imaps://bounces:{PASSWORD}@localhost:{dovecot.port}/INBOX")
    assert with_password.exit_code == 1 and "MAIL_BOUNCE_IMAP_PASSWORD" in with_password.output
    assert run_imap(runner, f"imap://bounces@localhost:{dovecot.port}/INBOX").exit_code == 1

    monkeypatch.delenv("SSL_CERT_FILE")  # the server's certificate is nobody's we trust
    untrusted = run_imap(runner, url)
    assert untrusted.exit_code == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.output

    assert address_state(app, "jane@example.net") is None  # nothing read so far
    monkeypatch.setenv("SSL_CERT_FILE", dovecot.cert)
    [(flags, _subject)] = mailbox_now(dovecot.port)
    assert "\\Seen" not in flags  # still unread, for the next run
