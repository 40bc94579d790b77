"""Helpers for the moderation queue's tests: its addresses, reading a page the way a
moderator sees it, sending decisions, and reading back letters and audit events."""

import re

import sqlalchemy as sa
from helpers import csrf_from

from extensions import db
from models import AuditEvent, Letter, RejectReason, StaffUser

QUEUE = "/admin/queue"
DECIDE = "/admin/queue/decisions"
UNDO = "/admin/queue/undo"
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def letter_row(app, letter_id):
    with app.app_context():
        letter = db.session.get(Letter, letter_id)
        db.session.expunge(letter)
        return letter


def events(app, action=None):
    with app.app_context():
        query = sa.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def shown_ids(html):
    """The letters a page lists open for a decision, in order."""
    return [int(n) for n in re.findall(r'data-letter="(\d+)" data-open', html)]


def page(client, path=QUEUE):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def reason_id(app, text_start="Abuse"):
    with app.app_context():
        return db.session.scalar(
            sa.select(RejectReason.id).where(RejectReason.text.startswith(text_start))
        )


def decide(client, letter_ids, decision, htmx=False, **fields):
    data = {
        "csrf_token": csrf_token(client),
        "letter": [str(i) for i in letter_ids],
        "decision": decision,
        **fields,
    }
    return client.post(DECIDE, data=data, headers=HTMX if htmx else {})


def csrf_token(client):
    """The token of a staff page that claims nothing (the approved list)."""
    return csrf_from(client, QUEUE + "?state=approved")


def staff_id(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email))
