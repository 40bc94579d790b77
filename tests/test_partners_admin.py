"""Managing partners: the admin pages and `flask partners ...`, each change audited."""

import csv
import io
import re

import pytest
import sqlalchemy as sa
from factories import LetterFactory
from flask_babel import force_locale, gettext
from helpers import csrf_from

import partners
from extensions import db
from models import AuditEvent, Case, Partner

CASE = "gustavo-gatica"


def audit_actions(app):
    with app.app_context():
        return [
            (event.action, event.actor_email)
            for event in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
            if event.action.startswith("partner.")
        ]


def partner_row(app, slug):
    with app.app_context():
        partner = db.session.scalar(sa.select(Partner).filter_by(slug=slug))
        if partner is not None:
            db.session.expunge(partner)
        return partner


def add(app, slug="riverside", name="Riverside School", origins=("https://riverside.example",)):
    with app.app_context():
        return partners.add_partner(slug, name, list(origins)).id


def post(client, path, **data):
    token = csrf_from(client, "/admin/partners")
    return client.post(path, data={"csrf_token": token, **data})


# Origins


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://partner.example", "https://partner.example"),
        ("  HTTPS://Partner.Example/  ", "https://partner.example"),
        ("https://partner.example:443", "https://partner.example"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_kept_the_way_browsers_write_them(typed, stored):
    assert partners.normalized_origin(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "partner.example",
        "ftp://partner.example",
        "https://partner.example/page",
        "https://partner.example?x=1",
        "https://*.partner.example",
        "https://user@partner.example",
        "https://partner.example:99999",
        "https://partner.example; script-src *",
        "https://partner.example 'unsafe-inline'",
        "*",
        "'self'",
        "https://[::1]",
    ],
)
def test_anything_but_an_origin_is_refused(typed):
    with pytest.raises(partners.PartnerError, match="is not an origin"):
        partners.normalized_origin(typed)


# The admin pages


def test_admins_see_partners_in_the_navigation_and_moderators_cannot_enter(
    app, admin, moderator, cases
):
    add(app)
    for path in ("/admin/partners", "/admin/partners/riverside"):  # a partner's page too
        page = admin.get(path).get_data(as_text=True)
        assert '<a href="/admin/partners" aria-current="page">Partners</a>' in page
    assert moderator.get("/admin/partners").status_code == 403  # every route: test_permissions


def test_an_admin_adds_a_partner_and_gets_its_page(app, admin, cases):
    response = post(
        admin,
        "/admin/partners",
        name="Riverside School",
        slug="riverside",
        origins="https://riverside.example\nhttp://localhost:8080\n",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/partners/riverside"
    partner = partner_row(app, "riverside")
    assert partner.origins == ["https://riverside.example", "http://localhost:8080"]
    assert audit_actions(app) == [("partner.create", "admin@example.org")]
    listing = admin.get("/admin/partners").get_data(as_text=True)
    assert '<a href="/admin/partners/riverside">Riverside School</a>' in listing
    assert "<code>http://localhost:8080</code>" in listing


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"slug": "Has Spaces"}, "lower-case letters, digits and hyphens"),
        ({"name": ""}, "Give the partner&#39;s name"),
        ({"origins": ""}, "Give at least one origin"),
        ({"origins": "https://ok.example\nhttps://*.example"}, "is not an origin"),
        ({"slug": "taken"}, "The slug taken is taken by Taken Org"),
    ],
)
def test_a_partner_that_cannot_be_added_is_explained_and_nothing_is_stored(
    app, admin, cases, fields, message
):
    add(app, "taken", "Taken Org")
    values = {"name": "New Org", "slug": "new-org", "origins": "https://new.example", **fields}
    response = post(admin, "/admin/partners", **values)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'role="alert"' in html
    assert f'value="{values["name"]}"' in html  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Partner)) == 1


def test_the_partner_page_gives_the_snippet_a_copy_button_and_a_live_preview(app, admin, cases):
    add(app)
    html = admin.get("/admin/partners/riverside?case=germain-rukuki&lang=fr").get_data(as_text=True)
    snippet = re.search(r'<textarea id="embed-snippet"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert snippet.startswith(
        "&lt;iframe src=&#34;http://localhost/embed/riverside/germain-rukuki?lang=fr&#34;"
    )
    assert "integrity=&#34;sha384-" in snippet
    assert 'data-copy="#embed-snippet"' in html
    assert '<iframe src="/admin/partners/riverside/preview/germain-rukuki?lang=fr"' in html
    assert re.search(r'<script src="/static/js/embed-1.js" integrity="sha384-[^"]+"', html)
    # The snippet builder updates in place with htmx, and works as a plain form too.
    assert 'data-hx-select="#embed-output"' in html and 'method="get"' in html
    # A language the case has no letter in: said, and English is used. (The demo has the
    # letter in every language: its Turkish one is taken away.)
    with app.app_context():
        case = db.session.scalar(sa.select(Case).filter_by(slug="germain-rukuki"))
        case.appeal_templates = {k: v for k, v in case.appeal_templates.items() if k != "tr"}
        db.session.commit()
    other = admin.get("/admin/partners/riverside?case=germain-rukuki&lang=tr").get_data(
        as_text=True
    )
    assert "has no letter in Türkçe yet" in other
    assert "germain-rukuki&#34;" in other  # no ?lang= in the frame's address


def test_the_preview_is_framed_by_this_site_only_and_cannot_send(app, admin, cases):
    add(app)
    response = admin.get("/admin/partners/riverside/preview/gustavo-gatica?lang=es")
    assert response.status_code == 200
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    html = response.get_data(as_text=True)
    assert "with Riverside School" in html and "Estimado señor Fiscal Nacional:" in html
    assert "Sending is turned off here." in html
    assert html.count('class="button button--primary" disabled>') == 2
    assert 'name="appeal-form_token" type="hidden" value=""' in html  # nothing to spend
    assert '<meta name="w4r-parent-origins" content="http://localhost">' in html


def test_an_admin_changes_a_partners_origins_and_the_frames_follow(app, admin, client, cases):
    add(app)
    response = post(
        admin,
        "/admin/partners/riverside",
        name="Riverside High School",
        origins="https://www.riverside.example",
    )
    assert response.status_code == 303
    partner = partner_row(app, "riverside")
    assert (partner.name, partner.origins) == (
        "Riverside High School",
        ["https://www.riverside.example"],
    )
    csp = client.get(f"/embed/riverside/{CASE}").headers["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors https://www.riverside.example")
    bad = post(admin, "/admin/partners/riverside", name="X", origins="javascript:alert(1)")
    assert bad.status_code == 422 and "is not an origin" in bad.get_data(as_text=True)
    assert partner_row(app, "riverside").origins == ["https://www.riverside.example"]
    assert audit_actions(app) == [("partner.create", ""), ("partner.update", "admin@example.org")]


def test_rotating_the_stats_link_closes_the_old_one(app, admin, client, cases):
    add(app)
    old = partner_row(app, "riverside").stats_token
    page = admin.get("/admin/partners/riverside").get_data(as_text=True)
    assert f'value="http://localhost/partners/stats/{old}"' in page
    response = post(admin, "/admin/partners/riverside/rotate")
    assert response.status_code == 303
    new = partner_row(app, "riverside").stats_token
    assert new != old and len(new) >= 40
    assert client.get(f"/partners/stats/{old}").status_code == 404
    assert client.get(f"/partners/stats/{new}").status_code == 200
    assert audit_actions(app)[-1] == ("partner.rotate", "admin@example.org")


def test_removing_a_partner_stops_its_frames_and_keeps_its_figures(app, admin, client, cases):
    partner_id = add(app)
    add(app, "mistake", "Added By Mistake")
    with app.app_context():
        LetterFactory(case_id=cases[CASE], partner_id=partner_id, status="unconfirmed")
    assert post(admin, "/admin/partners/riverside/remove").status_code == 303
    assert post(admin, "/admin/partners/mistake/remove").status_code == 303
    assert client.get(f"/embed/riverside/{CASE}").status_code == 404
    assert partner_row(app, "mistake") is None  # no letters: gone entirely
    assert partner_row(app, "riverside").removed_at is not None  # its letter keeps its partner
    listing = admin.get("/admin/partners").get_data(as_text=True)
    assert 'Riverside School <span class="badge">removed</span>' in listing
    assert admin.get("/admin/partners/riverside").status_code == 404
    assert [action for action, _ in audit_actions(app)][-2:] == ["partner.remove", "partner.remove"]


def test_admins_download_letters_per_partner_and_case(app, admin, cases):
    riverside = add(app)
    formula = add(app, "formula", "=HYPERLINK(1)")
    with app.app_context():
        LetterFactory(case_id=cases[CASE], partner_id=riverside)
        LetterFactory(case_id=cases[CASE], partner_id=riverside, status="unconfirmed")
        LetterFactory(case_id=cases["germain-rukuki"], partner_id=riverside)
        LetterFactory(case_id=cases[CASE], partner_id=formula, status="unconfirmed")
        LetterFactory(case_id=cases[CASE])  # from the campaign's own site
    response = admin.get("/admin/partners/figures.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert table == [
        ["partner", "partner_name", "case", "written", "confirmed"],
        ["formula", "'=HYPERLINK(1)", CASE, "1", "0"],
        ["riverside", "Riverside School", "germain-rukuki", "1", "1"],
        ["riverside", "Riverside School", CASE, "2", "1"],
    ]
    listing = admin.get("/admin/partners").get_data(as_text=True)
    assert re.search(
        r"Riverside School</a>.*?<td class=\"num\">3</td>\s*<td class=\"num\">2</td>", listing, re.S
    )


# The command line


def test_partners_commands_add_list_snippet_rotate_and_remove(app, runner, cases):
    result = runner.invoke(
        args=[
            "partners",
            "add",
            "riverside",
            "--name",
            "Riverside School",
            "--origin",
            "https://riverside.example",
            "--origin",
            "http://localhost:8080",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Added riverside (Riverside School)" in result.output
    token = partner_row(app, "riverside").stats_token
    assert f"http://localhost/partners/stats/{token}" in result.output

    listed = runner.invoke(args=["partners", "list"]).output
    assert listed.startswith(
        "riverside\tRiverside School\thttps://riverside.example http://localhost:8080\t"
    )

    snippet = runner.invoke(args=["partners", "snippet", "riverside", CASE, "--lang", "es"]).output
    assert snippet.startswith(
        '<iframe src="http://localhost/embed/riverside/gustavo-gatica?lang=es" title="'
    )
    with app.test_request_context(), force_locale("es"):  # named in the frame's language
        assert f'title="{gettext("Write for %(name)s", name="Gustavo Gatica")}"' in snippet
    assert 'src="http://localhost/static/js/embed-1.js" integrity="sha384-' in snippet

    rotated = runner.invoke(args=["partners", "rotate", "riverside"])
    assert partner_row(app, "riverside").stats_token not in (token, None)
    assert "New stats link" in rotated.output

    removed = runner.invoke(args=["partners", "remove", "riverside"])
    assert removed.exit_code == 0 and "Removed riverside" in removed.output
    assert runner.invoke(args=["partners", "list"]).output == ""
    assert [action for action, _ in audit_actions(app)] == [
        "partner.create",
        "partner.rotate",
        "partner.remove",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "x", "--name", "X", "--origin", "https://x.example/path"], "is not an origin"),
        (["add", "x", "--name", "X"], "Missing option '--origin'"),
        (["remove", "nobody"], "No partner nobody"),
        (["snippet", "nobody", CASE], "No partner nobody"),
        (["snippet", "riverside", "secret-draft"], "No published case secret-draft"),
        (
            ["snippet", "riverside", CASE, "--lang", "xx"],
            "has no letter in 'xx'; it has: ar, en, es, fr, tr",
        ),
    ],
)
def test_partners_commands_explain_what_went_wrong(app, runner, cases, args, message):
    add(app)
    result = runner.invoke(args=["partners", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_the_snippet_needs_no_request_and_keeps_names_as_text(app, cases):
    add(app, "quotes", 'Say "hi" <b>')
    with app.app_context():
        partner = partners.find_partner("quotes")
        case = db.session.scalar(sa.select(Case).filter_by(slug=CASE))
        case.name = 'A "quoted" <name>'
        snippet = partners.snippet(partner, case)
        db.session.rollback()
    assert 'title="Write for A &#34;quoted&#34; &lt;name&gt;"' in snippet
    assert "?lang=" not in snippet  # English is the default
