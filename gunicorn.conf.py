"""gunicorn reads this from the project folder: the hardening in portal/runtime applies."""

from portal.runtime.gunicorn_hardening import harden

logger_class = "portal.runtime.gunicorn_hardening.RedactingLogger"
harden()
