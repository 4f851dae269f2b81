"""Console benchmark: the members list with 100,000 members and the complaints map page with
100,000 tickets, beside a static file served by the same app in the same run.

This process migrates a fresh SQLite database (and, with ``--database-url``, ``DATABASE_URL``
or ``TEST_DATABASE_URL`` naming PostgreSQL, a schema of its own there: ``bench/scratch.py``),
then on each:

(a) generates ``--members`` members (100,000: family phones, pending ones, Telegram links)
    and ``--tickets`` tickets (100,000; bench/complaints.py's generator), ``ANALYZE``;
(b) logs a coordinator in (a session row, as the login would leave it) and times, interleaved,
    ``--requests`` (300) rounds of: ``GET /console/members`` (the first page, the last page:
    the deepest ``OFFSET``; a search by name, by phone, by its last digits; one member),
    ``GET /console/complaints/map`` (the map page with its table), ``GET
    /console/complaints/map.json`` (the pins it draws), the home page with its charts, and
    the baseline ``GET /console/static/console.css``: all through the real
    app in process (``create_app`` with Starlette's test client: routing, the session lookup,
    the queries, the template), so the times are the server's, without a network;

and prints p50 and p95 of each and the ratio to the static file (target: p95 <= 300 ms for the
members list and the map page). It asserts nothing. Run: ``python -m bench.console``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.complaints import _EVENTS_SQL, _tickets_sql, _timed  # noqa: E402
from bench.scratch import add_database_options, analyze, run_on_each  # noqa: E402

TARGET_MS = 300.0

# Members: a family phone in every ten, one in fifty pending, three kelurahan, half linked on
# Telegram; member 1 is the coordinator who is logged in.
_MEMBER_COLUMNS = (
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
        f"INSERT INTO member ({_MEMBER_COLUMNS}) {series}"
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


def prepare(url: str, members: int, tickets: int) -> None:
    from sqlalchemy import text

    from storage.db import Database
    from storage.migrate import upgrade

    upgrade(url)
    db = Database(url)
    try:
        with db.transaction() as session:
            false = "0" if db.dialect == "sqlite" else "false"
            session.execute(text(_members_sql(db.dialect, members)))
            session.execute(text(_IDENTITIES_SQL.format(false=false)))
            session.execute(text(_tickets_sql(db.dialect, tickets)))
            session.execute(text(_EVENTS_SQL.format(false=false)))
        with db.engine.connect() as conn:
            analyze(conn, ("member", "identity", "complaint", "complaint_event"))
    finally:
        db.dispose()


def _coordinator_cookie(url: str) -> str:
    from storage.console import open_session
    from storage.db import Database
    from storage.models import Member
    from wlcc.formatting import utcnow

    db = Database(url)
    try:
        with db.transaction() as session:
            coordinator = session.get(Member, 1)
            assert coordinator is not None
            return open_session(session, coordinator, "password", utcnow())
    finally:
        db.dispose()


def pages(url: str, members: int, rounds: int, seed: int) -> dict[str, tuple[float, float]]:
    from starlette.testclient import TestClient

    from app import create_app
    from wlcc.settings import load_settings

    settings = load_settings(
        _env_file=None, database_url=url, wlcc_scheduler_enabled=False, wlcc_sender_enabled=False
    )
    chooser = random.Random(seed)
    cookie = _coordinator_cookie(url)
    app = create_app(settings, scheduler=False, sender=False)
    with TestClient(app, cookies={"wlcc_console": cookie}) as client:

        def get(path: Callable[[], str]) -> Callable[[], object]:
            def call() -> object:
                response = client.get(path(), follow_redirects=False)
                if response.status_code != 200:
                    raise RuntimeError(f"{path()}: {response.status_code}: {response.text[:300]}")
                return response

            return call

        return _timed(
            {
                "GET /console/members": get(lambda: "/console/members"),
                f"GET /console/members?page={-(-members // 50)} (last)": get(
                    lambda: f"/console/members?page={-(-members // 50)}"
                ),
                "GET /console/members?q=<name>": get(
                    lambda: f"/console/members?q=binti+{chooser.randint(0, 976)}"
                ),
                "GET /console/members?q=<phone>": get(
                    lambda: f"/console/members?q=0812{chooser.randint(1, members):08d}"
                ),
                "GET /console/members?q=<last digits>": get(
                    lambda: f"/console/members?q={chooser.randint(0, 9999):04d}"
                ),
                "GET /console/members/{id}": get(
                    lambda: f"/console/members/{chooser.randint(2, members)}"
                ),
                "GET /console/complaints/map": get(lambda: "/console/complaints/map"),
                "GET /console/complaints/map.json": get(lambda: "/console/complaints/map.json"),
                "GET /console/ (home, charts)": get(lambda: "/console/"),
                "baseline GET /console/static/console.css": get(
                    lambda: "/console/static/console.css"
                ),
            },
            rounds,
            lambda: None,
        )


def run_on(url: str, args: argparse.Namespace) -> None:
    engine = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"\n=== {engine} ===")
    prepare(url, args.members, args.tickets)
    print(f"(a) {args.members:,} members and {args.tickets:,} tickets generated")
    print(f"(b) {args.requests:,} rounds, interleaved:")
    served = pages(url, args.members, args.requests, args.seed)
    base = served["baseline GET /console/static/console.css"][1]
    for name, (p50, p95) in served.items():
        print(f"    {name:<44} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   x{p95 / base:6.1f}")
    for name in ("GET /console/members", "GET /console/complaints/map"):
        p95 = served[name][1]
        verdict = "PASS" if p95 <= TARGET_MS else "FAIL"
        print(f"    {name} p95 {p95:.1f} ms (target <= {TARGET_MS:.0f} ms: {verdict})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    add_database_options(parser)
    args = parser.parse_args(argv)
    run_on_each(args, run_on)
    return 0


if __name__ == "__main__":
    sys.exit(main())
