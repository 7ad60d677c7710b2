"""Live fan-out: N open streams on one gunicorn gevent worker, one room with N members.

    .venv/bin/python bench/streams.py [--streams 2000] [--messages 5]

Starts gunicorn (one gevent worker) on a temporary SQLite database and an embedded Redis
(or REDIS_URL), opens one stream per member, posts messages in-process (commit, viewer
and unread queries, render, publish) and prints the time until each stream has the
event (p50/p99; a first warm-up message is left out) and the worker's memory per
stream. The baseline is a bare gevent SSE server in the same script, with the same
one-subscription fan-out, fed the same per-user publishes: the floor for this design.
"""

import argparse
import json
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import free_port, wait_port  # noqa: E402

SECRET = "bench-secret-key"


def baseline_server(port, redis_url, prefix):
    """A minimal gevent SSE server: one Redis pattern subscription, a queue per stream."""
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import gevent.queue
    import redis
    from gevent.pywsgi import WSGIServer

    streams = {}
    heartbeat = int(os.environ.get("SSE_HEARTBEAT_SECONDS", "15"))

    def subscriber():
        pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        pubsub.psubscribe(prefix + "user.*")
        for item in pubsub.listen():
            user_id = int(item["channel"].rsplit(b".", 1)[1])
            for inbox in list(streams.get(user_id, ())):
                inbox.put(item["data"])

    def app(environ, start_response):
        user_id = int(environ["PATH_INFO"].rsplit("/", 1)[1])
        inbox = gevent.queue.Queue()
        streams.setdefault(user_id, set()).add(inbox)
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def events():
            try:
                yield b": connected\n\n"
                while True:
                    try:
                        data = json.loads(inbox.get(timeout=heartbeat))
                    except gevent.queue.Empty:
                        yield b": heartbeat\n\n"  # as the portal does
                        continue
                    yield f"event:{data['type']}\ndata:{json.dumps(data['data'])}\n\n".encode()
            finally:
                streams[user_id].discard(inbox)

        return events()

    gevent.spawn(subscriber)
    WSGIServer(("127.0.0.1", port), app, log=None).serve_forever()


def open_streams(port, paths_and_cookies):
    """Open one raw HTTP stream per (path, cookie); return sockets once all said hello."""
    socks = []
    for path, cookie in paths_and_cookies:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nCookie: {cookie}\r\n\r\n".encode())
        socks.append(sock)
    wait_for(socks, b"connected", timeout=120)
    return socks


def wait_for(socks, needle, timeout=30):
    """Seconds (from now) until `needle` arrived on each socket."""
    start = time.perf_counter()
    selector = selectors.DefaultSelector()
    pending, seen = {}, {}
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        pending[sock] = b""
    while pending and time.perf_counter() - start < timeout:
        for key, _ in selector.select(timeout=1):
            sock = key.fileobj
            try:
                chunk = sock.recv(262144)
            except BlockingIOError:
                continue
            pending[sock] += chunk
            if needle in pending[sock]:
                seen[sock] = time.perf_counter() - start
                del pending[sock]
                selector.unregister(sock)
    selector.close()
    for sock in socks:
        sock.setblocking(True)
    if pending:
        raise SystemExit(f"{len(pending)} streams never got {needle!r}")
    return sorted(seen.values())


def seed(app, members):
    """A room whose members each hold a login session; returns (room, [(user_id, token)])."""
    import secrets

    from portal.extensions import db
    from portal.models import LoginSession, Participant, Room, User
    from portal.models.base import utcnow

    with app.app_context():
        now = utcnow()
        users = [
            User(kind="client", name=f"Member {n}", email=f"m{n}@bench.test", activated_at=now)
            for n in range(members)
        ]
        author = User(kind="internal", name="Author", email="author@bench.test", activated_at=now)
        db.session.add_all([*users, author])
        db.session.flush()
        room = Room(title="Everyone", created_by_id=author.id, created_at=now, last_activity_at=now)
        db.session.add(room)
        db.session.flush()
        db.session.add_all(Participant(room_id=room.id, user_id=u.id) for u in [*users, author])
        logins = [(u.id, secrets.token_urlsafe(32)) for u in users]
        db.session.add_all(LoginSession(user_id=uid, token=token) for uid, token in logins)
        db.session.commit()
        return room.id, author.id, logins


def portal_run(args, env, app):
    from portal.extensions import db
    from portal.messaging.messages import post_message
    from portal.models import Room, User

    room_id, author_id, logins = seed(app, args.streams)
    port = free_port()
    server = harness.start(
        harness.gunicorn(
            port, 1, "--worker-connections=20000 --keep-alive=75 --graceful-timeout=2"
        ),
        env,
    )
    try:
        wait_port(port)
        serializer = app.session_interface.get_signing_serializer(app)
        cookies = [
            "session=" + serializer.dumps({"_user_id": str(uid), "sid": token, "_fresh": False})
            for uid, token in logins
        ]
        warm = open_streams(port, [("/stream", cookies[0])])
        (worker,) = harness.workers(server)
        before = harness.rss_kib([worker])
        socks = open_streams(port, [("/stream", c) for c in cookies])
        per_stream = (harness.rss_kib([worker]) - before) / len(socks)
        samples = []
        with app.app_context():
            room, author = db.session.get(Room, room_id), db.session.get(User, author_id)
            for n in range(args.messages + 1):
                start = time.perf_counter()
                post_message(room, author, f"Fan-out message {n}")
                offset = time.perf_counter() - start
                arrivals = wait_for(socks, f"Fan-out message {n}".encode())
                if n:  # message 0 warms up (template compile, connections)
                    samples += [offset + t for t in arrivals]
        for sock in [*socks, *warm]:
            sock.close()
        return sorted(samples), per_stream, app.extensions["live"].hub.prefix
    finally:
        harness.stop(server)


def baseline_run(args, redis_url, prefix):
    import redis
    from flask_sse import Message

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--baseline-server", str(port), redis_url, prefix],
        start_new_session=True,
    )
    try:
        wait_port(port)
        warm = open_streams(port, [("/stream/0", "")])
        before = harness.rss_kib([server.pid])
        socks = open_streams(port, [(f"/stream/{n + 1}", "") for n in range(args.streams)])
        per_stream = (harness.rss_kib([server.pid]) - before) / len(socks)
        client = redis.Redis.from_url(redis_url)
        html = "<li class='message'>" + "x" * 400 + "</li>"
        samples = []
        for n in range(args.messages + 1):
            payload = Message(
                {"room_id": 1, "message_id": n, "html": f"{html}Fan-out message {n}"},
                type="message",
            ).to_dict()
            start = time.perf_counter()
            pipe = client.pipeline(transaction=False)
            encoded = json.dumps(payload)
            unread = json.dumps(Message({"room_id": 1, "count": n + 1}, type="unread").to_dict())
            for user_id in range(1, args.streams + 1):  # as the portal: message + unread
                pipe.publish(f"{prefix}user.{user_id}", encoded)
                pipe.publish(f"{prefix}user.{user_id}", unread)
            pipe.execute()
            offset = time.perf_counter() - start
            arrivals = wait_for(socks, f"Fan-out message {n}".encode())
            if n:
                samples += [offset + t for t in arrivals]
        for sock in [*socks, *warm]:
            sock.close()
        return sorted(samples), per_stream
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=5)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    from portal import create_app

    tmp = harness.scratch()
    redis_url, redis_process = harness.redis(tmp)
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": tmp,
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "SSE_CHANNEL_PREFIX": f"bench.{os.getpid()}.",
        "SSE_HEARTBEAT_SECONDS": "60",
    }
    os.environ.update(env)
    app = harness.migrate(create_app())
    try:
        portal, portal_kib, prefix = portal_run(args, env, app)
        base, base_kib = baseline_run(args, redis_url, prefix)
    finally:
        if redis_process:
            redis_process.terminate()
    n = args.streams
    print(f"{n} streams, a {n}-member room, {args.messages} messages; fan-out latency:")
    for name, samples, kib in (("portal", portal, portal_kib), ("baseline", base, base_kib)):
        print(
            f"  {name:<9} p50 {harness.pct(samples, 0.5) * 1000:7.1f} ms  "
            f"p99 {harness.pct(samples, 0.99) * 1000:7.1f} ms  {kib:5.1f} KiB/stream"
        )
    print(
        f"  ratio     p50 {harness.pct(portal, 0.5) / harness.pct(base, 0.5):.2f}x  "
        f"p99 {harness.pct(portal, 0.99) / harness.pct(base, 0.99):.2f}x  "
        f"memory {portal_kib / base_kib:.2f}x"
    )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--baseline-server":
        baseline_server(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        main()
