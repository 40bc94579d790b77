"""After one letter of a case, the thank-you panel offers the other one with the
supporter's details filled in and the signed follow-up value (letters/follow_up.py), so
that one email confirms both. Shared by the site's pages and partners' frames.

Public pages are cached and the same for everyone, so the filled-in form exists only in
the answer to the supporter's own POST, which no cache keeps.
"""

from blueprints.shared import blank_form
from letters.follow_up import CARRIED, first_letter_id, follow_up_token

OTHER_KIND = {"appeal": "solidarity", "solidarity": "appeal"}


def next_letter(case, form, **form_data):
    """(joined, next_form) once `form`'s letter is stored. joined: it rides on an earlier
    letter's confirmation, so both letters are written and nothing more is offered.
    next_form: the other kind's form, filled in (`form_data` adds fields, e.g. a partner
    frame's token). A letter the honeypot kept out gets the same answer, with a value that
    joins nothing."""
    # Whether the letter came through the form offered after a first one, as its signed
    # value says; never whether it was stored as joined: that depends on the address's
    # earlier letters (one already counted makes this one a repeat), and the answer must
    # not tell anyone whether an address wrote before.
    if followed_up(form, case):
        return True, None
    details = {field: form.data[field] for field in CARRIED}
    # The letter just stored is of this case (none when the honeypot kept it out).
    token = follow_up_token(form.letter_id, form.letter_id and case.id, details)
    next_form = blank_form(
        case,
        OTHER_KIND[form.kind],
        form.language.data or "en",
        form_class=type(form),
        follow_up=token,
        **details,
        **form_data,
    )
    return False, next_form


def followed_up(form, case):
    """The form carries a valid follow-up value for this case and address."""
    token = form.follow_up.data if "follow_up" in form else None
    email_key = (form.email.data or "").lower()
    return first_letter_id(token, case.id, email_key) is not None


def private(response):
    """The answer to a supporter's own POST carries their details: no cache keeps it."""
    response.headers["Cache-Control"] = "no-store, private"
    return response
