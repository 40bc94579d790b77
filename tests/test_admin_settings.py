"""Settings: the reject-reason catalogue and the abuse word lists, as admins edit them."""

import html
import re

import pytest
import sqlalchemy as sa
from factories import RejectReasonFactory
from helpers import Supporter, csrf_from

from extensions import db
from models import AuditEvent, FlagWord, Letter, RejectReason
from moderation import flags

REASONS = ["Abuse, insults or threats", "Spam or advertising", "Unreadable or empty"]


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def reasons(app):
    """A known catalogue, in place of the migration's (the first test still sees it)."""
    with app.app_context():
        db.session.execute(sa.delete(RejectReason))
        db.session.commit()
        return [RejectReasonFactory(text=t, sort_order=n).id for n, t in enumerate(REASONS)]


def catalogue(app):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(RejectReason).order_by(RejectReason.sort_order, RejectReason.id)
        )
        return [(row.text, row.active) for row in rows]


def settings_events(app, action):
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return [(e.actor_email, e.details) for e in db.session.scalars(query)]


def reasons_form(client, ids, texts=REASONS, active=(True, True, True), new=""):
    data = {"csrf_token": csrf_from(client, "/admin/settings"), "new_reason": new}
    for reason_id, reason_text, on in zip(ids, texts, active, strict=True):
        data[f"reason-{reason_id}-text"] = reason_text
        if on:
            data[f"reason-{reason_id}-active"] = "y"
    return data


# Reject reasons


def test_the_page_lists_the_reasons_in_order(admin, reasons):
    page = text(admin.get("/admin/settings"))
    positions = [page.index(f'value="{reason}"') for reason in REASONS]
    assert positions == sorted(positions)
    assert f'<label for="reason-{reasons[0]}-text" class="visually-hidden">Reason 1</label>' in page
    assert '<a href="/admin/settings" aria-current="page">Settings</a>' in page


def test_rename_deactivate_and_add_in_one_save(app, admin, reasons):
    data = reasons_form(
        admin,
        reasons,
        texts=["Abuse or threats", "Spam or advertising", "Unreadable or empty"],
        active=(True, False, True),
        new="Written for the wrong person",
    )
    response = admin.post("/admin/settings/reasons", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith("#reasons")
    page = text(admin.get(response.headers["Location"]))
    assert "Reject reasons saved." in page
    assert catalogue(app) == [
        ("Abuse or threats", True),
        ("Spam or advertising", False),
        ("Unreadable or empty", True),
        ("Written for the wrong person", True),
    ]
    assert settings_events(app, "settings.reasons") == [
        (
            "admin@example.org",
            {
                "added": ["Written for the wrong person"],
                "renamed": [{"from": "Abuse, insults or threats", "to": "Abuse or threats"}],
                "deactivated": ["Spam or advertising"],
            },
        )
    ]


def test_saving_the_same_reasons_records_nothing(app, admin, reasons):
    response = admin.post("/admin/settings/reasons", data=reasons_form(admin, reasons))
    assert "Nothing had changed, so nothing was saved." in text(
        admin.get(response.headers["Location"])
    )
    assert settings_events(app, "settings.reasons") == []


def test_a_deactivated_reason_can_come_back(app, admin, reasons):
    admin.post(
        "/admin/settings/reasons", data=reasons_form(admin, reasons, active=(True, False, True))
    )
    admin.post("/admin/settings/reasons", data=reasons_form(admin, reasons))
    assert catalogue(app)[1] == ("Spam or advertising", True)
    assert settings_events(app, "settings.reasons")[-1][1] == {
        "reactivated": ["Spam or advertising"]
    }


def test_a_reason_added_meanwhile_by_someone_else_is_left_alone(app, admin, reasons):
    data = reasons_form(admin, reasons, texts=["Abuse", *REASONS[1:]])
    with app.app_context():
        RejectReasonFactory(text="Added by a colleague", sort_order=9)
    admin.post("/admin/settings/reasons", data=data)
    assert catalogue(app) == [
        ("Abuse", True),
        *((t, True) for t in REASONS[1:]),
        ("Added by a colleague", True),
    ]


def test_reasons_move_up_and_down(app, admin, reasons):
    token = csrf_from(admin, "/admin/settings")
    response = admin.post(
        "/admin/settings/reasons/move", data={"csrf_token": token, "move": f"{reasons[2]}:up"}
    )
    assert response.status_code == 303
    assert "Moved “Unreadable or empty” up." in text(admin.get(response.headers["Location"]))
    assert [t for t, _ in catalogue(app)] == [REASONS[0], REASONS[2], REASONS[1]]
    admin.post(
        "/admin/settings/reasons/move", data={"csrf_token": token, "move": f"{reasons[0]}:up"}
    )
    assert [t for t, _ in catalogue(app)] == [REASONS[0], REASONS[2], REASONS[1]]
    assert settings_events(app, "settings.reasons") == [
        ("admin@example.org", {"order": [REASONS[0], REASONS[2], REASONS[1]]})
    ]


def test_the_move_buttons_are_not_the_forms_default(admin, reasons):
    """Enter in a text field presses the form's first submit button: it must be Save."""
    page = text(admin.get("/admin/settings"))
    form = page[page.index('action="/admin/settings/reasons"') :]
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert 'form="reason-move"' in first_button  # it belongs to the other form
    assert 'action="/admin/settings/reasons/move"' in page


@pytest.mark.parametrize(
    ("texts", "new", "message"),
    [
        (["", REASONS[1], REASONS[2]], "", "Please enter the reason. To stop offering it, untick"),
        ([REASONS[0], REASONS[0], REASONS[2]], "", "Another reason already says this."),
        (REASONS, "spam or advertising", "Another reason already says this."),
        (REASONS, "x" * 201, "Please keep this under 200 characters."),
    ],
    ids=["empty", "duplicate", "duplicate-new", "too-long"],
)
def test_bad_reasons_are_refused_next_to_their_field_and_nothing_is_saved(
    app, admin, reasons, texts, new, message
):
    data = reasons_form(admin, reasons, texts=texts, new=new)
    data[f"reason-{reasons[2]}-text"] = "Renamed, but not saved either"
    response = admin.post("/admin/settings/reasons", data=data)
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert 'value="Renamed, but not saved either"' in page  # what was typed stays
    assert len(re.findall(r"\sautofocus", page)) == 1
    assert re.search(r'aria-invalid="true"\s+autofocus', page)
    assert catalogue(app) == [(t, True) for t in REASONS]
    assert settings_events(app, "settings.reasons") == []


def test_reason_text_is_escaped(app, admin, reasons):
    payload = '"><script>alert(1)</script>'
    admin.post("/admin/settings/reasons", data=reasons_form(admin, reasons, new=payload))
    page = text(admin.get("/admin/settings"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


# Word lists


def english_list(page):
    match = re.search(r'<textarea id="words-en"[^>]*>(.*?)</textarea>', page, re.S)
    return html.unescape(match.group(1)).splitlines()


def test_each_language_shows_its_built_in_list(admin):
    page = text(admin.get("/admin/settings"))
    for language in ("en", "es", "fr", "tr", "ar"):
        assert f'id="words-{language}"' in page
    assert english_list(page) == list(flags.DEFAULT_WORDS["en"])
    assert page.count("Built-in list</span>") == 5
    assert f"{len(flags.DEFAULT_WORDS['en'])} entries." in page


def submit_letter(client, case_slug, body, kind="solidarity"):
    supporter = Supporter(client)
    response = supporter.submit(
        case_slug, kind=kind, body=body, email=f"{abs(hash(body))}@example.org"
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def letter_flags(app, body):
    with app.app_context():
        return db.session.scalar(sa.select(Letter.flags).where(Letter.body == body))


def words_form(client, words):
    return {"csrf_token": csrf_from(client, "/admin/settings"), "words": words}


def test_a_new_word_flags_the_next_letter(app, admin, client, case_slug):
    submit_letter(client, case_slug, "Stay strong, you grifter.")
    assert letter_flags(app, "Stay strong, you grifter.") == ""
    words = "\r\n".join([*flags.DEFAULT_WORDS["en"], "grifter*", "", "  "])
    response = admin.post("/admin/settings/words/en", data=words_form(admin, words))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("#words-en-heading")
    page = text(admin.get(response.headers["Location"]))
    assert f"Word list saved: {len(flags.DEFAULT_WORDS['en']) + 1} entries." in page
    assert "Your list</span>" in page
    submit_letter(client, case_slug, "Stay strong, you grifters.")
    assert letter_flags(app, "Stay strong, you grifters.") == "abuse"
    (event,) = settings_events(app, "settings.words")
    assert event == ("admin@example.org", {"language": "en", "added": ["grifter*"]})


def test_an_admin_list_replaces_the_built_in_list_for_its_language(app, admin, client, case_slug):
    admin.post("/admin/settings/words/en", data=words_form(admin, "grifter"))
    submit_letter(client, case_slug, "You idiot.")  # a built-in word, no longer listed
    assert letter_flags(app, "You idiot.") == ""
    with app.app_context():
        assert db.session.scalars(sa.select(FlagWord.word)).all() == ["grifter"]
    event = settings_events(app, "settings.words")[0][1]
    assert event["added"] == ["grifter"] and "idiot" in event["removed"]


def test_restoring_the_built_in_list(app, admin, client, case_slug):
    admin.post("/admin/settings/words/en", data=words_form(admin, "grifter"))
    token = csrf_from(admin, "/admin/settings")
    response = admin.post("/admin/settings/words/en/restore", data={"csrf_token": token})
    assert response.status_code == 303
    page = text(admin.get(response.headers["Location"]))
    assert "The built-in list is back." in page
    assert english_list(page) == list(flags.DEFAULT_WORDS["en"])
    submit_letter(client, case_slug, "Hello grifter.")
    assert letter_flags(app, "Hello grifter.") == ""
    submit_letter(client, case_slug, "You idiot.")
    assert letter_flags(app, "You idiot.") == "abuse"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FlagWord)) == 0
    restored = settings_events(app, "settings.words")[-1][1]
    assert restored["restored"] is True and restored["removed"] == ["grifter"]
    # Restoring a list that is already the built-in one changes nothing.
    response = admin.post("/admin/settings/words/en/restore", data={"csrf_token": token})
    assert "This language already uses the built-in list." in text(
        admin.get(response.headers["Location"])
    )
    assert len(settings_events(app, "settings.words")) == 2


def test_saving_the_built_in_list_unchanged_stores_nothing(app, admin):
    words = "\n".join(flags.DEFAULT_WORDS["es"])
    response = admin.post("/admin/settings/words/es", data=words_form(admin, words))
    assert "Nothing had changed, so nothing was saved." in text(
        admin.get(response.headers["Location"])
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FlagWord)) == 0
    assert settings_events(app, "settings.words") == []


def test_repeats_are_kept_once_whatever_their_case(app, admin):
    admin.post(
        "/admin/settings/words/fr", data=words_form(admin, "Connard\nconnard\n  CONNARD  \nabruti")
    )
    with app.app_context():
        assert db.session.scalars(
            sa.select(FlagWord.word).where(FlagWord.language == "fr").order_by(FlagWord.id)
        ).all() == ["Connard", "abruti"]


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("\n  \n", "The list is empty. Add at least one word, or restore the built-in list."),
        ("idiot\n***", "Line 2 (“***”): This has no letters, so it would never match anything."),
        ("idiot\n" + "x" * 101, "Please keep this under 100 characters."),
    ],
    ids=["empty", "no-letters", "too-long"],
)
def test_a_bad_list_is_refused_with_its_text_kept(app, admin, words, message):
    response = admin.post("/admin/settings/words/en", data=words_form(admin, words))
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert re.search(r'id="words-en"[^>]*aria-invalid="true"\s+autofocus', page)
    assert "words-en-error" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FlagWord)) == 0
    assert settings_events(app, "settings.words") == []


def test_unknown_languages_are_not_found(admin):
    response = admin.post("/admin/settings/words/xx", data=words_form(admin, "word"))
    assert response.status_code == 404


def test_words_are_shown_escaped(admin):
    admin.post("/admin/settings/words/en", data=words_form(admin, "</textarea><script>x</script>"))
    page = text(admin.get("/admin/settings"))
    assert "</textarea><script>" not in page and "&lt;/textarea&gt;&lt;script&gt;" in page


# Who may do it


SETTINGS_ROUTES = [
    ("get", "/admin/settings"),
    ("post", "/admin/settings/reasons"),
    ("post", "/admin/settings/reasons/move"),
    ("post", "/admin/settings/words/en"),
    ("post", "/admin/settings/words/en/restore"),
]


@pytest.mark.parametrize(("method", "path"), SETTINGS_ROUTES)
def test_moderators_get_403(app, moderator, reasons, cases, method, path):
    token = csrf_from(moderator)  # a valid token, so that CSRF is not what stops it
    data = {"csrf_token": token, "words": "x", "move": f"{reasons[1]}:up", "new_reason": "x"}
    response = getattr(moderator, method)(path, data=data if method == "post" else None)
    assert response.status_code == 403
    assert catalogue(app) == [(t, True) for t in REASONS]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FlagWord)) == 0


@pytest.mark.parametrize("path", [path for method, path in SETTINGS_ROUTES if method == "post"])
def test_a_post_without_its_csrf_token_is_refused(app, admin, reasons, path):
    data = {"words": "grifter", "move": f"{reasons[1]}:up", "new_reason": "New one"}
    response = admin.post(path, data=data)
    assert response.status_code == 400 and "This form had expired" in text(response)
    assert catalogue(app) == [(t, True) for t in REASONS]
    assert settings_events(app, "settings.reasons") == settings_events(app, "settings.words") == []
