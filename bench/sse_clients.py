"""Event-stream clients for `bench/stack.py`: asyncio sockets in child processes.

One process can't hold 20,000 client sockets under a 20,000 descriptor limit next to
everything else, so the streams are split over a few child processes, each running an
asyncio loop and answering commands on a pipe. Times are `time.perf_counter()` values
(CLOCK_MONOTONIC on Linux), comparable across processes. Only 127.0.0.1 is contacted.
"""

import asyncio
import multiprocessing
import resource
import threading
import time

PER_PROCESS = 9000
CONNECT_CONCURRENCY = 400
#: A stream not connected by then counts as failed.
OPEN_TIMEOUT = 60


class _Stream:
    __slots__ = ("reader", "writer", "closed", "tail", "seen")

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.closed = False
        self.tail = b""
        self.seen = {}


async def _open(port, request, semaphore):
    async with semaphore:
        return await asyncio.wait_for(_connect(port, request), OPEN_TIMEOUT)


async def _connect(port, request):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    data = b""
    while b"connected" not in data:
        chunk = await reader.read(65536)
        if not chunk:
            raise ConnectionError(data[:200])
        data += chunk
    return _Stream(reader, writer)


async def _pump(stream, needles):
    while True:
        try:
            chunk = await stream.reader.read(262144)
        except (ConnectionError, OSError):
            chunk = b""
        if not chunk:
            stream.closed = True
            return
        now = time.perf_counter()
        text = stream.tail + chunk
        for needle in needles:
            if needle not in stream.seen and needle in text:
                stream.seen[needle] = now
        stream.tail = text[-256:]


async def _serve(conn):
    loop = asyncio.get_running_loop()
    streams, needles, tasks = [], [b"heartbeat"], []
    while True:
        command, arg = await loop.run_in_executor(None, conn.recv)
        if command == "open":
            semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)
            start = time.perf_counter()
            results = await asyncio.gather(
                *(_open(port, r, semaphore) for port, r in arg), return_exceptions=True
            )
            elapsed = time.perf_counter() - start
            opened = [s for s in results if isinstance(s, _Stream)]
            for stream in opened:
                stream.seen[b"opened"] = time.perf_counter()
                tasks.append(asyncio.create_task(_pump(stream, needles)))
            streams.extend(opened)
            errors = [repr(e) for e in results if not isinstance(e, _Stream)][:3]
            conn.send((len(opened), elapsed, errors))
        elif command == "watch":
            needles.append(arg)
            conn.send(True)
        elif command == "seen":
            indexes, needle = arg
            conn.send([streams[i].seen.get(needle) for i in indexes if i < len(streams)])
        elif command == "status":
            heartbeat = sum(1 for s in streams if b"heartbeat" in s.seen)
            conn.send((len(streams), sum(1 for s in streams if not s.closed), heartbeat))
        elif command == "reset-heartbeats":
            for stream in streams:
                stream.seen.pop(b"heartbeat", None)
            conn.send(True)
        elif command == "close":
            for stream in streams:
                stream.writer.close()
            for task in tasks:
                task.cancel()
            streams.clear()
            tasks.clear()
            conn.send(True)
        elif command == "exit":
            conn.send(True)
            return


def _child(conn):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_serve(conn))


class StreamClients:
    """`count` streams spread over child processes; stream i is (process i // n, i % n)."""

    def __init__(self, count):
        self.per = PER_PROCESS
        self.pipes = []
        self.procs = []
        for _ in range(max(1, -(-count // self.per))):
            parent, child = multiprocessing.Pipe()
            process = multiprocessing.Process(target=_child, args=(child,), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.procs.append(process)
        self.lock = threading.Lock()

    def _all(self, command, args):
        for pipe, arg in zip(self.pipes, args, strict=False):
            pipe.send((command, arg))
        return [pipe.recv() for pipe in self.pipes[: len(args)]]

    def open(self, requests):
        """Open every stream ((port, raw HTTP request) each); returns (opened, seconds, errors)."""
        chunks = [requests[i : i + self.per] for i in range(0, len(requests), self.per)]
        start = time.perf_counter()
        results = self._all("open", chunks)
        elapsed = time.perf_counter() - start
        errors = [e for _, _, errs in results for e in errs]
        return sum(r[0] for r in results), elapsed, errors

    def watch(self, needle):
        self._all("watch", [needle] * len(self.pipes))

    def seen(self, indexes, needle):
        """Arrival times of `needle` on the given streams (None where not yet)."""
        by_process = [[] for _ in self.pipes]
        for i in indexes:
            by_process[i // self.per].append(i % self.per)
        results = self._all("seen", [(ix, needle) for ix in by_process])
        return [t for chunk in results for t in chunk]

    def status(self):
        """(streams, still open, got a heartbeat)."""
        results = self._all("status", [None] * len(self.pipes))
        return tuple(sum(r[k] for r in results) for k in range(3))

    def reset_heartbeats(self):
        self._all("reset-heartbeats", [None] * len(self.pipes))

    def close(self):
        self._all("close", [None] * len(self.pipes))

    def stop(self):
        try:
            self._all("exit", [None] * len(self.pipes))
        finally:
            for process in self.procs:
                process.join(5)
                if process.is_alive():
                    process.kill()
