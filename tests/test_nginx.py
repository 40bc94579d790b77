"""deploy/nginx.conf in front of the app, as in production: Debian's nginx, gunicorn with
gunicorn.conf.py, a fresh SQLite database with the demo campaign (the README's way), and
real HTTP between them. nginx must be installed (.ci/run installs it): without it these
tests fail rather than skip."""

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pyotp
import pytest
from helpers import free_port, setup_key

from deploy.render_nginx_conf import render

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
PAGE_CACHE_SECONDS = 3  # short, so that a staff change can be seen to arrive
STAFF = ("staff@example.org", "a long staff password for the test")


class Site:
    """nginx on `port` in front of gunicorn, the database at `database`."""

    def __init__(self, folder):
        self.folder = folder
        self.database = folder / "letters.db"
        self.port, self.app_port = free_port(), free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.processes = []

    def app_environment(self):
        """The app's settings, as an operator would set them behind nginx."""
        keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
        return keep | {
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": f"sqlite:///{self.database}",
            "BASE_URL": self.base_url,
            "BIND": f"127.0.0.1:{self.app_port}",
            "WEB_CONCURRENCY": "2",
            "ACCESS_LOG": "none",
            "PROXY_FIX_X_FOR": "1",
            "COMPRESS_RESPONSES": "0",
            "SESSION_COOKIE_SECURE": "0",
            "RATELIMIT_STORAGE_URI": "memory://",
            "PAGE_CACHE_SECONDS": str(PAGE_CACHE_SECONDS),
            "MIN_FILL_SECONDS": "0",
            "ADMIN_PASSWORD": STAFF[1],
        }

    def start(self):
        env = self.app_environment()
        for command in (["db", "upgrade"], ["seed"], ["create-admin", STAFF[0]]):
            self.flask(command, env)
        self.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"], env)
        wait_for(self.app_port)
        (self.folder / "cache").mkdir()
        conf = self.folder / "nginx.conf"
        values = {
            "UPSTREAM": f"127.0.0.1:{self.app_port}",
            "LISTEN": f"127.0.0.1:{self.port}",
            "STATIC_ROOT": ROOT / "static",
            "CACHE_DIR": self.folder / "cache",
        }
        conf.write_text(render(values))
        main = f"daemon off; pid {self.folder / 'nginx.pid'};"
        self.run([NGINX, "-p", str(self.folder), "-c", str(conf), "-e", "stderr", "-g", main])
        wait_for(self.port)

    def flask(self, command, env, **output):
        """Run `flask --app app COMMAND`; its output is captured unless `output` (stdout,
        stderr) says where it goes."""
        subprocess.run(  # noqa: S603 (the app's own commands)
            [sys.executable, "-m", "flask", "--app", "app", *command],
            cwd=ROOT,
            env=env,
            check=True,
            **(output or {"capture_output": True}),
        )

    def run(self, command, env=None):
        process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
        self.processes.append(process)

    def stop(self):
        for process in reversed(self.processes):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body) of one request through nginx."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def post_form(self, path, fields, cookie=None):
        """A form posted from one of the site's own pages, as a browser sends it."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.base_url,
            "Sec-Fetch-Site": "same-origin",
        }
        if cookie:
            headers["Cookie"] = cookie
        return self.request("POST", path, urllib.parse.urlencode(fields), headers)

    def case_id(self, slug):
        with sqlite3.connect(self.database) as connection:
            query = "SELECT id FROM cases WHERE slug = ?"
            return connection.execute(query, (slug,)).fetchone()[0]

    def count_letters(self, email):
        with sqlite3.connect(self.database) as connection:
            query = "SELECT count(*) FROM letters WHERE email = ?"
            return connection.execute(query, (email,)).fetchone()[0]


def wait_for(port, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


@pytest.fixture(scope="module")
def site():
    if not os.access(NGINX, os.X_OK):
        pytest.fail(f"{NGINX} is missing: install Debian's nginx (.ci/run does)")
    # Not under pytest's own temporary folder: nginx's workers run as another user
    # when the tests run as root, and must be able to reach the cache folder.
    folder = Path(tempfile.mkdtemp(prefix="w4r-nginx-test-"))
    folder.chmod(0o755)
    running = Site(folder)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        shutil.rmtree(folder, ignore_errors=True)


def hidden_fields(page, kind):
    """The hidden fields of the page's `kind` letter form, as the browser would send them."""
    pattern = rf'<input[^>]*type="hidden"[^>]*name="({kind}-[^"]+)"[^>]*value="([^"]*)"'
    found = dict(re.findall(pattern, page))
    reordered = rf'<input[^>]*name="({kind}-[^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"'
    return found | dict(re.findall(reordered, page))


def test_the_second_get_of_a_case_page_is_a_cache_hit(site):
    first = site.get("/cases/metu-pride-defenders")
    second = site.get("/cases/metu-pride-defenders")
    assert first[0] == second[0] == 200
    assert first[1]["X-Cache-Status"] == "MISS"
    assert second[1]["X-Cache-Status"] == "HIT"
    assert second[2] == first[2]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/cases/gustavo-gatica",
        "/cases/gustavo-gatica?letter=es",
        "/es/cases/gustavo-gatica",
        "/cases/gustavo-gatica/count",
        "/count",
        "/privacy",
        "/cases/gustavo-gatica/thanks/appeal",
        "/cases/gustavo-gatica/confirmed",
        "/api/stats",
    ],
)
def test_no_public_page_sets_a_cookie(site, path):
    status, headers, _body = site.get(path)
    assert status == 200
    assert headers.get_all("Set-Cookie") is None
    assert headers["Cache-Control"].startswith("public, max-age=")
    assert headers["X-Cache-Status"] in {"MISS", "HIT", "EXPIRED", "STALE", "UPDATING"}


def test_a_letter_posted_through_nginx_is_stored(site):
    _status, _headers, body = site.get("/cases/gustavo-gatica")
    fields = hidden_fields(body.decode(), "appeal") | {
        "appeal-name": "Ada Lovelace",
        "appeal-email": "ada.through.nginx@example.org",
        "appeal-country": "GB",
        "appeal-body": "Please release him now.",
        "appeal-consent_privacy": "y",
    }
    assert "appeal-started" in fields
    status, headers, _body = site.post_form("/cases/gustavo-gatica/letters/appeal", fields)
    assert status == 200, _body.decode(errors="replace")
    assert headers["Cache-Control"] == "no-store, private"  # the supporter's own answer
    assert site.count_letters("ada.through.nginx@example.org") == 1


def session_cookie(headers, cookie):
    """The session cookie a response set, else the one sent."""
    return headers["Set-Cookie"].split(";", 1)[0] if headers["Set-Cookie"] else cookie


def sign_in(site):
    """The staff session cookie, from the real sign-in forms posted through nginx: the
    password, then the second step. create-admin made the account, so the first sign-in
    sets up the app from the page's key; a later one types the app's code (its last step
    forgotten first, as if 30 s had passed: a code works once)."""
    _status, headers, body = site.get("/admin/sign-in")
    cookie = session_cookie(headers, None)
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', body.decode()).group(1)
    fields = {"csrf_token": token, "email": STAFF[0], "password": STAFF[1]}
    status, headers, _body = site.post_form("/admin/sign-in", fields, cookie)
    assert status == 303
    cookie = session_cookie(headers, cookie)
    if headers["Location"].endswith("/admin/sign-in/enrol"):
        _status, headers, body = site.get("/admin/sign-in/enrol", {"Cookie": cookie})
        cookie = session_cookie(headers, cookie)
        site.totp_secret = setup_key(body.decode())
        code = pyotp.TOTP(site.totp_secret).now()
        fields = {"csrf_token": token, "code": code}
        status, headers, _body = site.post_form("/admin/sign-in/enrol", fields, cookie)
        assert status == 200
        cookie = session_cookie(headers, cookie)
        status, headers, _body = site.post_form("/admin/sign-in/finish", fields, cookie)
    else:
        with sqlite3.connect(site.database) as connection:
            connection.execute("UPDATE staff_users SET totp_last_step = NULL")
        fields = {"csrf_token": token, "code": pyotp.TOTP(site.totp_secret).now()}
        status, headers, _body = site.post_form("/admin/sign-in/code", fields, cookie)
    assert status == 303
    return headers["Set-Cookie"].split(";", 1)[0]


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_staff_page_is_never_cached(site, signed_in):
    path, headers = "/admin/sign-in", {}
    if signed_in:
        path, headers = "/admin/cases", {"Cookie": sign_in(site)}
    for _ in range(2):
        status, answer, _body = site.get(path, headers)
        assert status == 200
        assert answer["Cache-Control"] == "no-store"
        assert answer["X-Cache-Status"] != "HIT"
    # And nobody else gets the signed-in page: signed out, it is the way to sign in.
    status, answer, _body = site.get("/admin/cases")
    assert status == 302 and "/admin/sign-in" in answer["Location"]


def test_a_staff_change_shows_within_the_cache_time(site):
    path = "/cases/nassima-al-sada"
    site.get(path)
    assert site.get(path)[1]["X-Cache-Status"] == "HIT"
    cookie = sign_in(site)
    _status, headers, body = site.get("/admin/cases", {"Cookie": cookie})
    if headers["Set-Cookie"]:  # the session now holds the page's CSRF token
        cookie = headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', body.decode()).group(1)
    closed_at = time.monotonic()
    status, _headers, _body = site.post_form(
        f"/admin/cases/{site.case_id('nassima-al-sada')}/close", {"csrf_token": token}, cookie
    )
    assert status == 303
    # nginx counts a copy's age in whole seconds (up to one more), and the request that
    # finds it expired still gets it while nginx fetches the new page for the next one.
    while "This case is closed" not in site.get(path)[2].decode():
        assert time.monotonic() - closed_at < PAGE_CACHE_SECONDS + 1.5, "still the old page"
        time.sleep(0.2)


def test_static_files_come_from_disk_with_their_hash_for_a_year(site):
    _status, _headers, body = site.get("/cases/gustavo-gatica")
    url = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]+)"', body.decode()).group(1)
    status, headers, content = site.get(url)
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert content == (ROOT / "static" / "css" / "site.css").read_bytes()
    assert "X-Cache-Status" not in headers  # nginx itself, not the app
    status, headers, _content = site.get("/static/js/embed-1.js")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"


def test_text_is_compressed_by_nginx(site):
    status, headers, _body = site.get("/cases/gustavo-gatica", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
