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


def post_worker_init(worker):
    """Compile every template before the worker takes its first connection.

    A fresh worker's first room page cost ~95 ms of CPU against ~7 ms once warm (test
    client, bench data), and about 60 % of the difference is Jinja compiling the page's
    templates; under load the connections queued behind that first request waited for it
    (0.5-0.9 s right after a start or a deploy). Nothing here touches the database, a
    session or Redis: templates are only parsed and compiled, into the app's own cache.
    """
    env = getattr(getattr(worker, "wsgi", None), "jinja_env", None)
    if env is not None:
        for name in env.list_templates():
            env.get_template(name)


def when_ready(server):
    """Say where to open the app, once gunicorn listens."""
    host = os.environ.get("HOST", "127.0.0.1")
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    port = os.environ.get("PORT", "5000")
    server.log.info("Portal Messaging is ready at http://%s:%s (Ctrl-C stops)", shown, port)


#: How long a gevent worker pauses after each request: a timer this short (any value above 0)
#: resumes the greenlet on the loop's next iteration, after the loop has polled its sockets.
TURN_SECONDS = 0.000001


def post_request(worker, req, environ, resp):
    """Give the worker's other connections a turn after every request (gevent).

    A keep-alive connection whose next request is already waiting is served again without
    the loop ever switching: socket reads and writes that don't block never yield. Under
    load a few connections then take every turn while the others wait for seconds.

    The pause is a timer, not `sleep(0)`: `sleep(0)` only queues a callback, and gevent
    runs queued callbacks back to back, polling the sockets only every 50 of them. With
    every busy connection requeueing itself after each request, the worker then looked at
    its sockets once per ~50 requests (1-2 s of page rendering): a new connection waited
    that long to be accepted (one accept per poll with 2 workers) and its first request
    made the multi-second p99s (docs/performance.md, "Fair turns"). A timer resumes the
    greenlet on the next loop iteration, after the poll: new connections, answers from
    PostgreSQL or Redis and waiting requests all get their turn every round.
    """
    if isinstance(worker, GeventWorker):
        sleep(TURN_SECONDS)
