"""Fixtures: an app on a real database (SQLite, or PostgreSQL when TEST_DATABASE_URL is
set), a client, a CLI runner, a real SMTP server, and a supporter who fills in forms."""

import contextlib
import email
import os
import re
import socket
from email import policy

import flask_migrate
import pytest
import redis
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app import create_app
from config import TestConfig
from demo_campaign import CASES
from extensions import db, limiter
from models import Case

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        db.engine.dispose()
    return database_url


def empty_tables():
    """Remove every row, children first, so each test starts from nothing."""
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(table.name for table in db.metadata.sorted_tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


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
        draft = Case(
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
        db.session.add(draft)
        db.session.commit()
        return {c.slug: c.id for c in db.session.scalars(sa.select(Case))}


@pytest.fixture
def case_slug(cases):
    return CASES[1]["slug"]  # Gustavo Gatica


class Inbox:
    """What a real SMTP server (aiosmtpd) received, parsed as email messages."""

    def __init__(self):
        self.messages = []
        self.port = free_port()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def body(self, message, subtype):
        return message.get_body(preferencelist=(subtype,)).get_content()


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


def hidden_value(html, name):
    match = re.search(rf'name="{re.escape(name)}"[^>]* value="([^"]*)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


class Supporter:
    """Fills in a case's letter form the way a browser would, with or without htmx."""

    def __init__(self, client):
        self.client = client

    def form_fields(self, slug, kind):
        page = self.client.get(f"/cases/{slug}").get_data(as_text=True)
        return {
            f"{kind}-csrf_token": hidden_value(page, f"{kind}-csrf_token"),
            f"{kind}-started": hidden_value(page, f"{kind}-started"),
            f"{kind}-language": "en",
        }

    def submit(self, slug, kind="appeal", htmx=False, fields=None, **values):
        data = self.form_fields(slug, kind) if fields is None else dict(fields)
        defaults = {
            "name": "Ada Lovelace",
            "email": "ada@example.org",
            "country": "GB",
            "city": "London",
            "body": "Please release him now.",
            "consent_privacy": "y",
        }
        for key, value in {**defaults, **values}.items():
            if value is not None:
                data[f"{kind}-{key}"] = value
        headers = {"HX-Request": "true", "HX-Request-Type": "partial"} if htmx else {}
        return self.client.post(f"/cases/{slug}/letters/{kind}", data=data, headers=headers)


@pytest.fixture
def supporter(client):
    return Supporter(client)
