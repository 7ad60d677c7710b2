"""Instructions per stream connect, counted by callgrind (independent of the machine's load).

    REDIS_URL=redis://127.0.0.1:6379/<n> valgrind --tool=callgrind \\
        --dump-before='os_getppid*' --callgrind-out-file=/tmp/connect.cg \\
        .venv/bin/python bench/stream_connect_instructions.py 200
    grep -h '^summary:' /tmp/connect.cg.2 /tmp/connect.cg.4 /tmp/connect.cg.6

Each case runs 20 warm-up connects, then N measured ones between two `os.getppid()` calls
(callgrind dumps its counters at each): part .2 holds the portal's `GET /stream`, .4 a
portal route behind the same hooks that only checks the login (`current_user`) and answers
a one-line stream, .6 a bare Flask SSE route; divide their totals by N. A connect is what
`bench/stream_connects.py` times: the WSGI call with a real session cookie, the first
chunk, then the close. Temporary SQLite database; REDIS_URL as for the tests.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask_login import current_user  # noqa: E402

from bench.stream_connects import bare_app, connect, environs, make_app, seed  # noqa: E402
from portal.extensions import limiter  # noqa: E402


def login_only(app):
    """The portal's request hooks and login check, nothing of the stream itself."""

    @app.get("/bench-login-only")
    @limiter.exempt
    def login_only_stream():
        if not current_user.is_authenticated:
            return "", 401

        def events():
            yield ": connected\n\n"

        return app.response_class(events(), mimetype="text/event-stream")


def main(connects):
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    app = make_app(tmp, f"sqlite:///{tmp}/bench.sqlite3")
    login_only(app)
    envs = environs(seed(app))
    cases = [
        (app, envs),
        (app, [dict(e, PATH_INFO="/bench-login-only") for e in envs]),
        (bare_app(), envs),
    ]
    for case_app, case_envs in cases:
        for n in range(20):
            connect(case_app, case_envs[n % len(case_envs)])
        os.getppid()  # callgrind dumps here: the measured connects start
        for n in range(connects):
            connect(case_app, case_envs[n % len(case_envs)])
        os.getppid()
    app.extensions["live"].hub.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
