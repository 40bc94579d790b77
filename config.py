"""Settings. Every setting comes from the environment variable of the same name.

No secret has a default: SECRET_KEY must be set (`make run` generates one for
development into instance/). TestConfig is what the test suite uses.
"""

import os

from redis.backoff import NoBackoff
from redis.retry import Retry


def env_bool(name, default=False):
    """Read a yes/no setting; "1", "true", "yes" and "on" mean yes."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    """Read a whole-number setting."""
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


# How Redis (rate limits, the app's cache) is asked: a request waits at most REDIS_TIMEOUT_MS
# to connect and as long for each answer, and never retries (redis-py retries 3 times with
# backoff of up to seconds by default), so a Redis down or frozen never adds seconds.
REDIS_TIMEOUT_SECONDS = env_int("REDIS_TIMEOUT_MS", 100) / 1000
REDIS_OPTIONS = {
    "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    "socket_timeout": REDIS_TIMEOUT_SECONDS,
    "retry": Retry(NoBackoff(), 0),
}


class Config:
    """Production and development settings, read from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Old keys, comma-separated, still accepted after SECRET_KEY changes (Flask's own
    # setting; staff/two_factor.py also reads the app secrets stored under them).
    SECRET_KEY_FALLBACKS = [k for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k]
    # Empty means the embedded SQLite database in instance/ (see create_app).
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or None
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")

    # Mail. With no MAIL_SERVER, emails are written to instance/mail/ as .eml files.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Write for Rights <letters@localhost>"
    )
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)  # seconds, connect and each read
    MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 20)
    MAIL_RETRY_FIRST = env_int("MAIL_RETRY_FIRST", 5)  # seconds, doubles each time
    MAIL_RETRY_MAX = env_int("MAIL_RETRY_MAX", 300)
    MAIL_CLAIM_SECONDS = env_int("MAIL_CLAIM_SECONDS", 30)  # renewed while a worker sends
    # Emails an address gets in a day without asking (links, notes): see mail/cap.py.
    MAIL_UNREQUESTED_PER_DAY = env_int("MAIL_UNREQUESTED_PER_DAY", 3)
    # Emails each mail worker sends per second at most (the relay's or provider's limit).
    MAIL_RATE_PER_SECOND = env_int("MAIL_RATE_PER_SECOND", 14)
    # The envelope sender bounces return to: "bounces@example.org" becomes
    # bounces+<address key>@example.org per email (VERP), so a bounce names its address.
    # Empty: the envelope sender is MAIL_DEFAULT_SENDER's address.
    MAIL_BOUNCE_ADDRESS = os.environ.get("MAIL_BOUNCE_ADDRESS", "")
    # Soft bounces (mailbox full, ...) an address may have before it gets no more email.
    MAIL_SOFT_BOUNCE_LIMIT = env_int("MAIL_SOFT_BOUNCE_LIMIT", 3)
    # The password of the IMAP account `flask --app app mail bounces --imap` reads (never in
    # its URL, which shows in the shell's history and the process list).
    MAIL_BOUNCE_IMAP_PASSWORD = os.environ.get("MAIL_BOUNCE_IMAP_PASSWORD") or None
    # Amazon SES bounce and complaint events arrive through SNS: the topics (ARNs,
    # comma-separated) allowed to post to /mail/ses. Empty: the endpoint answers 404.
    SES_SNS_TOPIC_ARNS = [
        t.strip() for t in os.environ.get("SES_SNS_TOPIC_ARNS", "").split(",") if t.strip()
    ]

    # Abuse controls.
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_SUBMIT = os.environ.get("RATELIMIT_SUBMIT", "10 per minute;60 per hour")
    # A partner's offline reports (and their corrections and withdrawals) from its stats
    # page: an organiser reports a few events a day, not hundreds.
    RATELIMIT_OFFLINE_REPORTS = os.environ.get(
        "RATELIMIT_OFFLINE_REPORTS", "20 per hour;60 per day"
    )
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down or frozen must not refuse a letter, nor let anyone flood: the limits then
    # count in each process (Flask-Limiter's in-memory fallback) until Redis answers again.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = REDIS_OPTIONS
    MIN_FILL_SECONDS = env_int("MIN_FILL_SECONDS", 3)
    PROXY_FIX_X_FOR = env_int("PROXY_FIX_X_FOR", 0)  # hops of trusted proxies

    # Staff sign-in: attempts per address and per account, and how long a session lasts.
    RATELIMIT_SIGN_IN = os.environ.get("RATELIMIT_SIGN_IN", "10 per minute;50 per hour")
    RATELIMIT_SIGN_IN_ACCOUNT = os.environ.get("RATELIMIT_SIGN_IN_ACCOUNT", "5 per 15 minutes")
    # Wrong second-factor codes (app or recovery), per address and per account: with three
    # codes valid at a time, 30 guesses a day find one once in 11,000 days.
    RATELIMIT_TWO_FACTOR = os.environ.get("RATELIMIT_TWO_FACTOR", "10 per minute;50 per hour")
    RATELIMIT_TWO_FACTOR_ACCOUNT = os.environ.get(
        "RATELIMIT_TWO_FACTOR_ACCOUNT", "10 per hour;30 per day"
    )
    STAFF_SESSION_HOURS = env_int("STAFF_SESSION_HOURS", 8)  # then staff sign in again
    STAFF_IDLE_MINUTES = env_int("STAFF_IDLE_MINUTES", 60)  # or after this long unused
    # The per-account limit spares addresses that signed in to the account this recently.
    STAFF_KNOWN_ADDRESS_DAYS = env_int("STAFF_KNOWN_ADDRESS_DAYS", 90)
    # Emailed links (staff/links.py): how long an invitation and a reset link work, at most
    # one such email per account this often, and forgotten-password requests per address.
    STAFF_INVITE_HOURS = env_int("STAFF_INVITE_HOURS", 72)
    STAFF_RESET_MINUTES = env_int("STAFF_RESET_MINUTES", 60)
    STAFF_LINK_EMAIL_MINUTES = env_int("STAFF_LINK_EMAIL_MINUTES", 10)
    RATELIMIT_PASSWORD_RESET = os.environ.get("RATELIMIT_PASSWORD_RESET", "5 per hour")

    # Moderation queue: how long showing a message reserves it for one moderator, how
    # long a decision can be undone, and how many messages a page shows.
    QUEUE_CLAIM_MINUTES = env_int("QUEUE_CLAIM_MINUTES", 5)
    QUEUE_UNDO_SECONDS = env_int("QUEUE_UNDO_SECONDS", 10)
    QUEUE_PAGE_SIZE = env_int("QUEUE_PAGE_SIZE", 25)

    # Unconfirmed letters (and their emails) are deleted this long after they were written;
    # confirmation links stop working then too.
    CONFIRM_MAX_AGE_DAYS = env_int("CONFIRM_MAX_AGE_DAYS", 30)
    # Retention (`flask --app app retention`, run daily by the mail worker): sent emails
    # are deleted after OUTBOX_KEEP_DAYS; writers' personal data is anonymised
    # RETENTION_DAYS_AFTER_CLOSE days after their case closed (consent to hear from the
    # campaign lives on until withdrawn).
    OUTBOX_KEEP_DAYS = env_int("OUTBOX_KEEP_DAYS", 7)
    RETENTION_DAYS_AFTER_CLOSE = env_int("RETENTION_DAYS_AFTER_CLOSE", 180)
    # The privacy notice (templates/public/privacy.html): its version, stored with each
    # consent (change it when the notice changes), who holds the data, and where people
    # write to use their rights (not the sending address).
    PRIVACY_NOTICE_VERSION = os.environ.get("PRIVACY_NOTICE_VERSION", "2026-12-05")
    PRIVACY_CONTROLLER = os.environ.get("PRIVACY_CONTROLLER", "Write for Rights campaign team")
    PRIVACY_CONTACT = os.environ.get("PRIVACY_CONTACT", "privacy@localhost")
    # "Your letters" (supporters/links.py): how long an emailed link works, and how long
    # the page it opens lets the supporter download, change consent or erase.
    DATA_LINK_HOURS = env_int("DATA_LINK_HOURS", 24)
    DATA_ACCESS_MINUTES = env_int("DATA_ACCESS_MINUTES", 30)
    # Partner embeds: how long a framed form's single-use token works (then the form is
    # refreshed and the supporter presses Send again; nothing typed is lost).
    EMBED_TOKEN_MINUTES = env_int("EMBED_TOKEN_MINUTES", 120)
    COUNTER_POLL_SECONDS = env_int("COUNTER_POLL_SECONDS", 15)
    # Caching (web/caching.py, deploy/nginx.conf). Public pages, their counters and
    # /api/stats may be kept this long by the app and by any cache in front, together:
    # a staff change shows within it. 0 turns page caching off.
    PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 10)
    PAGE_STALE_SECONDS = env_int("PAGE_STALE_SECONDS", 60)  # stale-while-revalidate
    PAGE_STALE_IF_ERROR_SECONDS = env_int("PAGE_STALE_IF_ERROR_SECONDS", 86400)
    # Flask-Caching: in each process by default, shared by every process in Redis.
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL") or None
    CACHE_TYPE = "RedisCache" if CACHE_REDIS_URL else "SimpleCache"
    CACHE_KEY_PREFIX = "w4r-cache:"  # clearing the cache deletes these keys only
    CACHE_OPTIONS = REDIS_OPTIONS if CACHE_REDIS_URL else None  # only Redis takes them
    # After the cache's Redis fails, each process renders pages without it this long.
    REDIS_CACHE_PAUSE_SECONDS = env_int("REDIS_CACHE_PAUSE_SECONDS", 30)
    # Flask-Compress: off behind a proxy that compresses (deploy/nginx.conf does).
    COMPRESS_REGISTER = env_bool("COMPRESS_RESPONSES", True)
    COMPRESS_ALGORITHM = ["br", "gzip"]
    # Not files sent as a stream (static/): Flask-Compress's streaming path leaves the file
    # open. Browsers keep static files a year, and nginx serves them compressed.
    COMPRESS_STREAMS = False
    DASHBOARD_CACHE_SECONDS = env_int("DASHBOARD_CACHE_SECONDS", 30)  # staff dashboard figures
    DELIVERY_PDF_BATCH = env_int("DELIVERY_PDF_BATCH", 1000)  # appeals per PDF file
    DELIVERY_BOOKLET_BATCH = env_int("DELIVERY_BOOKLET_BATCH", 3000)  # ~8 s a volume
    # The most letters a delivery batch takes unless staff say otherwise (0: all waiting).
    # Making one writes each letter: 100,000 took 4 to 14 s on PostgreSQL (bench/
    # delivery_batch.py), so a batch stays well inside the request timeout.
    DELIVERY_BATCH_MAX = env_int("DELIVERY_BATCH_MAX", 50_000)
    # The most appeals an emailed batch may hold: its PDF (1,000 appeals: about 0.8 MB, a third
    # more once encoded) must stay well under what mail servers take (often 10 to 25 MB).
    DELIVERY_EMAIL_MAX_LETTERS = env_int("DELIVERY_EMAIL_MAX_LETTERS", 1000)
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 64 * 1024)
    PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 5 * 1024 * 1024)  # case photos (admins only)

    PERMANENT_SESSION_LIFETIME = env_int("STAFF_SESSION_HOURS", 8) * 3600  # staff sessions only
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    # Staff forms carry Flask-WTF's token, bound to the session; the token lives as long
    # as the session. Every state-changing request, staff or public, must also come from
    # this site's own pages (web/security.py): same-site pages (our other subdomains) too
    # only when CSRF_ALLOW_SAME_SITE is on.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = env_bool("WTF_CSRF_SSL_STRICT", True)
    CSRF_ALLOW_SAME_SITE = env_bool("CSRF_ALLOW_SAME_SITE")
    WTF_I18N_ENABLED = False  # every message is our own, translated with Flask-Babel
    BABEL_DEFAULT_LOCALE = "en"
    # The supporter side's languages, each with a catalog in translations/<code>/. English
    # first: it lives at the URLs without a language and is what a missing text falls back to.
    LANGUAGES = os.environ.get("LANGUAGES", "en es fr ar tr").split()


class TestConfig(Config):
    """Settings for the test suite: its own database, no real mail, no waiting."""

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 (tests only)
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    BASE_URL = "http://localhost"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 9  # discard: any accidental real SMTP connection fails loudly
    MAIL_SUPPRESS_SEND = False  # the tests talk to a real SMTP server (aiosmtpd)
    MAIL_TIMEOUT = 2
    RATELIMIT_ENABLED = False  # the rate-limit tests turn it on (on Redis when CI has it)
    MIN_FILL_SECONDS = 0
    MAIL_RATE_PER_SECOND = 1000  # the rate test sets its own
    PAGE_CACHE_SECONDS = 0  # the page-cache tests turn it on
    DASHBOARD_CACHE_SECONDS = 0
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_SSL_STRICT = False
