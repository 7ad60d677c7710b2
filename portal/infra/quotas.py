"""Limits counted inside verbs (not on routes), so no route can skip them.

Counters share Flask-Limiter's Redis storage; a limit is a setting like "50 per hour".
"""

import logging

from flask import current_app
from limits import parse

from portal.extensions import limiter

log = logging.getLogger(__name__)


def take(setting, scope, key):
    """Count one use of `scope` by `key` against the limit in `setting`; False when spent."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    try:
        return limiter.limiter.hit(parse(current_app.config[setting]), scope, str(key))
    except Exception:
        if not current_app.config.get("RATELIMIT_SWALLOW_ERRORS", True):
            raise
        log.warning("limit %s not counted: storage unavailable", scope, exc_info=True)
        return True
