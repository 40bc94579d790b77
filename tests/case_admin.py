"""Helpers for the case admin tests: a complete case form, posting it as a browser would
(photo included), and reading back the case and its audit events."""

import io
import re

import sqlalchemy as sa
from helpers import csrf_from
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from extensions import db
from models import AuditEvent, Case

NEW = "/admin/cases/new"


def case_fields(**changes):
    """A complete, valid case form; keyword arguments replace or add fields."""
    fields = {
        "name": "Ana Example",
        "slug": "ana-example",
        "country": "CL",
        "summary": "A student who was jailed for a peaceful protest.",
        "story": "Ana organised a sit-in.\r\n\r\nShe was arrested the same day.",
        "ask": "Release Ana now.",
        "target_title": "Chile's Minister of Justice",
        "target_address": "",
        "appeal_en": "Dear Minister,\r\n\r\nPlease release Ana.",
        "appeal_es": "",
        "appeal_fr": "",
        "appeal_ar": "",
        "appeal_tr": "",
        "solidarity_prompt": "Tell Ana she is not alone.",
        "goal": "25,000",
        "sort_order": "9",
        "photo_alt": "",
        "person_language": "en",
        "target_language": "en",
    }
    fields.update(changes)
    return fields


def fields_of(case, **changes):
    """The form as the edit page shows `case` (every language's texts and letter); keyword
    arguments change fields, as a staff member typing would."""
    fields = case_fields(
        **{name: getattr(case, name) for name in ("name", "slug", "country", "summary")},
        **{name: getattr(case, name) for name in ("story", "ask", "target_title")},
        target_address=case.target_address,
        solidarity_prompt=case.solidarity_prompt,
        photo_alt=case.photo_alt,
        goal=str(case.goal),
        sort_order=str(case.sort_order),
        person_language=case.person_language,
        target_language=case.target_language,
    )
    for code, letter in (case.appeal_templates or {}).items():
        fields[f"appeal_{code}"] = letter
    for code, texts in (case.translations or {}).items():
        fields.update({f"{name}_{code}": value for name, value in texts.items()})
    for code, messages in (case.solidarity_suggestions or {}).items():
        fields[f"suggestions_{code}"] = "\r\n\r\n".join(messages)  # one per paragraph
    fields.update(changes)
    return fields


def post(client, path, data, htmx=False, csrf=True):
    data = dict(data)
    if csrf:
        data["csrf_token"] = csrf_from(client, "/admin/cases")
    headers = {"HX-Request": "true"} if htmx else {}
    if any(isinstance(value, FileStorage) for value in data.values()):
        # Encoded in memory: the test client spools big bodies to a file it never closes.
        boundary, body = encode_multipart(data)
        content_type = f"multipart/form-data; boundary={boundary}"
        return client.post(path, data=body, content_type=content_type, headers=headers)
    return client.post(path, data=data, headers=headers)


def photo_file(data, filename, content_type="image/png"):
    return FileStorage(io.BytesIO(data), filename, content_type=content_type)


def create(client, **changes):
    response = post(client, NEW, case_fields(**changes))
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.search(r"/admin/cases/(\d+)/edit", response.headers["Location"]).group(1))


def find(app, slug):
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.slug == slug))
        if case is not None:
            db.session.expunge(case)
        return case


def events(app, action=None):
    """The audit events of case work (signing in is recorded too, and left out here)."""
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.action.startswith("case."))
        query = query.order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = db.session.scalars(query).all()
        return [(e.action, e.actor_email, e.target_id, e.details) for e in rows]


def text(response):
    return response.get_data(as_text=True)
