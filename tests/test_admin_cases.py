"""Case management: the list, creating, publishing, closing, previewing and ordering
cases, and who may do it; and what the public then sees."""

import re

import pytest
from case_admin import NEW, case_fields, create, events, find, post, text
from helpers import Supporter, csrf_from, staff_client

from extensions import db
from models import Case

# The list, and creating a case


def test_the_list_shows_every_case_in_order_with_its_status(admin, cases):
    page = text(admin.get("/admin/cases"))
    names = ["Germain Rukuki", "Gustavo Gatica", "Nassima al-Sada", "METU Pride Defenders"]
    positions = [page.index(name) for name in names]
    assert positions == sorted(positions)
    assert "Draft Person" in page and "Draft</span>" in page and "Published</span>" in page
    assert 'href="/admin/cases/new"' in page
    assert '<a href="/admin/cases" aria-current="page">Cases</a>' in page


def test_a_new_case_is_a_draft_the_public_cannot_see(app, admin, client, cases):
    case_id = create(admin)
    edit = admin.get(f"/admin/cases/{case_id}/edit")
    page = text(edit)
    assert "Case created as a draft: the public cannot see it until you publish it." in page
    assert 'value="ana-example"' in page and "Draft</span>" in page
    case = find(app, "ana-example")
    assert case.status == "draft" and case.goal == 25000 and case.sort_order == 9
    assert case.story == "Ana organised a sit-in.\n\nShe was arrested the same day."
    assert case.appeal_templates == {"en": "Dear Minister,\n\nPlease release Ana."}
    # Invisible everywhere the public looks.
    assert client.get("/cases/ana-example").status_code == 404
    assert "Ana Example" not in text(client.get("/"))
    assert "ana-example" not in text(client.get("/api/stats"))
    assert client.post("/cases/ana-example/letters/appeal").status_code in (400, 404)
    assert events(app, "case.create") == [
        (
            "case.create",
            "admin@example.org",
            case_id,
            {"slug": "ana-example", "name": "Ana Example"},
        )
    ]


def test_new_case_form_starts_at_the_end_of_the_order(admin, cases):
    page = text(admin.get(NEW))
    assert re.search(r'id="sort_order"[^>]*value="6"', page)  # after the demo's 1 to 5
    assert re.search(r'id="goal"[^>]*value="10000"', page)
    assert re.search(r'<select id="country"[^>]*>\s*<option value="">Choose the country', page)
    assert "<option value=CL>Chile" in page
    assert 'enctype="multipart/form-data"' in page


def test_publish_then_close_is_what_the_public_sees(app, admin, client, cases):
    case_id = create(admin)
    response = post(admin, f"/admin/cases/{case_id}/publish", {})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/cases"
    listing = text(admin.get("/admin/cases"))
    assert "Published. It is open for letters. The public site shows it now." in listing
    public = text(client.get("/cases/ana-example"))
    assert "Ana Example" in public and 'id="appeal-form"' in public
    assert "Dear Minister," in public and "Tell Ana she is not alone." in public
    assert "Ana Example" in text(client.get("/"))
    supporter = Supporter(client)
    form = supporter.form_fields("ana-example", "appeal")  # a form opened before the close

    response = post(admin, f"/admin/cases/{case_id}/close", {"back": "edit"})
    assert response.headers["Location"] == f"/admin/cases/{case_id}/edit"
    assert "Closed. Its page stays online but takes no more letters." in text(
        admin.get(response.headers["Location"])
    )
    closed = text(client.get("/cases/ana-example"))
    assert "This case is closed" in closed and 'id="appeal-form"' not in closed
    assert supporter.submit("ana-example", fields=form).status_code == 409
    assert [e[0] for e in events(app)] == ["case.create", "case.publish", "case.close"]
    assert events(app, "case.close")[0][3] == {"slug": "ana-example", "previous": "published"}


def test_reopening_a_closed_case_takes_letters_again(app, admin, client, cases):
    gustavo = cases["gustavo-gatica"]
    post(admin, f"/admin/cases/{gustavo}/close", {})
    assert "This case is closed" in text(client.get("/cases/gustavo-gatica"))
    post(admin, f"/admin/cases/{gustavo}/publish", {})
    assert 'id="appeal-form"' in text(client.get("/cases/gustavo-gatica"))
    assert events(app, "case.publish")[0][3]["previous"] == "closed"


def test_status_changes_that_make_no_sense_change_nothing(app, admin, cases):
    draft = cases["secret-draft"]
    response = post(admin, f"/admin/cases/{draft}/close", {}, htmx=True)
    assert response.status_code == 200
    assert "Only a published case can be closed." in text(response)
    assert find(app, "secret-draft").status == "draft"
    published = cases["gustavo-gatica"]
    response = post(admin, f"/admin/cases/{published}/publish", {}, htmx=True)
    assert "That case is already published." in text(response)
    assert events(app) == []


def test_htmx_status_change_answers_with_the_table_only(admin, cases):
    response = post(admin, f"/admin/cases/{cases['secret-draft']}/publish", {}, htmx=True)
    page = text(response)
    assert response.status_code == 200 and "<html" not in page
    assert page.startswith('<div id="cases-table"')
    assert "Published. It is open for letters." in page
    assert "HX-Request" in response.headers["Vary"]


# Preview


def test_preview_shows_a_draft_to_staff_only_and_is_not_indexed(app, admin, client, cases):
    draft = cases["secret-draft"]
    response = admin.get(f"/admin/cases/{draft}/preview")
    page = text(response)
    assert response.status_code == 200
    assert "Draft Person" in page and "Draft story." in page
    assert "This case is a draft: the public cannot see this page." in page
    assert "<title>Preview: " in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Cache-Control"] == "no-store"
    assert "data-preview" in page  # admin.js stops its forms from sending
    # Not for anyone else: signed out goes to sign-in, and the public page does not exist.
    signed_out = client.get(f"/admin/cases/{draft}/preview")
    assert signed_out.status_code == 302 and "/admin/sign-in" in signed_out.headers["Location"]
    assert client.get("/cases/secret-draft").status_code == 404


def test_preview_of_a_published_case_offers_its_languages(admin, cases):
    page = text(admin.get(f"/admin/cases/{cases['gustavo-gatica']}/preview?lang=es"))
    assert "This case is published: this is what the public sees." in page
    assert "Estimado señor Fiscal Nacional:" in page


def test_preview_is_never_taken_from_the_page_cache(make_app, cases):
    app = make_app(PAGE_CACHE_SECONDS=60)
    client = staff_client(app, "admin", "boss@example.org")
    assert "Draft story." in text(client.get(f"/admin/cases/{cases['secret-draft']}/preview"))
    with app.app_context():
        db.session.get(Case, cases["secret-draft"]).story = "Rewritten story."
        db.session.commit()
    assert "Rewritten story." in text(client.get(f"/admin/cases/{cases['secret-draft']}/preview"))


# Order


def test_moving_a_case_changes_the_home_page_order(app, admin, client, cases):
    response = post(admin, f"/admin/cases/{cases['gustavo-gatica']}/move", {"direction": "up"})
    assert response.status_code == 303
    assert "Moved Gustavo Gatica up." in text(admin.get("/admin/cases"))
    home = text(client.get("/"))
    assert home.index("Gustavo Gatica") < home.index("Germain Rukuki")
    assert events(app, "case.update")[0][3] == {
        "slug": "gustavo-gatica",
        "changed": ["sort_order"],
        "moved": "up",
    }


def test_moving_with_htmx_swaps_the_table_and_stops_at_the_ends(app, admin, cases):
    first = text(admin.get("/admin/cases")).index("Draft Person")
    assert first  # the draft has sort_order 0: it comes first
    response = post(
        admin, f"/admin/cases/{cases['secret-draft']}/move", {"direction": "up"}, htmx=True
    )
    assert response.status_code == 200 and "<html" not in text(response)
    assert "Draft Person is already first." in text(response)
    assert events(app) == []
    response = post(
        admin, f"/admin/cases/{cases['secret-draft']}/move", {"direction": "down"}, htmx=True
    )
    page = text(response)
    assert "Moved Draft Person down." in page
    page = page[page.index("<table") :]
    assert page.index("Germain Rukuki") < page.index("Draft Person") < page.index("Gustavo Gatica")


def test_a_move_needs_a_direction(admin, cases):
    response = post(
        admin, f"/admin/cases/{cases['gustavo-gatica']}/move", {"direction": "sideways"}
    )
    assert response.status_code == 400


# Who may do it


CASE_ROUTES = [
    ("get", "/admin/cases"),
    ("get", NEW),
    ("post", NEW),
    ("get", "/admin/cases/{id}/edit"),
    ("post", "/admin/cases/{id}/edit"),
    ("get", "/admin/cases/{id}/preview"),
    ("post", "/admin/cases/{id}/publish"),
    ("post", "/admin/cases/{id}/close"),
    ("post", "/admin/cases/{id}/move"),
]


@pytest.mark.parametrize(("method", "path"), CASE_ROUTES)
def test_moderators_get_403_on_every_case_route(app, moderator, cases, method, path):
    path = path.format(id=cases["secret-draft"])
    token = csrf_from(moderator)  # a valid token, so that CSRF is not what stops it
    data = {"csrf_token": token} if method == "post" else None
    response = getattr(moderator, method)(path, data=data)
    assert response.status_code == 403
    assert find(app, "secret-draft").status == "draft" and events(app) == []


@pytest.mark.parametrize(("method", "path"), CASE_ROUTES)
def test_signed_out_visitors_go_to_sign_in(client, cases, method, path):
    response = getattr(client, method)(path.format(id=cases["secret-draft"]))
    assert response.status_code in (302, 400)  # a POST without a token stops at CSRF first
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/admin/sign-in")


@pytest.mark.parametrize(
    "path", ["/admin/cases/new", "/admin/cases/{id}/edit", "/admin/cases/{id}/publish"]
)
def test_a_post_without_its_csrf_token_is_refused(app, admin, cases, path):
    response = post(admin, path.format(id=cases["secret-draft"]), case_fields(), csrf=False)
    assert response.status_code == 400
    assert "This form had expired" in text(response)
    assert find(app, "ana-example") is None and find(app, "secret-draft").status == "draft"
    assert events(app) == []


def test_htmx_may_send_the_csrf_token_as_a_header(app, admin, cases):
    token = csrf_from(admin, "/admin/cases")
    response = admin.post(
        f"/admin/cases/{cases['secret-draft']}/publish",
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200 and find(app, "secret-draft").status == "published"
