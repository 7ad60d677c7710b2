"""`rq cron jobs.cron`: the reminder round every REMINDER_INTERVAL_SECONDS."""

from rq import cron

from jobs.rounds import run_round
from portal import config

_settings = config.from_environment(config.instance_path())

cron.register(
    run_round,
    _settings["RQ_QUEUE"],
    interval=_settings["REMINDER_INTERVAL_SECONDS"],
    job_timeout=1800,
)
