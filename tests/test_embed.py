"""The letter form framed on a partner's site: headers, the cookie-free form token, the
attacks it must refuse, attribution, and the partner's private stats page."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from factories import LetterFactory, PartnerFactory
from helpers import Supporter, hidden_value, rendered
from itsdangerous import timed
from sqlalchemy.exc import OperationalError

import letters
import partners
from extensions import db
from models import Case, Letter, Outbox, Partner, UsedFormToken, utcnow

CASE = "gustavo-gatica"
PAGE = f"/embed/riverside/{CASE}"
ORIGINS = ["https://riverside.example", "http://localhost:8080"]
# What a browser sends when the framed page itself posts (the test client's host is localhost).
FROM_THE_FRAME = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


RIVERSIDE = {"slug": "riverside", "name": "Riverside School", "origins": ORIGINS}
UNION = {"slug": "union", "name": "The Union", "origins": ["https://union.example"]}


@pytest.fixture
def partner_id(app, cases):
    with app.app_context():
        return PartnerFactory(**RIVERSIDE).id


def stored(app, model=Letter):
    with app.app_context():
        rows = db.session.scalars(sa.select(model)).all()
        db.session.expunge_all()
        return rows


class FramedSupporter(Supporter):
    """Fills in the framed form as a browser inside the partner's frame would: no cookie,
    the form token from the page, and the headers a same-origin post carries."""

    def __init__(self, client, page=PAGE):
        super().__init__(client)
        self.page = page

    def form_fields(self, page=None, kind="appeal"):
        html = self.client.get(page or self.page).get_data(as_text=True)
        return {
            f"{kind}-form_token": hidden_value(html, f"{kind}-form_token"),
            f"{kind}-language": hidden_value(html, f"{kind}-language"),
        }

    def send(
        self, kind="appeal", fields=None, headers=FROM_THE_FRAME, htmx=False, page=None, **values
    ):
        data = self.form_fields(kind=kind) if fields is None else dict(fields)
        defaults = {
            "name": "Ada Lovelace",
            "email": "ada@example.org",
            "country": "GB",
            "body": "Please release him now.",
            "consent_privacy": "y",
        }
        for key, value in {**defaults, **values}.items():
            if value is not None:
                data[f"{kind}-{key}"] = value
        headers = {**headers, **(HTMX if htmx else {})}
        return self.client.post(f"{page or self.page}/letters/{kind}", data=data, headers=headers)


@pytest.fixture
def framed(app):
    return FramedSupporter(app.test_client())


def frame_ancestors(response):
    csp = response.headers["Content-Security-Policy"]
    return re.search(r"frame-ancestors ([^;]*)", csp).group(1)


# The framed page


def test_framed_page_shows_the_case_the_partner_and_both_forms(client, partner_id):
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "with Riverside School" in html
    assert "Gustavo Gatica" in html and "Dear National Prosecutor," in html
    for kind in ("appeal", "solidarity"):
        assert (
            f'action="{PAGE}/letters/{kind}"' in html
            and f'data-hx-post="{PAGE}/letters/{kind}"' in html
        )
        assert f'name="{kind}-form_token"' in html
    # No cookie is set or needed: the form token stands in for the CSRF token.
    assert "csrf_token" not in html and "X-CSRFToken" not in html
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"  # single-use tokens inside
    assert (
        '<meta name="w4r-parent-origins" content="https://riverside.example http://localhost:8080">'
        in html
    )
    assert " style=" not in html and "<script>" not in html and "<style" not in html


def test_framed_page_may_be_framed_by_exactly_the_partners_origins(client, partner_id):
    response = client.get(PAGE)
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"
    assert "X-Frame-Options" not in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "https://evil.example", "Referer": "https://evil.example/"},
    ],
)
def test_the_requests_origin_or_referer_never_reaches_the_policy(client, partner_id, headers):
    response = client.get(PAGE, headers=headers)
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"
    assert "evil" not in response.headers["Content-Security-Policy"]


def test_unknown_and_removed_partners_pages_cannot_be_framed(app, client, partner_id):
    for path in ("/embed/nobody/gustavo-gatica", "/embed/nobody/gustavo-gatica/thanks/appeal"):
        response = client.get(path, headers={"Origin": "https://riverside.example"})
        assert response.status_code == 404
        assert frame_ancestors(response) == "'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
    with app.app_context():
        partners.remove_partner(partners.find_partner("riverside"))
    response = client.get(PAGE)
    assert response.status_code == 404 and frame_ancestors(response) == "'none'"


@pytest.mark.parametrize("path", ["/", f"/cases/{CASE}", "/privacy", "/admin/sign-in", "/nowhere"])
def test_every_other_page_keeps_frame_ancestors_none(client, partner_id, path):
    response = client.get(path)
    assert frame_ancestors(response) == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_an_unknown_case_is_not_found_inside_the_partners_frame(client, partner_id):
    for path in ("/embed/riverside/secret-draft", "/embed/riverside/nobody"):
        response = client.get(path)
        assert response.status_code == 404
        assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"


@pytest.mark.parametrize(
    "query",
    [
        "lang=<script>alert(1)</script>",
        "lang=es%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        "color=red;&background=url(https://evil.example/x)",
        "css=}body{display:none}&style=color:red",
        "partner=zq-other&theme=%3C/style%3E",
    ],
)
def test_nothing_from_the_query_string_reaches_the_page(client, partner_id, query):
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for value in (
        "alert(1)",
        "red;",
        "evil.example",
        "display:none",
        "color:red",
        "zq-other",
        "</style>",
    ):
        assert value not in html
    assert "Dear National Prosecutor," in html  # an unknown language falls back to English
    assert 'name="appeal-language" type="hidden" value="en"' in html
    assert "<style" not in html and " style=" not in html
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"


def test_the_snippet_sets_the_letters_language(client, partner_id):
    html = client.get(f"{PAGE}?lang=es").get_data(as_text=True)
    assert "Estimado señor Fiscal Nacional:" in html
    assert 'name="appeal-language" type="hidden" value="es"' in html


def test_the_page_speaks_the_snippets_language_when_the_site_has_it(make_app, cases):
    app = make_app(LANGUAGES=["en", "ar"])
    with app.app_context():
        PartnerFactory(**RIVERSIDE)
    client = app.test_client()
    page = "/embed/riverside/nassima-al-sada?lang=ar"
    html = client.get(page, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html
    english = client.get("/embed/riverside/nassima-al-sada", headers={"Accept-Language": "en"})
    assert '<html lang="en" dir="ltr"' in english.get_data(as_text=True)


# Sending a letter from the frame


def test_a_letter_from_the_frame_is_stored_with_its_partner(app, framed, partner_id):
    response = framed.send(htmx=True, body="Free him ✊")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="appeal-thanks"' in html
    assert "Thank you! Please check your inbox." in html
    # The next step stays in the frame; the campaign's other pages open a new tab.
    assert 'href="#solidarity"' in html
    assert 'href="/#cases" target="_blank"' in html
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"
    assert "Set-Cookie" not in response.headers
    [letter] = stored(app)
    assert (letter.partner_id, letter.kind, letter.body) == (partner_id, "appeal", "Free him ✊")
    assert letter.status == "unconfirmed"
    [email] = stored(app, Outbox)
    assert email.template == "confirm" and email.recipient == "ada@example.org"
    subject, text, _html = rendered(app, email)
    assert subject == "Please confirm your letter for Gustavo Gatica"  # the site's own email
    assert "/confirm/" in text


def test_without_javascript_the_frame_posts_then_shows_its_own_thank_you_page(
    app, client, framed, partner_id
):
    fields = framed.form_fields(f"{PAGE}?lang=es")
    response = framed.send(fields=fields, body="Libérenlo.")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}/thanks/appeal?lang=es"
    thanks = client.get(response.headers["Location"])
    html = thanks.get_data(as_text=True)
    assert "<html" in html and "Thank you! Please check your inbox." in html
    assert "with Riverside School" in html
    assert f'href="{PAGE}?lang=es#solidarity"' in html  # back to the framed form
    assert frame_ancestors(thanks) == "https://riverside.example http://localhost:8080"
    [letter] = stored(app)
    assert letter.partner_id == partner_id and letter.language == "es"


def test_a_mistake_comes_back_in_the_frame_and_the_same_token_still_works(app, framed, partner_id):
    fields = framed.form_fields()
    response = framed.send(fields=fields, htmx=True, email="ada@", name="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Please check 2 things:" in html
    assert 'id="appeal-problem" role="alert" tabindex="-1" autofocus data-announce' in html
    assert "Error: </span>Please tell us your name." in html
    assert 'aria-invalid="true"' in html and 'href="#appeal-email"' in html
    assert hidden_value(html, "appeal-form_token") == fields["appeal-form_token"]
    assert stored(app) == []
    assert framed.send(fields=fields, htmx=True).status_code == 200
    assert len(stored(app)) == 1


def test_the_email_check_works_in_the_frame_without_a_cookie(client, partner_id):
    response = client.post(
        f"{PAGE}/letters/appeal/check-email", data={"appeal-email": "nope"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "valid email address" in response.get_data(as_text=True)


def test_a_closed_case_takes_no_letters_in_the_frame(app, framed, partner_id, cases):
    fields = framed.form_fields()
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE cases SET status = 'closed' WHERE slug = :s"), {"s": CASE}
        )
        db.session.commit()
    response = framed.send(fields=fields, htmx=True)
    assert response.status_code == 409
    assert "This case is closed" in response.get_data(as_text=True)
    assert stored(app) == []


def test_a_letter_sent_at_once_from_the_frame_is_kept_flagged_fast(make_app, cases):
    app = make_app(MIN_FILL_SECONDS=3)
    with app.app_context():
        PartnerFactory(**RIVERSIDE)
    framed = FramedSupporter(app.test_client())
    at_once = framed.send(htmx=True)  # sent the moment the form was shown
    assert at_once.status_code == 200 and "Thank you!" in at_once.get_data(as_text=True)
    [letter] = stored(app)
    assert letter.flag_list == ["fast"] and letter.status == "unconfirmed"


def test_a_filled_honeypot_in_the_frame_gets_thanks_and_nothing_is_stored(app, framed, partner_id):
    honeypot = framed.send(htmx=True, leave_empty="http://spam.example")
    assert honeypot.status_code == 200 and "Thank you!" in honeypot.get_data(as_text=True)
    assert stored(app) == [] and stored(app, Outbox) == []


def test_the_fill_time_comes_from_the_token(make_app, cases, monkeypatch):
    app = make_app(MIN_FILL_SECONDS=3)
    with app.app_context():
        PartnerFactory(**RIVERSIDE)
    framed = FramedSupporter(app.test_client())
    real_time = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real_time() - 60)
    fields = framed.form_fields()  # shown a minute ago
    monkeypatch.setattr(timed.time, "time", real_time)
    assert framed.send(fields=fields, htmx=True).status_code == 200
    [letter] = stored(app)
    assert letter.flags == ""


def test_a_database_failure_keeps_the_text_in_the_frame(app, framed, partner_id, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("INSERT INTO letters", {}, Exception("database is locked"))

    monkeypatch.setattr(letters, "submit_letter", broken)
    fields = framed.form_fields()
    response = framed.send(fields=fields, htmx=True, body="Precious words")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "We could not save your letter just now" in html
    assert "Precious words</textarea>" in html
    # The token was spent on the way: the form comes back with a fresh one.
    fresh = hidden_value(html, "appeal-form_token")
    assert fresh != fields["appeal-form_token"]
    monkeypatch.undo()
    assert framed.send(fields={**fields, "appeal-form_token": fresh}, htmx=True).status_code == 200
    assert len(stored(app)) == 1


def test_the_frame_says_when_a_supporter_sends_too_much(make_app, cases):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SUBMIT="1 per minute")
    with app.app_context():
        PartnerFactory(**RIVERSIDE)
    framed = FramedSupporter(app.test_client())
    assert framed.send(htmx=True).status_code == 200
    response = framed.send(htmx=True, body="Another one")
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "You have sent a lot of letters in a short time" in html
    assert "Another one</textarea>" in html
    assert frame_ancestors(response) == "https://riverside.example http://localhost:8080"
    assert len(stored(app)) == 1


# Attacks: each is refused with a message in the frame, and stores nothing


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Origin at all: not the framed form
        {"Origin": "https://evil.example"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {
            "Origin": "https://riverside.example",
            "Sec-Fetch-Site": "cross-site",
        },  # the partner's page itself
        {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "same-site"},
        {"Referer": "http://localhost/embed/riverside/gustavo-gatica"},  # a Referer is not enough
    ],
)
def test_a_post_that_did_not_come_from_the_frame_is_refused(app, framed, partner_id, headers):
    fields = framed.form_fields()  # a genuine, unused token
    response = framed.send(fields=fields, headers=headers)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "we only take letters sent from this form itself" in html
    assert "Please release him now.</textarea>" in html  # what was typed is still there
    assert stored(app) == [] and stored(app, Outbox) == [] and stored(app, UsedFormToken) == []


def test_a_tampered_token_is_refused(app, framed, partner_id):
    fields = framed.form_fields()
    token = fields["appeal-form_token"]
    _payload, rest = token.split(".", 1)
    # Claim another partner in the payload, keeping the signature: it no longer matches.
    forged = base64.urlsafe_b64encode(b'[2,99,"appeal","n",1]').rstrip(b"=").decode()
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        f"{forged}.{rest}",
        "",
        "x",
    ):
        response = framed.send(fields={**fields, "appeal-form_token": bad}, htmx=True)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "We could not check this form, so nothing was sent." in html
        assert hidden_value(html, "appeal-form_token") not in (bad, token)
    assert stored(app) == [] and stored(app, Outbox) == []


def test_an_expired_token_is_refused_and_the_form_refreshed(app, framed, partner_id, monkeypatch):
    real_time = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real_time() - 121 * 60)
    fields = framed.form_fields()  # shown two hours ago: the token has expired
    monkeypatch.setattr(timed.time, "time", real_time)
    response = framed.send(fields=fields, htmx=True, body="Written slowly")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This form had expired, so nothing was sent." in html
    assert "Written slowly</textarea>" in html
    assert stored(app) == []
    fresh = hidden_value(html, "appeal-form_token")
    assert fresh != fields["appeal-form_token"]
    again = framed.send(
        fields={**fields, "appeal-form_token": fresh}, htmx=True, body="Written slowly"
    )
    assert again.status_code == 200
    assert [letter.body for letter in stored(app)] == ["Written slowly"]


def test_a_replayed_token_is_refused(app, framed, partner_id):
    fields = framed.form_fields()
    assert framed.send(fields=fields, htmx=True).status_code == 200
    replay = framed.send(fields=fields, htmx=True, email="someone-else@example.org")
    assert replay.status_code == 409
    assert "This form was already sent, so nothing more was sent." in replay.get_data(as_text=True)
    assert len(stored(app)) == 1 and len(stored(app, Outbox)) == 1
    plain_replay = framed.send(fields=fields, email="third@example.org")  # without htmx too
    assert plain_replay.status_code == 409 and "<html" in plain_replay.get_data(as_text=True)
    assert len(stored(app)) == 1


def test_a_token_only_works_for_its_own_case_partner_and_form(app, framed, partner_id):
    with app.app_context():
        PartnerFactory(**UNION)
    other_partner = framed.form_fields(f"/embed/union/{CASE}")
    other_case = framed.form_fields("/embed/riverside/germain-rukuki")
    solidarity = framed.form_fields(kind="solidarity")
    attempts = [
        other_partner,  # the union's token, posted as Riverside's letter
        other_case,
        {"appeal-form_token": solidarity["solidarity-form_token"], "appeal-language": "en"},
    ]
    for fields in attempts:
        response = framed.send(fields=fields, htmx=True)
        assert response.status_code == 400, fields
        assert "We could not check this form" in response.get_data(as_text=True)
    # And the other way round: Riverside's token on the union's page.
    mine = framed.form_fields()
    response = framed.send(fields=mine, htmx=True, page=f"/embed/union/{CASE}")
    assert response.status_code == 400
    assert stored(app) == []


def test_attribution_comes_from_the_token_not_from_a_parameter(app, framed, partner_id):
    with app.app_context():
        union = PartnerFactory(**UNION).id
    response = framed.send(htmx=True, partner="union", partner_id=str(union))
    assert response.status_code == 200
    [letter] = stored(app)
    assert letter.partner_id == partner_id


def test_spent_tokens_are_kept_until_they_expire_then_purged(app, framed, partner_id):
    framed.send(htmx=True)
    [spent] = stored(app, UsedFormToken)
    lifetime = (spent.expires_at - utcnow()).total_seconds()
    assert 119 * 60 < lifetime <= 122 * 60
    with app.app_context():
        assert partners.purge_spent_tokens() == 0
        assert partners.purge_spent_tokens(now=spent.expires_at.replace(year=2100)) == 1
        db.session.commit()
    assert stored(app, UsedFormToken) == []


# The main site's form: a partner's token there gives no attribution


def test_an_embed_token_posted_to_the_main_sites_form_attributes_nothing(app, client, partner_id):
    embed_token = FramedSupporter(app.test_client()).form_fields()["appeal-form_token"]
    supporter = Supporter(client)
    fields = supporter.form_fields(CASE, "appeal") | {"appeal-form_token": embed_token}
    assert supporter.submit(CASE, fields=fields).status_code == 303
    [letter] = stored(app)
    assert letter.partner_id is None


# The snippet and its script


def test_the_snippet_frames_the_form_and_pins_its_script(app, client, partner_id):
    with app.app_context():
        case = db.session.scalar(sa.select(Case).filter_by(slug=CASE))
        snippet = partners.snippet(partners.find_partner("riverside"), case, "es")
    frame, script = snippet.split("\n")
    assert frame == (
        '<iframe src="http://localhost/embed/riverside/gustavo-gatica?lang=es" '
        'title="Write for Gustavo Gatica" width="100%" height="900" loading="lazy" '
        "data-w4r-embed></iframe>"
    )
    assert " style=" not in snippet and not re.search(r" on\w+=", snippet)  # strict-CSP safe
    src = re.search(r'<script src="([^"]+)"', script).group(1)
    assert src == "http://localhost/static/js/embed-1.js"
    assert 'crossorigin="anonymous" async></script>' in script
    with client.get("/static/js/embed-1.js") as served:
        assert served.headers["Access-Control-Allow-Origin"] == "*"  # SRI elsewhere needs CORS
        digest = base64.b64encode(hashlib.sha384(served.get_data()).digest()).decode()
    assert f'integrity="sha384-{digest}"' in script
    with client.get("/static/js/site.js") as other:
        assert "Access-Control-Allow-Origin" not in other.headers


def test_the_scripts_check_origins_both_ways(app):
    """The browser tests show them working; this pins the checks that keep them safe."""
    static = Path(app.static_folder) / "js"
    parent = (static / "embed-1.js").read_text()
    assert "if (event.origin !== appOrigin) return;" in parent
    assert "each.contentWindow === event.source" in parent
    assert 'typeof data.type !== "string"' in parent and "isFinite(value)" in parent
    frame = (static / "embed-frame.js").read_text()
    assert re.findall(r"postMessage\(([^)]*)\)", frame) == ["message, target"]
    assert "allowed.indexOf(candidates[i]) !== -1" in frame


# The partner's private stats page


def stats_link(app, slug="riverside"):
    with app.app_context():
        return "/partners/stats/" + partners.find_partner(slug).stats_token


def test_the_stats_link_shows_the_partners_own_figures_only(app, client, cases, partner_id):
    with app.app_context():
        union = PartnerFactory(**UNION).id
        LetterFactory.create_batch(2, case_id=cases[CASE], partner_id=partner_id)
        LetterFactory(case_id=cases[CASE], partner_id=partner_id, status="unconfirmed")
        LetterFactory(case_id=cases["germain-rukuki"], partner_id=partner_id)
        LetterFactory.create_batch(7, case_id=cases[CASE], partner_id=union)
        LetterFactory.create_batch(11, case_id=cases[CASE])
    response = client.get(stats_link(app))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert frame_ancestors(response) == "'none'"
    html = response.get_data(as_text=True)
    assert "Letters with Riverside School" in html
    assert "Your supporters wrote 4 letters through your site." in html
    assert "3 are confirmed" in html
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th><td>(\d+)</td><td>(\d+)</td></tr>", html)
    today = utcnow().strftime("%Y-%m-%d")
    assert rows == [
        ("Gustavo Gatica", "3", "2"),
        ("Germain Rukuki", "1", "1"),
        (f'<time datetime="{today}">{today}</time>', "4", "3"),
    ]
    assert "The Union" not in html and "<td>7</td>" not in html and "<td>11</td>" not in html


def test_a_wrong_rotated_or_removed_stats_link_shows_nothing(app, client, cases, partner_id):
    old = stats_link(app)
    assert client.get(old[:-1] + ("x" if not old.endswith("x") else "y")).status_code == 404
    assert client.get("/partners/stats/").status_code == 404
    with app.app_context():
        partners.rotate_stats_link(partners.find_partner("riverside"))
    assert client.get(old).status_code == 404
    new = stats_link(app)
    assert new != old and client.get(new).status_code == 200
    with app.app_context():
        LetterFactory(case_id=cases[CASE], partner_id=partner_id, status="unconfirmed")
    with app.app_context():
        partners.remove_partner(partners.find_partner("riverside"))
    missing = client.get(new)
    assert missing.status_code == 404
    assert missing.headers["Referrer-Policy"] == "no-referrer"
    assert "Riverside" not in missing.get_data(as_text=True)
    with app.app_context():  # kept, with its letter, for the campaign's figures
        partner = db.session.get(Partner, partner_id)
        assert partner.removed_at is not None
        assert partners.totals_by_partner() == {partner_id: (1, 0)}
