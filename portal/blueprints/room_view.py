"""What the room page and its message fragments show, read in a few statements.

The room page reads its messages as plain rows (`messages.message_rows`, with the
"more" flag instead of a second query), its participants with every read marker in one
statement (`seen.RoomReads`), and renders from the fragment cache. The values read
here are also what the page's weak ETag is made of (`etag_parts`): everything the page
shows, so an unchanged page answers a conditional GET with a 304 and no rendering.
"""

from functools import cached_property

from flask import current_app, request
from sqlalchemy import select

from portal.access import may_see_participants, may_write
from portal.extensions import db
from portal.infra import settings
from portal.messaging.messages import message_rows, message_rows_around
from portal.messaging.reading import mark_read
from portal.messaging.rooms import unread_by_room
from portal.messaging.seen import RoomReads
from portal.models import ReadState
from portal.models.base import utcnow
from portal.people.time_zones import zone_for
from portal.web.inputs import parse_id

#: Settings a room page shows: the composer's limits (config) and the brand (admins').
SHOWN_SETTINGS = ("MAX_UPLOAD_MB", "MAX_FILES_PER_MESSAGE")
SHOWN_BRAND = ("PORTAL_NAME", "PORTAL_ACCENT", "PORTAL_SIDEBAR", settings.LOGO_VERSION)


class RoomPage:
    """The room page's data for `viewer`, marking what it shows read (unless it pages
    back, shows a search hit's context with newer messages after it, or `mark` is False:
    the page re-rendered around a refused send is an answer to a POST, not a visit)."""

    def __init__(self, room, viewer, mark=True):
        self.room, self.viewer = room, viewer
        self.before = parse_id(request.args.get("before"))
        self.around = parse_id(request.args.get("around"))
        if self.around:
            self.rows, self.older, self.newer = message_rows_around(room.id, self.around)
        else:
            self.rows, self.older = message_rows(room.id, before=self.before)
            self.newer = False
        self.reads = RoomReads(room.id)
        self.first_unread_id = None
        if mark and self.before is None and self.rows and not self.newer:
            self._mark_read()
        self.unread = unread_by_room(viewer)

    def _mark_read(self):
        viewer, room, rows = self.viewer, self.room, self.rows
        marker = self.reads.marker(viewer.id) if self._participant() else self._own_marker()
        unread = (r.id for r in rows if r.id > marker and r.author_id != viewer.id)
        self.first_unread_id = next(unread, None)
        if rows[-1].id > marker:  # else mark_read would find nothing to move
            mark_read(viewer, room, rows[-1].id)

    def _participant(self):
        return any(person.id == self.viewer.id for person in self.reads.people)

    def _own_marker(self):
        """The read marker of a viewer who is not a participant (access to all rooms)."""
        marker = db.session.scalar(
            select(ReadState.last_read_message_id).where(
                ReadState.user_id == self.viewer.id, ReadState.room_id == self.room.id
            )
        )
        return marker or 0

    @cached_property
    def seen(self):
        return self.reads.seen(self.room.id, self.viewer, self.rows)

    @property
    def staff_through(self):
        return 0 if self.viewer.is_internal else self.reads.staff_through

    @property
    def people(self):
        """The participants, for viewers who may see them (internal users); else none."""
        return self.reads.people if may_see_participants(self.viewer) else []

    def context(self, side, form):
        """The template context of rooms/room.html."""
        unread = self.unread
        return {
            "layout": side.layout,
            "room": self.room,
            "viewer": self.viewer,
            "messages": self.rows,
            "older": self.older,
            "before": self.before,
            "first_unread_id": self.first_unread_id,
            "newer": self.newer,
            "seen": self.seen,
            "staff_through": self.staff_through,
            "participants": self.people,
            "show_participants": may_see_participants(self.viewer),
            "form": form,
            "can_post": not self.room.is_archived and may_write(self.viewer, self.room),
            # The layout's sidebar total: the counts already read for the ETag.
            "unread_by_room": lambda _user: unread,
        }

    def etag_parts(self):
        """Everything the page shows, as cheap values (see portal.web.etags)."""
        room, viewer, config = self.room, self.viewer, current_app.config
        zone = zone_for(viewer)
        return (
            (room.id, room.title, room.is_archived, room.last_activity_at, room.kind),
            room.team_only,
            (viewer.id, viewer.name, viewer.kind, viewer.is_admin, str(zone)),
            utcnow().astimezone(zone).date(),
            [tuple(row) for row in self.rows],
            (self.older, self.newer, self.before, self.around, self.first_unread_id),
            sorted((k, [p.id for p in v]) for k, v in self.seen.items()),
            self.staff_through,
            [(p.id, p.name, p.kind, p.status) for p in self.people],
            sorted(self.unread.items()),
            [config.get(name) for name in SHOWN_SETTINGS],
            [settings.value(name) for name in SHOWN_BRAND],
        )
