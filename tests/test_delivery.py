"""Delivery: only deliverable letters go out; the CSV is safe to open in a spreadsheet and
never holds an email address; the PDFs print every script letters arrive in, not boxes."""

import csv
import io
import logging
from datetime import datetime

import pytest
import sqlalchemy as sa
from factories import LetterFactory, PartnerFactory
from flask import Response, stream_with_context
from flask_babel import get_locale
from pypdf import PdfReader

import delivery
from extensions import db
from models import Case, Letter

ARABIC = "الحرية لنسيمة السادة، نحن معك"
ARABIC_WORDS = ["الحرية", "لنسيمة", "السادة", "نحن", "معك"]
TURKISH = "Özgürlük için yazıyoruz: ğ ş ı İ Ç ö"
LATIN = "Café, niño, über: ¡libérenlo ya!"
EMOJI = ["❤️", "👍🏽", "🕊", "✊", "🌍", "🏳️‍🌈"]
XSS = "<script>alert(1)</script>"
# When the letters in a test were confirmed: the CSV and the PDFs print it.
CONFIRMED = datetime(2025, 11, 24, 9, 30)
FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]


@pytest.fixture
def case_id(app, cases):
    """Gustavo Gatica's case, with an app context for the test; his booklet in English
    (the booklet in his own language, and others, is tested on its own)."""
    with app.app_context():
        db.session.get(Case, cases["gustavo-gatica"]).person_language = "en"
        db.session.commit()
        yield cases["gustavo-gatica"]


def csv_rows(case_id):
    text = "".join(delivery.appeals_csv(case_id))
    assert text.startswith("\ufeff")  # so spreadsheet programs read UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def pdf_pages(data):
    """The text of each page, as a PDF reader extracts it."""
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def emails_stored():
    return db.session.scalars(sa.select(Letter.email)).all()


def missing_glyphs(caplog):
    """Reports of characters no bundled font draws: fpdf2's (it logs, it does not warn, and
    only for unshaped text) and delivery's own check, which also covers shaped text."""
    reports = ("missing the following glyphs", "no bundled font draws")
    return [r.getMessage() for r in caplog.records if any(s in r.getMessage() for s in reports)]


@pytest.fixture
def glyphs(caplog):
    caplog.set_level(logging.WARNING, logger="fpdf")
    caplog.set_level(logging.WARNING, logger="delivery")
    return caplog


def test_only_confirmed_unrejected_appeals_are_exported_in_id_order(case_id, cases):
    expected = [
        LetterFactory(case_id=case_id).id,
        LetterFactory(case_id=case_id, moderation="approved").id,
    ]
    LetterFactory(case_id=case_id, moderation="rejected")
    LetterFactory(case_id=case_id, status="unconfirmed")
    LetterFactory(case_id=case_id, status="repeat")
    LetterFactory(case_id=case_id, kind="solidarity", moderation="approved")
    LetterFactory(case_id=cases["germain-rukuki"])
    expected.append(LetterFactory(case_id=case_id).id)

    header, *rows = csv_rows(case_id)
    assert header == delivery.CSV_HEADER
    assert [int(row[0]) for row in rows] == expected


def test_only_confirmed_approved_solidarity_messages_are_deliverable(case_id, cases):
    approved = LetterFactory(case_id=case_id, kind="solidarity", moderation="approved").id
    LetterFactory(case_id=case_id, kind="solidarity")  # pending
    LetterFactory(case_id=case_id, kind="solidarity", moderation="rejected")
    LetterFactory(case_id=case_id, kind="solidarity", status="unconfirmed", moderation="approved")
    LetterFactory(case_id=case_id, moderation="approved")  # an appeal
    ids = db.session.scalars(
        sa.select(Letter.id).where(delivery.deliverable_solidarity()).order_by(Letter.id)
    ).all()
    assert ids == [approved]


def test_csv_row_holds_the_signer_and_letter_but_no_email(case_id):
    letter_id = LetterFactory(
        case_id=case_id,
        confirmed_at=CONFIRMED,
        name="Ayşe Yılmaz",
        email="Ayse.Private@example.net",
        city="İzmir",
        country="TR",
        language="tr",
        body="Sayın Savcı,\r\nGustavo için adalet istiyorum.",
    ).id
    _header, row = csv_rows(case_id)
    assert row == [
        str(letter_id),
        "2025-11-24 09:30:00",
        "Ayşe Yılmaz",
        "İzmir",
        "TR",
        "Türkiye",
        "tr",
        "",
        "Sayın Savcı,\r\nGustavo için adalet istiyorum.",
    ]


def test_csv_names_the_partner_each_letter_came_through(case_id):
    partner = PartnerFactory(slug="unison-leeds")
    ours = LetterFactory(case_id=case_id).id
    theirs = LetterFactory(case_id=case_id, partner_id=partner.id).id
    rows = {int(row[0]): row[7] for row in csv_rows(case_id)[1:]}
    assert rows == {ours: "", theirs: "unison-leeds"}


def test_csv_never_contains_an_email_address(case_id):
    for n in range(5):
        LetterFactory(case_id=case_id, email=f"Private.Person{n}@Example.org")
    text = "".join(delivery.appeals_csv(case_id))
    assert "@" not in text
    for email in emails_stored():
        assert email.lower() not in text.lower()


@pytest.mark.parametrize("payload", FORMULAS)
def test_csv_cells_that_look_like_formulas_are_neutralised(case_id, payload):
    # Flags mark such text; a moderator approved it, so it goes out.
    LetterFactory(case_id=case_id, name=payload, city=payload, body=payload, moderation="approved")
    _header, row = csv_rows(case_id)
    assert row[2] == row[3] == row[8] == "'" + payload


def test_safe_cell_quotes_formula_starts_and_leaves_other_text_alone():
    for payload in FORMULAS:
        assert delivery.safe_cell(payload) == "'" + payload
    assert delivery.safe_cell("\n=1+1") == "'\n=1+1"
    assert delivery.safe_cell("Ada Lovelace") == "Ada Lovelace"
    assert delivery.safe_cell("a=b, c+d, e-mail") == "a=b, c+d, e-mail"
    assert delivery.safe_cell("") == ""
    assert delivery.safe_cell(None) == ""
    assert delivery.safe_cell(42) == "42"


def test_csv_keeps_every_script_and_markup_as_plain_text(case_id):
    body = f"{ARABIC}\n{TURKISH}\n{LATIN} {' '.join(EMOJI)}\n{XSS}"
    LetterFactory(case_id=case_id, name=XSS, city="Şanlıurfa", body=body)
    _header, row = csv_rows(case_id)
    assert row[2] == XSS
    assert row[3] == "Şanlıurfa"
    assert row[8] == body


def test_csv_is_sent_in_chunks_that_add_up_to_the_whole(case_id, monkeypatch):
    monkeypatch.setattr(delivery.export, "BATCH", 2)
    ids = [LetterFactory(case_id=case_id).id for _ in range(5)]
    chunks = list(delivery.appeals_csv(case_id))
    assert len(chunks) == 3  # rows 1-2 with the header, rows 3-4, row 5
    rows = list(csv.reader(io.StringIO("".join(chunks)[1:])))
    assert [int(row[0]) for row in rows[1:]] == ids


def test_csv_streams_as_a_flask_response(app, case_id):
    """What the admin view will do: the rows are read while the response is sent."""
    app.add_url_rule(
        "/export/<int:case_id>",
        "export",
        lambda case_id: Response(
            stream_with_context(delivery.appeals_csv(case_id)), mimetype="text/csv"
        ),
    )
    LetterFactory(case_id=case_id, name="Ayşe", body="الحرية 🕊")
    response = app.test_client().get(f"/export/{case_id}")
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[1][2] == "Ayşe"
    assert rows[1][8] == "الحرية 🕊"


def test_a_download_stopped_halfway_gives_its_connection_back(case_id, monkeypatch):
    monkeypatch.setattr(delivery.export, "BATCH", 2)
    for _ in range(6):
        LetterFactory(case_id=case_id)
    in_use = db.engine.pool.checkedout()
    chunks = delivery.appeals_csv(case_id)
    next(chunks)
    assert db.engine.pool.checkedout() == in_use + 1  # the streaming query's own connection
    chunks.close()  # what the server does when the client goes away
    assert db.engine.pool.checkedout() == in_use


def test_csv_of_a_case_with_no_deliverable_appeal_is_the_header_alone(case_id):
    LetterFactory(case_id=case_id, moderation="rejected")
    assert csv_rows(case_id) == [delivery.CSV_HEADER]


def test_appeals_pdf_has_one_page_per_appeal_with_official_date_and_signer(case_id, glyphs):
    for n in range(3):
        LetterFactory(
            case_id=case_id,
            confirmed_at=CONFIRMED,
            name=f"Signer {n}",
            city="Valparaíso",
            country="CL",
        )
    LetterFactory(case_id=case_id, moderation="rejected", name="Rejected Writer")
    LetterFactory(case_id=case_id, status="unconfirmed", name="Unconfirmed Writer")

    data = delivery.appeals_pdf(case_id)
    pages = pdf_pages(data)
    assert len(pages) == 3
    width, height = PdfReader(io.BytesIO(data)).pages[0].mediabox.upper_right
    assert (round(float(width)), round(float(height))) == (595, 842)  # A4 in points
    for n, text in enumerate(pages):
        assert text.startswith("Chile's National Prosecutor\nPostal address to be confirmed")
        assert "November 24, 2025" in text
        assert "Please release him now." in text
        assert text.rstrip().endswith(f"Signer {n}\nValparaíso, Chile")
        assert "@" not in text
    assert missing_glyphs(glyphs) == []


def test_appeals_pdf_dates_a_letter_in_its_language(case_id):
    LetterFactory(
        case_id=case_id,
        confirmed_at=CONFIRMED,
        language="es",
        body="Estimado señor Fiscal Nacional:",
    )
    (text,) = pdf_pages(delivery.appeals_pdf(case_id))
    assert "24 de noviembre de 2025" in text


def test_appeals_pdf_prints_in_batches(case_id):
    ids = [LetterFactory(case_id=case_id, name=f"Signer {n}").id for n in range(5)]
    first = pdf_pages(delivery.appeals_pdf(case_id, limit=2))
    rest = pdf_pages(delivery.appeals_pdf(case_id, after_id=ids[1], limit=10))
    assert [page.rstrip().split("\n")[-2] for page in first + rest] == [
        f"Signer {n}" for n in range(5)
    ]


def test_appeals_pdf_without_appeals_says_so(case_id):
    (text,) = pdf_pages(delivery.appeals_pdf(case_id))
    assert "No appeals for Gustavo Gatica are ready for delivery." in text


def test_a_long_appeal_runs_on_and_the_next_starts_on_a_new_page(case_id):
    LetterFactory(
        case_id=case_id, body="Please release him. " * 240, name="Long Writer"
    )  # 4,800 chars
    LetterFactory(case_id=case_id, name="Short Writer")
    pages = pdf_pages(delivery.appeals_pdf(case_id))
    assert len(pages) == 3
    assert "Long Writer" in pages[1]
    assert pages[2].startswith("Chile's National Prosecutor")


def test_pdfs_never_show_an_email_address(case_id):
    for n in range(3):
        LetterFactory(case_id=case_id, email=f"Private.Person{n}@Example.org")
        LetterFactory(
            case_id=case_id,
            kind="solidarity",
            moderation="approved",
            email=f"Friend{n}@example.org",
        )
    text = "".join(pdf_pages(delivery.appeals_pdf(case_id)))
    text += "".join(pdf_pages(delivery.solidarity_pdf(case_id)))
    assert "@" not in text
    for email in emails_stored():
        assert email.lower() not in text.lower()


def test_solidarity_booklet_has_a_cover_and_only_approved_messages(case_id, glyphs):
    LetterFactory(
        case_id=case_id, kind="solidarity", moderation="approved", body="Stay strong, Gustavo."
    )
    LetterFactory(
        case_id=case_id,
        kind="solidarity",
        moderation="approved",
        body="Estamos contigo.",
        name="María",
        country="CL",
    )
    LetterFactory(case_id=case_id, kind="solidarity", body="Pending message.")
    LetterFactory(
        case_id=case_id, kind="solidarity", moderation="rejected", body="Rejected message."
    )
    LetterFactory(
        case_id=case_id,
        kind="solidarity",
        status="unconfirmed",
        moderation="approved",
        body="Unconfirmed message.",
    )
    LetterFactory(case_id=case_id, moderation="approved", body="An appeal, not a message.")

    cover, *messages = pdf_pages(delivery.solidarity_pdf(case_id))
    assert "Gustavo Gatica" in cover
    assert "2 messages from 2 countries" in cover
    text = "\n".join(messages)
    assert len(messages) == 1  # short messages share a page
    assert "Stay strong, Gustavo.\n— Ada Lovelace, United Kingdom" in text
    assert "Estamos contigo.\n— María, Chile" in text
    for absent in ("Pending", "Rejected", "Unconfirmed", "appeal", "@"):
        assert absent not in text
    assert missing_glyphs(glyphs) == []


def test_solidarity_booklet_without_messages_is_its_cover(case_id):
    LetterFactory(case_id=case_id, kind="solidarity", body="Not approved yet.")
    (cover,) = pdf_pages(delivery.solidarity_pdf(case_id))
    assert "0 messages from 0 countries" in cover


def test_messages_flow_several_per_page_and_none_is_split(case_id):
    for n in range(12):
        body = f"Message {n} begins. " + "We think of you every day. " * 30 + f"Message {n} ends."
        LetterFactory(case_id=case_id, kind="solidarity", moderation="approved", body=body)
    _cover, *pages = pdf_pages(delivery.solidarity_pdf(case_id))
    pages = [" ".join(page.split()) for page in pages]
    assert 3 <= len(pages) < 12
    for n in range(12):
        (holding,) = [page for page in pages if f"Message {n} begins." in page]
        assert f"Message {n} ends." in holding


def test_pdfs_draw_arabic_turkish_accents_and_emoji_not_boxes(case_id, glyphs):
    """The key font test: every character comes back out of the PDF, and fpdf2 reports no
    character that the bundled fonts lack (which would print as a box)."""
    body = f"{ARABIC}\n{TURKISH}\n{LATIN}\nHope {' '.join(EMOJI)} ★ ✓\n{XSS}"
    LetterFactory(case_id=case_id, body=body, name="Ayşe Yılmaz", city="İstanbul", country="TR")
    LetterFactory(
        case_id=case_id, kind="solidarity", moderation="approved", body=body, name="نسيمة"
    )
    LetterFactory(case_id=case_id, body=ARABIC, name="فاطمة", country="SA", language="ar")

    appeal, arabic_appeal = pdf_pages(delivery.appeals_pdf(case_id))
    _cover, message = pdf_pages(delivery.solidarity_pdf(case_id))
    for text in (appeal, message):
        for word in ARABIC_WORDS + TURKISH.split() + LATIN.split() + EMOJI + [XSS, "★", "✓"]:
            assert word in text
    assert "Ayşe Yılmaz\nİstanbul, Türkiye" in appeal
    assert "نسيمة" in message
    assert all(word in arabic_appeal for word in [*ARABIC_WORDS, "فاطمة", "Saudi Arabia"])
    assert missing_glyphs(glyphs) == []


def test_latin_after_a_page_that_starts_in_arabic_still_shows(case_id, glyphs):
    """A page whose first line is all Arabic (or emoji) once hid every later Latin line."""
    LetterFactory(
        case_id=case_id, body=(ARABIC + " ") * 150 + "\nYours sincerely,", name="Ada Lovelace"
    )
    LetterFactory(case_id=case_id, kind="solidarity", moderation="approved", body="🕊\nStay strong.")
    *_first, last = pdf_pages(delivery.appeals_pdf(case_id))
    assert "Yours sincerely,\nAda Lovelace\nLondon, United Kingdom" in last
    _cover, message = pdf_pages(delivery.solidarity_pdf(case_id))
    assert "🕊\nStay strong.\n— Ada Lovelace, United Kingdom" in message
    assert missing_glyphs(glyphs) == []


@pytest.mark.parametrize("text", ["自由", "∞", "Ազատություն"])
def test_a_character_no_bundled_font_has_is_reported(case_id, glyphs, text):
    """The check above can fail: Chinese, a maths sign and Armenian are not bundled."""
    letter_id = LetterFactory(case_id=case_id, body=f"Freedom: {text}").id
    LetterFactory(case_id=case_id, kind="solidarity", moderation="approved", body=text)
    delivery.appeals_pdf(case_id)
    delivery.solidarity_pdf(case_id)
    reports = missing_glyphs(glyphs)
    assert reports
    assert f"Letter {letter_id} has characters no bundled font draws: U+" in reports[0]
    assert text not in " ".join(reports)  # code points only: no text of a letter in the logs


def test_arabic_paragraphs_are_set_right_to_left():
    assert delivery.alignment(ARABIC) == "R"
    assert delivery.alignment("«" + ARABIC) == "R"
    assert delivery.alignment(TURKISH) == "L"
    assert delivery.alignment("123 " + LATIN) == "L"
    assert delivery.alignment("🕊") == "L"


def test_the_booklet_cover_is_in_the_persons_language(case_id, monkeypatch):
    """The cover's words are drawn with the person's language in force (French here), the
    case's name as staff wrote it in French, the writers' countries named in French."""
    case = db.session.get(Case, case_id)
    case.person_language = "fr"
    case.translations = {**case.translations, "fr": {"name": "Gustavo Gatica (FR)"}}
    db.session.commit()
    LetterFactory(case_id=case_id, kind="solidarity", moderation="approved", body="Courage !")
    # Which locale is in force when each cover string is translated: "[fr] ...".
    real = delivery.pdf._
    monkeypatch.setattr(
        delivery.pdf, "_", lambda text, **kw: f"[{get_locale()}] {real(text, **kw)}"
    )
    cover, message = pdf_pages(delivery.solidarity_pdf(case_id))
    assert cover.split("\n")[0] == "Gustavo Gatica (FR)"
    assert "[fr] " in cover.split("\n")[1]
    assert message.endswith("— Ada Lovelace, Royaume-Uni")
    assert str(get_locale()) == "en"  # the locale is given back afterwards


def test_an_arabic_booklet_cover_reads_right_to_left(app, cases):
    """Nassima al-Sada's booklet is in Arabic (her person's language in the demo): her
    name is shaped and set right to left, so a PDF reader, which reads a line from left to
    right as it is drawn, meets her family name first."""
    with app.app_context():
        case = db.session.get(Case, cases["nassima-al-sada"])
        name = case.translations["ar"]["name"]
        assert case.person_language == "ar" and name == "نسيمة السادة"
        LetterFactory(case_id=case.id, kind="solidarity", moderation="approved", body="معك")
        cover, message = pdf_pages(delivery.solidarity_pdf(case.id))
    assert cover.split("\n")[0] == " ".join(reversed(name.split()))
    assert "Ada Lovelace, المتحدة المملكة" in message  # the writer's country, in Arabic
