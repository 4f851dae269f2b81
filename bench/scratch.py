"""A database of the benchmarks' own, so runs never meet each other's rows or a real database's.

SQLite: a file in the run's temporary directory. PostgreSQL: a new schema in the given database,
reached through ``search_path`` and dropped afterwards; the database's other schemas are left
alone, so pointing a benchmark at a shared server is safe.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine, text

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


def analyze(conn: Connection, tables: tuple[str, ...]) -> None:
    """Gather the statistics of the benchmark's own tables, as autovacuum would. On PostgreSQL
    only those (a bare ANALYZE visits every schema's tables, and can deadlock with a test run's
    TRUNCATE on the same server); SQLite takes one table at a time, and its file is the
    benchmark's own, so all of it."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("ANALYZE"))
    else:
        conn.execute(text(f"ANALYZE {', '.join(tables)}"))
    conn.commit()


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """``--database-url`` (a PostgreSQL server to run on too; default DATABASE_URL or
    TEST_DATABASE_URL when PostgreSQL) and ``--no-sqlite``."""
    default_pg = next(
        (
            url
            for url in (os.environ.get("DATABASE_URL"), os.environ.get("TEST_DATABASE_URL"))
            if url and url.startswith("postgres")
        ),
        None,
    )
    parser.add_argument(
        "--database-url",
        default=default_pg,
        help="a PostgreSQL server to run on too, in a schema of its own (default: "
        "DATABASE_URL or TEST_DATABASE_URL when PostgreSQL)",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")


def run_on_each(args: argparse.Namespace, run: Callable[[str, argparse.Namespace], None]) -> None:
    """``run`` on a scratch SQLite database (unless ``--no-sqlite``), then on a scratch schema
    of ``--database-url`` when given."""
    workdir = tempfile.mkdtemp(prefix="wlcc-bench-")
    try:
        if not args.no_sqlite:
            with scratch_database(None, Path(workdir)) as url:
                run(url, args)
        if args.database_url:
            with scratch_database(args.database_url, Path(workdir)) as url:
                run(url, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
