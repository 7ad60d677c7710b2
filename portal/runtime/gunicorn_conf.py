"""gunicorn settings: `Server: Portal`, tokens redacted from the access log, fair turns
between connections on a gevent worker, and (for `make run`) one clear line once the web
server is up. The Procfile names this module;
the project's `gunicorn.conf.py` (read from the working folder) re-exports it."""

import os

from gevent import sleep
from gunicorn.workers.ggevent import GeventWorker

from portal.runtime.gunicorn_hardening import harden

logger_class = "portal.runtime.gunicorn_hardening.RedactingLogger"
harden()


def when_ready(server):
    """Say where to open the app, once gunicorn listens."""
    host = os.environ.get("HOST", "127.0.0.1")
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    port = os.environ.get("PORT", "5000")
    server.log.info("Portal Messaging is ready at http://%s:%s (Ctrl-C stops)", shown, port)


def post_request(worker, req, environ, resp):
    """Give the worker's other connections a turn after every request (gevent).

    A keep-alive connection whose next request is already waiting is served again without
    the loop ever switching: socket reads and writes that don't block never yield. Under
    load a few connections then take every turn while the others wait for seconds (a bare
    Flask hello under 16 keep-alive clients: p50 1.7 ms, p99 1.09 s, 1,023 req/s; with
    one yield per request: p50 3.3 ms, p99 26 ms, 4,280 req/s — README, Performance).
    """
    if isinstance(worker, GeventWorker):
        sleep(0)
