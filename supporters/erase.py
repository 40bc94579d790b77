"""Taking a supporter's personal data out of the letters, keeping the counts.

Used for an erasure the supporter (or staff for them) asks for, and by retention after a
case closed. A confirmed letter stays as a row, so every count and figure stays the same,
but loses its writer's name, address and city; its text stays only while it is still to
be delivered (without a name). A delivered letter keeps its batch (delivery_batch_id), so
the fact that it was delivered, and the batch's count, stay. Unconfirmed letters count for
nothing and go entirely.
The emails about these letters go too, sent or not, except case news (forget_emails).
"""

import sqlalchemy as sa

from delivery.batches import not_delivered
from delivery.export import deliverable_appeals, deliverable_solidarity
from extensions import db
from models import Case, ContactConsent, DataLink, Letter, Outbox

ERASED = "erased:"  # email_key prefix: unique per letter, so the counted-once index holds
# Case news rows (mail/news.py's NEWS; imported from there, it would import this module).
NEWS = "news"


def still_to_deliver():
    """Letters whose text someone is still to receive: deliverable, to an open case, and in
    no sent batch (one in a prepared batch is still to go)."""
    open_case = sa.select(Case.id).where(Case.status != "closed").scalar_subquery()
    return sa.and_(
        sa.or_(deliverable_appeals(), deliverable_solidarity()),
        Letter.case_id.in_(open_case),
        not_delivered(),
    )


def anonymise_letters(condition):
    """Erase the writers' data from the letters matching `condition` (a SQL condition on
    Letter), in the caller's write transaction. Returns (anonymised, deleted) counts."""
    ids = sa.select(Letter.id).where(condition)
    # Confirmed letters stay, and so may their case news rows (forget_emails); the others
    # go below with every email of theirs.
    forget_emails(Outbox.letter_id.in_(ids.where(Letter.status == "confirmed")))
    db.session.execute(
        sa.delete(Outbox)
        .where(Outbox.letter_id.in_(ids.where(Letter.status != "confirmed")))
        .execution_options(synchronize_session=False)
    )
    deleted = delete_unconfirmed(condition)
    anonymised = db.session.execute(
        sa.update(Letter)
        .where(condition, ~Letter.email_key.startswith(ERASED))
        .values(
            name="",
            email="",
            city="",
            email_key=sa.literal(ERASED) + sa.cast(Letter.id, sa.String),
            body=sa.case((still_to_deliver(), Letter.body), else_=""),
            # The fingerprint is an unkeyed hash of the text: whoever guesses a short
            # text could confirm it. It goes with the text; solidarity_texts' counts stay.
            fingerprint=sa.case((still_to_deliver(), Letter.fingerprint), else_=""),
            consent_contact=False,
        )
        .execution_options(synchronize_session=False)
    )
    return anonymised.rowcount, deleted


def forget_emails(condition):
    """Take the addresses out of the outbox rows matching `condition` (a SQL condition on
    Outbox), in the caller's write transaction; returns how many rows. They are deleted,
    except case news: mail/news.progress counts a send's figures from its rows and takes a
    missing row as sent, so a news row stays, its recipient "erased:<row id>" (unique, so
    the once-per-address index holds), and one not sent yet never will be ("suppressed",
    counted as skipped). Its hold goes too: a worker holding it finds it gone."""
    news = sa.and_(condition, Outbox.template == NEWS)
    erased = db.session.execute(
        sa.update(Outbox)
        .where(news, ~Outbox.recipient.startswith(ERASED))
        .values(
            recipient=sa.literal(ERASED) + sa.cast(Outbox.id, sa.String),
            state=sa.case((Outbox.state == "pending", "suppressed"), else_=Outbox.state),
            claimed_by=None,
            held_until=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    deleted = db.session.execute(
        sa.delete(Outbox)
        .where(condition, Outbox.template != NEWS)
        .execution_options(synchronize_session=False)
    ).rowcount
    return erased + deleted


def delete_unconfirmed(condition):
    """Delete the matching letters nobody confirmed (and the letters joined to them)."""
    waiting = sa.select(Letter.id).where(condition, Letter.status != "confirmed")
    waiting_ids = db.session.scalars(waiting).all()
    if not waiting_ids:
        return 0
    joined = sa.select(Letter.id).where(Letter.confirm_with_id.in_(waiting_ids))
    db.session.execute(
        sa.update(Letter)
        .where(Letter.id.in_(joined), Letter.status == "confirmed")
        .values(confirm_with_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.delete(Outbox)
        .where(Outbox.letter_id.in_(joined))
        .execution_options(synchronize_session=False)
    )
    result = db.session.execute(
        sa.delete(Letter)
        .where(sa.or_(Letter.id.in_(waiting_ids), Letter.confirm_with_id.in_(waiting_ids)))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def erase_address(email_key):
    """Erase everything the site holds about one address (`email_key`: lower-cased), in
    the caller's write transaction: its letters as anonymise_letters does, its consent to
    hear from the campaign, its "Your letters" links, and every supporter email to it
    (the outbox keeps recipients in clear: case news too). The keyed hash of its
    suppression list entry (mail/suppression.py) stays: it reads as nobody, and it keeps
    an address that bounced or complained from being emailed again. Its case news rows
    stay without the address, as forget_emails says. Returns counts.

    The audit log is left as it is: staff's own records, which name staff, the letter's
    id and the keyed hash. A moderator's free-text note on a decision (AuditEvent.details
    "note") is staff's own words; if a moderator quoted a letter there, that quote stays.

    Finding emails by recipient reads the whole outbox (no index on it): an erasure is
    rare, and retention keeps the outbox to a few days of mail."""
    links = sa.select(DataLink.id).where(DataLink.email_key == email_key)
    emails = forget_emails(
        sa.or_(
            Outbox.data_link_id.in_(links),
            sa.and_(
                sa.func.lower(Outbox.recipient) == email_key,
                ~Outbox.template.startswith("staff_"),  # a staff account's own emails
            ),
        )
    )
    anonymised, deleted = anonymise_letters(Letter.email_key == email_key)
    consents = db.session.execute(
        sa.delete(ContactConsent)
        .where(ContactConsent.email_key == email_key)
        .execution_options(synchronize_session=False)
    ).rowcount
    links_deleted = db.session.execute(
        sa.delete(DataLink)
        .where(DataLink.email_key == email_key)
        .execution_options(synchronize_session=False)
    ).rowcount
    return {
        "letters_anonymised": anonymised,
        "letters_deleted": deleted,
        "consents": consents,
        "links": links_deleted,
        "emails": emails,
    }
