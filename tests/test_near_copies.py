"""Near-copies of a case's suggested texts join their group in the moderation queue, and
the group page shows what a near-copy changed (moderation/similar.py)."""

import pytest
import sqlalchemy as sa
from helpers import stored

from extensions import db
from models import TextGroup
from moderation.flags import fingerprint
from moderation.similar import diff_html, group_key_for

SUGGESTED = {
    "en": "Stay strong, Gustavo! People all over the world are standing with you and "
    "demanding justice for what was done to you.",
    "ar": "كن قوياً يا غوستافو! الناس في كل أنحاء العالم يقفون معك ويطالبون بالعدالة.",
    "short": "We are with you, Gustavo.",
}


@pytest.fixture
def suggested(app, cases, gustavo):
    """Gustavo's suggested texts as moderation/suggested.py keeps them; another case has
    one of its own."""
    with app.app_context():
        for text in SUGGESTED.values():
            db.session.add(
                TextGroup(key=fingerprint(text), text=text, case_id=gustavo, suggested=True)
            )
        other = "Courage, Germain! Burundi must set you free and let you go home."
        db.session.add(
            TextGroup(
                key=fingerprint(other), text=other, case_id=cases["germain-rukuki"], suggested=True
            )
        )
        # A supporter's text decided as a group: no text kept, never a near-copy's group.
        db.session.add(TextGroup(key=fingerprint("Free him"), case_id=gustavo, decision="approved"))
        db.session.commit()
    return {name: fingerprint(text) for name, text in SUGGESTED.items()} | {
        "other": fingerprint(other)
    }


def key(app, case_id, body, kind="solidarity"):
    with app.app_context():
        return group_key_for(case_id, kind, body, fingerprint(body))


@pytest.mark.parametrize(
    ("name", "body"),
    [
        # a name added
        (
            "en",
            "Stay strong, Gustavo! People all over the world are standing with you and "
            "demanding justice for what was done to you. Love from Ana in Valparaíso",
        ),
        # a line changed
        (
            "en",
            "Stay strong, Gustavo! Here in Leeds we are standing with you and "
            "demanding justice for what was done to you.",
        ),
        # retyped without capitals or punctuation, a word left out
        (
            "en",
            "stay strong gustavo people all over the world are standing with you demanding "
            "justice for what was done to you",
        ),
        (
            "ar",
            "كن قوياً يا غوستافو! الناس في كل أنحاء العالم يقفون معك ويطالبون بالعدالة. مع حبي، سارة",
        ),
        ("ar", "كن قويا يا غوستافو الناس في كل انحاء العالم يقفون معك"),  # without harakat, shorter
        ("short", "We are with you, Gustavo. Maria"),
        ("short", "We are all with you Gustavo!"),
    ],
)
def test_a_near_copy_joins_its_suggested_text(app, gustavo, suggested, name, body):
    assert fingerprint(body) != suggested[name]
    assert key(app, gustavo, body) == suggested[name]


@pytest.mark.parametrize(
    "body",
    [
        "Gustavo, your courage in Chile inspires me. I hope the police officers answer for it.",
        "Stay strong, Gustavo!",  # a few words of a long suggestion are a message of its own
        "We are thinking of you every day, Gustavo, and we will not stop writing.",
        "We love you.",
        "We love you so much, from all of us in Lima",
        "You are always with us in our hearts, Gustavo, wherever you are.",
        "People all over the world are reading your story: demand justice!",
        "يا غوستافو، نحن نكتب لك من تونس ونفكر فيك كل يوم.",
        # the suggested text inside a long message of one's own
        "Stay strong, Gustavo! People all over the world are standing with you and demanding "
        "justice for what was done to you. The carabineros who shot you are cowards and "
        "criminals and every one of them should rot in jail for the rest of their lives.",
    ],
)
def test_a_different_message_keeps_its_own_group(app, gustavo, suggested, body):
    assert key(app, gustavo, body) == fingerprint(body)


def test_an_exact_copy_has_the_suggested_texts_key(app, gustavo, suggested):
    assert key(app, gustavo, "  STAY STRONG Gustavo!!! " + SUGGESTED["en"][21:]) == suggested["en"]


def test_another_cases_suggestion_is_not_matched(app, cases, gustavo, suggested):
    body = "Courage, Germain! Burundi must set you free and let you go home. From Ana"
    assert key(app, gustavo, body) == fingerprint(body)
    assert key(app, cases["germain-rukuki"], body) == suggested["other"]


def test_a_case_without_suggested_texts_groups_by_fingerprint(app, cases, suggested):
    body = SUGGESTED["en"] + " Ana"
    assert key(app, cases["nassima-al-sada"], body) == fingerprint(body)


def test_a_near_copy_keeps_its_own_flags(app, supporter, case_slug, suggested):
    body = SUGGESTED["en"] + " You idiot http://spam.example"
    supporter.submit(case_slug, kind="solidarity", body=body)
    [letter] = stored(app)
    assert letter.group_key == suggested["en"] and letter.fingerprint == fingerprint(body)
    assert set(letter.flags.split(",")) >= {"abuse", "link"} and letter.flagged


def test_diff_marks_added_and_removed_words_and_escapes(app):
    group = "Stay strong, Gustavo!\nWe are with you."
    text = "Stay strong Gustavo! We are <b>all</b> with you. — Ana & Luis"
    with app.test_request_context():
        html = str(diff_html(group, text))
        same = str(diff_html(group, group))
        removed = str(diff_html(group, "Stay strong! We are with you."))
    assert "<b>" not in html
    assert (
        '<ins class="diff-ins"><span class="visually-hidden">added: </span>&lt;b&gt;all&lt;/b&gt;</ins>'
        in html
    )
    assert '<span class="visually-hidden">added: </span>— Ana &amp; Luis</ins>' in html
    assert "Stay strong Gustavo!" in html and "diff-del" not in html  # commas and capitals aside
    assert "<ins" not in same and "<del" not in same and "Gustavo!\nWe are" in same
    assert (
        '<del class="diff-del"><span class="visually-hidden">removed: </span>Gustavo!</del>'
        in removed
    )


def test_diff_shows_a_changed_line_removed_then_added(app):
    with app.test_request_context():
        html = str(
            diff_html(
                "Stay strong. You are not alone. Love", "Stay strong. My class signed this. Love"
            )
        )
    assert html.index("removed: </span>You are not alone.</del>") < html.index(
        "added: </span>My class signed this.</ins>"
    )


def test_diff_marks_an_emoji_added(app):
    with app.test_request_context():
        html = str(diff_html("We are with you.", "We are 🖕 with you."))
    assert "added: </span>🖕</ins>" in html


def test_a_suggestion_staff_add_groups_its_near_copies_at_once(make_app):
    """The case's texts are cached (PAGE_CACHE_SECONDS); saving the case forgets them."""
    from cases.manage import update_case
    from models import Case

    app = make_app(PAGE_CACHE_SECONDS=60)
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
        case = db.session.scalar(sa.select(Case).where(Case.slug == "gustavo-gatica"))
        text = "Gustavo, the whole of Santiago is proud of you. Keep your head high!"
        near = text + " Besos, Carmen"
        assert group_key_for(case.id, "solidarity", near, fingerprint(near)) == fingerprint(near)
        update_case(case, {"solidarity_suggestions": {"es": [text]}})
        assert group_key_for(case.id, "solidarity", near, fingerprint(near)) == fingerprint(text)
