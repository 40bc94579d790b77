"""Delivery batches as records: a batch freezes the letters ready when it is made (letters
confirmed or approved later wait for the next one), a letter is in at most one live batch,
cancelling frees its letters, a sent batch is final and its letters can no longer be
re-moderated, flagged appeals wait for a moderator, appeals are not exported to a
placeholder address; only admins, with a CSRF token, and every step audited."""

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from factories import LetterFactory, RejectReasonFactory, StaffUserFactory, sent_batch
from helpers import csrf_from
from staff_pages import Page

from delivery import batches
from extensions import db
from models import AuditEvent, Case, DeliveryBatch, Letter, StaffUser, utcnow
from moderation import decisions
from supporters import data

ADDRESS = "Fiscalía Nacional\nCatedral 1437\nSantiago, Chile"


@pytest.fixture
def case_id(app, gustavo):
    """Gustavo's case, its official's address confirmed, with an app context."""
    with app.app_context():
        db.session.get(Case, gustavo).target_address = ADDRESS
        db.session.commit()
        yield gustavo


@pytest.fixture
def staff(app, case_id):
    """An admin who makes batches (the operations take the staff member)."""
    return StaffUserFactory(email="maker@example.org", role="admin")


def case():
    return db.session.scalar(sa.select(Case).where(Case.slug == "gustavo-gatica"))


def in_batch(batch):
    return db.session.scalars(
        sa.select(Letter.id).where(Letter.delivery_batch_id == batch.id).order_by(Letter.id)
    ).all()


def going(batch):
    return [letter.id for letter in db.session.scalars(batches.batch_letters(batch))]


def appeals(case_id, n, **values):
    return [LetterFactory(case_id=case_id, **values).id for _ in range(n)]


def events(action):
    return [
        event.details
        for event in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    ]


# Making a batch


def test_a_batch_freezes_the_letters_ready_and_late_ones_wait_for_the_next(case_id, staff):
    ready = appeals(case_id, 3)
    late = LetterFactory(case_id=case_id, status="unconfirmed").id
    LetterFactory(case_id=case_id, kind="solidarity", moderation="approved")
    first = batches.make_batch(case(), "appeal", staff)
    assert (first.number, first.letters, first.state) == (1, 3, "prepared")
    assert (first.first_letter_id, first.last_letter_id) == (ready[0], ready[-1])
    assert in_batch(first) == ready
    # Confirmed after the batch was made: not in its files, in the next batch.
    db.session.execute(sa.update(Letter).where(Letter.id == late).values(status="confirmed"))
    newer = appeals(case_id, 1)
    db.session.commit()
    assert going(first) == ready
    second = batches.make_batch(case(), "appeal", staff)
    assert (second.number, in_batch(second)) == (2, [late, *newer])
    assert going(first) == ready  # the first batch did not move


def test_a_limit_takes_the_oldest_and_leaves_the_rest_for_the_next(case_id, staff):
    ids = appeals(case_id, 5)
    first = batches.make_batch(case(), "appeal", staff, limit=2)
    second = batches.make_batch(case(), "appeal", staff, limit=2)
    third = batches.make_batch(case(), "appeal", staff)
    assert [in_batch(b) for b in (first, second, third)] == [ids[:2], ids[2:4], ids[4:]]


def test_a_letter_is_in_at_most_one_live_batch(case_id, staff):
    appeals(case_id, 2)
    batches.make_batch(case(), "appeal", staff)
    with pytest.raises(batches.BatchError, match="No letter is waiting"):
        batches.make_batch(case(), "appeal", staff)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeliveryBatch)) == 1


def test_numbers_run_per_case_and_kind(app, cases, case_id, staff):
    appeals(case_id, 1)
    LetterFactory(case_id=case_id, kind="solidarity", moderation="approved")
    appeal = batches.make_batch(case(), "appeal", staff)
    booklet = batches.make_batch(case(), "solidarity", staff)
    assert (appeal.number, booklet.number) == (1, 1)


def test_cancel_frees_the_letters_for_the_next_batch(case_id, staff):
    ids = appeals(case_id, 3)
    first = batches.make_batch(case(), "appeal", staff)
    assert batches.cancel(first, staff) == 3
    assert first.state == "cancelled" and in_batch(first) == []
    second = batches.make_batch(case(), "appeal", staff)
    assert (second.number, in_batch(second)) == (2, ids)
    with pytest.raises(batches.BatchError):
        batches.cancel(first, staff)  # cancelled already


def test_flagged_appeals_wait_until_a_moderator_looked_at_them(case_id, staff):
    plain = appeals(case_id, 1)
    flagged = LetterFactory(case_id=case_id, flags="link", flagged=True).id
    approved_flagged = LetterFactory(
        case_id=case_id, flags="link", flagged=True, moderation="approved"
    ).id
    LetterFactory(case_id=case_id, flags="link", flagged=True, moderation="rejected")
    first = batches.make_batch(case(), "appeal", staff)
    assert in_batch(first) == sorted([*plain, approved_flagged])
    moderator = db.session.get(StaffUser, staff.id)
    decisions.decide(moderator, [flagged], "approve")
    second = batches.make_batch(case(), "appeal", staff)
    assert in_batch(second) == [flagged]


# Sent: final


def test_sent_is_final_and_letters_rejected_since_leave_the_batch(case_id, staff):
    ids = appeals(case_id, 3)
    batch = batches.make_batch(case(), "appeal", staff)
    reason = RejectReasonFactory()
    decisions.decide(db.session.get(StaffUser, staff.id), [ids[1]], "reject", reason.id)
    assert going(batch) == [ids[0], ids[2]]  # left out of the files at once
    assert batches.batch_count(batch) == 2 and batch.letters == 3
    batches.mark_sent(batch, staff, utcnow().date(), "post", "  RR123 ")
    assert (batch.state, batch.method, batch.note, batch.letters) == ("sent", "post", "RR123", 2)
    assert in_batch(batch) == [ids[0], ids[2]]
    assert db.session.get(Letter, ids[1]).delivery_batch_id is None  # free again
    assert batches.delivered_by_case()[case_id]["appeal"] == 2
    for change in (
        lambda: batches.cancel(batch, staff),
        lambda: batches.mark_sent(batch, staff, utcnow().date(), "hand"),
    ):
        with pytest.raises(batches.BatchError, match="already sent or cancelled"):
            change()


@pytest.mark.parametrize(
    ("sent_on", "method", "note", "problem"),
    [
        (date.today() + timedelta(days=2), "post", "", "in the future"),
        (date.today(), "pigeon", "", "post, email or by hand"),
        (date.today(), "post", "x" * 501, "too long"),
        ("2025-01-01", "post", "", "Enter the date"),
    ],
)
def test_a_send_is_recorded_only_with_a_past_date_a_method_and_a_short_note(
    case_id, staff, sent_on, method, note, problem
):
    appeals(case_id, 1)
    batch = batches.make_batch(case(), "appeal", staff)
    with pytest.raises(batches.BatchError, match=problem):
        batches.mark_sent(batch, staff, sent_on, method, note)
    assert db.session.get(DeliveryBatch, batch.id).state == "prepared"


def test_a_delivered_letter_can_no_longer_be_re_moderated(case_id, staff):
    ids = appeals(case_id, 2)
    batch = batches.make_batch(case(), "appeal", staff)
    moderator = db.session.get(StaffUser, staff.id)
    decided = decisions.decide(moderator, [ids[0]], "approve")
    batches.mark_sent(batch, staff, utcnow().date(), "post")
    reason = RejectReasonFactory()
    outcome = decisions.decide(moderator, ids, "reject", reason.id)
    assert (outcome.decided, outcome.delivered) == ([], ids)
    assert {db.session.get(Letter, i).moderation for i in ids} == {"approved", "pending"}
    with pytest.raises(decisions.QueueError):
        decisions.undo(moderator, decided.events)  # the approval stays
    assert db.session.get(Letter, ids[0]).moderation == "approved"
    message = batches.delivered_message(batch)
    assert message.startswith("Delivered on ") and "this decision can no longer change" in message


def test_the_queue_says_why_a_delivered_letter_cannot_change(app, admin, case_id):
    [letter] = appeals(case_id, 1)
    sent_batch(letter, sent_on=date(2025, 12, 1))
    html = admin.get("/admin/queue?kind=appeal").get_data(as_text=True)
    item = html.split(f'id="letter-{letter}"')[1].split("</li>")[0]
    assert "Delivered on December 1, 2025: this decision can no longer change." in item
    assert "data-approve" not in item
    token = csrf_from(admin, "/admin/queue")
    refused = admin.post(
        "/admin/queue/decisions",
        data={"csrf_token": token, "letter": letter, "decision": "approve", "next": "/admin/queue"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 409
    assert "already delivered" in refused.get_data(as_text=True)
    assert db.session.get(Letter, letter).moderation == "pending"


# What a supporter's "Your letters" says, and what an erasure keeps


def test_your_letters_says_delivered_from_the_batch_not_from_the_case(case_id, staff):
    ids = appeals(case_id, 2)
    batch = batches.make_batch(case(), "appeal", staff, limit=1)
    letter, other = (db.session.get(Letter, i) for i in ids)
    assert (data.standing(letter), data.standing(other)) == ("waiting", "waiting")  # prepared
    batches.mark_sent(batch, staff, utcnow().date(), "hand")
    assert (data.standing(letter), data.fate(letter)) == ("delivered", "delivered")
    case().status = "closed"
    db.session.commit()
    assert (data.standing(other), data.fate(other)) == ("closed", "count")
    flagged = LetterFactory(case_id=case_id, flags="link", flagged=True)
    assert data.standing(flagged) == "held"  # the case closed before anyone read it


# The pages: placeholder address, permissions, CSRF, audit


def test_appeals_are_not_exported_while_the_address_is_a_placeholder(app, admin, gustavo):
    """The demo cases' address is "Postal address to be confirmed by campaign staff.";
    an empty one or any "to be confirmed" is as bad. A booklet goes through the campaign."""
    with app.app_context():
        appeals(gustavo, 1)
        LetterFactory(case_id=gustavo, kind="solidarity", moderation="approved")
    page = admin.get(f"/admin/delivery/{gustavo}").get_data(as_text=True)
    assert "postal address is still to be confirmed" in page
    assert f"/admin/delivery/{gustavo}/appeals.csv" not in page
    refused_csv = admin.get(f"/admin/delivery/{gustavo}/appeals.csv")
    assert refused_csv.status_code == 409
    assert "still to be confirmed" in refused_csv.get_data(as_text=True)
    token = csrf_from(admin, f"/admin/delivery/{gustavo}")
    made = admin.post(
        f"/admin/delivery/{gustavo}/batches", data={"csrf_token": token, "kind": "appeal"}
    )
    assert made.status_code == 409
    assert "still to be confirmed" in made.get_data(as_text=True)
    booklet = admin.post(
        f"/admin/delivery/{gustavo}/batches", data={"csrf_token": token, "kind": "solidarity"}
    )
    assert booklet.status_code == 303
    with app.app_context():
        assert db.session.scalars(sa.select(DeliveryBatch.kind)).all() == ["solidarity"]
        for address in ("", "  ", "Address TO BE CONFIRMED soon"):
            assert batches.address_missing(Case(target_address=address))
        assert not batches.address_missing(Case(target_address=ADDRESS))


def test_a_batch_made_before_the_address_was_reset_gives_no_files(app, admin, case_id):
    appeals(case_id, 1)
    token = csrf_from(admin, f"/admin/delivery/{case_id}")
    path = admin.post(
        f"/admin/delivery/{case_id}/batches", data={"csrf_token": token, "kind": "appeal"}
    ).headers["Location"]
    db.session.get(Case, case_id).target_address = "To be confirmed"
    db.session.commit()
    for file in ("letters.csv", "part-1.pdf"):
        assert admin.get(f"{path}/{file}").status_code == 409


def test_the_pages_make_send_and_cancel_batches_with_audit(app, admin, case_id):
    ids = appeals(case_id, 3)
    LetterFactory(case_id=case_id, flags="link", flagged=True)
    page = admin.get(f"/admin/delivery/{case_id}").get_data(as_text=True)
    assert "3 appeals are ready and in no batch yet." in page
    assert "1 appeal held for a moderator" in page
    token = csrf_from(admin, f"/admin/delivery/{case_id}")
    bad = admin.post(
        f"/admin/delivery/{case_id}/batches",
        data={"csrf_token": token, "kind": "appeal", "limit": "two"},
    )
    assert bad.status_code == 400 and "whole number" in bad.get_data(as_text=True)
    made = admin.post(
        f"/admin/delivery/{case_id}/batches",
        data={"csrf_token": token, "kind": "appeal", "limit": "2"},
    )
    path = made.headers["Location"]
    shown = admin.get(path).get_data(as_text=True)
    assert "Batch 1 made: 2 letters, frozen." in shown
    batch_id = int(path.rsplit("/", 1)[1])
    # A rejection after the batch was made: the page says the files leave it out.
    db.session.get(Letter, ids[0]).moderation = "rejected"
    db.session.commit()
    shown = admin.get(path).get_data(as_text=True)
    assert "1 (1 rejected since the batch was made is left out of its files)" in shown
    future = (utcnow().date() + timedelta(days=3)).isoformat()
    late = admin.post(
        f"{path}/sent", data={"csrf_token": token, "sent_on": future, "method": "post"}
    )
    assert late.status_code == 400 and "cannot be in the future" in late.get_data(as_text=True)
    today = utcnow().date().isoformat()
    sent = admin.post(
        f"{path}/sent",
        data={"csrf_token": token, "sent_on": today, "method": "post", "note": "RR1 <b>"},
    )
    assert sent.status_code == 303
    again = admin.post(f"{path}/cancel", data={"csrf_token": token})
    assert again.status_code == 409
    listing = admin.get(f"/admin/delivery/{case_id}").get_data(as_text=True)
    rows = [cells for attrs, cells in Page(listing).rows if "data-batch" in attrs]
    assert rows[0][:3] == ["Appeals 1", "1", "Sent"] and rows[0][-1] == "RR1 <b>"
    assert "RR1 &lt;b&gt;" in listing
    second = admin.post(
        f"/admin/delivery/{case_id}/batches", data={"csrf_token": token, "kind": "appeal"}
    ).headers["Location"]
    cancelled = admin.post(f"{second}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    assert admin.get(f"{second}/letters.csv").status_code == 404  # it holds nothing
    db.session.expire_all()
    assert [(d["batch"], d["number"], d["kind"]) for d in events("delivery.batch")] == [
        (batch_id, 1, "appeal"),
        (batch_id + 1, 2, "appeal"),
    ]
    [sent_event] = events("delivery.sent")
    assert (sent_event["letters"], sent_event["frozen"], sent_event["method"]) == (1, 2, "post")
    assert events("delivery.cancel")[0]["letters"] == 1  # ids[2]: ids[0] was rejected


def test_a_batch_csv_holds_its_letters_that_still_go(app, admin, case_id):
    ids = appeals(case_id, 2)
    token = csrf_from(admin, f"/admin/delivery/{case_id}")
    path = admin.post(
        f"/admin/delivery/{case_id}/batches", data={"csrf_token": token, "kind": "appeal"}
    ).headers["Location"]
    appeals(case_id, 1)  # too late for this batch
    db.session.get(Letter, ids[1]).moderation = "rejected"
    db.session.commit()
    text = admin.get(f"{path}/letters.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1:]
    assert [int(row[0]) for row in rows] == [ids[0]]


POSTS = ["/batches", "/batches/{batch}/sent", "/batches/{batch}/cancel"]


@pytest.mark.parametrize("path", POSTS)
def test_moderators_cannot_make_send_or_cancel(app, moderator, case_id, staff, path):
    appeals(case_id, 1)
    batch = batches.make_batch(case(), "appeal", staff)
    token = csrf_from(moderator)
    response = moderator.post(
        f"/admin/delivery/{case_id}" + path.format(batch=batch.id),
        data={"csrf_token": token, "kind": "appeal", "sent_on": "2025-01-01", "method": "post"},
    )
    assert response.status_code == 403
    assert db.session.get(DeliveryBatch, batch.id).state == "prepared"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeliveryBatch)) == 1


@pytest.mark.parametrize("path", POSTS)
def test_posts_without_a_csrf_token_are_refused(app, admin, case_id, staff, path):
    appeals(case_id, 1)
    batch = batches.make_batch(case(), "appeal", staff)
    response = admin.post(
        f"/admin/delivery/{case_id}" + path.format(batch=batch.id),
        data={"kind": "appeal", "sent_on": "2025-01-01", "method": "post"},
    )
    assert response.status_code == 400
    assert db.session.get(DeliveryBatch, batch.id).state == "prepared"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeliveryBatch)) == 1


def test_an_empty_limit_takes_at_most_delivery_batch_max(app, admin, case_id):
    """Making a batch writes each of its letters: a default cap keeps it within a request."""
    app.config["DELIVERY_BATCH_MAX"] = 2
    ids = appeals(case_id, 3)
    page = admin.get(f"/admin/delivery/{case_id}").get_data(as_text=True)
    assert "Left empty: up to 2 letters, the oldest first." in page
    token = csrf_from(admin, f"/admin/delivery/{case_id}")
    for expected in (ids[:2], ids[2:]):
        admin.post(
            f"/admin/delivery/{case_id}/batches",
            data={"csrf_token": token, "kind": "appeal", "limit": ""},
        )
        batch = db.session.scalars(
            sa.select(DeliveryBatch).order_by(DeliveryBatch.id.desc())
        ).first()
        assert in_batch(batch) == expected
