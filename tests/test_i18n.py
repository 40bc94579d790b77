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


def test_the_page_language_and_direction_follow_the_visitor(make_app, cases):
    client = make_app(LANGUAGES=["en", "ar"]).test_client()
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in english
    arabic = client.get("/", headers={"Accept-Language": "ar,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in arabic
    assert "السعودية" in arabic  # country names come from the visitor's locale
