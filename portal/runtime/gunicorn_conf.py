"""gunicorn settings for `make run` (Procfile): one clear line once the web server is up."""

import os


def when_ready(server):
    """Say where to open the app, once gunicorn listens."""
    host = os.environ.get("HOST", "127.0.0.1")
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    port = os.environ.get("PORT", "5000")
    server.log.info("Portal Messaging is ready at http://%s:%s (Ctrl-C stops)", shown, port)
