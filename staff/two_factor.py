"""The second factor of a staff sign-in: a TOTP code from an app on the staff member's phone
(RFC 6238, with pyotp), or one of ten single-use recovery codes.

The TOTP secret is stored encrypted (Fernet, with a key derived from SECRET_KEY): a copy of
the database alone (a backup, a leaked dump) then gives no one the codes, only the password
hashes, which are slow to guess. The old keys in Flask's SECRET_KEY_FALLBACKS still read
secrets stored before a SECRET_KEY change; without them every account must enrol again
(`flask --app app staff reset-2fa EMAIL`).
"""

import base64
import hashlib
import logging
import secrets
import time

import pyotp
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from extensions import db
from models import StaffRecoveryCode, StaffUser, utcnow

log = logging.getLogger(__name__)

PENDING = "pending_sign_in"  # the session key of a sign-in waiting for its second step
ISSUER = "Write for Rights"  # the name the authenticator app shows beside the account
VALID_WINDOW = 1  # steps of 30 s either side of now, as pyotp's verify(valid_window=1)
RECOVERY_CODES = 10
RECOVERY_LOW = 3  # at or below this many unused codes, the staff member is told
# Recovery codes: 12 characters from 32 that no one mixes up (no 0/o, 1/l/i), about 60
# random bits each, shown in groups of four.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 12


def _key(secret_key):
    """A Fernet key of its own for TOTP secrets, derived from one SECRET_KEY."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"staff totp secret")
    return Fernet(base64.urlsafe_b64encode(raw.derive(secret_key.encode())))


def _fernet():
    keys = [
        current_app.config["SECRET_KEY"],
        *(current_app.config.get("SECRET_KEY_FALLBACKS") or []),
    ]
    return MultiFernet([_key(key) for key in keys])


def encrypted(plain_secret):
    return _fernet().encrypt(plain_secret.encode()).decode()


def start_enrolment(user):
    """Give `user` a new, unconfirmed TOTP secret (shown as a QR code and as text until
    the first code confirms it)."""
    user.totp_secret = encrypted(pyotp.random_base32())
    user.totp_confirmed_at = None
    user.totp_last_step = None


def secret(user):
    """The account's TOTP secret in base32, as authenticator apps take it."""
    return _fernet().decrypt(user.totp_secret.encode()).decode()


def readable(user):
    """Whether the account has a secret this SECRET_KEY (or a fallback) can read."""
    try:
        return user.totp_secret is not None and bool(secret(user))
    except InvalidToken:
        return False


def grouped(text, size=4):
    """A secret or code in groups, easier to read out and type: 'ABCD EFGH ...'."""
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


def provisioning_uri(user):
    """The otpauth:// link the QR code carries."""
    return pyotp.TOTP(secret(user)).provisioning_uri(name=user.email, issuer_name=ISSUER)


def enrolled(user):
    return user.totp_secret is not None and user.totp_confirmed_at is not None


def digits(code):
    """The code as typed, without the spaces or dashes people add; None unless 6 digits."""
    code = "".join((code or "").split()).replace("-", "")
    return code if len(code) == 6 and code.isascii() and code.isdigit() else None


def accept_code(user, code):
    """Whether `code` is the account's TOTP code now, or one step (30 s) before or after
    (pyotp's valid_window=1, for a phone's clock a little off), and not used before: the
    step it belongs to is stored, and a code of that step or an earlier one is refused
    (a code seen over a shoulder, or replayed, does not sign in a second time)."""
    code = digits(code)
    if code is None or user.totp_secret is None:
        return False
    try:
        totp = pyotp.TOTP(secret(user))
    except InvalidToken:
        log.error(
            "The TOTP secret of staff account %s cannot be read: SECRET_KEY changed?", user.id
        )
        return False
    now = totp.timecode(time.time())
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return _claim_step(user, step)
    return False


def _claim_step(user, step):
    """Record `step` as used, unless it (or a later one) already is: one UPDATE that checks
    and sets at once, so two requests racing with the same code cannot both pass."""
    claimed = db.session.execute(
        sa.update(StaffUser)
        .where(StaffUser.id == user.id)
        .where(sa.or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return claimed.rowcount == 1


def _hash(code):
    """SHA-256 of the normalised code. A slow hash (like the password's) would add nothing:
    each code is 60 random bits, too many to guess even from a copy of the database, while
    a slow hash would cost ten slow checks on every try."""
    return hashlib.sha256(code.encode()).hexdigest()


def normalised_recovery_code(code):
    code = "".join((code or "").split()).replace("-", "").lower()
    return code if len(code) == RECOVERY_LENGTH else None


def new_recovery_codes(user):
    """Ten new recovery codes for `user`, replacing any older ones. Returns them for
    showing once: only their hashes are kept."""
    db.session.execute(sa.delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == user.id))
    codes = [
        "".join(secrets.choice(ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    db.session.add_all(StaffRecoveryCode(staff_id=user.id, code_hash=_hash(code)) for code in codes)
    return [grouped(code).replace(" ", "-") for code in codes]


def use_recovery_code(user, code):
    """Whether `code` is one of the account's unused recovery codes; if so it is used up,
    in one UPDATE that checks and marks, so it works once even under a race."""
    code = normalised_recovery_code(code)
    if code is None:
        return False
    used = db.session.execute(
        sa.update(StaffRecoveryCode)
        .where(StaffRecoveryCode.staff_id == user.id)
        .where(StaffRecoveryCode.code_hash == _hash(code))
        .where(StaffRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return used.rowcount == 1


def recovery_codes_left(user):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(StaffRecoveryCode)
        .where(StaffRecoveryCode.staff_id == user.id, StaffRecoveryCode.used_at.is_(None))
    )


def reset(user):
    """Forget the account's second factor: the next sign-in enrols again."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == user.id))
