"""Broadcast benchmark: 5,000 recipients through the real outbox sender to the fake platforms.

The fake Telegram Bot API and fake Twilio REST API of the tests (``tests/fakes``) run in a child
process (so they do not share this process's interpreter lock); this process plans a real
broadcast (``storage.broadcasts.create_broadcast``: one outbox row per member, half of them on
Telegram and half on WhatsApp) in a fresh SQLite database (or ``--database-url``) and runs the
real sender (``bot.sender``) with the real channels (python-telegram-bot, twilio).

(a) default platform limits (Telegram 30/s, WhatsApp 80/s), for ``--seconds`` (default 20) of
    the 5,000: the rate each channel achieved, measured from the fakes' request timestamps, as a
    fraction of its limit (target >= 0.95), the most requests in any one second, and duplicates
    (target 0). A full run at these limits would take 5000/110 s, so it is bounded in time.
(b) limits lifted: all 5,000 sent; the sender's own ceiling in messages/s measured at the fakes
    (target >= 1,000), and duplicates.
(c) peak RSS of this process (the sender's) during the run (target <= 250 MB).

It prints the figures and asserts nothing. Run: ``python -m bench.broadcast`` (``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f3c4b2a1d0e9f8a7b6c5d4e3f2a1b0c9"
SENDER_NUMBER = "whatsapp:+14155238886"


# --- the fakes, in their own process ---


def _fakes_main(conn: Connection) -> None:
    from tests.fakes import FakeTelegram, FakeTwilio

    with FakeTelegram(TOKEN) as telegram, FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as twilio:
        conn.send((telegram.base_url, twilio.base_url))
        while True:
            command = conn.recv()
            if command == "stats":
                tg = [(c.at, str(c.params.get("chat_id")), c.ok) for c in telegram.sent()]
                wa = [(c.at, c.to or "", c.ok) for c in twilio.messages()]
                conn.send((tg, wa, telegram.errors + twilio.errors))
            elif command == "reset":
                telegram.reset()
                twilio.reset()
                conn.send("ok")
            else:
                conn.send("bye")
                return


@dataclass
class Fakes:
    process: Any
    conn: Connection
    telegram_url: str
    twilio_url: str

    def stats(self) -> tuple[list[tuple[float, str, bool]], list[tuple[float, str, bool]]]:
        self.conn.send("stats")
        tg, wa, errors = self.conn.recv()
        if errors:
            print(f"the fake servers failed: {errors[:1]}", file=sys.stderr)
        return tg, wa

    def reset(self) -> None:
        self.conn.send("reset")
        self.conn.recv()

    def close(self) -> None:
        self.conn.send("stop")
        self.conn.recv()
        self.process.join(timeout=5)


def start_fakes() -> Fakes:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_fakes_main, args=(child,), daemon=True)
    process.start()
    telegram_url, twilio_url = parent.recv()
    return Fakes(process, parent, telegram_url, twilio_url)


# --- the database and the broadcast ---


def prepare(url: str, recipients: int) -> None:
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.models import Identity, Member, MemberStatus
    from wlcc.formatting import utcnow

    upgrade(url)
    db = Database(url)
    now = utcnow()
    with db.transaction() as session:
        for i in range(recipients):
            phone = f"+62813{i:08d}"
            session.add(
                Member(
                    community_id=1,
                    name=f"Anggota {i}",
                    name_key=f"anggota {i}",
                    phone=phone,
                    kelurahan=("19 Ilir", "23 Ilir", "24 Ilir")[i % 3],
                    status=MemberStatus.ACTIVE,
                    consent_at=now,
                )
            )
            if i % 2:
                session.add(Identity(community_id=1, channel="telegram", address=str(10_000_000 + i),
                                     phone=phone, first_seen_at=now, last_inbound_at=now))
            else:
                session.add(Identity(community_id=1, channel="whatsapp", address=phone,
                                     phone=phone, first_seen_at=now, last_inbound_at=now))
    db.dispose()


def plan_broadcast(url: str, text: str) -> tuple[int, int]:
    from storage.broadcasts import Audience, create_broadcast
    from storage.db import Database
    from wlcc.formatting import utcnow

    db = Database(url)
    with db.transaction() as session:
        broadcast = create_broadcast(
            session, community_id=1, text=text, audience=Audience("all"), now=utcnow(),
            author_label="bench",
        )
        assert broadcast.id is not None
        result = broadcast.id, broadcast.total
    db.dispose()
    return result


def settings_for(url: str, fakes: Fakes, **extra: Any) -> Any:
    from wlcc.settings import load_settings

    return load_settings(
        _env_file=None,
        database_url=url,
        telegram_bot_token=TOKEN,
        telegram_webhook_secret="bench_secret",
        telegram_api_base_url=fakes.telegram_url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=SENDER_NUMBER,
        twilio_api_base_url=fakes.twilio_url,
        public_base_url="https://bot.example.org",
        wlcc_log_level="WARNING",
        **extra,
    )


async def run_sender(settings: Any, url: str, *, seconds: float | None, **overrides: Any) -> Any:
    from bot.sender import build_sender
    from bot.telegram import TelegramChannel
    from bot.whatsapp import WhatsAppChannel
    from storage.db import Database

    db = Database(url)
    telegram, whatsapp = TelegramChannel(settings), WhatsAppChannel(settings)
    await telegram.start()
    await whatsapp.start()
    sender = build_sender(db, settings, telegram=telegram, whatsapp=whatsapp, **overrides)
    try:
        if seconds is None:
            await sender.drain()
        else:
            task = asyncio.create_task(sender.run())
            await asyncio.sleep(seconds)
            sender.stop()
            await task
    finally:
        await telegram.close()
        await whatsapp.close()
        db.dispose()
    return sender.stats


# --- figures ---


def rate(times: list[float]) -> float:
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (max(times) - min(times))


def max_per_second(times: list[float]) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def duplicates(calls: list[tuple[float, str, bool]]) -> int:
    counts = Counter(to for _, to, ok in calls if ok)
    return sum(n - 1 for n in counts.values() if n > 1)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long phase (a) runs at the default limits")
    parser.add_argument("--database-url", default=None,
                        help="an empty, migratable database (default: SQLite in a temp dir)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    fakes = start_fakes()
    workdir = tempfile.mkdtemp(prefix="wlcc-bench-")
    url = args.database_url or f"sqlite:///{Path(workdir) / 'bench.db'}"
    try:
        started = time.monotonic()
        prepare(url, args.recipients)
        print(f"{args.recipients} members ready in {time.monotonic() - started:.1f}s "
              f"({'SQLite' if url.startswith('sqlite') else 'PostgreSQL'})")

        # (a) the platforms' default limits, bounded in time
        broadcast_id, total = plan_broadcast(url, "Rapat bulanan Sabtu jam 09.00. (a)")
        settings = settings_for(url, fakes)
        stats = asyncio.run(run_sender(settings, url, seconds=args.seconds))
        tg, wa = fakes.stats()
        tg_times = [at for at, _, ok in tg if ok]
        wa_times = [at for at, _, ok in wa if ok]
        limits = (settings.wlcc_telegram_rate_per_second, settings.wlcc_whatsapp_rate_per_second)
        print(f"\n(a) default limits, broadcast #{broadcast_id} to {total}, {args.seconds:.0f}s:")
        for name, times, limit, calls in (("Telegram", tg_times, limits[0], tg),
                                          ("WhatsApp", wa_times, limits[1], wa)):
            achieved = rate(times)
            print(f"    {name:9} {len(times):5d} sent  {achieved:7.2f}/s of {limit:.0f}/s = "
                  f"{achieved / limit:.3f} (target >= 0.95)  max in 1s: {max_per_second(times)}"
                  f"  duplicates: {duplicates(calls)}")
        print(f"    sender: {stats.sent} sent, {stats.retried} retried, {stats.released} "
              "given back at stop")

        # (b) limits lifted: the sender's own ceiling, a full broadcast
        fakes.reset()
        from storage.db import Database

        db = Database(url)
        with db.engine.begin() as conn:  # a clean queue for (b)
            from sqlalchemy import text

            conn.exec_driver_sql("DELETE FROM outbox") if url.startswith("sqlite") else conn.execute(
                text("DELETE FROM outbox"))
        db.dispose()
        broadcast_id, total = plan_broadcast(url, "Rapat bulanan Sabtu jam 09.00. (b)")
        lifted = settings_for(url, fakes, wlcc_telegram_rate_per_second=0,
                              wlcc_telegram_chat_rate_per_second=0,
                              wlcc_whatsapp_rate_per_second=0)
        began = time.monotonic()
        stats = asyncio.run(run_sender(lifted, url, seconds=None))
        wall = time.monotonic() - began
        tg, wa = fakes.stats()
        times = [at for at, _, ok in tg + wa if ok]
        print(f"\n(b) limits lifted, broadcast #{broadcast_id} to {total}:")
        print(f"    {len(times)} sent in {wall:.2f}s wall; at the fakes {rate(times):.0f} msg/s "
              f"(target >= 1000); duplicates: {duplicates(tg) + duplicates(wa)}; "
              f"sender stats: {stats.sent} sent, {stats.retried} retried, {stats.failed} failed")

        # (c)
        print(f"\n(c) peak RSS of the sender's process: {peak_rss_mb():.0f} MB (target <= 250)")
    finally:
        fakes.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
