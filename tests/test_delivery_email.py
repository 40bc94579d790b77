"""Emailing an appeals batch to the official: the official's address on the case form, the
preview, a test to oneself and the send, read from what the test SMTP server received
after the mail worker ran; the batch is sent once its email went, and only once."""

import io
import threading

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from case_admin import fields_of, find, post
from factories import LetterFactory, SolidarityFactory, StaffUserFactory
from helpers import SAME_ORIGIN, Inbox, csrf_from, hidden_value, staff_client
from pypdf import PdfReader

from delivery import batches, emailing
from extensions import begin_write, db
from mail import outbox, suppression
from models import AuditEvent, Case, DeliveryBatch, Letter, Outbox, StaffUser, utcnow

CASE = "gustavo-gatica"
OFFICIAL = "fiscal@example.gob.cl"
BODIES = ["Please free Gustavo now.", "Justice for Gustavo, please.", "Investigate the police."]


def ready(app, case_id, letters=3, target_email=OFFICIAL, language="en"):
    """The case with a postal address, the official's email address and `letters` appeals
    in one prepared batch; returns the batch's id."""
    with app.app_context():
        case = db.session.get(Case, case_id)
        case.target_address = "Catedral 1437, Santiago, Chile"
        case.target_email, case.target_language = target_email, language
        for number in range(letters):
            LetterFactory(
                case_id=case_id,
                body=BODIES[number % len(BODIES)],
                email=f"writer{number}@supporters.example",
                moderation="approved",
            )
        db.session.commit()
        staff = db.session.scalar(sa.select(StaffUser).limit(1))
        return batches.make_batch(case, "appeal", staff).id


def page(case_id, batch_id, rest=""):
    return f"/admin/delivery/{case_id}/batches/{batch_id}/email{rest}"


def run_worker(app):
    with app.app_context():
        return outbox.run_worker(once=True, log=lambda _line: None)


def the_batch(app, batch_id):
    with app.app_context():
        batch = db.session.get(DeliveryBatch, batch_id)
        db.session.expunge(batch)
        return batch


def rows(app, template=None):
    with app.app_context():
        query = sa.select(Outbox).order_by(Outbox.id)
        if template:
            query = query.where(Outbox.template == template)
        found = db.session.scalars(query).all()
        db.session.expunge_all()
        return found


def actions(app, prefix="delivery."):
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.action.startswith(prefix))
        return [
            (e.action, e.actor_email) for e in db.session.scalars(query.order_by(AuditEvent.id))
        ]


def post_form(client, url, from_page):
    token = hidden_value(client.get(from_page).get_data(as_text=True), "csrf_token")
    return client.post(url, data={"csrf_token": token}, headers=SAME_ORIGIN)


def after_a_test(app, admin, case_id, batch_id, smtp=None):
    """The test an admin sends themselves first, gone through the worker (the official's
    copy goes only after one); its message set aside."""
    post_form(admin, page(case_id, batch_id, "/test"), page(case_id, batch_id))
    assert run_worker(app) == (1, 0)
    if smtp is not None:
        smtp.messages.clear()


def send(client, case_id, batch_id):
    """What an admin does after a test (after_a_test()): the preview's Send link, then the
    confirmation's button."""
    preview = client.get(page(case_id, batch_id)).get_data(as_text=True)
    assert f'href="{page(case_id, batch_id, "/send")}"' in preview
    return post_form(client, page(case_id, batch_id, "/send"), page(case_id, batch_id, "/send"))


def page_text(response):
    """The page's HTML without the line-break hints (<wbr>) that long addresses carry."""
    return response.get_data(as_text=True).replace("<wbr>", "")


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(each.extract_text() for each in reader.pages)


def attachment_of(message):
    (part,) = list(message.iter_attachments())
    return part.get_filename(), part.get_content_type(), part.get_content()


# -- The case form ----------------------------------------------------------------------------


def test_admins_give_the_officials_email_address_on_the_case_form(app, admin, cases):
    case_id = cases[CASE]
    form = admin.get(f"/admin/cases/{case_id}/edit").get_data(as_text=True)
    assert 'name="target_email"' in form and 'type="email"' in form
    fields = fields_of(find(app, CASE), target_email="  Fiscal@Example.gob.cl ")
    response = post(admin, f"/admin/cases/{case_id}/edit", fields)
    assert response.status_code == 303
    assert find(app, CASE).target_email == "Fiscal@example.gob.cl"  # the domain lower-cased
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "case.update"))
        assert event.details["changed"] == ["target_email"]


@pytest.mark.parametrize("value", ["not an address", "fiscal@", "a@b@example.org"])
def test_a_wrong_email_address_is_refused_next_to_its_field(app, admin, cases, value):
    case_id = cases[CASE]
    response = post(
        admin, f"/admin/cases/{case_id}/edit", fields_of(find(app, CASE), target_email=value)
    )
    assert response.status_code == 422
    assert "Please enter a valid email address, like name@example.org." in response.get_data(
        as_text=True
    )
    assert find(app, CASE).target_email == ""


def test_moderators_cannot_set_the_officials_address(app, moderator, cases):
    case_id = cases[CASE]
    token = csrf_from(moderator)
    fields = fields_of(find(app, CASE), target_email=OFFICIAL, csrf_token=token)
    assert moderator.post(f"/admin/cases/{case_id}/edit", data=fields).status_code == 403
    assert find(app, CASE).target_email == ""


# -- Preview and test --------------------------------------------------------------------------


def test_the_preview_shows_the_email_as_it_will_go_and_its_pdf(mail_app, admin, cases):
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id)
    batch_page = admin.get(f"/admin/delivery/{case_id}/batches/{batch_id}").get_data(as_text=True)
    assert f'href="{page(case_id, batch_id)}"' in batch_page  # the batch's page links here
    response = admin.get(page(case_id, batch_id))
    assert response.status_code == 200
    html = page_text(response)
    assert "3 appeals for Gustavo Gatica" in html
    assert f"&lt;{OFFICIAL}&gt;" in html
    assert "Chile&#39;s National Prosecutor" in html or "Chile's National Prosecutor" in html
    assert "gustavo-gatica-appeals-1.pdf" in html
    assert "Send me a test" in html
    assert f"Send to {OFFICIAL}" not in html  # only once a test went to the staff member
    assert "Send yourself a test first and read it" in html
    refused = post_form(admin, page(case_id, batch_id, "/send"), page(case_id, batch_id))
    assert "Send yourself a test first" in page_text(admin.get(refused.headers["Location"]))
    assert the_batch(mail_app, batch_id).emailed_at is None
    assert "supporters.example" not in html  # no supporter's address anywhere

    framed = admin.get(page(case_id, batch_id, "/preview.html"))
    assert "sandbox" in framed.headers["Content-Security-Policy"]
    assert "Attached are 3 letters" in framed.get_data(as_text=True)

    download = admin.get(page(case_id, batch_id, "/attachment.pdf"))
    assert download.mimetype == "application/pdf"
    assert 'filename="gustavo-gatica-appeals-1.pdf"' in download.headers["Content-Disposition"]
    pages, text = pdf_text(download.data)
    assert pages == 3 and all(body in text for body in BODIES)
    assert ("delivery.email_pdf", "admin@example.org") in actions(mail_app)


def test_a_test_goes_to_the_staff_member_with_the_pdf_attached(mail_app, smtp, admin, cases):
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id)
    response = post_form(admin, page(case_id, batch_id, "/test"), page(case_id, batch_id))
    assert response.status_code == 303
    tested = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "A test is on its way to admin@example.org." in tested
    assert f"Send to {OFFICIAL}" in page_text(admin.get(page(case_id, batch_id)))
    assert run_worker(mail_app) == (1, 0)

    (message,) = smtp.messages
    assert message["To"] == "admin@example.org" and message.envelope_to == ["admin@example.org"]
    assert message["Subject"] == "3 appeals for Gustavo Gatica"
    assert "List-Unsubscribe" not in message  # no mailing: nothing to unsubscribe from
    text = message.get_body(("plain",)).get_content()
    assert text.startswith("Test: this is how the official will see it.")
    name, content_type, data = attachment_of(message)
    assert (name, content_type) == ("gustavo-gatica-appeals-1.pdf", "application/pdf")
    pages, pdf = pdf_text(data)
    assert pages == 3 and all(body in pdf for body in BODIES)
    assert b"supporters.example" not in message.raw and "supporters.example" not in pdf

    batch = the_batch(mail_app, batch_id)  # a test changes nothing on the batch
    assert batch.state == "prepared" and batch.emailed_at is None and batch.emailed_to == ""
    assert actions(mail_app)[1:] == [("delivery.email_test", "admin@example.org")]


# -- The send ------------------------------------------------------------------------------


def test_the_send_goes_once_and_the_worker_marks_the_batch_sent(mail_app, smtp, admin, cases):
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id)
    after_a_test(mail_app, admin, case_id, batch_id, smtp)
    confirm = page_text(admin.get(page(case_id, batch_id, "/send")))
    assert f"Send 3 appeals to {OFFICIAL}?" in confirm
    response = send(admin, case_id, batch_id)
    assert response.status_code == 303
    batch = the_batch(mail_app, batch_id)
    assert batch.emailed_to == OFFICIAL and batch.emailed_at is not None
    assert batch.state == "prepared"  # until the worker sent it
    waiting = page_text(admin.get(page(case_id, batch_id)))
    assert "the batch is recorded as sent once the mail worker has sent it" in waiting
    assert f"Send to {OFFICIAL}" not in waiting

    again = post_form(admin, page(case_id, batch_id, "/send"), page(case_id, batch_id))
    assert f"This batch was already emailed to {OFFICIAL}." in admin.get(
        again.headers["Location"]
    ).get_data(as_text=True)
    assert len(rows(mail_app, emailing.EMAIL)) == 1

    assert run_worker(mail_app) == (1, 0)
    (message,) = smtp.messages
    assert message["To"] == OFFICIAL and message["Subject"] == "3 appeals for Gustavo Gatica"
    assert (
        "List-Unsubscribe" not in message
        and "Test:" not in message.get_body(("plain",)).get_content()
    )
    assert b"supporters.example" not in message.raw
    assert attachment_of(message)[0] == "gustavo-gatica-appeals-1.pdf"

    batch = the_batch(mail_app, batch_id)
    assert (batch.state, batch.method, batch.sent_on) == ("sent", "email", utcnow().date())
    with mail_app.app_context():
        admin_id = db.session.scalar(
            sa.select(StaffUser.id).where(StaffUser.email == "admin@example.org")
        )
    assert batch.sent_by_id == admin_id
    assert actions(mail_app)[1:] == [
        ("delivery.email_test", "admin@example.org"),
        ("delivery.email", "admin@example.org"),
        ("delivery.sent", "admin@example.org"),
    ]
    done = admin.get(page(case_id, batch_id)).get_data(as_text=True)
    assert f"Sent to {OFFICIAL} on" in done
    assert run_worker(mail_app) == (0, 0) and len(smtp.messages) == 1


def test_the_official_gets_it_in_their_language(mail_app, smtp, admin, cases):
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id, language="es")
    after_a_test(mail_app, admin, case_id, batch_id, smtp)
    send(admin, case_id, batch_id)
    run_worker(mail_app)
    (message,) = smtp.messages
    assert '<html lang="es"' in message.get_body(("html",)).get_content()
    with mail_app.app_context():
        spanish_name = db.session.get(Case, case_id).in_language("es").name
    assert spanish_name in message["Subject"]


def test_a_letter_rejected_since_the_batch_was_made_is_left_out(mail_app, smtp, admin, cases):
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id)
    with mail_app.app_context():
        rejected = db.session.scalar(
            sa.select(Letter).where(Letter.delivery_batch_id == batch_id, Letter.body == BODIES[2])
        )
        rejected.moderation = "rejected"
        db.session.commit()
    assert "2 appeals for Gustavo Gatica" in page_text(admin.get(page(case_id, batch_id)))
    after_a_test(mail_app, admin, case_id, batch_id, smtp)
    assert "Send 2 appeals to" in page_text(admin.get(page(case_id, batch_id, "/send")))
    send(admin, case_id, batch_id)
    run_worker(mail_app)
    (message,) = smtp.messages
    assert message["Subject"] == "2 appeals for Gustavo Gatica"
    pages, text = pdf_text(attachment_of(message)[2])
    assert pages == 2 and BODIES[2] not in text
    batch = the_batch(mail_app, batch_id)
    assert batch.state == "sent" and batch.letters == 2  # the letters that went


def test_two_sends_at_once_send_one_email(mail_app, cases):
    with mail_app.app_context():
        first, second = StaffUserFactory(role="admin").id, StaffUserFactory(role="admin").id
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id)
    with mail_app.app_context():  # the test each admin sends first, still queued
        emailing.queue_test(
            db.session.get(DeliveryBatch, batch_id), db.session.get(StaffUser, first)
        )
    start, outcomes = threading.Barrier(2), []

    def press_send(staff_id):
        with mail_app.app_context():
            batch = db.session.get(DeliveryBatch, batch_id)  # both read it before either sends
            staff = db.session.get(StaffUser, staff_id)
            db.session.commit()
            start.wait()
            try:
                emailing.queue_send(batch, staff)
                outcomes.append("sent")
            except emailing.EmailError:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press_send, args=(each,)) for each in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "sent"]
    assert len(rows(mail_app, emailing.EMAIL)) == 1
    assert [a for a, _by in actions(mail_app)].count("delivery.email") == 1


class Refusing(Inbox):
    """An SMTP server that refuses the official's address for good."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == OFFICIAL:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_send_that_fails_for_good_leaves_the_batch_prepared_and_says_so(make_app, admin, cases):
    refusing = Refusing()
    controller = Controller(refusing, hostname="127.0.0.1", port=refusing.port)
    controller.start()
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=refusing.port, MAIL_MAX_ATTEMPTS=1)
        case_id = cases[CASE]
        batch_id = ready(app, case_id)
        with app.app_context():
            batch = db.session.get(DeliveryBatch, batch_id)
            staff = db.session.scalar(sa.select(StaffUser).where(StaffUser.role == "admin"))
            emailing.queue_test(batch, staff)  # to the admin: the server takes it
            emailing.queue_send(batch, staff)
        assert run_worker(app) == (1, 1)
    finally:
        controller.stop()
    (row,) = rows(app, emailing.EMAIL)
    assert row.state == "dead" and OFFICIAL not in row.last_error
    batch = the_batch(app, batch_id)
    assert batch.state == "prepared" and batch.emailed_to == OFFICIAL
    shown = admin.get(page(case_id, batch_id)).get_data(as_text=True)
    assert f"The email to {OFFICIAL} could not be sent" in shown
    assert "The batch stays prepared, not sent." in shown
    # Failed for good: the batch may be cancelled, and the failed email never goes again.
    with app.app_context():
        staff = db.session.scalar(sa.select(StaffUser).where(StaffUser.role == "admin"))
        batches.cancel(db.session.get(DeliveryBatch, batch_id), staff)
        outbox.retry_dead()
    assert rows(app, emailing.EMAIL)[0].state == "stopped"


def test_a_batch_whose_email_is_on_its_way_cannot_be_cancelled(mail_app, admin, cases):
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id)
    post_form(admin, page(case_id, batch_id, "/test"), page(case_id, batch_id))  # queued
    send(admin, case_id, batch_id)
    with mail_app.app_context():
        staff = db.session.scalar(sa.select(StaffUser).where(StaffUser.role == "admin"))
        with pytest.raises(batches.BatchError, match="can no longer be cancelled"):
            batches.cancel(db.session.get(DeliveryBatch, batch_id), staff)
        db.session.rollback()
    assert the_batch(mail_app, batch_id).state == "prepared"


def test_a_batch_whose_email_is_on_its_way_is_recorded_sent_by_the_email(
    mail_app, smtp, admin, cases
):
    """Staff cannot record it sent by post meanwhile: the record would say post while the
    official receives the email."""
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id)
    after_a_test(mail_app, admin, case_id, batch_id, smtp)
    send(admin, case_id, batch_id)
    batch_page = f"/admin/delivery/{case_id}/batches/{batch_id}"
    by_post = {"sent_on": utcnow().date().isoformat(), "method": "post", "note": "registered"}
    refused = admin.post(
        batch_page + "/sent", data={"csrf_token": csrf_from(admin), **by_post}, headers=SAME_ORIGIN
    )
    assert "email to the official is on its way" in page_text(refused)
    assert the_batch(mail_app, batch_id).state == "prepared"
    assert run_worker(mail_app) == (1, 0)
    assert [message["To"] for message in smtp.messages] == [OFFICIAL]
    batch = the_batch(mail_app, batch_id)
    assert (batch.state, batch.method) == ("sent", "email")


def test_a_bounced_official_address_is_shown_and_still_emailed(mail_app, smtp, admin, cases):
    """The official is no supporter: a bounce (or a forged one) does not stop the send,
    it warns staff on the page."""
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id)
    with mail_app.app_context():
        begin_write()
        suppression.suppress(suppression.address_key(OFFICIAL), suppression.HARD_BOUNCE, "test")
        db.session.commit()
    shown = admin.get(page(case_id, batch_id)).get_data(as_text=True)
    assert f"Bounce reports say {OFFICIAL} takes no email" in shown
    after_a_test(mail_app, admin, case_id, batch_id, smtp)
    send(admin, case_id, batch_id)
    assert run_worker(mail_app) == (1, 0) and smtp.messages[0]["To"] == OFFICIAL


# -- Refusals --------------------------------------------------------------------------------


def test_without_the_officials_address_there_is_nothing_to_send(mail_app, admin, cases):
    case_id = cases[CASE]
    batch_id = ready(mail_app, case_id, target_email="")
    shown = admin.get(page(case_id, batch_id)).get_data(as_text=True)
    assert "The case has no email address for its official" in shown
    assert "Send me a test" not in shown and page(case_id, batch_id, "/send") not in shown
    for rest in ("/test", "/send"):
        response = post_form(admin, page(case_id, batch_id, rest), page(case_id, batch_id))
        assert response.status_code == 303
    assert admin.get(page(case_id, batch_id, "/send")).status_code == 303
    assert rows(mail_app) == [] and the_batch(mail_app, batch_id).emailed_at is None


def test_a_batch_too_large_for_one_email_is_refused(make_app, cases):
    app = make_app(DELIVERY_EMAIL_MAX_LETTERS=2)
    admin = staff_client(app, "admin", "admin@example.org")
    case_id = cases[CASE]
    batch_id = ready(app, case_id)
    shown = admin.get(page(case_id, batch_id)).get_data(as_text=True)
    message = "This batch holds 3 appeals, more than the 2 one email may carry"
    assert message in shown and "make batches of at most 2 appeals" in shown
    assert "Send me a test" not in shown
    for rest in ("/test", "/send"):
        response = post_form(admin, page(case_id, batch_id, rest), page(case_id, batch_id))
        assert message in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert rows(app) == []
    assert admin.get(page(case_id, batch_id, "/attachment.pdf")).status_code == 404


def test_a_solidarity_batch_is_not_emailed_to_the_official(mail_app, admin, cases):
    case_id = cases[CASE]
    ready(mail_app, case_id)
    with mail_app.app_context():
        SolidarityFactory(case_id=case_id, moderation="approved")
        staff = db.session.scalar(sa.select(StaffUser).limit(1))
        batch_id = batches.make_batch(db.session.get(Case, case_id), "solidarity", staff).id
    response = post_form(admin, page(case_id, batch_id, "/send"), page(case_id, batch_id))
    assert "Only appeals batches go to the official by email." in admin.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert rows(mail_app) == []


@pytest.mark.parametrize(
    ("method", "rest"),
    [
        ("get", ""),
        ("get", "/preview.html"),
        ("get", "/attachment.pdf"),
        ("get", "/send"),
        ("post", "/test"),
        ("post", "/send"),
    ],
)
def test_moderators_cannot_email_a_batch(app, admin, moderator, cases, method, rest):
    case_id = cases[CASE]
    batch_id = ready(app, case_id)
    data = {"csrf_token": csrf_from(moderator)} if method == "post" else None
    response = getattr(moderator, method)(
        page(case_id, batch_id, rest), data=data, headers=SAME_ORIGIN
    )
    assert response.status_code == 403
    assert rows(app) == [] and the_batch(app, batch_id).emailed_at is None


@pytest.mark.parametrize("rest", ["/test", "/send"])
def test_a_post_without_its_csrf_token_or_from_another_site_is_refused(app, admin, cases, rest):
    case_id = cases[CASE]
    batch_id = ready(app, case_id)
    url = page(case_id, batch_id, rest)
    assert admin.post(url, headers=SAME_ORIGIN).status_code == 400
    token = csrf_from(admin, page(case_id, batch_id))
    elsewhere = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert admin.post(url, data={"csrf_token": token}, headers=elsewhere).status_code == 403
    assert rows(app) == [] and the_batch(app, batch_id).emailed_at is None


def test_a_batch_of_another_case_is_not_found(app, admin, cases):
    batch_id = ready(app, cases[CASE])
    assert admin.get(page(cases["germain-rukuki"], batch_id)).status_code == 404
