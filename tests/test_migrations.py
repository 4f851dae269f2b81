"""The Alembic migrations build exactly the tables the SQLModel classes describe, and undo."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import storage.complaints  # registers the tables (with the next lines)
import storage.console
import storage.help_requests
import storage.ledger
import storage.loans
import storage.meetings
import storage.models  # noqa: F401
from storage.db import normalize_url
from storage.migrate import alembic_config, upgrade


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models and migrations disagree; write a migration"


def test_migrations_downgrade_and_upgrade_again(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    try:
        assert "inbound_message" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
