"""Erasing an address, by the supporter from their "Your letters" page or by staff for them:
no trace of the name or the address is left in any text of any table, while every count
stays the same; letters still to be delivered keep their text, without a name."""

import json
import re

import pytest
import sqlalchemy as sa
from helpers import SAME_ORIGIN, Supporter, csrf_from, hidden_value

import letters
from extensions import db
from mail import outbox
from mail.suppression import address_key
from models import (
    AuditEvent,
    Case,
    ContactConsent,
    DeliveryBatch,
    Letter,
    Outbox,
    SolidarityText,
    utcnow,
)
from moderation.flags import fingerprint

NAME = "Zyxwvut Marker"
ADDRESS = "marker-9f3@example.org"
TYPED = "Marker-9F3@example.org"  # as the supporter typed it once
CITY = "Qqxville"
OPEN_CASE, OTHER_CASE, CLOSING_CASE = "gustavo-gatica", "germain-rukuki", "nassima-al-sada"
NEEDLES = (NAME, ADDRESS, CITY, "Zyxwvut")


def traces(app, needles=NEEDLES):
    """Every (table, column) whose text holds one of `needles`, case-insensitively: EVERY
    string, text and JSON column of EVERY table, every row."""
    found = set()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.JSON)]
            if not columns:
                continue
            for row in db.session.execute(sa.select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    text = value if isinstance(value, str) else json.dumps(value)
                    for needle in needles:
                        if needle.lower() in (text or "").lower():
                            found.add((table.name, column.name))
    return found


def counts(app, cases):
    with app.app_context():
        return {slug: letters.case_count(cases[slug]) for slug in cases}, letters.total_count()


def write(client, slug, kind="appeal", email=ADDRESS, **values):
    body = "Please free him." if kind == "appeal" else "We stand with you."
    answer = Supporter(client).submit(
        slug, kind=kind, name=NAME, email=email, city=CITY, body=body, **values
    )
    assert answer.status_code == 200


@pytest.fixture
def mail_app(make_app, smtp):
    """Mail to the test SMTP server; the address's many letters stay under its daily cap."""
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_UNREQUESTED_PER_DAY=50)


@pytest.fixture
def marked(mail_app, smtp, cases):
    """The marker supporter's letters: confirmed and unconfirmed, both kinds, to an open
    case and to one delivered in a sent batch, then closed; their emails sent and pending, a
    case-news email, a consent, a "Your letters" link. Another writer's letter beside."""
    client = mail_app.test_client()
    write(client, OPEN_CASE, consent_contact="y")  # confirmed, waits for delivery
    write(client, OPEN_CASE, kind="solidarity", email=TYPED)  # confirmed, approved
    write(client, OTHER_CASE)  # never confirmed
    write(client, OTHER_CASE, kind="solidarity")  # never confirmed
    write(client, CLOSING_CASE)  # confirmed, sent in a batch, then the case closed
    Supporter(client).submit(OPEN_CASE, email="other@example.org", name="Other Writer")
    with mail_app.app_context():
        outbox.send_due()
        mine = db.session.scalars(sa.select(Letter).where(Letter.email_key == ADDRESS)).all()
        for letter in mine:
            if letter.case.slug != OTHER_CASE:
                letters.confirm_letter(letter.id)
        db.session.execute(
            sa.update(Letter).where(Letter.kind == "solidarity").values(moderation="approved")
        )
        sent = DeliveryBatch(
            case_id=cases[CLOSING_CASE], kind="appeal", state="sent", sent_on=utcnow().date()
        )
        db.session.add(sent)
        db.session.flush()
        db.session.execute(
            sa.update(Letter)
            .where(Letter.case_id == cases[CLOSING_CASE], Letter.status == "confirmed")
            .values(delivery_batch_id=sent.id)
        )
        db.session.execute(
            sa.update(Case)
            .where(Case.id == cases[CLOSING_CASE])
            .values(status="closed", closed_at=utcnow())
        )
        if db.session.get(ContactConsent, ADDRESS) is None:  # letters/confirm.py may keep it
            db.session.add(ContactConsent(email_key=ADDRESS, email=TYPED, name=NAME))
        db.session.add(
            Outbox(recipient=ADDRESS.upper(), template="news", language="en", state="pending")
        )
        db.session.commit()
    assert client.post("/your-letters", data={"email": TYPED}, headers=SAME_ORIGIN)
    return client


def open_page(app, smtp, client):
    """The emailed link, opened: the letters page's access value."""
    with app.app_context():
        outbox.send_due()
    text = smtp.messages[-1].get_body(("plain",)).get_content()
    path = re.search(r"http://localhost(/your-letters/[\w.\-]+)", text).group(1)
    page = client.post(path, headers=SAME_ORIGIN)
    assert page.status_code == 200
    return hidden_value(page.get_data(as_text=True), "access")


def test_the_marker_is_everywhere_before(mail_app, marked):
    """So that the scan below cannot pass on nothing."""
    assert {
        ("letters", "name"),
        ("letters", "email"),
        ("letters", "email_key"),
        ("letters", "city"),
        ("outbox", "recipient"),
        ("contact_consents", "email_key"),
        ("data_links", "email_key"),
    } <= traces(mail_app)


def test_a_supporter_erases_their_address(mail_app, smtp, cases, marked):
    before = counts(mail_app, cases)
    access = open_page(mail_app, smtp, marked)
    question = marked.post("/your-letters/erase", data={"access": access}, headers=SAME_ORIGIN)
    assert "Erase your data?" in question.get_data(as_text=True)
    assert ("letters", "name") in traces(mail_app)  # the question changed nothing
    done = marked.post(
        "/your-letters/erase", data={"access": access, "confirm": "yes"}, headers=SAME_ORIGIN
    )
    page = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "Your data is erased" in page
    assert "Appeal for Nassima al-Sada:</strong> Already delivered" in page
    assert "Appeal for Gustavo Gatica:</strong> Still to be delivered" in page
    assert "Message of solidarity to Gustavo Gatica:</strong> Still to be delivered" in page
    assert page.count("Deleted: it was never confirmed.") == 2
    assert traces(mail_app) == set()
    assert counts(mail_app, cases) == before
    with mail_app.app_context():
        kept = db.session.scalars(sa.select(Letter).where(Letter.name == "")).all()
        bodies = {letter.case.slug + "/" + letter.kind: letter.body for letter in kept}
        assert bodies == {
            f"{OPEN_CASE}/appeal": "Please free him.",  # still to deliver, without a name
            f"{OPEN_CASE}/solidarity": "We stand with you.",
            f"{CLOSING_CASE}/appeal": "",  # delivered: no text kept
        }
        # ... but the fact that it was delivered stays: it is still in its sent batch.
        assert {letter.case.slug: letter.delivery_batch_id is not None for letter in kept} == {
            OPEN_CASE: False,
            CLOSING_CASE: True,
        }
        other = db.session.scalar(sa.select(Letter).where(Letter.email_key == "other@example.org"))
        assert other.name == "Other Writer"
    # The page's access ended with its link: nothing more can be done with it.
    again = marked.post("/your-letters/export", data={"access": access}, headers=SAME_ORIGIN)
    assert again.status_code == 403


def test_staff_erase_an_address_for_a_supporter(mail_app, cases, marked, admin):
    before = counts(mail_app, cases)
    token = csrf_from(admin, "/admin/supporters")
    found = admin.post("/admin/supporters", data={"csrf_token": token, "email": TYPED})
    page = found.get_data(as_text=True)
    assert found.status_code == 200
    assert "Gustavo Gatica" in page and ADDRESS in page
    download = admin.post("/admin/supporters/export", data={"csrf_token": token, "email": ADDRESS})
    assert json.loads(download.get_data(as_text=True))["letters"][0]["name"] == NAME
    question = admin.post("/admin/supporters/erase", data={"csrf_token": token, "email": ADDRESS})
    assert "Yes, erase it" in question.get_data(as_text=True)
    assert ("letters", "name") in traces(mail_app)
    done = admin.post(
        "/admin/supporters/erase", data={"csrf_token": token, "email": ADDRESS, "confirm": "yes"}
    )
    assert "The address is erased" in done.get_data(as_text=True)
    assert traces(mail_app) == set()  # the audit log included
    assert counts(mail_app, cases) == before
    with mail_app.app_context():
        events = {e.action: e.details for e in db.session.scalars(sa.select(AuditEvent))}
        key = address_key(ADDRESS)
    assert events["supporter.lookup"] == {"address": key}  # seeing the letters is audited
    assert events["supporter.export"]["address"] == key
    assert events["supporter.erase"]["address"] == key
    assert events["supporter.erase"]["letters_anonymised"] == 3
    assert events["supporter.erase"]["letters_deleted"] == 2


def test_only_admins_see_supporters_data(app, moderator, admin):
    assert moderator.get("/admin/supporters").status_code == 403
    token = csrf_from(moderator)
    assert (
        moderator.post(
            "/admin/supporters", data={"csrf_token": token, "email": ADDRESS}
        ).status_code
        == 403
    )
    page = admin.get("/admin/supporters").get_data(as_text=True)
    assert 'href="/admin/supporters" aria-current="page"' in page


def test_the_staff_address_stays_out_of_urls_and_needs_a_token(app, admin):
    page = admin.get("/admin/supporters").get_data(as_text=True)
    assert '<form method="post" action="/admin/supporters"' in page
    refused = admin.post("/admin/supporters/erase", data={"email": ADDRESS, "confirm": "yes"})
    assert refused.status_code == 400  # no CSRF token


def test_an_erased_text_cannot_be_confirmed_by_guessing_it(mail_app, cases, marked, admin):
    """A letter's fingerprint is an unkeyed hash of its text: whoever guesses a short text
    ("We stand with you.") could confirm it by hashing it. It goes with the text; the
    count of copies of each solidarity text stays."""
    with mail_app.app_context():  # held back: its text goes at the erasure
        db.session.execute(
            sa.update(Letter)
            .where(Letter.email_key == ADDRESS, Letter.kind == "solidarity")
            .values(moderation="rejected")
        )
        db.session.commit()
        copies = dict(
            db.session.execute(sa.select(SolidarityText.fingerprint, SolidarityText.letters)).all()
        )
    token = csrf_from(admin, "/admin/supporters")
    admin.post(
        "/admin/supporters/erase", data={"csrf_token": token, "email": ADDRESS, "confirm": "yes"}
    )
    with mail_app.app_context():
        kept = db.session.execute(
            sa.select(Letter.body, Letter.fingerprint).where(Letter.name == "")
        ).all()
        guesses = {fingerprint(text) for text in ("Please free him.", "We stand with you.")}
        assert sorted(kept) == [
            ("", ""),  # delivered appeal
            ("", ""),  # held-back solidarity message
            ("Please free him.", fingerprint("Please free him.")),  # still to deliver
        ]
        assert {fp for body, fp in kept if not body} & guesses == set()
        after = dict(
            db.session.execute(sa.select(SolidarityText.fingerprint, SolidarityText.letters)).all()
        )
        assert after == copies


@pytest.mark.parametrize("email", ["", "   ", "not an address", "marker-9f3@"])
def test_staff_pages_refuse_a_missing_or_invalid_address(mail_app, marked, admin, email):
    """Nothing is looked up, downloaded, erased or changed, nor audited."""
    token = csrf_from(admin, "/admin/supporters")
    with mail_app.app_context():
        audited = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    for path in ("", "/export", "/erase", "/allow-email"):
        answer = admin.post(
            f"/admin/supporters{path}",
            data={"csrf_token": token, "email": email, "confirm": "yes"},
        )
        assert answer.status_code == 422, path
        page = answer.get_data(as_text=True)
        assert "email address, such as name@example.org." in page
        assert f'value="{email.strip()}"' in page  # kept as typed, to correct it
    assert ("letters", "name") in traces(mail_app)
    with mail_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audited
