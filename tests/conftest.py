"""Fixtures: an app on a real database (SQLite, or PostgreSQL when TEST_DATABASE_URL is
set), a client, a CLI runner, a real SMTP server, and a supporter who fills in forms."""

import contextlib
import os

import flask_migrate
import pytest
import redis
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from database import SEEDED_BY_MIGRATIONS, empty_tables
from embed_pages import RIVERSIDE, FramedSupporter
from factories import CaseFactory, PartnerFactory
from helpers import Inbox, Supporter, staff_client

from app import create_app
from cases.demo import CASES
from config import TestConfig
from extensions import db, limiter
from models import Case

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if POSTGRES_URL:
        return POSTGRES_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(scope="session")
def schema(database_url, tmp_path_factory):
    """Build the schema once, with the real migrations, on an empty database."""
    app = create_app(
        type("C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url}),
        instance_path=str(tmp_path_factory.mktemp("instance")),
    )
    with app.app_context():
        db.drop_all()
        db.session.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        flask_migrate.upgrade()
        for table in SEEDED_BY_MIGRATIONS:
            SEEDED_BY_MIGRATIONS[table] = db.session.execute(table.select()).mappings().all()
        db.session.remove()  # give the connection back before the pool is closed
        db.engine.dispose()
    return database_url


@pytest.fixture
def make_app(schema, tmp_path):
    """Build an app with settings on top of TestConfig; tables are emptied afterwards."""
    built = []

    def make(**settings):
        config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": schema, **settings})
        app = create_app(config, instance_path=str(tmp_path / "instance"))
        built.append(app)
        return app

    yield make
    if built:
        with built[0].app_context():
            db.session.remove()
            empty_tables()
    for each in built:
        with each.app_context():
            db.session.remove()
            db.engine.dispose()  # close its pool now, not whenever it is collected
        if any(app.config["RATELIMIT_ENABLED"] for app in built):
            # The storage is shared (Redis in CI): start the next test afresh. A test that
            # pointed it at a dead server has nothing to reset.
            with contextlib.suppress(redis.exceptions.ConnectionError):
                limiter.reset()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def cases(app):
    """The demo campaign, published; plus a draft that the public must never see."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed"])
        assert result.exit_code == 0, result.output
        CaseFactory(
            slug="secret-draft",
            name="Draft Person",
            country="FR",
            summary="Not ready yet.",
            story="Draft story.",
            ask="Draft ask.",
            target_title="Someone",
            appeal_templates={"en": "Draft letter"},
            status="draft",
        )
        return {c.slug: c.id for c in db.session.scalars(sa.select(Case))}


@pytest.fixture
def case_slug(cases):
    return CASES[1]["slug"]  # Gustavo Gatica


@pytest.fixture
def gustavo(cases):
    """Gustavo Gatica's case id."""
    return cases["gustavo-gatica"]


@pytest.fixture
def moderator(app):
    """A signed-in moderator's client."""
    return staff_client(app, "moderator", "mod@example.org")


@pytest.fixture
def second_moderator(app):
    """Another moderator, signed in on a client of their own."""
    return staff_client(app, "moderator", "mod2@example.org")


@pytest.fixture
def admin(app):
    """A signed-in admin's client."""
    return staff_client(app, "admin", "admin@example.org")


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def mail_app(make_app, smtp):
    """An app whose mail goes to the test SMTP server."""
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)


@pytest.fixture
def supporter(client):
    return Supporter(client)


@pytest.fixture
def partner_id(app, cases):
    """Riverside School, a partner whose site frames the letter form: its id."""
    with app.app_context():
        return PartnerFactory(**RIVERSIDE).id


@pytest.fixture
def framed(app):
    """A supporter writing in the letter form framed on Riverside School's site."""
    return FramedSupporter(app.test_client())
