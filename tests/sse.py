"""The one server-sent-events reader of the test suite, whatever carries the stream."""

import json
import time


def parse_events(text):
    """Complete SSE blocks in `text` as (type, data) pairs; comments as ("comment", text)."""
    events = []
    for block in text.split("\n\n")[:-1]:
        kind, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":"):
                events.append(("comment", line[1:].strip()))
            elif line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            joined = "\n".join(data)
            try:
                events.append((kind, json.loads(joined)))
            except ValueError:
                events.append((kind, joined))
    return events


def of_type(events, kind):
    return [data for event_kind, data in events if event_kind == kind]


class EventStream:
    """An event stream read as it arrives; subclasses add text in `_pump(timeout)`."""

    text = ""
    closed = False

    def _pump(self, timeout):
        raise NotImplementedError

    def read_until(self, predicate, timeout=10.0):
        """Events (type, data) read so far once `predicate(events)` holds, else at timeout."""
        deadline = time.monotonic() + timeout
        while True:
            events = parse_events(self.text)
            if predicate(events) or self.closed or time.monotonic() > deadline:
                return events
            self._pump(min(0.5, max(0.01, deadline - time.monotonic())))

    def connected(self, timeout=5):
        return self.read_until(lambda events: ("comment", "connected") in events, timeout=timeout)


class ClientStream(EventStream):
    """A /stream response from the Flask test client, read as it is generated."""

    def __init__(self, client, path="/stream"):
        self.response = client.get(path, buffered=False)
        self._chunks = iter(self.response.response)

    def _pump(self, timeout):
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self.closed = True
            return
        self.text += chunk.decode() if isinstance(chunk, bytes) else chunk

    def close(self):
        self.response.close()
