"""Guessing a staff password without locking the owner out.

Each account has a limit on wrong passwords (RATELIMIT_SIGN_IN_ACCOUNT), but it applies
only to addresses that have not signed in to that account before: a stranger's guesses
from elsewhere pause sign-ins from elsewhere, never from where the owner usually signs
in. Addresses are kept as a keyed hash (HMAC with SECRET_KEY), never as written, and an
address counts as known for STAFF_KNOWN_ADDRESS_DAYS after its last sign-in. When the
limit is reached the owner gets one email per lockout window (lockout_notified_at).
"""

import hashlib
import hmac
import ipaddress
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, request
from limits import parse_many

from extensions import begin_write, db, dialect_insert
from models import Outbox, StaffKnownAddress, StaffUser, utcnow


def network_of(address):
    """The address as it is remembered: an IPv6 address by its /64 network, since a
    device there changes the rest of its address every day or so (privacy extensions)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or ""
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def address_hash(address=None):
    """The client's address (request.remote_addr, after ProxyFix) as a keyed hash."""
    address = network_of(request.remote_addr if address is None else address)
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def remember_address(user):
    """Note that `user` signed in from this address, in the caller's write transaction."""
    now = utcnow()
    insert = dialect_insert()(StaffKnownAddress).values(
        staff_id=user.id, address_hash=address_hash(), last_sign_in_at=now
    )
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=["staff_id", "address_hash"], set_={"last_sign_in_at": now}
        )
    )


def is_known(user):
    """Whether `user` signed in from this address recently (STAFF_KNOWN_ADDRESS_DAYS)."""
    since = utcnow() - timedelta(days=current_app.config["STAFF_KNOWN_ADDRESS_DAYS"])
    found = db.session.scalar(
        sa.select(StaffKnownAddress.staff_id).where(
            StaffKnownAddress.staff_id == user.id,
            StaffKnownAddress.address_hash == address_hash(),
            StaffKnownAddress.last_sign_in_at >= since,
        )
    )
    return found is not None


def account_named(email):
    """The active account with this address, or None."""
    email = (email or "").strip().lower()
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    return user if user is not None and user.active else None


def from_known_address():
    """For the sign-in limiter (exempt_when): the per-account limit does not apply to an
    address the account has signed in from."""
    user = account_named(request.form.get("email"))
    return user is not None and is_known(user)


def lockout_window():
    """The longest window of RATELIMIT_SIGN_IN_ACCOUNT, as a timedelta."""
    limits = parse_many(current_app.config["RATELIMIT_SIGN_IN_ACCOUNT"])
    return timedelta(seconds=max(limit.get_expiry() for limit in limits))


def warn_owner(_limit=None):
    """For the sign-in limiter (on_breach): the account's limit was reached from elsewhere;
    queue one email to its owner per lockout window. Returns None: the 429 goes on."""
    user = account_named(request.form.get("email"))
    now = utcnow()
    told = user is not None and user.lockout_notified_at
    if user is None or (told and told > now - lockout_window()):
        return None  # nobody to tell, or told already: no write for each refused guess
    begin_write()
    # One UPDATE decides, so two refused attempts at the same moment send one email.
    claimed = db.session.execute(
        sa.update(StaffUser)
        .where(
            StaffUser.id == user.id,
            sa.or_(
                StaffUser.lockout_notified_at.is_(None),
                StaffUser.lockout_notified_at <= now - lockout_window(),
            ),
        )
        .values(lockout_notified_at=now)
    ).rowcount
    if claimed:
        db.session.add(Outbox(recipient=user.email, template="staff_lockout", staff_id=user.id))
    db.session.commit()
    return None
