"""Meeting notice benchmark: the announcement of one meeting to 10,000 members.

This process creates ``--members`` members (default 10,000; one plain bulk insert) and one
meeting in a fresh SQLite database (or, with ``--database-url`` or ``DATABASE_URL``, a schema
of its own on that PostgreSQL server, dropped afterwards: ``bench/scratch.py``), then:

(a) times ``storage.meetings_notices.plan_all`` at the moment the announcement falls due, in
    one transaction with its commit (target <= 5 s), checks that it wrote exactly one
    announcement per member (and the meeting's three role requests, which the same planning
    makes), and runs it a second time to show that it adds 0;
(b) times the baseline: the plain bulk INSERT of the same rows (the same columns and values,
    prepared as dicts beforehand, one executemany) into the emptied outbox, with its commit;

and prints both figures, the rows per second of each and the ratio (target >= 50% of the
baseline). It asserts nothing. Run: ``python -m bench.meetings`` (``--help``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402

# A Saturday meeting at 09.00 WIB; the announcement is due 7 days before, at 09.00 (02 UTC).
START = datetime(2030, 3, 16, 2, 0, tzinfo=UTC)
DUE = START - timedelta(days=7)
MADE = DUE - timedelta(days=30)


def prepare(url: str, members: int) -> int:
    """Migrate, then the members (one executemany) and the meeting; returns its id."""
    from sqlalchemy import insert

    from storage.db import Database
    from storage.meetings import create_meeting
    from storage.migrate import upgrade
    from storage.models import Member, MemberStatus

    upgrade(url)
    db = Database(url)
    rows = [
        {
            "community_id": 1,
            "name": f"Anggota {i}",
            "name_key": f"anggota {i}",
            "phone": f"+62813{i:08d}",
            "kelurahan": ("19 Ilir", "23 Ilir", "24 Ilir")[i % 3],
            "role": "member",
            "language": "en" if i % 10 == 0 else None,
            "status": MemberStatus.ACTIVE,
            "opted_out": False,
            "consent_at": MADE,
            "created_at": MADE,
            "updated_at": MADE,
        }
        for i in range(members)
    ]
    try:
        with db.transaction() as session:
            session.execute(insert(Member), rows)
            meeting = create_meeting(
                session,
                community_id=1,
                title="Pertemuan bulanan: sanitasi lingkungan",
                starts_at=START,
                ends_at=START + timedelta(hours=3),
                place="Balai RW 05, Kelurahan 23 Ilir",
                now=MADE,
            )
            assert meeting.id is not None
            return meeting.id
    finally:
        db.dispose()


def plan(url: str, settings: Any) -> tuple[float, int]:
    """plan_all at the announcement's moment: (seconds with the commit, announcements)."""
    from storage.db import Database
    from storage.meetings_notices import plan_all

    db = Database(url)
    try:
        started = time.perf_counter()
        with db.transaction() as session:
            counts = plan_all(session, now=DUE, settings=settings)
        return time.perf_counter() - started, counts["announcement"]
    finally:
        db.dispose()


def outbox_rows(url: str) -> list[dict[str, Any]]:
    """The rows plan_all wrote, as the dicts of a plain insert (every column but the id)."""
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import OutboxMessage

    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    columns = [c for c in table.c if c.name != "id"]
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(*columns))]
    finally:
        db.dispose()


def count_outbox(url: str) -> tuple[int, int, int]:
    """(rows, distinct keys, announcements) in the outbox."""
    from sqlalchemy import func, select
    from sqlmodel import col

    from storage.db import Database
    from storage.models import OutboxMessage

    db = Database(url)
    try:
        with db.engine.connect() as conn:
            rows, keys = conn.execute(
                select(func.count(), func.count(func.distinct(OutboxMessage.key)))
            ).one()
            announcements = conn.execute(
                select(func.count()).where(col(OutboxMessage.key).like("%:announcement:%"))
            ).scalar_one()
            return int(rows), int(keys), int(announcements)
    finally:
        db.dispose()


def baseline(url: str, rows: list[dict[str, Any]]) -> float:
    """Empty the outbox, then one plain executemany INSERT of ``rows`` with its commit."""
    from sqlalchemy import delete, insert

    from storage.db import Database
    from storage.models import OutboxMessage

    db = Database(url)
    try:
        with db.transaction() as session:
            session.execute(delete(OutboxMessage))
        started = time.perf_counter()
        with db.transaction() as session:
            session.execute(insert(OutboxMessage), rows)
        return time.perf_counter() - started
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a PostgreSQL server to run on, in a schema of its own (default: DATABASE_URL, "
        "else SQLite in a temporary directory)",
    )
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="wlcc-bench-")
    try:
        with scratch_database(args.database_url, Path(workdir)) as url:
            return run(args, url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, url: str) -> int:
    from wlcc.settings import load_settings

    settings = load_settings(_env_file=None, database_url=url)
    started = time.perf_counter()
    meeting_id = prepare(url, args.members)
    engine = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(
        f"{args.members} members and meeting #{meeting_id} ready in "
        f"{time.perf_counter() - started:.1f}s ({engine})"
    )

    seconds, planned = plan(url, settings)
    rows, keys, announced = count_outbox(url)
    print(
        f"\n(a) plan_all, the announcement: {rows} rows planned in {seconds:.2f}s = "
        f"{rows / seconds:,.0f} rows/s (target <= 5 s: {'PASS' if seconds <= 5 else 'FAIL'})"
    )
    print(
        f"    outbox: {announced} announcements (plan_all counted {planned}), one per member: "
        f"{'OK' if announced == planned == args.members else 'MISMATCH'}; "
        f"{rows - announced} other rows (the role requests); {keys} distinct keys: "
        f"{'OK' if keys == rows else 'MISMATCH'}"
    )
    again, more = plan(url, settings)
    print(f"    plan_all again: {more} more in {again:.2f}s (should be 0)")

    prepared = outbox_rows(url)
    plain = baseline(url, prepared)
    print(
        f"\n(b) baseline, plain bulk INSERT of the same {len(prepared)} rows: {plain:.2f}s = "
        f"{len(prepared) / plain:,.0f} rows/s"
    )
    ratio = (rows / seconds) / (len(prepared) / plain) if rows else 0.0
    print(
        f"\nplan_all / baseline rows per second: {ratio:.2f} "
        f"(target >= 0.50: {'PASS' if ratio >= 0.5 else 'FAIL'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
