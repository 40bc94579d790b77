"""Delivery pages (admins): per case what is ready, a streamed CSV without email addresses,
appeal PDFs in batches that never overlap, the solidarity booklet, every download audited."""

import csv
import io

import pytest
import sqlalchemy as sa
from factories import LetterFactory
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


def test_overview_shows_per_case_what_is_ready(app, admin, cases, gustavo):
    with app.app_context():
        LetterFactory(case_id=gustavo)
        LetterFactory(case_id=gustavo, moderation="approved")
        LetterFactory(case_id=gustavo, moderation="rejected")
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
    assert "1 message approved. 2 more wait for a moderator." in section
    assert f'href="/admin/delivery/{gustavo}/appeals.csv"' in section
    assert f'href="/admin/delivery/{gustavo}"' in section
    assert f'href="/admin/delivery/{gustavo}#booklet-title"' in section  # its volumes
    quiet = html.split('data-case="germain-rukuki"')[1].split("</li>")[0]
    assert "0 appeals ready." in quiet and "0 messages approved." in quiet
    assert "href=" not in quiet  # nothing to download


def test_csv_is_streamed_as_an_attachment_with_the_deliverable_appeals_only(
    app, admin, cases, gustavo
):
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


def test_pdf_batches_split_the_appeals_into_files_that_never_overlap(app, admin, cases, gustavo):
    app.config["DELIVERY_PDF_BATCH"] = 2
    with app.app_context():
        wanted = []
        for n in range(5):
            wanted.append(LetterFactory(case_id=gustavo, body=f"Appeal number {n}.").id)
            LetterFactory(case_id=gustavo, moderation="rejected", body=f"Rejected {n}.")
            LetterFactory(case_id=cases["germain-rukuki"], body=f"Other case {n}.")
    html = admin.get(f"/admin/delivery/{gustavo}").get_data(as_text=True)
    batches = [
        (int(attrs["data-after"]), int(attrs["data-last"]), cells)
        for attrs, cells in Page(html).rows
        if "data-after" in attrs
    ]
    assert [(after, last) for after, last, _cells in batches] == [
        (0, wanted[1]),
        (wanted[1], wanted[3]),
        (wanted[3], wanted[4]),
    ]
    assert [cells for _a, _l, cells in batches] == [
        ["PDF 1", f"1 to {wanted[1]}", "2"],
        ["PDF 2", f"{wanted[1] + 1} to {wanted[3]}", "2"],
        ["PDF 3", f"{wanted[3] + 1} to {wanted[4]}", "1"],
    ]
    assert "5 appeals ready, in 3 files of up to 2 letters" in html

    printed = []
    for number, (after, last, _cells) in enumerate(batches, 1):
        link = f"/admin/delivery/{gustavo}/appeals.pdf?after={after}&amp;last={last}"
        assert link in html
        response = admin.get(link.replace("&amp;", "&"))
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="gustavo-gatica-appeals-{after + 1}-{last}.pdf"'
        )
        assert response.headers["Cache-Control"] == "no-store"
        pages = pdf_pages(response)
        assert len(pages) == (2 if number < 3 else 1)
        printed += pages
    for n, text in enumerate(printed):
        assert f"Appeal number {n}." in text
        assert "Rejected" not in text and "Other case" not in text
        assert "Chile's National Prosecutor" in text
    assert len(printed) == 5
    assert [details for _e, _t, _i, details in audit_events(app, "delivery.pdf")] == [
        {"after_id": after, "last_id": last, "letters": 1 if n == 2 else 2}
        for n, (after, last, _cells) in enumerate(batches)
    ]


def test_a_batch_holds_letters_confirmed_late_in_its_range(app, admin, gustavo):
    app.config["DELIVERY_PDF_BATCH"] = 2
    with app.app_context():
        first = LetterFactory(case_id=gustavo, body="First.").id
        late = LetterFactory(case_id=gustavo, status="unconfirmed", body="Confirmed late.").id
        last = LetterFactory(case_id=gustavo, body="Second.").id
    response = admin.get(f"/admin/delivery/{gustavo}/appeals.pdf?after=0&last={last}")
    assert len(pdf_pages(response)) == 2
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE letters SET status = 'confirmed' WHERE id = :id"), {"id": late}
        )
        db.session.commit()
    pages = pdf_pages(admin.get(f"/admin/delivery/{gustavo}/appeals.pdf?after=0&last={last}"))
    assert ["First." in pages[0], "Confirmed late." in pages[1], "Second." in pages[2]] == [
        True
    ] * 3
    assert first < late < last


@pytest.mark.parametrize(
    "query", ["", "?after=0", "?last=9", "?after=5&last=5", "?after=-1&last=3", "?after=a&last=2"]
)
def test_pdf_needs_a_valid_range(admin, gustavo, query):
    assert admin.get(f"/admin/delivery/{gustavo}/appeals.pdf{query}").status_code == 400


def test_pdf_range_with_far_more_than_a_batch_is_refused(app, admin, gustavo):
    """It would run past the request timeout with a real batch size."""
    app.config["DELIVERY_PDF_BATCH"] = 2
    with app.app_context():
        last = [LetterFactory(case_id=gustavo).id for _ in range(4)][-1]
    response = admin.get(f"/admin/delivery/{gustavo}/appeals.pdf?after=0&last={last}")
    assert response.status_code == 400
    assert audit_events(app, "delivery.pdf") == []


def volumes_on_page(admin, case_id):
    """(after, last, cells) of each booklet volume the case's delivery page lists."""
    html = admin.get(f"/admin/delivery/{case_id}").get_data(as_text=True)
    table = html[html.index('id="volume-table"') :]
    return [
        (int(attrs["data-after"]), int(attrs["data-last"]), cells)
        for attrs, cells in Page(table).rows
        if "data-after" in attrs
    ]


def test_booklet_holds_only_approved_solidarity_messages(app, admin, cases, gustavo):
    with app.app_context():
        # The booklet is in the person's language (test_delivery.py): English here.
        db.session.get(Case, gustavo).person_language = "en"
        db.session.commit()
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
    [(after, last, cells)] = volumes_on_page(admin, gustavo)
    assert (after, last, cells) == (0, approved, ["Booklet 1 (PDF)", f"1 to {approved}", "1"])
    response = admin.get(f"/admin/delivery/{gustavo}/solidarity.pdf?after=0&last={last}")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="gustavo-gatica-solidarity-1-{last}.pdf"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    text = "\n".join(pdf_pages(response))
    assert "Stay strong." in text and "1 message from 1 country" in text
    for absent in ("Still pending.", "Rejected one.", "Nope.", "An appeal.", "Other.", "@"):
        assert absent not in text
    assert audit_events(app, "delivery.booklet") == [
        ("admin@example.org", "cases", gustavo, {"after_id": 0, "last_id": last, "letters": 1})
    ]


def test_a_big_booklet_comes_in_volumes_each_made_within_a_request(app, admin, gustavo):
    """About 400 messages a second: a popular case's booklet would outlast the timeout."""
    app.config["DELIVERY_BOOKLET_BATCH"] = 2
    with app.app_context():
        ids = [
            LetterFactory(
                case_id=gustavo, kind="solidarity", moderation="approved", body=f"Message {n}."
            ).id
            for n in range(3)
        ]
    volumes = volumes_on_page(admin, gustavo)
    assert [(after, last) for after, last, _cells in volumes] == [(0, ids[1]), (ids[1], ids[2])]
    texts = [
        "\n".join(
            pdf_pages(admin.get(f"/admin/delivery/{gustavo}/solidarity.pdf?after={a}&last={b}"))
        )
        for a, b, _cells in volumes
    ]
    assert ["Message 0." in texts[0], "Message 1." in texts[0], "Message 2." in texts[1]] == [
        True
    ] * 3
    assert "Message 2." not in texts[0] and "Message 0." not in texts[1]
    app.config["DELIVERY_BOOKLET_BATCH"] = 1  # three messages in one range: too many
    refused = admin.get(f"/admin/delivery/{gustavo}/solidarity.pdf?after=0&last={ids[2]}")
    assert refused.status_code == 400
    assert admin.get(f"/admin/delivery/{gustavo}/solidarity.pdf").status_code == 400


def test_file_names_are_safe_whatever_the_slug(app, admin, gustavo):
    with app.app_context():
        db.session.get(Case, gustavo).slug = 'Évil"; x=1/../\r\nSet-Cookie'
        db.session.commit()
    response = admin.get(f"/admin/delivery/{gustavo}/appeals.csv")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="vil-x-1-set-cookie-appeals.csv"'
    )


def test_unknown_case_is_not_found(admin, cases):
    for path in (
        "",
        "/appeals.csv",
        "/appeals.pdf?after=0&last=2",
        "/solidarity.pdf?after=0&last=2",
    ):
        assert admin.get(f"/admin/delivery/999{path}").status_code == 404


ROUTES = [
    "/admin/delivery",
    "/admin/delivery/{case}",
    "/admin/delivery/{case}/appeals.csv",
    "/admin/delivery/{case}/appeals.pdf?after=0&last=5",
    "/admin/delivery/{case}/solidarity.pdf?after=0&last=5",
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


def test_case_names_are_shown_as_text(app, admin, gustavo):
    with app.app_context():
        case = db.session.get(Case, gustavo)
        case.name = f"Gustavo {XSS}"
        case.target_title = f"Prosecutor {XSS}"
        db.session.commit()
        LetterFactory(case_id=gustavo)
    for path in ("/admin/delivery", f"/admin/delivery/{gustavo}"):
        html = admin.get(path).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "Gustavo &lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "Prosecutor &lt;script&gt;" in html
