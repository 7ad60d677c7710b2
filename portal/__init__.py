"""Portal Messaging: the app factory."""

import logging
import os

from flask import Flask

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
    for warning in settings.deployment_warnings(app.config):
        app.logger.warning("configuration: %s", warning)
    from portal.web import inputs, security

    security.trust_proxies(app)

    inputs.init_app(app)  # before the blueprints: their `<int:…>` routes use its converter
    from portal.infra import database

    database.install(app)
    migrations = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
    migrate.init_app(app, db, directory=migrations, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from portal.infra import queues
    from portal.live import publish
    from portal.messaging import fragments
    from portal.notify import client_emails, mentions, push
    from portal.people import sessions
    from portal.web import errors, templating

    sessions.init_app(app)
    queues.init_app(app)
    templating.init_app(app)
    fragments.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    publish.init_app(app)
    client_emails.init_app(app)
    mentions.init_app(app)
    push.init_app(app)
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
    from portal.blueprints.push import bp as push_bp
    from portal.blueprints.settings import bp as settings_bp
    from portal.blueprints.stream import bp as stream_bp
    from portal.blueprints.workspace import bp as workspace_bp
    from portal.sides import PORTAL, WORKSPACE

    app.register_blueprint(auth_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(workspace_bp, url_prefix=WORKSPACE.prefix)
    app.register_blueprint(client_bp, url_prefix=PORTAL.prefix)
    app.register_blueprint(settings_bp, url_prefix="/settings")
    app.register_blueprint(preferences_bp)
    app.register_blueprint(push_bp)
    app.register_blueprint(stream_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(inbound_bp)
