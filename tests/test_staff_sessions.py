"""Ending a staff account's sessions: signing out, a new password or role and `staff disable`
end every session of that account at once, on the server, so a copied cookie stops working."""

import pytest
import sqlalchemy as sa
from factories import STAFF_PASSWORD, StaffUserFactory
from helpers import csrf_from, sign_in

from extensions import db
from models import StaffUser

NEW_PASSWORD = "a brand new long secret"


@pytest.fixture
def owner(app):
    """A moderator signed in on their own client: mod@example.org."""
    with app.app_context():
        StaffUserFactory(email="mod@example.org")
    client = app.test_client()
    assert sign_in(client, "mod@example.org").status_code == 303
    return client


def copy_of(app, client):
    """A second client carrying the first one's session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in(client):
    """Whether the staff entry lets this client in, rather than sending it to sign in."""
    response = client.get("/admin/")
    return not response.headers["Location"].startswith("/admin/sign-in")


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(app, owner):
    thief = copy_of(app, owner)
    assert signed_in(thief)  # the copy works while the owner is signed in
    response = owner.post("/admin/sign-out", data={"csrf_token": csrf_from(owner)})
    assert response.status_code == 303
    assert not signed_in(thief)
    assert thief.get("/admin/queue").headers["Location"].startswith("/admin/sign-in")
    htmx = thief.get("/admin/queue", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/admin/sign-in")


def test_signing_out_ends_the_owners_other_sessions(app, owner):
    laptop = app.test_client()
    assert sign_in(laptop, "mod@example.org").status_code == 303
    owner.post("/admin/sign-out", data={"csrf_token": csrf_from(owner)})
    assert not signed_in(laptop)
    assert sign_in(laptop, "mod@example.org").status_code == 303  # a new sign-in works
    assert signed_in(laptop)


def test_staff_disable_ends_every_session_for_good(app, runner, owner):
    thief = copy_of(app, owner)
    result = runner.invoke(args=["staff", "disable", "mod@example.org"])
    assert result.exit_code == 0, result.output
    assert not signed_in(owner) and not signed_in(thief)
    # Switched back on (a database edit, say): the old sessions stay ended.
    with app.app_context():
        db.session.execute(sa.update(StaffUser).values(active=True))
        db.session.commit()
    assert not signed_in(thief)
    assert sign_in(thief, "mod@example.org").status_code == 303  # the owner signs in afresh


def test_a_new_password_ends_every_session(app, runner, owner, monkeypatch):
    thief = copy_of(app, owner)
    monkeypatch.setenv("ADMIN_PASSWORD", NEW_PASSWORD)
    result = runner.invoke(args=["create-admin", "mod@example.org", "--role", "moderator"])
    assert result.exit_code == 0, result.output
    assert not signed_in(owner) and not signed_in(thief)
    assert sign_in(owner, "mod@example.org", NEW_PASSWORD).status_code == 303
    assert signed_in(owner) and not signed_in(thief)


def test_a_role_change_ends_every_session(app, runner, monkeypatch):
    with app.app_context():
        StaffUserFactory(email="boss@example.org", role="admin")
    boss = app.test_client()
    assert sign_in(boss, "boss@example.org").status_code == 303
    thief = copy_of(app, boss)
    assert thief.get("/admin/dashboard").status_code == 200
    monkeypatch.setenv("ADMIN_PASSWORD", STAFF_PASSWORD)  # same password, lower role
    result = runner.invoke(args=["create-admin", "boss@example.org", "--role", "moderator"])
    assert result.exit_code == 0, result.output
    assert not signed_in(boss) and not signed_in(thief)
    assert thief.get("/admin/dashboard").headers["Location"].startswith("/admin/sign-in")
