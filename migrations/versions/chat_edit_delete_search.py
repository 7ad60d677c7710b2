"""chat: edited/deleted messages, edit history, mentions, full-text search

Revision ID: c4a7e1d2f9b3
Revises: e7a1d2c4b9f0
Create Date: 2026-11-26 11:10:00

Search lives outside the models (dialect-specific DDL, see portal/messaging/search.py):
SQLite gets FTS5 tables, PostgreSQL a tsvector table with a GIN index; triggers keep
both in step with messages, attachments and rooms inside the writing transaction.
"""

import sqlalchemy as sa
from alembic import op

revision = "c4a7e1d2f9b3"
down_revision = "e7a1d2c4b9f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_messages_deleted_by_id_users",
            "users",
            ["deleted_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "message_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("previous_body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_revisions") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_revisions_message_id"), ["message_id"], unique=False
        )
    op.create_table(
        "mentions",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "user_id"),
    )
    with op.batch_alter_table("mentions") as batch_op:
        batch_op.create_index(batch_op.f("ix_mentions_user_id"), ["user_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_search()
    else:
        _sqlite_search()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS message_search")
        op.execute("DROP TRIGGER IF EXISTS attachments_search ON attachments")
        op.execute("DROP FUNCTION IF EXISTS attachment_search_sync()")
        op.execute("DROP FUNCTION IF EXISTS message_search_sync()")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS message_search")
        op.execute("DROP TABLE IF EXISTS room_search")
    op.drop_table("mentions")
    op.drop_table("message_revisions")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint("fk_messages_deleted_by_id_users", type_="foreignkey")
        batch_op.drop_column("deleted_by_id")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("edited_at")


SQLITE_FILES = (
    "coalesce((SELECT group_concat(filename, ' ') FROM attachments WHERE message_id = {id}), '')"
)
SQLITE_TRIGGERS = {
    # rowid = messages.id; deleted messages are not indexed at all.
    "message_search_insert": """
        AFTER INSERT ON messages BEGIN
          INSERT INTO message_search(rowid, body, files, room)
            VALUES (new.id, new.body, '', 'r' || new.room_id);
        END""",
    "message_search_update": f"""
        AFTER UPDATE OF body, deleted_at ON messages BEGIN
          DELETE FROM message_search WHERE rowid = old.id;
          INSERT INTO message_search(rowid, body, files, room)
            SELECT new.id, new.body, {SQLITE_FILES.format(id="new.id")}, 'r' || new.room_id
            WHERE new.deleted_at IS NULL;
        END""",
    "message_search_delete": """
        AFTER DELETE ON messages BEGIN
          DELETE FROM message_search WHERE rowid = old.id;
        END""",
    "attachment_search_insert": f"""
        AFTER INSERT ON attachments BEGIN
          UPDATE message_search SET files = {SQLITE_FILES.format(id="new.message_id")}
            WHERE rowid = new.message_id;
        END""",
    "attachment_search_delete": f"""
        AFTER DELETE ON attachments BEGIN
          UPDATE message_search SET files = {SQLITE_FILES.format(id="old.message_id")}
            WHERE rowid = old.message_id;
        END""",
    "room_search_insert": """
        AFTER INSERT ON rooms BEGIN
          INSERT INTO room_search(rowid, title) VALUES (new.id, new.title);
        END""",
    "room_search_update": """
        AFTER UPDATE OF title ON rooms BEGIN
          UPDATE room_search SET title = new.title WHERE rowid = new.id;
        END""",
    "room_search_delete": """
        AFTER DELETE ON rooms BEGIN
          DELETE FROM room_search WHERE rowid = old.id;
        END""",
}


def _sqlite_search():
    tokenizer = "tokenize = 'unicode61 remove_diacritics 2'"
    # `room` holds one token per message ("r<room id>"), so a search limited to a few
    # rooms intersects posting lists instead of scanning every match.
    op.execute(f"CREATE VIRTUAL TABLE message_search USING fts5(body, files, room, {tokenizer})")
    op.execute(f"CREATE VIRTUAL TABLE room_search USING fts5(title, {tokenizer})")
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    files = SQLITE_FILES.format(id="messages.id")
    op.execute(
        "INSERT INTO message_search(rowid, body, files, room) "
        f"SELECT id, body, {files}, 'r' || room_id FROM messages WHERE deleted_at IS NULL"
    )
    op.execute("INSERT INTO room_search(rowid, title) SELECT id, title FROM rooms")


def _postgresql_search():
    op.execute(
        """
        CREATE TABLE message_search (
          message_id integer PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
          room_id integer NOT NULL,
          document tsvector NOT NULL
        )"""
    )
    op.execute("CREATE INDEX ix_message_search_document ON message_search USING gin (document)")
    # For people who see few rooms: walk their rooms' messages newest first instead.
    op.execute("CREATE INDEX ix_message_search_room ON message_search (room_id, message_id)")
    op.execute(
        """
        CREATE OR REPLACE FUNCTION message_search_document(mid integer, body text)
        RETURNS tsvector LANGUAGE sql STABLE AS $$
          -- The text as the parser sees it, plus its plain words (so "q3-report.pdf" is
          -- also "q3", "report", "pdf", as in SQLite's tokenizer).
          SELECT to_tsvector('simple', doc)
                 || to_tsvector('simple', regexp_replace(doc, '[^[:alnum:]]+', ' ', 'g'))
          FROM (SELECT coalesce(body, '') || ' ' || coalesce(
            (SELECT string_agg(filename, ' ') FROM attachments WHERE message_id = mid), '')
            AS doc) AS d
        $$"""
    )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION message_search_sync() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM message_search WHERE message_id = NEW.id;
          IF NEW.deleted_at IS NULL THEN
            INSERT INTO message_search(message_id, room_id, document)
              VALUES (NEW.id, NEW.room_id, message_search_document(NEW.id, NEW.body));
          END IF;
          RETURN NULL;
        END $$"""
    )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION attachment_search_sync() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE mid integer := CASE WHEN TG_OP = 'DELETE' THEN OLD.message_id
                                    ELSE NEW.message_id END;
        BEGIN
          UPDATE message_search
             SET document = message_search_document(mid, (SELECT body FROM messages
                                                          WHERE id = mid))
           WHERE message_id = mid;
          RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER messages_search AFTER INSERT OR UPDATE OF body, deleted_at "
        "ON messages FOR EACH ROW EXECUTE FUNCTION message_search_sync()"
    )
    op.execute(
        "CREATE TRIGGER attachments_search AFTER INSERT OR DELETE ON attachments "
        "FOR EACH ROW EXECUTE FUNCTION attachment_search_sync()"
    )
    op.execute(
        "INSERT INTO message_search(message_id, room_id, document) "
        "SELECT id, room_id, message_search_document(id, body) FROM messages "
        "WHERE deleted_at IS NULL"
    )
