"""The two databases bench/http_bench.py runs on, and the million letters it loads.

SQLite: a file in the benchmark's temporary folder. PostgreSQL: the database
w4r_bench on 127.0.0.1:5432 (user postgres), dropped and created again.
"""

import sqlite3
from contextlib import closing
from pathlib import Path

from http_common import PG_DATABASE

from models import COUNTER_SHARDS  # http_common put the repository on sys.path

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LETTERS_TO_LOAD = 1_000_000

LETTER_BODY = (
    "Dear Minister, I am writing to urge you to ensure a prompt, independent and impartial "
    "investigation into the injuries suffered during the protests, and to bring all those "
    "suspected of criminal responsibility to justice. Yours sincerely."
)


def letters_insert_sql(numbers, case_ids, timestamp):
    """INSERT ... SELECT building one letter per integer i of `numbers`, on either database.

    Letters come in groups of ten (g = i / 10) going to one case and kind; in each group
    r = i % 10 decides: 0 unconfirmed, 1 a repeat from the address of letter i + 1, and
    2..9 confirmed and counted, each from its own address. So every counted letter has a
    distinct email_key (the unique index uq_letters_counted_once holds), and 80 % count.
    `numbers` is a FROM item with a column i (1, 2, ... N); `timestamp(seconds_ago)` is the
    database's "naive UTC now minus that many seconds".
    """
    pick_case = " ".join(f"WHEN {n} THEN {case_id}" for n, case_id in enumerate(case_ids))
    cases = len(case_ids)
    address = "'supporter' || (CASE WHEN i % 10 = 1 THEN i + 1 ELSE i END) || '@example.org'"
    seconds_ago = "(i % 2592000)"
    return f"""
        INSERT INTO letters (case_id, kind, body, name, email, email_key, country, city,
                             language, consent_privacy, consent_contact, status, moderation,
                             counted, created_at, confirmed_at)
        SELECT CASE (i / 10) % {cases} {pick_case} END,
               CASE WHEN (i / 10 / {cases}) % 4 = 3 THEN 'solidarity' ELSE 'appeal' END,
               '{LETTER_BODY}',
               'Supporter ' || i,
               {address},
               {address},
               substr('GBFRDECLUSKEIN', 1 + 2 * (i % 7), 2),
               '',
               'en',
               TRUE,
               i % 3 = 0,
               CASE i % 10 WHEN 0 THEN 'unconfirmed' WHEN 1 THEN 'repeat' ELSE 'confirmed' END,
               'pending',
               i % 10 >= 2,
               {timestamp(seconds_ago)},
               CASE WHEN i % 10 >= 2 THEN {timestamp(seconds_ago + " - 3600")} END
        FROM {numbers}
    """  # noqa: S608 (only this file's constants and integers go into the SQL)


COUNTERS_SQL = f"""
    INSERT INTO case_counters (case_id, shard, count)
    SELECT case_id, id % {COUNTER_SHARDS}, count(*) FROM letters WHERE counted
    GROUP BY case_id, id % {COUNTER_SHARDS}
"""  # noqa: S608


class SQLiteDatabase:
    """A SQLite file in `folder`, created by `flask db upgrade`."""

    name = "sqlite"

    def __init__(self, folder):
        self.path = Path(folder) / "letters.db"
        self.url = f"sqlite:///{self.path}"

    def create(self):
        pass  # `flask db upgrade` creates the file

    def drop(self):
        pass  # the temporary folder goes as a whole

    def row(self, sql):
        with closing(sqlite3.connect(self.path, timeout=30)) as connection:
            return connection.execute(sql).fetchone()

    def scalar(self, sql):
        return self.row(sql)[0]

    def load_letters(self, number):
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            case_ids = [row[0] for row in db.execute("SELECT id FROM cases ORDER BY id")]
            insert = letters_insert_sql(
                "numbers",
                case_ids,
                lambda ago: f"datetime('now', '-' || ({ago}) || ' seconds')",
            )
            last = f"WHERE i < {number}"
            numbers = f"WITH RECURSIVE numbers(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM numbers {last})"  # noqa: S608
            db.execute("BEGIN IMMEDIATE")
            db.execute(numbers + insert)
            db.execute("DELETE FROM case_counters")
            db.execute(COUNTERS_SQL)
            db.execute("COMMIT")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class PostgresDatabase:
    """The PostgreSQL database w4r_bench, dropped and created again."""

    name = "postgresql"

    def __init__(self):
        self.url = f"postgresql://postgres@127.0.0.1:5432/{PG_DATABASE}"

    def admin(self, sql):
        import psycopg

        assert PG_DATABASE != "test"
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as connection:
            connection.execute(sql)

    def create(self):
        self.admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        self.admin(f"CREATE DATABASE {PG_DATABASE}")

    def drop(self):
        self.admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")

    def connect(self, **options):
        import psycopg

        return psycopg.connect(self.url, connect_timeout=10, **options)

    def row(self, sql):
        with self.connect() as connection:
            return connection.execute(sql).fetchone()

    def scalar(self, sql):
        return self.row(sql)[0]

    def load_letters(self, number):
        with self.connect() as db:  # one transaction, committed when the block ends
            case_ids = [row[0] for row in db.execute("SELECT id FROM cases ORDER BY id")]
            insert = letters_insert_sql(
                f"generate_series(1, {number}) AS i",
                case_ids,
                lambda ago: f"(now() AT TIME ZONE 'utc') - ({ago}) * interval '1 second'",
            )
            db.execute(insert)
            db.execute("DELETE FROM case_counters")
            db.execute(COUNTERS_SQL)
        with self.connect(autocommit=True) as db:  # as autovacuum would, but not mid-measurement
            db.execute("VACUUM ANALYZE letters")
            db.execute("VACUUM ANALYZE case_counters")
