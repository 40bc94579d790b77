"""How a letter reaches the database: one write transaction (BEGIN IMMEDIATE on SQLite),
writers that queue instead of failing, nothing half-stored, and lookups by index."""

import contextlib
import threading

import pytest
import sqlalchemy as sa
from factories import insert_letters
from helpers import Supporter

from app import create_app
from config import TestConfig
from extensions import db
from models import Case, Letter, Outbox, SolidarityText


@contextlib.contextmanager
def statements(app):
    """Every statement the app sends to the database meanwhile, with its parameters, and
    where transactions begin and commit."""
    seen = []

    def on_begin(conn):
        seen.append(("begin", None))

    def on_commit(conn):
        seen.append(("commit", None))

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen.append((" ".join(statement.split()), parameters))

    with app.app_context():
        engine = db.engine
    hooks = {"begin": on_begin, "commit": on_commit, "before_cursor_execute": on_execute}
    for name, hook in hooks.items():
        sa.event.listen(engine, name, hook)
    try:
        yield seen
    finally:
        for name, hook in hooks.items():
            sa.event.remove(engine, name, hook)


def test_a_letter_is_written_in_one_write_transaction(app, supporter, case_slug):
    supporter.client.get(f"/cases/{case_slug}")  # the page's own reads, out of the way
    with statements(app) as seen:
        assert supporter.submit(case_slug, kind="solidarity").status_code == 200
    writes = [i for i, (sql, _) in enumerate(seen) if sql.startswith(("INSERT", "UPDATE"))]
    tables = [seen[i][0].split()[2] for i in writes]
    assert tables == ["solidarity_texts", "letters", "outbox"]
    first, last = writes[0], writes[-1]
    # One transaction around them all, committed once, after the last.
    begin = max(i for i in range(first) if seen[i][0] == "begin")
    assert "commit" not in [sql for sql, _ in seen[begin:last]]
    assert [sql for sql, _ in seen[last:]].count("commit") == 1
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The writer lock is taken before the first read, so a second writer waits for it
        # instead of failing when it upgrades a read to a write.
        assert [sql for sql, _ in seen[:first] if sql.startswith("BEGIN")][-1] == "BEGIN IMMEDIATE"


def test_reads_start_an_ordinary_transaction_on_sqlite(app, client, case_slug):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's own BEGIN; PostgreSQL begins implicitly")
    with statements(app) as seen:
        assert client.get(f"/cases/{case_slug}").status_code == 200
    begins = [sql for sql, _ in seen if sql.startswith("BEGIN")]
    assert begins and set(begins) == {"BEGIN"}  # a page view never holds the writer lock


def test_letters_sent_at_the_same_moment_are_all_stored(app, case_slug):
    """Two app threads writing at once: each waits for the other, neither fails."""
    errors, per_thread = [], 16

    def send(n):
        supporter = Supporter(app.test_client())
        for i in range(per_thread):
            kind = ("appeal", "solidarity")[i % 2]  # an appeal reads before it writes
            email = f"t{n}-{i}@example.org"
            response = supporter.submit(case_slug, kind=kind, email=email, body="Courage!")
            if response.status_code != 200:
                errors.append(response.get_data(as_text=True))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Letter.id))) == 2 * per_thread
        assert db.session.scalar(sa.select(sa.func.count(Outbox.id))) == 2 * per_thread
        assert db.session.scalar(sa.select(SolidarityText.letters)) == per_thread


def test_a_failure_midway_stores_nothing_at_all(app, supporter, case_slug):
    def outbox_fails(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("INSERT INTO outbox"):
            raise sa.exc.OperationalError(statement, parameters, Exception("disk full"))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", outbox_fails)
    try:
        response = supporter.submit(case_slug, kind="solidarity", body="Keep me")
    finally:
        sa.event.remove(engine, "before_cursor_execute", outbox_fails)
    assert response.status_code == 503
    assert "Keep me</textarea>" in response.get_data(as_text=True)
    with app.app_context():
        for model in (Letter, Outbox, SolidarityText):  # the text's count went back too
            assert db.session.scalars(sa.select(model)).all() == []


def explain(connection, statement, parameters):
    """The tables a statement reads row by row, as the database plans it."""
    if connection.dialect.name == "postgresql":
        [[plan]] = connection.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) " + statement, parameters
        ).all()
        scans, nodes = [], [plan[0]["Plan"]]
        while nodes:
            node = nodes.pop()
            if node["Node Type"] == "Seq Scan":
                scans.append(node["Relation Name"])
            nodes.extend(node.get("Plans", []))
        return scans
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    # A search by the case alone reads every letter of that case, one by one.
    return [
        row[-1].split()[1]
        for row in rows
        if row[-1].startswith("SCAN ") or row[-1].endswith("(case_id=?)")
    ]


def test_a_submission_finds_every_row_by_index_however_many_letters(app, supporter, case_slug):
    """With thousands of letters sharing one text (appeals share their template), a new
    letter still costs a few index lookups: no statement reads the letters one by one."""
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.slug == case_slug))
        shared = {"case_id": case_id, "body": "Please release him now."}
        insert_letters(1500, **shared)  # confirmed and counted
        insert_letters(1500, **shared, status="unconfirmed")
        if db.engine.dialect.name == "postgresql":  # its planner goes by statistics;
            db.session.execute(sa.text("ANALYZE"))  # SQLite's, as deployed, has none
        db.session.commit()
        counted = db.session.scalar(sa.select(Letter.email).where(Letter.counted).limit(1))
    with statements(app) as seen:
        supporter.submit(case_slug, email=counted)  # a repeat: its first letter counts
        supporter.submit(case_slug, kind="solidarity", email="new@example.org")
    queries = [(sql, params) for sql, params in seen if sql.startswith(("SELECT", "INSERT"))]
    assert any("FROM letters" in sql for sql, _ in queries)  # the repeat check is among them
    with app.app_context():
        connection = db.session.connection()
        for sql, params in queries:
            assert "letters" not in explain(connection, sql, params), sql
        db.session.rollback()
    with app.app_context():
        repeat = db.session.scalars(
            sa.select(Letter).where(Letter.email == counted).order_by(Letter.id)
        )
        assert [letter.status for letter in repeat] == ["confirmed", "repeat"]


def test_the_embedded_sqlite_database_runs_as_documented(tmp_path):
    """WAL (readers never wait for the writer), a busy timeout (a writer waits for the lock
    instead of failing) and foreign keys, on every connection the app opens."""
    # Its own SQLite file, whichever database the suite runs on.
    config = type("C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": None})
    app = create_app(config, instance_path=str(tmp_path))
    with app.app_context():
        connection = db.session.connection()
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }
        db.session.rollback()
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 10000,
        "foreign_keys": 1,
        "synchronous": 1,
    }
