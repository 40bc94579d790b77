"""Per-email return paths (VERP): a bounce names the address it is about by the address
it comes back to, whatever the remote server writes in it.

With MAIL_BOUNCE_ADDRESS "bounces@example.org", an email to an address is sent with the
envelope sender (SMTP MAIL FROM, the Return-Path its bounce goes to)
"bounces+<address key>@example.org": the key is the address's keyed hash
(mail/suppression.address_key), so the return path tells the bounces reader (mail/bounces.py)
which address to suppress without carrying the address itself, and nobody without
SECRET_KEY can make up the key of an address of their choosing.
"""

import re

from flask import current_app

from mail.suppression import KEY_LENGTH, address_key

KEY = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}")


def bounce_address():
    """(local part, domain) of MAIL_BOUNCE_ADDRESS, or None when it is not set."""
    local, at, domain = current_app.config["MAIL_BOUNCE_ADDRESS"].strip().rpartition("@")
    return (local, domain) if at and local and domain else None


def verp_address(recipient):
    """The envelope sender of an email to `recipient`: bounces+<key>@domain, or None when
    MAIL_BOUNCE_ADDRESS is not set (the relay then uses the From address)."""
    bounce = bounce_address()
    if bounce is None:
        return None
    local, domain = bounce
    return f"{local}+{address_key(recipient)}@{domain}"


def key_from_verp(address):
    """The address key a return path (bounces+<key>@domain) carries, or None when it is not
    one of ours: another local part or domain, or no well-formed key. Case-insensitive, as
    some servers write the address back in capitals; angle brackets are allowed."""
    bounce = bounce_address()
    if bounce is None or not address:
        return None
    local, at, domain = address.strip().strip("<>").rpartition("@")
    base, plus, key = local.rpartition("+")
    if not (at and plus) or domain.lower() != bounce[1].lower():
        return None
    if base.lower() != bounce[0].lower() or not KEY.fullmatch(key.lower()):
        return None
    return key.lower()
