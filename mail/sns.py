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
certificate checked) and kept in memory per URL.
"""

import base64
import binascii
import functools
import logging
import re
import urllib.request
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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
    algorithm = HASHES.get(message.get("SignatureVersion"))
    if algorithm is None:
        raise Invalid("unknown signature version")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except binascii.Error as error:
        raise Invalid("signature is not base64") from error
    key = signing_key(message.get("SigningCertURL"))
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature as error:
        raise Invalid("bad signature") from error


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
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme != "https" or parts.username or parts.password:
        raise Invalid("not an https SNS address")
    if not SNS_HOST.fullmatch(parts.hostname or "") or parts.port not in (None, 443):
        raise Invalid("not an SNS host")
    if path is not None and not path.fullmatch(parts.path):
        raise Invalid("not an SNS certificate")
    return url


@functools.lru_cache(maxsize=32)
def signing_key(url):
    """The RSA public key of the SNS certificate at `url` (checked to be one), fetched once
    per process: SNS signs with few certificates, changed rarely."""
    pem = fetch(sns_url(url, CERT_PATH))
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError as error:
        raise Invalid("certificate unreadable") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise Invalid("certificate key is not RSA")
    return key


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
