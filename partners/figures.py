"""Each partner's figures: letters written and confirmed, per case and per day, and the
letters written offline at its events (its approved reports)."""

import hmac
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from extensions import db
from models import Case, Letter, OfflineReport, Partner, utcnow


def written_and_counted():
    """Letters written, and those confirmed and counted, as two column expressions."""
    return (
        sa.func.count().label("written"),
        sa.func.coalesce(sa.func.sum(sa.case((Letter.counted, 1), else_=0)), 0).label("counted"),
    )


def stats_per_case(partner_id):
    """[(case name, written, counted)] for one partner's letters, busiest case first."""
    rows = db.session.execute(
        sa.select(Case.name, *written_and_counted())
        .join(Case, Case.id == Letter.case_id)
        .where(Letter.partner_id == partner_id)
        .group_by(Case.id, Case.name)
        .order_by(sa.desc("written"), Case.name)
    )
    return [(name, written, int(counted)) for name, written, counted in rows]


def offline_per_case(partner_id):
    """[(case name, appeals, solidarity)] written offline at the partner's events, from its
    approved reports only (those that count), busiest case first."""
    appeals = sa.func.sum(OfflineReport.appeals)
    solidarity = sa.func.sum(OfflineReport.solidarity)
    rows = db.session.execute(
        sa.select(Case.name, appeals, solidarity)
        .join(Case, Case.id == OfflineReport.case_id)
        .where(OfflineReport.partner_id == partner_id, OfflineReport.state == "approved")
        .group_by(Case.id, Case.name)
        .order_by(sa.desc(appeals + solidarity), Case.name)
    )
    return [(name, int(appeals), int(solidarity)) for name, appeals, solidarity in rows]


def stats_per_day(partner_id, days=120):
    """[(day, written, counted)] for one partner, newest day first (the day a date, for
    the page to write it the way the reader's language writes dates)."""
    day = sa.func.date(Letter.created_at)
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        sa.select(day.label("day"), *written_and_counted())
        .where(Letter.partner_id == partner_id, Letter.created_at >= since)
        .group_by(day)
        .order_by(day.desc())
    )
    return [
        (date.fromisoformat(str(when)[:10]), written, int(counted))
        for when, written, counted in rows
    ]


def totals_by_partner():
    """{partner id: (written, counted)} for every partner that has letters (the dashboard)."""
    rows = db.session.execute(
        sa.select(Letter.partner_id, *written_and_counted())
        .where(Letter.partner_id.is_not(None))
        .group_by(Letter.partner_id)
    )
    return {partner_id: (written, int(counted)) for partner_id, written, counted in rows}


def export_rows():
    """(partner slug, partner name, case slug, written, counted) per partner and case."""
    rows = db.session.execute(
        sa.select(Partner.slug, Partner.name, Case.slug, *written_and_counted())
        .join(Partner, Partner.id == Letter.partner_id)
        .join(Case, Case.id == Letter.case_id)
        .group_by(Partner.slug, Partner.name, Case.slug)
        .order_by(Partner.slug, Case.slug)
    )
    return [
        (p_slug, p_name, c_slug, written, int(counted))
        for p_slug, p_name, c_slug, written, counted in rows
    ]


def partner_for_stats_link(token):
    """The partner whose stats link carries `token`, or None.

    Every partner's secret is compared in constant time and the loop never stops early,
    so the answer's timing says nothing about how close a guess was.
    """
    token = (token or "").encode()
    found = None
    for partner_id, secret in db.session.execute(
        sa.select(Partner.id, Partner.stats_token).where(Partner.removed_at.is_(None))
    ):
        if hmac.compare_digest(secret.encode(), token):
            found = partner_id
    return db.session.get(Partner, found) if found is not None else None


def stats_url(partner):
    return current_app.config["BASE_URL"] + current_app.url_map.bind("").build(
        "embed.stats", {"token": partner.stats_token}
    )
