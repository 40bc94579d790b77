"""No supporter's address, name or confirmation token reaches a log. A real gunicorn with
the shipped gunicorn.conf.py (access log and stderr in files), a fresh SQLite database,
the mail worker as operators run it; letters with a marker address, a database that
fails an insert and an update, an SMTP server that is down, a staff search by address.
Then every log is searched for the marker, the name and the token."""

import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import pytest
from helpers import free_port
from test_nginx import ROOT, Site, hidden_fields, wait_for

from web.log_privacy import private_url

MARKER = "marker-7f3a@example.org"
NAME = "Markername"
CASE = "gustavo-gatica"


class LoggedSite(Site):
    """gunicorn alone, configured by gunicorn.conf.py, its logs in files in `folder`."""

    def __init__(self, folder):
        super().__init__(folder)
        self.port = self.app_port  # no nginx: requests go straight to gunicorn
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.access_log = folder / "access.log"
        self.error_log = folder / "gunicorn-stderr.log"
        self.env = super().app_environment() | {"ACCESS_LOG": str(self.access_log)}

    def app_environment(self):
        """The same settings (and SECRET_KEY) for the server and the mail worker."""
        return self.env

    def start(self):
        env = self.app_environment()
        for command in (["db", "upgrade"], ["seed"]):
            self.logged_flask(command, env, "setup")
        with self.error_log.open("ab") as stderr:
            command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"]
            self.processes.append(
                subprocess.Popen(  # noqa: S603 (the app's own server)
                    command, cwd=ROOT, env=env, stderr=stderr, start_new_session=True
                )
            )
        wait_for(self.app_port)

    def stop(self):
        """Stop gunicorn, so that its logs are complete; once only."""
        super().stop()
        self.processes.clear()

    def logged_flask(self, command, env, log_name):
        """Run `flask --app app COMMAND`, its output appended to the log `log_name`."""
        with (self.folder / f"{log_name}.log").open("ab") as output:
            self.flask(command, env, stdout=output, stderr=subprocess.STDOUT)

    def mail_worker(self, port):
        """One `mail-worker --once` run against an SMTP server on `port`."""
        env = self.app_environment() | {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(port),
            "MAIL_TIMEOUT": "2",
        }
        self.logged_flask(["mail-worker", "--once"], env, "mail-worker")

    def sql(self, statement):
        with sqlite3.connect(self.database) as connection:
            connection.execute(statement)

    def write_letter(self, slug):
        _status, _headers, body = self.get(f"/cases/{slug}")
        fields = hidden_fields(body.decode(), "appeal") | {
            "appeal-name": NAME,
            "appeal-email": MARKER,
            "appeal-country": "GB",
            "appeal-body": "Please release him now.",
            "appeal-consent_privacy": "y",
        }
        return self.post_form(f"/cases/{slug}/letters/appeal", fields)[0]


@pytest.fixture
def site():
    folder = Path(tempfile.mkdtemp(prefix="w4r-log-privacy-test-"))
    running = LoggedSite(folder)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        for log in folder.glob("*.log"):  # shown when the test fails
            print(f"--- {log.name}", log.read_text(), sep="\n")
        shutil.rmtree(folder, ignore_errors=True)


def break_writes(site, action):
    """Make the database refuse every `action` (INSERT or UPDATE) on letters."""
    site.sql(
        f"CREATE TRIGGER broken BEFORE {action} ON letters "
        "BEGIN SELECT RAISE(ABORT, 'broken for the test'); END"
    )


def test_no_address_name_or_token_reaches_any_log(site, smtp):
    assert site.write_letter(CASE) == 200
    break_writes(site, "INSERT")
    assert site.write_letter("nassima-al-sada") == 503  # logged, with the failed statement
    site.sql("DROP TRIGGER broken")

    site.mail_worker(free_port())  # nothing listens there: the email fails and stays due
    site.sql("UPDATE outbox SET next_attempt_at = '2000-01-01 00:00:00'")  # due again now
    site.mail_worker(smtp.port)
    (message,) = smtp.messages
    link = re.search(r"http://\S+/confirm/\S+", smtp.body(message, "plain")).group(0)
    path = urllib.parse.urlsplit(link).path
    token = path.rsplit("/", 1)[1]

    assert site.get(path)[0] == 200
    break_writes(site, "UPDATE")
    assert site.post_form(path, {})[0] == 500  # an error nobody caught, logged with its path
    site.sql("DROP TRIGGER broken")
    assert site.post_form(path, {})[0] == 303
    for query in (MARKER, NAME):  # a moderator's bookmarked search, signed out
        search = "/admin/queue?" + urllib.parse.urlencode({"q": query})
        status, headers, _body = site.get(search)
        assert status == 302
        sign_in = urllib.parse.urlsplit(headers["Location"])  # which keeps the search
        referer = {"Referer": site.base_url + search}  # as if followed from the search page
        assert site.get(f"{sign_in.path}?{sign_in.query}", referer)[0] == 200
    site.stop()

    logs = {path.name: path.read_text() for path in site.folder.glob("*.log")}
    assert set(logs) == {"access.log", "gunicorn-stderr.log", "setup.log", "mail-worker.log"}
    # Each log holds what happened, so that finding nothing in them means something.
    assert "/confirm/" in logs["access.log"] and "/admin/sign-in" in logs["access.log"]
    assert "could not store a letter" in logs["gunicorn-stderr.log"]
    assert "Exception on /confirm/" in logs["gunicorn-stderr.log"]
    assert "0 sent, 1 failed" in logs["mail-worker.log"]
    secrets = {MARKER.split("@")[0], NAME, token}
    for name, text in logs.items():
        found = {secret for secret in secrets if secret in text}
        assert not found, f"{name} holds {found}:\n{text}"


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("/confirm/MQ.aB-c_d.e", "/confirm/<token>"),
        ("https://w4r.example/confirm/MQ.aB?x=1#top", "https://w4r.example/confirm/<token>"),
        ("/confirm/resend", "/confirm/resend"),
        ("/confirm/sent", "/confirm/sent"),
        ("/confirm/sentinel", "/confirm/<token>"),
        ("/ar/confirm/MQ.aB-c_d.e", "/ar/confirm/<token>"),
        ("/es/confirm/sent", "/es/confirm/sent"),
        ("/cases/gustavo-gatica?lang=es", "/cases/gustavo-gatica"),
        ("/admin/invitation/WzEsImFiIl0.aB-c", "/admin/invitation/<token>"),
        ("/admin/reset/WzIsImNkIl0.x_Y?next=/", "/admin/reset/<token>"),
        ("/admin/forgot-password/sent", "/admin/forgot-password/sent"),
        ("/admin/staff/3/invitation", "/admin/staff/3/invitation"),
        ("/partners/stats/s3cr3t-Token_x", "/partners/stats/<token>"),
        ("/partners/stats/s3cr3t/reports/4/withdraw", "/partners/stats/<token>/reports/4/withdraw"),
        ("/es/partners/stats/s3cr3t?lang=es", "/es/partners/stats/<token>"),
    ],
)
def test_a_logged_url_keeps_its_path_but_no_token_or_query(url, logged):
    assert private_url(url) == logged


def form_page(site, path, cookie=None):
    """(session cookie, CSRF token) of a staff form page."""
    _status, headers, body = site.get(path, {"Cookie": cookie} if cookie else None)
    cookie = (headers["Set-Cookie"] or "").split(";", 1)[0] or cookie
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', body.decode()).group(1)
    return cookie, token


def test_a_staff_reset_links_token_reaches_no_log(site, smtp):
    env = site.app_environment() | {"ADMIN_PASSWORD": "a long enough password"}
    site.logged_flask(["create-admin", "mod@example.org", "--role", "moderator"], env, "setup")
    cookie, csrf = form_page(site, "/admin/forgot-password")
    fields = {"csrf_token": csrf, "email": "mod@example.org"}
    assert site.post_form("/admin/forgot-password", fields, cookie)[0] == 303
    site.mail_worker(smtp.port)
    (message,) = smtp.messages
    link = re.search(r"http://\S+/admin/reset/\S+", smtp.body(message, "plain")).group(0)
    path = urllib.parse.urlsplit(link).path
    token = path.rsplit("/", 1)[1]
    cookie, csrf = form_page(site, path, cookie)
    fields = {
        "csrf_token": csrf,
        "password": "another long password",
        "confirm": "another long password",
    }
    assert site.post_form(path, fields, cookie)[0] == 303
    assert site.get(path)[0] == 400  # used: refused, and logged as well
    site.stop()

    access = (site.folder / "access.log").read_text()
    assert access.count("/admin/reset/<token>") == 3
    for log in site.folder.glob("*.log"):
        assert token not in log.read_text(), f"{log.name} holds the reset token"
