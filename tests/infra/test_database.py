"""Database setup: SQLite pragmas and migrations that match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from portal.extensions import db
from portal.messaging.search import include_object


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_postgresql_connections_run_without_jit(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        with db.engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar() == "off"
            conn.rollback()  # a rolled-back transaction must not bring JIT back
            assert conn.execute(text("SHOW jit")).scalar() == "off"


def test_migrations_match_the_models(app):
    """The schema built by the migrations is what the models describe (no missing migration)."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, db.Model.metadata)
    assert diff == []
