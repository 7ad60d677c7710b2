"""Streams above descriptor 1,024 in one real gunicorn gevent worker survive heartbeats."""

import resource

import pytest

from portal.infra.limits import raise_open_file_limit
from tests.e2e.live_fixtures import GunicornServer, HttpSession, RawStream
from tests.sse import of_type

pytestmark = pytest.mark.slow

#: Enough streams that the worker's descriptors pass select()'s FD_SETSIZE (1,024).
STREAMS = 1100


@pytest.fixture
def server(server_env, tmp_path):
    gunicorn = GunicornServer(
        server_env,
        log_path=tmp_path / "gunicorn.log",
        args=["--worker-connections", "4000"],
        SSE_HEARTBEAT_SECONDS=1,
        SSE_MAX_STREAMS_PER_USER=STREAMS,
    )
    gunicorn.start()
    yield gunicorn
    gunicorn.stop()


def test_raising_the_open_file_limit_reaches_the_hard_limit():
    soft = raise_open_file_limit()
    assert soft == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert soft == hard or hard == resource.RLIM_INFINITY


def test_a_stream_above_descriptor_1024_survives_its_heartbeats(server, people):
    if raise_open_file_limit() < STREAMS + 200:
        pytest.skip("this machine's hard open-file limit is too low for the test")
    cookie = HttpSession(server.url, "staff_all@example.test").cookie_header()
    streams = []
    try:
        for _ in range(STREAMS):
            streams.append(RawStream(server.url, cookie))
            assert streams[-1].status == 200
        (pid,) = server.worker_pids()
        highest = max(int(fd) for fd in _fds(pid))
        assert highest > 1024, f"the worker's highest descriptor is only {highest}"

        last = streams[-1]
        events = last.read_until(lambda ev: of_type(ev, "comment").count("heartbeat") >= 2)
        assert of_type(events, "comment").count("heartbeat") >= 2
        assert not last.closed
        # And the ones in between (descriptors around 1,024) are still held too.
        for stream in streams[1000::20]:
            events = stream.read_until(lambda ev: "heartbeat" in of_type(ev, "comment"))
            assert "heartbeat" in of_type(events, "comment") and not stream.closed
    finally:
        for stream in streams:
            stream.close()


def _fds(pid):
    import os

    return os.listdir(f"/proc/{pid}/fd")
