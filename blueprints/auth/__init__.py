"""Staff accounts from the outside: sign-in and sign-out, the second factor, invitations
and forgotten passwords. Every page here is for staff only and never stored."""

from flask import Blueprint

from blueprints.shared import no_store

bp = Blueprint("auth", __name__)
bp.after_request(no_store)

# Each module registers its routes on bp.
from blueprints.auth import password, sign_in, two_factor  # noqa: E402,F401
