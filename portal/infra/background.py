"""Work a request starts but need not wait for: a greenlet under gevent, else done at once."""

import logging

from portal.infra.cooperative import cooperative

log = logging.getLogger(__name__)


def after_response(app, fn, *args):
    """Run `fn(*args)` in its own app context, off the request when serving under gevent.

    Under gunicorn's gevent workers the greenlet runs once the request yields (while its
    response is written); elsewhere (tests, the dev server) it runs now, so results are
    deterministic. Failures are logged, never raised into the request.
    """
    if cooperative():
        import gevent

        gevent.spawn(_run, app, fn, args)
    else:
        _run(app, fn, args)


def _run(app, fn, args):
    try:
        with app.app_context():
            fn(*args)
    except Exception:
        log.exception("background: %s failed", getattr(fn, "__name__", fn))
