"""Round trips to PostgreSQL per request: room page, 304, catch-up, room list, a send.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/throwaway \\
        .venv/bin/python bench/pg_round_trips.py [--requests 20] [--log]

Its tables are dropped. On PostgreSQL every round trip is CPU twice on a shared box: the
worker's (send, wait, wake) and the server's (a backend wakes, parses or binds, answers).
SQLAlchemy's statement events don't see them all — psycopg sends `BEGIN` itself, a pool
ping or reset is not a cursor statement — so this counts them on the wire: the app talks
to PostgreSQL through a small proxy in this process that reads the frontend protocol the
client sends. One round trip is a message that makes the server answer and wait: `Q` (a
simple query: `BEGIN`, `ROLLBACK`, …) or `S` (Sync, ending an extended-protocol query).
`P` (Parse) is a statement the server parses and plans again; a statement psycopg has
prepared (after `prepare_threshold` uses of the same text) sends only Bind/Execute. A
request's figures are the mean over `--requests` after 10 warm-up requests (which let
the hot statements get prepared). "server CPU" is the user + system time of the
PostgreSQL backends serving this database per request (from /proc: the server must run on
this machine; ticks of 10 ms, hence the 200 requests). `--log` prints the messages of one
request of each.
"""

import argparse
import os
import socket
import struct
import sys
import tempfile
import threading
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import event  # noqa: E402

from bench.room_page import make_app, seed, settled_page  # noqa: E402
from portal.config import database_uri  # noqa: E402
from portal.extensions import db  # noqa: E402

#: Untyped first messages a client may send before its startup message.
_NEGOTIATION = {80877103, 80877104}  # SSLRequest, GSSENCRequest


class WireCounter:
    """A TCP proxy to PostgreSQL counting the messages each client connection sends."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.counts = Counter()
        self.log = None  # a list while logging: (type, first bytes of the text)
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(self.target)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()
            threading.Thread(target=self._client, args=(client, server), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    def _client(self, client, server):
        """Forward what the client sends, splitting it into protocol messages."""
        buffer, typed = b"", False
        try:
            while data := client.recv(65536):
                server.sendall(data)
                buffer += data
                while True:
                    header = 5 if typed else 4
                    if len(buffer) < header:
                        break
                    if typed:
                        kind, length = chr(buffer[0]), struct.unpack("!I", buffer[1:5])[0]
                        total = 1 + length
                    else:
                        length = struct.unpack("!I", buffer[:4])[0]
                        total = length
                    if len(buffer) < total:
                        break
                    message, buffer = buffer[:total], buffer[total:]
                    if not typed:
                        code = struct.unpack("!I", message[4:8])[0]
                        typed = code not in _NEGOTIATION
                        continue
                    self._note(kind, message[5:])
        except OSError:
            pass
        finally:
            server.close()

    def _note(self, kind, body):
        with self.lock:
            self.counts[kind] += 1
            if kind == "P":  # Parse: statement name, then the text
                name, _, rest = body.partition(b"\0")
                self.counts["P named" if name else "P unnamed"] += 1
                text = rest.split(b"\0", 1)[0]
            elif kind == "Q":
                text = body.rstrip(b"\0")
            elif kind == "B":  # Bind: portal name, statement name
                _, _, rest = body.partition(b"\0")
                name = rest.split(b"\0", 1)[0]
                self.counts["B prepared" if name else "B unnamed"] += 1
                text = b"bind " + (name or b"<unnamed>")
            else:
                text = b""
            if self.log is not None and kind in "PQBS":
                self.log.append((kind, text.decode(errors="replace")[:110]))

    def snapshot(self):
        with self.lock:
            return Counter(self.counts)


class _BackendCPU:
    """CPU time of the server processes serving this database (PostgreSQL on this machine:
    /proc), asked on a connection of its own, not through the proxy."""

    def __init__(self, url):
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)
        self.tick = os.sysconf("SC_CLK_TCK")

    def seconds(self):
        pids = self.connection.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        total = 0
        for (pid,) in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / self.tick


def _add(counter):
    counter[0] += 1


def proxied(url, port):
    """`url` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--log", action="store_true", help="print one request's messages")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        sys.exit("set DATABASE_URL to a throwaway PostgreSQL database")
    parts = urlsplit(url)
    wire = WireCounter(parts.hostname or "127.0.0.1", parts.port or 5432)
    app = make_app(tempfile.mkdtemp(prefix="portal-bench-"), database_uri(proxied(url, wire.port)))
    statements = [0]
    backends = _BackendCPU(url.replace("postgresql+psycopg://", "postgresql://", 1))
    with app.app_context():
        db.drop_all()
        db.create_all()
        event.listen(db.engine, "before_cursor_execute", lambda *_: _add(statements))
    room_id, newest = seed(app, args.rooms, 100)
    client, page, etag = settled_page(app, room_id)
    hx = {"HX-Request": "true"}
    print(
        f"{'request':<10} {'round trips':>11} {'statements':>10} {'parses':>7} "
        f"{'prepared binds':>14} {'server CPU ms':>13}"
    )
    sent = [0]

    def send(path, headers):
        sent[0] += 1
        data = {"body": "A send", "client_msg_id": f"bench-trips-{sent[0]:08d}"}
        return client.post(path, data=data, headers=headers)

    for label, path, headers, status in [
        ("room page", page, None, 200),
        ("room 304", page, {"If-None-Match": etag}, 304),
        ("catch-up", f"{page}/messages?after={newest}", hx, 200),
        ("room list", "/app/rooms", None, 200),
        ("send", f"{page}/messages", hx, 200),
    ]:
        request = send if label == "send" else client.get
        for _ in range(10):
            request(path, headers=headers)
        before, sql, server_cpu = wire.snapshot(), statements[0], backends.seconds()
        for _ in range(args.requests):
            response = request(path, headers=headers)
            assert response.status_code == status, (path, response.status_code)
        after = wire.snapshot()
        server_cpu = (backends.seconds() - server_cpu) * 1000 / args.requests
        n = args.requests
        trips = (after["Q"] + after["S"] - before["Q"] - before["S"]) / n
        print(
            f"{label:<10} {trips:>11.1f} {(statements[0] - sql) / n:>10.1f} "
            f"{(after['P'] - before['P']) / n:>7.1f} "
            f"{(after['B prepared'] - before['B prepared']) / n:>14.1f} {server_cpu:>13.2f}"
        )
        if args.log:
            wire.log = []
            request(path, headers=headers)
            for kind, text in wire.log:
                print(f"    {kind} {text}")
            wire.log = None


if __name__ == "__main__":
    main()
