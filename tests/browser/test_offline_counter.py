"""A case page left open shows letters written offline as soon as their report is
approved: the counter's poll (htmx) brings the new total with online and offline apart,
and the line about letters delivered to the official once a batch is sent."""

from datetime import date

import sqlalchemy as sa
from factories import CaseCounterFactory
from playwright.sync_api import expect

from extensions import db
from models import Case, DeliveryBatch, OfflineReport

CASE = "gustavo-gatica"


def case_id(app):
    return db.session.scalar(sa.select(Case.id).where(Case.slug == CASE))


def test_an_open_case_page_counts_an_approved_report_and_a_delivery(live, page):
    with live.app.app_context():
        CaseCounterFactory(case_id=case_id(live.app), count=1200)
        report = OfflineReport(
            case_id=case_id(live.app),
            appeals=30,
            solidarity=45,
            event="School fair",
            town="Leeds",
            country="GB",
            held_on=date(2026, 11, 28),
        )
        db.session.add(report)
        db.session.commit()
        report_id = report.id
    page.goto(f"{live.url}/ar/cases/{CASE}")
    counter = page.locator("#case-counter")
    expect(counter.locator("strong[data-count]")).to_have_text("1,200")
    expect(counter.locator("[data-figure]")).to_have_count(0)  # not approved yet

    with live.app.app_context():
        db.session.get(OfflineReport, report_id).state = "approved"
        db.session.add(
            DeliveryBatch(
                case_id=case_id(live.app),
                kind="appeal",
                state="sent",
                letters=900,
                sent_on=date(2026, 12, 3),
                method="post",
            )
        )
        db.session.commit()
    expect(counter.locator("strong[data-count]")).to_have_text("1,275", timeout=10_000)
    expect(counter.locator('[data-figure="online"]')).to_contain_text("1,200")
    expect(counter.locator('[data-figure="offline"]')).to_contain_text("75")
    expect(counter.locator('[data-figure="delivered"]')).to_contain_text("900")
    # Still polling after the swap, and the total the page reads is the new one.
    expect(page.locator("#case-counter[data-hx-trigger]")).to_have_count(1)
