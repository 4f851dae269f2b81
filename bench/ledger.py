"""Ledger benchmark: SALDO's database work and ``wlcc ledger check`` with 100,000 members and
1,000,000 entries.

This process migrates a fresh SQLite database (and, with ``--database-url``, ``DATABASE_URL``
or ``TEST_DATABASE_URL`` naming PostgreSQL, also a schema of its own on that server, dropped
afterwards: ``bench/scratch.py``), then on each:

(a) generates ``--members`` members (100,000) and ``--entries-per-member`` (10) entries each in
    the database itself (``INSERT ... SELECT`` over a generated series: a recursive CTE on
    SQLite, ``generate_series`` on PostgreSQL), spread over ten months as a real ledger is
    (pokok once, wajib six times, sukarela in and out), then fills the cached balances from
    the entries in one ``INSERT ... SELECT ... GROUP BY`` so that they agree by construction;
(b) times, for ``--lookups`` (2,000) random members each, interleaved in one session:
    SALDO's database work (``storage.ledger.balances``), MUTASI's (``last_entries``, 10), and
    the baseline: a single indexed primary-key lookup of the member's row; prints p50 and p95
    of each (target: SALDO p95 <= 20 ms);
(c) times ``storage.ledger.check`` over everything (target <= 30 s) and shows it found the
    ledger consistent.

It asserts nothing. Run: ``python -m bench.ledger`` (``--help``).
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

from bench.scratch import add_database_options, analyze, run_on_each  # noqa: E402

MADE = "2026-01-01 00:00:00"

# One row of the series -> one entry: the n-th entry of a member (s = i / members) is
# 0 pokok, 1-6 wajib, 7-8 sukarela in, 9 sukarela out (less than came in), then again.
_KIND = "CASE WHEN s % 10 = 0 THEN 'pokok' WHEN s % 10 <= 6 THEN 'wajib' ELSE 'sukarela' END"
_ACTION = "CASE WHEN s % 10 = 9 THEN 'withdrawal' ELSE 'deposit' END"
_AMOUNT = (
    "CASE WHEN s % 10 = 0 THEN 100000 WHEN s % 10 <= 6 THEN 50000 "
    "WHEN s % 10 = 7 THEN 10000 + (m % 91) * 1000 WHEN s % 10 = 8 THEN 25000 ELSE -5000 END"
)


def _members_sql(dialect: str, count: int) -> str:
    columns = (
        "community_id, name, name_key, phone, kelurahan, role, status, opted_out, "
        "consent_at, created_at, updated_at"
    )
    kelurahan = "CASE i % 3 WHEN 0 THEN '19 Ilir' WHEN 1 THEN '23 Ilir' ELSE '24 Ilir' END"
    if dialect == "sqlite":
        return (
            f"INSERT INTO member ({columns}) "  # noqa: S608 (numbers and constants only)
            "WITH RECURSIVE n(i) AS "
            f"(SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1}) "
            f"SELECT 1, 'Anggota ' || i, 'anggota ' || i, '+62813' || printf('%08d', i), "
            f"{kelurahan}, 'member', 'active', 0, '{MADE}', '{MADE}', '{MADE}' FROM n"
        )
    return (
        f"INSERT INTO member ({columns}) "  # noqa: S608
        f"SELECT 1, 'Anggota ' || i, 'anggota ' || i, '+62813' || lpad(i::text, 8, '0'), "
        f"{kelurahan}, 'member', 'active', false, '{MADE}', '{MADE}', '{MADE}' "
        f"FROM generate_series(0, {count - 1}) AS i"
    )


def _entries_sql(dialect: str, members: int, first_id: int, total: int) -> str:
    columns = "community_id, member_id, kind, action, amount, occurred_on, channel, created_at"
    if dialect == "sqlite":
        day = "date('2026-01-05', '+' || (s % 10) || ' months')"
        return (
            f"INSERT INTO ledger_entry ({columns}) "  # noqa: S608
            "WITH RECURSIVE n(i) AS "
            f"(SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {total - 1}), "
            f"q(s, m) AS (SELECT i / {members}, {first_id} + i % {members} FROM n) "
            f"SELECT 1, m, {_KIND}, {_ACTION}, {_AMOUNT}, {day}, 'import', {day} || ' 03:00:00' "
            "FROM q"
        )
    day = "(date '2026-01-05' + make_interval(months => (s % 10)::int))"
    return (
        f"INSERT INTO ledger_entry ({columns}) "  # noqa: S608
        f"SELECT 1, m, {_KIND}, {_ACTION}, {_AMOUNT}, {day}::date, 'import', {day} "
        f"FROM (SELECT i / {members} AS s, {first_id} + i % {members} AS m "
        f"FROM generate_series(0, {total - 1}) AS i) AS q"
    )


_CACHE_SQL = (
    "INSERT INTO ledger_balance (member_id, kind, community_id, balance, entries, updated_at) "  # noqa: S608
    f"SELECT member_id, kind, 1, SUM(amount), COUNT(*), '{MADE}' FROM ledger_entry "
    "GROUP BY member_id, kind"
)


def prepare(url: str, members: int, per_member: int) -> tuple[list[int], dict[str, float]]:
    """Migrate, generate, fill the cache; the member ids and the seconds of each step."""
    from sqlalchemy import text

    from storage.db import Database
    from storage.migrate import upgrade

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    upgrade(url)
    db = Database(url)
    try:
        dialect = db.dialect
        with db.transaction() as session:
            step = time.perf_counter()
            session.execute(text(_members_sql(dialect, members)))
            first_id = int(session.execute(text("SELECT MIN(id) FROM member")).scalar_one())
            seconds["members"] = time.perf_counter() - step
            step = time.perf_counter()
            session.execute(text(_entries_sql(dialect, members, first_id, members * per_member)))
            seconds["entries"] = time.perf_counter() - step
            step = time.perf_counter()
            session.execute(text(_CACHE_SQL))
            seconds["cache"] = time.perf_counter() - step
        with db.engine.connect() as conn:  # statistics, as autovacuum would gather them
            analyze(conn, ("member", "ledger_entry", "ledger_balance"))
        with db.engine.connect() as conn:
            ids = [int(r[0]) for r in conn.execute(text("SELECT id FROM member ORDER BY id"))]
        seconds["total"] = time.perf_counter() - started
        return ids, seconds
    finally:
        db.dispose()


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


def lookups(url: str, ids: list[int], count: int, seed: int) -> dict[str, tuple[float, float]]:
    """p50 and p95 (ms) of SALDO, MUTASI and the baseline, interleaved, for random members."""
    from sqlmodel import select

    from storage.db import Database
    from storage.ledger import balances, last_entries
    from storage.models import Member

    chooser = random.Random(seed)
    db = Database(url)
    try:
        with db.transaction() as session:

            def saldo(member_id: int) -> object:
                return balances(session, member_id)

            def mutasi(member_id: int) -> object:
                return last_entries(session, member_id, 10)

            def baseline(member_id: int) -> object:
                return session.exec(select(Member).where(Member.id == member_id)).first()

            work: dict[str, Callable[[int], object]] = {
                "SALDO (balances)": saldo,
                "MUTASI (last 10 entries)": mutasi,
                "baseline (member by primary key)": baseline,
            }
            for member_id in chooser.sample(ids, 200):  # warm-up: connection, statements
                for call in work.values():
                    call(member_id)
            times: dict[str, list[float]] = {name: [] for name in work}
            for member_id in chooser.sample(ids, count):
                for name, call in work.items():
                    started = time.perf_counter()
                    call(member_id)
                    times[name].append(time.perf_counter() - started)
                    session.expunge_all()  # no answer from the identity map
            return {name: _percentiles(samples) for name, samples in times.items()}
    finally:
        db.dispose()


def timed_check(url: str) -> tuple[float, object]:
    from storage.db import Database
    from storage.ledger import check

    db = Database(url)
    try:
        started = time.perf_counter()
        with db.transaction() as session:
            result = check(session)
        return time.perf_counter() - started, result
    finally:
        db.dispose()


def run_on(url: str, args: argparse.Namespace) -> None:
    engine = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    entries = args.members * args.entries_per_member
    print(f"\n=== {engine} ===")
    ids, seconds = prepare(url, args.members, args.entries_per_member)
    print(
        f"(a) {args.members:,} members in {seconds['members']:.1f}s, {entries:,} entries in "
        f"{seconds['entries']:.1f}s, cached balances in {seconds['cache']:.1f}s "
        f"({seconds['total']:.1f}s with the migration and ANALYZE)"
    )
    print(f"(b) {args.lookups:,} random members each, interleaved:")
    found = lookups(url, ids, args.lookups, args.seed)
    for name, (p50, p95) in found.items():
        print(f"    {name:<34} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    saldo_p95 = found["SALDO (balances)"][1]
    base_p95 = found["baseline (member by primary key)"][1]
    print(
        f"    SALDO p95 {saldo_p95:.2f} ms = {saldo_p95 / base_p95:.1f}x the baseline's "
        f"(target <= 20 ms: {'PASS' if saldo_p95 <= 20 else 'FAIL'})"
    )
    seconds_check, result = timed_check(url)
    ok = getattr(result, "ok", False)
    print(
        f"(c) check: {getattr(result, 'entries', 0):,} entries, "
        f"{getattr(result, 'balances', 0):,} cached balances in {seconds_check:.2f}s, "
        f"{'consistent' if ok else 'NOT consistent'} "
        f"(target <= 30 s: {'PASS' if seconds_check <= 30 else 'FAIL'})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--entries-per-member", type=int, default=10)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=11)
    add_database_options(parser)
    args = parser.parse_args(argv)
    run_on_each(args, run_on)
    return 0


if __name__ == "__main__":
    sys.exit(main())
