"""Every staff route, for every kind of visitor: signed out, moderator, admin.

The routes come from the app's URL map, so a new route is checked the day it is added;
which ones moderators may use is written here, so a route that forgets @admin_only fails.
"""

import re

import pytest
from helpers import csrf_from

from app import create_app
from config import TestConfig

MODERATOR_ENDPOINTS = re.compile(r"^admin\.(index|queue\w*)$")
PUBLIC_STAFF_ENDPOINTS = {"auth.sign_in", "auth.sign_out"}


def staff_routes():
    """(endpoint, method, path) for every route of the admin blueprint, arguments filled in."""
    app = create_app(TestConfig)
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        path = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, path))
    return routes


ROUTES = staff_routes()


def test_every_staff_route_is_listed():
    assert len(ROUTES) >= 2
    assert all(endpoint.startswith("admin.") for endpoint, _, _ in ROUTES)


def token_for(client):
    """The session's CSRF token, from the staff entry: the one page every visitor reaches."""
    return csrf_from(client)


def call(client, method, path, token=None):
    headers = {"X-CSRFToken": token} if token else {}
    return client.open(path, method=method, headers=headers)


@pytest.mark.parametrize(("endpoint", "method", "path"), ROUTES)
def test_signed_out_visitors_are_sent_to_sign_in(client, cases, endpoint, method, path):
    token = token_for(client)
    response = call(client, method, path, token)
    assert response.status_code == 302, endpoint
    assert response.headers["Location"].startswith("/admin/sign-in?next=")


@pytest.mark.parametrize(("endpoint", "method", "path"), ROUTES)
def test_moderators_reach_the_queue_and_nothing_else(moderator, cases, endpoint, method, path):
    client = moderator
    token = token_for(client)
    response = call(client, method, path, token)
    if MODERATOR_ENDPOINTS.match(endpoint):
        assert response.status_code != 403, endpoint
    else:
        assert response.status_code == 403, endpoint


@pytest.mark.parametrize(("endpoint", "method", "path"), ROUTES)
def test_admins_reach_every_staff_route(admin, cases, endpoint, method, path):
    client = admin
    token = token_for(client)
    response = call(client, method, path, token)
    assert response.status_code not in (401, 403), endpoint
    assert response.status_code < 500, endpoint
    if response.status_code == 200:
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("endpoint", "method", "path"), [r for r in ROUTES if r[1] == "POST"])
def test_staff_posts_without_csrf_token_are_refused(admin, cases, endpoint, method, path):
    assert call(admin, method, path).status_code == 400, endpoint
