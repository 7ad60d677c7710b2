"""Portal Messaging: the app factory."""

import logging
import os

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as settings
from portal.extensions import csrf, db, limiter, login_manager, migrate


def create_app(config=None):
    """Create the app; `config` (a mapping) overrides settings from the environment."""
    instance = (config or {}).get("INSTANCE_PATH") or settings.instance_path()
    os.makedirs(instance, exist_ok=True)
    app = Flask(__name__, instance_path=instance)
    app.config.from_mapping(settings.from_environment(instance))
    if config:
        app.config.from_mapping(config)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if app.config["TRUSTED_PROXIES"]:
        # Behind N proxies: client IP (rate limits) and scheme from X-Forwarded-*.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from portal.web import inputs

    inputs.init_app(app)  # before the blueprints: their `<int:…>` routes use its converter
    from portal.runtime import connections

    connections.size_pool(app.config)  # before the engines exist
    db.init_app(app)
    connections.init_app(app)
    migrations = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
    migrate.init_app(app, db, directory=migrations, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from portal.live import publish
    from portal.messaging import fragments
    from portal.notify import client_emails, mentions
    from portal.people import sessions
    from portal.runtime import queues
    from portal.web import errors, security, templating

    sessions.init_app(app)
    queues.init_app(app)
    templating.init_app(app)
    fragments.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    publish.init_app(app)
    client_emails.init_app(app)
    mentions.init_app(app)
    _register_blueprints(app)

    from portal.runtime.cli import register_cli

    register_cli(app)
    return app


def _register_blueprints(app):
    from portal.blueprints.auth import bp as auth_bp
    from portal.blueprints.client import bp as client_bp
    from portal.blueprints.files import bp as files_bp
    from portal.blueprints.health import bp as health_bp
    from portal.blueprints.inbound import bp as inbound_bp
    from portal.blueprints.preferences import bp as preferences_bp
    from portal.blueprints.settings import bp as settings_bp
    from portal.blueprints.stream import bp as stream_bp
    from portal.blueprints.workspace import bp as workspace_bp
    from portal.people.users import PORTAL, WORKSPACE

    app.register_blueprint(auth_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(workspace_bp, url_prefix=WORKSPACE.prefix)
    app.register_blueprint(client_bp, url_prefix=PORTAL.prefix)
    app.register_blueprint(settings_bp, url_prefix="/settings")
    app.register_blueprint(preferences_bp)
    app.register_blueprint(stream_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(inbound_bp)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: WAL so readers don't block the writer, and wait instead of failing when busy.

    synchronous=NORMAL (SQLite's advice for WAL): a commit no longer waits for an fsync
    while it holds the write lock; the database stays consistent, and only a power loss
    (not a crash of the app) can lose the last commits before a checkpoint.
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "connect")
def _postgresql_settings(dbapi_connection, _record):
    """PostgreSQL: no JIT compilation. A page's statements are short, but one whose estimate
    crosses `jit_above_cost` (the unread badges over 1,000 rooms) spent ~48 ms compiling
    to run for 5 (README "Search")."""
    if type(dbapi_connection).__module__.startswith("psycopg"):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a SET inside a rolled-back transaction is undone
        dbapi_connection.execute("SET jit = off")
        dbapi_connection.autocommit = autocommit


# After the pragmas above: under gevent, wait for SQLite's lock in gevent, not in C.
from portal.runtime import sqlite_gevent  # noqa: E402, F401
