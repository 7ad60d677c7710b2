"""The daily retention job: audit rows older than AUDIT_RETENTION_DAYS are deleted."""

import logging

from flask import current_app

from jobs import app_context
from portal.infra.audit import purge_expired

log = logging.getLogger(__name__)


def purge_audit(now=None):
    """RQ cron job: the only code that deletes audit rows."""
    with app_context():
        days = current_app.config["AUDIT_RETENTION_DAYS"]
        deleted = purge_expired(days, now)
        log.info("audit: deleted %s rows older than %s days", deleted, days)
        return deleted
