"""`make bench`: the real web stack under load, with bare baselines from the same run.

    .venv/bin/python bench/stack.py [--streams 2000] [--seconds 5] [--messages 5]
                                    [--postgres URL] [--no-sqlite] [--search-messages N]
                                    [--hold SECONDS] [--warmup SECONDS] [--only-http]
                                    [--only-streams]

Starts the Procfile's `web` line (gunicorn, 2 gevent workers) on a temporary SQLite
database (and, with `--postgres URL` or BENCH_POSTGRES_URL, on that PostgreSQL database:
its tables are DROPPED), seeds rooms and logins, and measures: event streams held and
still open after a heartbeat, connects per second, fan-out into a 1,000-member room,
the send request itself, sends/s, the room page, catch-up and room list under 16
concurrent clients (each HTTP load after an untimed `--warmup` load, so the figures are
the steady state, not the first requests of freshly started workers), in-process CPU per
request, memory per stream and idle CPU (with
`--hold SECONDS`, the portal's streams are first held that long, sampled every minute:
streams still open, heartbeats, server RSS, CPU and the load average). The
baselines run in the same process on the same machine: a bare gevent SSE server (two processes, one
Redis subscription, a queue per stream) and a bare Flask "hello" under the same
gunicorn settings. HTTP load comes from `wrk` (installed with apt-get when missing and
allowed, else an asyncio client); streams from asyncio clients. Everything is bounded
and only 127.0.0.1 is contacted. Redis: REDIS_URL, else an embedded one.
"""

import argparse
import asyncio
import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    ROOT,
    cpu_seconds,
    descendants,
    free_port,
    named_pids,
    pct,
    redis,
    reset_database,
    rss_kib,
    scratch,
    start,
    stop,
    wait_http,
    web_command,
    workers,
)
from sse_clients import StreamClients  # noqa: E402

SECRET = "bench-secret-key"
MEMBERS = 1000
SENDERS = 20
CONCURRENCY = 16
HEARTBEAT = 5
HISTORY = 300


# ----------------------------------------------------------------------------- processes


class BoxCpu:
    """Where the box's CPU goes during a load, by part: the web processes, the database
    server (PostgreSQL's processes; SQLite runs inside the web processes), Redis, and the
    load generator (`wrk` as a reaped child, or this process's asyncio client)."""

    def __init__(self, web_pids):
        self.web_pids = web_pids

    def sample(self):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "web": cpu_seconds(self.web_pids),
            "database": cpu_seconds(named_pids("postgres"), reaped=True),
            "redis": cpu_seconds(named_pids("redis-server")),
            "load generator": children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime,
            "at": time.monotonic(),
        }

    @staticmethod
    def spent(before, after):
        """CPU seconds per part between two samples, and the wall seconds."""
        parts = ("web", "database", "redis", "load generator")
        return {**{k: after[k] - before[k] for k in parts}, "wall": after["at"] - before["at"]}


# ----------------------------------------------------------------------------- data


def seed(app):
    """Users, rooms and login sessions, inserted in bulk; returns what the loads need."""
    from portal.extensions import db
    from portal.models import LoginSession, Message, Participant, Room, User
    from portal.models.base import utcnow

    with app.app_context():
        now = utcnow()

        def person(kind, n, prefix):
            return User(
                kind=kind, name=f"{prefix} {n}", email=f"{prefix}{n}@bench.test", activated_at=now
            )

        author = person("internal", 0, "author")
        members = [person("client", n, "member") for n in range(MEMBERS)]
        senders = [person("internal", n, "sender") for n in range(SENDERS)]
        partners = [person("client", n, "partner") for n in range(SENDERS)]
        fillers = [person("client", n, "filler") for n in range(50)]
        db.session.add_all([author, *members, *senders, *partners, *fillers])
        db.session.flush()

        def room(title, creator, people):
            r = Room(title=title, created_by_id=creator.id, created_at=now, last_activity_at=now)
            db.session.add(r)
            db.session.flush()
            db.session.add_all(Participant(room_id=r.id, user_id=u.id) for u in people)
            return r

        big = room("Everyone", author, [author, *members])
        page = room("Quarterly accounts", author, [author, partners[0]])
        for n in range(20):
            room(f"Client file {n}", author, [author, partners[n]])
        small = [room(f"Desk {n}", s, [s, partners[n]]) for n, s in enumerate(senders)]
        db.session.add_all(
            Message(room_id=page.id, author_id=author.id, body=f"History line {n} " * 6)
            for n in range(HISTORY)
        )
        people = [author, *members, *senders, *fillers]
        tokens = {u.id: secrets.token_urlsafe(32) for u in people}
        db.session.add_all(LoginSession(user_id=uid, token=t) for uid, t in tokens.items())
        db.session.commit()
        newest = db.session.query(db.func.max(Message.id)).scalar()

        serializer = app.session_interface.get_signing_serializer(app)
        from itsdangerous import URLSafeTimedSerializer

        csrf_signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")

        def login(user):
            raw = hashlib.sha1(os.urandom(64), usedforsecurity=False).hexdigest()
            cookie = serializer.dumps(
                {
                    "_user_id": str(user.id),
                    "sid": tokens[user.id],
                    "_fresh": False,
                    "csrf_token": raw,
                }
            )
            return {"cookie": f"session={cookie}", "csrf": csrf_signer.dumps(raw)}

        return {
            "author": login(author),
            "members": [login(m) for m in members],
            "fillers": [login(f) for f in fillers],
            "senders": [dict(login(s), room=r.id) for s, r in zip(senders, small, strict=True)],
            "big": big.id,
            "page": page.id,
            "after": newest - 5,
        }


# ----------------------------------------------------------------------------- HTTP load


def ensure_wrk():
    path = shutil.which("wrk")
    if path or os.environ.get("BENCH_NO_INSTALL"):
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk …", flush=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=300,
            check=False,
        )
    return shutil.which("wrk")


LUA = """
local reqs = {}
local n = 0
init = function(args)
%s
end
request = function()
  n = n %% #reqs + 1
  return reqs[n]
end
"""


def _lua_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_load(wrk, port, requests, connections, seconds, tmp):
    """requests: [(method, path, headers, body)] cycled; returns (rps, p50 ms, p99 ms)."""
    lines = []
    for method, path, headers, body in requests:
        table = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
        body_lua = _lua_string(body) if body else "nil"
        lines.append(
            f"  table.insert(reqs, wrk.format({_lua_string(method)}, "
            f"{_lua_string(path)}, {{{table}}}, {body_lua}))"
        )
    script = os.path.join(tmp, f"load-{secrets.token_hex(4)}.lua")
    with open(script, "w") as f:
        f.write(LUA % "\n".join(lines))
    out = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            script,
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"    ({errors.group(1)} responses were errors)", flush=True)
    return rps, _wrk_percentile(out, "50"), _wrk_percentile(out, "99")


def _wrk_percentile(out, p):
    match = re.search(rf"^\s+{p}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]


async def _asyncio_worker(port, requests, offset, deadline, samples):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = offset
    while time.perf_counter() < deadline:
        method, path, headers, body = requests[n % len(requests)]
        n += 1
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        payload = (body or "").encode()
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        start = time.perf_counter()
        writer.write(head.encode() + payload)
        status_headers = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length:\s*(\d+)", status_headers)
        await reader.readexactly(int(length.group(1)) if length else 0)
        samples.append((time.perf_counter() - start) * 1000)
    writer.close()


def asyncio_load(port, requests, connections, seconds):
    """The fallback without wrk (a Python client on the same cores: lower ceilings)."""
    samples = []

    async def run():
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_asyncio_worker(port, requests, i, deadline, samples) for i in range(connections))
        )

    asyncio.run(run())
    samples.sort()
    return len(samples) / seconds, pct(samples, 0.5), pct(samples, 0.99)


def http_loads(load, port, data, seconds, warmup=0, box=None):
    author = {"Cookie": data["author"]["cookie"]}
    htmx = {"HX-Request": "true"}
    page = [("GET", f"/app/rooms/{data['page']}", author, None)]
    catch_up = [
        (
            "GET",
            f"/app/rooms/{data['page']}/messages?after={data['after']}",
            {**author, **htmx},
            None,
        )
    ]
    room_list = [("GET", "/app/rooms", author, None)]
    sends = []
    for n, sender in enumerate(data["senders"]):
        body = urllib.parse.urlencode({"body": f"Bench send {n}", "csrf_token": sender["csrf"]})
        headers = {
            "Cookie": sender["cookie"],
            "Content-Type": "application/x-www-form-urlencoded",
            **htmx,
        }
        sends.append(("POST", f"/app/rooms/{sender['room']}/messages", headers, body))
    results = {}
    for name, requests, connections in (
        ("room page", page, CONCURRENCY),
        ("catch-up", catch_up, CONCURRENCY),
        ("room list", room_list, CONCURRENCY),
        ("sends", sends, SENDERS),
    ):
        if warmup:
            load(port, requests, connections, warmup)
        before = box.sample() if box else None
        results[name] = load(port, requests, connections, seconds)
        if box:
            results[name] = (*results[name], box.spent(before, box.sample()))
        print(f"    {name}: {results[name][0]:.0f} req/s", flush=True)
    return results


# ----------------------------------------------------------------------------- streams


def stream_request(path, cookie=""):
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        f"Cookie: {cookie}\r\n\r\n"
    ).encode()


def hold_streams(clients, requests, pids):
    """Open the streams; (opened, connects/s, still open after a heartbeat, KiB each, CPU %)."""
    before = rss_kib(pids) if pids else 0
    opened, elapsed, errors = clients.open(requests)
    print(
        f"    {opened} streams opened in {elapsed:.1f} s: {opened / elapsed:,.0f} connects/s "
        f"(load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    if errors:
        print(f"    some streams failed: {errors}", flush=True)
    clients.reset_heartbeats()
    deadline = time.monotonic() + HEARTBEAT * 3 + 30  # a busy machine delays heartbeats
    while time.monotonic() < deadline:
        total, alive, beat = clients.status()
        if beat + (total - alive) >= total:
            break
        time.sleep(1)
    time.sleep(1)
    total, alive, beat = clients.status()
    print(f"    {total} streams: {alive} open, {beat} had a heartbeat since", flush=True)
    kib = (rss_kib(pids) - before) / max(1, opened) if pids else float("nan")
    cpu_start, wall_start = cpu_seconds(pids), time.monotonic()
    time.sleep(HEARTBEAT * 2)
    idle = (cpu_seconds(pids) - cpu_start) / (time.monotonic() - wall_start) * 100
    return {
        "requested": len(requests),
        "opened": opened,
        "rate": opened / elapsed if elapsed else 0,
        "held": min(alive, beat),
        "kib": kib,
        "idle_cpu": idle,
    }


def hold_for(clients, pids, seconds, every=60):
    """Keep every stream open `seconds`; sample open streams, memory and CPU as it goes.

    Returns the samples (elapsed s, open, had a heartbeat in the interval, RSS MiB,
    CPU % of a core over the interval, 1-minute load average) and the unexpected closes
    (streams the server ended while the client kept them).
    """
    start = time.monotonic()
    total, first_alive, _ = clients.status()
    samples = []
    cpu, wall = cpu_seconds(pids), start
    while True:
        left = start + seconds - time.monotonic()
        if left <= 0:
            break
        clients.reset_heartbeats()
        time.sleep(min(every, left))
        _, alive, beat = clients.status()
        now_cpu, now = cpu_seconds(pids), time.monotonic()
        sample = {
            "t": now - start,
            "open": alive,
            "beat": beat,
            "rss_mib": rss_kib(pids) / 1024,
            "cpu": (now_cpu - cpu) / (now - wall) * 100,
            "load": os.getloadavg()[0],
        }
        cpu, wall = now_cpu, now
        samples.append(sample)
        print(
            "    hold {t:4.0f} s: {open} open, {beat} beat, {rss_mib:.0f} MiB, "
            "CPU {cpu:.1f} % of a core, load {load:.1f}".format(**sample),
            flush=True,
        )
    return {"samples": samples, "closed": first_alive - (samples[-1]["open"] if samples else 0)}


def fan_out(clients, members, messages, send):
    """Per message: call `send(needle)`; (arrival latencies ms, send request ms)."""
    latencies, request_ms = [], []
    for n in range(messages + 1):
        needle = f"fanout-{n}-{secrets.token_hex(4)}"
        clients.watch(needle.encode())
        start = time.perf_counter()
        send(needle)
        sent = time.perf_counter()
        deadline = time.monotonic() + 30
        while True:
            seen = clients.seen(members, needle.encode())
            if all(seen) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if n:  # message 0 warms up
            latencies += [(t - start) * 1000 for t in seen if t]
            request_ms.append((sent - start) * 1000)
    latencies.sort()
    return latencies, request_ms


def portal_streams(port, data, args, pids):
    clients = StreamClients(args.streams)
    try:
        members = min(MEMBERS, args.streams)
        cookies = [m["cookie"] for m in data["members"][:members]]
        cookies += [
            data["fillers"][n % len(data["fillers"])]["cookie"]
            for n in range(args.streams - members)
        ]
        requests = [(port, stream_request("/stream", c)) for c in cookies]
        held = hold_streams(clients, requests, pids)
        if args.hold:
            held["hold"] = hold_for(clients, pids, args.hold)
        author = data["author"]

        def send(needle):
            body = urllib.parse.urlencode({"body": needle, "csrf_token": author["csrf"]}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/app/rooms/{data['big']}/messages",
                data=body,
                headers={"Cookie": author["cookie"], "HX-Request": "true"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()

        held["fanout"], held["send_ms"] = fan_out(clients, range(members), args.messages, send)
        held["members"] = members
        clients.close()
        return held
    finally:
        clients.stop()


def baseline_streams(redis_url, prefix, args):
    """The bare gevent SSE server, two processes (as the portal's two workers)."""
    import redis

    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                os.path.join(ROOT, "bench", "streams.py"),
                "--baseline-server",
                str(port),
                redis_url,
                prefix,
            ],
            env={**os.environ, "SSE_HEARTBEAT_SECONDS": str(HEARTBEAT)},
            start_new_session=True,
        )
        for port in ports
    ]
    clients = StreamClients(args.streams)
    try:
        deadline = time.monotonic() + 30
        for port in ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the baseline SSE server did not start") from None
                    time.sleep(0.2)
        members = min(MEMBERS, args.streams)
        paths = [f"/stream/{n + 1}" for n in range(members)]
        paths += [f"/stream/{100000 + n}" for n in range(args.streams - members)]
        requests = [(ports[i % 2], stream_request(p)) for i, p in enumerate(paths)]
        held = hold_streams(clients, requests, [s.pid for s in servers])
        client = redis.Redis.from_url(redis_url)
        html = "<li class='message'>" + "x" * 400 + "</li>"

        def send(needle):
            # What a per-user fan-out costs: a message and an unread event per member.
            event = json.dumps({"data": {"room_id": 1, "html": html + needle}, "type": "message"})
            unread = json.dumps({"data": {"room_id": 1, "increment": 1}, "type": "unread"})
            pipe = client.pipeline(transaction=False)
            for user_id in range(1, members + 1):
                pipe.publish(f"{prefix}user.{user_id}", event)
                pipe.publish(f"{prefix}user.{user_id}", unread)
            pipe.execute()

        held["fanout"], _ = fan_out(clients, range(members), args.messages, send)
        clients.close()
        return held
    finally:
        clients.stop()
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)


# ----------------------------------------------------------------------------- in-process


def in_process(app, data, rounds=200):
    """CPU ms per request through the test client: room page, send, bare hello."""
    from flask import Flask, render_template_string
    from sqlalchemy import event

    def cpu_ms(client, call, n):
        for _ in range(10):
            call(client)
        start = time.process_time()
        for _ in range(n):
            call(client)
        return (time.process_time() - start) * 1000 / n

    author = app.test_client()
    author.set_cookie("session", data["author"]["cookie"].split("=", 1)[1])
    sender = app.test_client()
    s = data["senders"][0]
    sender.set_cookie("session", s["cookie"].split("=", 1)[1])
    page = f"/app/rooms/{data['page']}"

    def send(client):
        response = client.post(
            f"/app/rooms/{s['room']}/messages",
            data={"body": "In-process send", "csrf_token": s["csrf"]},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200, response.status_code

    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    room_ms = cpu_ms(author, lambda c: c.get(page), rounds)
    event.listen(engine, "before_cursor_execute", count)
    send(sender)
    event.remove(engine, "before_cursor_execute", count)
    per_send = len(statements)
    send_ms = cpu_ms(sender, send, rounds // 2)

    bare = Flask("bare")

    @bare.get("/")
    def hello():
        return render_template_string("<p>Hello {{ name }}</p>", name="world")

    hello_ms = cpu_ms(bare.test_client(), lambda c: c.get("/"), rounds * 5)
    return {"room_ms": room_ms, "send_ms": send_ms, "hello_ms": hello_ms, "statements": per_send}


# ----------------------------------------------------------------------------- main


def run_portal(database_url, args, redis_url, tmp, load, streams):
    from flask_migrate import upgrade

    from portal import create_app

    name = "postgresql" if database_url.startswith("postgres") else "sqlite"
    instance = os.path.join(tmp, name)
    os.makedirs(instance, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": instance,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "SSE_CHANNEL_PREFIX": f"bench.{os.getpid()}.{name}.",
        "SSE_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "SSE_MAX_STREAMS_PER_USER": "100000",
        "RATELIMIT_ENABLED": "0",
        "RQ_QUEUE": f"bench-{os.getpid()}",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
    }
    if name == "postgresql":
        reset_database(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    os.environ.update(env)
    app = create_app()
    with app.app_context():
        upgrade()
    data = seed(app)
    print(f"  {name}: seeded; starting the Procfile's web line on port {port}", flush=True)
    web = start(web_command(), env, os.path.join(instance, "web.log"))
    result = {"name": name}
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", web)
        time.sleep(1)
        if not args.only_streams:
            box = BoxCpu([web.pid, *descendants(web.pid)])
            result["http"] = http_loads(load, port, data, args.seconds, args.warmup, box)
        if streams and not args.only_http:
            print(f"  {name}: {args.streams} streams …", flush=True)
            result["streams"] = portal_streams(port, data, args, workers(web))
            result["prefix"] = env["SSE_CHANNEL_PREFIX"]
    finally:
        stop(web)
    if not (args.only_http or args.only_streams):
        result["cpu"] = in_process(app, data)
    return result


def bare_hello(load, seconds, tmp, warmup=0):
    port = free_port()
    command = web_command().replace("wsgi:app", "bare_hello:app")
    command = command.replace("exec gunicorn", "exec gunicorn --pythonpath bench", 1)
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"}
    server = start(command, env, os.path.join(tmp, "hello.log"))
    try:
        wait_http(f"http://127.0.0.1:{port}/", server)
        if warmup:
            load(port, [("GET", "/", {}, None)], CONCURRENCY, warmup)
        return load(port, [("GET", "/", {}, None)], CONCURRENCY, seconds)
    finally:
        stop(server)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--streams", type=int, default=2000, help="streams held (20000: the target)"
    )
    parser.add_argument("--seconds", type=int, default=10, help="seconds per HTTP load")
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        metavar="SECONDS",
        help="untimed load before each HTTP figure (0: measure from the first request)",
    )
    parser.add_argument(
        "--only-http",
        action="store_true",
        help="only the bare hello and the HTTP loads (no streams, search or in-process CPU)",
    )
    parser.add_argument(
        "--only-streams",
        action="store_true",
        help="only the stream figures and their bare baseline (no HTTP loads, no search)",
    )
    parser.add_argument("--messages", type=int, default=5, help="fan-out messages measured")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL"),
        help="a throwaway PostgreSQL database (its tables are dropped)",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--search-messages",
        type=int,
        default=1_000_000,
        help="messages seeded for the search figure (1000000: the target; 0: skip)",
    )
    parser.add_argument(
        "--hold",
        type=int,
        default=0,
        metavar="SECONDS",
        help="hold every portal stream this long first, sampling closes, memory and CPU",
    )
    args = parser.parse_args()
    if args.only_streams:
        args.search_messages = 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    tmp = scratch()
    redis_url, redis_process = redis(tmp)
    wrk = ensure_wrk()
    if wrk:

        def load(port, requests, connections, seconds):
            return wrk_load(wrk, port, requests, connections, seconds, tmp)
    else:
        print("wrk not available: HTTP figures from a Python asyncio client", flush=True)
        load = asyncio_load
    print(
        f"bench: {os.cpu_count()} cores, streams {args.streams}, {args.seconds} s per load "
        f"after {args.warmup} s untimed, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    try:
        hello = None
        if not args.only_streams:
            hello = bare_hello(load, args.seconds, tmp, args.warmup)
            print(f"  bare Flask hello: {hello[0]:.0f} req/s", flush=True)
        runs = []
        if not args.no_sqlite:
            runs.append(
                run_portal(
                    f"sqlite:///{tmp}/bench.sqlite3", args, redis_url, tmp, load, streams=True
                )
            )
        if args.postgres:
            runs.append(
                run_portal(args.postgres, args, redis_url, tmp, load, streams=args.no_sqlite)
            )
        searches, stream_run, base = [], None, None
        if not args.only_http:
            searches = search_figures(args, redis_url, tmp)
            stream_run = next(r for r in runs if "streams" in r)
            print(f"  bare gevent SSE: {args.streams} streams …", flush=True)
            base = baseline_streams(redis_url, stream_run["prefix"] + "base.", args)
    finally:
        if redis_process:
            redis_process.terminate()
    report(args, runs, stream_run, base, hello, wrk, searches)


def search_figures(args, redis_url, tmp):
    """bench/search.py's measurement, in this process, on each database benched."""
    if not args.search_messages:
        return []
    import search

    urls = ([] if args.no_sqlite else [f"sqlite:///{tmp}/search.sqlite3"]) + (
        [args.postgres] if args.postgres else []
    )
    print(f"  search: {args.search_messages:,} messages …", flush=True)
    results = []
    for url in urls:
        dialect, rows, base = search.measure(
            args.search_messages, requests=40, database_url=url, redis_url=redis_url
        )
        results.append((dialect, args.search_messages, rows, base))
    return results


def report(args, runs, stream_run, base, hello, wrk, searches=()):
    rows = stream_rows(args, stream_run["streams"], base) if stream_run else []
    for run in (r for r in runs if "http" in r):
        rows += http_rows(run, hello)
    if searches:
        import search

        rows += search.stack_rows(searches)
    print()
    print(
        f"HTTP load: {'wrk' if wrk else 'asyncio client'}, {args.seconds} s per load after "
        f"{args.warmup} s untimed; {os.cpu_count()} cores shared with the load generator; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print("| figure | portal | bare baseline | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    cpu_rows = [row for run in runs if "http" in run for row in box_cpu_rows(run)]
    if cpu_rows:
        print()
        print(
            f"Where the {os.cpu_count()} cores went during each HTTP load: CPU ms per request "
            "by process (the rest of a core's time: idle or other work)"
        )
        print("| load | web workers | database server | Redis | load generator | cores busy |")
        print("|---|---|---|---|---|---|")
        for row in cpu_rows:
            print("| " + " | ".join(row) + " |")


def box_cpu_rows(run):
    rows = []
    for name, result in run["http"].items():
        if len(result) < 4:
            continue
        rps, spent = result[0], result[3]
        requests = max(1.0, rps * spent["wall"])
        busy = sum(spent[k] for k in ("web", "database", "redis", "load generator"))
        rows.append(
            (
                f"{name} ({run['name']}), {rps:,.0f} req/s",
                *(
                    f"{spent[k] * 1000 / requests:.2f}"
                    for k in ("web", "database", "redis", "load generator")
                ),
                f"{busy / spent['wall']:.2f} of {os.cpu_count()}",
            )
        )
    return rows


def stream_rows(args, s, base):
    rows = [
        (
            "streams connected / still open after the first heartbeat",
            f"{s['opened']:,} / {s['held']:,}",
            f"{base['opened']:,} / {base['held']:,}",
            f"{s['held'] / max(1, base['held']):.2f}",
        ),
        (
            "stream connects per second",
            f"{s['rate']:,.0f}",
            f"{base['rate']:,.0f}",
            f"{s['rate'] / max(1, base['rate']):.2f}",
        ),
        (
            f"fan-out to a {s['members']:,}-member room ({s['opened']:,} connected): p50 / p99",
            f"{pct(s['fanout'], 0.5):,.0f} / {pct(s['fanout'], 0.99):,.0f} ms",
            f"{pct(base['fanout'], 0.5):,.0f} / {pct(base['fanout'], 0.99):,.0f} ms",
            f"{pct(s['fanout'], 0.99) / pct(base['fanout'], 0.99):.2f} (p99)",
        ),
        (
            f"one send into a {s['members']:,}-member room (request time, p50)",
            f"{statistics.median(s['send_ms']):,.0f} ms",
            "—",
            "",
        ),
        (
            "server memory per held stream",
            f"{s['kib']:.1f} KiB",
            f"{base['kib']:.1f} KiB",
            f"{s['kib'] / base['kib']:.2f}" if base["kib"] > 0 else "",
        ),
        (
            f"idle CPU with {s['opened']:,} held (heartbeat {HEARTBEAT} s)",
            f"{s['idle_cpu']:.1f} % of a core",
            f"{base['idle_cpu']:.1f} %",
            "",
        ),
    ]
    if "hold" in s:
        rows += hold_rows(s["hold"], args.hold, s["opened"])
    return rows


def http_rows(run, hello):
    h, db_name = run["http"], run["name"]
    rows = [
        (
            f"sends/s, {SENDERS} concurrent senders, small rooms ({db_name}): rps / p99",
            f"{h['sends'][0]:,.0f} / {h['sends'][2]:,.0f} ms",
            "—",
            "",
        ),
        (
            f"room page, {CONCURRENCY} concurrent ({db_name}): rps / p50 / p99",
            "{:,.0f} / {:,.0f} / {:,.0f} ms".format(*h["room page"]),
            f"bare Flask hello {hello[0]:,.0f} rps",
            f"{h['room page'][0] / hello[0]:.2f}",
        ),
        (
            f"catch-up fragment `?after=` ({db_name}): rps / p99",
            f"{h['catch-up'][0]:,.0f} / {h['catch-up'][2]:,.0f} ms",
            "",
            "",
        ),
        (
            f"room list ({db_name}): rps / p99",
            f"{h['room list'][0]:,.0f} / {h['room list'][2]:,.0f} ms",
            "",
            "",
        ),
    ]
    c = run.get("cpu")
    if c:
        rows.append(
            (
                f"CPU per request in-process ({db_name}): room page / send "
                f"({c['statements']} SQL per send)",
                f"{c['room_ms']:.1f} / {c['send_ms']:.1f} ms",
                f"bare hello {c['hello_ms']:.2f} ms",
                f"{c['room_ms'] / c['hello_ms']:.0f}",
            )
        )
    return rows


def hold_rows(hold, seconds, opened):
    samples = hold["samples"] or [{"open": 0, "rss_mib": 0, "cpu": 0, "load": 0, "beat": 0}]
    cpus = [x["cpu"] for x in samples]
    return [
        (
            f"{opened:,} streams held {seconds:,} s: unexpected closes / open at the end",
            f"{hold['closed']:,} / {samples[-1]['open']:,}",
            "",
            "",
        ),
        (
            "during the hold: server RSS first / last sample; idle CPU min / max",
            f"{samples[0]['rss_mib']:,.0f} / {samples[-1]['rss_mib']:,.0f} MiB; "
            f"{min(cpus):.1f} / {max(cpus):.1f} % of a core",
            "",
            f"load avg {min(x['load'] for x in samples):.1f}–{max(x['load'] for x in samples):.1f}",
        ),
    ]


if __name__ == "__main__":
    main()
