"""Caching: public pages that any shared cache may keep, the app's own page cache,
content-hashed static files and compressed responses (web/caching.py,
web/static_files.py). deploy/nginx.conf in front of the app: tests/test_nginx.py."""

import gzip
import os
import re
import time

import brotli
import flask
import pytest
from factories import CaseCounterFactory
from helpers import SAME_ORIGIN, csrf_from, staff_client

from extensions import cache

# Redis when the suite has one (.ci/run finds it): the rate limits' server.
STORAGE = os.environ.get("RATELIMIT_STORAGE_URI", "")
REDIS_URL = STORAGE if STORAGE.startswith("redis://") else None
CASE = "/cases/gustavo-gatica"
PUBLIC_PAGES = [
    "/",
    CASE,
    CASE + "?letter=es",
    "/es" + CASE,
    CASE + "/count",
    "/count",
    "/privacy",
    CASE + "/thanks/appeal",
    CASE + "/confirmed",
    "/api/stats",
]


def cached_app(make_app, **settings):
    """An app with the production default of 10 seconds (TestConfig turns caching off)."""
    return make_app(**{"PAGE_CACHE_SECONDS": 10, **settings})


def count_renders(app, name):
    """A list that grows by one each time the app renders the template `name`."""
    rendered = []

    def note(_sender, template, **_extra):
        if template.name == name:
            rendered.append(name)

    flask.template_rendered.connect(note, app, weak=False)
    return rendered


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_may_be_kept_by_any_shared_cache(make_app, cases, path):
    response = cached_app(make_app).test_client().get(path)
    assert response.status_code == 200
    control = response.cache_control
    assert control.public and not control.private and not control.no_store
    assert control.max_age == 10
    assert control.stale_while_revalidate == 60
    assert control.stale_if_error == 86400
    assert "Set-Cookie" not in response.headers
    vary = response.headers.get("Vary", "")
    assert "Cookie" not in vary  # one copy serves everyone
    if path != "/":  # the home page at / suggests the browser's language (test_i18n.py)
        assert "Accept-Language" not in vary  # the language is in the address


def test_cache_settings_are_read_from_the_environment(make_app, cases):
    app = make_app(PAGE_CACHE_SECONDS=30, PAGE_STALE_SECONDS=5, PAGE_STALE_IF_ERROR_SECONDS=600)
    control = app.test_client().get(CASE).cache_control
    assert (control.max_age, control.stale_while_revalidate, control.stale_if_error) == (30, 5, 600)


def test_with_caching_off_every_cache_asks_again(client, cases):
    """PAGE_CACHE_SECONDS=0 (as in TestConfig): nothing keeps a page without asking."""
    control = client.get(CASE).cache_control
    assert control.public and control.no_cache and control.max_age is None


def test_a_page_that_answers_htmx_with_a_fragment_says_so(make_app, cases):
    client = cached_app(make_app).test_client()
    page = client.get(CASE + "/thanks/appeal")
    fragment = client.get(CASE + "/thanks/appeal", headers={"HX-Request": "true"})
    assert "<html" in page.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)  # not the page kept before it
    for response in (page, fragment):
        assert "HX-Request" in response.headers["Vary"]
        assert response.cache_control.public


def test_each_language_and_each_suggestion_is_a_copy_of_its_own(make_app, cases):
    app = cached_app(make_app)
    client = app.test_client()
    suggesting = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'class="language-suggestion" lang="es"' in suggesting
    assert "language-suggestion" not in english  # not the copy made for a Spanish browser
    spanish = client.get("/es/", headers={"Accept-Language": "en"})
    assert '<html lang="es"' in spanish.get_data(as_text=True)
    assert "Accept-Language" not in spanish.headers["Vary"]


def test_the_app_renders_a_public_page_once_for_many_visitors(make_app, cases):
    app = cached_app(make_app)
    renders = count_renders(app, "public/case.html")
    visitors = [app.test_client() for _ in range(5)]
    pages = {visitor.get(CASE).get_data(as_text=True) for visitor in visitors}
    assert len(pages) == 1 and len(renders) == 1
    assert 'name="appeal-started"' in pages.pop()  # the form's time is the page's


def test_made_up_query_strings_cannot_flood_the_page_cache(make_app, cases):
    app = cached_app(make_app)
    renders = count_renders(app, "public/case.html")
    client = app.test_client()
    for n in range(20):
        page = client.get(f"{CASE}?letter=x{n}&lang=y{n}&utm_source={n}").get_data(as_text=True)
        assert "Dear National Prosecutor," in page
    assert len(renders) == 1
    assert "Estimado señor Fiscal Nacional:" in client.get(CASE + "?letter=es").get_data(
        as_text=True
    )
    assert len(renders) == 2


def test_a_cached_page_is_never_older_than_the_setting(make_app, app, cases):
    """The max-age counts down from when the app rendered the page, so the app's copy and
    a shared cache's copy of it are together never older than PAGE_CACHE_SECONDS."""
    cached = cached_app(make_app, PAGE_CACHE_SECONDS=2)
    client = cached.test_client()
    first = client.get(CASE)
    assert first.cache_control.max_age == 2
    with app.app_context():
        CaseCounterFactory(case_id=cases["gustavo-gatica"], count=7)
    kept = client.get(CASE)
    assert "<strong data-count>0</strong>" in kept.get_data(as_text=True)  # the app's copy
    assert kept.cache_control.max_age < 2
    time.sleep(2.05)
    fresh = client.get(CASE)
    assert "<strong data-count>7</strong>" in fresh.get_data(as_text=True)
    assert fresh.cache_control.max_age == 2


def close_as_admin(app, case_id):
    staff = staff_client(app, "admin", "boss@example.org")
    closed = staff.post(
        f"/admin/cases/{case_id}/close", data={"csrf_token": csrf_from(staff)}, headers=SAME_ORIGIN
    )
    assert closed.status_code == 303


def test_a_staff_change_empties_the_page_cache(make_app, cases):
    app = cached_app(make_app, PAGE_CACHE_SECONDS=60)
    public = app.test_client()
    assert "This case is closed" not in public.get(CASE).get_data(as_text=True)
    close_as_admin(app, cases["gustavo-gatica"])
    assert "This case is closed" in public.get(CASE).get_data(as_text=True)


@pytest.mark.skipif(not REDIS_URL, reason="RATELIMIT_STORAGE_URI names no Redis server")
def test_with_redis_every_process_shares_the_page_cache(make_app, cases):
    settings = {
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": "w4r-cache-test:",
        "PAGE_CACHE_SECONDS": 60,
    }
    one, other = cached_app(make_app, **settings), cached_app(make_app, **settings)
    with one.app_context():
        cache.clear()  # nothing from an earlier run
    renders = count_renders(other, "public/case.html")
    page = one.test_client().get(CASE).get_data(as_text=True)
    assert other.test_client().get(CASE).get_data(as_text=True) == page
    assert renders == []  # the other process took the page the first one kept
    close_as_admin(one, cases["gustavo-gatica"])
    assert "This case is closed" in other.test_client().get(CASE).get_data(as_text=True)


def test_error_pages_are_not_kept(make_app, cases, monkeypatch):
    app = cached_app(make_app, PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    missing = client.get("/cases/no-such-case")
    assert missing.status_code == 404 and not missing.cache_control.public

    def broken(*_args):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("blueprints.public.render_case", broken)
    failed = client.get(CASE)
    assert failed.status_code == 500
    assert not failed.cache_control.public and failed.cache_control.max_age is None
    monkeypatch.undo()
    assert client.get(CASE).status_code == 200  # nothing of the failure was kept


def test_pages_are_served_when_the_shared_cache_is_down(make_app, cases):
    app = cached_app(make_app, CACHE_TYPE="RedisCache", CACHE_REDIS_URL="redis://127.0.0.1:9/0")
    response = app.test_client().get(CASE)
    assert response.status_code == 200 and response.cache_control.max_age == 10


# Static files


def static_urls(page):
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', page)


def test_static_urls_carry_the_files_hash_and_are_kept_for_a_year(client, cases):
    urls = static_urls(client.get(CASE).get_data(as_text=True))
    assert urls and all("?v=" in url for url in urls)
    for url in urls:
        # As a browser asks: the file is closed after it is sent (no ResourceWarning).
        response = client.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        response.close()


def test_an_old_or_missing_hash_is_not_kept_for_a_year(client):
    for url in ("/static/css/site.css?v=0123456789ab", "/static/css/site.css"):
        with client.get(url) as response:
            assert response.status_code == 200
            assert "immutable" not in response.headers["Cache-Control"]


def test_a_changed_file_gets_a_new_url(app, tmp_path):
    app.static_folder = str(tmp_path)
    style = tmp_path / "style.css"
    style.write_text("body { color: black; }")
    with app.test_request_context():
        before = flask.url_for("static", filename="style.css")
        style.write_text("body { color: navy; }")
        after = flask.url_for("static", filename="style.css")
    assert before.startswith("/static/style.css?v=") and before != after


def test_the_embed_script_keeps_the_url_partners_pinned(app):
    with app.test_request_context():
        assert flask.url_for("static", filename="js/embed-1.js") == "/static/js/embed-1.js"


# Compression


def test_text_is_compressed_with_brotli_or_gzip_as_the_client_takes_it(make_app, cases):
    # One rendering for all three answers: a new one could carry a later signed form time.
    client = make_app(PAGE_CACHE_SECONDS=60).test_client()
    plain = client.get(CASE).get_data()
    as_brotli = client.get(CASE, headers={"Accept-Encoding": "gzip, deflate, br"})
    as_gzip = client.get(CASE, headers={"Accept-Encoding": "gzip"})
    assert as_brotli.headers["Content-Encoding"] == "br"
    assert brotli.decompress(as_brotli.get_data()) == plain
    assert as_gzip.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(as_gzip.get_data()) == plain
    assert len(as_gzip.get_data()) < len(plain) / 2
    assert "Accept-Encoding" in as_gzip.headers["Vary"]


def test_compression_is_left_to_a_proxy_when_turned_off(make_app, cases):
    client = make_app(COMPRESS_REGISTER=False).test_client()
    response = client.get(CASE, headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" not in response.headers.get("Vary", "")
