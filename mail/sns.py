"""Amazon SNS messages (how Amazon SES reports bounces and complaints to /mail/ses),
verified as AWS documents in "Verifying the signatures of Amazon SNS messages": the
signature is an RSA signature (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over a
canonical string of the message's fields, made with the key of a certificate that SNS
serves over https from its own host, sns.<region>.amazonaws.com.

Anyone can post to the endpoint; only SNS holds the key. So a message is taken only after:
its topic is one of SES_SNS_TOPIC_ARNS (checked first, so a stranger cannot make us fetch
anything), its SigningCertURL is an https address on an SNS host (an exact pattern on the
parsed host name, not a substring, so https://evil.example/sns.us-east-1.amazonaws.com/
or sns.us-east-1.amazonaws.com.evil.example do not pass), and its signature verifies with
that certificate's key. Certificates are fetched with a timeout over TLS (the host's
certificate checked) and kept in memory per URL; a certificate address with a query or a
fragment is refused unfetched, and a fetch that failed is not tried again for
FAILURE_SECONDS (nor any new address once FAILURES_PER_MINUTE fetches failed in a minute),
so that a stranger who knows our topic cannot make us fetch from SNS again and again.

A genuine message can be posted again by whoever saw it (a replay). So a message is
refused when its signed Timestamp is more than MAX_AGE old or MAX_AHEAD in the future, and
the endpoint (blueprints/webhooks.py) drops a MessageId it has seen within MAX_AGE.
"""

import base64
import binascii
import functools
import hashlib
import logging
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from extensions import cache
from web.caching import ask_cache

log = logging.getLogger(__name__)

# The fields signed, in this order (byte order of their names), per message type. Subject
# is signed only when the message has one.
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]
OPTIONAL_FIELDS = {"Subject"}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
# sns.us-east-1.amazonaws.com, sns.us-gov-west-1.amazonaws.com, sns.cn-north-1.amazonaws.com.cn
SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-gov)?-[a-z]+-[0-9]+\.amazonaws\.com(?:\.cn)?")
CERT_PATH = re.compile(r"/SimpleNotificationService-[0-9a-f]+\.pem")
FETCH_TIMEOUT = 5  # seconds, to connect and for each read
FETCH_MAX_BYTES = 64 * 1024
MAX_AGE = timedelta(hours=1)  # SNS retries within this; older messages are replays
MAX_AHEAD = timedelta(minutes=5)  # clocks differ a little, never by more
FAILURE_SECONDS = 300  # a certificate address that failed is not fetched again before
FAILURES_PER_MINUTE = 10  # then no new certificate address is fetched in that minute


class Invalid(Exception):
    """A message that is not a genuine SNS message for one of our topics (the reason)."""


class Unavailable(Exception):
    """SNS could not be reached to fetch a certificate or confirm a subscription: nothing
    is known yet about the message, and SNS sends it again after a failure answer."""


def verify(message, topics):
    """Check that `message` (the parsed JSON body) is a genuine SNS message for one of
    `topics`; raise Invalid (with the reason, nothing personal) when it is not."""
    if not isinstance(message, dict):
        raise Invalid("not a JSON object")
    if message.get("TopicArn") not in topics:
        raise Invalid("topic not allowed")
    check_time(message.get("Timestamp"))
    algorithm = HASHES.get(message.get("SignatureVersion"))
    if algorithm is None:
        raise Invalid("unknown signature version")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except binascii.Error as error:
        raise Invalid("signature is not base64") from error
    if not signature:
        raise Invalid("no signature")
    key = signing_key(message.get("SigningCertURL"))
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature as error:
        raise Invalid("bad signature") from error


def check_time(value):
    """Refuse a message whose Timestamp (ISO 8601, UTC, as SNS writes it) is missing, too
    old (a replay) or too far ahead. Checked before the signature, which covers it."""
    try:
        stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise Invalid("no valid Timestamp") from error
    if stamp.tzinfo is None:
        raise Invalid("Timestamp without a time zone")
    now = datetime.now(UTC)
    if stamp < now - MAX_AGE:
        raise Invalid("message too old")
    if stamp > now + MAX_AHEAD:
        raise Invalid("message from the future")


def string_to_sign(message):
    """The canonical string SNS signs: each signed field's name and value, each followed
    by a newline, in the order of SIGNED_FIELDS for the message's type."""
    fields = SIGNED_FIELDS.get(message.get("Type"))
    if fields is None:
        raise Invalid("unknown message type")
    lines = []
    for name in fields:
        value = message.get(name)
        if value is None and name in OPTIONAL_FIELDS:
            continue
        if not isinstance(value, str):
            raise Invalid(f"{name} missing")
        lines += [name, value]
    return "".join(f"{line}\n" for line in lines).encode()


def sns_url(url, path=None):
    """`url` when it is an https address on an SNS host (and its path matches `path`, a
    pattern, when given); else Invalid."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        port = parts.port if parts is not None else None
    except ValueError as error:  # a port that is no number, or out of range
        raise Invalid("not an SNS address") from error
    if parts is None or parts.scheme != "https" or parts.username or parts.password:
        raise Invalid("not an https SNS address")
    if not SNS_HOST.fullmatch(parts.hostname or "") or port not in (None, 443):
        raise Invalid("not an SNS host")
    if parts.fragment or "#" in url:
        raise Invalid("an SNS address with a fragment")
    if path is not None and (not path.fullmatch(parts.path) or "?" in url):
        raise Invalid("not an SNS certificate")
    return url


@functools.lru_cache(maxsize=32)
def signing_key(url):
    """The RSA public key of the SNS certificate at `url` (checked to be one), fetched once
    per process: SNS signs with few certificates, changed rarely."""
    pem = fetch_certificate(sns_url(url, CERT_PATH))
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError as error:
        raise Invalid("certificate unreadable") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise Invalid("certificate key is not RSA")
    return key


def fetch_certificate(url):
    """fetch(url), unless it failed lately (or too many fetches did): a failure is kept in
    the app's cache (shared in Redis when CACHE_REDIS_URL is set, else per process)."""
    failed = f"sns-cert-failed:{hashlib.sha256(url.encode()).hexdigest()}"
    minute = f"sns-cert-failures:{int(time.time() // 60)}"
    failures = ask_cache(cache.get, minute) or 0
    if ask_cache(cache.get, failed) or failures >= FAILURES_PER_MINUTE:
        raise Unavailable("not fetching a certificate that failed lately")
    try:
        return fetch(url)
    except Unavailable:
        ask_cache(cache.set, failed, True, timeout=FAILURE_SECONDS)
        ask_cache(cache.add, minute, 0, timeout=120)
        ask_cache(lambda: cache.cache.inc(minute))  # the backend's own counter
        raise


def seen_before(message):
    """Whether a verified message's MessageId came within MAX_AGE (then it is a replay or
    SNS's own repeat, to drop); else remember it. Call forget() if it is not recorded.
    While the cache (Redis) fails, nothing is remembered and every message counts."""
    seconds = int(MAX_AGE.total_seconds())
    return ask_cache(cache.add, message_mark(message), True, timeout=seconds) is False


def forget(message):
    """Let a message that could not be recorded come again (SNS retries it)."""
    ask_cache(cache.delete, message_mark(message))


def message_mark(message):
    return f"sns-message:{hashlib.sha256(message['MessageId'].encode()).hexdigest()}"


def confirm_subscription(message):
    """Confirm a verified SubscriptionConfirmation by visiting its SubscribeURL (on an SNS
    host, like the certificate), so that SNS starts sending the topic's notifications."""
    fetch(sns_url(message.get("SubscribeURL")))
    log.info("Confirmed the SNS subscription to topic %s", message["TopicArn"])


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """SNS answers in place; a redirect elsewhere is not followed."""

    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url):
    """GET an SNS address (already checked) over TLS with a timeout: the body's bytes."""
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(url, timeout=FETCH_TIMEOUT) as response:
            body = response.read(FETCH_MAX_BYTES + 1)
    except OSError as error:  # URLError, HTTPError, timeouts and TLS errors are OSErrors
        raise Unavailable(f"could not fetch from SNS: {error}") from error
    if len(body) > FETCH_MAX_BYTES:
        raise Unavailable("SNS answer too large")
    return body
