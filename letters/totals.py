"""What the public counters, /api/stats and the dashboard show of a case: letters sent
online (confirmed and counted, letters.counters), letters written offline (approved
reports) and the two together, and the letters delivered (sent batches).

Each figure is a sum over a few rows per case (counter shards, reports, batches), never
over the letters, so a counter costs the same with ten letters or ten million.
"""

import sqlalchemy as sa

from delivery.batches import delivered_by_case
from extensions import db
from letters.counters import case_count, counts_by_case, offline_by_case
from models import Case


def case_figures(online, offline, delivered):
    """One case's figures from its online count, its offline {"appeal", "solidarity"}
    and its delivered {"appeal", "solidarity", "appeal_on"} (both may be missing)."""
    offline = offline or {}
    delivered = delivered or {}
    written_offline = offline.get("appeal", 0) + offline.get("solidarity", 0)
    return {
        "online": online,
        "offline": written_offline,
        "offline_appeals": offline.get("appeal", 0),
        "offline_solidarity": offline.get("solidarity", 0),
        "total": online + written_offline,
        "delivered": {
            "appeals": delivered.get("appeal", 0),
            "solidarity": delivered.get("solidarity", 0),
            "appeals_on": delivered.get("appeal_on"),
        },
    }


def figures_by_case(case_ids):
    """{case_id: case_figures} for each of `case_ids`."""
    online, offline, delivered = counts_by_case(), offline_by_case(), delivered_by_case()
    return {
        case_id: case_figures(online.get(case_id, 0), offline.get(case_id), delivered.get(case_id))
        for case_id in case_ids
    }


def added_up(figures):
    """The figures of several cases as one: sums, and the latest day appeals went out."""
    whole = case_figures(0, {}, {})
    for one in figures:
        for name in ("online", "offline", "offline_appeals", "offline_solidarity", "total"):
            whole[name] += one[name]
        for name in ("appeals", "solidarity"):
            whole["delivered"][name] += one["delivered"][name]
        days = [whole["delivered"]["appeals_on"], one["delivered"]["appeals_on"]]
        whole["delivered"]["appeals_on"] = max((day for day in days if day), default=None)
    return whole


def public_totals():
    """The campaign's figures over its public cases (drafts left out): the home page's."""
    public = db.session.scalars(sa.select(Case.id).where(Case.status != "draft"))
    return added_up(figures_by_case(list(public)).values())


def counter(case_id):
    """What a case's counter shows, as its template's names: `count` (online and offline
    together: the progress towards the goal counts both), `online`, `offline`, and the
    appeals `delivered` to the official with the day of the latest batch."""
    figures = case_figures(
        case_count(case_id), offline_by_case().get(case_id), delivered_by_case().get(case_id)
    )
    return {
        "count": figures["total"],
        "online": figures["online"],
        "offline": figures["offline"],
        "delivered": figures["delivered"],
    }
