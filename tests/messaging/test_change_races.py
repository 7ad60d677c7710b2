"""An edit and a delete of one message in flight together: the deletion always wins.

Real concurrency: two threads, each with its own app context (so its own session and
database connection), released together by a barrier once both have loaded the message —
the moment a request holds it between `load_message` and the change. Many rounds, on
whichever database DATABASE_URL names.
"""

import threading

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.changes import DELETED, delete_message, edit_message
from portal.messaging.messages import MessageError, post_message
from portal.models import Message, MessageRevision, Room, User

ROUNDS = 25


def _race(app, message_id, *actions):
    """Run each `action(message, user)` in its own thread at once; their outcomes in order."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action, user_id):
        with app.app_context():
            message = db.session.get(Message, message_id)
            user = db.session.get(User, user_id)
            barrier.wait()
            try:
                action(message, user)
                outcomes[index] = "done"
            except MessageError as refusal:
                outcomes[index] = str(refusal)
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=run, args=(index, action, user_id))
        for index, (action, user_id) in enumerate(actions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def _editing(text):
    return lambda message, user: edit_message(message, user, text)


def _deleting(message, user):
    delete_message(message, user)


def _post(app, room_id, user_id, body):
    with app.app_context():
        room, author = db.session.get(Room, room_id), db.session.get(User, user_id)
        return post_message(room, author, body).id


def _state(app, message_id):
    with app.app_context():
        message = db.session.get(Message, message_id)
        revisions = db.session.execute(
            select(MessageRevision.action, MessageRevision.previous_body)
            .where(MessageRevision.message_id == message_id)
            .order_by(MessageRevision.id)
        ).all()
        return message.body, message.deleted_at, [tuple(r) for r in revisions]


@pytest.mark.parametrize("deleter", ["staff", "admin"])
def test_an_edit_racing_a_delete_never_keeps_the_text(app, people, make_room, deleter):
    room_id = make_room(creator="staff", members=("client", "admin"))
    staff = people["staff"].id
    outcomes_seen = set()
    for round_ in range(ROUNDS):
        original, edited = f"Original {round_}", f"EDITED {round_}"
        message_id = _post(app, room_id, staff, original)
        edit, delete = _race(
            app,
            message_id,
            (_editing(edited), staff),
            (_deleting, people[deleter].id),
        )
        body, deleted_at, revisions = _state(app, message_id)
        assert delete == "done"
        assert deleted_at is not None and body == "", f"round {round_}: text kept"
        if edit == "done":
            # The edit committed first; the deletion then removed the edited text.
            assert revisions == [("edit", original), ("delete", edited)]
        else:
            # The loser is told the truth, and nothing of its text was stored.
            assert edit == DELETED
            assert revisions == [("delete", original)]
        outcomes_seen.add(edit)
    assert outcomes_seen  # (which side wins each round is up to the databases' timing)


def test_two_deletes_leave_one_tombstone(app, people, make_room):
    room_id = make_room(creator="staff", members=("client", "admin"))
    for round_ in range(ROUNDS):
        message_id = _post(app, room_id, people["staff"].id, f"Twice {round_}")
        outcomes = _race(
            app,
            message_id,
            (_deleting, people["staff"].id),
            (_deleting, people["admin"].id),
        )
        assert outcomes == ["done", "done"]
        body, deleted_at, revisions = _state(app, message_id)
        assert (body, deleted_at is not None) == ("", True)
        assert revisions == [("delete", f"Twice {round_}")]


def test_two_edits_keep_every_text_in_the_history(app, people, make_room):
    room_id = make_room(creator="staff", members=("client",))
    staff = people["staff"].id
    for round_ in range(ROUNDS):
        message_id = _post(app, room_id, staff, f"First {round_}")
        outcomes = _race(
            app,
            message_id,
            (_editing(f"A {round_}"), staff),
            (_editing(f"B {round_}"), staff),
        )
        assert outcomes == ["done", "done"]
        body, _deleted, revisions = _state(app, message_id)
        # Each edit replaced the text the other left: the history chains without a gap.
        first_new = "A" if revisions[1][1].startswith("A") else "B"
        other = "B" if first_new == "A" else "A"
        assert revisions == [("edit", f"First {round_}"), ("edit", f"{first_new} {round_}")]
        assert body == f"{other} {round_}"


def test_an_edit_of_a_message_deleted_since_it_loaded_is_refused(app, people, make_room):
    room_id = make_room(creator="staff", members=("client",))
    message_id = _post(app, room_id, people["staff"].id, "Soon gone")
    with app.app_context():
        # A request that loaded the message just before the deletion committed.
        message = db.session.get(Message, message_id)
        staff = db.session.get(User, people["staff"].id)
        with app.app_context():
            delete_message(db.session.get(Message, message_id), db.session.get(User, staff.id))
        assert not message.is_deleted
        with pytest.raises(MessageError, match=DELETED):
            edit_message(message, staff, "New words")
    assert _state(app, message_id)[:2][0] == ""
