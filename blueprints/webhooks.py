"""Endpoints that other services post to, not people: Amazon SES bounce and complaint
notifications, delivered by Amazon SNS to POST /mail/ses.

No CSRF token (csrf.exempt): SNS has no session; what proves a message is SNS's signature,
checked by mail/sns.py before anything is recorded. The site-wide cross-site check
(web/security.py) lets these posts through unchanged, because a server-to-server request
sends neither Sec-Fetch-Site nor Origin; a browser that does send them is refused there,
which no genuine SNS delivery is.

A genuine message posted again (a replay, or SNS's own repeat) records nothing: mail/sns.py
refuses it after an hour, and a MessageId seen within that hour is answered OK and dropped
(remembered in the app's cache: in Redis, for every process, when CACHE_REDIS_URL is set;
else in each process). Each address may post PER_ADDRESS messages: SNS posts from many AWS
addresses, so this is generous, and only slows a stranger down.
"""

import json
import logging

from flask import Blueprint, abort, current_app, request

from extensions import begin_write, csrf, db, limiter
from mail import bounces, sns

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)

log = logging.getLogger(__name__)

# SNS messages are at most 256 KB, plus the envelope's fields: more than the site's
# MAX_CONTENT_LENGTH for forms, so this endpoint takes its own (Flask's per-request limit).
SNS_MAX_BYTES = 300 * 1024
PER_ADDRESS = "600 per minute"


@bp.post("/mail/ses")
@limiter.limit(lambda: PER_ADDRESS)
def ses():
    """Take one SNS message: confirm a subscription, or record an SES bounce or complaint.
    403 and nothing recorded unless it is signed by SNS for one of SES_SNS_TOPIC_ARNS, and
    recent; 400 for a body that is no JSON; 404 while that setting is empty (the endpoint
    is off)."""
    topics = current_app.config["SES_SNS_TOPIC_ARNS"]
    if not topics:
        abort(404)
    request.max_content_length = SNS_MAX_BYTES
    try:  # SNS sends it as text/plain; nesting too deep for the parser is no SNS message
        message = json.loads(request.get_data())
    except (ValueError, RecursionError):
        return "Bad request\n", 400, {"Content-Type": "text/plain"}
    try:
        sns.verify(message, topics)
        if message["Type"] == "SubscriptionConfirmation":
            sns.confirm_subscription(message)
    except sns.Invalid as error:
        log.warning("Refused a message posted to /mail/ses: %s", error)
        return "Forbidden\n", 403, {"Content-Type": "text/plain"}
    except sns.Unavailable as error:
        log.warning("Could not check a message posted to /mail/ses: %s", error)
        return "Try again\n", 503, {"Content-Type": "text/plain"}
    if message["Type"] == "Notification":
        if sns.seen_before(message):
            log.info("Dropped a repeated SNS message on /mail/ses")
        else:
            try:
                record_notification(message)
            except Exception:
                sns.forget(message)  # not recorded: SNS's retry must count
                raise
    return "OK\n", 200, {"Content-Type": "text/plain"}


def record_notification(message):
    """Record the SES event a verified notification carries (a bounce or complaint); an
    event that is not one, or not JSON, is answered OK and dropped (resending it would
    change nothing)."""
    try:
        event = json.loads(message["Message"])
    except ValueError:
        log.warning("An SNS notification on /mail/ses did not carry JSON")
        return
    if not isinstance(event, dict):
        return
    begin_write()
    bounces.record_ses(event)
    db.session.commit()
