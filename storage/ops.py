"""Small database operations shared by the domain modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def _insert_ignoring_conflicts(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database {dialect}")  # pragma: no cover


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING; the new row's id, or None when it already existed."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    stmt = _insert_ignoring_conflicts(session, table).values(**values)
    # Core on the session's connection: the ORM's bulk-insert machinery costs more than the insert.
    row = session.connection().execute(stmt.returning(table.c.id)).first()
    return None if row is None else int(row[0])


def insert_ignore_many(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[dict[str, Any]],
    key: tuple[str, ...],
) -> list[int | None]:
    """Many rows in one INSERT ... ON CONFLICT DO NOTHING; for each row, its new id or None.

    ``key`` names the unique columns that tell rows apart. A row that repeats an existing key,
    or one earlier in ``rows``, gets None, as :func:`insert_ignore` would give it.
    """
    if not rows:
        return []
    table: Table = model.__table__  # type: ignore[attr-defined]
    stmt = _insert_ignoring_conflicts(session, table).returning(
        table.c.id, *(table.c[name] for name in key)
    )
    # One statement for the lot (SQLAlchemy's "insertmanyvalues"), compiled once and cached.
    result = session.connection().execute(stmt, list(rows))
    new_ids = {tuple(found[1:]): int(found[0]) for found in result}
    return [new_ids.pop(tuple(row[name] for name in key), None) for row in rows]
