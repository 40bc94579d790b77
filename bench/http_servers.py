"""The servers bench/http_bench.py measures: gunicorn with the shipped gunicorn.conf.py,
and Debian's nginx with the shipped deploy/nginx.conf in front of it.

Each runs in its own process group, so that stopping it reaches its workers too, and
every one started is stopped by stop_everything(), even on errors or Ctrl-C. Only
127.0.0.1 is used.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from http_common import BIN, RESULTS, ROOT, CheckFailed

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
APP_SETTINGS = {
    "SECRET_KEY": "bench-secret",
    "BASE_URL": "http://127.0.0.1:8000",  # the Origin that the letter posts carry
    "RATELIMIT_ENABLED": "0",
    "MIN_FILL_SECONDS": "0",  # wrk posts at once: no letter should be flagged "fast"
    "SESSION_COOKIE_SECURE": "0",
    "ACCESS_LOG": "none",
    "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ left in bench/
}
# Taken out of the inherited environment so that the shipped defaults apply.
UNSET = (
    "MAIL_SERVER",
    "DATABASE_URL",
    "BIND",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "PAGE_CACHE_SECONDS",
    "CACHE_REDIS_URL",
)

RUNNING = []  # every server started and not yet stopped


def app_env(database_url, bind=None):
    """The environment of the app's processes: the bench's settings, shipped defaults."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(APP_SETTINGS, DATABASE_URL=database_url)
    if bind:
        env["BIND"] = bind
    return env


def flask_command(database_url, *args):
    """Run `flask --app app <args>` against the database; raise CheckFailed if it fails."""
    command = [str(BIN / "flask"), "--app", "app", *args]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=app_env(database_url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise CheckFailed(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_request(port, method, path, body=None, headers=None):
    """(status, headers, body text) for one request to 127.0.0.1, no redirects followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


class Server:
    """A server process on a free port of 127.0.0.1, in its own process group."""

    name = "server"

    def __init__(self, command, env, log_name, ready_path, port):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = RESULTS / f"{self.name}-{log_name}.log"
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches the workers
            )
        self.pgid = self.process.pid
        RUNNING.append(self)
        try:
            self.wait_until_ready(ready_path)
        except BaseException:
            self.stop()
            raise

    def wait_until_ready(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CheckFailed(
                    f"{self.name} exited early, see {self.log_path}:\n{self.log_tail()}"
                )
            try:
                status, _headers, _body = http_request(self.port, "GET", path)
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise CheckFailed(f"{self.name} did not answer in {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines=30):
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self):
        if self in RUNNING:
            RUNNING.remove(self)
        if self.process.poll() is None:
            signal_group(self.pgid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                signal_group(self.pgid, signal.SIGKILL)
                self.process.wait(timeout=10)
        signal_group(self.pgid, signal.SIGKILL)  # any worker left behind

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Gunicorn(Server):
    """`gunicorn -c gunicorn.conf.py <app_spec>`, answering GET ready_path when returned."""

    name = "gunicorn"

    def __init__(self, app_spec, database_url, ready_path, log_name):
        port = free_port()
        command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", app_spec]
        env = app_env(database_url, bind=f"127.0.0.1:{port}")
        super().__init__(command, env, log_name, ready_path, port)


class Nginx(Server):
    """Debian's nginx with `conf` (deploy/nginx.conf), in front of `upstream` (a Gunicorn).

    The conf's placeholders are filled in by deploy/render_nginx_conf.py and everything nginx
    reads or writes (conf, pid, logs, cache, the files of /static/: `static_files`,
    {name: text}) goes to a temporary folder of its own, removed when it stops, so that
    it runs beside anything else and needs no root.
    """

    name = "nginx"

    def __init__(self, upstream, conf, static_files, log_name):
        port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="w4r-bench-nginx-"))
        try:
            conf_path = self.write_files(upstream, port, Path(conf).read_text(), static_files)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        main = main_directives(conf_path.read_text(), self.folder)
        command = [NGINX, "-p", str(self.folder), "-c", str(conf_path), "-e", "stderr", "-g", main]
        super().__init__(command, None, log_name, "/", port)

    def write_files(self, upstream, port, template, static_files):
        """Fill the folder: static files, the conf with its placeholders filled in."""
        self.folder.chmod(0o755)  # run as root, nginx's workers read it as another user
        static_root = self.folder / "static"
        static_root.mkdir()
        for name, text in static_files.items():
            (static_root / name).write_text(text)
        (self.folder / "cache").mkdir()  # nginx makes the folders in it, not it
        values = {
            "UPSTREAM": f"127.0.0.1:{upstream.port}",
            "LISTEN": f"127.0.0.1:{port}",
            "STATIC_ROOT": str(static_root),
            "CACHE_DIR": str(self.folder / "cache"),
        }
        # deploy/ holds the renderer operators use: the bench fills the conf the same way.
        from deploy.render_nginx_conf import render

        conf_path = self.folder / "nginx.conf"
        conf_path.write_text(render(values, template))
        return conf_path

    def stop(self):
        super().stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def main_directives(conf, folder):
    """`nginx -g` directives for running in the foreground with its pid in `folder`,
    leaving out any that the conf sets itself (nginx refuses duplicates)."""
    wanted = {"daemon": "off", "pid": str(folder / "nginx.pid")}
    return " ".join(
        f"{name} {value};"
        for name, value in wanted.items()
        if not re.search(rf"^\s*{name}\s", conf, re.MULTILINE)
    )


def signal_group(pgid, sig):
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def stop_everything():
    """Stop every server this process started and has not stopped yet."""
    for server in list(reversed(RUNNING)):
        server.stop()
