"""A NUL byte or bytes that are not UTF-8, anywhere in a request's path, query string or
form, get a 400 that says what was wrong, on every route: never a 500 (PostgreSQL refuses a
NUL in text with an error), and nothing of such a request is stored.

The walk visits every rule of the URL map, as a supporter and as a signed-in admin (whose
posts carry a valid CSRF token, so that staff views are reached)."""

import re
from datetime import date
from urllib.parse import unquote_to_bytes, urlencode, urlsplit

import pytest
from case_admin import case_fields, photo_file
from factories import LetterFactory, StaffUserFactory
from helpers import SAME_ORIGIN, csrf_from, stored
from markupsafe import escape
from werkzeug.test import encode_multipart

from cases import photos
from delivery import batches
from extensions import db
from models import Case, CaseUpdate, Letter, OfflineReport, Outbox, Partner
from offline import reports as offline_reports
from web.request_checks import UnreadableRequest

NUL = "%00"
NOT_UTF8 = "%FF%FE"  # bytes that no UTF-8 text contains
BAD = {"NUL byte": (NUL, "\x00"), "invalid UTF-8": (NOT_UTF8, b"\xff\xfe")}
CANNOT_READ = "contained characters we cannot read"
# Field names that the site's forms use, sent to every post; each gets the bad bytes in turn.
TYPICAL_FIELDS = [
    "name",
    "email",
    "body",
    "note",
    "reason",
    "decision",
    "slug",
    "words",
    "appeal-name",
    "appeal-email",
    "appeal-body",
]
FIELD_NAME = re.compile(r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"')
FORM_PAGES = {
    "public.submit": "/cases/gustavo-gatica",
    "public.check_email": "/cases/gustavo-gatica",
    "embed.submit": "/embed/riverside/gustavo-gatica",
    "embed.check_email": "/embed/riverside/gustavo-gatica",
    "admin.settings_reasons": "/admin/settings",
    "admin.settings_words": "/admin/settings",
    "admin.queue_decide": "/admin/queue",
}
MARKER = "MARKER"  # stands for an argument's value in a built URL (an int for int converters)
INT_MARKER = 987654321


@pytest.fixture
def walk(app, gustavo, partner_id):
    """Plausible values for every URL argument: the demo case, a partner, a language, an
    update of the case, a delivery batch of its appeals and the queue group of its letter."""
    with app.app_context():
        stats_token = db.session.get(Partner, partner_id).stats_token
        news = CaseUpdate(case_id=gustavo, title="News", body="Text.", happened_on=date.today())
        db.session.add(news)
        # An offline report of the partner's, with a photo (served to admins).
        report = OfflineReport(
            case_id=gustavo,
            partner_id=partner_id,
            appeals=1,
            event="Stall",
            country="GB",
            held_on=date.today(),
            photo=photos.save(b"a photo", folder=offline_reports.photos_folder()),
        )
        db.session.add(report)
        db.session.commit()
        update_id = news.id
        report_id = report.id
        # A batch of one appeal, made as admins make it (the official's address given, so
        # its files are made rather than refused); the appeal's text is its queue group.
        case = db.session.get(Case, gustavo)
        case.target_address = "Fiscalía Nacional\nCatedral 1437\nSantiago, Chile"
        case.target_email = "fiscal@example.org"
        group_key = LetterFactory(case_id=gustavo).group_key
        staff = StaffUserFactory(email="batches@example.org", role="admin")
        batch_id = batches.make_batch(case, "appeal", staff).id
    return {
        "slug": "gustavo-gatica",
        "case_slug": "gustavo-gatica",
        "partner_slug": "riverside",
        "kind": "appeal",
        "token": "not-a-real-token",
        "case_id": gustavo,
        "update_id": update_id,
        "report_id": report_id,
        "batch_id": batch_id,
        "part": 1,
        "key": group_key,
        "staff_id": 1,
        "language": "en",
        "lang": "es",  # a page in another language than English (/es/...)
        "lang_code": "es",  # an update's email as Spanish writers get it
        "filename": "css/site.css",
        # Per endpoint, where the generic name means something else.
        ("admin.partners_show", "slug"): "riverside",
        ("admin.partners_update", "slug"): "riverside",
        ("admin.partners_preview", "slug"): "riverside",
        ("admin.partners_remove", "slug"): "riverside",
        ("admin.partners_rotate", "slug"): "riverside",
        ("embed.stats", "token"): stats_token,
        ("embed.stats_report", "token"): stats_token,
        ("public.photo", "filename"): "nobody.jpg",
    }


def urls(app, walk, rule, bad):
    """The rule's address with `bad` (percent-encoded) added to each argument in turn, or to
    the end of the path when the rule has none."""
    adapter = app.url_map.bind("localhost")
    values = {name: walk.get((rule.endpoint, name), walk[name]) for name in rule.arguments}
    if not values:
        return [rule.rule + bad]
    # A language is one of a few codes (its converter refuses anything else): bad bytes go
    # in the other arguments, or after the path.
    markable = sorted(name for name in values if name != "lang")
    if not markable:
        return [adapter.build(rule.endpoint, values, append_unknown=False) + bad]
    built = []
    for name in markable:
        marker = INT_MARKER if isinstance(values[name], int) else MARKER
        url = adapter.build(rule.endpoint, {**values, name: marker}, append_unknown=False)
        built.append(url.replace(str(marker), f"{values[name]}{bad}"))
    return built


def form_body(fields, field, raw):
    """A urlencoded form of the typical fields, with `raw` (str or bytes) in `field`."""
    return urlencode({name: raw if name == field else value for name, value in fields.items()})


def real_fields(app, client, rule, fine):
    """The names of the fields in the form that posts to this rule: on the page at the same
    address, or (for the letter forms) on the case page or the framed form."""
    same_address = app.url_map.bind("localhost").test(fine, method="GET")
    page = FORM_PAGES.get(rule.endpoint, fine if same_address else None)
    if page is None:
        return []
    with client.get(page) as response:
        return FIELD_NAME.findall(response.get_data(as_text=True))


def requests(app, walk, client, csrf):
    """(method, url, body) of every bad request of the walk: the bad bytes in the path, in a
    query parameter, and (for posts) in each form field."""
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"GET", "POST"}):
            fine = urls(app, walk, rule, "")[0]
            names = (
                [*TYPICAL_FIELDS, *real_fields(app, client, rule, fine)] if method == "POST" else []
            )
            fields = dict.fromkeys(names, "Ada") | {"csrf_token": csrf}
            for percent, raw in BAD.values():
                for url in urls(app, walk, rule, percent):
                    yield method, url, None
                yield method, f"{fine}?q=a{percent}b&page=1", None
                for field in fields if method == "POST" else []:
                    yield method, fine, form_body(fields, field, raw)


def send(client, method, url, body):
    """The request as a WSGI server (gunicorn) passes it on: PATH_INFO holds the bytes that
    were sent, decoded as Latin-1 (PEP 3333). The test client would decode them as UTF-8
    with replacement characters instead."""
    path = urlsplit(url).path
    return client.open(
        url,
        method=method,
        data=body,
        content_type="application/x-www-form-urlencoded" if body is not None else None,
        headers=SAME_ORIGIN,
        environ_overrides={"PATH_INFO": unquote_to_bytes(path).decode("latin-1")},
    )


def cannot_read(app, url):
    """The refusal's words in the language of the address (under /es/, in Spanish)."""
    with app.test_request_context(url.split("?")[0]):
        return str(escape(UnreadableRequest.description))


def refusals(app, walk, client, csrf):
    """Every bad request that was not refused with a 400 saying what was wrong."""
    wrong = []
    for method, url, body in requests(app, walk, client, csrf):
        with send(client, method, url, body) as response:  # closes a sent file
            clear = cannot_read(app, url) in response.get_data(as_text=True)
        if response.status_code != 400 or not clear:
            wrong.append((response.status_code, method, url, body))
    return wrong


def test_every_route_refuses_bad_bytes_from_a_supporter_with_a_clear_400(app, client, walk):
    assert refusals(app, walk, client, csrf="") == []


def test_every_route_refuses_bad_bytes_from_a_signed_in_admin_with_a_clear_400(app, admin, walk):
    assert refusals(app, walk, admin, csrf_from(admin)) == []


def test_a_letter_with_a_nul_byte_is_refused_and_nothing_is_stored(app, supporter, case_slug):
    response = supporter.submit(case_slug, body="Please release him\x00 now.")
    assert response.status_code == 400
    assert CANNOT_READ in response.get_data(as_text=True)
    assert stored(app) == [] and stored(app, Outbox) == []


def test_with_htmx_the_refusal_is_the_message_alone(app, supporter, case_slug):
    response = supporter.submit(case_slug, htmx=True, name="Ada\x00")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert CANNOT_READ in html and "<html" not in html
    assert stored(app) == []


def test_text_in_any_language_is_still_taken(app, client, supporter, case_slug):
    """The check refuses only what no UTF-8 page sends: accents, scripts, emoji and even a
    typed replacement character (U+FFFD) pass."""
    assert client.get(f"/cases/{case_slug}?q=Se%C3%B1ora+%E2%9C%8A").status_code == 200
    body = "Querida señora, 请释放他 ✊ \ufffd"
    response = supporter.submit(case_slug, name="Zoë Ñúñez", body=body)
    assert response.status_code in (200, 303)
    letters = stored(app, Letter)
    assert [letter.body for letter in letters] == [body]


def test_the_walk_fills_in_addresses_that_exist(app, admin, walk):
    """The walk's values are real, so its bad requests would reach the views without the
    check: as an admin, every page it visits is found (a photo nobody uploaded aside)."""
    missing = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "public.photo":
            with admin.get(urls(app, walk, rule, "")[0]) as response:
                if response.status_code == 404:
                    missing.append(rule.rule)
    assert missing == []


def test_a_case_form_with_bytes_that_are_not_utf8_is_refused_and_changes_nothing(app, admin):
    """The case form is multipart (it carries a photo): its text fields are read from the
    raw body too, so bytes that are not UTF-8 are refused rather than stored as "\ufffd"."""
    fields = case_fields(csrf_token=csrf_from(admin, "/admin/cases"))
    boundary, body = encode_multipart(fields | {"photo": photo_file(b"\xff\xfe\x00", "a.png")})
    body = body.replace(b"Release Ana now.", b"Release Ana \xff\xfe now.")
    response = admin.post(
        "/admin/cases/new",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 400
    assert CANNOT_READ in response.get_data(as_text=True)
    assert stored(app, Case) == []
