"""mail/sns.py's fetch, against a real local https server: it checks the server's
certificate, follows no redirect, gives up after its timeout, and reads no more than a
certificate's worth. (Whether an address may be fetched at all is test_ses_webhook.py's.)"""

import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from certs import self_signed

from mail import sns


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(2)
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "https://127.0.0.1:1/elsewhere")
            self.end_headers()
            return
        body = b"x" * (sns.FETCH_MAX_BYTES + 1) if self.path == "/big" else b"certificate"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client refusing our certificate, on purpose: nothing to print


@pytest.fixture
def https_server(tmp_path, monkeypatch):
    """An https server on a free port whose certificate the client trusts (SSL_CERT_FILE,
    as a real CA's would be): its base URL."""
    _key, cert_pem, key_pem = self_signed("localhost", ["127.0.0.1"])
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server = Server(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_fetch_reads_a_body_over_checked_tls(https_server):
    assert sns.fetch(f"{https_server}/cert.pem") == b"certificate"


def test_fetch_refuses_a_server_whose_certificate_is_not_trusted(https_server, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(sns.Unavailable, match="CERTIFICATE_VERIFY_FAILED"):
        sns.fetch(f"{https_server}/cert.pem")


def test_fetch_follows_no_redirect(https_server):
    with pytest.raises(sns.Unavailable, match="302"):
        sns.fetch(f"{https_server}/moved")


def test_fetch_gives_up_after_its_timeout(https_server, monkeypatch):
    # The server answers after 2 s: "timed out" proves the fetch gave up first, with no
    # wall-clock bound to fail on a loaded machine.
    monkeypatch.setattr(sns, "FETCH_TIMEOUT", 0.5)
    with pytest.raises(sns.Unavailable, match="timed out"):
        sns.fetch(f"{https_server}/slow")


def test_fetch_reads_no_more_than_a_certificate_is(https_server):
    with pytest.raises(sns.Unavailable, match="too large"):
        sns.fetch(f"{https_server}/big")
