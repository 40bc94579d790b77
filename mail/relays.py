"""Where the mail worker hands its emails over: an SMTP relay (MAIL_SERVER), or, in
development without one, a folder of .eml files. Both take the email's envelope sender
(its return path, mail/verp.py), which the relay's MAIL FROM carries and the folder shows
as a Return-Path header. And how fast a worker hands them over (Pacer)."""

import contextlib
import smtplib
import time
from email.utils import parseaddr
from pathlib import Path

from flask import current_app
from flask_mail import Connection


class TimeoutConnection(Connection):
    """Flask-Mail's connection, with a connect and read timeout (it sets none)."""

    def configure_host(self):
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(
            self.mail.server, self.mail.port, timeout=current_app.config["MAIL_TIMEOUT"]
        )
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def __exit__(self, *exc_info):
        # After a timeout smtplib has closed the link already, and QUIT would raise
        # "please run connect() first": nothing is left to close.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            super().__exit__(*exc_info)


class SmtpRelay:
    """A batch's SMTP connection, opened for its first email and closed with the batch."""

    def __init__(self):
        self.exits = contextlib.ExitStack()
        self.connection = None

    def send(self, email, message, envelope_from=None):
        """Send one email; `envelope_from` is its MAIL FROM (None: the From address)."""
        if self.connection is None:
            mail = current_app.extensions["mail"]
            self.connection = self.exits.enter_context(TimeoutConnection(mail))
        self.connection.send(message, envelope_from=envelope_from)

    def close(self):
        self.connection = None
        self.exits.close()


class FolderRelay:
    """Development without MAIL_SERVER: each email becomes instance/mail/<id>.eml, with the
    Return-Path a receiving server would have written (where its bounces would go)."""

    def send(self, email, message, envelope_from=None):
        folder = mail_folder()
        folder.mkdir(parents=True, exist_ok=True)
        return_path = envelope_from or parseaddr(message.sender)[1]
        data = f"Return-Path: <{return_path}>\n".encode() + message.as_bytes()
        (folder / f"{email.id:08d}.eml").write_bytes(data)

    def close(self):
        pass


def mail_folder():
    return Path(current_app.instance_path) / "mail"


def relay():
    """The relay of a batch: SMTP when MAIL_SERVER is set, else the folder."""
    return SmtpRelay() if current_app.config["MAIL_SERVER"] else FolderRelay()


class Pacer:
    """At most MAIL_RATE_PER_SECOND emails a second from one worker: the relay or the
    provider (Amazon SES counts a sending rate per account) refuses or throttles a faster
    sender, and a million case-news emails would otherwise go out as fast as the
    connection allows. Each email gets a slot 1/rate seconds after the one before; a
    worker that was idle sends its next email at once.

    time.monotonic, not the wall clock: a clock set back or forward must not stall the
    worker or let a burst through. `clock` and `sleep` are for tests."""

    def __init__(self, rate, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1 / rate if rate and rate > 0 else 0
        self.clock, self.sleep = clock, sleep
        self.next_slot = None

    @classmethod
    def for_worker(cls, **options):
        return cls(current_app.config["MAIL_RATE_PER_SECOND"], **options)

    def wait(self):
        """Sleep until this email's slot; returns the seconds slept."""
        now = self.clock()
        slot = now if self.next_slot is None else max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            self.sleep(slot - now)
            return slot - now
        return 0.0
