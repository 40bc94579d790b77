"""The scratch database and app every benchmark here builds on: a SQLite file in a
temporary folder, or a PostgreSQL database on 127.0.0.1 dropped and created anew
(never "test", which belongs to the test suite), and the few helpers they share."""

import sys
import time

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def database_url(kind, folder, pg_database, reuse=False):
    """The URL of a fresh, empty database (or, with reuse, of the one already there)."""
    if kind == "sqlite":
        return f"sqlite:///{folder}/letters.db"
    import psycopg

    assert pg_database != "test"
    if not reuse:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {pg_database} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {pg_database}")
    return f"postgresql://postgres@127.0.0.1:5432/{pg_database}"


def drop_database(kind, pg_database):
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {pg_database} WITH (FORCE)")


def bench_app(url, instance, **settings):
    """The real app on that database, with a throwaway secret, driven over http by the
    test client (no secure cookies, no rate limit on the many sign-ins from one address)."""
    from app import create_app
    from config import Config

    settings = {
        "SECRET_KEY": "bench-only",
        "SQLALCHEMY_DATABASE_URI": url,
        "SESSION_COOKIE_SECURE": False,
        "WTF_CSRF_SSL_STRICT": False,
        "RATELIMIT_ENABLED": False,
        **settings,
    }
    return create_app(type("BenchConfig", (Config,), settings), instance_path=instance)


def migrate_and_seed(app):
    """The schema from the real migrations, and the demo campaign (call in an app context)."""
    from pathlib import Path

    import flask_migrate

    flask_migrate.upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output


def log(message):
    """Progress for the person running a benchmark: on stderr, so stdout is the report."""
    print(message, file=sys.stderr, flush=True)


def timed(function, *args, **kwargs):
    """(seconds, result) of function(*args, **kwargs)."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def plan(db, sa, title, sql, params=None):
    """The database's plan of `sql` (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN), as
    report lines under `title`."""
    prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    rows = db.session.execute(sa.text(prefix + sql), params or {}).all()
    return [f"plan of {title}:"] + [f"  {' '.join(str(v) for v in row)}" for row in rows]
