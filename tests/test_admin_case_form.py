"""Editing a case: each field reaches the public page, bad input is refused next to its
field, and markup is shown as text."""

import re

import sqlalchemy as sa
from case_admin import NEW, case_fields, create, events, fields_of, find, post, text

from extensions import db
from models import Case


def test_an_edit_reaches_the_public_page_and_records_what_changed(app, admin, client, cases):
    gustavo = cases["gustavo-gatica"]
    form = text(admin.get(f"/admin/cases/{gustavo}/edit"))
    assert "Estimado señor Fiscal Nacional:" in form  # the Spanish letter, to edit
    fields = fields_of(find(app, "gustavo-gatica"), summary="A new summary, written by staff.")
    response = post(admin, f"/admin/cases/{gustavo}/edit", fields)
    assert response.status_code == 303
    saved = text(admin.get(response.headers["Location"]))
    assert "Saved. The public site shows it now." in saved
    assert "A new summary, written by staff." in text(client.get("/cases/gustavo-gatica"))
    assert events(app, "case.update") == [
        (
            "case.update",
            "admin@example.org",
            gustavo,
            {"slug": "gustavo-gatica", "changed": ["summary"]},
        )
    ]
    # The same form again changes nothing, and records nothing.
    again = post(admin, f"/admin/cases/{gustavo}/edit", fields)
    assert "Nothing had changed, so nothing was saved." in text(
        admin.get(again.headers["Location"])
    )
    assert len(events(app, "case.update")) == 1


def test_letters_in_more_languages_appear_on_the_case_page(app, admin, client, cases):
    case_id = create(admin, appeal_fr="Monsieur le Ministre, libérez Ana.")
    post(admin, f"/admin/cases/{case_id}/publish", {})
    page = text(client.get("/fr/cases/ana-example"))
    assert "Monsieur le Ministre, libérez Ana." in page
    assert find(app, "ana-example").appeal_templates == {
        "en": "Dear Minister,\n\nPlease release Ana.",
        "fr": "Monsieur le Ministre, libérez Ana.",
    }


def test_a_letter_in_a_language_outside_the_form_is_kept(app, admin, cases):
    with app.app_context():
        case = db.session.get(Case, cases["germain-rukuki"])
        case.appeal_templates = {**case.appeal_templates, "rn": "Nyakubahwa Minisitiri"}
        db.session.commit()
    form = text(admin.get(f"/admin/cases/{cases['germain-rukuki']}/edit"))
    assert 'name="appeal_rn"' in form and "Nyakubahwa Minisitiri" in form


def test_bad_input_is_refused_next_to_each_field_and_nothing_is_stored(app, admin, cases):
    response = post(
        admin,
        NEW,
        case_fields(
            name="",
            slug="Not A Slug!",
            country="XX",
            appeal_en="",
            goal="lots",
            summary="Two\nlines",
        ),
    )
    assert response.status_code == 422
    page = text(response)
    for message in (
        "Please enter the name.",
        "Use lower-case letters, digits and single hyphens only, like gustavo-gatica.",
        "Please choose the country from the list.",
        "Please write the English letter.",
        "Please enter a whole number, like 10000.",
        "Please keep this on one line.",
    ):
        assert message in page
    # Each message is tied to its field, and the keyboard starts on the first one.
    assert re.search(r'id="name"[^>]*aria-describedby="name-error"[^>]*aria-invalid="true"', page)
    assert (
        '<p class="field-error" id="name-error"><span class="visually-hidden">Error: </span>Please enter the name.</p>'
        in page
    )
    assert len(re.findall(r"\sautofocus", page)) == 1
    assert re.search(r'id="name"[^>]*autofocus', page)
    # What was typed is kept (the address as it will be stored: lower case).
    assert 'value="not a slug!"' in page and 'value="Two\nlines"' in page
    assert "Ana organised a sit-in." in page
    assert find(app, "not-a-slug") is None and events(app) == []


def test_web_addresses_are_unique(app, admin, cases):
    response = post(admin, NEW, case_fields(slug="gustavo-gatica"))
    assert response.status_code == 422
    assert "Another case already uses this web address." in text(response)
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 6
        )  # the demo's five and a draft


def test_letters_longer_than_a_supporter_may_send_are_refused(admin, cases):
    response = post(admin, NEW, case_fields(appeal_en="x" * 5001))
    assert response.status_code == 422
    assert "Please keep the letter under 5000 characters." in text(response)


def test_markup_is_shown_escaped_to_staff_and_to_the_public(app, admin, client, cases):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    case_id = create(admin, name=payload, story=payload, summary=payload)
    post(admin, f"/admin/cases/{case_id}/publish", {})
    for page in (
        text(admin.get("/admin/cases")),
        text(admin.get(f"/admin/cases/{case_id}/edit")),
        text(admin.get(f"/admin/cases/{case_id}/preview")),
        text(client.get("/cases/ana-example")),
        text(client.get("/")),
    ):
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(" in page
    assert find(app, "ana-example").name == payload  # stored as typed
