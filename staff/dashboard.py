"""The staff dashboard's figures: letters by case, kind, country, partner and day, the
moderation queue, the outbox, and bounces, complaints and unsubscribes per day.

A campaign stores millions of letters, so the figures come from a few GROUP BY queries
that indexes answer without reading a letter (the per-case, per-country and per-partner
figures from a single one), and the whole set is kept for DASHBOARD_CACHE_SECONDS in each
process: however many staff look, the database does the work about twice a minute.
bench/dashboard_bench.py measures it on a million letters. Everything cached is plain
data (dicts, numbers, dates), never rows of a session.
"""

import math
import re
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

import delivery
from extensions import begin_write, db
from letters import counters
from mail import outbox
from models import KINDS, Case, Letter, MailEvent, Outbox, Partner, utcnow
from staff import audit
from web import caching

CACHE_KEY = ("dashboard",)
TOP_COUNTRIES = 15
CHART_DAYS = 60
DEAD_SHOWN = 5
# In the moderation queue: confirmed by its writer, not yet read by a moderator.
QUEUED = sa.and_(Letter.status == "confirmed", Letter.moderation == "pending")
EMAIL_ADDRESS = re.compile(r"<?[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+>?")


# What the dashboard breaks letters down by. ix_letters_dashboard holds these columns in
# this order, so one GROUP BY over them reads that index alone, in order, with no sort:
# a few thousand groups from a million letters, added up here per case, country, partner.
# (Country comes second so that SQLite never skip-scans this index for the queue's
# look-ups, which ix_letters_queue answers at once.)
GROUPED = (
    Letter.case_id,
    Letter.country,
    Letter.partner_id,
    Letter.kind,
    Letter.status,
    Letter.moderation,
    Letter.counted,
)


def group_flags():
    """Yes/no of each group, decided by SQL: the definitions of delivery.py, not copies."""
    return {
        "confirmed": Letter.status == "confirmed",
        # Not rejected: the groups hold no `flagged`, so the appeals held for a moderator
        # (delivery.held_by_case) are taken off where it matters (the delivery overview).
        "deliverable_appeals": delivery.unrejected_appeals(),
        "deliverable_solidarity": delivery.deliverable_solidarity(),
        "queued": QUEUED,
    }


def groups_statement():
    """One row per combination of GROUPED values: the values, a 0/1 per flag, and letters."""
    flags = [
        sa.case((condition, 1), else_=0).label(name) for name, condition in group_flags().items()
    ]
    return sa.select(*GROUPED, *flags, sa.func.count().label("letters")).group_by(*GROUPED)


def letter_groups():
    """The rows of groups_statement()."""
    return db.session.execute(groups_statement()).all()


def case_measures():
    """The figures per case (and in total): zeros to add to."""
    names = ["written", "confirmed", "counted", "deliverable_appeals", "deliverable_solidarity"]
    names += ["offline", "total"]  # written offline (approved reports); counted + offline
    measures = ("written", "counted", "queued", "offline")
    names += [f"{kind}_{measure}" for kind in KINDS for measure in measures]
    return dict.fromkeys(names, 0)


def add_up(groups):
    """(per case {case_id: measures}, per country {code: ...}, per partner {id: ...})."""
    cases, countries, partners = {}, {}, {}
    for group in groups:
        n = group.letters
        case = cases.setdefault(group.case_id, case_measures())
        case["written"] += n
        case["counted"] += n * group.counted
        for flag in ("confirmed", "deliverable_appeals", "deliverable_solidarity"):
            case[flag] += n * group._mapping[flag]
        if group.kind in KINDS:
            case[f"{group.kind}_written"] += n
            case[f"{group.kind}_counted"] += n * group.counted
            case[f"{group.kind}_queued"] += n * group.queued
        for table, key in ((countries, group.country), (partners, group.partner_id)):
            row = table.setdefault(key, {"written": 0, "counted": 0})
            row["written"] += n
            row["counted"] += n * group.counted
    return cases, countries, partners


def add_offline(figures, written_offline):
    """Add letters written offline ({kind: letters} of approved reports) to a case's or
    the totals' figures, and the total the public counters show: counted online and
    written offline together."""
    for kind in KINDS:
        figures[f"{kind}_offline"] += written_offline.get(kind, 0)
    figures["offline"] = figures["appeal_offline"] + figures["solidarity_offline"]
    figures["total"] = figures["counted"] + figures["offline"]


def letters_by_case():
    """{case_id: {measure: number}} for the cases that have letters."""
    return add_up(letter_groups())[0]


def all_cases():
    """Every case, drafts too: staff follow a case before it is published."""
    statement = sa.select(
        Case.id, Case.name, Case.slug, Case.status, Case.goal, Case.target_title
    ).order_by(Case.sort_order, Case.id)
    return [dict(row._mapping) for row in db.session.execute(statement)]


def country_rows(countries):
    """[{country, written, counted}], the countries most counted letters come from first."""
    rows = [{"country": code, **figures} for code, figures in countries.items()]
    return sorted(rows, key=lambda row: (-row["counted"], -row["written"], row["country"]))


def partner_rows(partners):
    """[{partner_id, name, written, counted}]: our own site (no partner) first, then every
    partner by name, those without letters yet included."""
    named = db.session.execute(sa.select(Partner.id, Partner.name).order_by(Partner.name))
    rows = [{"partner_id": None, "name": None}]
    rows += [{"partner_id": partner.id, "name": partner.name} for partner in named]
    for row in rows:
        row.update(partners.get(row["partner_id"], {"written": 0, "counted": 0}))
    return rows


def days_statement():
    """Letters per day (UTC), from the covering index on (case_id, created_at)."""
    day = sa.func.date(Letter.created_at)
    return sa.select(day, sa.func.count()).group_by(day)


def letters_by_day():
    """{date: letters written that day (UTC)}."""
    rows = db.session.execute(days_statement())
    return {date.fromisoformat(str(value)[:10]): int(n) for value, n in rows}


def first_in_line_statement(kind, flagged):
    """The first letter of a kind in the queue, flagged or not: a look-up in ix_letters_queue
    (moderation, flagged, id), which stops at the first confirmed letter of that kind.

    Ordered as that index is, so that no other index gives the order: with `flagged =
    false` and ORDER BY id, PostgreSQL walked the primary key from the first letter ever
    written, past every letter already moderated (0.6 s with a million).
    """
    return (
        sa.select(Letter.id, Letter.confirmed_at)
        .where(Letter.moderation == "pending", Letter.flagged.is_(flagged))
        .where(Letter.status == "confirmed", Letter.kind == kind)
        .order_by(Letter.moderation, Letter.flagged, Letter.id)  # the index's own order
        .limit(1)
    )


def first_in_queue():
    """{kind: confirmation time of the letter first in line}: the queue works oldest first,
    flagged letters apart, so the first in line is the lower id of two look-ups."""
    oldest = {}
    for kind in KINDS:
        firsts = [
            db.session.execute(first_in_line_statement(kind, flagged)).first()
            for flagged in (False, True)
        ]
        found = [row for row in firsts if row is not None]
        oldest[kind] = min(found).confirmed_at if found else None
    return oldest


def oldest_email_statement():
    """When the oldest email still waiting was queued: few wait, and the state is indexed."""
    return sa.select(sa.func.min(Outbox.created_at)).where(Outbox.state == "pending")


def without_addresses(text):
    """An SMTP error often quotes the recipient: the dashboard shows the error, not them."""
    return EMAIL_ADDRESS.sub("[address]", text or "")


def outbox_figures():
    """Emails per state, the oldest still waiting, and why the latest dead ones died."""
    counts = outbox.status_counts()
    return {
        "pending": counts.get("pending", 0),
        "sent": counts.get("sent", 0),
        "dead": counts.get("dead", 0),
        "oldest_pending": db.session.scalar(oldest_email_statement()),
        "recent_dead": [
            {"id": e.id, "attempts": e.attempts, "error": without_addresses(e.last_error)[:300]}
            for e in outbox.dead_emails(DEAD_SHOWN)
        ],
    }


# What came back from sending (mail/suppression.py records it, without the address).
MAIL_EVENT_DAYS = 30
MAIL_EVENTS = ("bounce", "soft_bounce", "complaint", "unsubscribe")
CHARTED_EVENTS = ("bounce", "complaint", "unsubscribe")  # soft bounces: in the table


def mail_events_statement(since):
    """Events per day and kind since `since`, from ix_mail_events_created_at: a few a day."""
    day = sa.func.date(MailEvent.created_at)
    return (
        sa.select(day, MailEvent.kind, sa.func.count())
        .where(MailEvent.created_at >= since)
        .group_by(day, MailEvent.kind)
    )


def mail_event_figures(today=None):
    """Bounces, soft bounces, complaints and unsubscribes of each of the last
    MAIL_EVENT_DAYS days (UTC), today included: totals, a row per day (newest first) and a
    chart per charted kind, every chart on the same days so that they read side by side."""
    end = today or utcnow().date()
    start = end - timedelta(days=MAIL_EVENT_DAYS - 1)
    per_kind = {kind: {} for kind in MAIL_EVENTS}
    for value, kind, count in db.session.execute(
        mail_events_statement(datetime.combine(start, time.min))
    ):
        per_kind.setdefault(kind, {})[date.fromisoformat(str(value)[:10])] = int(count)
    days = [end - timedelta(days=n) for n in range(MAIL_EVENT_DAYS)]
    return {
        "start": start,
        "end": end,
        "totals": {kind: sum(per_kind[kind].values()) for kind in MAIL_EVENTS},
        "days": [{"day": day} | {k: per_kind[k].get(day, 0) for k in MAIL_EVENTS} for day in days],
        "charts": {
            kind: day_chart(per_kind[kind], MAIL_EVENT_DAYS, end=end) for kind in CHARTED_EVENTS
        },
    }


def collect():
    """Every figure of the dashboard, read now."""
    by_case, by_country, by_partner = add_up(letter_groups())
    cases = all_cases()
    totals = case_measures()
    for figures_of_case in by_case.values():
        for name, value in figures_of_case.items():
            totals[name] += value
    offline = counters.offline_by_case()
    for case in cases:
        case.update(by_case.get(case["id"], case_measures()))
        add_offline(case, offline.get(case["id"], {}))
        add_offline(totals, offline.get(case["id"], {}))
    countries = country_rows(by_country)
    return {
        "computed_at": utcnow(),
        "totals": totals,
        "cases": cases,
        "countries": countries[:TOP_COUNTRIES],
        "other_countries": summed(countries[TOP_COUNTRIES:]),
        "country_count": len(countries),
        "partners": partner_rows(by_partner),
        "chart": day_chart(letters_by_day()),
        "queue": {
            kind: {"letters": totals[f"{kind}_queued"], "since": since}
            for kind, since in first_in_queue().items()
        },
        "outbox": outbox_figures(),
        "mail_events": mail_event_figures(),
    }


def summed(rows):
    """The rows beyond the top countries, as one row."""
    return {
        "countries": len(rows),
        "written": sum(row["written"] for row in rows),
        "counted": sum(row["counted"] for row in rows),
    }


def figures():
    """The dashboard's figures, read at most once per DASHBOARD_CACHE_SECONDS per process."""
    seconds = current_app.config["DASHBOARD_CACHE_SECONDS"]
    return caching.cached(CACHE_KEY, collect, seconds=seconds)


def retry_dead_emails():
    """Queue every dead email again, and record who did it, in one transaction."""
    begin_write()
    count = outbox.requeue_dead()
    audit.record("outbox.retry_dead", emails=count)
    db.session.commit()
    caching.forget(CACHE_KEY)  # this admin sees the change at once
    return count


# The chart of letters per day, drawn on the server as SVG.

CHART_WIDTH, CHART_HEIGHT = 640, 220
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 60, 598, 14, 186  # room for the labels
X_LABELS = 8


def nice_step(value):
    """The smallest of 1, 2, 5 times a power of ten that is at least `value` (and 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def day_chart(per_day, days=CHART_DAYS, end=None):
    """Bars for up to `days` days ending with the latest day that has letters, the quiet
    days included as zeros; with the axis ticks and the day labels that fit. None without
    letters. Given an `end`, exactly the `days` days up to it, even all quiet."""
    if end is not None:
        start = end - timedelta(days=days - 1)
    elif not per_day:
        return None
    else:
        end = max(per_day)
        start = max(min(per_day), end - timedelta(days=days - 1))
    series = [(start + timedelta(n), 0) for n in range((end - start).days + 1)]
    series = [(day, per_day.get(day, 0)) for day, _zero in series]
    busiest = max(series, key=lambda pair: pair[1])
    step = nice_step(busiest[1] / 4)
    top = max(step, step * math.ceil(busiest[1] / step))  # 2 to 4 steps up to the busiest
    plot_width, plot_height = PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP
    pitch = plot_width / len(series)
    width = max(1.0, pitch * 0.72)
    label_every = math.ceil(len(series) / X_LABELS)
    bars = []
    for index, (day, count) in enumerate(series):
        height = count / top * plot_height
        x = PLOT_LEFT + index * pitch + (pitch - width) / 2
        bars.append(
            {
                "day": day,
                "count": count,
                "x": round(x, 2),
                "y": round(PLOT_BOTTOM - height, 2),
                "width": round(width, 2),
                "height": round(height, 2),
                "centre": round(x + width / 2, 2),
                "labelled": (len(series) - 1 - index) % label_every == 0,
                "major": (len(series) - 1 - index) % (label_every * 2) == 0,  # phones: these
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": PLOT_LEFT,
        "right": PLOT_RIGHT,
        "bottom": PLOT_BOTTOM,
        "ticks": [
            {"value": step * n, "y": round(PLOT_BOTTOM - step * n / top * plot_height, 2)}
            for n in range(top // step + 1)
        ],
        "bars": bars,
        "start": start,
        "end": end,
        "total": sum(count for _day, count in series),
        "busiest_day": busiest[0],
        "busiest_count": busiest[1],
    }
