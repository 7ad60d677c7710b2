"""The periodic jobs run by `rq cron`: the round (retries, reminders, recaps) and the minute sweep
of client emails whose job was lost."""

import logging

from rq import get_current_job

from jobs import app_context
from portal.models.base import utcnow
from portal.notify.client_emails import send_overdue, sweep_overdue
from portal.notify.log import retry_stale
from portal.notify.recaps import send_recaps
from portal.notify.reminders import send_reminders

log = logging.getLogger(__name__)


def run_round(now=None):
    """RQ cron job: re-send stuck emails, send overdue client emails, then reminders and
    the recaps due."""
    with app_context():
        now = now or _enqueued_at() or utcnow()
        done = {
            "retried": retry_stale(now),
            # Before the reminders: a client's due email goes first, never a reminder instead.
            "client_emails": send_overdue(now),
            "reminders": send_reminders(now),
            "recaps": send_recaps(now),
        }
        log.info("notify: round at %s: %s", now.isoformat(timespec="seconds"), done)
        return done


def sweep_client_emails(now=None):
    """RQ cron job (every CLIENT_EMAIL_SWEEP_SECONDS): queue the client emails a lost job
    would have sent; how many were queued."""
    with app_context():
        queued = sweep_overdue(now or utcnow())
        if queued:
            log.warning("notify: client emails queued by the sweep (job lost): %s", queued)
        return len(queued)


def _enqueued_at():
    """When rq cron enqueued this run: runs are at least one interval apart, so windows are too."""
    job = get_current_job()
    return job.enqueued_at if job is not None else None
