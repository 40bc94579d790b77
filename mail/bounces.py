"""Bounces and complaints, turned into the suppression list (mail/suppression.py): delivery
status notifications (RFC 3464) and abuse reports (ARF, RFC 5965) that come back by email,
read from a Maildir or an IMAP folder by `flask --app app mail bounces`, and Amazon SES
events that /mail/ses takes (blueprints/webhooks.py; mail/sns.py checks their signature).

Anyone can email the bounce mailbox, so only real reports count: a multipart/report of
report-type delivery-status with its message/delivery-status part, or of report-type
feedback-report with its message/feedback-report part. Text that merely reads like a
bounce ("permanent fatal errors ...") is no report, whatever it lists.

Which address a report is about, with MAIL_BOUNCE_ADDRESS set: only the VERP return path's.
Every email leaves with the envelope sender bounces+<key>-<mac>@domain (mail/verp.py), so
its bounce comes back *to* that address; our MTA writes it in Delivered-To or X-Original-To
(read first, then Envelope-To, To, and the Return-Path of the original a report encloses).
The mac means nobody but us makes such an address, so a report with a valid one names
exactly one address we wrote to (a DSN's Final-Recipient may be a forwarding address).
A report without one (sent before MAIL_BOUNCE_ADDRESS was set, or made up by anyone) is
recorded not at all: it is kept for a person, read and flagged, and counted as unverified.
Without MAIL_BOUNCE_ADDRESS there is no key to check, and a report is taken at its word:
the failed recipients flufl.bounce reads from it (or an ARF's Original-Rcpt-To), at most
MAX_UNKEYED of them; a report naming more is kept for a person.

What becomes of a message once read: a bounce or complaint is recorded, committed, and then
deleted, because it repeats the address in clear and often the email itself, which the
address's erasure (supporters/erase.py) and retention could not reach in a mailbox. A message
that is no report (an out-of-office reply, a supporter writing back) or that we do not act
on is kept for a person and marked read and flagged (Maildir: moved to cur/ with the S and
F flags; IMAP: \\Seen and \\Flagged). Only unread messages are read, so a second run reads
nothing twice. Should the run stop between the commit and the deletion, the next run counts
that report again (an extra event; suppression itself is idempotent).
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
NOT_BOUNCE, UNVERIFIED = "not_bounce", "unverified"
DELIVERY_STATUS, FEEDBACK = "delivery-status", "feedback-report"
PARTS = {DELIVERY_STATUS: "message/delivery-status", FEEDBACK: "message/feedback-report"}
MAX_UNKEYED = 3  # addresses one report may name when there is no VERP key to check
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
        found.update(outcome)
        if acted(outcome):
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
    found.update(outcome)
    flags = r"(\Seen \Deleted)" if acted(outcome) else r"(\Seen \Flagged)"
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
    complaint; or of not_bounce (no report, or nobody it names) or unverified (a report we
    do not act on), when it recorded nothing."""
    try:
        entries = report_entries(message)
    except Exception as error:  # noqa: BLE001 (any detector failing on an odd message)
        # A person reads it instead. The error's type only: its text could quote the
        # message, addresses and all.
        log.warning("A message could not be read as a report (%s)", type(error).__name__)
        return Counter({NOT_BOUNCE: 1})
    if entries is None:
        return Counter({UNVERIFIED: 1})
    if not entries:
        return Counter({NOT_BOUNCE: 1})
    begin_write()
    for kind, key in entries:
        record(kind, key, "arf" if kind == COMPLAINT else "dsn")
    db.session.commit()
    return Counter(kind for kind, _ in entries)


def acted(outcome):
    """Whether a message's outcome recorded something (then it is deleted, else kept)."""
    return any(outcome[kind] for kind in (HARD, SOFT, COMPLAINT))


def report_entries(message):
    """[(kind, address key)] that a message reports: a complaint (ARF abuse report), or a
    permanent (hard) or temporary (soft) delivery failure; empty when it is no report, or
    reports nothing to record; None when it is a report we do not act on (no valid VERP
    key while MAIL_BOUNCE_ADDRESS is set, or more than MAX_UNKEYED addresses)."""
    kind = report_type(message)
    if kind is None:
        return []
    if verp.bounce_address() is not None:
        key = verp_key(message)
        if key is None:
            return None
        entry = keyed_entry(message, kind)
        return [(entry, key)] if entry else []
    entries = unkeyed_entries(message, kind)
    return entries if len({key for _, key in entries}) <= MAX_UNKEYED else None


def report_type(message):
    """delivery-status or feedback-report for a real report (RFC 6522 multipart/report of
    that report-type, with its machine-readable part), else None."""
    if message.get_content_type() != "multipart/report":
        return None
    kind = (message.get_param("report-type") or "").lower()
    if kind not in PARTS:
        return None
    parts = (part.get_content_type() for part in message.walk())
    return kind if PARTS[kind] in parts else None


def keyed_entry(message, kind):
    """What a report to our return path says of its one address: a complaint (abuse), a
    hard bounce (some recipient block says Action: failed), a soft one (delayed), or None."""
    if kind == FEEDBACK:
        return COMPLAINT if is_abuse_report(message) else None
    actions = set()
    for part in message.walk():
        if part.get_content_type() == PARTS[DELIVERY_STATUS]:
            blocks = part.get_payload()
            blocks = blocks if isinstance(blocks, list) else []
            actions |= {block.get("Action", "").strip().lower() for block in blocks}
    return HARD if "failed" in actions else SOFT if "delayed" in actions else None


def unkeyed_entries(message, kind):
    """Without VERP: the addresses a report names, taken at its word."""
    if kind == FEEDBACK:
        keys = hashed(feedback_recipients(message)) if is_abuse_report(message) else []
        return [(COMPLAINT, key) for key in keys]
    temporary, permanent = all_failures(message)
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
    if report_type(message) != FEEDBACK:
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
    delivery) records nothing, nor does an event about an email we did not send (its
    mail.source on another domain than ours: the topic may carry another sender's events).
    The caller commits. Returns the Counter of what it recorded."""
    kind = event.get("notificationType") or event.get("eventType")
    if not ours(event.get("mail")):
        return Counter()
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


def ours(mail):
    """Whether an SES event's mail.source (its envelope sender) is on the domain of
    MAIL_DEFAULT_SENDER or of MAIL_BOUNCE_ADDRESS (the VERP return path's)."""
    source = mail.get("source") if isinstance(mail, dict) else None
    domain = parseaddr(str(source or ""))[1].rpartition("@")[2].lower()
    config = current_app.config
    senders = (str(config["MAIL_DEFAULT_SENDER"]), config["MAIL_BOUNCE_ADDRESS"])
    return bool(domain) and domain in {parseaddr(a)[1].rpartition("@")[2].lower() for a in senders}


def report(found):
    """The command's one line: what the run found."""
    line = (
        f"bounces: {found[HARD]} hard, {found[SOFT]} soft, {found[COMPLAINT]} complaints, "
        f"{found[NOT_BOUNCE]} not bounces"
    )
    if found[UNVERIFIED]:
        line += f"; {found[UNVERIFIED]} reports without our return path, kept for a person"
    return line
