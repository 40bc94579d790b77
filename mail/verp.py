"""Per-email return paths (VERP): a bounce names the address it is about by the address
it comes back to, whatever the remote server writes in it.

With MAIL_BOUNCE_ADDRESS "bounces@example.org", an email to an address is sent with the
envelope sender (SMTP MAIL FROM, the Return-Path its bounce goes to)
"bounces+<address key>-<mac>@example.org". The key is the address's keyed hash
(mail/suppression.address_key): the return path tells the bounces reader (mail/bounces.py)
which address to suppress without carrying the address itself. The key alone is not
secret, though: the unsubscribe link carries it too (signed, but readable), so anyone who
is forwarded one of our emails could learn it. Hence the mac, a keyed MAC of the key under
its own label: only we make return paths, and a bounce to one names the address we wrote
to. The mac is 10 hex digits (40 bits, checked online, one bounce at a time); with a local
part of up to 20 characters the return path stays within SMTP's 64 for a local part.
"""

import hashlib
import hmac
import re

from flask import current_app

from mail.suppression import KEY_LENGTH, address_key

MAC_LENGTH = 10
TAG = re.compile(rf"(?P<key>[0-9a-f]{{{KEY_LENGTH}}})-(?P<mac>[0-9a-f]{{{MAC_LENGTH}}})")


def bounce_address():
    """(local part, domain) of MAIL_BOUNCE_ADDRESS, or None when it is not set."""
    local, at, domain = current_app.config["MAIL_BOUNCE_ADDRESS"].strip().rpartition("@")
    return (local, domain) if at and local and domain else None


def mac(key, secret=None):
    """The return path's MAC of an address key: its own label, so it is no other value
    the site signs or hashes with SECRET_KEY."""
    secret = secret or current_app.config["SECRET_KEY"]
    digest = hmac.new(f"verp-return-path:{secret}".encode(), key.encode(), hashlib.sha256)
    return digest.hexdigest()[:MAC_LENGTH]


def verp_address(recipient):
    """The envelope sender of an email to `recipient`: bounces+<key>-<mac>@domain, or None
    when MAIL_BOUNCE_ADDRESS is not set (the relay then uses the From address)."""
    bounce = bounce_address()
    if bounce is None:
        return None
    local, domain = bounce
    key = address_key(recipient)
    return f"{local}+{key}-{mac(key)}@{domain}"


def key_from_verp(address):
    """The address key a return path (bounces+<key>-<mac>@domain) carries, or None when it
    is not one of ours: another local part or domain, no well-formed key, or a mac that is
    not ours (under SECRET_KEY or a fallback key, compared in constant time).
    Case-insensitive, as some servers write the address back in capitals; angle brackets
    are allowed."""
    bounce = bounce_address()
    if bounce is None or not isinstance(address, str):
        return None
    local, at, domain = address.strip().strip("<>").rpartition("@")
    base, plus, tag = local.rpartition("+")
    if not (at and plus) or domain.lower() != bounce[1].lower():
        return None
    found = TAG.fullmatch(tag.lower())
    if base.lower() != bounce[0].lower() or found is None:
        return None
    key, given = found["key"], found["mac"]
    config = current_app.config
    secrets = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    valid = [hmac.compare_digest(mac(key, secret), given) for secret in secrets]
    return key if any(valid) else None
