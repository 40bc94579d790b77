"""Application factory: wiring only. gunicorn serves `app:app`."""

import hashlib
import json
import os

from flask import Flask, current_app, request
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config
from extensions import (
    Serializer,
    babel,
    cache,
    compress,
    configure_sqlite,
    csrf,
    db,
    limiter,
    login_manager,
    mail,
    migrate,
)
from web import locale, security


def create_app(config_class=Config, instance_path=None):
    """Build the app for one configuration (Config in production, TestConfig in tests)."""
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_object(config_class)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: export a long random value.")
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A pooled server connection may have died with a restart: test it on checkout.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if app.config["PROXY_FIX_X_FOR"]:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.session_interface = SessionInterface()
    register_extensions(app)
    register_blueprints(app)
    security.register(app)

    import commands
    from web import errors, static_files, templating

    errors.register(app)
    commands.register(app)
    templating.register(app)
    static_files.register(app)
    return app


def database_url(app):
    """DATABASE_URL, or the embedded SQLite file in instance/ when it is unset."""
    url = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        return "sqlite:///" + os.path.join(app.instance_path, "letters.db")
    if url.startswith(("postgres://", "postgresql://")):  # use psycopg 3
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def register_extensions(app):
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    csrf.init_app(app)
    app.before_request(check_csrf)
    mail.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=locale.select_locale)
    # Public pages must not read the session, or they answer "Vary: Cookie" and shared
    # caches keep one copy per visitor. Flask-Login reads it in a context processor (so
    # templates get current_user lazily instead, in blueprints/admin) and in an
    # after-request hook for remember-me cookies, which staff never get.
    login_manager.init_app(app, add_context_processor=False)
    app.after_request_funcs[None].remove(login_manager._update_remember_cookie)
    cache.init_app(app)
    compress.init_app(app)  # unless COMPRESS_RESPONSES is off (a proxy compresses)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)


def check_csrf():
    """Flask-WTF's CSRF check on every state-changing request (views marked @csrf.exempt
    excepted). Its own hook looks up those exemptions before it looks at the method, which
    cost every page view a twentieth of its time."""
    config = current_app.config
    if request.method in config["WTF_CSRF_METHODS"] and config["WTF_CSRF_ENABLED"]:
        csrf.protect(apply_exemptions=True)


class SessionSerializer(TaggedJSONSerializer):
    """Flask's tagged JSON for sessions. A session that holds only strings (a visitor's
    CSRF token) is written by json.dumps itself, as Flask would write it: tagging changes
    nothing there, and on a case page view it cost as much as signing the cookie."""

    def dumps(self, value):
        if all(type(item) is str for item in value.values()):
            return json.dumps(value, separators=(",", ":"), sort_keys=True)
        return super().dumps(value)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with its serializer built once rather than twice a
    request, and one that skips work a session of a token or two never needs."""

    digest_method = staticmethod(hashlib.sha1)  # Flask's default, hashlib's constructor
    serializer = SessionSerializer()

    def get_signing_serializer(self, app):
        if "session_signer" not in app.extensions:
            flask_serializer = super().get_signing_serializer(app)
            app.extensions["session_signer"] = Serializer(
                flask_serializer.secret_keys,
                salt=flask_serializer.salt,
                serializer=flask_serializer.serializer,
                signer_kwargs=flask_serializer.signer_kwargs,
            )
        return app.extensions["session_signer"]


def register_blueprints(app):
    from blueprints import admin, api, auth, embed, public

    app.register_blueprint(public.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(auth.bp, url_prefix="/admin")
    app.register_blueprint(admin.bp, url_prefix="/admin")


def __getattr__(name):
    """`app` for gunicorn (app:app) and `flask --app app`, built on first use."""
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)
