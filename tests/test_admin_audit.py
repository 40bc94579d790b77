"""The audit log: what admins see of every staff action, filtered and paged."""

import os
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from factories import AuditEventFactory, StaffUserFactory
from helpers import csrf_from

from extensions import db
from models import AuditEvent, Case, StaffUser


def text(response):
    return response.get_data(as_text=True)


def rows(page):
    """The actions in the table, top to bottom."""
    return re.findall(r"<td[^>]*><code>([^<]+)</code></td>", page)


DAY = datetime(2026, 11, 20, 12, 0)


@pytest.fixture
def log(app, admin):
    """A small log: two staff members, the command line, cases and letters."""
    with app.app_context():
        boss = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "admin@example.org"))
        mod = StaffUserFactory(email="mod@example.org")
        AuditEventFactory(
            action="staff.create",
            target_type="staff_users",
            target_id=mod.id,
            created_at=DAY - timedelta(days=3),
            details={"role": "moderator"},
        )
        case_work = {"target_type": "cases", "actor": boss}
        AuditEventFactory(
            action="case.create",
            target_id=7,
            created_at=DAY - timedelta(days=2),
            details={"slug": "a"},
            **case_work,
        )
        AuditEventFactory(
            action="case.publish", target_id=7, created_at=DAY - timedelta(days=1), **case_work
        )
        moderation = {"target_type": "letters", "actor": mod}
        AuditEventFactory(action="letter.approve", target_id=40, created_at=DAY, **moderation)
        AuditEventFactory(
            action="letter.reject", target_id=41, created_at=DAY + timedelta(hours=1), **moderation
        )
        AuditEventFactory(
            action="case.close", target_id=8, created_at=DAY + timedelta(days=1), **case_work
        )
    return admin


def test_the_log_lists_events_newest_first_with_who_and_what(log):
    page = text(log.get("/admin/audit"))
    actions = rows(page)
    # Newest first; the admin's own sign-in (now) is on top.
    assert actions == [
        "staff.sign_in",
        "case.close",
        "letter.reject",
        "letter.approve",
        "case.publish",
        "case.create",
        "staff.create",
    ]
    assert ">Nov 21, 2026, 12:00:00\u202fPM</time>" in page and "Times are in UTC" in page
    assert "mod@example.org" in page and "Command line" in page
    assert '<a href="/admin/cases/8/edit">Case #8</a>' in page
    assert "Letter #41" in page and "Staff account #2" in page
    assert "<dt>role</dt>" in page and "moderator" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=case.publish", ["case.publish"]),
        ("action=letter.*", ["letter.reject", "letter.approve"]),
        ("actor=cli", ["staff.create"]),
        ("target_type=cases", ["case.close", "case.publish", "case.create"]),
        ("target_type=cases&target_id=7", ["case.publish", "case.create"]),
        (
            "date_from=2026-11-19&date_to=2026-11-20",
            ["letter.reject", "letter.approve", "case.publish"],
        ),
        ("date_from=2026-11-21", ["staff.sign_in", "case.close"]),
        ("action=case.*&date_to=2026-11-19", ["case.publish", "case.create"]),
    ],
)
def test_filters_narrow_the_log(log, query, expected):
    assert rows(text(log.get(f"/admin/audit?{query}"))) == expected


def test_filter_by_staff_member(app, log):
    with app.app_context():
        mod_id = db.session.scalar(
            sa.select(StaffUser.id).where(StaffUser.email == "mod@example.org")
        )
    page = text(log.get(f"/admin/audit?actor={mod_id}"))
    assert rows(page) == ["letter.reject", "letter.approve"]
    assert f'<option value="{mod_id}" selected>mod@example.org</option>' in page


def test_the_filter_offers_the_actions_and_targets_in_the_log(log):
    page = text(log.get("/admin/audit"))
    for option in (
        '<option value="case.*">Any case action</option>',
        '<option value="case.close">case.close</option>',
        '<option value="letter.*">Any letter action</option>',
        '<option value="cli">Command line (no staff member)</option>',
        '<option value="staff_users">Staff account</option>',
    ):
        assert option in page


def test_no_match_says_so(log):
    page = text(log.get("/admin/audit?action=case.publish&actor=cli"))
    assert rows(page) == [] and "No events match these filters." in page


def test_bad_filters_are_explained_next_to_their_field(log):
    response = log.get("/admin/audit?date_from=yesterday&date_to=2026-11-01&target_id=x")
    assert response.status_code == 400
    page = text(response)
    assert "Please enter a date like 2026-11-24." in page
    assert "Please enter a number, like 12." in page
    assert re.search(r'id="date_from"[^>]*aria-invalid="true"', page)
    assert re.search(r'id="target_id"[^>]*autofocus', page)  # the first field with a problem
    assert rows(page) == []
    response = log.get("/admin/audit?date_from=2026-11-20&date_to=2026-11-01")
    assert "The end date is before the start date." in text(response)
    response = log.get("/admin/audit?target_id=4")
    assert "Please choose what kind of target the number is for." in text(response)


def test_htmx_filtering_answers_with_the_filters_and_results_only(log):
    response = log.get("/admin/audit?action=case.close", headers={"HX-Request": "true"})
    page = text(response)
    assert page.startswith('<div id="audit">') and "<html" not in page
    assert rows(page) == ["case.close"] and "1 event shown." in page
    assert "HX-Request" in response.headers["Vary"]


def test_pages_follow_each_other_without_gaps_or_repeats(app, admin):
    same_time = DAY  # many events in the same microsecond: the id breaks the tie
    with app.app_context():
        for n in range(1, 61):
            AuditEventFactory(action="case.update", target_id=n, created_at=same_time)
        for n in range(60):
            AuditEventFactory(
                action="case.update", target_id=100 + n, created_at=DAY - timedelta(minutes=n + 1)
            )
    seen, path, pages = [], "/admin/audit?action=case.update", 0
    while path:
        page = text(admin.get(path))
        pages += 1
        seen += re.findall(r">Case #(\d+)<", page)
        match = re.search(r'<a href="([^"]+)" rel="next">Older events', page)
        assert match is None or "action=case.update" in match.group(1)  # filters carry over
        path = match.group(1).replace("&amp;", "&") if match else None
        if pages > 1:
            assert "Newest events" in page
    assert pages == 3
    assert len(seen) == 120 and len(set(seen)) == 120
    assert seen[:60] == [str(n) for n in reversed(range(1, 61))]  # same time: newest id first
    assert seen[60:] == [str(100 + n) for n in range(60)]


def test_case_work_appears_in_the_log_with_its_details(app, admin, cases):
    token = csrf_from(admin, "/admin/cases")
    admin.post(f"/admin/cases/{cases['secret-draft']}/publish", data={"csrf_token": token})
    page = text(admin.get("/admin/audit?action=case.publish"))
    assert rows(page) == ["case.publish"]
    assert "admin@example.org" in page and "<dt>previous</dt>" in page and "draft" in page
    assert f'<a href="/admin/cases/{cases["secret-draft"]}/edit">Case #' in page


def test_staff_changes_from_the_command_line_and_sign_ins_are_in_the_log(app, admin, monkeypatch):
    runner = app.test_cli_runner()
    monkeypatch.setitem(os.environ, "ADMIN_PASSWORD", "a long enough password")
    assert (
        runner.invoke(args=["create-admin", "new@example.org", "--role", "moderator"]).exit_code
        == 0
    )
    assert runner.invoke(args=["create-admin", "new@example.org", "--role", "admin"]).exit_code == 0
    assert runner.invoke(args=["staff", "disable", "new@example.org"]).exit_code == 0
    page = text(admin.get("/admin/audit?target_type=staff_users"))
    assert rows(page) == ["staff.disable", "staff.update", "staff.create", "staff.sign_in"]
    assert page.count("Command line") >= 3  # (the staff filter's option says it once more)
    assert "<dt>role</dt>" in page and "admin@example.org" in page
    assert rows(text(admin.get("/admin/audit?action=staff.*&actor=cli"))) == [
        "staff.disable",
        "staff.update",
        "staff.create",
    ]


def test_details_are_shown_escaped(app, admin):
    with app.app_context():
        AuditEventFactory(action="case.update", details={"name": "<script>alert(1)</script>"})
        AuditEventFactory(
            action="letter.reject", target_type="", target_id=None, reason="<b>rude</b>"
        )
    page = text(admin.get("/admin/audit"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "<b>rude</b>" not in page and "&lt;b&gt;rude&lt;/b&gt;" in page


def test_moderators_may_not_read_the_log(moderator):
    assert moderator.get("/admin/audit").status_code == 403


def test_signed_out_visitors_go_to_sign_in(client):
    response = client.get("/admin/audit")
    assert response.status_code == 302 and "/admin/sign-in" in response.headers["Location"]


def test_the_log_is_not_cached(admin):
    assert admin.get("/admin/audit").headers["Cache-Control"] == "no-store"


def test_the_log_never_changes_through_this_page(app, admin, cases):
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert admin.post("/admin/audit").status_code in (400, 405)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 6
