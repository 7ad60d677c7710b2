"""search: accent-insensitive PostgreSQL search (unaccent), as SQLite's FTS5 already is

Revision ID: a5c2e8f1d7b4
Revises: 7d3e1a9c5b20
Create Date: 2026-11-26 14:20:00

PostgreSQL gets a text search configuration `portal_search`: `simple`, with words that
hold non-ASCII letters passed through the `unaccent` dictionary first (when the server
has the extension; it is "trusted", so the database owner may create it). The index's
documents are rebuilt with it, and room titles get an expression index. SQLite is unchanged: its tokenizer folds diacritics.
"""

from alembic import op

revision = "a5c2e8f1d7b4"
down_revision = "7d3e1a9c5b20"
branch_labels = None
depends_on = None

#: Token types of the default parser that may carry accented letters.
ACCENTED = "word, hword, hword_part, numword, numhword, hword_numpart"

DOCUMENT = """
    CREATE OR REPLACE FUNCTION message_search_document(mid integer, body text)
    RETURNS tsvector LANGUAGE sql STABLE AS $$
      -- The text as the parser sees it, plus its plain words (so "q3-report.pdf" is
      -- also "q3", "report", "pdf", as in SQLite's tokenizer).
      SELECT to_tsvector('{config}', doc)
             || to_tsvector('{config}', regexp_replace(doc, '[^[:alnum:]]+', ' ', 'g'))
      FROM (SELECT coalesce(body, '') || ' ' || coalesce(
        (SELECT string_agg(filename, ' ') FROM attachments WHERE message_id = mid), '')
        AS doc) AS d
    $$"""
REBUILD = "UPDATE message_search SET document = message_search_document(message_id, " \
    "(SELECT body FROM messages WHERE id = message_id))"  # fmt: skip


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    available = (
        op.get_bind()
        .exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")
        .scalar()
    )
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS portal_search")
    op.execute("CREATE TEXT SEARCH CONFIGURATION portal_search (COPY = simple)")
    if available:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION portal_search ALTER MAPPING FOR {ACCENTED} "
            "WITH unaccent, simple"
        )
    op.execute(DOCUMENT.format(config="portal_search"))
    op.execute(REBUILD)
    # Room titles were matched by computing every visible title's tsvector per search.
    op.execute(
        "CREATE INDEX ix_rooms_title_search ON rooms "
        "USING gin (to_tsvector('portal_search'::regconfig, title))"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_rooms_title_search")
    op.execute(DOCUMENT.format(config="simple"))
    op.execute(REBUILD)
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS portal_search")
