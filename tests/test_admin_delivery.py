"""Delivery pages (admins): per case what is ready, a streamed CSV without email addresses,
a batch's appeal PDFs in parts that never overlap, the solidarity booklet in volumes, every
download audited. Making, sending and cancelling batches: test_delivery_batches.py."""

import csv
import io

import pytest
import sqlalchemy as sa
from factories import LetterFactory
from helpers import csrf_from
from pypdf import PdfReader
from staff_pages import Page

from extensions import db
from models import AuditEvent, Case

XSS = "<script>alert(1)</script>"


def pdf_pages(response):
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages]


def audit_events(app, action):
    with app.app_context():
        return [
            (event.actor_email, event.target_type, event.target_id, event.details)
            for event in db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        ]


ADDRESS = "Fiscalía Nacional\nCatedral 1437\nSantiago, Chile"


@pytest.fixture
def addressed(app, gustavo):
    """Gustavo's case with the official's postal address confirmed (the demo's is a
    placeholder, which refuses appeal exports) and its booklet in English."""
    with app.app_context():
        case = db.session.get(Case, gustavo)
        case.target_address = ADDRESS
        case.person_language = "en"
        db.session.commit()
    return gustavo


def make(admin, case_id, kind="appeal", limit=""):
    """Make a batch through the page; returns the batch page's path."""
    token = csrf_from(admin, f"/admin/delivery/{case_id}")
    response = admin.post(
        f"/admin/delivery/{case_id}/batches",
        data={"csrf_token": token, "kind": kind, "limit": limit},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def parts_on_page(admin, path):
    """(part link, cells) of each PDF a batch's page lists (letter numbers written as the
    page writes them, 1,234: on SQLite ids pass 10,000 after the suite's larger tests)."""
    html = admin.get(path).get_data(as_text=True)
    return [(attrs["data-part"], cells) for attrs, cells in Page(html).rows if "data-part" in attrs]


def test_overview_shows_per_case_what_is_ready(app, admin, cases, gustavo):
    with app.app_context():
        LetterFactory(case_id=gustavo)
        LetterFactory(case_id=gustavo, moderation="approved")
        LetterFactory(case_id=gustavo, moderation="rejected")
        LetterFactory(case_id=gustavo, flags="link")  # held for a moderator
        LetterFactory(case_id=gustavo, status="unconfirmed")
        LetterFactory(case_id=gustavo, kind="solidarity", moderation="approved")
        LetterFactory(case_id=gustavo, kind="solidarity")  # waits for a moderator
        LetterFactory(case_id=gustavo, kind="solidarity")
        LetterFactory(case_id=gustavo, kind="solidarity", moderation="rejected")
    response = admin.get("/admin/delivery")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "per case and per target alike" in html
    section = html.split('data-case="gustavo-gatica"')[1].split("</li>\n  <li")[0]
    assert "Appeals go to: Chile&#39;s National Prosecutor" in section
    assert '<p data-count="appeals">2 appeals ready.</p>' in section
    assert '<p data-count="held">1 appeal held for a moderator.</p>' in section
    assert "1 message approved. 2 more wait for a moderator." in section
    assert f'href="/admin/delivery/{gustavo}"' in section
    quiet = html.split('data-case="germain-rukuki"')[1].split("</li>")[0]
    assert "0 appeals ready." in quiet and "0 messages approved." in quiet
    assert "held" not in quiet


def test_csv_of_every_appeal_is_streamed_with_the_deliverable_appeals_only(
    app, admin, cases, addressed
):
    gustavo = addressed
    with app.app_context():
        wanted = [
            LetterFactory(
                case_id=gustavo, name="Ana Pérez", email="Ana.Private@example.net", country="CL"
            ).id,
            LetterFactory(case_id=gustavo, moderation="approved", body="=HYPERLINK(1)").id,
        ]
        LetterFactory(case_id=gustavo, moderation="rejected")
        LetterFactory(case_id=gustavo, status="unconfirmed")
        LetterFactory(case_id=gustavo, kind="solidarity", moderation="approved")
        LetterFactory(case_id=cases["germain-rukuki"])
    response = admin.get(f"/admin/delivery/{gustavo}/appeals.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="gustavo-gatica-appeals.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    header, *rows = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    assert header[:3] == ["letter_id", "confirmed_at_utc", "name"]
    assert [int(row[0]) for row in rows] == wanted
    assert rows[0][2] == "Ana Pérez" and rows[0][5] == "Chile"
    assert rows[1][-1] == "'=HYPERLINK(1)"  # a formula stays text in a spreadsheet
    assert "@" not in text  # no email address, ever
    assert audit_events(app, "delivery.csv") == [("admin@example.org", "cases", gustavo, {})]


def test_a_batch_prints_in_parts_that_never_overlap(app, admin, cases, addressed):
    gustavo = addressed
    app.config["DELIVERY_PDF_BATCH"] = 2
    with app.app_context():
        wanted = []
        for n in range(5):
            wanted.append(LetterFactory(case_id=gustavo, body=f"Appeal number {n}.").id)
            LetterFactory(case_id=gustavo, moderation="rejected", body=f"Rejected {n}.")
            LetterFactory(case_id=cases["germain-rukuki"], body=f"Other case {n}.")
    path = make(admin, gustavo)
    parts = parts_on_page(admin, path)
    assert parts == [
        ("1", ["Part 1 of 3", f"{wanted[0]:,} to {wanted[1]:,}", "2"]),
        ("2", ["Part 2 of 3", f"{wanted[1] + 1:,} to {wanted[3]:,}", "2"]),
        ("3", ["Part 3 of 3", f"{wanted[3] + 1:,} to {wanted[4]:,}", "1"]),
    ]
    batch_id = int(path.rsplit("/", 1)[1])
    printed = []
    for number in (1, 2, 3):
        response = admin.get(f"{path}/part-{number}.pdf")
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="gustavo-gatica-appeal-batch-1-part-{number}.pdf"'
        )
        assert response.headers["Cache-Control"] == "no-store"
        pages = pdf_pages(response)
        assert len(pages) == (2 if number < 3 else 1)
        printed += pages
    for n, text in enumerate(printed):
        assert f"Appeal number {n}." in text
        assert "Rejected" not in text and "Other case" not in text
        assert "Chile's National Prosecutor" in text and "Catedral 1437" in text
    assert len(printed) == 5
    assert [details for _e, _t, _i, details in audit_events(app, "delivery.pdf")] == [
        {"batch": batch_id, "kind": "appeal", "number": 1, "part": n, "letters": 1 if n == 3 else 2}
        for n in (1, 2, 3)
    ]
    assert admin.get(f"{path}/part-4.pdf").status_code == 404
    assert admin.get(f"{path}/part-0.pdf").status_code == 404
    csv_text = admin.get(f"{path}/letters.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(csv_text.removeprefix("\ufeff"))))[1:]
    assert [int(row[0]) for row in rows] == wanted


def test_booklet_batch_holds_only_approved_solidarity_messages(app, admin, cases, addressed):
    gustavo = addressed
    with app.app_context():
        approved = LetterFactory(
            case_id=gustavo, kind="solidarity", moderation="approved", body="Stay strong."
        ).id
        LetterFactory(case_id=gustavo, kind="solidarity", body="Still pending.")
        LetterFactory(
            case_id=gustavo, kind="solidarity", moderation="rejected", body="Rejected one."
        )
        LetterFactory(
            case_id=gustavo,
            kind="solidarity",
            moderation="approved",
            status="unconfirmed",
            body="Nope.",
        )
        LetterFactory(case_id=gustavo, moderation="approved", body="An appeal.")
        LetterFactory(
            case_id=cases["germain-rukuki"], kind="solidarity", moderation="approved", body="Other."
        )
    path = make(admin, gustavo, kind="solidarity")
    assert parts_on_page(admin, path) == [
        ("1", ["Part 1 of 1", f"{approved:,} to {approved:,}", "1"])
    ]
    response = admin.get(f"{path}/part-1.pdf")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="gustavo-gatica-solidarity-batch-1-part-1.pdf"'
    )
    text = "\n".join(pdf_pages(response))
    assert "Stay strong." in text and "1 message from 1 country" in text
    for absent in ("Still pending.", "Rejected one.", "Nope.", "An appeal.", "Other.", "@"):
        assert absent not in text
    [(_email, _type, _id, details)] = audit_events(app, "delivery.booklet")
    assert details["part"] == 1 and details["letters"] == 1 and details["kind"] == "solidarity"


def test_a_big_booklet_batch_comes_in_volumes_each_made_within_a_request(app, admin, addressed):
    """About 400 messages a second: a popular case's booklet would outlast the timeout."""
    gustavo = addressed
    app.config["DELIVERY_BOOKLET_BATCH"] = 2
    with app.app_context():
        for n in range(3):
            LetterFactory(
                case_id=gustavo, kind="solidarity", moderation="approved", body=f"Message {n}."
            )
    path = make(admin, gustavo, kind="solidarity")
    assert len(parts_on_page(admin, path)) == 2
    texts = ["\n".join(pdf_pages(admin.get(f"{path}/part-{n}.pdf"))) for n in (1, 2)]
    assert ["Message 0." in texts[0], "Message 1." in texts[0], "Message 2." in texts[1]] == [
        True
    ] * 3
    assert "Message 2." not in texts[0] and "Message 0." not in texts[1]


def test_file_names_are_safe_whatever_the_slug(app, admin, addressed):
    gustavo = addressed
    with app.app_context():
        db.session.get(Case, gustavo).slug = 'Évil"; x=1/../\r\nSet-Cookie'
        db.session.commit()
    response = admin.get(f"/admin/delivery/{gustavo}/appeals.csv")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="vil-x-1-set-cookie-appeals.csv"'
    )


def test_unknown_case_or_batch_is_not_found(app, admin, cases, addressed):
    for path in (
        "",
        "/appeals.csv",
        "/batches/1",
        "/batches/1/letters.csv",
        "/batches/1/part-1.pdf",
    ):
        assert admin.get(f"/admin/delivery/999{path}").status_code == 404
    with app.app_context():
        LetterFactory(case_id=addressed)
    path = make(admin, addressed)
    other = cases["germain-rukuki"]
    assert (
        admin.get(path.replace(f"/delivery/{addressed}/", f"/delivery/{other}/")).status_code == 404
    )


ROUTES = [
    "/admin/delivery",
    "/admin/delivery/{case}",
    "/admin/delivery/{case}/appeals.csv",
    "/admin/delivery/{case}/batches/1",
    "/admin/delivery/{case}/batches/1/letters.csv",
    "/admin/delivery/{case}/batches/1/part-1.pdf",
]


@pytest.mark.parametrize("path", ROUTES)
def test_moderators_are_refused(app, moderator, gustavo, path):
    with app.app_context():
        LetterFactory(case_id=gustavo)
    assert moderator.get(path.format(case=gustavo)).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1
        # (the moderator's sign-in, nothing else)


@pytest.mark.parametrize("path", ROUTES)
def test_signed_out_visitors_are_sent_to_sign_in(client, gustavo, path):
    response = client.get(path.format(case=gustavo))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/sign-in?next=/admin/delivery")


def test_case_names_are_shown_as_text(app, admin, addressed):
    gustavo = addressed
    with app.app_context():
        case = db.session.get(Case, gustavo)
        case.name = f"Gustavo {XSS}"
        case.target_title = f"Prosecutor {XSS}"
        db.session.commit()
        LetterFactory(case_id=gustavo)
    batch = make(admin, gustavo)
    for path in ("/admin/delivery", f"/admin/delivery/{gustavo}", batch):
        html = admin.get(path).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "Gustavo &lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "Prosecutor &lt;script&gt;" in html
