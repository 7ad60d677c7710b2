"""The room page and its catch-up fragment read in a fixed, small number of statements,
whatever the page holds (files, mentions, readers), and a settled page writes nothing."""

from sqlalchemy import event

from portal.extensions import db
from portal.messaging.messages import post_message
from portal.models import Room, User
from tests.files_helpers import png, send

HX = {"HX-Request": "true"}


def statements_of(app, request):
    seen = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = request()
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", count)
    return response, seen


def test_a_settled_room_page_and_catch_up_cost_a_few_reads(client, app, people, room):
    client.login("staff@example.test")
    send(client, room, [(png(), "a.png")])
    with app.app_context():
        room_row, author = db.session.get(Room, room), db.session.get(User, people["client"].id)
        for n in range(30):
            post_message(room_row, author, f"Message {n} for @Staff")
        newest = post_message(room_row, author, "Newest").id
    page = f"/app/rooms/{room}"
    client.get(page)  # marks it read and fills the fragment cache

    response, statements = statements_of(app, lambda: client.get(page))
    assert response.status_code == 200 and "Newest" in response.get_data(as_text=True)
    # Login session, room access, messages, people and read markers, the layout's counts.
    assert len(statements) <= 6, statements
    assert not [s for s in statements if not s.lstrip().upper().startswith("SELECT")]

    response, statements = statements_of(
        app, lambda: client.get(f"{page}/messages?after={newest}", headers=HX)
    )
    assert response.status_code == 200 and len(statements) <= 3, statements
