"""Each process's cache of who may view a room, so a message costs no viewers query.

Membership changes are announced on the room's channel (`portal.live.membership`):
`pending` before the change commits — the room (or every room) is then not cached until
its `settled` — and `settled` after. Entries also expire after `VIEWERS_TTL_SECONDS`.
Only the hub's subscriber thread uses a cache (no lock).
"""

import time

#: A room's cached viewers are re-read at least this often, whatever was announced.
VIEWERS_TTL_SECONDS = 10.0
#: Longest a viewers change announced as pending keeps its room uncached without its
#: `settled` (the announcing process may have died before it could say so).
PENDING_SECONDS = 60.0
#: Rooms whose viewers a process keeps at most.
VIEWERS_CACHED = 10000
#: Room id meaning "every room" in a viewers announcement (`portal.live.membership`).
ALL_ROOMS = 0


class ViewersCache:
    """room_id -> viewer ids, read through `query(room_id)` when not cached."""

    def __init__(self, query):
        self.query = query
        #: room_id -> (monotonic expiry, viewer ids), for rooms with no change pending.
        self._viewers = {}
        #: announced mark -> (room_id or ALL_ROOMS, monotonic deadline) until settled.
        self._pending = {}

    def of(self, room_id):
        """The room's viewers: cached, unless a change to them may be committing now."""
        now = time.monotonic()
        cached = self._viewers.get(room_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        viewers = frozenset(self.query(room_id))
        if self._settled(room_id, now):
            if len(self._viewers) >= VIEWERS_CACHED:
                self._viewers.pop(next(iter(self._viewers)))
            self._viewers[room_id] = (now + VIEWERS_TTL_SECONDS, viewers)
        return viewers

    def changed(self, room_id, payload):
        """`pending`: forget the room (or all) and cache nothing for it until `settled`."""
        if room_id == ALL_ROOMS:
            self._viewers.clear()
        else:
            self._viewers.pop(room_id, None)
        if payload["viewers"] == "pending":
            self._pending[payload["mark"]] = (room_id, time.monotonic() + PENDING_SECONDS)
        else:
            self._pending.pop(payload["mark"], None)

    def clear(self):
        """Forget everything (announcements may have been missed)."""
        self._viewers.clear()
        self._pending.clear()

    def _settled(self, room_id, now):
        """No viewers change announced for this room (or all) is still in flight."""
        for mark, (room, deadline) in list(self._pending.items()):
            if deadline <= now:
                del self._pending[mark]
            elif room in (room_id, ALL_ROOMS):
                return False
        return True
