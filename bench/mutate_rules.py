# ruff: noqa: E501
"""Mutation spot-check of the access and notification rules: each mutant must be killed.

Run from the project folder: `.venv/bin/python bench/mutate_rules.py` (REDIS_URL as for
the tests). Each line removes or weakens one condition and runs tests/access/test_rules_pinned.py.
`not user.is_active` in visible_rooms is an equivalent mutant (Flask-Login's
`is_authenticated` already is `is_active`), so it is not listed.
"""

import subprocess
from pathlib import Path

MUTANTS = [
    (
        "portal/access.py",
        "if user.is_internal and user.access_all_rooms:",
        "if user.access_all_rooms:",
    ),
    (
        "portal/access.py",
        "    if user.is_internal:\n        return query.where(or_(member, Room.created_by_id == user.id))",
        "    if True:\n        return query.where(or_(member, Room.created_by_id == user.id))",
    ),
    (
        "portal/access.py",
        "return query.where(or_(member, Room.created_by_id == user.id))",
        "return query.where(member)",
    ),
    (
        "portal/access.py",
        "return not room.is_archived and can_view(user, room)",
        "return can_view(user, room)",
    ),
    (
        "portal/access.py",
        "return user.is_internal and can_view(user, room)",
        "return can_view(user, room)",
    ),
    (
        "portal/access.py",
        "return user.is_internal and can_view(user, room)",
        "return user.is_internal",
    ),
    (
        "portal/access.py",
        "return not room.is_archived and can_manage(user, room)",
        "return can_manage(user, room)",
    ),
    (
        "portal/access.py",
        "active = User.may_log_in",
        "active = User.active.is_(True)",
    ),
    (
        "portal/access.py",
        ".where(Room.id == room_id, User.kind == INTERNAL, active)",
        ".where(Room.id == room_id, active)",
    ),
    (
        "portal/access.py",
        "User.kind == INTERNAL, User.access_all_rooms.is_(True), active",
        "User.access_all_rooms.is_(True), active",
    ),
    (
        "portal/messaging/reading.py",
        "            Message.created_at >= Participant.added_at,\n",
        "",
    ),
    (
        "portal/notify/recipients.py",
        "EMAILABLE, Participant.muted.is_(False), Message.deleted_at.is_(None), *conditions",
        "EMAILABLE, Message.deleted_at.is_(None), *conditions",
    ),
    (
        "portal/notify/recipients.py",
        "EMAILABLE, Participant.muted.is_(False), Message.deleted_at.is_(None), *conditions",
        "EMAILABLE, Participant.muted.is_(False), *conditions",
    ),
    (
        "portal/messaging/reading.py",
        "(Message.author_id != reader_id) | Message.author_id.is_(None)",
        "Message.author_id != reader_id",
    ),
    (
        "portal/messaging/reading.py",
        "(Message.author_id != reader_id) | Message.author_id.is_(None)",
        "True",
    ),
    ("portal/messaging/reading.py", "(Message.id > func.coalesce(last_read, 0)) & (", "("),
    (
        "portal/notify/recipients.py",
        "EMAILABLE = User.may_log_in & User.email_notifications.is_(True)",
        "EMAILABLE = User.may_log_in",
    ),
    (
        "portal/models/users.py",
        "return cls.active.is_(True) & cls.activated_at.is_not(None)",
        "return cls.activated_at.is_not(None)",
    ),
    (
        "portal/models/users.py",
        "return cls.active.is_(True) & cls.activated_at.is_not(None)",
        "return cls.active.is_(True)",
    ),
    (
        "portal/models/users.py",
        "return self.active and self.activated_at is not None",
        "return self.active",
    ),
    (
        "portal/notify/recipients.py",
        "return bool(user.may_log_in and user.email_notifications)",
        "return bool(user.active and user.email_notifications)",
    ),
    (
        "portal/notify/client_emails.py",
        "            User.kind == CLIENT,\n            EMAILABLE,",
        "            EMAILABLE,",
    ),
    (
        "portal/notify/client_emails.py",
        '            Participant.user_id != bindparam("author_id"),\n            Participant.muted',
        "            Participant.muted",
    ),
]


def main():
    survivors = []
    for path, old, new in MUTANTS:
        source = Path(path).read_text()
        assert old in source, (path, old)
        Path(path).write_text(source.replace(old, new, 1))
        try:
            result = subprocess.run(
                [
                    ".venv/bin/python",
                    "-m",
                    "pytest",
                    "-x",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "tests/access/test_rules_pinned.py",
                ],
                capture_output=True,
                text=True,
            )
        finally:
            Path(path).write_text(source)
        killed = result.returncode != 0
        print("KILLED  " if killed else "SURVIVED", path, old[:70].replace("\n", " "), flush=True)
        if not killed:
            survivors.append(old)
    print(f"{len(MUTANTS) - len(survivors)}/{len(MUTANTS)} mutants killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main())
