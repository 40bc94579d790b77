"""Application factory: wiring only. gunicorn serves `app:app`."""

import os

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config
from extensions import (
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
from web import locale, request_checks, security
from web.log_privacy import private_url
from web.sessions import StaffSessionInterface


class App(Flask):
    """Flask, whose log of an unhandled error names the path without its token or query."""

    def log_exception(self, exc_info):
        """Log an unhandled exception as Flask does, with private_url() for the path: a
        confirmation link's token is a key to a supporter's letter."""
        path = private_url(request.path)
        self.logger.error(f"Exception on {path} [{request.method}]", exc_info=exc_info)


def create_app(config_class=Config, instance_path=None):
    """Build the app for one configuration (Config in production, TestConfig in tests)."""
    app = App(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_object(config_class)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: export a long random value.")
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app)
    # A database error's message leaves out the statement's values (a supporter's address
    # and name): those errors are logged.
    engine_options = {"hide_parameters": True}
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A pooled server connection may have died with a restart: test it on checkout.
        engine_options["pool_pre_ping"] = True
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options | app.config.get(
        "SQLALCHEMY_ENGINE_OPTIONS", {}
    )
    if app.config["PROXY_FIX_X_FOR"]:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.session_interface = StaffSessionInterface()
    security.register(app)  # first, so a cross-site post is refused before anything else
    request_checks.register(app)  # then a NUL or non-UTF-8 byte, before any view or database
    register_extensions(app)
    locale.register(app)  # the <lang:...> URL converter, before the rules that use it
    register_blueprints(app)

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
    csrf.init_app(app)  # staff forms; public and embed blueprints are exempt (see them)
    mail.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=locale.select_locale)
    login_manager.init_app(app)
    cache.init_app(app)
    compress.init_app(app)  # unless COMPRESS_RESPONSES is off (a proxy compresses)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)


def register_blueprints(app):
    from blueprints import admin, api, auth, embed, public, unsubscribe, webhooks, your_letters

    app.register_blueprint(public.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(your_letters.bp)
    app.register_blueprint(unsubscribe.bp)
    app.register_blueprint(webhooks.bp)  # POST /mail/ses (Amazon SES through SNS)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(auth.bp, url_prefix="/admin")
    app.register_blueprint(admin.bp, url_prefix="/admin")


def __getattr__(name):
    """`app` for gunicorn (app:app) and `flask --app app`, built on first use."""
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)
