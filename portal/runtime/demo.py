"""The demo workspace that `make run` seeds on first start."""

from datetime import timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging.reading import advance_read
from portal.models import Message, Participant, Room, User
from portal.models.base import utcnow
from portal.models.users import CLIENT, INTERNAL
from portal.people.users import create_user

DEMO_PASSWORD = "portal-demo-1"  # noqa: S105  (printed for the demo on purpose)

PEOPLE = [
    ("admin@example.com", "Ada Admin", INTERNAL, {"is_admin": True}),
    ("staff@example.com", "Sam Staff", INTERNAL, {}),
    ("lead@example.com", "Lee Lead", INTERNAL, {"access_all_rooms": True}),
    ("client@example.com", "Cleo Client", CLIENT, {}),
    ("invited@example.com", "Ivan Invited", CLIENT, {"invited": True}),
]

ROOMS = [
    ("Cleo Client — website redesign", "admin", ["admin", "staff", "client"]),
    ("Cleo Client — invoices", "staff", ["staff", "client", "invited"]),
    ("Internal: launch planning", "admin", ["admin", "lead"]),
]

LINES = [
    "Hi! Here is where we'll keep everything about this project.",
    "Thanks — glad to have one place for it.",
    "The first draft is ready: https://example.com/draft",
    "Looks great. Could the header be a little calmer?",
    "Sure, I'll tone it down and send a new version tomorrow.",
    "Perfect.\nAlso: can we move the call to Thursday?",
    "Thursday works. 10:00?",
    "10:00 is fine.",
    "New version attached to the link above.",
    "Approved from our side!",
]


def seed_demo(only_if_empty=False):
    """Create the demo people, rooms and messages; None when skipped."""
    if only_if_empty and db.session.scalar(select(func.count(User.id))):
        return None
    people = {}
    for email, name, kind, extra in PEOPLE:
        extra = dict(extra)
        password = None if extra.pop("invited", False) else DEMO_PASSWORD
        people[email.split("@")[0]] = create_user(email, name, kind, password=password, **extra)
    start = utcnow() - timedelta(days=2)
    for index, (title, creator, members) in enumerate(ROOMS):
        room = Room(title=title, created_by_id=people[creator].id, created_at=start)
        db.session.add(room)
        db.session.flush()
        for member in members:
            db.session.add(Participant(room_id=room.id, user_id=people[member].id))
        count = 12 if index < 2 else 8
        messages = []
        for n in range(count):
            author = people[members[n % 2]]
            at = start + timedelta(hours=index, minutes=17 * n)
            messages.append(
                Message(
                    room_id=room.id, author_id=author.id, body=LINES[n % len(LINES)], created_at=at
                )
            )
            room.last_activity_at = at
        db.session.add_all(messages)
        db.session.flush()
        # Everyone has read all but the last two messages: a few unread badges to show.
        for member in members:
            advance_read(people[member].id, room.id, messages[-3].id)
    db.session.commit()
    return list(people.values())
