"""Participants: full history for the added, access ends at once for the removed."""


def test_added_participant_sees_full_history_and_removed_one_loses_access_at_once(
    client, app, people, room
):
    client.login("staff@example.test")
    client.form_post(
        f"/app/rooms/{room}/participants",
        {"participant_ids": [people["client"].id, people["admin"].id, people["outsider"].id]},
    )
    other = app.test_client()
    other.login("outsider@example.test")
    assert "Hello from the client" in other.get(f"/portal/rooms/{room}").get_data(as_text=True)
    client.form_post(f"/app/rooms/{room}/participants", {"participant_ids": [people["client"].id]})
    assert other.get(f"/portal/rooms/{room}").status_code == 404
    assert (
        other.form_post(f"/portal/rooms/{room}/messages", {"body": "still here?"}).status_code
        == 404
    )
    assert "Website redesign" not in other.get("/portal/rooms").get_data(as_text=True)


def test_edit_participants_page_lists_everyone_grouped(client, app, people, room):
    client.login("staff@example.test")
    page = client.get(f"/app/rooms/{room}/participants").get_data(as_text=True)
    assert "Edit Participants" in page
    for person in ("Admin", "Staff_All", "Client", "Outsider", "Invited"):
        assert person in page
    assert "Deactivated" not in page
