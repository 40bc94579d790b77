"""The letter form framed on a partner's site: the page and its forms, the headers that
let only the partner's origins frame it, nothing from the query string on the page, and
the snippet and script the partner pastes."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from embed_pages import CASE, PAGE, RIVERSIDE, frame_ancestors
from factories import PartnerFactory
from flask_babel import force_locale, gettext

import partners
from extensions import db
from models import Case


def test_framed_page_shows_the_case_the_partner_and_both_forms(client, partner_id):
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "with Riverside School" in html
    assert "Gustavo Gatica" in html and "Dear National Prosecutor," in html
    for kind in ("appeal", "solidarity"):
        assert (
            f'action="{PAGE}/letters/{kind}"' in html
            and f'data-hx-post="{PAGE}/letters/{kind}"' in html
        )
        assert f'name="{kind}-form_token"' in html
    # No cookie is set or needed: the form token stands in for the CSRF token.
    assert "csrf_token" not in html and "X-CSRFToken" not in html
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"  # single-use tokens inside
    assert (
        '<meta name="w4r-parent-origins" content="https://riverside.example http://localhost:8080">'
        in html
    )
    assert " style=" not in html and "<script>" not in html and "<style" not in html


def test_framed_page_may_be_framed_by_exactly_the_partners_origins(client, partner_id):
    response = client.get(PAGE)
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"
    assert "X-Frame-Options" not in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "https://evil.example", "Referer": "https://evil.example/"},
    ],
)
def test_the_requests_origin_or_referer_never_reaches_the_policy(client, partner_id, headers):
    response = client.get(PAGE, headers=headers)
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"
    assert "evil" not in response.headers["Content-Security-Policy"]


def test_unknown_and_removed_partners_pages_cannot_be_framed(app, client, partner_id):
    for path in ("/embed/nobody/gustavo-gatica", "/embed/nobody/gustavo-gatica/thanks/appeal"):
        response = client.get(path, headers={"Origin": "https://riverside.example"})
        assert response.status_code == 404
        assert frame_ancestors(response) == "'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
    with app.app_context():
        partners.remove_partner(partners.find_partner("riverside"))
    response = client.get(PAGE)
    assert response.status_code == 404 and frame_ancestors(response) == "'none'"


@pytest.mark.parametrize("path", ["/", f"/cases/{CASE}", "/privacy", "/admin/sign-in", "/nowhere"])
def test_every_other_page_keeps_frame_ancestors_none(client, partner_id, path):
    response = client.get(path)
    assert frame_ancestors(response) == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_an_unknown_case_is_not_found_inside_the_partners_frame(client, partner_id):
    for path in ("/embed/riverside/secret-draft", "/embed/riverside/nobody"):
        response = client.get(path)
        assert response.status_code == 404
        assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"


@pytest.mark.parametrize(
    "query",
    [
        "lang=<script>alert(1)</script>",
        "lang=es%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        "color=red;&background=url(https://evil.example/x)",
        "css=}body{display:none}&style=color:red",
        "partner=zq-other&theme=%3C/style%3E",
    ],
)
def test_nothing_from_the_query_string_reaches_the_page(client, partner_id, query):
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for value in (
        "alert(1)",
        "red;",
        "evil.example",
        "display:none",
        "color:red",
        "zq-other",
        "</style>",
    ):
        assert value not in html
    assert "Dear National Prosecutor," in html  # an unknown language falls back to English
    assert 'name="appeal-language" type="hidden" value="en"' in html
    assert "<style" not in html and " style=" not in html
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"


def test_the_snippet_sets_the_letters_language(client, partner_id):
    html = client.get(f"{PAGE}?lang=es").get_data(as_text=True)
    assert "Estimado señor Fiscal Nacional:" in html
    assert 'name="appeal-language" type="hidden" value="es"' in html


def test_the_page_speaks_the_snippets_language_when_the_site_has_it(make_app, cases):
    app = make_app(LANGUAGES=["en", "ar"])
    with app.app_context():
        PartnerFactory(**RIVERSIDE)
    client = app.test_client()
    page = "/embed/riverside/nassima-al-sada?lang=ar"
    html = client.get(page, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html
    english = client.get("/embed/riverside/nassima-al-sada", headers={"Accept-Language": "en"})
    assert '<html lang="en" dir="ltr"' in english.get_data(as_text=True)


# The snippet and its script


def test_the_snippet_frames_the_form_and_pins_its_script(app, client, partner_id):
    with app.app_context():
        case = db.session.scalar(sa.select(Case).filter_by(slug=CASE))
        snippet = partners.snippet(partners.find_partner("riverside"), case, "es")
        with force_locale("es"):  # the frame's name is in the frame's language
            title = gettext("Write for %(name)s", name=case.in_language("es").name)
    frame, script = snippet.split("\n")
    assert frame == (
        '<iframe src="http://localhost/embed/riverside/gustavo-gatica?lang=es" '
        f'title="{title}" width="100%" height="900" loading="lazy" '
        "data-w4r-embed></iframe>"
    )
    assert " style=" not in snippet and not re.search(r" on\w+=", snippet)  # strict-CSP safe
    src = re.search(r'<script src="([^"]+)"', script).group(1)
    assert src == "http://localhost/static/js/embed-1.js"
    assert 'crossorigin="anonymous" async></script>' in script
    with client.get("/static/js/embed-1.js") as served:
        assert served.headers["Access-Control-Allow-Origin"] == "*"  # SRI elsewhere needs CORS
        digest = base64.b64encode(hashlib.sha384(served.get_data()).digest()).decode()
    assert f'integrity="sha384-{digest}"' in script
    with client.get("/static/js/site.js") as other:
        assert "Access-Control-Allow-Origin" not in other.headers


def test_the_scripts_check_origins_both_ways(app):
    """The browser tests show them working; this pins the checks that keep them safe."""
    static = Path(app.static_folder) / "js"
    parent = (static / "embed-1.js").read_text()
    assert "if (event.origin !== appOrigin) return;" in parent
    assert "each.contentWindow === event.source" in parent
    assert 'typeof data.type !== "string"' in parent and "isFinite(value)" in parent
    frame = (static / "embed-frame.js").read_text()
    assert re.findall(r"postMessage\(([^)]*)\)", frame) == ["message, target"]
    assert "allowed.indexOf(candidates[i]) !== -1" in frame
