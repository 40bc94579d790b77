"""Public JSON for partners and the press."""

from flask import Blueprint, jsonify

from blueprints.shared import published_cases
from letters import totals
from web import caching

bp = Blueprint("api", __name__)


@bp.get("/stats")
def stats():
    """The campaign's messages, overall and per published case: online, offline and
    total, the goal, and what was delivered; cached like a public page, and readable by
    any site's scripts."""
    return caching.public_page(stats_response)


def figures_json(figures):
    """The figures everyone may read. `total` is online and offline together, as the
    public counters show it; a case's `count` (and the overall `total`) meant online
    only before offline letters were counted, and stays the number the pages show."""
    delivered = figures["delivered"]
    appeals_on = delivered["appeals_on"]
    return {
        "online": figures["online"],
        "offline": figures["offline"],
        "total": figures["total"],
        "delivered": {
            "appeals": delivered["appeals"],
            "solidarity": delivered["solidarity"],
            "appeals_on": appeals_on.isoformat() if appeals_on else None,
        },
    }


def stats_response():
    cases = published_cases()
    figures = totals.figures_by_case([case.id for case in cases])
    body = figures_json(totals.added_up(figures.values()))
    body["cases"] = [
        {
            "slug": case.slug,
            "name": case.name,
            "count": figures[case.id]["total"],
            "goal": case.goal,
            "status": case.status,
            **figures_json(figures[case.id]),
        }
        for case in cases
    ]
    response = jsonify(body)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
