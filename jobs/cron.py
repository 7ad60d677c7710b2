"""`rq cron jobs.cron`: the reminder round every REMINDER_INTERVAL_SECONDS, the sweep of
lost client emails every CLIENT_EMAIL_SWEEP_SECONDS, the audit trail's retention once a day."""

from rq import cron

from jobs.retention import purge_audit
from jobs.rounds import run_round, sweep_client_emails
from portal import config

_settings = config.from_environment(config.instance_path())

cron.register(
    run_round,
    _settings["RQ_QUEUE"],
    interval=_settings["REMINDER_INTERVAL_SECONDS"],
    job_timeout=1800,
)
cron.register(
    sweep_client_emails,
    _settings["RQ_QUEUE"],
    interval=_settings["CLIENT_EMAIL_SWEEP_SECONDS"],
    job_timeout=300,
)
# Daily at 03:17 UTC, off the hour that other periodic work tends to pick.
cron.register(purge_audit, _settings["RQ_QUEUE"], cron="17 3 * * *", job_timeout=3600)
