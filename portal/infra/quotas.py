"""Limits counted inside verbs (not on routes), so no route can skip them.

Counters share Flask-Limiter's Redis storage; a limit is a setting like "50 per hour", or
several at once ("60 per minute; 600 per hour": a burst allowance under a steadier rate).
"""

import logging
import math

from flask import current_app
from limits import parse_many

from portal.extensions import limiter

log = logging.getLogger(__name__)


def take(setting, scope, key):
    """Count one use of `scope` by `key` against the limit in `setting`; False when spent."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    try:
        # Every limit counts the use (a list, not `all()`, so none is skipped).
        return all([limiter.limiter.hit(item, scope, str(key)) for item in _items(setting)])
    except Exception:
        if not current_app.config.get("RATELIMIT_SWALLOW_ERRORS", True):
            raise
        log.warning("limit %s not counted: storage unavailable", scope, exc_info=True)
        return True


def retry_after(setting, scope, key, now):
    """Whole seconds from `now` (a Unix time) until `key` may use `scope` again (≥ 1)."""
    waits = [1.0]
    for item in _items(setting):
        stats = limiter.limiter.get_window_stats(item, scope, str(key))
        if stats.remaining <= 0:
            # (never past the window's length: `now` may be a moment behind the storage's clock)
            waits.append(min(stats.reset_time - now, item.get_expiry()))
    return max(1, math.ceil(max(waits)))


def _items(setting):
    return parse_many(current_app.config[setting])
