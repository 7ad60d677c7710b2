"""Search: bodies, file names and titles; newest first; escaped highlights; both databases."""

import io

import pytest
from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.messaging import search as search_module
from portal.messaging.messages import post_message
from portal.messaging.rooms import create_room, rename_room, set_participants
from portal.messaging.search import LIMIT, highlight, search, terms
from portal.models import Room, User


def _user(person):
    return db.session.get(User, person.id)


def test_terms_are_words_only():
    assert terms('inv" OR 1=1 -- NEAR(x) *') == ["inv", "or", "1", "1", "near", "x"]
    assert terms("   ") == []


def test_highlight_escapes_everything_but_the_marks():
    html = str(highlight("<script>\x02alert\x03</script> & \x02more"))
    assert html == "&lt;script&gt;<mark>alert</mark>&lt;/script&gt; &amp; <mark>more</mark>"


def test_bodies_file_names_and_titles_newest_first(app, people):
    with app.app_context():
        staff = _user(people["staff"])
        room = create_room(staff, "Quarterly Zebra review", [people["client"].id])
        first = post_message(room, staff, "zebra crossings are striped")
        second = post_message(room, staff, "Another ZEBRA, with accents: zèbre")
        upload = FileStorage(io.BytesIO(b"data"), filename="zebra-report.pdf")
        third = post_message(room, staff, "see file", files=[upload])
        post_message(room, staff, "nothing to see")
        rooms, messages = search(staff, "zeb")
        assert [h.room_id for h in rooms] == [room.id]
        assert [h.message_id for h in messages] == [third.id, second.id, first.id]
        assert "<mark>" in str(messages[2].snippet)
        # Accents fold both ways (FTS5's tokenizer; PostgreSQL's unaccent configuration).
        assert [h.message_id for h in search(staff, "zebre")[1]] == [second.id]
        assert [h.message_id for h in search(staff, "zèbre")[1]] == [second.id]
        assert "<mark>zèbre</mark>" in str(search(staff, "zebre")[1][0].snippet)
        assert [h.room_id for h in search(staff, "quarterly")[0]] == [room.id]
        assert [h.message_id for h in search(staff, "report pdf")[1]] == [third.id]
        assert search(staff, "zebra striped")[1][0].message_id == first.id
        rename_room(room, "Quarterly review")
        assert search(staff, "zebra")[0] == []


def test_snippets_and_titles_are_escaped_on_the_page(client, app, people):
    with app.app_context():
        staff = _user(people["staff"])
        room = create_room(staff, "<i>Evil</i> pelican", [])
        post_message(room, staff, '<img src=x onerror="alert(1)"> pelican')
    client.login("staff@example.test")
    page = client.get("/app/search?q=pelican").get_data(as_text=True)
    assert "<img src=x" not in page and "<i>Evil</i>" not in page
    assert "<mark>pelican</mark>" in page  # (PostgreSQL's headline drops tags; SQLite escapes)


def test_removed_participant_finds_nothing_all_rooms_staff_find_everything(app, people):
    with app.app_context():
        staff = _user(people["staff"])
        room = create_room(staff, "Walrus", [people["client"].id])
        post_message(room, staff, "walrus tusks")
        client = _user(people["client"])
        assert len(search(client, "walrus")[1]) == 1
        set_participants(room, staff, [])
        assert search(client, "walrus") == ([], [])
        assert len(search(_user(people["staff_all"]), "walrus")[1]) == 1
        assert search(_user(people["admin"]), "walrus") == ([], [])


def test_result_links_to_the_message_with_the_page_around_it(client, app, people):
    with app.app_context():
        staff = _user(people["staff"])
        room = create_room(staff, "Long room", [])
        ids = [post_message(room, staff, f"filler {n}").id for n in range(120)]
        target = post_message(room, staff, "the needle").id
        ids += [post_message(room, staff, f"later {n}").id for n in range(80)]
        room_id = room.id
    client.login("staff@example.test")
    results = client.get("/app/search?q=needle").get_data(as_text=True)
    link = f"/app/rooms/{room_id}?around={target}#message-{target}"
    assert link in results
    page = client.get(f"/app/rooms/{room_id}?around={target}").get_data(as_text=True)
    assert f'id="message-{target}"' in page
    assert "filler 119" in page and "later 0" in page and "later 79" not in page
    assert "Jump to the newest messages" in page and "Load older messages" in page


def test_empty_query_shows_the_form(client, people):
    client.login("client@example.test")
    page = client.get("/portal/search").get_data(as_text=True)
    assert 'name="q"' in page and "Nothing found" not in page
    assert "Nothing found" in client.get("/portal/search?q=qqqq").get_data(as_text=True)


def test_search_index_survives_rooms_and_messages_being_deleted(app, people):
    with app.app_context():
        staff = _user(people["staff"])
        room = create_room(staff, "Ephemeral", [])
        post_message(room, staff, "ephemeral words")
        db.session.delete(db.session.get(Room, room.id))
        db.session.commit()
        assert search(staff, "ephemeral") == ([], [])


@pytest.mark.parametrize("shape", ["fetch matches first", "walk newest first"])
def test_both_postgresql_query_shapes_give_the_same_answer(app, people, monkeypatch, shape):
    """PostgreSQL picks a query shape from the planner's estimates; both must agree."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL's query shapes")
    monkeypatch.setattr(search_module, "FETCH_VS_CHECK", 0 if shape.startswith("fetch") else 1e12)
    with app.app_context():
        staff = _user(people["staff"])
        mine = create_room(staff, "Mine", [people["client"].id])
        other = create_room(_user(people["staff_all"]), "Other", [])
        ids = [post_message(mine, staff, f"walrus note {n}").id for n in range(40)]
        post_message(other, _user(people["staff_all"]), "walrus elsewhere")
        post_message(mine, staff, "nothing here")
        found = [h.message_id for h in search(staff, "walrus")[1]]
        assert found == ids[::-1][:LIMIT]
        assert [h.message_id for h in search(_user(people["client"]), "walr note")[1]] == found
        assert len(search(_user(people["staff_all"]), "walrus")[1]) == LIMIT
        assert search(_user(people["outsider"]), "walrus") == ([], [])
