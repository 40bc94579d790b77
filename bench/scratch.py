"""The scratch database and app every benchmark here builds on: a SQLite file in a
temporary folder, or a PostgreSQL database on 127.0.0.1 dropped and created anew
(never "test", which belongs to the test suite)."""

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
    """The real app on that database, with a throwaway secret."""
    from app import create_app
    from config import Config

    settings = {"SECRET_KEY": "bench-only", "SQLALCHEMY_DATABASE_URI": url, **settings}
    return create_app(type("BenchConfig", (Config,), settings), instance_path=instance)
