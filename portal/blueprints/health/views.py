from flask import current_app, jsonify
from sqlalchemy import text

from portal.blueprints.health import bp
from portal.config import deployment_warnings
from portal.extensions import db, limiter
from portal.infra.queues import get_redis


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """200 when the database and Redis answer; 503 naming what failed."""
    checks = {"database": _check("database", _ping_database), "redis": _check("redis", _ping_redis)}
    healthy = all(v == "ok" for v in checks.values())
    # Settings that work but that mail providers distrust: named, without failing the check.
    warnings = deployment_warnings(current_app.config)
    if warnings:
        checks["warnings"] = warnings
    return jsonify(status="ok" if healthy else "unavailable", **checks), (200 if healthy else 503)


def _check(name, probe):
    try:
        probe()
    except Exception as exc:
        current_app.logger.warning("healthz: %s check failed: %s", name, exc)
        return "unavailable"
    return "ok"


def _ping_database():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        raise


def _ping_redis():
    get_redis().ping()
