"""Flask extensions, created unbound here and bound in create_app."""

import fcntl
import hashlib
import os
from contextlib import contextmanager
from functools import wraps

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, want_bytes
from sqlalchemy import MetaData

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


def rate_limit(limit_value):
    """limiter.limit(limit_value) on a public view that takes letters, skipped outright
    while rate limits are off (RATELIMIT_ENABLED; say, behind an edge that limits). Even
    then Flask-Limiter's decorator resolves and evaluates the view's limits on every call,
    which cost a fourteenth of a letter submission (measured with limits off, as
    bench/http_bench.py runs). One limit per view: Flask-Limiter counts stacked limits
    once only when its own decorators sit on top of each other.
    """

    def decorate(view):
        limited = limiter.limit(limit_value)(view)

        @wraps(view)
        def limit_when_enabled(*args, **kwargs):
            return (limited if limiter.enabled else view)(*args, **kwargs)

        return limit_when_enabled

    return decorate


class Signer(TimestampSigner):
    """itsdangerous's timestamp signer with its derived keys kept (the secret and salt
    never change), and SHA-1 given as hashlib's own constructor, which hmac runs in C:
    the same signatures as the default signer, made with less work."""

    default_digest_method = staticmethod(hashlib.sha1)

    def derive_key(self, secret_key=None):
        if secret_key is None:
            secret_key = self.secret_keys[-1]
        derived = self.__dict__.setdefault("derived_keys", {})
        if secret_key not in derived:
            derived[secret_key] = super().derive_key(secret_key)
        return derived[secret_key]


class Serializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed serializer, for the session and CSRF tokens that every
    page view signs and every post checks: the same tokens (any URLSafeTimedSerializer
    reads them), without building a new signer per call or trying to zlib-compress forty
    bytes."""

    default_signer = Signer

    def dump_payload(self, obj):
        return base64_encode(want_bytes(self.serializer.dumps(obj, **self.serializer_kwargs)))

    def make_signer(self, salt=None):
        signers = self.__dict__.setdefault("signers", {})
        if salt not in signers:
            signers[salt] = super().make_signer(salt)
        return signers[salt]


def configure_sqlite(engine):
    """WAL, a busy timeout and explicit transactions for the embedded SQLite database.

    pysqlite's own transaction handling is switched off so that a write operation
    can open its transaction with BEGIN IMMEDIATE (see begin_write), holding the
    writer lock (see sqlite_writer) until it commits or rolls back.
    """
    from sqlalchemy import event

    database = engine.url.database
    lock_path = database + "-writer.lock" if database and database != ":memory:" else None

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if lock_path:
            record.info["writer_lock"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    @event.listens_for(engine, "close")
    def on_close(_dbapi_connection, record):
        if "writer_lock" in record.info:
            os.close(record.info.pop("writer_lock"))

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        if conn.get_execution_options().get("sqlite_immediate"):
            writer = sqlite_writer(conn.connection)
            writer.__enter__()
            conn.info["sqlite_writer"] = writer
        else:
            conn.exec_driver_sql("BEGIN")

    def end(conn, problem=None):
        """Finish the transaction here, so that the lock is released only after it."""
        writer = conn.info.pop("sqlite_writer", None)
        if writer is not None:
            writer.__exit__(problem, None, None)
        elif conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql("ROLLBACK" if problem else "COMMIT")

    event.listen(engine, "commit", lambda conn: end(conn))
    event.listen(engine, "rollback", lambda conn: end(conn, RuntimeError))


@contextmanager
def sqlite_writer(pooled_connection):
    """One SQLite write transaction: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on error.

    Writers first queue on an flock of a file next to the database: the kernel wakes
    the next one the moment a writer finishes, where SQLite's busy handler has it
    sleep and poll (up to 100 ms a time), which under load cost more than the writes.
    The lock belongs to the process, so a crash releases it.
    """
    lock = pooled_connection.info.get("writer_lock")
    dbapi_connection = pooled_connection.dbapi_connection
    if lock is not None:
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        dbapi_connection.execute("BEGIN IMMEDIATE")
        try:
            yield dbapi_connection
        except BaseException:
            if dbapi_connection.in_transaction:
                dbapi_connection.execute("ROLLBACK")
            raise
        if dbapi_connection.in_transaction:
            dbapi_connection.execute("COMMIT")
    finally:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_UN)


def begin_write():
    """Start the session's next transaction as a writer.

    Ends any read transaction first, so that on SQLite the write starts with
    BEGIN IMMEDIATE and on every database it sees the latest committed rows.
    """
    if db.session().in_transaction():
        db.session.commit()
    db.session.connection(execution_options={"sqlite_immediate": True})
