"""Live delivery across real gunicorn gevent processes: any process, bounded Redis clients."""

import contextlib
import os
import time

import pytest
import redis as redis_lib

from tests.e2e.live_fixtures import GunicornServer, HttpSession, RawStream
from tests.sse import of_type

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def servers(server_env, tmp_path_factory):
    """Two web processes sharing the database and Redis, heartbeat every second."""
    logs = tmp_path_factory.mktemp("gunicorn")
    pair = [
        GunicornServer(
            server_env,
            log_path=logs / f"{name}.log",
            SSE_HEARTBEAT_SECONDS=1,
            SSE_MAX_STREAMS_PER_USER=100,
        )
        for name in ("a", "b")
    ]
    try:
        for server in pair:
            server.start()
        yield pair
    finally:
        for server in pair:
            server.stop()


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_message_sent_through_one_process_reaches_a_stream_on_another(servers, room):
    a, b = servers
    client = HttpSession(a.url, "client@example.test")
    stream = RawStream(a.url, client.cookie_header())
    try:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert ("comment", "connected") in stream.read_until(lambda ev: ev, timeout=5)

        staff = HttpSession(b.url, "staff@example.test")
        response = staff.send(f"/app/rooms/{room}/messages", "Sent through process B")
        assert response.status == 200 and f"/app/rooms/{room}" in response.url

        events = stream.read_until(lambda ev: of_type(ev, "message"), timeout=10)
        (message,) = of_type(events, "message")
        assert message["room_id"] == room
        assert "Sent through process B" in message["html"]
    finally:
        stream.close()


def test_stream_without_login_is_401_over_http(servers):
    stream = RawStream(servers[0].url)
    try:
        assert stream.status == 401
    finally:
        stream.close()


def _redis_clients(url, pid):
    """The Redis clients of process `pid` only: others may share the Redis server.

    Over TCP a client is the worker's when its address is one of the worker's own
    sockets; over a unix socket (this session's embedded Redis) every client counts.
    """
    clients = redis_lib.Redis.from_url(url).client_list()
    if url.startswith("unix:"):
        return clients
    ports = _local_ports(pid)
    return [c for c in clients if c["addr"].rpartition(":")[2] in ports]


def _local_ports(pid):
    """Local TCP ports (as text) of the sockets process `pid` holds open."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/net/{table}") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(str(int(fields[1].rpartition(":")[2], 16)))
    return ports


def _open_sockets(pid):
    fd_dir = f"/proc/{pid}/fd"
    count = 0
    for fd in os.listdir(fd_dir):
        with contextlib.suppress(OSError):  # closed while we looked
            count += os.readlink(os.path.join(fd_dir, fd)).startswith("socket:")
    return count


def test_fifty_streams_share_one_redis_subscription_and_are_freed(servers, app, people):
    a = servers[0]
    (worker,) = a.worker_pids()
    cookie = HttpSession(a.url, "client@example.test").cookie_header()
    first = RawStream(a.url, cookie)
    first.read_until(lambda ev: ev, timeout=5)
    clients_before = len(_redis_clients(app.config["REDIS_URL"], worker))
    sockets_before = _open_sockets(worker)

    streams = [RawStream(a.url, cookie) for _ in range(50)]
    try:
        for stream in streams:
            assert ("comment", "connected") in stream.read_until(lambda ev: ev, timeout=10)
        clients = _redis_clients(app.config["REDIS_URL"], worker)
        assert len(clients) - clients_before < 5, "Redis clients grew with the streams"
        subscribers = [c for c in clients if c["name"] == f"portal-live-sub-{worker}"]
        assert len(subscribers) == 1
        assert _open_sockets(worker) >= sockets_before + 45
    finally:
        for stream in streams:
            stream.close()
        first.close()

    # Within about one heartbeat (1 s here) the worker lets go of every closed stream.
    _wait(lambda: _open_sockets(worker) < sockets_before + 5, timeout=5)
    assert len(_redis_clients(app.config["REDIS_URL"], worker)) <= clients_before
