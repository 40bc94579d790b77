"""A case in five languages: staff write its texts per language on the case form, see
which languages are complete, and visitors read each page in its language, with an
English text marked as such where a translation is missing."""

import re

import pytest
from case_admin import create, events, fields_of, find, post, text
from flask_babel import gettext

from cases import demo
from cases.demo import CASES, demo_texts
from extensions import db
from models import Case

SPANISH = {
    "name_es": "Ana Ejemplo",
    "summary_es": "Una estudiante encarcelada por una protesta pacífica.",
    "story_es": "Ana organizó una sentada.\r\n\r\nLa detuvieron ese mismo día.",
    "ask_es": "Liberen a Ana ya.",
    "target_title_es": "el Ministro de Justicia de Chile",
    "solidarity_prompt_es": "Dile a Ana que no está sola.",
    "appeal_es": "Señor Ministro:\r\n\r\nLibere a Ana.",
}


def published(admin, **changes):
    case_id = create(admin, **changes)
    post(admin, f"/admin/cases/{case_id}/publish", {})
    return case_id


def element_with(page, words):
    """The start tag of the element whose text starts with `words`."""
    found = re.search(r"<(\w+)([^>]*)>\s*" + re.escape(words), page)
    assert found, words
    return found.group(0)


def test_staff_write_the_spanish_texts_and_spanish_visitors_read_them(app, admin, client, cases):
    case_id = published(admin, **SPANISH)
    stored = find(app, "ana-example")
    assert stored.translations == {
        "es": {
            "name": "Ana Ejemplo",
            "summary": "Una estudiante encarcelada por una protesta pacífica.",
            "story": "Ana organizó una sentada.\n\nLa detuvieron ese mismo día.",
            "ask": "Liberen a Ana ya.",
            "target_title": "el Ministro de Justicia de Chile",
            "solidarity_prompt": "Dile a Ana que no está sola.",
        }
    }
    page = text(client.get("/es/cases/ana-example"))
    assert "<p>Ana organizó una sentada.</p><p>La detuvieron ese mismo día.</p>" in page
    assert '<h1 id="case-title">Ana Ejemplo</h1>' in page
    assert "Not yet translated" not in page
    for words in ("Ana Ejemplo", "Una estudiante", "Ana organizó", "Liberen a Ana"):
        assert "lang=" not in element_with(page, words)
    assert "Libere a Ana." in page  # the letter in the page's language
    assert "Ana Ejemplo" in text(client.get("/es/"))
    # English visitors still read English.
    assert "Ana organised a sit-in." in text(client.get("/cases/ana-example"))
    # The form shows what was stored, in a Spanish group that says it is complete.
    form = text(admin.get(f"/admin/cases/{case_id}/edit"))
    assert re.search(r'<textarea id="story_es"[^>]*lang="es"[^>]*>Ana organizó', form)
    group = form.split('id="language-es"')[1].split("</summary>")[0]
    assert "Spanish (es)" in group and "complete" in group


def in_french(app, message):
    """`message` as the French catalog says it."""
    with app.test_request_context("/fr/"):
        return gettext(message)


def test_a_text_not_yet_translated_is_english_marked_so(app, admin, client, cases):
    published(admin, story_fr="", name_fr="Ana Exemple")
    page = text(client.get("/fr/cases/ana-example"))
    assert '<h1 id="case-title">Ana Exemple</h1>' in page  # translated: no lang of its own
    story = element_with(page, "Ana organised a sit-in.")
    assert 'lang="en"' in story and 'dir="ltr"' in story
    assert 'lang="en"' in element_with(page, "A student who was jailed")  # the summary
    assert 'lang="en"' in element_with(page, "Release Ana now.")  # the ask
    assert in_french(app, "Not yet translated: this text is shown in English.") in page
    # Inside a French sentence, the English title is isolated and said to be English.
    assert re.search(
        r'<h2 id="appeal-heading">[^<]*<bdi lang="en" dir="ltr">Chile&#39;s Minister of Justice</bdi></h2>',
        page,
    )
    assert re.search(r'<h2 id="solidarity-heading">[^<]*Ana Exemple[^<]*</h2>', page)
    prompt = '<p class="hint" id="solidarity-body-hint"><bdi lang="en" dir="ltr">Tell Ana she is'
    assert prompt in page
    # The home page's card marks the English summary too, not the French name.
    home = text(client.get("/fr/"))
    assert 'lang="en"' in element_with(home, "A student who was jailed")
    assert 'lang="en"' not in element_with(home, "Ana Exemple")
    # On an Arabic page an English text also reads left to right.
    arabic = text(client.get("/ar/cases/ana-example"))
    assert 'dir="ltr"' in element_with(arabic, "Ana organised a sit-in.")


def test_translated_texts_have_the_english_checks_and_limits(app, admin, cases):
    response = post(
        admin,
        "/admin/cases/new",
        fields_of(
            find(app, "gustavo-gatica"),
            slug="new-case",
            summary_ar="سطر\nوسطر",
            story_tr="x" * 20001,
        ),
    )
    assert response.status_code == 422
    page = text(response)
    assert "Summary (Arabic): Please keep this on one line." in page  # the list at the top
    assert "Please keep the story under 20000 characters." in page
    # The groups with a problem are open; the keyboard starts on the first one.
    assert re.search(r'<details class="language-group" id="language-ar" open>', page)
    assert re.search(r'<details class="language-group" id="language-tr" open>', page)
    assert re.search(r'<details class="language-group" id="language-es">', page)
    assert re.search(r'id="summary_ar"[^>]*autofocus', page)
    assert find(app, "new-case") is None


def test_editing_one_translation_is_logged_by_language_and_text(app, admin, client, cases):
    gustavo = cases["gustavo-gatica"]
    fields = fields_of(find(app, "gustavo-gatica"), story_es="Una historia nueva.", ask_fr="")
    response = post(admin, f"/admin/cases/{gustavo}/edit", fields)
    assert response.status_code == 303
    assert events(app, "case.update")[-1][3] == {
        "slug": "gustavo-gatica",
        "changed": ["translations.es.story", "translations.fr.ask"],
    }
    assert "Una historia nueva." in text(client.get("/es/cases/gustavo-gatica"))
    french = text(client.get("/fr/cases/gustavo-gatica"))
    assert 'lang="en"' in element_with(french, "We are asking Chile")  # the ask, now English


def test_each_language_says_which_texts_it_lacks(app, admin, cases):
    case_id = create(
        admin, **SPANISH, summary_fr="Une étudiante emprisonnée.", appeal_fr="Monsieur"
    )
    form = text(admin.get(f"/admin/cases/{case_id}/edit"))
    table = form.split('class="data-table language-table"')[1].split("</table>")[0]
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>\s*<td>(.*?)</td>', table, re.S))
    assert "complete" in rows["Spanish (es)"]
    # Seven texts in English (no photo, so no photo description): French has two of them.
    assert "5 of 7 texts missing" in rows["French (fr)"]
    assert (
        "Missing: name, story, what we ask for, official&#39;s title, solidarity prompt"
        in rows["French (fr)"]
    )
    assert "7 of 7 texts missing" in rows["Arabic (ar)"]
    summary = form.split('id="language-fr"')[1].split("</summary>")[0]
    assert "5 of 7 texts missing" in summary
    # The case list says the same, language by language.
    listing = text(admin.get("/admin/cases"))
    row = listing.split("ana-example")[1].split("</tr>")[0]
    assert 'Spanish:</span> <span class="badge badge--ok">complete' in row
    assert 'French:</span> <span class="badge badge--warn">5 of 7 texts missing' in row
    # The demo cases come complete in every language.
    demo_row = listing.split("/cases/gustavo-gatica")[1].split("</tr>")[0]
    assert demo_row.count("badge--ok") == 4 and "missing" not in demo_row


def test_the_person_and_the_official_have_a_language(app, admin, client, cases):
    case_id = published(admin, person_language="fr", target_language="es", **SPANISH)
    case = find(app, "ana-example")
    assert (case.person_language, case.target_language) == ("fr", "es")
    refused = post(admin, f"/admin/cases/{case_id}/edit", fields_of(case, target_language="xx"))
    assert refused.status_code == 422 and find(app, "ana-example").target_language == "es"
    # The French page offers the official's Spanish letter, said to be theirs, and English.
    page = text(client.get("/fr/cases/ana-example"))
    links = page.split('<p class="languages">')[1].split("</p>")[0]
    assert 'href="/fr/cases/ana-example?letter=es#appeal"' in links
    official = in_french(app, "the official's language")
    assert official in links.split("letter=es")[1].split("</a>")[0]
    assert 'href="/fr/cases/ana-example?letter=en#appeal"' in links


@pytest.mark.parametrize(
    ("path", "offered", "official"),
    [
        ("/es/cases/nassima-al-sada", ["es", "ar", "en"], "ar"),
        ("/tr/cases/gustavo-gatica", ["tr", "es", "en"], "es"),
        ("/cases/germain-rukuki", ["en", "fr"], "fr"),
    ],
)
def test_the_letter_is_offered_in_the_pages_the_officials_and_english(
    client, cases, path, offered, official
):
    page = text(client.get(path))
    links = page.split('<p class="languages">')[1].split("</p>")[0]
    assert re.findall(r"letter=(\w+)#appeal", links) == offered
    marked = re.findall(
        r'letter=(\w+)#appeal[^<]*<span lang="\w+" dir="\w+">[^<]*</span> <span class="small">',
        links,
    )
    assert marked == [official]


def letter_box(page):
    return re.search(r'<textarea id="appeal-body"[^>]*>', page).group(0)


def test_the_letter_box_carries_the_letters_language_and_direction(client, cases):
    box = letter_box(text(client.get("/es/cases/nassima-al-sada?letter=ar")))
    assert 'lang="ar"' in box and 'dir="rtl"' in box
    box = letter_box(text(client.get("/ar/cases/gustavo-gatica?letter=es")))
    assert 'lang="es"' in box and 'dir="ltr"' in box
    # The solidarity message may be in any language: the browser finds its direction.
    page = text(client.get("/ar/cases/gustavo-gatica"))
    assert 'dir="auto"' in re.search(r'<textarea id="solidarity-body"[^>]*>', page).group(0)


def test_seed_loads_the_demo_in_five_languages(app, client, cases):
    languages = demo_texts()
    assert set(languages) == {"es", "fr", "ar", "tr"}  # each translator's file
    with app.app_context():
        rows = {case.slug: case for case in db.session.query(Case)}
        for data in CASES:
            case = rows[data["slug"]]
            assert set(case.translations) == set(languages)
            assert set(case.appeal_templates) == {"en", *languages}
            assert case.translations["ar"]["story"] == languages["ar"][data["slug"]]["story"]
        languages_of = {
            slug: (rows[slug].person_language, rows[slug].target_language) for slug in rows
        }
    assert languages_of["germain-rukuki"] == ("fr", "fr")
    assert languages_of["gustavo-gatica"] == ("es", "es")
    assert languages_of["nassima-al-sada"] == ("ar", "ar")
    assert languages_of["metu-pride-defenders"] == ("tr", "tr")
    page = text(client.get("/ar/cases/nassima-al-sada"))
    assert languages["ar"]["nassima-al-sada"]["name"] in page
    assert "Not yet translated" not in page


def test_seed_fills_in_missing_translations_and_keeps_staff_edits(app, admin, runner, cases):
    gustavo = cases["gustavo-gatica"]
    fields = fields_of(
        find(app, "gustavo-gatica"), story_es="Escrito por el equipo.", ask_es="", appeal_fr=""
    )
    assert post(admin, f"/admin/cases/{gustavo}/edit", fields).status_code == 303
    with app.app_context():  # as a database from before this edition's languages
        case = db.session.get(Case, cases["germain-rukuki"])
        case.translations = {"fr": {"name": "Germain Rukuki"}}
        case.person_language = "en"
        db.session.commit()
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert (
        "0 case(s) added, 4 already there; languages besides English: ar, es, fr, tr."
        in result.output
    )
    assert "germain-rukuki: filled in" in result.output and "story (es)" in result.output
    assert "person_language" in result.output and "gustavo-gatica" not in result.output
    germain, gustavo_case = find(app, "germain-rukuki"), find(app, "gustavo-gatica")
    assert set(germain.translations) == {"es", "fr", "ar", "tr"}
    assert germain.translations["fr"]["story"] == demo_texts()["fr"]["germain-rukuki"]["story"]
    assert germain.person_language == "fr"
    # What staff wrote, or emptied, stays as they left it.
    assert gustavo_case.translations["es"]["story"] == "Escrito por el equipo."
    assert "ask" not in gustavo_case.translations["es"]
    assert "fr" not in gustavo_case.appeal_templates
    again = runner.invoke(args=["seed"])
    assert "filled in" not in again.output


def test_seed_works_before_the_translations_arrive_and_takes_each_one_after(
    app, runner, monkeypatch, tmp_path
):
    files = demo.TEXTS_FOLDER
    monkeypatch.setattr(demo, "TEXTS_FOLDER", tmp_path)  # no translator has delivered yet
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "4 case(s) added, 0 already there; languages besides English: none." in first.output
    assert find(app, "germain-rukuki").translations == {}
    (tmp_path / "es.json").write_text((files / "es.json").read_text(encoding="utf-8"))
    second = runner.invoke(args=["seed"])
    assert "languages besides English: es." in second.output
    # six texts, the letter and the suggested solidarity messages
    assert "germain-rukuki: filled in 8 missing:" in second.output
    germain = find(app, "germain-rukuki")
    assert germain.translations["es"]["name"] == demo_texts()["es"]["germain-rukuki"]["name"]
    assert set(germain.appeal_templates) == {"en", "fr", "es"}


def test_seed_leaves_untranslated_a_text_whose_english_staff_changed(app, admin, runner, cases):
    """The demo's Spanish story would tell the old English one: staff translate theirs."""
    gustavo = cases["gustavo-gatica"]
    fields = fields_of(find(app, "gustavo-gatica"), story="Gustavo, as staff now tell it.")
    assert post(admin, f"/admin/cases/{gustavo}/edit", fields).status_code == 303
    with app.app_context():  # as a database from before this edition's languages
        case = db.session.get(Case, gustavo)
        case.translations = {}
        db.session.commit()
    assert runner.invoke(args=["seed"]).exit_code == 0
    translated = find(app, "gustavo-gatica").translations["es"]
    assert "story" not in translated  # shown in English, marked "not yet translated"
    assert translated["ask"] == demo_texts()["es"]["gustavo-gatica"]["ask"]
