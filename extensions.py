"""Flask extensions, created unbound here and bound in create_app."""

from flask_babel import Babel
from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.dialects import postgresql, sqlite

# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming_convention))
migrate = Migrate()
csrf = CSRFProtect()
mail = Mail()
limiter = Limiter(key_func=get_remote_address)
babel = Babel()
login_manager = LoginManager()
cache = Cache()  # whole public pages and small shared values (web/caching.py)
compress = Compress()  # gzip or brotli, unless a proxy in front compresses


def configure_sqlite(engine):
    """WAL, a busy timeout and explicit transactions for the embedded SQLite database.

    SQLAlchemy's recipe for pysqlite (its SQLite dialect documentation, "Transactions with
    SQLite and the sqlite3 driver"): the driver's own BEGIN handling is switched off when a
    connection opens, and SQLAlchemy's begin event emits BEGIN itself; the driver still
    commits and rolls back. A write transaction (begin_write) asks for BEGIN IMMEDIATE, so
    it takes the writer lock before it reads anything: two writers then queue on the busy
    timeout instead of one failing with "database is locked" when it upgrades a read.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA busy_timeout=10000")  # a writer waits for the one before
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fsync at checkpoints
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


WRITE_OPTION = "sqlite_immediate"  # the execution option begin_write sets


def begin_write():
    """Start the session's next transaction as a writer.

    Ends any read transaction first, so that on SQLite the write starts with
    BEGIN IMMEDIATE and on every database it sees the latest committed rows.
    """
    if db.session().in_transaction():
        db.session.commit()
    db.session.connection(execution_options={WRITE_OPTION: True})


def dialect_insert():
    """The database's own insert(), which has on_conflict_do_update and _do_nothing (an
    upsert): PostgreSQL's and SQLite's take the same arguments."""
    dialect = db.session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
