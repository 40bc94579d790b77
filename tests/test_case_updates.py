"""Case news: staff write an update, publish it on the case page (in the page's language,
else in English marked as such), and a closed case's good outcome feeds the home page's
"Letters work" (cases/updates.py, blueprints/admin/updates.py)."""

import re

import pytest
import sqlalchemy as sa
from case_admin import post
from helpers import csrf_from

from cases.demo_outcomes import CASE as CLOSED_CASE
from cases.demo_outcomes import UPDATE as CLOSED_UPDATE
from extensions import db
from models import AuditEvent, Case, CaseUpdate

GUSTAVO = "/cases/gustavo-gatica"


def update_fields(**changes):
    """A complete, valid update form; keyword arguments replace or add fields."""
    fields = {
        "title": "The court hears Gustavo's case",
        "body": "The first hearing took place today.\r\n\r\nThank you for writing.",
        "happened_on": "2025-03-14",
        "outcome": "",
        **{f"{name}_{code}": "" for name in ("title", "body") for code in ("es", "fr", "ar", "tr")},
    }
    fields.update(changes)
    return fields


def new_update(admin, case_id, **changes):
    """Post the new-update form as an admin; the update's id."""
    response = post(admin, f"/admin/cases/{case_id}/updates/new", update_fields(**changes))
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.search(r"/updates/(\d+)$", response.headers["Location"])
    return int(match.group(1))


def publish(admin, case_id, update_id):
    response = post(admin, f"/admin/cases/{case_id}/updates/{update_id}/publish", {})
    assert response.status_code == 303
    return response


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def news_section(html):
    match = re.search(r'<section aria-labelledby="news-heading".*?</section>', html, re.S)
    return match.group(0) if match else ""


def letters_work(html):
    return re.search(r'<section[^>]*id="letters-work".*?</section>', html, re.S).group(0)


def actions(app):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_a_new_update_is_a_draft_the_public_does_not_see(app, admin, client, gustavo):
    form = page(admin, f"/admin/cases/{gustavo}/updates/new")
    assert 'name="title"' in form and 'id="language-es"' in form and 'name="body_ar"' in form
    assert '<option value="released">Released</option>' in form
    update_id = new_update(admin, gustavo)
    assert "case_update.create" in actions(app)
    staff_page = page(admin, f"/admin/cases/{gustavo}/updates/{update_id}")
    assert "The court hears Gustavo&#39;s case" in staff_page and "Draft" in staff_page
    assert "The court hears" in page(admin, f"/admin/cases/{gustavo}/updates")
    public = page(client, GUSTAVO)
    assert "The court hears" not in public and 'id="news"' not in public


def test_a_published_update_shows_on_the_case_page_newest_first(app, admin, client, gustavo):
    older = new_update(admin, gustavo, title="Older news", happened_on="2024-01-02")
    newer = new_update(
        admin, gustavo, title="Charges dropped", happened_on="2025-06-30", outcome="charges_dropped"
    )
    for update_id in (older, newer):
        publish(admin, gustavo, update_id)
    news = news_section(page(client, GUSTAVO))
    assert news.index("Charges dropped") < news.index("Older news")
    assert '<time datetime="2025-06-30">June 30, 2025</time>' in news
    assert '<strong class="news-item__outcome">Charges dropped</strong>' in news
    assert "<p>The first hearing took place today.</p>" in news  # paragraphs kept
    assert actions(app).count("case_update.publish") == 2
    # Taken back to a draft, it leaves the page.
    post(admin, f"/admin/cases/{gustavo}/updates/{older}/unpublish", {})
    assert "Older news" not in page(client, GUSTAVO)
    assert "case_update.unpublish" in actions(app)


def test_the_spanish_page_reads_the_spanish_text_and_falls_back_to_english(
    app, admin, client, gustavo
):
    update_id = new_update(
        admin,
        gustavo,
        title_es="El tribunal escucha a Gustavo",
        body_es="Hoy fue la primera audiencia.",
        outcome="still_detained",
    )
    publish(admin, gustavo, update_id)
    spanish = news_section(page(client, "/es" + GUSTAVO))
    assert ">El tribunal escucha a Gustavo</h3>" in spanish
    assert "<p>Hoy fue la primera audiencia.</p>" in spanish
    assert "The court hears" not in spanish
    assert '<time datetime="2025-03-14">14 de marzo de 2025</time>' in spanish
    # Not translated into French: the English texts, each marked as English.
    french = news_section(page(client, "/fr" + GUSTAVO))
    assert re.search(r'<h3 id="news-\d+" lang="en" dir="ltr">The court hears', french)
    assert '<p lang="en" dir="ltr">The first hearing took place today.</p>' in french
    assert '<time datetime="2025-03-14">14 mars 2025</time>' in french


def test_edits_are_audited_text_by_text_and_reach_the_published_page(app, admin, client, gustavo):
    update_id = new_update(admin, gustavo)
    publish(admin, gustavo, update_id)
    path = f"/admin/cases/{gustavo}/updates/{update_id}"
    fields = update_fields(title="Hearing postponed", title_es="Audiencia aplazada")
    assert post(admin, path, fields).status_code == 303
    assert "Hearing postponed" in page(client, GUSTAVO)
    assert "Audiencia aplazada" in page(client, "/es" + GUSTAVO)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="case_update.edit"))
        assert event.details["changed"] == ["title", "translations.es.title"]
    again = post(admin, path, fields, csrf=True)
    assert again.status_code == 303
    assert "Nothing had changed" in page(admin, path)


def test_a_letter_with_problems_comes_back_on_the_page_with_its_news(admin, supporter, gustavo):
    publish(admin, gustavo, new_update(admin, gustavo, title="Still news"))
    page_again = supporter.submit("gustavo-gatica", email="not an address")
    assert page_again.status_code == 422
    assert "Still news" in news_section(page_again.get_data(as_text=True))
    fragment = supporter.submit("gustavo-gatica", htmx=True, email="not an address")
    assert fragment.status_code == 422 and "Still news" not in fragment.get_data(as_text=True)


def test_staff_text_cannot_inject_html(admin, client, gustavo):
    update_id = new_update(
        admin,
        gustavo,
        title="<script>alert(1)</script>",
        body='<img src=x onerror="alert(2)">',
        title_es="<b>negrita</b>",
    )
    publish(admin, gustavo, update_id)
    for path in (GUSTAVO, "/es" + GUSTAVO):
        html = page(client, path)
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "<b>negrita</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page(client, GUSTAVO)
    assert "&lt;b&gt;negrita&lt;/b&gt;" in page(client, "/es" + GUSTAVO)
    assert "&lt;script&gt;" in page(admin, f"/admin/cases/{gustavo}/updates")


def test_a_form_with_problems_comes_back_with_them(app, admin, gustavo):
    fields = update_fields(title="", happened_on="14/03/2025", outcome="freed-by-magic")
    response = post(admin, f"/admin/cases/{gustavo}/updates/new", fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please give the update a title." in html
    assert html.count("Please give the date like 2017-05-03.") == 2  # in the list and by the field
    assert 'id="outcome"' in html and 'aria-invalid="true"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CaseUpdate.id))) == 1  # the demo's


def test_only_a_draft_never_published_can_be_deleted(app, admin, client, gustavo):
    update_id = new_update(admin, gustavo)
    publish(admin, gustavo, update_id)
    delete = f"/admin/cases/{gustavo}/updates/{update_id}/delete"
    post(admin, delete, {})
    with app.app_context():
        assert db.session.get(CaseUpdate, update_id) is not None
    draft = new_update(admin, gustavo, title="Never mind")
    response = post(admin, f"/admin/cases/{gustavo}/updates/{draft}/delete", {})
    assert response.headers["Location"].endswith(f"/admin/cases/{gustavo}/updates")
    with app.app_context():
        assert db.session.get(CaseUpdate, draft) is None
    assert "case_update.delete" in actions(app)


def test_an_update_is_reached_through_its_own_case_only(app, admin, cases, gustavo):
    update_id = new_update(admin, gustavo)
    other = cases["germain-rukuki"]
    assert admin.get(f"/admin/cases/{other}/updates/{update_id}").status_code == 404
    response = post(admin, f"/admin/cases/{other}/updates/{update_id}/publish", {})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/cases/{case}/updates"),
        ("get", "/admin/cases/{case}/updates/new"),
        ("post", "/admin/cases/{case}/updates/new"),
        ("get", "/admin/cases/{case}/updates/{update}"),
        ("post", "/admin/cases/{case}/updates/{update}"),
        ("post", "/admin/cases/{case}/updates/{update}/publish"),
        ("post", "/admin/cases/{case}/updates/{update}/delete"),
    ],
)
def test_moderators_and_visitors_are_refused(app, admin, moderator, client, gustavo, method, path):
    update_id = new_update(admin, gustavo)
    url = path.format(case=gustavo, update=update_id)
    data = update_fields(title="Changed by someone else")
    if method == "post":
        refused = moderator.post(url, data={**data, "csrf_token": csrf_from(moderator)})
        signed_out = client.post(url, data={**data, "csrf_token": csrf_from(client)})
    else:
        refused, signed_out = moderator.get(url), client.get(url)
    assert refused.status_code == 403
    assert signed_out.status_code in (302, 303)
    assert "/admin/sign-in" in signed_out.headers["Location"]
    with app.app_context():
        update = db.session.get(CaseUpdate, update_id)
        assert update.title != "Changed by someone else" and update.published_at is None
        assert db.session.scalar(sa.select(sa.func.count(CaseUpdate.id))) == 2


def test_staff_forms_need_their_csrf_token(app, admin, gustavo):
    response = post(admin, f"/admin/cases/{gustavo}/updates/new", update_fields(), csrf=False)
    assert response.status_code == 400
    update_id = new_update(admin, gustavo)
    publish_path = f"/admin/cases/{gustavo}/updates/{update_id}/publish"
    assert post(admin, publish_path, {}, csrf=False).status_code == 400
    with app.app_context():
        assert db.session.get(CaseUpdate, update_id).published_at is None
        assert db.session.scalar(sa.select(sa.func.count(CaseUpdate.id))) == 2


def test_the_home_page_tells_the_outcomes_of_closed_cases(app, admin, client, cases, gustavo):
    work = letters_work(page(client, "/"))
    assert CLOSED_UPDATE["title"] in work and "Charges dropped" in work
    assert f'href="/cases/{CLOSED_CASE["slug"]}#news"' in work
    assert "Máxima Acuña, Peru" in work and '<time datetime="2017-05-03">' in work
    spanish = letters_work(page(client, "/es/"))
    assert "Terminó el proceso penal contra Máxima Acuña" in spanish
    assert 'href="/es/cases/maxima-acuna#news"' in spanish
    # An open case's outcome, a closed case's draft, and "still detained" are not told.
    for outcome, title in (("released", "Open case news"), ("still_detained", "Still held")):
        publish(admin, gustavo, new_update(admin, gustavo, title=title, outcome=outcome))
    germain = cases["germain-rukuki"]
    new_update(admin, germain, title="A draft outcome", outcome="released")
    close_case(app, germain)
    work = letters_work(page(client, "/"))
    for title in ("Open case news", "Still held", "A draft outcome"):
        assert title not in work


def test_a_closed_case_whose_newest_outcome_is_not_good_is_not_told(app, admin, client, cases):
    germain = cases["germain-rukuki"]
    publish(admin, germain, new_update(admin, germain, title="Germain is free", outcome="released"))
    close_case(app, germain)
    assert "Germain is free" in letters_work(page(client, "/"))
    later = {"title": "Germain arrested again", "outcome": "still_detained"}
    publish(admin, germain, new_update(admin, germain, happened_on="2025-06-02", **later))
    work = letters_work(page(client, "/"))
    assert "Germain is free" not in work and "Germain arrested again" not in work
    assert CLOSED_UPDATE["title"] in work  # the demo's closed case is still told


def test_the_home_page_says_so_when_no_case_has_closed_with_an_outcome(app, client, cases):
    with app.app_context():
        db.session.execute(sa.delete(CaseUpdate))
        db.session.commit()
    work = letters_work(page(client, "/"))
    assert "<ul" not in work and "Máxima" not in work
    assert "When a case closes, we will tell you here what became of the person" in work


def close_case(app, case_id):
    with app.app_context():
        db.session.get(Case, case_id).status = "closed"
        db.session.commit()


def test_publishing_reaches_cached_pages_at_once(make_app, cases):
    app = make_app(PAGE_CACHE_SECONDS=10)
    from helpers import staff_client

    admin = staff_client(app, "admin", "cached-admin@example.org")
    client = app.test_client()
    with app.app_context():
        gustavo = db.session.scalar(sa.select(Case.id).filter_by(slug="gustavo-gatica"))
    assert "Fresh news" not in page(client, GUSTAVO)  # now in the cache
    update_id = new_update(admin, gustavo, title="Fresh news", outcome="released")
    assert "Fresh news" not in page(client, GUSTAVO)  # a draft changes nothing
    publish(admin, gustavo, update_id)
    assert "Fresh news" in page(client, GUSTAVO)
    assert "Fresh news" not in letters_work(page(client, "/"))  # an open case: not there
    assert post(admin, f"/admin/cases/{gustavo}/close", {}).status_code == 303
    assert "Fresh news" in letters_work(page(client, "/"))
    fields = update_fields(title="Freed", outcome="released")
    assert post(admin, f"/admin/cases/{gustavo}/updates/{update_id}", fields).status_code == 303
    assert "Freed" in letters_work(page(client, "/"))  # an edit of a published update


def test_seed_adds_the_closed_case_once_and_keeps_staff_edits(app, admin, runner, cases):
    with app.app_context():
        case = db.session.scalar(sa.select(Case).filter_by(slug=CLOSED_CASE["slug"]))
        assert case.status == "closed" and case.closed_at is not None
        assert set(case.translations) == {"es", "fr", "ar", "tr"}
        update = db.session.scalar(sa.select(CaseUpdate).filter_by(case_id=case.id))
        assert update.published_at is not None and update.outcome == "charges_dropped"
        assert set(update.translations) == {"es", "fr", "ar", "tr"}
        case_id, update_id = case.id, update.id
        update.translations = {"es": update.translations["es"]}  # from before the others
        db.session.commit()
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "maxima-acuna: filled in 6 missing" in result.output  # title and text, 3 languages
    # Staff edit the demo update: seed leaves it as they left it.
    fields = update_fields(title="Staff's own title", body="Staff's own text.")
    fields["happened_on"], fields["outcome"] = "2017-05-03", "charges_dropped"
    assert post(admin, f"/admin/cases/{case_id}/updates/{update_id}", fields).status_code == 303
    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0 and "filled in" not in again.output
    assert "Closed demo case" not in again.output
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count(Case.id)).filter_by(slug="maxima-acuna")) == 1
        )
        assert (
            db.session.scalar(sa.select(sa.func.count(CaseUpdate.id)).filter_by(case_id=case_id))
            == 1
        )
        update = db.session.get(CaseUpdate, update_id)
        assert update.title == "Staff's own title" and update.translations == {}
