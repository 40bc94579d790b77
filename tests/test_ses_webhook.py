"""Amazon SES bounces and complaints posted by Amazon SNS to /mail/ses: messages signed
as SNS signs them (SignatureVersion 1 and 2, with a key and certificate the test makes and
serves at an SNS certificate address) suppress addresses or count soft bounces; forged,
altered, wrong-topic and wrong-certificate-address messages are refused and record
nothing. The signing here follows AWS's documentation on its own, not mail/sns.py."""

import base64
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from certs import self_signed
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from helpers import Supporter

from blueprints import webhooks
from extensions import db
from mail import sns, suppression
from models import MailAddress, MailEvent, Outbox

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-notifications"
OTHER_TOPIC = "arn:aws:sns:eu-west-1:999999999999:someone-elses"
CERT_URL = (
    "https://sns.eu-west-1.amazonaws.com/"
    "SimpleNotificationService-6aad65c2f9911b05cd53efda11f913f9.pem"
)
SUBSCRIBE_URL = (
    f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}"
    "&Token=2336412f37fb687f5d51e6e2425c464de12884c6"
)
SNS_KEY, SNS_CERT, _ = self_signed("sns.amazonaws.com")
FORGER_KEY, FORGER_CERT, _ = self_signed("sns.amazonaws.com")

# The fields SNS signs, per AWS's "Verifying the signatures of Amazon SNS messages".
NOTIFICATION_FIELDS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_FIELDS = [
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
]


SENDER = "Write for Rights <letters@letters.example.org>"  # what the events say we sent


@pytest.fixture
def app(make_app):
    return make_app(SES_SNS_TOPIC_ARNS=[TOPIC], MAIL_DEFAULT_SENDER=SENDER)


@pytest.fixture
def fetched(monkeypatch):
    """What mail/sns.py fetches (its own fetch function, here serving SNS's certificate
    and subscription confirmation as SNS's hosts do): the URLs asked for, in order."""
    urls = []

    def fetch(url):
        urls.append(url)
        if url == CERT_URL:
            return SNS_CERT
        if url == SUBSCRIBE_URL:
            return b"<ConfirmSubscriptionResponse/>"
        raise sns.Unavailable("404 Not Found")

    monkeypatch.setattr(sns, "fetch", fetch)
    sns.signing_key.cache_clear()
    yield urls
    sns.signing_key.cache_clear()


def signed(message, version="1", key=SNS_KEY):
    """`message` with SignatureVersion, SigningCertURL (unless it has one) and Signature:
    name and value of each signed field present, each followed by a newline, signed
    with SHA1withRSA (version 1) or SHA256withRSA (version 2)."""
    message = {"SigningCertURL": CERT_URL, **message, "SignatureVersion": version}
    fields = NOTIFICATION_FIELDS if message["Type"] == "Notification" else CONFIRMATION_FIELDS
    text = "".join(f"{name}\n{message[name]}\n" for name in fields if name in message)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS v1)
    signature = key.sign(text.encode(), padding.PKCS1v15(), algorithm)
    return {**message, "Signature": base64.b64encode(signature).decode()}


def sns_time(ago=timedelta(0)):
    """A Timestamp as SNS writes it, `ago` before now."""
    return (datetime.now(UTC) - ago).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notification(event, topic=TOPIC, **fields):
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": json.dumps(event),
        "Timestamp": sns_time(),
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        **fields,
    }


def bounce(bounce_type, *addresses):
    """An SES bounce notification, as SES publishes it."""
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General" if bounce_type == "Permanent" else "MailboxFull",
            "bouncedRecipients": [
                {"emailAddress": a, "action": "failed", "status": "5.1.1"} for a in addresses
            ],
            "timestamp": "2026-12-05T11:59:58.000Z",
            "feedbackId": "0100018c-bounce-000000",
            "reportingMTA": "dsn; a8-1.smtp-out.eu-west-1.amazonses.com",
        },
        "mail": {
            "timestamp": "2026-12-05T11:59:55.000Z",
            "source": "letters@letters.example.org",
            "messageId": "0100018c-mail-000000",
            "destination": list(addresses),
        },
    }


def complaint(*addresses, feedback_type="abuse"):
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": a} for a in addresses],
            "timestamp": "2026-12-05T12:30:00.000Z",
            "feedbackId": "0100018c-complaint-000000",
            "complaintFeedbackType": feedback_type,
        },
        "mail": {"source": "letters@letters.example.org", "destination": list(addresses)},
    }


def post(client, message):
    """POST as SNS does: JSON sent as text/plain, no browser headers."""
    body = message if isinstance(message, str) else json.dumps(message)
    headers = {"x-amz-sns-message-type": "Notification", "x-amz-sns-topic-arn": TOPIC}
    return client.post(
        "/mail/ses", data=body, content_type="text/plain; charset=UTF-8", headers=headers
    )


def recorded(app):
    """(addresses on the list, events) in the database."""
    with app.app_context():
        addresses = db.session.scalar(sa.select(sa.func.count()).select_from(MailAddress))
        rows = db.session.execute(sa.select(MailEvent.kind, MailEvent.source)).all()
        return addresses, sorted(tuple(row) for row in rows)


def may_send(app, address):
    with app.app_context():
        return suppression.may_send(address)


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_permanent_bounce_stops_email_to_the_address(
    make_app, smtp, cases, fetched, version
):
    app = make_app(SES_SNS_TOPIC_ARNS=[TOPIC], MAIL_PORT=smtp.port, MAIL_DEFAULT_SENDER=SENDER)
    client = app.test_client()
    response = post(client, signed(notification(bounce("Permanent", "gone@example.net")), version))
    assert response.status_code == 200
    assert not may_send(app, "Gone@Example.net")
    assert recorded(app) == (1, [("bounce", "ses")])
    assert fetched == [CERT_URL]

    # The next email to that address is never sent.
    Supporter(client).submit("gustavo-gatica", email="gone@example.net")
    app.test_cli_runner().invoke(args=["mail-worker", "--once"])
    assert smtp.messages == []
    with app.app_context():
        assert db.session.scalars(sa.select(Outbox.state)).all() == ["suppressed"]


def test_a_signed_complaint_suppresses_each_address_and_not_spam_nothing(app, fetched):
    client = app.test_client()
    event = complaint("angry@example.net", "cross@example.net")
    assert (
        post(client, signed(notification(event, Subject="Amazon SES Email Event"))).status_code
        == 200
    )
    assert not may_send(app, "angry@example.net") and not may_send(app, "cross@example.net")
    assert recorded(app) == (2, [("complaint", "ses"), ("complaint", "ses")])
    with app.app_context():
        assert suppression.known("angry@example.net").suppressed_reason == "complaint"

    not_spam = complaint("fine@example.net", feedback_type="not-spam")
    assert post(client, signed(notification(not_spam))).status_code == 200
    assert may_send(app, "fine@example.net")
    assert fetched == [CERT_URL]  # the certificate was fetched once and kept


def test_transient_bounces_count_and_suppress_at_the_limit(app, fetched):
    client = app.test_client()
    for _ in range(2):
        post(client, signed(notification(bounce("Transient", "full@example.net")), "2"))
    with app.app_context():
        assert suppression.known("full@example.net").soft_bounces == 2
    assert may_send(app, "full@example.net")
    post(client, signed(notification(bounce("Transient", "full@example.net")), "2"))
    assert app.config["MAIL_SOFT_BOUNCE_LIMIT"] == 3
    assert not may_send(app, "full@example.net")
    assert recorded(app) == (1, [("soft_bounce", "ses")] * 3)


def tampered(message):
    """A genuine signed bounce whose address someone changed on the way."""
    return {**message, "Message": message["Message"].replace("gone@", "victim@")}


def genuine():
    """A genuine bounce, stamped when the test runs: a suite collected minutes earlier
    would otherwise send a Timestamp that has aged meanwhile."""
    return notification(bounce("Permanent", "gone@example.net"))


# Each built when its test runs (the time checks read the Timestamp then).
FORGERIES = {
    "signed with another key": lambda: signed(genuine(), key=FORGER_KEY),
    "message altered": lambda: tampered(signed(genuine())),
    "wrong topic": lambda: signed(
        notification(bounce("Permanent", "victim@example.net"), OTHER_TOPIC)
    ),
    "type changed": lambda: {**signed(genuine()), "Type": "UnsubscribeConfirmation"},
    "unknown signature version": lambda: {**signed(genuine()), "SignatureVersion": "3"},
    "no signature": lambda: {k: v for k, v in signed(genuine()).items() if k != "Signature"},
    "signature not base64": lambda: {**signed(genuine()), "Signature": "not base64!"},
    "empty signature": lambda: {**signed(genuine()), "Signature": ""},
    "too old (a replay)": lambda: signed(
        {**genuine(), "Timestamp": sns_time(timedelta(minutes=61))}
    ),
    "from the future": lambda: signed({**genuine(), "Timestamp": sns_time(-timedelta(minutes=6))}),
    "no time zone": lambda: signed({**genuine(), "Timestamp": sns_time().removesuffix("Z")}),
    "no timestamp": lambda: signed({k: v for k, v in genuine().items() if k != "Timestamp"}),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_or_altered_messages_are_refused_and_record_nothing(app, fetched, forgery):
    assert post(app.test_client(), FORGERIES[forgery]()).status_code == 403
    assert recorded(app) == (0, [])
    assert set(fetched) <= {CERT_URL}  # never anything but SNS's certificate


CERT_ADDRESSES = [
    "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem",
    "https://evil.example/SimpleNotificationService-0123abcd.pem",
    "https://evil.example/sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem",
    "https://sns.eu-west-1.amazonaws.com.evil.example/SimpleNotificationService-0123abcd.pem",
    "https://sns.eu-west-1.amazonaws.com@evil.example/SimpleNotificationService-0123abcd.pem",
    "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-0123abcd.pem",
    "https://sns.eu-west-1.amazonaws.com/redirect?to=SimpleNotificationService-0123abcd.pem",
    "https://evilsns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem",
    "https://sns.eu-west-1.amazonaws.com:abc/SimpleNotificationService-0123abcd.pem",
    "https://sns.eu-west-1.amazonaws.com:99999/SimpleNotificationService-0123abcd.pem",
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem?n=1",
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem?",
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem#n",
]


@pytest.mark.parametrize("cert_url", CERT_ADDRESSES)
def test_a_certificate_from_anywhere_but_an_sns_host_is_never_fetched(app, monkeypatch, cert_url):
    """The forger serves their own certificate at their own address (every address, here):
    only the check of the address stands between them and a suppressed address."""
    asked = []
    monkeypatch.setattr(sns, "fetch", lambda url: asked.append(url) or FORGER_CERT)
    sns.signing_key.cache_clear()
    message = signed({**genuine(), "SigningCertURL": cert_url}, key=FORGER_KEY)
    assert post(app.test_client(), message).status_code == 403
    assert asked == []
    assert recorded(app) == (0, [])


def confirmation(subscribe_url=SUBSCRIBE_URL):
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": "2336412f37fb687f5d51e6e2425c464de12884c6",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the "
        "subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url,
        "Timestamp": sns_time(),
    }


def test_a_signed_subscription_confirmation_is_confirmed_and_logged(app, fetched, caplog):
    with caplog.at_level(logging.INFO, logger="mail.sns"):
        assert post(app.test_client(), signed(confirmation(), "2")).status_code == 200
    assert fetched == [CERT_URL, SUBSCRIBE_URL]
    assert f"Confirmed the SNS subscription to topic {TOPIC}" in caplog.text
    assert recorded(app) == (0, [])


@pytest.mark.parametrize(
    "subscribe_url",
    [
        "https://evil.example/?Action=ConfirmSubscription",
        SUBSCRIBE_URL.replace("https", "http"),
        SUBSCRIBE_URL + "#fragment",
        SUBSCRIBE_URL.replace(".com/", ".com:abc/"),
    ],
)
def test_a_subscribe_url_off_sns_is_not_visited(app, fetched, subscribe_url):
    message = signed(confirmation(subscribe_url))
    assert post(app.test_client(), message).status_code == 403
    assert fetched == [CERT_URL]


def test_a_forged_subscription_confirmation_visits_nothing(app, fetched):
    message = {**signed(confirmation()), "Token": "another"}
    assert post(app.test_client(), message).status_code == 403
    assert SUBSCRIBE_URL not in fetched


def test_when_sns_cannot_be_reached_the_answer_asks_for_a_retry(app, monkeypatch):
    def unreachable(url):
        raise sns.Unavailable("timed out")

    monkeypatch.setattr(sns, "fetch", unreachable)
    sns.signing_key.cache_clear()
    response = post(app.test_client(), signed(genuine()))
    assert response.status_code == 503  # SNS sends it again later
    assert recorded(app) == (0, [])


def test_without_topics_the_endpoint_is_off(make_app, fetched):
    client = make_app().test_client()
    assert post(client, signed(genuine())).status_code == 404
    assert fetched == []


def test_a_browser_post_from_another_site_is_refused_before_anything(app, fetched):
    # SNS sends no browser headers; a page on another site that posts here does.
    response = app.test_client().post(
        "/mail/ses",
        data=json.dumps(signed(genuine())),
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert fetched == [] and recorded(app) == (0, [])


def test_the_string_to_sign_is_the_one_aws_documents():
    """AWS's example string to sign for a Notification, byte for byte."""
    message = {
        "Type": "Notification",
        "MessageId": "4d4dc071-ddbf-465d-bba8-08f81c89da64",
        "TopicArn": "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
        "Subject": "My subject",
        "Message": "My Test Message",
        "Timestamp": "2019-01-31T04:37:04.321Z",
        "SignatureVersion": "1",
    }
    assert sns.string_to_sign(message) == (
        b"Message\nMy Test Message\nMessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n"
        b"Subject\nMy subject\nTimestamp\n2019-01-31T04:37:04.321Z\n"
        b"TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n"
        b"Type\nNotification\n"
    )


@pytest.mark.parametrize(
    "body",
    ["Type=Notification&TopicArn=" + TOPIC, "[" * 200_000, '{"a": ' * 40_000, b"\xff\xfe"],
    ids=["form", "deep list", "deep object", "not UTF-8"],
)
def test_a_body_that_is_no_json_is_a_bad_request(app, fetched, body):
    response = app.test_client().post("/mail/ses", data=body, content_type="text/plain")
    assert response.status_code == 400
    assert fetched == [] and recorded(app) == (0, [])


def test_a_replayed_message_counts_once(app, fetched):
    """Whoever saw a genuine transient bounce posts it again and again (or SNS repeats it):
    one soft bounce, not the MAIL_SOFT_BOUNCE_LIMIT that would suppress the address."""
    client = app.test_client()
    message = signed(notification(bounce("Transient", "victim@example.net")))
    assert [post(client, message).status_code for _ in range(6)] == [200] * 6
    assert recorded(app) == (1, [("soft_bounce", "ses")])
    assert may_send(app, "victim@example.net")
    # Another message about the same address (another MessageId) still counts.
    post(client, signed(notification(bounce("Transient", "victim@example.net"))))
    assert recorded(app) == (1, [("soft_bounce", "ses")] * 2)


def test_a_message_not_recorded_for_an_error_counts_when_sns_sends_it_again(
    app, fetched, monkeypatch
):
    client = app.test_client()
    message = signed(notification(bounce("Permanent", "gone@example.net")))
    real = webhooks.bounces.record_ses

    def failing(event):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(webhooks.bounces, "record_ses", failing)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert post(client, message).status_code == 500
    monkeypatch.setattr(webhooks.bounces, "record_ses", real)
    assert post(client, message).status_code == 200
    assert recorded(app) == (1, [("bounce", "ses")])


def test_a_certificate_fetch_that_failed_is_not_tried_again_soon(app, fetched):
    """A stranger who knows our topic posts unsigned messages naming certificate addresses
    on SNS's host that do not exist: each is fetched at most once, and after
    FAILURES_PER_MINUTE failures no new one is fetched."""
    client = app.test_client()

    def unsigned(number):
        url = f"https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-{number:x}.pem"
        return {**genuine(), "SignatureVersion": "2", "Signature": "AAAA", "SigningCertURL": url}

    assert [post(client, unsigned(0)).status_code for _ in range(5)] == [503] * 5
    assert len(fetched) == 1
    for number in range(1, 3 * sns.FAILURES_PER_MINUTE):
        post(client, unsigned(number))
    assert len(fetched) <= sns.FAILURES_PER_MINUTE + 1  # a minute may turn meanwhile
    assert recorded(app) == (0, [])


def test_each_address_may_post_only_so_many_messages(make_app, fetched, monkeypatch):
    app = make_app(SES_SNS_TOPIC_ARNS=[TOPIC], RATELIMIT_ENABLED=True, MAIL_DEFAULT_SENDER=SENDER)
    monkeypatch.setattr(webhooks, "PER_ADDRESS", "3 per minute")
    client = app.test_client()
    codes = [post(client, signed(genuine())).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other = {"REMOTE_ADDR": "192.0.2.99"}  # SNS posts from many addresses
    assert client.post("/mail/ses", data="{}", environ_base=other).status_code == 403


def test_an_event_about_an_email_from_another_domain_records_nothing(make_app, fetched):
    """Another sender of the AWS account publishes to the same topic: its bounces are not
    about our supporters. Our return path's domain counts as ours."""
    app = make_app(SES_SNS_TOPIC_ARNS=[TOPIC], MAIL_BOUNCE_ADDRESS="bounces@mail.example.net")
    client = app.test_client()
    assert app.config["MAIL_DEFAULT_SENDER"].endswith("@localhost>")
    other = bounce("Permanent", "someone@example.net")  # sent from letters.example.org
    assert post(client, signed(notification(other))).status_code == 200
    ours = bounce("Permanent", "gone@example.net")
    ours["mail"]["source"] = "bounces+0123-4567@mail.example.net"
    assert post(client, signed(notification(ours))).status_code == 200
    assert may_send(app, "someone@example.net") and not may_send(app, "gone@example.net")
    assert recorded(app) == (1, [("bounce", "ses")])
