"""Case management: what an admin does to a case, and what the public then sees."""

import io
import os
import re

import pytest
import sqlalchemy as sa
from helpers import Supporter, csrf_from, hidden_value
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from extensions import db
from models import AuditEvent, Case

NEW = "/admin/cases/new"


def case_fields(**changes):
    """A complete, valid case form; keyword arguments replace or add fields."""
    fields = {
        "name": "Ana Example",
        "slug": "ana-example",
        "country": "CL",
        "summary": "A student who was jailed for a peaceful protest.",
        "story": "Ana organised a sit-in.\r\n\r\nShe was arrested the same day.",
        "ask": "Release Ana now.",
        "target_title": "Chile's Minister of Justice",
        "target_address": "",
        "appeal_en": "Dear Minister,\r\n\r\nPlease release Ana.",
        "appeal_es": "",
        "appeal_fr": "",
        "appeal_ar": "",
        "appeal_tr": "",
        "solidarity_prompt": "Tell Ana she is not alone.",
        "goal": "25,000",
        "sort_order": "9",
        "photo_alt": "",
    }
    fields.update(changes)
    return fields


def post(client, path, data, htmx=False, csrf=True):
    data = dict(data)
    if csrf:
        data["csrf_token"] = csrf_from(client, "/admin/cases")
    headers = {"HX-Request": "true"} if htmx else {}
    if any(isinstance(value, FileStorage) for value in data.values()):
        # Encoded in memory: the test client spools big bodies to a file it never closes.
        boundary, body = encode_multipart(data)
        content_type = f"multipart/form-data; boundary={boundary}"
        return client.post(path, data=body, content_type=content_type, headers=headers)
    return client.post(path, data=data, headers=headers)


def photo_file(data, filename, content_type="image/png"):
    return FileStorage(io.BytesIO(data), filename, content_type=content_type)


def create(client, **changes):
    response = post(client, NEW, case_fields(**changes))
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.search(r"/admin/cases/(\d+)/edit", response.headers["Location"]).group(1))


def find(app, slug):
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.slug == slug))
        if case is not None:
            db.session.expunge(case)
        return case


def events(app, action=None):
    """The audit events of case work (signing in is recorded too, and left out here)."""
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.action.startswith("case."))
        query = query.order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = db.session.scalars(query).all()
        return [(e.action, e.actor_email, e.target_id, e.details) for e in rows]


def text(response):
    return response.get_data(as_text=True)


# The list, and creating a case


def test_the_list_shows_every_case_in_order_with_its_status(admin, cases):
    page = text(admin.get("/admin/cases"))
    names = ["Germain Rukuki", "Gustavo Gatica", "Nassima al-Sada", "METU Pride Defenders"]
    positions = [page.index(name) for name in names]
    assert positions == sorted(positions)
    assert "Draft Person" in page and "Draft</span>" in page and "Published</span>" in page
    assert 'href="/admin/cases/new"' in page
    assert '<a href="/admin/cases" aria-current="page">Cases</a>' in page


def test_a_new_case_is_a_draft_the_public_cannot_see(app, admin, client, cases):
    case_id = create(admin)
    edit = admin.get(f"/admin/cases/{case_id}/edit")
    page = text(edit)
    assert "Case created as a draft: the public cannot see it until you publish it." in page
    assert 'value="ana-example"' in page and "Draft</span>" in page
    case = find(app, "ana-example")
    assert case.status == "draft" and case.goal == 25000 and case.sort_order == 9
    assert case.story == "Ana organised a sit-in.\n\nShe was arrested the same day."
    assert case.appeal_templates == {"en": "Dear Minister,\n\nPlease release Ana."}
    # Invisible everywhere the public looks.
    assert client.get("/cases/ana-example").status_code == 404
    assert "Ana Example" not in text(client.get("/"))
    assert "ana-example" not in text(client.get("/api/stats"))
    assert client.post("/cases/ana-example/letters/appeal").status_code in (400, 404)
    assert events(app, "case.create") == [
        (
            "case.create",
            "admin@example.org",
            case_id,
            {"slug": "ana-example", "name": "Ana Example"},
        )
    ]


def test_new_case_form_starts_at_the_end_of_the_order(admin, cases):
    page = text(admin.get(NEW))
    assert re.search(r'id="sort_order"[^>]*value="5"', page)  # after the demo's 1 to 4
    assert re.search(r'id="goal"[^>]*value="10000"', page)
    assert re.search(r'<select id="country"[^>]*>\s*<option value="">Choose the country', page)
    assert "<option value=CL>Chile" in page
    assert 'enctype="multipart/form-data"' in page


def test_publish_then_close_is_what_the_public_sees(app, admin, client, cases):
    case_id = create(admin)
    response = post(admin, f"/admin/cases/{case_id}/publish", {})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/cases"
    listing = text(admin.get("/admin/cases"))
    assert "Published. It is open for letters. The public site shows it now." in listing
    public = text(client.get("/cases/ana-example"))
    assert "Ana Example" in public and 'id="appeal-form"' in public
    assert "Dear Minister," in public and "Tell Ana she is not alone." in public
    assert "Ana Example" in text(client.get("/"))
    supporter = Supporter(client)
    form = supporter.form_fields("ana-example", "appeal")  # a form opened before the close

    response = post(admin, f"/admin/cases/{case_id}/close", {"back": "edit"})
    assert response.headers["Location"] == f"/admin/cases/{case_id}/edit"
    assert "Closed. Its page stays online but takes no more letters." in text(
        admin.get(response.headers["Location"])
    )
    closed = text(client.get("/cases/ana-example"))
    assert "This case is closed" in closed and 'id="appeal-form"' not in closed
    assert supporter.submit("ana-example", fields=form).status_code == 409
    assert [e[0] for e in events(app)] == ["case.create", "case.publish", "case.close"]
    assert events(app, "case.close")[0][3] == {"slug": "ana-example", "previous": "published"}


def test_reopening_a_closed_case_takes_letters_again(app, admin, client, cases):
    gustavo = cases["gustavo-gatica"]
    post(admin, f"/admin/cases/{gustavo}/close", {})
    assert "This case is closed" in text(client.get("/cases/gustavo-gatica"))
    post(admin, f"/admin/cases/{gustavo}/publish", {})
    assert 'id="appeal-form"' in text(client.get("/cases/gustavo-gatica"))
    assert events(app, "case.publish")[0][3]["previous"] == "closed"


def test_status_changes_that_make_no_sense_change_nothing(app, admin, cases):
    draft = cases["secret-draft"]
    response = post(admin, f"/admin/cases/{draft}/close", {}, htmx=True)
    assert response.status_code == 200
    assert "Only a published case can be closed." in text(response)
    assert find(app, "secret-draft").status == "draft"
    published = cases["gustavo-gatica"]
    response = post(admin, f"/admin/cases/{published}/publish", {}, htmx=True)
    assert "That case is already published." in text(response)
    assert events(app) == []


def test_htmx_status_change_answers_with_the_table_only(admin, cases):
    response = post(admin, f"/admin/cases/{cases['secret-draft']}/publish", {}, htmx=True)
    page = text(response)
    assert response.status_code == 200 and "<html" not in page
    assert page.startswith('<div id="cases-table"')
    assert "Published. It is open for letters." in page
    assert "HX-Request" in response.headers["Vary"]


# Editing


def test_an_edit_reaches_the_public_page_and_records_what_changed(app, admin, client, cases):
    gustavo = cases["gustavo-gatica"]
    form = text(admin.get(f"/admin/cases/{gustavo}/edit"))
    assert "Estimado señor Fiscal Nacional:" in form  # the Spanish letter, to edit
    case = find(app, "gustavo-gatica")
    fields = case_fields(
        name=case.name,
        slug=case.slug,
        country=case.country,
        summary="A new summary, written by staff.",
        story=case.story,
        ask=case.ask,
        target_title=case.target_title,
        target_address=case.target_address,
        appeal_en=case.appeal_templates["en"],
        appeal_es=case.appeal_templates["es"],
        solidarity_prompt=case.solidarity_prompt,
        goal=str(case.goal),
        sort_order=str(case.sort_order),
    )
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
    page = text(client.get("/cases/ana-example?lang=fr"))
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
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 5


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


# Preview


def test_preview_shows_a_draft_to_staff_only_and_is_not_indexed(app, admin, client, cases):
    draft = cases["secret-draft"]
    response = admin.get(f"/admin/cases/{draft}/preview")
    page = text(response)
    assert response.status_code == 200
    assert "Draft Person" in page and "Draft story." in page
    assert "This case is a draft: the public cannot see this page." in page
    assert "<title>Preview: " in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Cache-Control"] == "no-store"
    assert "data-preview" in page  # admin.js stops its forms from sending
    # Not for anyone else: signed out goes to sign-in, and the public page does not exist.
    signed_out = client.get(f"/admin/cases/{draft}/preview")
    assert signed_out.status_code == 302 and "/admin/sign-in" in signed_out.headers["Location"]
    assert client.get("/cases/secret-draft").status_code == 404


def test_preview_of_a_published_case_offers_its_languages(admin, cases):
    page = text(admin.get(f"/admin/cases/{cases['gustavo-gatica']}/preview?lang=es"))
    assert "This case is published: this is what the public sees." in page
    assert "Estimado señor Fiscal Nacional:" in page


def test_preview_is_never_taken_from_the_page_cache(make_app, cases):
    app = make_app(PAGE_CACHE_SECONDS=60)
    from helpers import add_staff, sign_in

    add_staff(app, "boss@example.org", "admin")
    client = app.test_client()
    sign_in(client, "boss@example.org")
    assert "Draft story." in text(client.get(f"/admin/cases/{cases['secret-draft']}/preview"))
    with app.app_context():
        db.session.get(Case, cases["secret-draft"]).story = "Rewritten story."
        db.session.commit()
    assert "Rewritten story." in text(client.get(f"/admin/cases/{cases['secret-draft']}/preview"))


# Order


def test_moving_a_case_changes_the_home_page_order(app, admin, client, cases):
    response = post(admin, f"/admin/cases/{cases['gustavo-gatica']}/move", {"direction": "up"})
    assert response.status_code == 303
    assert "Moved Gustavo Gatica up." in text(admin.get("/admin/cases"))
    home = text(client.get("/"))
    assert home.index("Gustavo Gatica") < home.index("Germain Rukuki")
    assert events(app, "case.update")[0][3] == {
        "slug": "gustavo-gatica",
        "changed": ["sort_order"],
        "moved": "up",
    }


def test_moving_with_htmx_swaps_the_table_and_stops_at_the_ends(app, admin, cases):
    first = text(admin.get("/admin/cases")).index("Draft Person")
    assert first  # the draft has sort_order 0: it comes first
    response = post(
        admin, f"/admin/cases/{cases['secret-draft']}/move", {"direction": "up"}, htmx=True
    )
    assert response.status_code == 200 and "<html" not in text(response)
    assert "Draft Person is already first." in text(response)
    assert events(app) == []
    response = post(
        admin, f"/admin/cases/{cases['secret-draft']}/move", {"direction": "down"}, htmx=True
    )
    page = text(response)
    assert "Moved Draft Person down." in page
    page = page[page.index("<table") :]
    assert page.index("Germain Rukuki") < page.index("Draft Person") < page.index("Gustavo Gatica")


def test_a_move_needs_a_direction(admin, cases):
    response = post(
        admin, f"/admin/cases/{cases['gustavo-gatica']}/move", {"direction": "sideways"}
    )
    assert response.status_code == 400


# Photos


def image_bytes(fmt="PNG", size=(2400, 1600), color=(200, 30, 30), **save):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save)
    return out.getvalue()


def photos_dir(app):
    return os.path.join(app.instance_path, "photos")


def stored_photos(app):
    folder = photos_dir(app)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def upload(client, data, filename, content_type="image/png", path=NEW, **changes):
    fields = case_fields(photo_alt="Ana at the sit-in", **changes)
    fields["photo"] = photo_file(data, filename, content_type)
    return post(client, path, fields)


def test_a_png_photo_is_resized_re_encoded_and_served(app, admin, client, cases):
    response = upload(admin, image_bytes("PNG"), "ana.png")
    assert response.status_code == 303
    case = find(app, "ana-example")
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", case.photo)  # a random name, never the upload's
    assert stored_photos(app) == [case.photo]
    with Image.open(os.path.join(photos_dir(app), case.photo)) as stored:
        assert stored.format == "JPEG" and stored.size == (1200, 800)
    served = client.get(f"/photos/{case.photo}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    served.close()
    page = text(admin.get(f"/admin/cases/{case.id}/preview"))
    assert f'src="/photos/{case.photo}" alt="Ana at the sit-in"' in page
    assert events(app, "case.create")


def test_a_phone_jpeg_is_turned_upright_and_loses_its_metadata(app, admin, cases):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; rotate 90° to show it upright
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (48.0, 51.0, 24.0)}  # GPSInfo: a place
    data = image_bytes("JPEG", size=(800, 400), exif=exif.tobytes())
    assert upload(admin, data, "IMG_0001.JPG", "image/jpeg").status_code == 303
    name = find(app, "ana-example").photo
    with Image.open(os.path.join(photos_dir(app), name)) as stored:
        assert stored.size == (400, 800)  # upright: taller than wide
        assert not stored.getexif()  # no orientation, maker or GPS left
        assert "exif" not in stored.info


def test_a_webp_photo_is_accepted(app, admin, cases):
    assert (
        upload(admin, image_bytes("WEBP", size=(300, 200)), "a.webp", "image/webp").status_code
        == 303
    )
    assert len(stored_photos(app)) == 1


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(1)</script></html>" * 20


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (SVG, "photo.svg", "image/svg+xml"),
        (HTML, "photo.png", "image/png"),  # HTML with an image's name and type
        (FAKE_PNG, "photo.png", "image/png"),  # a PNG signature, then a web page
        (os.urandom(4096), "photo.jpg", "image/jpeg"),  # garbage
        (image_bytes("GIF", size=(40, 40)), "photo.gif", "image/gif"),  # a real image, not allowed
        (image_bytes("PNG")[:2000], "cut.png", "image/png"),  # cut off halfway
    ],
    ids=["svg", "html-as-png", "png-signature-then-html", "garbage", "gif", "truncated-png"],
)
def test_files_that_are_not_photos_are_refused_and_nothing_is_stored(
    app, admin, cases, data, filename, content_type
):
    response = upload(admin, data, filename, content_type)
    assert response.status_code == 422
    page = text(response)
    assert "That file is not a photo we can use. Please choose a JPEG, PNG or WebP image." in page
    assert re.search(r'id="photo"[^>]*aria-invalid="true"[^>]*autofocus', page)
    assert stored_photos(app) == [] and find(app, "ana-example") is None and events(app) == []


def test_the_type_comes_from_the_content_not_the_name_or_the_browser(app, admin, cases):
    data = image_bytes("JPEG", size=(300, 200))
    assert upload(admin, data, "photo.svg", "text/html").status_code == 303
    assert len(stored_photos(app)) == 1


@pytest.mark.parametrize("size", [(8000, 7000), (20000, 10000)], ids=["ours", "pillows"])
def test_a_picture_with_too_many_pixels_is_refused_before_it_is_decoded(app, admin, cases, size):
    out = io.BytesIO()
    Image.new("1", size).save(out, "PNG")  # tens of megapixels in a few kilobytes
    response = upload(admin, out.getvalue(), "bomb.png")
    assert response.status_code == 422
    assert "That photo has too many pixels. Please choose a smaller one." in text(response)
    assert stored_photos(app) == []


def test_an_image_with_a_payload_appended_is_stored_without_it(app, admin, cases):
    data = image_bytes("PNG", size=(100, 100)) + HTML
    assert upload(admin, data, "ana.png").status_code == 303
    (name,) = stored_photos(app)
    with open(os.path.join(photos_dir(app), name), "rb") as stored:
        assert b"<script" not in stored.read()


def test_an_oversized_photo_is_refused_with_its_limit(app, admin, cases):
    noise = Image.frombytes("RGB", (1500, 1300), os.urandom(1500 * 1300 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=0)
    assert out.tell() > 5 * 1024 * 1024
    response = upload(admin, out.getvalue(), "big.png")
    assert response.status_code == 422
    assert "That photo is larger than 5 MB. Please choose a smaller one." in text(response)
    assert stored_photos(app) == [] and find(app, "ana-example") is None


def test_a_body_beyond_even_the_upload_limit_gets_a_clear_page(make_app, cases):
    from helpers import add_staff, sign_in

    app = make_app(PHOTO_MAX_BYTES=10_000)  # so the upload limit is about 550 KB
    add_staff(app, "boss@example.org", "admin")
    client = app.test_client()
    sign_in(client, "boss@example.org")
    response = upload(client, b"\0" * 600_000, "huge.png")
    assert response.status_code == 413
    assert "That photo is far larger than 9 KB, so nothing was saved." in text(response)
    assert stored_photos(app) == []


def test_the_public_form_keeps_its_small_body_limit(admin, client, case_slug):
    response = Supporter(client).submit(case_slug, body="x" * 70_000)
    assert response.status_code == 413


def test_a_too_large_body_from_a_moderator_is_refused_at_the_small_limit(moderator, cases):
    response = moderator.post(NEW, data={"story": "x" * 100_000})
    assert response.status_code == 413
    assert "That was too much text to send at once." in text(response)


def test_a_photo_needs_a_description(app, admin, cases):
    fields = case_fields()
    fields["photo"] = photo_file(image_bytes("PNG", size=(100, 100)), "a.png")
    response = post(admin, NEW, fields)
    assert response.status_code == 422
    page = text(response)
    assert "Please describe the photo for people who cannot see it" in page
    assert "Your photo was fine, but please choose it again: the form had other problems." in page
    assert stored_photos(app) == []


def test_replacing_or_removing_a_photo_deletes_the_old_file(app, admin, cases):
    assert upload(admin, image_bytes("PNG", size=(100, 100)), "one.png").status_code == 303
    case = find(app, "ana-example")
    first = case.photo
    path = f"/admin/cases/{case.id}/edit"
    response = upload(admin, image_bytes("PNG", size=(120, 100)), "two.png", path=path)
    assert response.status_code == 303
    second = find(app, "ana-example").photo
    assert second != first and stored_photos(app) == [second]
    assert events(app, "case.update")[-1][3]["changed"] == ["photo"]
    response = post(admin, path, case_fields(photo_alt="Ana at the sit-in", remove_photo="y"))
    assert response.status_code == 303
    case = find(app, "ana-example")
    assert case.photo is None and case.photo_alt == "" and stored_photos(app) == []
    assert "portrait--placeholder" in text(admin.get(f"/admin/cases/{case.id}/preview"))


def test_a_failed_save_leaves_no_photo_behind(app, admin, cases, monkeypatch):
    from staff import audit

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(audit, "record", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = upload(admin, image_bytes("PNG", size=(100, 100)), "a.png")
    assert response.status_code == 500
    assert stored_photos(app) == [] and find(app, "ana-example") is None


# Who may do it


CASE_ROUTES = [
    ("get", "/admin/cases"),
    ("get", NEW),
    ("post", NEW),
    ("get", "/admin/cases/{id}/edit"),
    ("post", "/admin/cases/{id}/edit"),
    ("get", "/admin/cases/{id}/preview"),
    ("post", "/admin/cases/{id}/publish"),
    ("post", "/admin/cases/{id}/close"),
    ("post", "/admin/cases/{id}/move"),
]


@pytest.mark.parametrize(("method", "path"), CASE_ROUTES)
def test_moderators_get_403_on_every_case_route(app, moderator, cases, method, path):
    path = path.format(id=cases["secret-draft"])
    token = hidden_value(text(moderator.get("/cases/gustavo-gatica")), "appeal-csrf_token")
    data = {"csrf_token": token} if method == "post" else None
    response = getattr(moderator, method)(path, data=data)
    assert response.status_code == 403
    assert find(app, "secret-draft").status == "draft" and events(app) == []


@pytest.mark.parametrize(("method", "path"), CASE_ROUTES)
def test_signed_out_visitors_go_to_sign_in(client, cases, method, path):
    response = getattr(client, method)(path.format(id=cases["secret-draft"]))
    assert response.status_code in (302, 400)  # a POST without a token stops at CSRF first
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/admin/sign-in")


@pytest.mark.parametrize(
    "path", ["/admin/cases/new", "/admin/cases/{id}/edit", "/admin/cases/{id}/publish"]
)
def test_a_post_without_its_csrf_token_is_refused(app, admin, cases, path):
    response = post(admin, path.format(id=cases["secret-draft"]), case_fields(), csrf=False)
    assert response.status_code == 400
    assert "This form had expired" in text(response)
    assert find(app, "ana-example") is None and find(app, "secret-draft").status == "draft"
    assert events(app) == []


def test_htmx_may_send_the_csrf_token_as_a_header(app, admin, cases):
    token = csrf_from(admin, "/admin/cases")
    response = admin.post(
        f"/admin/cases/{cases['secret-draft']}/publish",
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200 and find(app, "secret-draft").status == "published"
