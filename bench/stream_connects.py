"""CPU per stream connect, in process: the app's WSGI callable, no server, no sockets.

    REDIS_URL=redis://127.0.0.1:6379/<n> .venv/bin/python bench/stream_connects.py \\
        [--connects 2000] [--batches 5] [--profile 25] [--database-url URL]

Each connect is what gunicorn does with a `GET /stream`: call the app with a ready WSGI
environ (a real session cookie, a live login session row), take the first chunk (the
`: connected` comment) and close the body (the client left). Prints CPU ms per connect
(`time.process_time()`, every thread of the process: the hub, presence and their Redis
round trips included), best of N batches, next to a bare Flask SSE route measured the same
way in the same run, and the ratio. `--profile N` also prints cProfile's N most expensive
functions over one batch. A temporary SQLite database unless --database-url (its tables
are dropped). Redis: REDIS_URL (a real Redis; use your own database number).
"""

import argparse
import cProfile
import os
import pstats
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from flask import Flask  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

USERS = 50


def make_app(tmp, database_url):
    return harness.make_app(
        tmp,
        database_url,
        SECRET_KEY="bench-connects",
        SSE_CHANNEL_PREFIX=f"bench.connects.{os.getpid()}.",
        SSE_MAX_STREAMS_PER_USER=100000,
    )


def seed(app):
    """Users with a login session each; returns a session cookie per user."""
    from portal.extensions import db
    from portal.models import LoginSession, User
    from portal.models.base import utcnow

    with app.app_context():
        db.drop_all()
        db.create_all()
        now = utcnow()
        users = [
            User(kind="client", name=f"c{n}", email=f"c{n}@bench.test", activated_at=now)
            for n in range(USERS)
        ]
        db.session.add_all(users)
        db.session.flush()
        tokens = {u.id: secrets.token_urlsafe(32) for u in users}
        db.session.add_all(LoginSession(user_id=uid, token=t) for uid, t in tokens.items())
        db.session.commit()
    serializer = app.session_interface.get_signing_serializer(app)
    return [
        serializer.dumps({"_user_id": str(uid), "sid": token, "_fresh": False})
        for uid, token in tokens.items()
    ]


def environs(cookies):
    """One WSGI environ per user, built once (a server builds its own per request)."""
    return [
        EnvironBuilder(
            path="/stream",
            headers={"Cookie": f"session={c}", "Accept": "text/event-stream"},
        ).get_environ()
        for c in cookies
    ]


def connect(app, environ):
    """One stream: status, headers and the first chunk; then the client leaves."""
    status = []
    body = app(dict(environ), lambda s, h, exc_info=None: status.append(s))
    try:
        first = next(iter(body))
    finally:
        if hasattr(body, "close"):
            body.close()
    assert status[0].startswith("200") and first, (status, first)


def cpu_ms(app, envs, connects, batches):
    for n in range(50):
        connect(app, envs[n % len(envs)])
    best = float("inf")
    for _ in range(batches):
        start = time.process_time()
        for n in range(connects):
            connect(app, envs[n % len(envs)])
        best = min(best, (time.process_time() - start) * 1000 / connects)
    return best


def bare_app():
    bare = Flask("bare-sse")

    @bare.get("/stream")
    def stream():
        def events():
            yield ": connected\nretry: 2000\n\n"

        return bare.response_class(events(), mimetype="text/event-stream")

    return bare


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connects", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = harness.scratch()
    app = make_app(tmp, args.database_url or f"sqlite:///{tmp}/bench.sqlite3")
    envs = environs(seed(app))
    print(f"load average {os.getloadavg()[0]:.2f} at the start", flush=True)
    portal = cpu_ms(app, envs, args.connects, args.batches)
    bare = cpu_ms(bare_app(), envs, args.connects, args.batches)
    print(
        f"CPU per connect (best of {args.batches} x {args.connects}): portal {portal:.3f} ms, "
        f"bare Flask SSE {bare:.3f} ms, ratio {portal / bare:.1f}; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(args.connects):
            connect(app, envs[n % len(envs)])
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("tottime")
        stats.print_stats(args.profile)
        stats.sort_stats("cumulative").print_stats(args.profile * 2)
    app.extensions["live"].hub.stop()


if __name__ == "__main__":
    main()
