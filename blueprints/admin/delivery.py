"""Delivery (admins): per case, the files that take the letters to the official and to the
person, each download audited."""

import re

from flask import Response, abort, current_app, render_template, request, stream_with_context

import delivery
from blueprints.admin import admin_only, bp
from extensions import begin_write, db
from models import Case
from staff import audit, dashboard


def file_name(case, suffix):
    """A name any system saves as is: the case's slug in plain letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", case.slug.lower()).strip("-") or f"case-{case.id}"
    return f"{slug}-{suffix}"


def download(body, mimetype, name):
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def audited(action, case, **details):
    """Record who took which file: delivered letters carry supporters' names."""
    begin_write()
    audit.record(action, case, **details)
    db.session.commit()


@bp.get("/delivery", endpoint="delivery")
@admin_only
def overview():
    cases = dashboard.all_cases()
    counts = dashboard.letters_by_case()
    for case in cases:
        case.update(counts.get(case["id"], {}))
    return render_template("admin/delivery.html", cases=cases)


@bp.get("/delivery/<int:case_id>", endpoint="delivery_case")
@admin_only
def case_files(case_id):
    case = db.get_or_404(Case, case_id)
    size = current_app.config["DELIVERY_PDF_BATCH"]
    volume_size = current_app.config["DELIVERY_BOOKLET_BATCH"]
    return render_template(
        "admin/delivery_case.html",
        case=case,
        batches=delivery.appeal_batches(case_id, size),
        size=size,
        volumes=delivery.solidarity_batches(case_id, volume_size),
        volume_size=volume_size,
        counts=dashboard.letters_by_case().get(case_id, {}),
    )


def id_range(count_in_range, case_id, size):
    """The ?after=&last= of one file, refused when it holds more than a file and a half
    (a file grows a little when older letters are confirmed late): it must be made
    within one request rather than left to time out."""
    after = request.args.get("after", type=int)
    last = request.args.get("last", type=int)
    if after is None or last is None or not 0 <= after < last:
        abort(400)
    letters = count_in_range(case_id, after, last)
    if letters > size * 3 // 2:
        abort(400)
    return after, last, letters


@bp.get("/delivery/<int:case_id>/appeals.csv", endpoint="delivery_csv")
@admin_only
def appeals_csv(case_id):
    """Streamed while it is read, so a million rows take no more memory than ten."""
    case = db.get_or_404(Case, case_id)
    name = file_name(case, "appeals.csv")
    audited("delivery.csv", case)
    rows = stream_with_context(delivery.appeals_csv(case_id))
    return download(rows, "text/csv; charset=utf-8", name)


@bp.get("/delivery/<int:case_id>/appeals.pdf", endpoint="delivery_pdf")
@admin_only
def appeals_pdf(case_id):
    """One batch of the delivery page: the appeals with after < id <= last (about 170
    pages a second)."""
    case = db.get_or_404(Case, case_id)
    size = current_app.config["DELIVERY_PDF_BATCH"]
    after, last, letters = id_range(delivery.appeals_in_range, case_id, size)
    name = file_name(case, f"appeals-{after + 1}-{last}.pdf")
    data = delivery.appeals_pdf(case_id, after_id=after, last_id=last)
    audited("delivery.pdf", case, after_id=after, last_id=last, letters=letters)
    return download(data, "application/pdf", name)


@bp.get("/delivery/<int:case_id>/solidarity.pdf", endpoint="delivery_booklet")
@admin_only
def solidarity_booklet(case_id):
    """One volume of the booklet: the approved messages with after < id <= last (about
    400 messages a second)."""
    case = db.get_or_404(Case, case_id)
    size = current_app.config["DELIVERY_BOOKLET_BATCH"]
    after, last, letters = id_range(delivery.solidarity_in_range, case_id, size)
    name = file_name(case, f"solidarity-{after + 1}-{last}.pdf")
    data = delivery.solidarity_pdf(case_id, after_id=after, last_id=last)
    audited("delivery.booklet", case, after_id=after, last_id=last, letters=letters)
    return download(data, "application/pdf", name)
