"""Broadcast benchmark: 5,000 recipients through the real outbox sender to fake platforms.

This process plans a real broadcast (``storage.broadcasts.create_broadcast``: one outbox row per
member, half of them on Telegram and half on WhatsApp) in a fresh SQLite database (or
``--database-url``) and runs the real sender (``bot.sender``) with the real channels
(python-telegram-bot, twilio). The fake platforms run in a child process, so they do not share
this process's interpreter lock:

* the fakes of the tests (``tests/fakes``: full Bot API and Twilio checks, one thread per
  connection), for (a) and (b1);
* a minimal asyncio fake of both APIs (``FastFakes`` below: answers ``sendMessage`` and
  ``Messages.json``, records when and to whom), for (b2): the test fakes top out at a few
  hundred requests a second on this machine, below what the sender does.

(a) default platform limits (Telegram 30/s, WhatsApp 80/s), for ``--seconds`` (default 20) of
    the 5,000 (a full run would take 5000/110 s): the rate each channel achieved, measured from
    the fakes' request timestamps, as a fraction of its limit (target >= 0.95), the most
    requests in any one second, and duplicates (target 0).
(b) limits lifted, all 5,000 sent: the sender's own ceiling in messages/s measured at the
    fakes (target >= 1,000), and duplicates: (b1) against the test fakes, (b2) the fast fakes.
(c) peak RSS of this process (the sender's) during the run (target <= 250 MB).

It prints the figures and asserts nothing. Run: ``python -m bench.broadcast`` (``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

from bench.scratch import scratch_database

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


class _FastApi(asyncio.Protocol):
    """Keep-alive HTTP/1.1 with Content-Length bodies: just enough for httpx and aiohttp."""

    calls: ClassVar[list[tuple[float, str, bool]]] = []  # (time, recipient, ok)
    counter: ClassVar[int] = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        from urllib.parse import parse_qsl

        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            path = head[0].split(" ")[1].split("?")[0]
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
            _FastApi.counter += 1
            n = _FastApi.counter
            if path.endswith("/sendMessage"):
                chat = form.get("chat_id", "0")
                _FastApi.calls.append((time.monotonic(), chat, True))
                status, payload = (
                    200,
                    {
                        "ok": True,
                        "result": {
                            "message_id": n,
                            "date": int(time.time()),
                            "chat": {"id": int(chat), "type": "private", "first_name": "Ibu"},
                            "from": {"id": 123456, "is_bot": True, "first_name": "WLCC"},
                            "text": form.get("text", ""),
                        },
                    },
                )
            elif path.endswith("/Messages.json"):
                _FastApi.calls.append((time.monotonic(), form.get("To", ""), True))
                status, payload = (
                    201,
                    {
                        "sid": f"SM{n:032x}",
                        "status": "queued",
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body", ""),
                        "num_media": "0",
                    },
                )
            else:
                status, payload = 404, {"ok": False}
            raw = json.dumps(payload).encode()
            self.transport.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(raw)}\r\n\r\n".encode()
                + raw
            )


def _fast_main(conn: Connection) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_FastApi, "127.0.0.1", 0, backlog=1024)
        port = server.sockets[0].getsockname()[1]
        conn.send((f"http://127.0.0.1:{port}/bot", f"http://127.0.0.1:{port}"))
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "stats":
                telegram = [c for c in _FastApi.calls if not c[1].startswith("whatsapp:")]
                whatsapp = [c for c in _FastApi.calls if c[1].startswith("whatsapp:")]
                conn.send((telegram, whatsapp, []))
            elif command == "reset":
                _FastApi.calls.clear()
                conn.send("ok")
            else:
                conn.send("bye")
                server.close()
                return

    asyncio.run(serve())


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


def start_fakes(fast: bool = False) -> Fakes:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    target = _fast_main if fast else _fakes_main
    process = ctx.Process(target=target, args=(child,), daemon=True)
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
                session.add(
                    Identity(
                        community_id=1,
                        channel="telegram",
                        address=str(10_000_000 + i),
                        phone=phone,
                        first_seen_at=now,
                        last_inbound_at=now,
                    )
                )
            else:
                session.add(
                    Identity(
                        community_id=1,
                        channel="whatsapp",
                        address=phone,
                        phone=phone,
                        first_seen_at=now,
                        last_inbound_at=now,
                    )
                )
    db.dispose()


def plan_broadcast(url: str, text: str) -> tuple[int, int]:
    from storage.broadcasts import Audience, create_broadcast
    from storage.db import Database
    from wlcc.formatting import utcnow

    db = Database(url)
    with db.transaction() as session:
        broadcast = create_broadcast(
            session,
            community_id=1,
            text=text,
            audience=Audience("all"),
            now=utcnow(),
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


def clear_outbox(url: str) -> None:
    from sqlalchemy import text

    from storage.db import Database

    db = Database(url)
    with db.transaction() as session:
        session.execute(text("DELETE FROM outbox"))
    db.dispose()


def lifted(url: str, fakes: Fakes, label: str, concurrency: int) -> tuple[float, int, int, float]:
    """A whole broadcast with the limits lifted: (msg/s at the fakes, sent, duplicates, wall)."""
    fakes.reset()
    clear_outbox(url)
    plan_broadcast(url, f"Rapat bulanan Sabtu jam 09.00. ({label})")
    settings = settings_for(
        url,
        fakes,
        wlcc_telegram_rate_per_second=0,
        wlcc_telegram_chat_rate_per_second=0,
        wlcc_whatsapp_rate_per_second=0,
        wlcc_outbox_concurrency=concurrency,
    )
    began = time.monotonic()
    asyncio.run(run_sender(settings, url, seconds=None))
    wall = time.monotonic() - began
    tg, wa = fakes.stats()
    times = [at for at, _, ok in tg + wa if ok]
    return rate(times), len(times), duplicates(tg) + duplicates(wa), wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="how long phase (a) runs at the default limits"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server to run on, in a schema of its own (default: SQLite)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    workdir = tempfile.mkdtemp(prefix="wlcc-bench-")
    try:
        with scratch_database(args.database_url, Path(workdir)) as url:
            return run(args, url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, url: str) -> int:
    started = time.monotonic()
    prepare(url, args.recipients)
    print(
        f"{args.recipients} members ready in {time.monotonic() - started:.1f}s "
        f"({'SQLite' if url.startswith('sqlite') else 'PostgreSQL'})"
    )

    fakes = start_fakes()
    try:
        # (a) the platforms' default limits, bounded in time
        broadcast_id, total = plan_broadcast(url, "Rapat bulanan Sabtu jam 09.00. (a)")
        settings = settings_for(url, fakes)
        stats = asyncio.run(run_sender(settings, url, seconds=args.seconds))
        tg, wa = fakes.stats()
        limits = (settings.wlcc_telegram_rate_per_second, settings.wlcc_whatsapp_rate_per_second)
        print(
            f"\n(a) default limits, broadcast #{broadcast_id} to {total}, first "
            f"{args.seconds:.0f}s, test fakes:"
        )
        for name, calls, limit in (("Telegram", tg, limits[0]), ("WhatsApp", wa, limits[1])):
            times = [at for at, _, ok in calls if ok]
            achieved = rate(times)
            print(
                f"    {name:9} {len(times):5d} sent  {achieved:6.2f}/s of {limit:.0f}/s = "
                f"{achieved / limit:.3f} (target >= 0.95)  most in one second: "
                f"{max_per_second(times)}  duplicates: {duplicates(calls)}"
            )
        print(
            f"    sender: {stats.sent} sent, {stats.retried} retried, {stats.released} "
            "claimed but given back at the stop"
        )

        # (b1) limits lifted, test fakes (few connections: their threads prefer it)
        speed, sent, dups, wall = lifted(url, fakes, "b1", concurrency=4)
        print(
            f"\n(b1) limits lifted, {sent} sent to the test fakes in {wall:.1f}s: "
            f"{speed:.0f} msg/s at the fakes; duplicates: {dups}"
        )
    finally:
        fakes.close()

    fast = start_fakes(fast=True)
    try:
        speed, sent, dups, wall = lifted(url, fast, "b2", concurrency=64)
        print(
            f"(b2) limits lifted, {sent} sent to the fast fakes in {wall:.1f}s: "
            f"{speed:.0f} msg/s at the fakes (target >= 1000); duplicates: {dups}"
        )
    finally:
        fast.close()

    print(f"\n(c) peak RSS of the sender's process: {peak_rss_mb():.0f} MB (target <= 250)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
