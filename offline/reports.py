"""Offline reports: made by a partner (its stats page) or by staff (the admin), reviewed by
staff, corrected or withdrawn; each change in one transaction with its audit record.

What counts (letters.counters.offline_by_case) is the approved reports only, so:
- approve: the report counts; ask for a correction or reject: it stops counting.
- a partner's correction (only of a report staff sent back) puts it back to "submitted":
  it counts again once staff approve it.
- a staff edit keeps the report's state: staff edits are the reviewed figures, so an
  approved report stays approved and counts with its new numbers.
- withdraw (by its partner or by staff): it stops counting, whatever its state was.
Every change to what counts empties the app's cache (web.caching.forget_everything), as a
staff change to a case does, so the counters show it at once in this process and in every
process when the cache is Redis (otherwise within PAGE_CACHE_SECONDS).
"""

import os
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from cases import photos
from extensions import begin_write, db
from models import OfflineReport, utcnow
from offline.forms import folded
from staff import audit
from web import caching

# Photos of the letters can show what was written, names and addresses: they are kept
# apart from the case photos (which /photos/ serves to everyone) and shown to admins only.
PHOTO_FOLDER = "offline-photos"
# Who may do what, from which state.
PARTNER_CORRECTS = ("correction",)
WITHDRAWABLE = ("submitted", "correction", "approved")
REVIEWABLE = {
    "approve": ("submitted", "correction", "rejected"),
    "correction": ("submitted", "approved"),
    "reject": ("submitted", "correction", "approved"),
}
REVIEW_STATE = {"approve": "approved", "correction": "correction", "reject": "rejected"}
STATE_LABELS = {
    "submitted": _l("Waiting for review"),
    "correction": _l("Please correct it"),
    "approved": _l("Approved: counted"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}


class ReportError(ValueError):
    """Why a change cannot be made to a report in its present state."""


def photos_folder():
    return os.path.join(current_app.instance_path, PHOTO_FOLDER)


def photo_path(report):
    """Where the report's photo is stored, or None."""
    if not report.photo or os.sep in report.photo or report.photo.startswith("."):
        return None
    return os.path.join(photos_folder(), report.photo)


def forget_photos(case_id):
    """Delete the photos of a case's reports, in the caller's write transaction (retention,
    after the case closed: a photo of letters can show their writers' names); returns how
    many. The files go first: should the commit fail, the next run finds them again."""
    kept = db.session.scalars(
        sa.select(OfflineReport).where(
            OfflineReport.case_id == case_id,
            OfflineReport.photo.is_not(None),
            OfflineReport.photo != "",
        )
    ).all()
    for report in kept:
        photos.delete(report.photo, folder=photos_folder())
        report.photo = None
    return len(kept)


def counts_changed():
    """What offline_by_case() returns changed: the cached counters must not keep the old
    figures (pages, /api/stats, the dashboard and partner stats are all in the app cache)."""
    caching.forget_everything()


def figures(report):
    return {
        "case": report.case_id,
        "appeals": report.appeals,
        "solidarity": report.solidarity,
        "event": report.event,
        "held_on": report.held_on.isoformat(),
    }


def create_report(values, photo_data=None, partner=None, by_staff=False):
    """A new report, waiting for review. `partner`: who reported it (None: staff's own)."""
    begin_write()
    report = OfflineReport(partner_id=partner.id if partner else None, state="submitted", **values)
    if photo_data:
        report.photo = photos.save(photo_data, folder=photos_folder())
    if by_staff:
        report.created_by_id = current_staff_id()
    db.session.add(report)
    db.session.flush()
    audit.record(
        "offline.create", report, partner=partner.slug if partner else "", **figures(report)
    )
    db.session.commit()
    return report


def locked(report):
    """The report re-read under its row lock, in a write transaction: its state is checked
    and changed as one step, so a partner's withdrawal racing a staff approval cannot
    both pass their checks on the same old state (the last one would win)."""
    begin_write()
    return db.session.get(OfflineReport, report.id, with_for_update=True, populate_existing=True)


def refuse(message):
    """End the write transaction locked() began, and say why the change cannot be made."""
    db.session.rollback()
    raise ReportError(message)


def current_staff_id():
    from flask_login import current_user

    return current_user.id if current_user.is_authenticated else None


def correct_report(report, values, photo_data=None, partner=None):
    """New figures for a report. By its partner: only a report sent back for a correction,
    which goes back to review. By staff (partner None): any report not withdrawn, which
    keeps its state (an approved one counts with the new figures)."""
    report = locked(report)
    if partner is not None and report.state not in PARTNER_CORRECTS:
        refuse(_l("Only a report sent back for a correction can be changed."))
    if report.state == "withdrawn":
        refuse(_l("This report was withdrawn, so it can no longer be changed."))
    before = figures(report)
    counted = report.state == "approved"
    for name, value in values.items():
        setattr(report, name, value)
    old_photo = None
    if photo_data:
        old_photo = photo_path(report)
        report.photo = photos.save(photo_data, folder=photos_folder())
    if partner is not None:
        report.state = "submitted"
    audit.record(
        "offline.correct",
        report,
        by="partner" if partner is not None else "staff",
        partner=partner.slug if partner is not None else "",
        before=before,
        after=figures(report),
    )
    db.session.commit()
    if old_photo:
        photos.delete(os.path.basename(old_photo), folder=photos_folder())
    if counted:
        counts_changed()
    return report


def withdraw_report(report, partner=None, reason=""):
    """The report no longer counts and is kept, marked withdrawn (by its partner or staff)."""
    report = locked(report)
    if report.state not in WITHDRAWABLE:
        refuse(_l("This report can no longer be withdrawn."))
    counted = report.state == "approved"
    report.state = "withdrawn"
    audit.record(
        "offline.withdraw",
        report,
        reason=reason,
        by="partner" if partner is not None else "staff",
        partner=partner.slug if partner is not None else "",
        was_counted=counted,
    )
    db.session.commit()
    if counted:
        counts_changed()
    return report


def review_report(report, decision, note=""):
    """Staff's decision: approve (it counts), ask for a correction or reject (with words
    for the reporter). Audited with the note as its reason."""
    report = locked(report)
    if report.state not in REVIEWABLE[decision]:
        refuse(
            _l(
                "This report is “%(state)s”: that decision does not apply to it.",
                state=STATE_LABELS[report.state],
            )
        )
    was_counted = report.state == "approved"
    report.state = REVIEW_STATE[decision]
    report.review_note = note if decision != "approve" else ""
    report.reviewed_by_id = current_staff_id()
    report.reviewed_at = utcnow()
    audit.record(f"offline.{decision}", report, reason=note, **figures(report))
    db.session.commit()
    if was_counted or decision == "approve":
        counts_changed()
    return report


def duplicates(reports):
    """{report id: [ids of its duplicates]} for `reports`: other reports (not withdrawn) of
    the same partner (or both staff's own), case and date whose event's name is the same
    once folded. One query, on the index of partner, case and date."""
    keys = {(r.partner_id, r.case_id, r.held_on) for r in reports}
    if not keys:
        return {}
    partner_ids = {key[0] for key in keys if key[0] is not None}
    same_partner = OfflineReport.partner_id.in_(partner_ids)
    if any(key[0] is None for key in keys):
        same_partner = sa.or_(same_partner, OfflineReport.partner_id.is_(None))
    candidates = db.session.scalars(
        sa.select(OfflineReport).where(
            same_partner,
            OfflineReport.case_id.in_({key[1] for key in keys}),
            OfflineReport.held_on.in_({key[2] for key in keys}),
            OfflineReport.state != "withdrawn",
        )
    )
    groups = defaultdict(list)
    for candidate in candidates:
        groups[same_report_key(candidate)].append(candidate.id)
    found = {}
    for report in reports:
        others = [i for i in groups.get(same_report_key(report), []) if i != report.id]
        if others:
            found[report.id] = sorted(others)
    return found


def same_report_key(report):
    return (report.partner_id, report.case_id, report.held_on, folded(report.event))


def partner_reports(partner):
    """The partner's reports, newest first, withdrawn ones included (it sees what it did)."""
    return db.session.scalars(
        sa.select(OfflineReport)
        .where(OfflineReport.partner_id == partner.id)
        .order_by(OfflineReport.held_on.desc(), OfflineReport.id.desc())
    ).all()


def staff_reports(state=None, limit=500):
    """The reports in a state (all when None), oldest first, at most `limit` of them."""
    query = (
        sa.select(OfflineReport).order_by(OfflineReport.created_at, OfflineReport.id).limit(limit)
    )
    if state:
        query = query.where(OfflineReport.state == state)
    return db.session.scalars(query).all()


def state_counts():
    rows = db.session.execute(
        sa.select(OfflineReport.state, sa.func.count()).group_by(OfflineReport.state)
    )
    return dict(rows.all())
