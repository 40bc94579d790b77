"""Test data: rows as the site itself would have stored them, built with factory_boy.

Each factory writes through the app's session and commits, so it needs an app context:

    with app.app_context():
        letter = LetterFactory(case_id=cases["gustavo-gatica"], moderation="approved")

The defaults make an ordinary row, so a test names only what it is about. A letter is an
appeal from its own address (the once-per-address rule never refuses it), confirmed,
counted, waiting for a moderator, with the automatic flags its text raises.
"""

import factory
import sqlalchemy as sa
from factory.alchemy import SQLAlchemyModelFactory
from werkzeug.security import generate_password_hash

import moderation.flags
from extensions import db
from models import (
    AuditEvent,
    Case,
    CaseCounter,
    DeliveryBatch,
    Letter,
    Outbox,
    Partner,
    RejectReason,
    StaffUser,
    utcnow,
)
from staff import two_factor

STAFF_PASSWORD = "correct horse battery staple"
# Every factory account has set up its authenticator app with this secret (pyotp base32);
# pass totp_secret=None, totp_confirmed_at=None for one that has not (its first sign-in).
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Factory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 (the app's session)
        sqlalchemy_session_persistence = "commit"


class CaseFactory(Factory):
    """A published case with an English appeal letter."""

    class Meta:
        model = Case

    slug = factory.Sequence(lambda n: f"case-{n}")
    name = factory.Sequence(lambda n: f"Person {n}")
    country = "CL"
    summary = "Held for speaking out."
    story = "Arrested at a peaceful protest."
    ask = "Release them now."
    target_title = "The Minister of Justice"
    appeal_templates = factory.LazyFunction(lambda: {"en": "Dear Minister, release them."})
    status = "published"


class LetterFactory(Factory):
    """A confirmed, counted appeal waiting for a moderator (see the module's docstring)."""

    class Meta:
        model = Letter

    case_id = factory.LazyFunction(lambda: CaseFactory().id)
    kind = "appeal"
    body = factory.Sequence(lambda n: f"Please release him now. Letter {n}.")
    name = "Ada Lovelace"
    email = factory.Sequence(lambda n: f"writer{n}@example.org")
    email_key = factory.LazyAttribute(lambda letter: letter.email.lower())
    country = "GB"
    city = "London"
    language = "en"
    consent_privacy = True
    status = "confirmed"
    moderation = "pending"
    counted = factory.LazyAttribute(lambda letter: letter.status == "confirmed")
    created_at = factory.LazyFunction(utcnow)
    confirmed_at = factory.LazyAttribute(
        lambda letter: letter.created_at if letter.status == "confirmed" else None
    )
    # As the submission flags a letter ("repeated" and "fast" need the request; pass them).
    flags = factory.LazyAttribute(
        lambda letter: ",".join(moderation.flags.text_flags(letter.body, letter.language))
    )
    flagged = factory.LazyAttribute(lambda letter: bool(letter.flags))
    fingerprint = factory.LazyAttribute(lambda letter: moderation.flags.fingerprint(letter.body))
    group_key = factory.LazyAttribute(lambda letter: letter.fingerprint)  # its own text's group
    partner_id = None


class SolidarityFactory(LetterFactory):
    """A solidarity message to the person: it waits for a moderator before delivery."""

    kind = "solidarity"
    body = factory.Sequence(lambda n: f"Stay strong, we are with you. Message {n}.")


def insert_letters(count, **values):
    """`count` letters in one INSERT, for tests that need thousands of them: the factory's
    defaults with `values` on top, without an ORM object per letter."""
    rows = [vars(stub) for stub in LetterFactory.stub_batch(count, **values)]
    db.session.execute(sa.insert(Letter), rows)
    db.session.commit()


def sent_batch(*letter_ids, kind=None, sent_on=None):
    """A delivery batch recorded sent on `sent_on` (today by default) holding the letters,
    of one case: they are delivered, so no moderator may change them. `kind`: the batch's
    (the first letter's by default)."""
    letters = [db.session.get(Letter, letter_id) for letter_id in letter_ids]
    batch = DeliveryBatch(
        case_id=letters[0].case_id,
        kind=kind or letters[0].kind,
        state="sent",
        letters=len(letters),
        sent_on=sent_on or utcnow().date(),
    )
    db.session.add(batch)
    db.session.flush()
    for letter in letters:
        letter.delivery_batch_id = batch.id
    db.session.commit()
    return batch


class CaseCounterFactory(Factory):
    """Confirmed letters on a case's public counter, without the letters themselves."""

    class Meta:
        model = CaseCounter

    shard = factory.Sequence(lambda n: n)  # its own row, so counts made one by one add up
    count = 1


class OutboxFactory(Factory):
    """An email about a letter, as the worker left it: sent, unless `state` says otherwise."""

    class Meta:
        model = Outbox

    letter_id = factory.LazyFunction(lambda: LetterFactory().id)
    recipient = factory.LazyAttribute(lambda email: db.session.get(Letter, email.letter_id).email)
    template = "confirm"
    state = "sent"
    attempts = factory.LazyAttribute(lambda email: 20 if email.state == "dead" else 1)
    created_at = factory.LazyFunction(utcnow)
    next_attempt_at = factory.SelfAttribute("created_at")
    last_error = ""
    sent_at = factory.LazyAttribute(
        lambda email: email.created_at if email.state == "sent" else None
    )


class StaffUserFactory(Factory):
    """An active moderator whose password is STAFF_PASSWORD."""

    class Meta:
        model = StaffUser

    class Params:
        password = STAFF_PASSWORD

    email = factory.Sequence(lambda n: f"staff{n}@example.org")
    role = "moderator"
    active = True
    password_hash = factory.LazyAttribute(lambda user: generate_password_hash(user.password))
    totp_secret = factory.LazyFunction(lambda: two_factor.encrypted(STAFF_TOTP_SECRET))
    totp_confirmed_at = factory.LazyFunction(utcnow)


class PartnerFactory(Factory):
    """A partner organisation allowed to frame the letter forms on its own site."""

    class Meta:
        model = Partner

    slug = factory.Sequence(lambda n: f"partner-{n}")
    name = factory.Sequence(lambda n: f"Partner {n}")
    origins = factory.LazyAttribute(lambda partner: [f"https://{partner.slug}.example"])


class AuditEventFactory(Factory):
    """An entry in the audit log; `actor` (a StaffUser) fills in who, or the command line."""

    class Meta:
        model = AuditEvent

    class Params:
        actor = None

    action = "case.update"
    actor_id = factory.LazyAttribute(lambda event: event.actor.id if event.actor else None)
    actor_email = factory.LazyAttribute(lambda event: event.actor.email if event.actor else "")
    target_type = "cases"
    target_id = factory.Sequence(lambda n: n + 1)
    created_at = factory.LazyFunction(utcnow)
    details = factory.LazyFunction(dict)


class RejectReasonFactory(Factory):
    """A reason in the catalogue moderators choose from when they reject a message."""

    class Meta:
        model = RejectReason

    text = factory.Sequence(lambda n: f"Reason {n}")
    active = True
    sort_order = factory.Sequence(lambda n: 100 + n)  # after the catalogue's own reasons
