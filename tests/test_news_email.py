"""Case news by email: staff send an update to everyone who confirmed a letter to the case,
once per address, in the language they wrote in, through the outbox. Read from what the
test SMTP server received after the mail worker ran."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from factories import LetterFactory, SolidarityFactory, insert_letters
from flask_babel import force_locale, gettext
from helpers import SAME_ORIGIN, Supporter, hidden_value

from extensions import begin_write, db
from mail import claims, news, outbox, suppression
from models import AuditEvent, CaseUpdate, Outbox, StaffUser, utcnow

CASE = "gustavo-gatica"
TITLE = {"en": "Gustavo's case goes to trial", "es": "El caso de Gustavo llega a juicio"}
BODY = {
    "en": "The prosecutor charged two officers.\n\nThank you <b>for</b> writing.",
    "es": "La fiscalía acusó a dos carabineros.\n\nGracias por escribir.",
}


def make_update(app, case_id, published=True):
    with app.app_context():
        update = CaseUpdate(
            case_id=case_id,
            title=TITLE["en"],
            body=BODY["en"],
            translations={"es": {"title": TITLE["es"], "body": BODY["es"]}},
            happened_on=date(2026, 11, 20),
            published_at=utcnow() if published else None,
        )
        db.session.add(update)
        db.session.commit()
        return update.id


def writer(app, case_id, email, locale="en", factory=LetterFactory, **values):
    with app.app_context():
        return factory(case_id=case_id, email=email, locale=locale, **values).id


def deliver(app):
    """Run the mail worker until nothing is due (what `flask mail-worker --once` does)."""
    with app.app_context():
        return outbox.run_worker(once=True, log=lambda _line: None)


def prepare(app):
    """The mail worker's queueing of the updates staff sent (each pass of the worker)."""
    with app.app_context():
        return news.queue_requested(log=lambda _line: None)


def news_rows(app, update_id):
    with app.app_context():
        query = sa.select(Outbox).where(Outbox.case_update_id == update_id).order_by(Outbox.id)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def base(update_id, case_id):
    return f"/admin/cases/{case_id}/updates/{update_id}/email"


def send(client, case_id, update_id):
    """What an admin does: the update's page, Send, then the confirmation page's button."""
    page = client.get(f"/admin/cases/{case_id}/updates/{update_id}").get_data(as_text=True)
    assert f'href="{base(update_id, case_id)}/send"' in page
    confirm = client.get(f"{base(update_id, case_id)}/send").get_data(as_text=True)
    token = hidden_value(confirm, "csrf_token")
    return client.post(
        f"{base(update_id, case_id)}/send", data={"csrf_token": token}, headers=SAME_ORIGIN
    )


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def said(app, language, text, **values):
    with app.test_request_context(), force_locale(language):
        return gettext(text, **values)


def test_an_update_reaches_each_writer_of_the_case_once_in_their_language(
    mail_app, smtp, cases, admin
):
    case_id = cases[CASE]
    update_id = make_update(mail_app, case_id)
    writer(mail_app, case_id, "Ana@Example.org")  # two letters: one email
    writer(mail_app, case_id, "ana@example.org", factory=SolidarityFactory)
    writer(mail_app, case_id, "sofia@example.org", "es")
    writer(mail_app, case_id, "kemal@example.org", "en")  # wrote in English, then Spanish
    writer(mail_app, case_id, "kemal@example.org", "es", factory=SolidarityFactory)
    writer(mail_app, case_id, "waiting@example.org", status="unconfirmed")
    writer(mail_app, case_id, "", email_key="erased:1")  # erased by its writer
    other = next(id_ for slug, id_ in cases.items() if slug not in (CASE, "secret-draft"))
    writer(mail_app, other, "elsewhere@example.org")

    response = send(admin, case_id, update_id)
    assert response.status_code == 303
    assert deliver(mail_app) == (3, 0)

    by_address = {message["To"]: message for message in smtp.messages}
    # The newest letter of an address gives the address as it was written last.
    assert sorted(by_address) == ["ana@example.org", "kemal@example.org", "sofia@example.org"]
    assert len(smtp.messages) == 3

    english, spanish = by_address["ana@example.org"], by_address["sofia@example.org"]
    assert english["Subject"] == TITLE["en"]
    assert spanish["Subject"] == by_address["kemal@example.org"]["Subject"] == TITLE["es"]
    assert "La fiscalía acusó a dos carabineros." in text_of(spanish)
    assert "Thank you <b>for</b> writing." in text_of(english)  # plain text, as typed
    assert "Thank you &lt;b&gt;for&lt;/b&gt; writing." in html_of(english)  # escaped
    assert "<b>for</b>" not in html_of(english)
    assert f"http://localhost/es/cases/{CASE}" in text_of(spanish)
    assert f'href="http://localhost/cases/{CASE}"' in html_of(english)
    assert '<html lang="es"' in html_of(spanish)
    with mail_app.app_context():
        name_es = db.session.get(CaseUpdate, update_id).case.in_language("es").name
    because = said(
        mail_app, "es", "You get this email because you wrote for %(name)s.", name=name_es
    )
    assert because in text_of(spanish)
    for message in smtp.messages:  # a visible way out, and the supporter's own page
        assert re.search(r"http://localhost(/es)?/unsubscribe/[\w.\-]+", text_of(message))
        assert "/unsubscribe/" in html_of(message)
        assert "your-letters" in text_of(message)
        assert "Test:" not in text_of(message)

    with mail_app.app_context():
        update = db.session.get(CaseUpdate, update_id)
        assert update.recipients == {"en": 1, "es": 2}
        assert update.emailed_at is not None
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "case_update.email")
        )
        assert event.target_id == update_id
        assert "example.org" not in str(event.details)


def test_a_second_send_is_refused_and_queues_nothing(mail_app, smtp, cases, admin):
    case_id = cases[CASE]
    update_id = make_update(mail_app, case_id)
    writer(mail_app, case_id, "ana@example.org")
    send(admin, case_id, update_id)
    assert news_rows(mail_app, update_id) == []  # the worker queues them, not the request
    prepare(mail_app)
    token = hidden_value(
        admin.get(f"/admin/cases/{case_id}/updates/{update_id}").text, "csrf_token"
    )

    again = admin.post(
        f"{base(update_id, case_id)}/send", data={"csrf_token": token}, headers=SAME_ORIGIN
    )
    assert again.status_code == 303
    page = admin.get(again.headers["Location"]).get_data(as_text=True)
    assert "already emailed" in page
    assert f'href="{base(update_id, case_id)}/send"' not in page  # no Send button any more
    assert len(news_rows(mail_app, update_id)) == 1
    with mail_app.app_context(), pytest.raises(news.NewsError):
        news.queue_update(db.session.get(CaseUpdate, update_id), db.session.get(StaffUser, 1))
    assert prepare(mail_app) == 0
    assert deliver(mail_app) == (1, 0)
    assert len(smtp.messages) == 1


def test_a_draft_cannot_be_sent(mail_app, cases, admin):
    case_id = cases[CASE]
    update_id = make_update(mail_app, case_id, published=False)
    writer(mail_app, case_id, "ana@example.org")
    page = admin.get(f"/admin/cases/{case_id}/updates/{update_id}").get_data(as_text=True)
    assert f'href="{base(update_id, case_id)}/send"' not in page
    assert "Publish the update first" in page
    token = hidden_value(page, "csrf_token")
    admin.post(f"{base(update_id, case_id)}/send", data={"csrf_token": token}, headers=SAME_ORIGIN)
    assert news_rows(mail_app, update_id) == []


def test_an_unsubscribed_or_bounced_address_is_skipped_and_counted_so(mail_app, smtp, cases):
    case_id = cases[CASE]
    update_id = make_update(mail_app, case_id)
    for address in ("ana@example.org", "left@example.org", "bounced@example.org"):
        writer(mail_app, case_id, address)
    with mail_app.app_context():
        begin_write()
        suppression.unsubscribe(suppression.address_key("Left@example.org"), "link")
        suppression.suppress(suppression.address_key("bounced@example.org"), "hard_bounce", "dsn")
        db.session.commit()
        news.queue_update(db.session.get(CaseUpdate, update_id), admin_user())
    deliver(mail_app)
    assert [message["To"] for message in smtp.messages] == ["ana@example.org"]
    with mail_app.app_context():
        figures = news.progress(db.session.get(CaseUpdate, update_id))
    assert figures["total"] == {"queued": 3, "sent": 1, "failed": 0, "skipped": 2, "pending": 0}
    assert figures["done"]


def later(monkeypatch, seconds):
    for module in (outbox, claims):
        monkeypatch.setattr(module, "utcnow", lambda: utcnow() + timedelta(seconds=seconds))


def test_a_worker_stopped_midway_is_followed_by_one_that_sends_the_rest_once(
    mail_app, smtp, cases, monkeypatch
):
    case_id = cases[CASE]
    update_id = make_update(mail_app, case_id)
    with mail_app.app_context():
        insert_letters(30, case_id=case_id)
        news.queue_update(db.session.get(CaseUpdate, update_id), admin_user())
        news.queue_requested(log=lambda _line: None)
        assert outbox.send_due(limit=10) == (10, 0)  # then the worker is stopped
        abandoned = claims.claim_due(limit=5)  # a worker killed holding five emails
        assert len(abandoned) == 5
        assert outbox.send_due(limit=50) == (15, 0)  # the held five wait for their hold
    later(monkeypatch, mail_app.config["MAIL_CLAIM_SECONDS"] + 1)
    assert deliver(mail_app) == (5, 0)  # a new worker, once the hold ran out
    assert deliver(mail_app) == (0, 0)

    recipients = [message["To"] for message in smtp.messages]
    assert len(recipients) == len(set(recipients)) == 30
    assert {row.state for row in news_rows(mail_app, update_id)} == {"sent"}


def admin_user():
    from factories import StaffUserFactory

    return db.session.scalar(sa.select(StaffUser).limit(1)) or StaffUserFactory(role="admin")


def test_a_confirmation_queued_after_a_thousand_news_emails_goes_first(mail_app, smtp, cases):
    case_id = cases[CASE]
    update_id = make_update(mail_app, case_id)
    with mail_app.app_context():
        insert_letters(1000, case_id=case_id)
        news.queue_update(db.session.get(CaseUpdate, update_id), admin_user())
        news.queue_requested(log=lambda _line: None)
    Supporter(mail_app.test_client()).submit(CASE, name="New Writer", email="new@example.org")
    with mail_app.app_context():
        assert outbox.send_due(limit=1) == (1, 0)
    assert smtp.messages[0]["To"] == "new@example.org"
    assert smtp.messages[0]["Subject"] != TITLE["en"]


def test_a_test_send_goes_to_the_staff_member_only_marked_as_a_test(mail_app, smtp, cases, admin):
    case_id = cases[CASE]
    update_id = make_update(mail_app, case_id, published=False)  # drafts can be tested
    writer(mail_app, case_id, "ana@example.org")
    page = admin.get(f"/admin/cases/{case_id}/updates/{update_id}").get_data(as_text=True)
    token = hidden_value(page, "csrf_token")
    for _time in range(2):  # as often as staff like
        response = admin.post(
            f"{base(update_id, case_id)}/test",
            data={"csrf_token": token, "language": "es"},
            headers=SAME_ORIGIN,
        )
        assert response.status_code == 303
    assert deliver(mail_app) == (2, 0)
    assert [message["To"] for message in smtp.messages] == ["admin@example.org"] * 2
    message = smtp.messages[0]
    assert message["Subject"] == TITLE["es"]
    test_line = said(mail_app, "es", "Test: this is how writers will see it.")
    assert text_of(message).startswith(test_line)
    assert test_line in html_of(message)
    assert "La fiscalía" in text_of(message)
    with mail_app.app_context():
        assert db.session.get(CaseUpdate, update_id).emailed_at is None
    assert {row.template for row in news_rows(mail_app, update_id)} == {"news_test"}


def test_the_preview_shows_each_language_in_a_sandboxed_frame(app, cases, admin):
    case_id = cases[CASE]
    update_id = make_update(app, case_id)
    page = admin.get(f"{base(update_id, case_id)}/preview?lang=es")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert TITLE["es"] in html
    assert "<iframe" in html and " sandbox " in html
    assert "Gracias por escribir." in html  # the plain-text version, on the page
    framed = admin.get(f"{base(update_id, case_id)}/preview/es.html")
    assert "sandbox" in framed.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in framed.headers["Content-Security-Policy"]
    assert "La fiscalía acusó" in framed.get_data(as_text=True)
    assert admin.get(f"{base(update_id, case_id)}/preview?lang=xx").status_code == 404


def test_moderators_and_forged_posts_cannot_send(app, cases, moderator, admin):
    case_id = cases[CASE]
    update_id = make_update(app, case_id)
    writer(app, case_id, "ana@example.org")
    path = base(update_id, case_id)
    for url in ("/preview?lang=en", "/preview/en.html", "/send", "/progress"):
        assert moderator.get(path + url).status_code == 403
    token = hidden_value(moderator.get("/admin/queue").get_data(as_text=True), "csrf_token")
    for url in ("/send", "/test"):
        refused = moderator.post(
            path + url, data={"csrf_token": token, "language": "en"}, headers=SAME_ORIGIN
        )
        assert refused.status_code == 403
    # An admin's session, but no token: a page of another site posting in their name.
    assert admin.post(path + "/send", headers=SAME_ORIGIN).status_code == 400
    assert (
        admin.post(path + "/test", data={"language": "en"}, headers=SAME_ORIGIN).status_code == 400
    )
    signed_out = app.test_client().get(path + "/send")
    assert signed_out.status_code == 302 and "/admin/sign-in" in signed_out.headers["Location"]
    assert news_rows(app, update_id) == []


def set_states(app, update_id, states):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Outbox).where(Outbox.case_update_id == update_id).order_by(Outbox.id)
        ).all()
        for row, state in zip(rows, states, strict=True):
            row.state = state
        db.session.commit()


def test_progress_counts_per_language_and_survives_the_deletion_of_sent_rows(app, cases):
    case_id = cases[CASE]
    update_id = make_update(app, case_id)
    for n in range(4):
        writer(app, case_id, f"en{n}@example.org")
    writer(app, case_id, "es0@example.org", "es")
    with app.app_context():
        update = db.session.get(CaseUpdate, update_id)
        news.queue_update(update, admin_user())
        assert news.progress(update)["preparing"]
        news.queue_requested(log=lambda _line: None)
        assert news.progress(update)["total"] == {
            "queued": 5,
            "sent": 0,
            "failed": 0,
            "skipped": 0,
            "pending": 5,
        }
    set_states(app, update_id, ["sent", "dead", "suppressed", "pending", "sent"])
    with app.app_context():
        db.session.execute(sa.delete(Outbox).where(Outbox.state == "sent"))  # retention
        db.session.commit()
        figures = news.progress(db.session.get(CaseUpdate, update_id))
    assert figures["languages"]["en"] == {
        "queued": 4,
        "sent": 1,
        "failed": 1,
        "skipped": 1,
        "pending": 1,
    }
    assert figures["languages"]["es"] == {
        "queued": 1,
        "sent": 1,
        "failed": 0,
        "skipped": 0,
        "pending": 0,
    }
    assert figures["done"] is False


def test_the_progress_bar_polls_while_emails_are_left_then_stops(app, cases, admin):
    case_id = cases[CASE]
    update_id = make_update(app, case_id)
    for n in range(10):
        writer(app, case_id, f"w{n}@example.org", "es" if n < 3 else "en")
    send(admin, case_id, update_id)
    path = base(update_id, case_id) + "/progress"
    htmx = {"HX-Request": "true"}
    page = admin.get(f"/admin/cases/{case_id}/updates/{update_id}").get_data(as_text=True)
    assert "Preparing the emails…" in page and f'data-hx-get="{path}"' in page
    assert "Preparing the emails…" in admin.get(path, headers=htmx).get_data(as_text=True)

    prepare(app)
    page = admin.get(f"/admin/cases/{case_id}/updates/{update_id}").get_data(as_text=True)
    assert '<progress class="goal" max="10" value="0"' in page
    assert f'data-hx-get="{path}"' in page and 'data-hx-trigger="every 2s"' in page
    assert 'id="news-progress-said"' in page and 'role="status"' in page

    set_states(app, update_id, ["sent"] * 4 + ["pending"] * 6)
    fragment = admin.get(path, headers=htmx)
    assert "HX-Request" in fragment.headers["Vary"]
    html = fragment.get_data(as_text=True)
    assert "<html" not in html
    assert '<progress class="goal" max="10" value="4"' in html
    assert "4 of 10 sent" in html
    assert 'data-hx-trigger="every 2s"' in html
    assert 'data-hx-swap-oob="innerHTML"' in html and "about 40% done" in html

    set_states(app, update_id, ["sent"] * 8 + ["dead", "suppressed"])
    html = admin.get(path, headers=htmx).get_data(as_text=True)
    assert "data-hx-trigger" not in html  # done: the poll stops
    assert "8 of 10 sent" in html and "1 failed" in html and "1 skipped" in html
    assert "Sending finished" in html
    row = re.search(r"<th scope=\"row\">Spanish</th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'class="num">(\d+)<', row) == ["3", "3", "0", "0", "0"]

    without_js = admin.get(path)  # no htmx: the update's page shows the same
    assert without_js.status_code == 303
    assert without_js.headers["Location"].endswith(f"/updates/{update_id}#news-email")
