"""Copies of a decided text arriving later get its decision: rejected with its reason
(and found under Decided by: Automatically), approved as the admins' settings say."""

import pytest
import sqlalchemy as sa
from helpers import Supporter, csrf_from
from queue_pages import QUEUE, events, letter_row, page, reason_id, shown_ids
from test_queue_groups import GROUPS, SUGGESTED, copies, decide_group, suggested_group

import letters
from extensions import db
from models import Letter, utcnow
from moderation import groups
from moderation.flags import fingerprint


def submit(client, case_slug, body):
    supporter = Supporter(client)
    response = supporter.submit(
        case_slug, kind="solidarity", body=body, email=f"{abs(hash(body + str(utcnow())))}@x.org"
    )
    assert response.status_code == 200
    with client.application.app_context():
        return db.session.scalar(sa.select(sa.func.max(Letter.id)))


@pytest.mark.parametrize("suggested", [True, False])
def test_copies_of_an_approved_text_are_approved_on_arrival_as_the_setting_says(
    app, admin, client, gustavo, case_slug, suggested
):
    body = SUGGESTED if suggested else "Free Gustavo now, he did nothing wrong."
    with app.app_context():
        if suggested:
            suggested_group(gustavo)
        copies(2, body, gustavo)
    decide_group(admin, fingerprint(body), "approve")
    first = submit(client, case_slug, body)
    row = letter_row(app, first)
    # On by default for the case's suggested texts, off for others.
    assert row.moderation == ("approved" if suggested else "pending")
    assert row.moderated_by_id is None

    setting = "auto_approve_suggested" if suggested else "auto_approve_other"
    form = {"csrf_token": csrf_from(admin, "/admin/settings")}
    if not suggested:
        form["auto_approve_other"] = "y"  # turns the other one on, the suggested one off
    response = admin.post("/admin/settings/moderation", data=form)
    assert response.status_code == 303
    assert "Saved." in page(admin, "/admin/settings")
    second = submit(client, case_slug, body + " ")  # the same text, once normalised
    assert letter_row(app, second).moderation == ("pending" if suggested else "approved")
    changes = {
        event.details["setting"]: event.details["after"]
        for event in events(app)
        if event.action == "settings.moderation"
    }
    assert changes[setting] is (not suggested)


def test_copies_of_a_rejected_text_are_rejected_and_visible_under_the_filter(
    app, moderator, client, gustavo, case_slug
):
    body = "Buy cheap watches at our shop."
    with app.app_context():
        earlier = copies(2, body, gustavo)
    decide_group(moderator, fingerprint(body), "reject", reason=reason_id(app, "Spam"))
    later = submit(client, case_slug, body)
    row = letter_row(app, later)
    assert (row.moderation, row.reject_reason, row.moderated_by_id) == (
        "rejected",
        "Spam or advertising",
        None,
    )
    with app.app_context():
        db.session.execute(sa.update(Letter).where(Letter.id == later).values(status="confirmed"))
        db.session.commit()
    html = page(moderator, QUEUE + "?state=rejected&auto=1")
    assert shown_ids(html) == [later]
    assert '<option value="1" selected>Automatically</option>' in html
    assert shown_ids(page(moderator, QUEUE + "?auto=1")) == [later]  # rejected by default
    assert sorted(shown_ids(page(moderator, QUEUE + "?state=rejected"))) == [*earlier, later]


def test_a_copy_confirmed_after_its_text_was_decided_gets_the_decision(
    app, moderator, client, gustavo, case_slug
):
    """Written before the group decision, confirmed after it: it is not decided again."""
    body = "Buy cheap watches at our shop."
    with app.app_context():
        copies(2, body, gustavo)
    waiting = submit(client, case_slug, body)  # unconfirmed: the decision leaves it
    decide_group(moderator, fingerprint(body), "reject", reason=reason_id(app, "Spam"))
    assert letter_row(app, waiting).moderation == "pending"
    with app.app_context():
        letters.confirm_letter(waiting)
    row = letter_row(app, waiting)
    assert (row.status, row.moderation, row.reject_reason, row.moderated_by_id) == (
        "confirmed",
        "rejected",
        "Spam or advertising",
        None,
    )
    assert waiting not in shown_ids(page(moderator, QUEUE))
    assert waiting in shown_ids(page(moderator, QUEUE + "?state=rejected&auto=1"))


def test_only_admins_change_the_arrival_settings(app, moderator, admin):
    assert moderator.get("/admin/settings").status_code == 403
    token = csrf_from(moderator, GROUPS)
    form = {"csrf_token": token, "auto_approve_other": "y"}
    assert moderator.post("/admin/settings/moderation", data=form).status_code == 403
    with app.app_context():
        assert groups.setting("auto_approve_other") is False
    html = page(admin, "/admin/settings")
    assert 'id="auto_approve_suggested" name="auto_approve_suggested" value="y" checked' in html
    assert 'id="auto_approve_other" name="auto_approve_other" value="y" aria-describedby' in html
    assert 'aria-describedby="auto_approve_other-hint" checked' not in html


@pytest.mark.parametrize(
    "variant",
    [
        "Free Gustavo now, he did nothing wrong. Call me: famo.us",  # raises the link flag
        "Free Gustavo now, he did n\u0336o\u0336t\u0336h\u0336i\u0336n\u0336g\u0336 wrong.",
        "Free Gustavo now, he did \u202enothing wrong.",  # a right-to-left override
    ],
)
def test_a_copy_that_reads_otherwise_waits_for_a_moderator(
    app, admin, client, gustavo, case_slug, variant
):
    """The fingerprint leaves out punctuation, combining marks and format characters, so
    these share the approved text's: they join its group but nobody approves them unread."""
    body = "Free Gustavo now, he did nothing wrong."
    with app.app_context():
        copies(2, body, gustavo)
    form = {"csrf_token": csrf_from(admin, "/admin/settings"), "auto_approve_suggested": "y"}
    form["auto_approve_other"] = "y"
    assert admin.post("/admin/settings/moderation", data=form).status_code == 303
    decide_group(admin, fingerprint(body), "approve")
    if "famo.us" not in variant:
        assert fingerprint(variant) == fingerprint(body)
    plain = letter_row(app, submit(client, case_slug, body))
    assert plain.moderation == "approved"  # the same text, read as it is, still goes
    row = letter_row(app, submit(client, case_slug, variant))
    assert (row.moderation, row.moderated_at) == ("pending", None)
