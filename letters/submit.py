"""Storing a supporter's letter and its email, with the automatic flags for moderators."""

import os
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg

from extensions import db, sqlite_writer
from models import FlagWord, Letter, utcnow
from moderation import flags
from web import caching

EMAIL = {"unconfirmed": "confirm", "repeat": "repeat"}  # which email a new letter gets

# The hottest statements of the campaign: one letter, marked "repeat" when this address
# already has a counted letter of this kind for this case (the unique index settles races
# when letters are confirmed, so this check needs no lock), and its email.
# A solidarity text is flagged "repeated" when more than REPEATED_AFTER letters carry it,
# counted in solidarity_texts first (appeals share their template, so they repeat by design
# and are not counted). Every lookup here goes by a primary or unique key.
COUNT_TEXT = """
    INSERT INTO solidarity_texts (fingerprint, letters) SELECT :repeat_key, 1
    WHERE :repeat_key IS NOT NULL
    ON CONFLICT (fingerprint) DO UPDATE SET letters = solidarity_texts.letters + 1"""
INSERT_LETTER = """
    INSERT INTO letters (case_id, kind, body, name, email, email_key, country, city, language,
                         consent_privacy, consent_contact, moderation, counted, created_at,
                         partner_id, fingerprint, flags, flagged, status)
    SELECT :case_id, :kind, :body, :name, :email, :email_key, :country, :city, :language,
           :consent_privacy, :consent_contact, 'pending', false, :now,
           :partner_id, :fingerprint, chosen.flags, chosen.flags <> '',
           CASE WHEN EXISTS (SELECT 1 FROM letters WHERE case_id = :case_id AND kind = :kind
                             AND email_key = :email_key AND counted)
                THEN 'repeat' ELSE 'unconfirmed' END
    FROM (SELECT CASE WHEN {copies} > :repeats THEN :flags_repeated ELSE :flags END AS flags)
         AS chosen
    RETURNING id, status"""
INSERT_EMAIL = """
    INSERT INTO outbox (recipient, template, state, attempts, next_attempt_at, last_error,
                        created_at, letter_id)
    SELECT :email, CASE WHEN status = 'repeat' THEN 'repeat' ELSE 'confirm' END,
           'pending', 0, :now, '', :now, id FROM {source}"""
# How many letters carry the text, this one included: what COUNT_TEXT wrote, if anything.
COPIES_RETURNED = "(SELECT letters FROM text)"
COPIES_STORED = "(SELECT letters FROM solidarity_texts WHERE fingerprint = :repeat_key)"
# PostgreSQL takes the rows in one statement, which is its own transaction. Its parts
# see one snapshot, so the letter reads the text's new count from RETURNING.
INSERT_LETTER_AND_EMAIL = sa.text(
    f"WITH text AS ({COUNT_TEXT} RETURNING letters), "
    f"letter AS ({INSERT_LETTER.format(copies=COPIES_RETURNED)}) "
    f"{INSERT_EMAIL.format(source='letter')} RETURNING letter_id"
).bindparams(  # typed, so that PostgreSQL reads each parameter the same way everywhere
    *(
        sa.bindparam(name, type_=Letter.__table__.c[name].type)
        for name in ("case_id", "kind", "email_key", "flags", "fingerprint")
    ),
    sa.bindparam("repeat_key", type_=Letter.__table__.c["fingerprint"].type),
)
# SQLite runs them one by one in one transaction, and reads the count from the table.
INSERT_LETTER = INSERT_LETTER.format(copies=COPIES_STORED)
INSERT_EMAIL = INSERT_EMAIL.format(source="(SELECT :letter_id AS id, :status AS status)")


REPEATED_AFTER = 5


def submit_letter(case_id, letter, partner_id=None):
    """Store a letter (as forms.read_letter found it valid) and its email in one short
    transaction.

    A first letter from an address to this case gets a confirmation link. A repeat
    (the address already has a counted letter of this kind for this case) is kept
    but not counted, and the address gets a note saying its first letter counts:
    the page answers the same either way, so it never reveals who wrote.

    The busiest write of the campaign talks to the database driver directly: through
    the ORM session and its pool the same rows cost several times as much
    (bench/http_bench.py). PostgreSQL writes them in one statement, on a connection of
    the process's own, in one round trip; SQLite in one BEGIN IMMEDIATE transaction.
    """
    kind = letter["kind"]
    values = {
        "case_id": case_id,
        "kind": kind,
        "body": letter["body"],
        "name": letter["name"],
        "email": letter["email"],
        "email_key": letter["email"].lower(),
        "country": letter["country"],
        "city": letter["city"],
        "language": letter["language"],
        "consent_privacy": True,
        "consent_contact": letter["consent_contact"],
        "now": utcnow(),
        "partner_id": partner_id,
        **automatic_flags(kind, letter["body"], letter["language"]),
    }
    if db.engine.dialect.name == "postgresql":
        return insert_on_postgresql(values)
    values["now"] = values["now"].isoformat(" ", "microseconds")  # as SQLAlchemy keeps times
    connection = db.engine.raw_connection()
    try:
        with sqlite_writer(connection) as sqlite:
            if values["repeat_key"] is not None:
                sqlite.execute(COUNT_TEXT, values)
            letter_id, status = sqlite.execute(INSERT_LETTER, values).fetchone()
            sqlite.execute(INSERT_EMAIL, {**values, "letter_id": letter_id, "status": status})
        return letter_id
    finally:
        connection.close()  # back to the pool


def automatic_flags(kind, body, language):
    """The flags for the moderators (flags.py), as the INSERT takes them."""
    found = flags.text_flags(body, language, flag_words())
    fingerprint = flags.fingerprint(body)
    return {
        "flags": ",".join(found),
        "flags_repeated": ",".join([*found, "repeated"]),
        "fingerprint": fingerprint,
        "repeat_key": fingerprint if kind == "solidarity" else None,
        "repeats": REPEATED_AFTER,
    }


def flag_words():
    """The abuse word lists: an admin's list for a language replaces its default list.

    Kept for a few seconds per process, like the pages: every submission needs them.
    """

    def load():
        rows = db.session.execute(
            sa.select(FlagWord.language, FlagWord.word).order_by(FlagWord.language, FlagWord.id)
        ).all()
        db.session.rollback()  # end the read before the write that follows
        custom = {}
        for language, word in rows:
            custom.setdefault(language, []).append(word)
        return flags.DEFAULT_WORDS | {language: tuple(words) for language, words in custom.items()}

    return caching.cached(("flag-words",), load)


SUBMISSION_CURSORS = {}  # (process id, database URL) -> cursor of a connection in autocommit


def insert_on_postgresql(values):
    """Run the one statement on this process's submission connection.

    The connection is opened on first use, in autocommit (the statement is its own
    transaction), with no pool check-out, ping or reset around it, and keeps one cursor
    (a new cursor per statement cost a fifth of the driver's time). The statement keeps
    its generic plan, made once (PostgreSQL 12 or later): each lookup in it is by a
    primary or unique key whatever the values (left to choose, PostgreSQL had planned it
    again for letter after letter, which doubled the database's work per letter). When
    it fails, the connection is dropped, so the next submission opens a new one (after a
    database restart each process fails one submission, which keeps its text and says so).
    """
    engine = db.engine
    key = (os.getpid(), engine.url)
    cursor = SUBMISSION_CURSORS.get(key)
    try:
        if cursor is None or cursor.connection.closed:
            cargs, cparams = engine.dialect.create_connect_args(engine.url)
            connection = engine.dialect.loaded_dbapi.connect(*cargs, **cparams, autocommit=True)
            connection.execute("SET plan_cache_mode = force_generic_plan")
            cursor = SUBMISSION_CURSORS[key] = connection.cursor()
        return cursor.execute(postgresql_statement(), values).fetchone()[0]
    except engine.dialect.loaded_dbapi.Error as error:
        if cursor is not None:
            cursor.connection.close()
        raise sa.exc.OperationalError("submit a letter", None, error) from error


@cache
def postgresql_statement():
    """INSERT_LETTER_AND_EMAIL as psycopg takes it, compiled once."""
    return str(INSERT_LETTER_AND_EMAIL.compile(dialect=psycopg.dialect()))
