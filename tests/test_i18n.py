"""Every user-facing string is marked for translation, so a new language is only a catalog."""

from pathlib import Path

from babel.messages.extract import extract_from_dir

ROOT = Path(__file__).resolve().parent.parent


def extracted():
    method_map = [
        ("tests/**", "ignore"),
        (".venv/**", "ignore"),
        ("bench/**", "ignore"),
        ("**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    keywords = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=keywords
    ):
        found.update(message if isinstance(message, tuple) else (message,))
    return found


def test_the_supporter_path_is_marked_for_translation():
    messages = extracted()
    for text in [
        "Your words can set people free",  # home
        "Write to %(target)s",  # case page
        "Send my appeal",
        "Please tell us your name.",  # form errors
        "Please enter a valid email address, like name@example.org.",
        "Thank you! Please check your inbox.",  # thank-you panel
        "Please confirm your letter for %(name)s",  # email subject
        "Hello,",  # email body
        "This link has expired",  # confirm page
        "We could not find that page. It may have moved, or the case may be closed.",
        "message sent",  # counters (plural)
    ]:
        assert text in messages, f"not marked for translation: {text!r}"


def test_the_language_is_in_the_address(client, cases):
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in english
    arabic = client.get("/ar/").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in arabic
    assert "السعودية" in arabic  # country names come from the page's locale
    spanish = client.get("/es/cases/gustavo-gatica").get_data(as_text=True)
    assert '<html lang="es" dir="ltr"' in spanish
    assert 'action="/es/cases/gustavo-gatica/letters/appeal"' in spanish  # links keep it


def test_a_browser_language_does_not_change_a_page_it_did_not_ask_for(client, cases):
    """Each address is one document: a Spanish browser on an English case page gets the
    English page (with a switcher), so that any cache can keep it."""
    response = client.get("/cases/gustavo-gatica", headers={"Accept-Language": "es"})
    assert '<html lang="en"' in response.get_data(as_text=True)
    assert "Accept-Language" not in response.headers.get("Vary", "")


def test_english_has_one_address(client, cases):
    response = client.get("/en/cases/gustavo-gatica")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/cases/gustavo-gatica")


def test_a_language_the_site_does_not_have_is_not_found(client, cases):
    assert client.get("/de/cases/gustavo-gatica").status_code == 404
    assert client.get("/xx/").status_code == 404


def test_the_home_page_suggests_the_browsers_language(client, cases):
    response = client.get("/", headers={"Accept-Language": "ar,en;q=0.5"})
    page = response.get_data(as_text=True)
    assert '<html lang="en"' in page  # the suggestion hides nothing
    assert 'class="language-suggestion" lang="ar" dir="rtl"' in page
    assert 'href="/ar/" hreflang="ar"' in page
    assert "Accept-Language" in response.headers["Vary"]
    french = client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9"}).get_data(as_text=True)
    assert 'class="language-suggestion" lang="fr"' in french  # not the Arabic copy
    english = client.get("/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "language-suggestion" not in english


def test_every_public_page_links_to_itself_in_every_language(client, cases):
    page = client.get("/tr/cases/metu-pride-defenders").get_data(as_text=True)
    for code, path in [("en", "/"), ("es", "/es/"), ("fr", "/fr/"), ("ar", "/ar/"), ("tr", "/tr/")]:
        href = f"http://localhost{path}cases/metu-pride-defenders"
        assert f'<link rel="alternate" hreflang="{code}" href="{href}">' in page
        assert f'<a href="{path}cases/metu-pride-defenders" hreflang="{code}" lang="{code}"' in page
    assert '<link rel="alternate" hreflang="x-default" href="http://localhost/cases/' in page
    assert 'hreflang="tr" lang="tr" aria-current="page"' in page


def test_staff_pages_stay_in_english_without_language_links(client):
    page = client.get("/admin/sign-in", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in page
    assert "hreflang" not in page


def test_a_missing_page_under_a_language_is_in_that_language(client, cases):
    response = client.get("/ar/no-such-page")
    assert response.status_code == 404
    assert '<html lang="ar" dir="rtl"' in response.get_data(as_text=True)
