"""Case photos: checked by their content, cleaned of metadata and payloads, kept within
their limits, and deleted when a case no longer shows them."""

import io
import os
import re

import pytest
from case_admin import NEW, case_fields, events, find, photo_file, post, text
from helpers import Supporter, staff_client
from PIL import Image


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
    app = make_app(PHOTO_MAX_BYTES=10_000)  # so the upload limit is about 550 KB
    client = staff_client(app, "admin", "boss@example.org")
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
