"""Supporters' data, for admins: what the site holds about an address that asked by other
means (a letter, a call), downloaded or erased for them (supporters/data.py).

The address is posted, never put in a URL (it would stay in browser history and logs),
and the audit log names it by its keyed hash (mail/suppression.address_key) only.
"""

import json

from flask import current_app, render_template, request

from blueprints.admin import admin_only, bp
from extensions import db
from letters.forms import normalized_email
from mail.suppression import address_key
from staff import audit
from supporters import data


def posted_address():
    """The address posted, as letters store it (lower-cased), or "" when there is none."""
    typed = request.form.get("email", "").strip()
    return (normalized_email(typed) or typed).lower() if typed else ""


@bp.get("/supporters", endpoint="supporters")
@admin_only
def supporters_page():
    return render_template("admin/supporters.html", address="")


@bp.post("/supporters")
@admin_only
def supporters_lookup():
    """The address's letters, consent and choices, as its own "Your letters" page shows."""
    address = posted_address()
    if not address:
        page = render_template("admin/supporters.html", address="", problem=True)
        return page, 422
    overview = data.overview(address, "en")
    return render_template("admin/supporters.html", address=address, **overview)


@bp.post("/supporters/export")
@admin_only
def supporters_export():
    """The address's data as JSON, to send to the supporter; audited."""
    address = posted_address()
    exported = data.export(address)
    audit.record("supporter.export", address=address_key(address), letters=len(exported["letters"]))
    db.session.commit()
    body = json.dumps(exported, ensure_ascii=False, indent=2)
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="supporter-data.json"'
    return response


@bp.post("/supporters/erase")
@admin_only
def supporters_erase():
    """First a confirmation (a second button), then the erasure, audited without the
    address in clear."""
    address = posted_address()
    if request.form.get("confirm") != "yes":
        fates = data.fates(address, "en")
        return render_template("admin/supporters_erase.html", address=address, fates=fates)
    fates, counts = data.erase(address, "en", audit_as=address_key(address))
    return render_template("admin/supporters_erase.html", fates=fates, counts=counts, done=True)
