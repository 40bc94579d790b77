"""Operations on letters: submit, confirm, resend a confirmation link; and the counters."""

import sqlalchemy as sa
from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from extensions import begin_write, db
from models import Case, CaseCounter, Letter, Outbox, utcnow

CONFIRM_SALT = "confirm-letter"
EMAIL = {"unconfirmed": "confirm", "repeat": "repeat"}  # which email a new letter gets

# The hottest statements of the campaign, built once (Core, bound parameters).
INSERT_LETTER = sa.insert(Letter.__table__).returning(Letter.__table__.c.id)
INSERT_EMAIL = sa.insert(Outbox.__table__)
COUNTED = (
    sa.select(sa.literal(1))
    .where(
        Letter.case_id == sa.bindparam("case_id"),
        Letter.kind == sa.bindparam("kind"),
        Letter.email_key == sa.bindparam("email_key"),
        Letter.counted,
    )
    .limit(1)
)


def submit_letter(case_id, kind, form):
    """Store a validated letter and its email in one short transaction.

    A first letter from an address to this case gets a confirmation link. A repeat
    (the address already has a counted letter of this kind for this case) is kept
    but not counted, and the address gets a note saying its first letter counts:
    the page answers the same either way, so it never reveals who wrote.
    Plain INSERTs with statements built once: this is the hottest write of the campaign.
    """
    email_key = form.email.data.lower()
    values = {
        "case_id": case_id,
        "kind": kind,
        "body": form.body.data,
        "name": form.name.data,
        "email": form.email.data,
        "email_key": email_key,
        "country": form.country.data,
        "city": form.city.data or "",
        "language": form.language.data or "en",
        "consent_privacy": True,
        "consent_contact": bool(form.consent_contact.data),
    }
    begin_write()
    status = "repeat" if already_counted(case_id, kind, email_key) else "unconfirmed"
    connection = db.session.connection()
    letter_id = connection.execute(INSERT_LETTER, {**values, "status": status}).scalar_one()
    email = {"recipient": values["email"], "letter_id": letter_id, "template": EMAIL[status]}
    connection.execute(INSERT_EMAIL, email)
    db.session.commit()
    return letter_id


def already_counted(case_id, kind, email_key):
    params = {"case_id": case_id, "kind": kind, "email_key": email_key}
    return db.session.connection().execute(COUNTED, params).first() is not None


def confirm_letter(letter_id):
    """Mark a letter confirmed and count it once per address, case and kind.

    Idempotent: confirming again changes nothing. Returns the letter, or None.
    """
    for _attempt in range(2):
        begin_write()
        letter = db.session.get(Letter, letter_id, with_for_update=True)
        if letter is None or letter.status != "unconfirmed":
            db.session.commit()
            return letter
        letter.status = "confirmed"
        letter.confirmed_at = utcnow()
        if not already_counted(letter.case_id, letter.kind, letter.email_key):
            letter.counted = True
            add_to_counter(letter.case_id)
        try:
            db.session.commit()
            return letter
        except IntegrityError:  # another letter from this address was counted meanwhile
            db.session.rollback()
    raise RuntimeError("could not confirm letter")


def add_to_counter(case_id, n=1):
    """Add to one random shard of the case's counter (an upsert on both databases)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CaseCounter).values(
        case_id=case_id, shard=CaseCounter.random_shard(), count=n
    )
    statement = statement.on_conflict_do_update(
        index_elements=["case_id", "shard"],
        set_={"count": CaseCounter.count + statement.excluded.count},
    )
    db.session.execute(statement)


def counts_by_case():
    """{case_id: confirmed letters}: sums a few counter rows per case, never the letters."""
    rows = db.session.execute(
        sa.select(CaseCounter.case_id, sa.func.sum(CaseCounter.count)).group_by(CaseCounter.case_id)
    )
    return {case_id: int(total) for case_id, total in rows}


def case_count(case_id):
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CaseCounter.count), 0)).where(
            CaseCounter.case_id == case_id
        )
    )
    return int(total)


def total_count():
    """Confirmed letters across the published cases."""
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CaseCounter.count), 0))
        .join(Case, Case.id == CaseCounter.case_id)
        .where(Case.status != "draft")
    )
    return int(total)


# Confirmation tokens: signed, one salt for this purpose, expiring.


def confirm_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def confirm_url(letter):
    return url_for("public.confirm", token=confirm_serializer().dumps(letter.id), _external=True)


def read_confirm_token(token):
    """(letter_id, problem): problem is None, "expired" or "invalid"."""
    max_age = current_app.config["CONFIRM_MAX_AGE_DAYS"] * 86400
    try:
        return confirm_serializer().loads(token, max_age=max_age), None
    except SignatureExpired as error:
        try:
            return int(confirm_serializer().load_payload(error.payload)), "expired"
        except (BadSignature, TypeError, ValueError):
            return None, "invalid"
    except BadSignature:
        return None, "invalid"


def resend_confirmation(letter_ids):
    """Queue a fresh confirmation link for each of these letters still unconfirmed."""
    begin_write()
    letters = db.session.scalars(
        sa.select(Letter).where(Letter.id.in_(letter_ids), Letter.status == "unconfirmed")
    ).all()
    for letter in letters:
        db.session.add(Outbox(recipient=letter.email, letter=letter, template="confirm"))
    db.session.commit()
    return len(letters)


def unconfirmed_letter_ids(email, limit=20):
    """Recent unconfirmed letters from an address, for "send me a new link"."""
    return db.session.scalars(
        sa.select(Letter.id)
        .where(Letter.email_key == email.lower(), Letter.status == "unconfirmed")
        .order_by(Letter.id.desc())
        .limit(limit)
    ).all()
