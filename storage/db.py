"""Engines, transactions and per-speaker serialisation for SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)
T = TypeVar("T")
BRIEF_RETRIES = (0.05, 0.5)  # seconds between the tries of retry_briefly


def retry_briefly(work: Callable[[], T], what: str, pauses: Sequence[float] = BRIEF_RETRIES) -> T:
    """Run ``work`` (a transaction), again after each pause while it fails: a deadlock between
    two writers on PostgreSQL or a moment's lock passes. The last failure is raised."""
    for pause in pauses:
        try:
            return work()
        except Exception as exc:
            log.warning("%s failed (%s); trying again", what, type(exc).__name__)
            time.sleep(pause)
    return work()


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator wrote."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def redact_url(url: str) -> str:
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


def lock_id(key: str) -> int:
    """A stable signed 64-bit number for a speaker key (PostgreSQL advisory locks)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class Database:
    """One engine plus the rules for writing safely to it.

    SQLite allows one writer: every transaction starts with ``BEGIN IMMEDIATE`` (so two processes
    queue on the database lock instead of failing on upgrade) and threads of this process queue
    on a lock first. PostgreSQL transactions that touch a speaker take a transaction-scoped
    advisory lock on that speaker, so two app processes never interleave one person's messages.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._write_lock = threading.RLock()
        if self.is_sqlite:
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                self.url,
                echo=echo,
                connect_args={"check_same_thread": False, "timeout": 30},
                poolclass=NullPool if database in ("", ":memory:") else None,
            )
            _install_sqlite_hooks(self.engine)
        else:
            self.engine = create_engine(
                self.url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True
            )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, lock_key: str | None = None) -> Iterator[Session]:
        """A session in one committed-or-rolled-back transaction.

        ``lock_key`` serialises everything done under the same key across threads and processes.
        """
        if self.is_sqlite:
            with (
                self._write_lock,
                Session(self.engine, expire_on_commit=False) as session,
                session.begin(),
            ):
                yield session
            return
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            if lock_key is not None:
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id(lock_key)})
            yield session

    def lock(self, session: Session, key: str) -> None:
        """Take a further speaker lock inside an open transaction (no-op on SQLite)."""
        if not self.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id(key)})

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def _switch_to_wal(cursor: Any, patience: float = 10.0) -> None:
    """WAL lets readers and the writer work at once. SQLite's busy timeout does not cover the
    switch itself, so a connection opening alongside another retries for a while."""
    deadline = time.monotonic() + patience
    delay = 0.005
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        # Switching to WAL needs a moment of exclusive access, which another process's open
        # connection refuses at once ("database is locked"); the mode persists, so switch once.
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
