"""Settings → Activity: newest first, filters, keyset paging, the CSV export."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.infra import audit
from portal.models import AuditEvent, User
from portal.people.activity import Filters, activity_page, neutralise

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
HOSTILE = '=HYPERLINK("http://evil.test","click")'


@pytest.fixture
def trail(app, people):
    """60 rows a minute apart (T0 onwards); every 10th is about the client in room 7."""
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        for n in range(60):
            about_client = n % 10 == 0
            audit.record(
                admin if n % 2 else audit.SYSTEM,
                "room.renamed" if about_client else "settings.changed",
                user=people["client"].id if about_client else None,
                room=7 if about_client else None,
                summary=f"row {n}",
                now=T0 + timedelta(minutes=n),
                ip="192.0.2.1",
            )
        db.session.commit()


def summaries(rows):
    return [r.summary for r in rows]


def test_newest_first_and_keyset_pages_cover_every_row_once(app_ctx, trail):
    seen, after = [], None
    while True:
        rows, after = activity_page(Filters(), after=after, limit=25)
        seen += summaries(rows)
        if after is None:
            break
    assert seen == [f"row {n}" for n in reversed(range(60))]


def test_rows_with_the_same_time_page_by_id(app_ctx, people):
    for n in range(5):
        audit.record(audit.SYSTEM, "settings.changed", summary=f"same {n}", now=T0)
    db.session.commit()
    first, after = activity_page(Filters(), limit=3)
    second, last = activity_page(Filters(), after=after, limit=3)
    assert summaries(first + second) == [f"same {n}" for n in reversed(range(5))]
    assert last is None


def test_filters(app_ctx, trail, people):
    def shown(**filters):
        return summaries(activity_page(Filters(**filters), limit=100)[0])

    about_client = [f"row {n}" for n in (50, 40, 30, 20, 10, 0)]
    assert shown(person=people["client"].id) == about_client
    assert shown(room=7) == about_client
    assert shown(kind="room.renamed") == about_client
    by_admin = shown(person=people["admin"].id)
    assert by_admin == [f"row {n}" for n in reversed(range(1, 60, 2))]
    day = T0.date()
    assert len(shown(since=day, until=day)) == 60
    assert shown(since=day + timedelta(days=1)) == []
    assert shown(until=day - timedelta(days=1)) == []


def test_a_person_who_acted_on_themselves_is_listed_once(app_ctx, people):
    staff = db.session.get(User, people["staff"].id)
    audit.record(staff, "password.changed", user=staff, summary="changed")
    db.session.commit()
    assert summaries(activity_page(Filters(person=staff.id))[0]) == ["changed"]


def test_page_shows_rows_filters_and_older_link(client, trail, people):
    client.login("admin@example.test")
    page = client.get("/settings/activity").get_data(as_text=True)
    assert "row 59" in page and "row 9" not in page
    assert "Older" in page and "192.0.2.1" in page
    older = client.get("/settings/activity?page=999999999&kind=nonsense&since=bad")
    assert older.status_code == 200
    filtered = client.get(f"/settings/activity?person={people['client'].id}&room=7")
    text = filtered.get_data(as_text=True)
    assert "row 50" in text and "row 51" not in text


def test_hostile_names_are_escaped_in_the_page_and_neutralised_in_the_csv(client, app, people):
    with app.app_context():
        evil = User(email="evil@example.test", name=HOSTILE + "<script>x</script>", kind="client")
        db.session.add(evil)
        db.session.flush()
        audit.record(evil, "password.changed", user=evil, summary="-2+3 @SUM(A1)")
        audit.record(audit.SYSTEM, "settings.changed", summary="+cmd|' /C calc'!A0")
        db.session.commit()
    client.login("admin@example.test")
    page = client.get("/settings/activity").get_data(as_text=True)
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page

    response = client.get("/settings/activity.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.is_streamed
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "When (UTC)"
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + HOSTILE + "<script>x</script>" in cells
    assert "'-2+3 @SUM(A1)" in cells and "'+cmd|' /C calc'!A0" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_csv_follows_the_filters_and_records_the_export(client, app, trail, people):
    client.login("admin@example.test")
    text = client.get("/settings/activity.csv?kind=room.renamed").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    assert [r[3] for r in rows] == [f"row {n}" for n in (50, 40, 30, 20, 10, 0)]
    with app.app_context():
        [export] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.made")
        ).all()
        assert export.actor_id == people["admin"].id and "kind=room.renamed" in export.summary


def test_csv_pages_through_more_rows_than_one_batch(client, app, people, monkeypatch):
    monkeypatch.setattr("portal.people.activity.CSV_BATCH", 7)
    with app.app_context():
        for n in range(20):
            audit.record(audit.SYSTEM, "settings.changed", summary=f"n{n}", now=T0)
        db.session.commit()
    client.login("admin@example.test")
    text = client.get("/settings/activity.csv?kind=settings.changed").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    assert [r[3] for r in rows] == [f"n{n}" for n in reversed(range(20))]


@pytest.mark.parametrize(
    "value,cell", [("=1+1", "'=1+1"), ("plain", "plain"), (None, ""), (5, "5"), ("@x", "'@x")]
)
def test_neutralise(value, cell):
    assert neutralise(value) == cell
