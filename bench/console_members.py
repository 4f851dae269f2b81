"""The console's member list with 100,000 members: ``GET /console/members`` and its searches.

This process migrates a fresh SQLite database (and, with ``--database-url``, ``DATABASE_URL``
or ``TEST_DATABASE_URL`` naming PostgreSQL, a schema of its own there: ``bench/scratch.py``),
generates ``--members`` members (100,000; ``INSERT ... SELECT`` over a generated series: a
family phone in every ten, one in fifty pending, three kelurahan, half linked on Telegram),
logs a coordinator in (a session row and its cookie), then times ``--requests`` (200) rounds,
interleaved, of the list through the real app in process (``create_app`` with Starlette's test
client): the first page, the last page (the deepest ``OFFSET``), a name search, a phone search
(E.164 equality), a partial phone (last digits), the pending filter, a kelurahan filter, and
one member's page; and prints p50 and p95 of each (target: p95 <= 200 ms). It asserts
nothing. Run: ``python -m bench.console_members`` (``--help``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import add_database_options, run_on_each  # noqa: E402

_COLUMNS = (
    "community_id, name, name_key, phone, kelurahan, role, status, opted_out, created_at, "
    "updated_at"
)


def _members_sql(dialect: str, count: int) -> str:
    # The phone: 0812 + 8 digits; every tenth member shares the previous one's (a family).
    if dialect == "sqlite":
        limit = f"i < {count}"  # numbers and constants only
        series = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE {limit}) "  # noqa: S608
        number = "printf('%08d', CASE WHEN i % 10 = 0 THEN i - 1 ELSE i END)"
        tail = " FROM n"
        now = "datetime('now')"
        false = "0"
    else:
        series = ""
        number = "lpad((CASE WHEN i % 10 = 0 THEN i - 1 ELSE i END)::text, 8, '0')"
        tail = f" FROM generate_series(1::bigint, {count}) AS i"
        now = "now()"
        false = "false"
    name = "'Anggota ' || i || ' Binti ' || (i % 977)"
    return (
        f"INSERT INTO member ({_COLUMNS}) {series}"
        f"SELECT 1, {name}, lower({name}), '+62812' || {number}, "
        "CASE i % 3 WHEN 0 THEN '19 Ilir' WHEN 1 THEN '23 Ilir' ELSE '24 Ilir' END, "
        "CASE WHEN i = 1 THEN 'coordinator' ELSE 'member' END, "
        "CASE WHEN i % 50 = 0 THEN 'pending' ELSE 'active' END, "
        f"{false}, {now}, {now}{tail}"
    )


_IDENTITIES_SQL = (
    "INSERT INTO identity (community_id, channel, address, phone, first_seen_at, opted_out, "
    "unreachable) SELECT 1, 'telegram', 'tg' || id, phone, created_at, {false}, {false} "
    "FROM member WHERE id % 2 = 0 AND id % 10 <> 0"
)


def prepare(url: str, count: int) -> tuple[str, float]:
    """Migrate, generate, ANALYZE, open a coordinator's session; its cookie and the seconds."""
    from sqlalchemy import text

    from storage.console import open_session
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.models import Member
    from wlcc.formatting import utcnow

    started = time.perf_counter()
    upgrade(url)
    db = Database(url)
    try:
        with db.transaction() as session:
            session.execute(text(_members_sql(db.dialect, count)))
            false = "0" if db.dialect == "sqlite" else "false"
            session.execute(text(_IDENTITIES_SQL.format(false=false)))
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        with db.transaction() as session:
            coordinator = session.get(Member, 1)
            assert coordinator is not None
            token = open_session(session, coordinator, "password", utcnow())
        return token, time.perf_counter() - started
    finally:
        db.dispose()


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


def served(
    url: str, token: str, count: int, rounds: int, seed: int
) -> dict[str, tuple[float, float]]:
    from starlette.testclient import TestClient

    from app import create_app
    from storage.member_search import PAGE_SIZE, pages_for
    from wlcc.settings import load_settings

    settings = load_settings(
        _env_file=None, database_url=url, wlcc_scheduler_enabled=False, wlcc_sender_enabled=False
    )
    chooser = random.Random(seed)
    last = pages_for(count)
    assert PAGE_SIZE == 50
    work: dict[str, Callable[[], str]] = {
        "first page": lambda: "/console/members",
        f"last page ({last})": lambda: f"/console/members?page={last}",
        "name search": lambda: f"/console/members?q=binti+{chooser.randint(0, 976)}",
        "phone search (E.164)": lambda: f"/console/members?q=0812{chooser.randint(1, count):08d}",
        "partial phone (last digits)": lambda: f"/console/members?q={chooser.randint(0, 9999):04d}",
        "pending filter": lambda: "/console/members?status=pending",
        "kelurahan filter, page 100": lambda: "/console/members?kelurahan=23+Ilir&page=100",
        "one member's page": lambda: f"/console/members/{chooser.randint(1, count)}",
    }
    times: dict[str, list[float]] = {name: [] for name in work}
    with TestClient(
        create_app(settings, scheduler=False, sender=False), cookies={"wlcc_console": token}
    ) as client:
        for round_ in range(rounds + 10):  # the first ten warm up
            for name, path in work.items():
                target = path()
                started = time.perf_counter()
                response = client.get(target, follow_redirects=False)
                took = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{target}: {response.status_code} {response.text[:200]}")
                if round_ >= 10:
                    times[name].append(took)
    return {name: _percentiles(samples) for name, samples in times.items()}


def run_on(url: str, args: argparse.Namespace) -> None:
    engine = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"\n=== {engine} ===")
    token, seconds = prepare(url, args.members)
    print(f"{args.members:,} members generated in {seconds:.1f}s; {args.requests} rounds:")
    for name, (p50, p95) in served(url, token, args.members, args.requests, args.seed).items():
        verdict = "PASS" if p95 <= 200 else "FAIL"
        print(f"    {name:<32} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    add_database_options(parser)
    run_on_each(parser.parse_args(), run_on)


if __name__ == "__main__":
    main()
