"""Public JSON for partners and the press."""

from flask import Blueprint, jsonify

import letters
from blueprints.shared import published_cases
from web import caching

bp = Blueprint("api", __name__)


@bp.get("/stats")
def stats():
    """The total of confirmed messages and, per published case, its count and goal:
    cached like a public page, and readable by any site's scripts."""
    return caching.public_page(stats_response)


def stats_response():
    cases = published_cases()
    counts = letters.counts_by_case()
    body = {
        "total": sum(counts.get(case.id, 0) for case in cases),
        "cases": [
            {
                "slug": case.slug,
                "name": case.name,
                "count": counts.get(case.id, 0),
                "goal": case.goal,
                "status": case.status,
            }
            for case in cases
        ],
    }
    response = jsonify(body)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
