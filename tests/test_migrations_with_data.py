"""The migrations run on a database that already holds letters, as on a site that has
been live: on SQLite, rebuilding a table that other rows point at must keep every row."""

import flask_migrate
import sqlalchemy as sa

from app import create_app
from config import TestConfig
from extensions import db

BEFORE_LANGUAGES = "d5e8f1a2b3c4"  # the revision before the case texts per language


def test_a_live_sqlite_database_upgrades_and_downgrades_with_its_letters(tmp_path):
    url = "sqlite:///" + str(tmp_path / "live.db")
    app = create_app(
        type("C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}),
        instance_path=str(tmp_path / "instance"),
    )
    with app.app_context():
        flask_migrate.upgrade(revision=BEFORE_LANGUAGES)
        with db.engine.begin() as connection:
            run = connection.exec_driver_sql
            run(
                "INSERT INTO cases (id, slug, name, country, summary, story, ask, target_title,"
                " target_address, appeal_templates, solidarity_prompt, goal, status, sort_order,"
                " photo_alt, created_at, updated_at) VALUES (1, 'ana', 'Ana', 'CL', 's', 's',"
                " 'a', 't', '', '{}', '', 10, 'published', 0, '', '2026-01-01', '2026-01-01')"
            )
            run(
                "INSERT INTO letters (id, case_id, kind, body, name, email, email_key, country,"
                " city, language, consent_privacy, consent_contact, status, moderation,"
                " counted, created_at) VALUES (1, 1, 'appeal', 'Free Ana', 'Ada',"
                " 'ada@example.org', 'ada@example.org', 'GB', '', 'en', 1, 0, 'unconfirmed',"
                " 'pending', 0, '2026-01-01')"
            )
            run(
                "INSERT INTO outbox (recipient, template, state, attempts, next_attempt_at,"
                " last_error, created_at, letter_id) VALUES ('ada@example.org', 'confirm',"
                " 'pending', 0, '2026-01-01', '', '2026-01-01', 1)"
            )
        flask_migrate.upgrade()
        letter = db.session.execute(sa.text("SELECT locale, body FROM letters")).one()
        assert tuple(letter) == ("en", "Free Ana")  # kept, with the new column's default
        assert db.session.execute(sa.text("SELECT count(*) FROM outbox")).scalar() == 1
        db.session.remove()
        flask_migrate.downgrade(revision=BEFORE_LANGUAGES)
        assert db.session.execute(sa.text("SELECT body FROM letters")).scalar() == "Free Ana"
        db.session.remove()
        # Foreign keys are on again for the app's own connections.
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()
