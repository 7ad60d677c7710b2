"""The periodic round run by `rq cron`: retries, lost client emails, reminders."""

import logging

from rq import get_current_job

from jobs import app_context
from portal.models.base import utcnow
from portal.notify.client_emails import sweep_overdue
from portal.notify.log import retry_stale
from portal.notify.recaps import send_recaps
from portal.notify.reminders import send_reminders

log = logging.getLogger(__name__)


def run_round(now=None):
    """RQ cron job: re-send stuck emails, catch up lost client emails, send reminders and
    the recaps due."""
    with app_context():
        now = now or _enqueued_at() or utcnow()
        done = {
            "retried": retry_stale(now),
            "client_emails": sweep_overdue(now),
            "reminders": send_reminders(now),
            "recaps": send_recaps(now),
        }
        log.info("notify: round at %s: %s", now.isoformat(timespec="seconds"), done)
        return done


def _enqueued_at():
    """When rq cron enqueued this run: runs are at least one interval apart, so windows are too."""
    job = get_current_job()
    return job.enqueued_at if job is not None else None
