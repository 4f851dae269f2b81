"""WLCC_INBOX_WORKER: the app only records; a worker process answers what it recorded.

The worker here is the same code ``wlcc worker`` runs (``Dispatcher.run_worker`` with the real
channels, against the fake Bot API), in this process so the test can stop it when done.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable

import pytest
from sqlmodel import func, select

from bot.telegram import TelegramChannel
from handlers.dispatch import Dispatcher
from handlers.router import Router
from storage.db import Database
from storage.models import InboundMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import SITI
from tests.outbox_support import worker_env
from wlcc.formatting import utcnow
from wlcc.i18n import gettext
from wlcc.messages import Inbound, Outbound, SendReport, inbound_to_dict

CHAT = SITI.id


def t(key: str) -> str:
    return gettext("id", key)


@pytest.fixture
def settings(make_settings):
    return make_settings(wlcc_inbox_worker=True, wlcc_sender_enabled=False)


def unanswered(db: Database) -> int:
    with db.transaction() as session:
        query = select(func.count()).where(InboundMessage.processed_at.is_(None))  # type: ignore[union-attr]
        return int(session.exec(query).one())


def run_worker_until(
    db: Database, settings, done: Callable[[], bool], seconds: float = 10.0, **options: float
) -> Dispatcher:
    """Run the inbox worker with a real Telegram channel until ``done()`` (at most ``seconds``)."""
    dispatcher = Dispatcher(Router(db))

    async def main() -> None:
        channel = TelegramChannel(settings)
        await channel.start()
        stop = asyncio.Event()
        await dispatcher.start({"telegram": channel.send_replies})
        worker = asyncio.create_task(dispatcher.run_worker(stop, poll=0.01, **options))
        try:
            for _ in range(round(seconds / 0.01)):
                if done():
                    break
                await asyncio.sleep(0.01)
        finally:
            stop.set()
            await worker
            await channel.close()

    asyncio.run(main())
    return dispatcher


def test_the_app_records_and_the_worker_answers(db, settings, telegram, fake_telegram):
    for text in ("halo", "BANTUAN"):
        assert telegram.say(text).status_code == 200
    assert fake_telegram.sent() == []  # the app itself answers nothing
    assert unanswered(db) == 2

    run_worker_until(db, settings, lambda: len(fake_telegram.sent(CHAT)) >= 3)

    texts = fake_telegram.texts(CHAT)
    assert texts[:2] == [t("welcome"), t("menu.header")]  # in the order they came
    assert texts[2].startswith(t("help.header"))
    assert unanswered(db) == 0

    # A second worker (a restart) finds nothing left to answer.
    run_worker_until(db, settings, lambda: False, seconds=0.5, full_scan_every=0.05)
    assert len(fake_telegram.sent(CHAT)) == 3


def test_a_message_committed_after_a_newer_one_is_still_answered(db: Database) -> None:
    """On PostgreSQL a message can get its id before a later one and commit after it; the
    worker's regular full scan finds it although its quick polls only look past the newest."""
    sent: list[str] = []

    async def send(
        inbound: Inbound, replies: list[Outbound], until: float | None = None
    ) -> SendReport:
        sent.append(inbound.platform_id)
        return SendReport(len(replies))

    def record(row_id: int, platform_id: str) -> None:
        inbound = Inbound("telegram", "5001", "5001", platform_id, utcnow(), text="BANTUAN")
        with db.transaction() as session:
            session.add(
                InboundMessage(
                    id=row_id,
                    channel="telegram",
                    platform_id=platform_id,
                    kind="text",
                    received_at=inbound.received_at,
                    payload=json.loads(json.dumps(inbound_to_dict(inbound))),
                )
            )

    async def until(check: Callable[[], bool]) -> None:
        for _ in range(500):
            if check():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"not answered: {sent}")

    dispatcher = Dispatcher(Router(db))

    async def main(wait: Callable[[Callable[[], bool]], Awaitable[None]]) -> None:
        stop = asyncio.Event()
        await dispatcher.start({"telegram": send})
        worker = asyncio.create_task(dispatcher.run_worker(stop, poll=0.01, full_scan_every=0.3))
        record(100, "newer")
        await wait(lambda: sent == ["newer"])
        record(50, "committed-late")  # a lower id than one the worker has already taken
        await wait(lambda: sent == ["newer", "committed-late"])
        stop.set()
        await worker

    asyncio.run(main(until))
    assert unanswered(db) == 0


def test_wlcc_worker_answers_the_inbox_and_stops_cleanly(
    db, settings, telegram, fake_telegram: FakeTelegram, tmp_path
) -> None:
    """The real ``wlcc worker`` process with WLCC_INBOX_WORKER=true answers what the app
    recorded, and a SIGTERM stops it without an error."""
    telegram.say("halo")
    assert fake_telegram.sent() == []
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker"],
        env=worker_env(settings, WLCC_INBOX_WORKER="true"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        calls = fake_telegram.wait_for("sendMessage", 2, timeout=30)
        assert [c.text for c in calls] == [t("welcome"), t("menu.header")]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    assert b"WLCC_INBOX_WORKER" in out
    assert unanswered(db) == 0
