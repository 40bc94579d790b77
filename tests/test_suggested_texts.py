"""A case's suggested solidarity messages: staff write them per language on the case form,
`flask seed` brings the demo's, the supporter's solidarity form offers them (picked
without JavaScript too), and moderation knows them as the case's own texts."""

import sqlalchemy as sa
from case_admin import create, events, fields_of, find, post, text
from embed_pages import PAGE
from helpers import LETTER, SAME_ORIGIN, csrf_from, filled, form_values, stored

from cases.demo import CASES, demo_texts
from extensions import db
from models import BODY_MAX, Case, Letter, TextGroup
from moderation.flags import fingerprint

GUSTAVO_EN = CASES[1]["solidarity_suggestions"]["en"]


def gustavo_es():
    return demo_texts()["es"]["gustavo-gatica"]["solidarity_suggestions"]


def set_suggestions(app, slug, suggestions):
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.slug == slug))
        case.solidarity_suggestions = suggestions
        db.session.commit()


def groups(app, case_id=None):
    """{text: (suggested, decision)} of the moderation groups that keep a text."""
    with app.app_context():
        query = sa.select(TextGroup).where(TextGroup.text != "")
        if case_id is not None:
            query = query.where(TextGroup.case_id == case_id)
        rows = db.session.scalars(query)
        return {row.text: (row.suggested, row.decision) for row in rows}


def test_staff_write_the_messages_per_language_one_per_paragraph(app, admin, cases):
    gustavo = cases["gustavo-gatica"]
    page = text(admin.get(f"/admin/cases/{gustavo}/edit"))
    assert "Suggested solidarity messages (optional)" in page
    assert "Suggested solidarity messages (Spanish)" in page
    assert GUSTAVO_EN[0] in page and gustavo_es()[0] in page  # shown to edit
    fields = fields_of(
        find(app, "gustavo-gatica"),
        suggestions_en="Stay strong, Gustavo.\r\n\r\n  \r\n\r\nWe are with you,\r\nall of us.",
        suggestions_fr="",
    )
    response = post(admin, f"/admin/cases/{gustavo}/edit", fields)
    assert response.status_code == 303
    saved = find(app, "gustavo-gatica").solidarity_suggestions
    assert saved["en"] == ["Stay strong, Gustavo.", "We are with you,\nall of us."]
    assert "fr" not in saved and saved["es"] == gustavo_es()
    [(_action, _who, _id, details)] = events(app, "case.update")
    assert details["changed"] == ["solidarity_suggestions.en", "solidarity_suggestions.fr"]


def test_too_many_too_long_or_repeated_messages_are_refused_and_nothing_is_saved(app, admin, cases):
    gustavo = cases["gustavo-gatica"]
    case = find(app, "gustavo-gatica")
    long_one = "x" * (BODY_MAX["solidarity"] + 1)
    response = post(
        admin,
        f"/admin/cases/{gustavo}/edit",
        fields_of(
            case,
            suggestions_en="\r\n\r\n".join(f"Message {n}" for n in range(6)),
            suggestions_es=f"Ánimo.\r\n\r\n{long_one}",
            suggestions_tr="Güçlü kal.\r\n\r\nGüçlü kal.",
        ),
    )
    assert response.status_code == 422
    page = text(response)
    assert "Please keep to 5 messages or fewer: this has 6." in page
    assert "Message 2 is 1001 characters long: please keep each message to 1000" in page
    assert "Message 2 is the same as message 1: please write it once." in page
    assert 'id="suggestions_en" name="suggestions_en"' in page and "autofocus" in page
    assert find(app, "gustavo-gatica").solidarity_suggestions == case.solidarity_suggestions
    assert events(app, "case.update") == []


def test_only_admins_change_them_and_only_from_the_site(app, admin, moderator, cases):
    gustavo = cases["gustavo-gatica"]
    fields = fields_of(find(app, "gustavo-gatica"), suggestions_en="Hello from a forger.")
    forged = {**fields, "csrf_token": csrf_from(moderator)}
    assert moderator.post(f"/admin/cases/{gustavo}/edit", data=forged).status_code == 403
    assert post(admin, f"/admin/cases/{gustavo}/edit", fields, csrf=False).status_code == 400
    assert find(app, "gustavo-gatica").solidarity_suggestions["en"] == GUSTAVO_EN


def test_seed_fills_in_existing_demo_cases_and_never_what_staff_wrote(app, admin, runner, cases):
    # A demo case stored before there were suggestions gets them all.
    set_suggestions(app, "gustavo-gatica", {})
    result = runner.invoke(args=["seed"])
    assert "suggested messages (en)" in result.output
    saved = find(app, "gustavo-gatica").solidarity_suggestions
    assert saved["en"] == GUSTAVO_EN and saved["es"] == gustavo_es()
    assert set(saved) == {"en", "es", "fr", "ar", "tr"}
    # Staff rewrite the Spanish ones and empty the French: seed leaves both as they are.
    gustavo = cases["gustavo-gatica"]
    fields = fields_of(find(app, "gustavo-gatica"), suggestions_es="¡Fuerza!", suggestions_fr="")
    assert post(admin, f"/admin/cases/{gustavo}/edit", fields).status_code == 303
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0 and "suggested messages" not in result.output
    saved = find(app, "gustavo-gatica").solidarity_suggestions
    assert saved["es"] == ["¡Fuerza!"] and "fr" not in saved and saved["en"] == GUSTAVO_EN


def test_the_solidarity_form_offers_them_in_the_letters_language_else_english(app, client, cases):
    spanish = text(client.get("/es/cases/gustavo-gatica"))
    solidarity = spanish[spanish.index('id="solidarity-form"') :]
    assert "Usa un mensaje sugerido" in solidarity or "Use a suggested message" in solidarity
    for message in gustavo_es():
        assert f'lang="es" dir="ltr">{message}</label>' in solidarity
    assert GUSTAVO_EN[0] not in spanish
    appeal = spanish[: spanish.index('id="solidarity-form"')]
    assert 'name="appeal-suggestion"' not in appeal  # appeals have none
    # No Arabic messages: the English ones, marked as English on the Arabic page.
    set_suggestions(app, "gustavo-gatica", {"en": GUSTAVO_EN})
    arabic = text(client.get("/ar/cases/gustavo-gatica"))
    assert f'lang="en" dir="ltr">{GUSTAVO_EN[0]}</label>' in arabic
    # None at all: no group.
    set_suggestions(app, "germain-rukuki", {})
    assert 'name="solidarity-suggestion"' not in text(client.get("/cases/germain-rukuki"))


def test_the_partner_frame_offers_them_too(app, cases, partner_id, framed):
    page = text(framed.client.get(f"{PAGE}?lang=es"))
    assert f">{gustavo_es()[1]}</label>" in page
    assert 'name="solidarity-suggestion"' in page


def post_solidarity(client, prefix="", **values):
    page = text(client.get(f"{prefix}/cases/gustavo-gatica"))
    data = form_values(page, "solidarity-form")
    data = filled(data, "solidarity", {**LETTER, **values})
    return client.post(
        f"{prefix}/cases/gustavo-gatica/letters/solidarity", data=data, headers=SAME_ORIGIN
    )


def test_a_picked_message_is_sent_when_the_box_is_left_empty(app, client, cases):
    response = post_solidarity(client, prefix="/es", body="", suggestion=gustavo_es()[2])
    assert response.status_code == 200 and "<html" in text(response)
    [letter] = stored(app)
    assert letter.kind == "solidarity" and letter.body == gustavo_es()[2]
    assert letter.group_key == fingerprint(gustavo_es()[2])


def test_words_in_the_box_win_over_the_picked_message(app, client, cases):
    post_solidarity(client, body="Fuerza, Gustavo, from Leeds.", suggestion=GUSTAVO_EN[0])
    [letter] = stored(app)
    assert letter.body == "Fuerza, Gustavo, from Leeds."


def test_nothing_picked_and_nothing_written_is_refused_with_the_choice_kept(app, client, cases):
    response = post_solidarity(client, body="", name="")
    assert response.status_code == 422
    assert "Please write your message." in text(response)
    # A picked message with another field missing comes back in the box, to edit.
    response = post_solidarity(client, body="", name="", suggestion=GUSTAVO_EN[1])
    page = text(response)
    assert response.status_code == 422 and "Please tell us your name." in page
    assert f">{GUSTAVO_EN[1]}</textarea>" in page
    assert stored(app) == []


def test_a_posted_suggestion_is_checked_as_a_message_like_any_other(app, client, cases):
    too_long = "x" * (BODY_MAX["solidarity"] + 1)
    response = post_solidarity(client, body="", suggestion=too_long)
    assert response.status_code == 422 and "Please keep it to 1000 characters" in text(response)
    assert stored(app) == []


def test_case_texts_are_moderation_groups_and_a_removed_one_keeps_its_decision(app, admin, cases):
    gustavo = cases["gustavo-gatica"]
    found = groups(app, gustavo)
    for message in GUSTAVO_EN + gustavo_es():
        assert found[message] == (True, "")
    assert found[CASES[1]["appeal_templates"]["en"]] == (True, "")
    with app.app_context():
        db.session.get(TextGroup, fingerprint(GUSTAVO_EN[0])).decision = "approved"
        db.session.commit()
    # Staff take the first message off and add a new one.
    kept = "\r\n\r\n".join([*GUSTAVO_EN[1:], "A new message for Gustavo."])
    fields = fields_of(find(app, "gustavo-gatica"), suggestions_en=kept)
    assert post(admin, f"/admin/cases/{gustavo}/edit", fields).status_code == 303
    found = groups(app, gustavo)
    assert found[GUSTAVO_EN[0]] == (False, "approved")  # copies now follow "other texts"
    assert found["A new message for Gustavo."] == (True, "")
    # Put back, it is the case's own again, its decision kept.
    fields = fields_of(find(app, "gustavo-gatica"), suggestions_en="\r\n\r\n".join(GUSTAVO_EN))
    assert post(admin, f"/admin/cases/{gustavo}/edit", fields).status_code == 303
    assert groups(app, gustavo)[GUSTAVO_EN[0]] == (True, "approved")


def test_a_new_case_brings_its_groups(app, admin, cases):
    case_id = create(admin, suggestions_en="You are not alone, Ana.")
    found = groups(app, case_id)
    assert found == {
        "You are not alone, Ana.": (True, ""),
        "Dear Minister,\n\nPlease release Ana.": (True, ""),
    }


def test_markup_in_a_suggestion_is_shown_as_text(app, admin, client, cases):
    gustavo = cases["gustavo-gatica"]
    evil = '<script>alert(1)</script> "quoted" <b>bold</b>'
    fields = fields_of(find(app, "gustavo-gatica"), suggestions_en=evil, suggestions_es="")
    assert post(admin, f"/admin/cases/{gustavo}/edit", fields).status_code == 303
    staff_page = text(admin.get(f"/admin/cases/{gustavo}/edit"))
    page = text(client.get("/cases/gustavo-gatica"))
    for html in (staff_page, page):
        assert "<script>alert(1)</script>" not in html and "<b>bold</b>" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted&#34; &lt;b&gt;bold&lt;/b&gt;"
    assert f'value="{escaped}"' in page and f">{escaped}</label>" in page
    # Picked, it is sent as the text it shows.
    post_solidarity(client, body="", suggestion=evil)
    [letter] = stored(app, Letter)
    assert letter.body == evil
