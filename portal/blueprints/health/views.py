from flask import current_app, jsonify
from sqlalchemy import text

from portal.blueprints.health import bp
from portal.extensions import db, limiter
from portal.runtime.queues import get_redis


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """200 when the database and Redis answer; 503 naming what failed."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        current_app.logger.warning("healthz: database check failed: %s", exc)
        checks["database"] = "unavailable"
        db.session.rollback()
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        current_app.logger.warning("healthz: redis check failed: %s", exc)
        checks["redis"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", **checks), (200 if healthy else 503)
