"""Supporters' data, for admins: what the site holds about an address that asked by other
means (a letter, a call), downloaded or erased for them (supporters/data.py).

The address is posted, never put in a URL (it would stay in browser history and logs),
and the audit log names it by its keyed hash (mail/suppression.address_key) only.
"""

import json

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l

from blueprints.admin import admin_only, bp
from extensions import begin_write, db
from letters.forms import normalized_email
from mail import suppression
from mail.suppression import address_key
from staff import audit
from supporters import data

# Why no email goes to an address (mail/suppression.py), as the page says it.
SUPPRESSED_BECAUSE = {
    suppression.HARD_BOUNCE: _l("an email to it bounced"),
    suppression.COMPLAINT: _l("it was reported as unwanted (a complaint)"),
    suppression.SOFT_BOUNCES: _l("too many emails to it failed for a time (soft bounces)"),
}


def posted_address():
    """(the address posted, as letters store it: lower-cased, or "" when there is none or
    it is not an address; the address as typed, to show it back)."""
    typed = request.form.get("email", "").strip()
    normal = normalized_email(typed) if typed else None
    return (normal.lower() if normal else ""), typed


def refused(typed):
    """The lookup form again, saying an address is needed: nothing is read or changed."""
    page = render_template("admin/supporters.html", address="", typed=typed, problem=True)
    return page, 422


def found_page(address, done=None):
    """What the site holds about the address, and whether email may go to it."""
    overview = data.overview(address, "en")
    return render_template(
        "admin/supporters.html",
        address=address,
        mail_address=suppression.known(address),
        suppressed_because=SUPPRESSED_BECAUSE,
        done=done,
        **overview,
    )


@bp.get("/supporters", endpoint="supporters")
@admin_only
def supporters_page():
    return render_template("admin/supporters.html", address="")


@bp.post("/supporters")
@admin_only
def supporters_lookup():
    """The address's letters, consent and choices, as its own "Your letters" page shows;
    audited (seeing whose letters these are is access to personal data)."""
    address, typed = posted_address()
    if not address:
        return refused(typed)
    begin_write()
    audit.record("supporter.lookup", address=address_key(address))
    db.session.commit()
    return found_page(address)


@bp.post("/supporters/export")
@admin_only
def supporters_export():
    """The address's data as JSON, to send to the supporter; audited."""
    address, typed = posted_address()
    if not address:
        return refused(typed)
    exported = data.export(address)
    begin_write()
    audit.record("supporter.export", address=address_key(address), letters=len(exported["letters"]))
    db.session.commit()
    body = json.dumps(exported, ensure_ascii=False, indent=2)
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="supporter-data.json"'
    return response


@bp.post("/supporters/allow-email")
@admin_only
def supporters_allow_email():
    """Email may go to the address again after a bounce or complaint (which anyone who
    can send us a bounce, or forge one, could cause); audited by keyed hash."""
    address, typed = posted_address()
    if not address:
        return refused(typed)
    lifted = data.allow_email(address, audit_as=address_key(address))
    return found_page(address, done="allowed" if lifted else "not_suppressed")


@bp.post("/supporters/erase")
@admin_only
def supporters_erase():
    """First a confirmation (a second button), then the erasure, audited without the
    address in clear."""
    address, typed = posted_address()
    if not address:
        return refused(typed)
    if request.form.get("confirm") != "yes":
        fates = data.fates(address, "en")
        return render_template("admin/supporters_erase.html", address=address, fates=fates)
    fates, counts = data.erase(address, "en", audit_as=address_key(address))
    return render_template("admin/supporters_erase.html", fates=fates, counts=counts, done=True)
