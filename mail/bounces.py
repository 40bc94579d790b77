"""Bounces and complaints, turned into the suppression list (mail/suppression.py): delivery
status notifications (RFC 3464) and abuse reports (ARF, RFC 5965) that come back by email,
read from a Maildir or an IMAP folder by `flask --app app mail bounces`, and Amazon SES
events that /mail/ses takes (blueprints/webhooks.py; mail/sns.py checks their signature).

Which address a report is about: the VERP key first. With MAIL_BOUNCE_ADDRESS set, every
email leaves with the envelope sender bounces+<key>@domain (mail/verp.py), so its bounce
comes back *to* that address, and the key names exactly the address we wrote to (a DSN's
Final-Recipient may be a forwarding address we never wrote to). Nobody can make up a key for
an address they do not read, as it is a keyed hash. A report without one of our keys (sent
before MAIL_BOUNCE_ADDRESS was set, or to the From address) is taken at its word: the failed
recipients flufl.bounce reads from it, hashed with address_key.

What becomes of a message once read: a bounce or complaint is recorded, committed, and then
deleted, because it repeats the address in clear and often the email itself, which the
address's erasure (supporters/erase.py) and retention could not reach in a mailbox. A message
that is no report (an out-of-office reply, a supporter writing back) is kept for a person and
marked read and flagged (Maildir: moved to cur/ with the S and F flags; IMAP: \\Seen and
\\Flagged). Only unread messages are read, so a second run reads nothing twice. Should the
run stop between the commit and the deletion, the next run counts that report again (an
extra event; suppression itself is idempotent).
"""

import contextlib
import email
import imaplib
import logging
import mailbox
import os
import ssl
from collections import Counter
from email.utils import getaddresses, parseaddr
from urllib.parse import unquote, urlsplit

from flask import current_app
from flufl.bounce import all_failures

from extensions import begin_write, db
from mail import suppression, verp

log = logging.getLogger(__name__)

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
# Where a bounce addressed to our VERP return path says whom it was delivered to: Postfix
# and Dovecot write Delivered-To, Postfix X-Original-To, Exim Envelope-To, and the
# reporting server addresses the report To the return path.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")
IMAPS_PORT = 993


class SourceError(Exception):
    """The Maildir or IMAP folder could not be read as asked (the message says why)."""


def read_maildir(path):
    """Read every unread message of the Maildir at `path`; the counts of what was found."""
    if not all(os.path.isdir(os.path.join(path, sub)) for sub in ("new", "cur", "tmp")):
        raise SourceError(f"No Maildir at {path} (it has no new/, cur/ and tmp/).")
    box = mailbox.Maildir(path, factory=None, create=False)
    found = Counter()
    for key in list(box.keys()):
        message = box.get_message(key)
        if "S" in message.get_flags():
            continue
        outcome = read_message(message)
        found.update(outcome or {"not_bounce": 1})
        if outcome:
            box.remove(key)
        else:
            message.set_subdir("cur")
            message.add_flag("SF")
            box[key] = message
    return found


def read_imap(url):
    """Read every unseen message of the IMAP folder `url` (imaps://USER@HOST[:PORT]/FOLDER,
    password in MAIL_BOUNCE_IMAP_PASSWORD), over TLS with the server's certificate checked."""
    user, host, port, folder = imap_location(url)
    password = current_app.config["MAIL_BOUNCE_IMAP_PASSWORD"]
    if not password:
        raise SourceError("Set MAIL_BOUNCE_IMAP_PASSWORD to the IMAP account's password.")
    found = Counter()
    context = ssl.create_default_context()
    timeout = current_app.config["MAIL_TIMEOUT"]
    try:
        imap = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
    except OSError as error:  # refused, timed out, or the certificate is not trusted
        raise SourceError(f"IMAP: {error}") from error
    try:
        imap.login(user, password)
        checked(imap.select(imap_quote(folder)), f"no folder {folder}")
        uids = checked(imap.uid("SEARCH", None, "UNSEEN"), "search failed")[0].split()
        for uid in uids:
            read_imap_message(imap, uid, found)
        imap.expunge()
    except (imaplib.IMAP4.error, OSError) as error:
        raise SourceError(f"IMAP: {error}") from error
    finally:
        close(imap)
    return found


def close(imap):
    """Log out, and close the connection even when the server has dropped it (imaplib's
    logout leaves the socket open when the LOGOUT fails)."""
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        imap.logout()
    with contextlib.suppress(OSError):
        imap.shutdown()


def read_imap_message(imap, uid, found):
    """Read one message without marking it seen, then delete it (a report) or mark it seen
    and flagged (anything else, for a person to read)."""
    parts = checked(imap.uid("FETCH", uid, "(BODY.PEEK[])"), "fetch failed")
    raw = next(part[1] for part in parts if isinstance(part, tuple))
    outcome = read_message(email.message_from_bytes(raw))
    found.update(outcome or {"not_bounce": 1})
    flags = r"(\Seen \Deleted)" if outcome else r"(\Seen \Flagged)"
    checked(imap.uid("STORE", uid, "+FLAGS.SILENT", flags), "store failed")


def imap_location(url):
    """(user, host, port, folder) of imaps://USER@HOST[:PORT]/FOLDER. The password is never
    in the URL (it would be in the shell's history and the process list)."""
    parts = urlsplit(url)
    if parts.scheme != "imaps" or not parts.hostname or not parts.username:
        raise SourceError("Give the folder as imaps://USER@HOST[:PORT]/FOLDER.")
    if parts.password is not None:
        raise SourceError("Put the password in MAIL_BOUNCE_IMAP_PASSWORD, not in the URL.")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return unquote(parts.username), parts.hostname, parts.port or IMAPS_PORT, folder


def imap_quote(name):
    """A folder name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def checked(answer, what):
    """The data of an IMAP answer that must be OK."""
    status, data = answer
    if status != "OK":
        raise SourceError(f"IMAP: {what}.")
    return data


def read_message(message):
    """Record what one message reports, in its own transaction: a Counter of hard, soft and
    complaint, empty when it reports nothing (no bounce, or nobody we can name)."""
    try:
        entries = report_entries(message)
    except Exception as error:  # noqa: BLE001 (any detector failing on an odd message)
        # A person reads it instead. The error's type only: its text could quote the
        # message, addresses and all.
        log.warning("A message could not be read as a report (%s)", type(error).__name__)
        return Counter()
    if entries:
        begin_write()
        for kind, key in entries:
            record(kind, key, "arf" if kind == COMPLAINT else "dsn")
        db.session.commit()
    return Counter(kind for kind, _ in entries)


def report_entries(message):
    """[(kind, address key)] that a message reports: a complaint (ARF abuse report), or a
    permanent (hard) or temporary (soft) delivery failure. Empty when it is no report."""
    key = verp_key(message)
    if is_abuse_report(message):
        keys = [key] if key else hashed(feedback_recipients(message))
        return [(COMPLAINT, each) for each in keys]
    temporary, permanent = all_failures(message)
    if key:
        kind = HARD if permanent else SOFT if temporary else None
        return [(kind, key)] if kind else []
    hard = hashed(address.decode() for address in permanent)
    soft = [key for key in hashed(a.decode() for a in temporary) if key not in hard]
    return [(HARD, key) for key in hard] + [(SOFT, key) for key in soft]


def record(kind, key, source):
    """Put one bounce or complaint on the address's record (the caller's transaction)."""
    if kind == HARD:
        suppression.suppress(key, suppression.HARD_BOUNCE, source)
    elif kind == SOFT:
        suppression.soft_bounce(key, source)
    else:
        suppression.suppress(key, suppression.COMPLAINT, source)


def hashed(addresses):
    """The address keys of addresses written in clear, each once."""
    return list(dict.fromkeys(suppression.address_key(a) for a in addresses if "@" in a))


def verp_key(message):
    """The address key of our VERP return path the report came back to, or None: from the
    envelope recipient headers, or the Return-Path of the original email it encloses."""
    values = [v for name in RECIPIENT_HEADERS for v in message.get_all(name, [])]
    original = enclosed_original(message)
    if original is not None:
        values += original.get_all("Return-Path", [])
    for _name, address in getaddresses(values):
        if key := verp.key_from_verp(address):
            return key
    return None


def is_abuse_report(message):
    """Whether a message is an ARF report (RFC 5965) of the abuse feedback type: a person
    pressed "this is spam" on our email."""
    report = feedback_report(message)
    return report is not None and report.get("Feedback-Type", "").strip().lower() == "abuse"


def feedback_report(message):
    """The fields of an ARF report's message/feedback-report part, or None."""
    if message.get_content_type() != "multipart/report":
        return None
    if (message.get_param("report-type") or "").lower() != "feedback-report":
        return None
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list):
                return payload[0] if payload else None
            return email.message_from_string(payload)
    return None


def feedback_recipients(message):
    """The addresses an abuse report names as the original recipients (Original-Rcpt-To)."""
    report = feedback_report(message)
    values = report.get_all("Original-Rcpt-To", []) if report is not None else []
    return [parseaddr(value)[1] for value in values]


def enclosed_original(message):
    """The original email's headers a report encloses (message/rfc822 or
    text/rfc822-headers), or None."""
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            return payload[0] if isinstance(payload, list) and payload else None
        if part.get_content_type() == "text/rfc822-headers":
            return email.message_from_string(part.get_payload(decode=True).decode(errors="replace"))
    return None


def record_ses(event):
    """Record an Amazon SES bounce or complaint notification (the JSON of an SNS message):
    a Permanent bounce suppresses, a Transient or Undetermined one counts as soft, and a
    complaint suppresses (unless its feedback type says "not spam"). Anything else (a
    delivery) records nothing. The caller commits. Returns the Counter of what it recorded."""
    kind = event.get("notificationType") or event.get("eventType")
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        entry = HARD if bounce.get("bounceType") == "Permanent" else SOFT
        recipients = bounce.get("bouncedRecipients") or []
    elif kind == "Complaint":
        complaint = event.get("complaint") or {}
        entry = None if complaint.get("complaintFeedbackType") == "not-spam" else COMPLAINT
        recipients = complaint.get("complainedRecipients") or []
    else:
        return Counter()
    addresses = [parseaddr(str(r.get("emailAddress", "")))[1] for r in recipients]
    keys = hashed(addresses) if entry else []
    for key in keys:
        record(entry, key, "ses")
    return Counter({entry: len(keys)}) if keys else Counter()


def report(found):
    """The command's one line: what the run found."""
    return (
        f"bounces: {found[HARD]} hard, {found[SOFT]} soft, {found[COMPLAINT]} complaints, "
        f"{found['not_bounce']} not bounces"
    )
