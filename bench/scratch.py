"""A database of the benchmarks' own, so runs never meet each other's rows or a real database's.

SQLite: a file in the run's temporary directory. PostgreSQL: a new schema in the given database,
reached through ``search_path`` and dropped afterwards; the database's other schemas are left
alone, so pointing a benchmark at a shared server is safe.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from storage.db import normalize_url


@contextmanager
def scratch_database(url: str | None, workdir: Path, *, keep: bool = False) -> Iterator[str]:
    """The URL to run on: ``url``'s server in a fresh schema, or SQLite in ``workdir``."""
    if url is None or url.startswith("sqlite"):
        yield url or f"sqlite:///{workdir / 'bench.db'}"
        return
    schema = f"wlcc_bench_{os.getpid()}"
    admin = create_engine(normalize_url(url))
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in url else "?"
        yield f"{normalize_url(url)}{separator}options=-csearch_path%3D{schema}"
    finally:
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
