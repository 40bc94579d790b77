"""A news send's progress in a real browser: the bar moves while staff watch (htmx polls),
the polling stops once every email is out, and screen readers are told in a live region."""

import os
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from factories import LetterFactory
from test_admin_pages import case_id, sign_in_as_admin

from extensions import db
from mail import news
from models import CaseUpdate, Outbox, StaffUser, utcnow


def queued_update(live, writers=12):
    gustavo = case_id(live, "gustavo-gatica")
    with live.app.app_context():
        for n in range(writers):
            LetterFactory(
                case_id=gustavo, email=f"w{n}@example.org", locale="es" if n % 3 else "en"
            )
        update = CaseUpdate(
            case_id=gustavo,
            title="Charges dropped",
            body="Thank you for writing.",
            translations={"es": {"title": "Cargos retirados", "body": "Gracias por escribir."}},
            happened_on=date(2026, 11, 20),
            published_at=utcnow(),
        )
        db.session.add(update)
        db.session.commit()
        admin = db.session.scalar(sa.select(StaffUser).where(StaffUser.role == "admin"))
        news.queue_update(update, admin)
        news.queue_requested(log=lambda _line: None)  # the mail worker's share
        return gustavo, update.id


def mark_sent(live, update_id, how_many):
    with live.app.app_context():
        ids = db.session.scalars(
            sa.select(Outbox.id)
            .where(Outbox.case_update_id == update_id, Outbox.state == "pending")
            .order_by(Outbox.id)
            .limit(how_many)
        ).all()
        db.session.execute(sa.update(Outbox).where(Outbox.id.in_(ids)).values(state="sent"))
        db.session.commit()


def shoot(page, name):
    """Screenshots for a person to look at, when SCREENSHOTS names a folder."""
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def test_the_progress_bar_moves_while_staff_watch_and_stops_when_done(live, page):
    sign_in_as_admin(live, page, "/admin/cases")
    gustavo, update_id = queued_update(live)
    page.goto(f"{live.url}/admin/cases/{gustavo}/updates/{update_id}#news-email")
    bar = page.locator("#news-progress progress")
    assert bar.get_attribute("value") == "0" and bar.get_attribute("max") == "12"
    shoot(page, "news-progress-start-390")

    mark_sent(live, update_id, 6)  # the worker sends half: no reload
    page.wait_for_selector("#news-progress progress[value='6']", timeout=6000)
    page.wait_for_selector("#news-progress-said:has-text('50%')", timeout=6000)
    assert page.locator("#news-progress-said").get_attribute("role") == "status"

    mark_sent(live, update_id, 6)
    page.wait_for_selector("#news-progress-said:has-text('Sending finished')", timeout=6000)
    assert "12 of 12 sent" in page.locator("#news-progress").inner_text()
    assert page.locator("#news-progress[data-hx-trigger]").count() == 0  # no more polls
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "news-progress-done-1280")


def test_the_send_steps_before_sending(live, page):
    sign_in_as_admin(live, page, "/admin/cases")
    gustavo = case_id(live, "gustavo-gatica")
    with live.app.app_context():
        LetterFactory(case_id=gustavo, email="ana@example.org", locale="es")
        update = CaseUpdate(
            case_id=gustavo,
            title="Charges dropped",
            body="The prosecutor dropped every charge.\n\nThank you for writing.",
            translations={"es": {"title": "Cargos retirados", "body": "Gracias por escribir."}},
            happened_on=date(2026, 11, 20),
            published_at=utcnow(),
        )
        db.session.add(update)
        db.session.commit()
        update_id = update.id
    page.goto(f"{live.url}/admin/cases/{gustavo}/updates/{update_id}#news-email")
    shoot(page, "news-send-390")
    page.select_option("#news-preview-language", "es")
    page.click("#news-email button:has-text('Preview')")
    page.wait_for_selector("iframe.email-preview")
    frame = page.frame_locator("iframe.email-preview")
    assert "Cargos retirados" in frame.locator("h1").inner_text()
    shoot(page, "news-preview-390")
    page.go_back()
    page.click("a:has-text('Send to 1 writer')")
    page.wait_for_selector("text=It can be sent once only")
    shoot(page, "news-confirm-390")
    page.click("button:has-text('Yes, send to 1 writer')")
    page.wait_for_selector("#news-progress")
    assert "the mail worker is preparing the emails" in page.content()
    assert "Preparing the emails…" in page.locator("#news-progress").inner_text()
    shoot(page, "news-preparing-390")
    with live.app.app_context():
        news.queue_requested(log=lambda _line: None)  # the worker, meanwhile
    page.wait_for_selector("#news-progress progress[max='1']", timeout=6000)
    assert "0 of 1 sent" in page.locator("#news-progress").inner_text()
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "news-sent-1280")
    page.click("button:has-text('Stop sending')")
    page.wait_for_selector("text=Sending stopped: 1 email will not be sent.")
    assert "Stopped." in page.locator("#news-progress").inner_text()
    shoot(page, "news-stopped-1280")
