"""The send alone: its SQL statements, its CPU in-process, and sends/s over HTTP.

    .venv/bin/python bench/sends.py [--rounds 200] [--http] [--workers 2] [--seconds 8]
                                    [--postgres URL]

Seeds `bench/stack.py`'s data on a temporary SQLite database (or on `--postgres URL`:
its tables are DROPPED), then prints each statement of one send with the code that
issued it, and the CPU per send through the test client (`time.process_time`, after a
warm-up). With `--http` it also starts the Procfile's web line with `--workers` gevent
workers and loads it with `wrk` like `make bench` does (20 senders, each in a room of
2), printing req/s, p50 and p99 next to the load average. REDIS_URL is used when set,
else an embedded Redis.
"""

import argparse
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import stack  # noqa: E402


def environment(url, tmp, args):
    return {
        "PORTAL_INSTANCE_PATH": tmp,
        "DATABASE_URL": url,
        "SECRET_KEY": stack.SECRET,
        "SSE_CHANNEL_PREFIX": f"bench-sends.{os.getpid()}.",
        "RATELIMIT_ENABLED": "0",
        "RQ_QUEUE": f"bench-sends-{os.getpid()}",
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(args.workers),
    }


def statements_of_one_send(app, send):
    from sqlalchemy import event

    seen = []

    def record(_conn, _cursor, statement, *_args):
        frames = [
            f"{os.path.relpath(f.filename, harness.ROOT)}:{f.lineno} {f.name}"
            for f in traceback.extract_stack()
            if f.filename.startswith(os.path.join(harness.ROOT, "portal"))
        ]
        seen.append((" ".join(statement.split())[:90], frames[-1] if frames else "?"))

    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        send()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def in_process(app, data, rounds):
    sender = data["senders"][0]
    client = app.test_client()
    client.set_cookie("session", sender["cookie"].split("=", 1)[1])
    count = [0]

    def send():
        count[0] += 1
        response = client.post(
            f"/app/rooms/{sender['room']}/messages",
            data={
                "body": "In-process send",
                "csrf_token": sender["csrf"],
                "client_msg_id": f"bench-send-{count[0]:08d}",
            },
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200, response.status_code

    for _ in range(10):
        send()
    seen = statements_of_one_send(app, send)
    start = time.process_time()
    for _ in range(rounds):
        send()
    return seen, (time.process_time() - start) * 1000 / rounds


def over_http(data, env, args, tmp):
    port = harness.free_port()
    env = {**os.environ, **env, "PORT": str(port)}
    web = harness.start(harness.web_command(), env, os.path.join(tmp, "web.log"))
    wrk = stack.ensure_wrk()
    try:
        harness.wait_http(f"http://127.0.0.1:{port}/healthz", web)
        time.sleep(1)

        def load(port, requests, connections, seconds):
            if requests[0][0] != "POST":
                return (0.0, 0.0, 0.0)  # only the sends
            if wrk:
                return stack.wrk_load(wrk, port, requests, connections, seconds, tmp)
            return stack.asyncio_load(port, requests, connections, seconds)

        return stack.http_loads(load, port, data, args.seconds)["sends"]
    finally:
        harness.stop(web)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="sends timed in-process")
    parser.add_argument("--http", action="store_true", help="also load the web line")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (--http)")
    parser.add_argument("--seconds", type=int, default=8, help="seconds of HTTP load")
    parser.add_argument("--postgres", help="a throwaway PostgreSQL URL (tables dropped)")
    args = parser.parse_args()

    tmp = harness.scratch("bench-sends-")
    url = args.postgres or f"sqlite:///{tmp}/sends.sqlite3"
    os.environ["REDIS_URL"], redis = harness.redis(tmp)
    env = environment(url, tmp, args)
    if args.postgres:
        harness.reset_database(url.replace("postgresql://", "postgresql+psycopg://", 1))
    os.environ.update(env)

    from portal import create_app

    app = harness.migrate(create_app())
    data = stack.seed(app)
    database = "postgresql" if args.postgres else "sqlite"
    try:
        if args.http:
            rps, p50, p99 = over_http(data, env, args, tmp)
            print(
                f"sends over HTTP ({database}, {args.workers} workers, {stack.SENDERS} senders,"
                f" {args.seconds} s): {rps:.0f} req/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms"
                f" (load average {os.getloadavg()[0]:.1f})"
            )
        seen, cpu_ms = in_process(app, data, args.rounds)
        for n, (statement, origin) in enumerate(seen, 1):
            print(f"  {n:2}. {statement}\n        from {origin}")
        print(
            f"one send ({database}): {len(seen)} statements; {cpu_ms:.1f} ms CPU per send"
            f" in-process over {args.rounds} sends (load average {os.getloadavg()[0]:.1f})"
        )
    finally:
        if redis is not None:
            redis.terminate()


if __name__ == "__main__":
    main()
