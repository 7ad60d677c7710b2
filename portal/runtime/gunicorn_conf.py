"""gunicorn settings: `Server: Portal`, tokens redacted from the access log, and (for
`make run`) one clear line once the web server is up. The Procfile names this module;
the project's `gunicorn.conf.py` (read from the working folder) re-exports it."""

import os

from portal.runtime.gunicorn_hardening import harden

logger_class = "portal.runtime.gunicorn_hardening.RedactingLogger"
harden()


def when_ready(server):
    """Say where to open the app, once gunicorn listens."""
    host = os.environ.get("HOST", "127.0.0.1")
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    port = os.environ.get("PORT", "5000")
    server.log.info("Portal Messaging is ready at http://%s:%s (Ctrl-C stops)", shown, port)
