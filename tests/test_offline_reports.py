"""Offline reports: a partner reports letters written at an event on its stats page, staff
review them (approve, ask for a correction, reject), a report is corrected or withdrawn,
and the offline totals (letters.counters.offline_by_case) follow; duplicates are flagged,
bad input stores nothing, and only the partner's link and admins reach them."""

import io
import os
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from case_admin import photo_file
from embed_pages import CASE, UNION
from factories import PartnerFactory
from helpers import SAME_ORIGIN, csrf_from, hidden_value, staff_client
from PIL import Image
from werkzeug.test import encode_multipart

import partners
from extensions import db
from letters.counters import offline_by_case
from models import AuditEvent, OfflineReport, utcnow
from offline import reports
from offline.forms import earliest_event_date


def stats_link(app, slug="riverside"):
    with app.app_context():
        return "/partners/stats/" + partners.find_partner(slug).stats_token


def today():
    return utcnow().date()


def report_fields(cases, **changes):
    fields = {
        "case_id": str(cases[CASE]),
        "appeals": "120",
        "solidarity": "45",
        "event": "Stall at the Harbour Festival",
        "town": "Leeds",
        "country": "GB",
        "held_on": (today() - timedelta(days=2)).isoformat(),
    }
    fields.update(changes)
    return fields


def send(client, path, fields, headers=None):
    """Post as the page's form does: multipart (it may carry a photo)."""
    boundary, body = encode_multipart(fields)
    return client.post(
        path,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers or SAME_ORIGIN,
    )


def partner_report(client, link, fields, token=None):
    """Fill in the stats page's report form and send it."""
    page = client.get(link).get_data(as_text=True)
    fields = {"form_token": token or hidden_value(page, "form_token"), **fields}
    return send(client, link + "/reports", fields)


def stored_reports(app):
    with app.app_context():
        return db.session.scalars(sa.select(OfflineReport).order_by(OfflineReport.id)).all()


def audit_actions(app):
    with app.app_context():
        return [
            event.action
            for event in db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action.like("offline.%"))
                .order_by(AuditEvent.id)
            )
        ]


def totals(app):
    with app.app_context():
        return offline_by_case()


def review(admin, report_id, decision, note=""):
    return admin.post(
        f"/admin/offline/{report_id}/review",
        data={"decision": decision, "note": note, "csrf_token": csrf_from(admin)},
    )


def test_a_partner_reports_staff_approve_and_the_totals_count_it(
    app, client, admin, cases, partner_id
):
    link = stats_link(app)
    response = partner_report(client, link, report_fields(cases))
    assert response.status_code == 303
    assert response.headers["Location"].startswith(link + "?reported=1")
    page = client.get(response.headers["Location"])
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "Thank you: your report was sent." in html
    assert "Stall at the Harbour Festival" in html and "Waiting for review" in html
    [report] = stored_reports(app)
    assert (report.partner_id, report.appeals, report.solidarity, report.state) == (
        partner_id,
        120,
        45,
        "submitted",
    )
    assert totals(app) == {}  # not counted before staff approve it

    listed = admin.get("/admin/offline").get_data(as_text=True)
    assert "Stall at the Harbour Festival" in listed and "Riverside School" in listed
    assert review(admin, report.id, "approve").status_code == 303
    assert totals(app) == {cases[CASE]: {"appeal": 120, "solidarity": 45}}
    assert "Approved: counted" in client.get(link).get_data(as_text=True)
    assert audit_actions(app) == ["offline.create", "offline.approve"]
    audit_page = admin.get("/admin/audit").get_data(as_text=True)
    assert "offline.create" in audit_page and "offline.approve" in audit_page


def test_a_correction_asked_for_goes_back_to_the_partner_and_to_review(
    app, client, admin, cases, partner_id
):
    link = stats_link(app)
    partner_report(client, link, report_fields(cases))
    [report] = stored_reports(app)
    assert review(admin, report.id, "correction").status_code == 422  # a note is needed
    assert stored_reports(app)[0].state == "submitted"
    note = "The date looks wrong: the market was on Saturday."
    assert review(admin, report.id, "correction", note).status_code == 303
    html = client.get(link).get_data(as_text=True)
    assert "Please correct it" in html and note.replace(":", ":") in html.replace("&#39;", "'")
    edit = client.get(f"{link}/reports/{report.id}")
    assert edit.status_code == 200 and edit.headers["Referrer-Policy"] == "no-referrer"
    token = hidden_value(edit.get_data(as_text=True), "form_token")
    fields = report_fields(cases, appeals="130", held_on=(today() - timedelta(days=1)).isoformat())
    corrected = send(client, f"{link}/reports/{report.id}", {"form_token": token, **fields})
    assert corrected.status_code == 303
    report = stored_reports(app)[0]
    assert (report.state, report.appeals) == ("submitted", 130)
    # Only a report sent back can be corrected by its partner.
    again = send(client, f"{link}/reports/{report.id}", {"form_token": token, **fields})
    assert again.status_code == 409
    assert "Only a report sent back for a correction can be changed." in again.get_data(
        as_text=True
    )
    review(admin, report.id, "approve")
    assert totals(app)[cases[CASE]] == {"appeal": 130, "solidarity": 45}
    assert audit_actions(app) == [
        "offline.create",
        "offline.correction",
        "offline.correct",
        "offline.approve",
    ]


def test_staff_edit_keeps_an_approved_report_counted_and_reject_stops_it(
    app, client, admin, cases, partner_id
):
    partner_report(client, stats_link(app), report_fields(cases))
    [report] = stored_reports(app)
    review(admin, report.id, "approve")
    form = admin.get(f"/admin/offline/{report.id}/edit")
    assert form.status_code == 200
    fields = {**report_fields(cases, solidarity="50"), "csrf_token": csrf_from(admin)}
    edited = send(admin, f"/admin/offline/{report.id}/edit", fields)
    assert edited.status_code == 303
    assert totals(app) == {cases[CASE]: {"appeal": 120, "solidarity": 50}}
    assert (
        review(admin, report.id, "reject", "Counted twice with the school's report.").status_code
        == 303
    )
    assert totals(app) == {}
    html = client.get(stats_link(app)).get_data(as_text=True)
    assert "Rejected" in html and "Counted twice with the school&#39;s report." in html
    assert audit_actions(app)[-2:] == ["offline.correct", "offline.reject"]


def test_withdrawing_takes_a_report_out_of_the_totals(app, client, admin, cases, partner_id):
    link = stats_link(app)
    partner_report(client, link, report_fields(cases))
    partner_report(client, link, report_fields(cases, event="Class 4B", appeals="10"))
    first, second = stored_reports(app)
    review(admin, first.id, "approve")
    review(admin, second.id, "approve")
    assert totals(app)[cases[CASE]]["appeal"] == 130
    # The list leads to the report's own page, which asks before withdrawing.
    assert f"{link}/reports/{first.id}#withdraw" in client.get(link).get_data(as_text=True)
    page = client.get(f"{link}/reports/{first.id}").get_data(as_text=True)
    assert "Withdraw this report" in page and "120 appeal letters" in page
    withdrawn = client.post(
        f"{link}/reports/{first.id}/withdraw",
        data={"form_token": hidden_value(page, "form_token")},
        headers=SAME_ORIGIN,
    )
    assert withdrawn.status_code == 303
    assert "The report was withdrawn" in client.get(withdrawn.headers["Location"]).get_data(
        as_text=True
    )
    assert totals(app)[cases[CASE]] == {"appeal": 10, "solidarity": 45}
    # Staff withdraw too, with a reason for the audit log.
    staff = admin.post(
        f"/admin/offline/{second.id}/withdraw",
        data={"reason": "sent twice", "csrf_token": csrf_from(admin)},
    )
    assert staff.status_code == 303
    assert totals(app) == {}
    assert [r.state for r in stored_reports(app)] == ["withdrawn", "withdrawn"]
    assert audit_actions(app)[-2:] == ["offline.withdraw", "offline.withdraw"]


def test_an_approval_of_a_report_withdrawn_meanwhile_is_refused(app, client, cases, partner_id):
    """Staff's page showed the report waiting; its partner withdrew it before staff approved."""
    partner_report(client, stats_link(app), report_fields(cases))
    with app.test_request_context():
        report = db.session.scalar(sa.select(OfflineReport))
        assert report.state == "submitted"  # as the staff's page read it
        with db.engine.begin() as partner:  # the withdrawal, committed in between
            partner.execute(sa.update(OfflineReport).values(state="withdrawn"))
        with pytest.raises(reports.ReportError, match="Withdrawn"):
            reports.review_report(report, "approve")
    assert [r.state for r in stored_reports(app)] == ["withdrawn"]
    assert totals(app) == {}
    assert "offline.approve" not in audit_actions(app)


def test_duplicates_are_flagged_on_both_copies(app, client, admin, cases, partner_id):
    link = stats_link(app)
    partner_report(client, link, report_fields(cases))
    partner_report(client, link, report_fields(cases, event="  stall AT the harbour   FESTIVAL "))
    partner_report(client, link, report_fields(cases, event="Class 4B"))  # another event
    first, second, other = stored_reports(app)
    html = client.get(link).get_data(as_text=True)
    assert html.count("This looks like a second copy of another of your reports") == 2
    for report in (first, second):
        page = admin.get(f"/admin/offline/{report.id}").get_data(as_text=True)
        assert "Possible duplicate" in page
        twin = second if report is first else first
        assert f"/admin/offline/{twin.id}" in page
    assert "Possible duplicate" not in admin.get(f"/admin/offline/{other.id}").get_data(
        as_text=True
    )
    assert admin.get("/admin/offline").get_data(as_text=True).count("Possible duplicate") == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"appeals": "0", "solidarity": "0"}, "both are 0"),
        ({"appeals": "-3"}, "between 0 and 50,000"),
        ({"solidarity": "1000000"}, "between 0 and 50,000"),
        ({"appeals": "many"}, "Please enter a whole number"),
        ({"event": "  "}, "Please name the event"),
        ({"country": "XX"}, "Please choose the country from the list."),
        ({"case_id": "999999"}, "Please choose the case"),
        ({"held_on": "2999-01-01"}, "That date is in the future."),
        ({"held_on": "2001-01-01"}, "Please report events of this campaign or the last one"),
        ({"held_on": "not a date"}, "Please give the date as year-month-day"),
        ({"held_on": ""}, "Please give the date of the event."),
    ],
)
def test_bad_input_says_what_is_wrong_and_stores_nothing(
    app, client, cases, partner_id, changes, message
):
    response = partner_report(client, stats_link(app), report_fields(cases, **changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html.replace("&#39;", "'")
    assert 'role="alert"' in html
    assert stored_reports(app) == []


def test_a_draft_case_cannot_be_reported(app, client, cases, partner_id):
    fields = report_fields(cases, case_id=str(cases["secret-draft"]))
    assert partner_report(client, stats_link(app), fields).status_code == 422
    assert "Draft Person" not in client.get(stats_link(app)).get_data(as_text=True)
    assert stored_reports(app) == []


def test_the_earliest_date_is_a_year_before_the_campaign_year(app):
    assert earliest_event_date(date(2026, 12, 6)) == date(2025, 11, 1)
    assert earliest_event_date(date(2027, 3, 1)) == date(2025, 11, 1)
    assert earliest_event_date(date(2026, 10, 31)) == date(2024, 11, 1)


def image_bytes(fmt="PNG"):
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def test_a_photo_is_cleaned_stored_apart_and_shown_to_admins_only(
    app, client, admin, moderator, cases, partner_id
):
    link = stats_link(app)
    page = client.get(link).get_data(as_text=True)
    fields = {
        "form_token": hidden_value(page, "form_token"),
        **report_fields(cases),
        "photo": photo_file(image_bytes(), "stack.png"),
    }
    assert send(client, link + "/reports", fields).status_code == 303
    [report] = stored_reports(app)
    path = os.path.join(app.instance_path, "offline-photos", report.photo)
    with Image.open(path) as stored:
        assert stored.format == "JPEG" and stored.size == (1200, 900)
    assert client.get(f"/photos/{report.photo}").status_code == 404  # not a public photo
    shown = admin.get(f"/admin/offline/{report.id}/photo")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    shown.close()
    assert f'src="/admin/offline/{report.id}/photo"' in admin.get(
        f"/admin/offline/{report.id}"
    ).get_data(as_text=True)
    assert moderator.get(f"/admin/offline/{report.id}/photo").status_code == 403


def test_a_good_photo_in_a_form_with_mistakes_is_asked_for_again(app, client, cases, partner_id):
    link = stats_link(app)
    page = client.get(link).get_data(as_text=True)
    fields = {
        "form_token": hidden_value(page, "form_token"),
        **report_fields(cases, town=""),
        "photo": photo_file(image_bytes(), "stack.png"),
    }
    response = send(client, link + "/reports", fields)
    assert response.status_code == 422
    assert "Your photo was fine, but please choose it again" in response.get_data(as_text=True)
    assert stored_reports(app) == []


def test_a_file_that_is_not_a_photo_is_refused_and_nothing_stored(app, client, cases, partner_id):
    link = stats_link(app)
    page = client.get(link).get_data(as_text=True)
    fields = {
        "form_token": hidden_value(page, "form_token"),
        **report_fields(cases),
        "photo": photo_file(b"<?php system($_GET['c']); ?>", "stack.jpg", "image/jpeg"),
    }
    response = send(client, link + "/reports", fields)
    assert response.status_code == 422
    assert "That file is not a photo we can use" in response.get_data(as_text=True)
    assert stored_reports(app) == []
    assert (
        not os.listdir(os.path.join(app.instance_path, "offline-photos"))
        if os.path.isdir(os.path.join(app.instance_path, "offline-photos"))
        else True
    )


def test_a_forged_or_replayed_partner_post_is_refused(app, client, cases, partner_id):
    link = stats_link(app)
    fields = report_fields(cases)
    # From another site's page: refused before any view (Fetch Metadata).
    page = client.get(link).get_data(as_text=True)
    token = hidden_value(page, "form_token")
    cross = send(
        client,
        link + "/reports",
        {"form_token": token, **fields},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    # No token, a made-up one, or one from another partner's page.
    assert send(client, link + "/reports", fields).status_code == 400
    assert send(client, link + "/reports", {"form_token": "forged", **fields}).status_code == 400
    with app.app_context():
        PartnerFactory(**UNION)
    union_page = client.get(stats_link(app, "union")).get_data(as_text=True)
    union_token = hidden_value(union_page, "form_token")
    refused = send(client, link + "/reports", {"form_token": union_token, **fields})
    assert refused.status_code == 400
    assert "We could not check this form" in refused.get_data(as_text=True)
    assert stored_reports(app) == []
    # The same form sent twice (a double click, a reload) makes one report.
    assert send(client, link + "/reports", {"form_token": token, **fields}).status_code == 303
    again = send(client, link + "/reports", {"form_token": token, **fields})
    assert again.status_code == 409
    assert len(stored_reports(app)) == 1


def test_a_partner_sees_and_changes_its_own_reports_only(app, client, admin, cases, partner_id):
    link = stats_link(app)
    partner_report(client, link, report_fields(cases))
    [report] = stored_reports(app)
    with app.app_context():
        PartnerFactory(**UNION)
    union = stats_link(app, "union")
    union_page = client.get(union).get_data(as_text=True)
    assert "Stall at the Harbour Festival" not in union_page
    token = hidden_value(union_page, "form_token")
    assert client.get(f"{union}/reports/{report.id}").status_code == 404
    withdraw = client.post(
        f"{union}/reports/{report.id}/withdraw", data={"form_token": token}, headers=SAME_ORIGIN
    )
    assert withdraw.status_code == 404
    assert stored_reports(app)[0].state == "submitted"


def test_a_wrong_or_removed_link_reaches_nothing(app, client, cases, partner_id):
    link = stats_link(app)
    partner_report(client, link, report_fields(cases))
    [report] = stored_reports(app)
    wrong = link[:-2] + "xx"
    assert send(client, wrong + "/reports", report_fields(cases)).status_code == 404
    assert client.get(f"{wrong}/reports/{report.id}").status_code == 404
    with app.app_context():
        removed = partners.remove_partner(partners.find_partner("riverside"))
    assert removed is False  # kept: its report stays with it
    assert client.get(link).status_code == 404
    assert client.get(f"{link}/reports/{report.id}").status_code == 404
    assert send(client, link + "/reports", report_fields(cases)).status_code == 404
    assert len(stored_reports(app)) == 1


def test_moderators_are_refused_and_admins_add_reports(app, admin, moderator, cases, partner_id):
    for path in ("/admin/offline", "/admin/offline/new"):
        assert moderator.get(path).status_code == 403
    assert "Offline letters" not in moderator.get("/admin/queue").get_data(as_text=True)
    fields = {**report_fields(cases), "partner_id": "", "csrf_token": csrf_from(moderator)}
    assert send(moderator, "/admin/offline/new", fields).status_code == 403
    assert stored_reports(app) == []
    assert "Offline letters" in admin.get("/admin/offline").get_data(as_text=True)
    fields = {**report_fields(cases), "partner_id": str(partner_id), "csrf_token": csrf_from(admin)}
    assert send(admin, "/admin/offline/new", fields).status_code == 303
    # Without the staff page's CSRF token: refused, nothing stored.
    fields.pop("csrf_token")
    assert send(admin, "/admin/offline/new", fields).status_code == 400
    [report] = stored_reports(app)
    assert report.partner_id == partner_id and report.created_by_id is not None
    assert review(moderator, report.id, "approve").status_code == 403
    assert stored_reports(app)[0].state == "submitted"


def test_partner_reports_are_rate_limited(make_app, cases):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_OFFLINE_REPORTS="2 per hour")
    with app.app_context():
        partners.add_partner("riverside", "Riverside School", ["https://riverside.example"])
    client = app.test_client()
    link = stats_link(app)
    codes = [
        partner_report(client, link, report_fields(cases, event=f"Event {n}")).status_code
        for n in range(3)
    ]
    assert codes == [303, 303, 429]
    assert len(stored_reports(app)) == 2


def test_an_approval_shows_at_once_in_the_cached_totals(make_app, cases):
    app = make_app(PAGE_CACHE_SECONDS=60)
    with app.app_context():
        partners.add_partner("riverside", "Riverside School", ["https://riverside.example"])
    client = app.test_client()
    assert client.get("/api/stats").get_json()["offline"] == 0  # now kept for a minute
    partner_report(client, stats_link(app), report_fields(cases))
    [report] = stored_reports(app)
    admin = staff_client(app, "admin", "admin@example.org")
    review(admin, report.id, "approve")
    assert client.get("/api/stats").get_json()["offline"] == 165
    page = client.get(stats_link(app))
    withdrawn = client.post(
        f"{stats_link(app)}/reports/{report.id}/withdraw",
        data={"form_token": hidden_value(page.get_data(as_text=True), "form_token")},
        headers=SAME_ORIGIN,
    )
    assert withdrawn.status_code == 303
    assert client.get("/api/stats").get_json()["offline"] == 0
