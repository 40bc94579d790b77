"""The supporter's details, carried from their first letter of a case to the next one.

After the appeal the thank-you panel offers the solidarity message (or the other way
round) with the name, email, country, city and contact consent already filled in, and a
signed, short-lived value in that form: sent back with the second letter, it joins that
letter to the first (letters.confirm_with_id), so that one email confirms both.

The value lives only in the answer to the supporter's own POST (never a cookie, never a
URL: public pages stay the same for everyone and no address reaches a log). It is signed,
not encrypted: it holds nothing the supporter's own page does not already show.
"""

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

FOLLOW_UP_SALT = "letter-follow-up"
# Long enough to write a message of solidarity; short, since it carries an address.
FOLLOW_UP_MAX_AGE = 3600
# What the offered form is filled with, as LetterForm names its fields.
CARRIED = ("name", "email", "country", "city", "consent_contact")


def serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=FOLLOW_UP_SALT)


def follow_up_token(letter_id, case_id, details):
    """The signed value for the form offered after letter `letter_id` (`details`: the
    stored letter as LetterForm.letter() gives it)."""
    carried = {field: details.get(field) for field in CARRIED}
    return serializer().dumps({"letter": letter_id, "case": case_id, **carried})


def read_follow_up(token):
    """What a follow-up value carries, or None when it is missing, forged or expired."""
    if not token:
        return None
    try:
        value = serializer().loads(token, max_age=FOLLOW_UP_MAX_AGE)
    except BadSignature:  # SignatureExpired is one
        return None
    return value if isinstance(value, dict) else None


def first_letter_id(token, case_id, email_key):
    """The id of the letter a new one may join: the value is valid, for this case, and
    for this address (case-insensitive). The caller checks the letter itself."""
    value = read_follow_up(token)
    if value is None or value.get("case") != case_id:
        return None
    letter_id = value.get("letter")
    if str(value.get("email") or "").lower() != email_key or not isinstance(letter_id, int):
        return None
    return letter_id
