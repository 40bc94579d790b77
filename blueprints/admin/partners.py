"""Partners, for admins: add and edit them, give them an embed snippet and a stats link.

Views parse the form and call one operation of partners.py, which audits the change.
"""

import csv
import io

from flask import abort, make_response, redirect, render_template, request, url_for

import partners
from blueprints.admin import admin_only, bp
from blueprints.shared import blank_form, published_cases, requested_language, visible_case
from delivery import safe_cell
from extensions import db
from letters.forms import EmbedLetterForm
from models import KINDS
from web.security import CSP


def partner_or_404(slug):
    partner = partners.find_partner(slug)
    if partner is None:
        abort(404)
    return partner


def origins_field():
    return request.form.get("origins", "").splitlines()


@bp.get("/partners", endpoint="partners")
@admin_only
def partners_list(problem=None, status=200):
    """Every partner with its figures, and the form to add one."""
    page = render_template(
        "admin/partners/index.html",
        partners=partners.all_partners(),
        totals=partners.totals_by_partner(),
        problem=problem,
        form=request.form,
    )
    return page, status


@bp.post("/partners")
@admin_only
def partners_add():
    try:
        partner = partners.add_partner(
            request.form.get("slug", ""), request.form.get("name", ""), origins_field()
        )
    except partners.PartnerError as error:
        return partners_list(problem=str(error), status=422)
    return redirect(url_for("admin.partners_show", slug=partner.slug), 303)


def snippet_choice(cases):
    """The case and letter language the admin picked for the snippet (first case, English)."""
    wanted = request.args.get("case")
    case = next((case for case in cases if case.slug == wanted), cases[0] if cases else None)
    language = request.args.get("lang", "en")
    if case is None or language not in (case.appeal_templates or {}):
        language = "en"
    return case, language


@bp.get("/partners/<slug>")
@admin_only
def partners_show(slug, problem=None, status=200):
    """One partner: its snippet with a live preview, its stats link, its details."""
    partner = partner_or_404(slug)
    cases = published_cases()  # a partner may embed any case the public can see
    case, language = snippet_choice(cases)
    languages = sorted({code for each in cases for code in (each.appeal_templates or {})})
    page = render_template(
        "admin/partners/partner.html",
        partner=partner,
        cases=cases,
        case=case,
        language=language,
        languages=languages,
        wanted_language=request.args.get("lang", "en"),
        snippet=partners.snippet(partner, case, language) if case else "",
        integrity=partners.script_integrity(),
        stats_url=partners.stats_url(partner),
        problem=problem,
        form=request.form if request.method == "POST" else None,
    )
    return page, status


@bp.post("/partners/<slug>")
@admin_only
def partners_update(slug):
    partner = partner_or_404(slug)
    try:
        partners.update_partner(partner, request.form.get("name", ""), origins_field())
    except partners.PartnerError as error:
        db.session.rollback()
        return partners_show(slug, problem=str(error), status=422)
    return redirect(url_for("admin.partners_show", slug=slug, saved=1), 303)


@bp.post("/partners/<slug>/rotate")
@admin_only
def partners_rotate(slug):
    """A new stats link: the old one stops working at once."""
    partners.rotate_stats_link(partner_or_404(slug))
    return redirect(url_for("admin.partners_show", slug=slug, rotated=1) + "#stats", 303)


@bp.post("/partners/<slug>/remove")
@admin_only
def partners_remove(slug):
    partners.remove_partner(partner_or_404(slug))
    return redirect(url_for("admin.partners", removed=slug), 303)


@bp.get("/partners/<slug>/preview/<case_slug>")
@admin_only
def partners_preview(slug, case_slug):
    """The framed form as the partner's visitors see it, for the admin page's preview:
    framed by this site only, and unable to send (its forms carry no token)."""
    partner = partner_or_404(slug)
    case = visible_case(case_slug)
    language = requested_language(case)
    forms = {kind: blank_form(case, kind, language, form_class=EmbedLetterForm) for kind in KINDS}
    response = make_response(
        render_template(
            "embed/form.html",
            partner=partner,
            case=case,
            language=language,
            forms=forms,
            embed=True,
            preview=True,
            parent_origins=[request.host_url.rstrip("/")],
        )
    )
    response.headers["Content-Security-Policy"] = CSP.replace(
        "frame-ancestors 'none'", "frame-ancestors 'self'"
    )
    return response


@bp.get("/partners/figures.csv")
@admin_only
def partners_figures():
    """Letters per partner and case, for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["partner", "partner_name", "case", "written", "confirmed"])
    for row in partners.export_rows():
        writer.writerow([safe_cell(value) for value in row])  # names are typed by staff
    response = make_response("\ufeff" + buffer.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="letters-per-partner.csv"'
    return response
