"""Complaints benchmark: the nearby-duplicate check at intake and ``GET
/open311/v2/requests.json`` with 100,000 tickets.

This process migrates a fresh SQLite database (and, with ``--database-url``, ``DATABASE_URL``
or ``TEST_DATABASE_URL`` naming PostgreSQL, also a schema of its own on that server, dropped
afterwards: ``bench/scratch.py``), then on each:

(a) generates ``--tickets`` tickets (100,000) in the database itself (``INSERT ... SELECT``
    over a generated series: a recursive CTE on SQLite, ``generate_series`` on PostgreSQL):
    the five categories, pins spread over Palembang (one in five typed addresses with RT/RW
    instead), received over the last two years, a third still open, each with its first
    event in the history, then ``ANALYZE``;
(b) times, interleaved in one session, ``--lookups`` (2,000) rounds of: the nearby-duplicate
    check of the LAPOR dialog (``storage.complaints.find_nearby``, a random category at a
    random pin in the city), the same by RT/RW and kelurahan (a report without a pin), and the
    baseline, a plain primary-key lookup of a random ticket (``session.get``);
(c) times ``--requests`` (500) rounds of ``GET /open311/v2/requests.json`` (the default page:
    the last 90 days, newest first, ``WLCC_OPEN311_PAGE_SIZE`` 100) through the real app in
    process (``create_app`` with Starlette's test client: routing, the query, the status
    notes, JSON), ``GET /open311/v2/requests/{id}.json`` of a random ticket (the same stack
    around a primary-key lookup), and the plain primary-key lookup in a transaction of its
    own, as each request has one;

and prints p50 and p95 of each (target: p95 <= 50 ms for the nearby check and for the default
page). It asserts nothing. Run: ``python -m bench.complaints`` (``--help``).
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

CATEGORIES = ("leak", "excavation", "dirty", "smell", "other")
KELURAHAN = ("19 Ilir", "23 Ilir", "24 Ilir")
# Palembang's box (storage.complaints.PALEMBANG_BOX): south, west, and the spans.
SOUTH, WEST, SPAN_LAT, SPAN_LON = -3.10, 104.60, 0.25, 0.30

_COLUMNS = (
    "community_id, code, category, description, latitude, longitude, address, rt_rw, "
    "kelurahan, outside_palembang, contact_ok, status, public_description, reporter_count, "
    "created_at, updated_at"
)
# One row of the series -> one ticket (i from 0). Pins from two co-prime strides (a lattice
# that fills the box), every fifth ticket without one (an address with RT/RW); one in three
# still open (received, verified, forwarded, in progress), the rest closed.
_CATEGORY = (
    "CASE i % 5 WHEN 0 THEN 'leak' WHEN 1 THEN 'excavation' WHEN 2 THEN 'dirty' "
    "WHEN 3 THEN 'smell' ELSE 'other' END"
)
_STATUS = (
    "CASE i % 12 WHEN 0 THEN 'received' WHEN 1 THEN 'verified' WHEN 2 THEN 'forwarded' "
    "WHEN 3 THEN 'in_progress' WHEN 4 THEN 'rejected' WHEN 5 THEN 'duplicate' "
    "ELSE 'resolved' END"
)
_KELURAHAN = "CASE i % 3 WHEN 0 THEN '19 Ilir' WHEN 1 THEN '23 Ilir' ELSE '24 Ilir' END"
_LAT = f"CASE WHEN i % 5 = 4 THEN NULL ELSE {SOUTH} + ((i * 7919) % 25000) / 100000.0 END"
_LON = f"CASE WHEN i % 5 = 4 THEN NULL ELSE {WEST} + ((i * 104729) % 30000) / 100000.0 END"


def _tickets_sql(dialect: str, count: int) -> str:
    if dialect == "sqlite":
        rt_rw = "printf('%03d/%03d', 1 + i % 20, 1 + (i / 20) % 10)"
        code = "'BX-' || printf('%07d', i)"
        made = "datetime('now', '-' || ((i * 631) % 63072000) || ' seconds')"
        return (
            f"INSERT INTO complaint ({_COLUMNS}) "  # noqa: S608 (numbers and constants only)
            "WITH RECURSIVE n(i) AS "
            f"(SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1}) "
            f"SELECT 1, {code}, {_CATEGORY}, 'Laporan ' || i, {_LAT}, {_LON}, "
            f"CASE WHEN i % 5 = 4 THEN 'Jl. Contoh ' || i ELSE NULL END, {rt_rw}, "
            f"{_KELURAHAN}, 0, 0, {_STATUS}, i % 7 = 0, 1 + i % 3, {made}, {made} FROM n"
        )
    rt_rw = "lpad((1 + i % 20)::text, 3, '0') || '/' || lpad((1 + (i / 20) % 10)::text, 3, '0')"
    made = "now() - make_interval(secs => (i * 631) % 63072000)"
    return (
        f"INSERT INTO complaint ({_COLUMNS}) "  # noqa: S608
        f"SELECT 1, 'BX-' || lpad(i::text, 7, '0'), {_CATEGORY}, 'Laporan ' || i, {_LAT}, "
        f"{_LON}, CASE WHEN i % 5 = 4 THEN 'Jl. Contoh ' || i ELSE NULL END, {rt_rw}, "
        f"{_KELURAHAN}, false, false, {_STATUS}, i % 7 = 0, 1 + i % 3, {made}, {made} "
        f"FROM generate_series(0::bigint, {count - 1}) AS i"
    )


_EVENTS_SQL = (
    "INSERT INTO complaint_event (complaint_id, from_status, to_status, note, internal, "
    "actor_label, created_at) SELECT id, NULL, status, 'Catatan ' || id, {false}, 'bench', "
    "created_at FROM complaint"
)


def prepare(url: str, count: int) -> tuple[list[int], float]:
    """Migrate, generate, ANALYZE; the ticket ids and the seconds it took."""
    from sqlalchemy import text

    from storage.db import Database
    from storage.migrate import upgrade

    started = time.perf_counter()
    upgrade(url)
    db = Database(url)
    try:
        with db.transaction() as session:
            session.execute(text(_tickets_sql(db.dialect, count)))
            false = "0" if db.dialect == "sqlite" else "false"
            session.execute(text(_EVENTS_SQL.format(false=false)))
        with db.engine.connect() as conn:
            analyze(conn, ("complaint", "complaint_event"))
        with db.engine.connect() as conn:
            ids = [int(r[0]) for r in conn.execute(text("SELECT id FROM complaint"))]
        return ids, time.perf_counter() - started
    finally:
        db.dispose()


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


def _timed(
    work: dict[str, Callable[[], object]], rounds: int, after: Callable[[], None]
) -> dict[str, tuple[float, float]]:
    for _ in range(min(100, rounds)):  # warm-up: connections, statements, pages
        for call in work.values():
            call()
            after()
    times: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(rounds):
        for name, call in work.items():
            started = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - started)
            after()
    return {name: _percentiles(samples) for name, samples in times.items()}


def nearby(url: str, ids: list[int], rounds: int, seed: int) -> dict[str, tuple[float, float]]:
    from storage.complaints import Complaint, find_nearby
    from storage.db import Database

    chooser = random.Random(seed)
    db = Database(url)
    found: list[int] = []
    try:
        with db.transaction() as session:

            def by_pin() -> object:
                hits = find_nearby(
                    session,
                    community_id=1,
                    category=chooser.choice(CATEGORIES),
                    latitude=SOUTH + chooser.random() * SPAN_LAT,
                    longitude=WEST + chooser.random() * SPAN_LON,
                )
                found.append(len(hits))
                return hits

            def by_rt_rw() -> object:
                return find_nearby(
                    session,
                    community_id=1,
                    category=chooser.choice(CATEGORIES),
                    rt_rw=f"{chooser.randint(1, 20)}/{chooser.randint(1, 10)}",
                    kelurahan=chooser.choice(KELURAHAN),
                )

            def baseline() -> object:
                return session.get(Complaint, chooser.choice(ids))

            result = _timed(
                {
                    "nearby check, a pin (find_nearby)": by_pin,
                    "nearby check, RT/RW and kelurahan": by_rt_rw,
                    "baseline (ticket by primary key)": baseline,
                },
                rounds,
                session.expunge_all,  # no answer from the identity map
            )
    finally:
        db.dispose()
    hits = sum(1 for n in found if n)
    print(f"    (a pin had an open ticket of its category within 100 m: {hits} of {len(found)})")
    return result


def open311(url: str, ids: list[int], rounds: int, seed: int) -> dict[str, tuple[float, float]]:
    from starlette.testclient import TestClient

    from app import create_app
    from storage.complaints import Complaint
    from storage.db import Database
    from wlcc.settings import load_settings

    settings = load_settings(
        _env_file=None, database_url=url, wlcc_scheduler_enabled=False, wlcc_sender_enabled=False
    )
    chooser = random.Random(seed)
    sizes: list[int] = []
    db = Database(url)
    try:
        with TestClient(create_app(settings, scheduler=False, sender=False)) as client:

            def page() -> object:
                response = client.get("/open311/v2/requests.json")
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
                sizes.append(len(response.json()))
                return response

            def one() -> object:
                response = client.get(f"/open311/v2/requests/{chooser.choice(ids)}.json")
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
                return response

            def baseline() -> object:
                # In its own transaction, as each request has (SQLite allows one at a time).
                with db.transaction() as session:
                    return session.get(Complaint, chooser.choice(ids))

            result = _timed(
                {
                    "GET /open311/v2/requests.json": page,
                    "GET /open311/v2/requests/{id}.json": one,
                    "baseline (by primary key, own transaction)": baseline,
                },
                rounds,
                lambda: None,
            )
    finally:
        db.dispose()
    print(f"    (each page held {min(sizes)} to {max(sizes)} tickets)")
    return result


def run_on(url: str, args: argparse.Namespace) -> None:
    engine = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"\n=== {engine} ===")
    ids, seconds = prepare(url, args.tickets)
    print(f"(a) {len(ids):,} tickets and their first events generated in {seconds:.1f}s")
    print(f"(b) {args.lookups:,} rounds, interleaved:")
    found = nearby(url, ids, args.lookups, args.seed)
    for name, (p50, p95) in found.items():
        print(f"    {name:<44} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    p95 = found["nearby check, a pin (find_nearby)"][1]
    print(f"    nearby check p95 {p95:.2f} ms (target <= 50 ms: {'PASS' if p95 <= 50 else 'FAIL'})")
    print(f"(c) {args.requests:,} requests, interleaved with the baseline:")
    served = open311(url, ids, args.requests, args.seed)
    for name, (p50, p95) in served.items():
        print(f"    {name:<44} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    p95 = served["GET /open311/v2/requests.json"][1]
    print(f"    default page p95 {p95:.2f} ms (target <= 50 ms: {'PASS' if p95 <= 50 else 'FAIL'})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seed", type=int, default=12)
    add_database_options(parser)
    args = parser.parse_args(argv)
    run_on_each(args, run_on)
    return 0


if __name__ == "__main__":
    sys.exit(main())
