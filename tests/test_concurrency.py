"""One speaker's messages are handled one at a time, even when they arrive all at once.

A counting dialog (registered only for these tests) reads a number from the conversation state
and writes it back plus one: if two messages of one person were ever processed at the same time,
an update would be lost and two replies would carry the same number. The same runs with several
routers on their own ``Database`` (standing in for app processes) and with real processes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from conversations.engine import REGISTRY, Context, Dialog, Turn, discover
from handlers.dispatch import Dispatcher
from handlers.router import Answer, Router
from storage.conversations import load_conversation
from storage.db import Database
from storage.inbound import NewInbound, record_many
from storage.models import InboundMessage
from wlcc.formatting import utcnow
from wlcc.messages import Inbound, Outbound, SendReport, SharedContact, inbound_to_dict

ROOT = Path(__file__).absolute().parent.parent
KEYWORD = "HITUNGTES"
PHONE = "+6281234567890"
_ids = itertools.count(1)


class CounterDialog(Dialog):
    """HITUNGTES starts counting; every further message adds one and says the new count."""

    name = "test_counter"
    keywords = (KEYWORD,)

    def start(self, ctx: Context, args: str) -> None:
        ctx.begin(self.name, "counting")
        ctx.data["n"] = 0
        ctx.data["seen"] = []
        ctx.say("0")

    def handle(self, ctx: Context, turn: Turn) -> bool:
        n = int(ctx.data["n"]) + 1
        ctx.data["n"] = n
        ctx.data["seen"] = [*ctx.data["seen"], turn.text]
        ctx.say(str(n))
        return True


def install_counter() -> None:
    discover()
    REGISTRY[CounterDialog.name] = CounterDialog()


@pytest.fixture
def counter() -> Iterator[None]:
    install_counter()
    yield
    REGISTRY.pop(CounterDialog.name, None)


def message(
    text: str,
    *,
    phone: str = PHONE,
    channel: str = "whatsapp",
    address: str | None = None,
    platform_id: str | None = None,
    contact: SharedContact | None = None,
) -> Inbound:
    address = address or phone
    return Inbound(
        channel=channel,
        address=address,
        sender_id=address,
        platform_id=platform_id or f"conc-{os.getpid()}-{next(_ids)}",
        received_at=utcnow(),
        text=text,
        contact=contact,
        phone=phone if channel == "whatsapp" else None,
    )


def count_of(replies: list[Outbound] | None) -> int:
    assert replies is not None, "a new message was taken for a platform retry"
    assert len(replies) == 1, [r.text for r in replies]
    return int(replies[0].text)


def run_threads(
    calls: list[tuple[Router, Inbound]], workers: int = 8
) -> list[list[Outbound] | None]:
    """Call every router.handle at once (as far as threads allow); results in call order."""
    go = threading.Event()

    def call(router: Router, inbound: Inbound) -> list[Outbound] | None:
        go.wait()
        return router.handle(inbound)

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(call, router, inbound) for router, inbound in calls]
        go.set()  # the first `workers` calls start together
        return [f.result() for f in futures]


def conversation_data(db: Database, key: str) -> dict[str, Any]:
    with db.transaction() as session:
        return dict(load_conversation(session, key).data)


def inbound_count(db: Database) -> int:
    with db.transaction() as session:
        return int(session.exec(select(func.count()).select_from(InboundMessage)).one())


# --- threads in one process ---


@pytest.mark.usefixtures("counter")
def test_one_speaker_many_threads(db: Database) -> None:
    router = Router(db)
    assert count_of(router.handle(message(KEYWORD))) == 0
    texts = [f"pesan {i}" for i in range(40)]
    results = run_threads([(router, message(text)) for text in texts])
    counts = [count_of(r) for r in results]
    assert sorted(counts) == list(range(1, 41))  # no two turns saw the same state
    data = conversation_data(db, f"phone:{PHONE}")
    assert data["n"] == 40  # no update lost
    assert sorted(data["seen"]) == sorted(texts)
    assert inbound_count(db) == 41  # each message recorded once


@pytest.mark.usefixtures("counter")
def test_two_databases_as_two_app_processes(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    try:
        routers = [Router(first), Router(second)]
        assert count_of(routers[0].handle(message(KEYWORD))) == 0
        calls = [(routers[i % 2], message(f"pesan {i}")) for i in range(30)]
        counts = [count_of(r) for r in run_threads(calls)]
        assert sorted(counts) == list(range(1, 31))
        assert conversation_data(first, f"phone:{PHONE}")["n"] == 30
        assert inbound_count(first) == 31
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.usefixtures("counter")
def test_many_speakers_at_once_keep_their_own_count(db: Database) -> None:
    router = Router(db)
    phones = [f"+62812000000{i:02d}" for i in range(5)]
    for phone in phones:
        assert count_of(router.handle(message(KEYWORD, phone=phone))) == 0
    calls = [(router, message(f"{p} {i}", phone=p)) for i in range(8) for p in phones]
    results = run_threads(calls)
    by_phone: dict[str, list[int]] = {p: [] for p in phones}
    for (_, inbound), result in zip(calls, results, strict=True):
        by_phone[inbound.address].append(count_of(result))
    for phone in phones:
        assert sorted(by_phone[phone]) == list(range(1, 9))
        assert conversation_data(db, f"phone:{phone}")["n"] == 8


@pytest.mark.usefixtures("counter")
def test_one_person_on_two_channels_is_serialised(db: Database) -> None:
    """Once a Telegram chat proved the phone, both channels continue one conversation."""
    router = Router(db)
    chat = "7000001"
    own = SharedContact(phone=PHONE, first_name="Siti", user_id=int(chat))
    assert router.handle(message("", channel="telegram", address=chat, contact=own))
    assert count_of(router.handle(message(KEYWORD))) == 0
    calls = [
        (router, message(f"tg {i}", channel="telegram", address=chat))
        if i % 2
        else (router, message(f"wa {i}"))
        for i in range(20)
    ]
    counts = [count_of(r) for r in run_threads(calls)]
    assert sorted(counts) == list(range(1, 21))
    assert conversation_data(db, f"phone:{PHONE}")["n"] == 20


def test_a_replayed_message_is_processed_exactly_once(db: Database) -> None:
    router = Router(db)
    inbound = message("halo", platform_id="SM-retried")
    results = run_threads([(router, inbound)] * 12)
    assert sum(r is not None for r in results) == 1
    assert inbound_count(db) == 1


def test_a_replayed_message_across_app_processes(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    try:
        routers = [Router(first), Router(second)]
        inbound = message("halo", platform_id="SM-retried-twice")
        results = run_threads([(routers[i % 2], inbound) for i in range(10)])
        assert sum(r is not None for r in results) == 1
        assert inbound_count(first) == 1
    finally:
        first.dispose()
        second.dispose()


# --- real processes ---

WORKER = """
import json, sys, time
from pathlib import Path
from typing import Any
from concurrent.futures import ThreadPoolExecutor
from storage.db import Database
from handlers.router import Router
from tests.test_concurrency import install_counter, message, count_of

url, name, count, flag_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
install_counter()
db = Database(url)
router = Router(db)
(flag_dir / f"ready-{name}").touch()
deadline = time.monotonic() + 60
while not (flag_dir / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.005)
with ThreadPoolExecutor(4) as pool:
    results = list(pool.map(router.handle, [message(f"{name} {i}") for i in range(count)]))
print(json.dumps([count_of(r) for r in results]))
db.dispose()
"""


@pytest.mark.usefixtures("counter")
def test_two_real_processes(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    try:
        assert count_of(Router(db).handle(message(KEYWORD))) == 0
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs = [
            subprocess.Popen(  # noqa: S603 (this interpreter running the worker above)
                [sys.executable, "-c", WORKER, database_url, name, "8", str(tmp_path)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("a", "b")
        ]
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{n}").exists() for n in "ab"):
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        counts: list[int] = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            counts += json.loads(out.strip().splitlines()[-1])
        assert sorted(counts) == list(range(1, 17))
        assert conversation_data(db, f"phone:{PHONE}")["n"] == 16
        assert inbound_count(db) == 17
    finally:
        db.dispose()


# --- the async dispatcher ---


@pytest.mark.usefixtures("counter")
@pytest.mark.parametrize("started", [False, True], ids=["inline", "inbox"])
def test_dispatcher_sends_replies_in_arrival_order(db: Database, started: bool) -> None:
    router = Router(db)
    dispatcher = Dispatcher(router)
    phones = ["+6281200000001", "+6281200000002"]
    sent: list[tuple[str, str]] = []

    async def send(
        inbound: Inbound, replies: list[Outbound], until: float | None = None
    ) -> SendReport:
        await asyncio.sleep(0)  # let the other tasks run meanwhile
        sent.extend((inbound.address, reply.text) for reply in replies)
        return SendReport(len(replies))

    async def main() -> None:
        if started:
            await dispatcher.start({"whatsapp": send})
        for phone in phones:
            await dispatcher.process(message(KEYWORD, phone=phone), send)
        await dispatcher.idle()
        sent.clear()
        inbounds = [message(f"{p} {i}", phone=p) for i in range(15) for p in phones]
        results = await asyncio.gather(*(dispatcher.process(i, send) for i in inbounds))
        assert all(results)  # every one new
        await dispatcher.idle()
        await dispatcher.stop()

    asyncio.run(main())
    for phone in phones:
        counts = [int(text) for address, text in sent if address == phone]
        assert counts == list(range(1, 16))  # sent in the order the messages arrived
    assert len(dispatcher.locks) == 0  # no lock left behind


@pytest.mark.parametrize("started", [False, True], ids=["inline", "inbox"])
def test_dispatcher_does_not_send_for_a_retry(db: Database, started: bool) -> None:
    dispatcher = Dispatcher(Router(db))
    sent: list[Inbound] = []

    async def send(
        inbound: Inbound, replies: list[Outbound], until: float | None = None
    ) -> SendReport:
        sent.append(inbound)
        return SendReport(len(replies))

    inbound = message("halo", platform_id="SM-dispatch-retry")

    async def main() -> list[bool]:
        if started:
            await dispatcher.start({"whatsapp": send})
        results = list(await asyncio.gather(*(dispatcher.process(inbound, send) for _ in range(5))))
        await dispatcher.idle()
        await dispatcher.stop()
        return results

    results = asyncio.run(main())
    assert results.count(True) == 1
    assert len(sent) == 1


def test_dispatcher_answers_what_an_earlier_run_recorded(db: Database) -> None:
    """A message recorded (and acknowledged to the platform) by a process that then stopped is
    answered when the next one starts, once."""
    inbound = message("halo", platform_id="SM-recorded-before-a-crash")
    with db.transaction() as session:
        record_many(
            session,
            [
                NewInbound(
                    inbound.channel,
                    inbound.platform_id,
                    inbound.kind,
                    inbound.received_at,
                    inbound_to_dict(inbound),
                )
            ],
        )
    sent: list[list[Outbound]] = []

    async def send(_: Inbound, replies: list[Outbound], until: float | None = None) -> SendReport:
        sent.append(replies)
        return SendReport(len(replies))

    async def run_once() -> None:
        dispatcher = Dispatcher(Router(db))
        await dispatcher.start({"whatsapp": send})
        await dispatcher.idle()
        await dispatcher.stop()

    asyncio.run(run_once())
    assert len(sent) == 1
    assert sent[0][0].text.startswith("Halo!")
    asyncio.run(run_once())  # a second start finds nothing left to answer
    assert len(sent) == 1


class _FailingRouter(Router):
    """A router whose database work fails for one message (the database went away mid-batch)."""

    def answer(self, inbound_id: int, inbound: Inbound) -> Answer | None:
        if inbound.text == "fails":
            raise RuntimeError("the database went away")
        return super().answer(inbound_id, inbound)


def test_a_message_that_fails_does_not_hold_up_the_others_in_its_batch(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = Dispatcher(_FailingRouter(db))
    dispatcher.retry_delays = (0.01,)
    sent: list[str] = []

    async def send(
        inbound: Inbound, replies: list[Outbound], until: float | None = None
    ) -> SendReport:
        sent.append(inbound.address)
        return SendReport(len(replies))

    phones = [f"+62812000001{i:02d}" for i in range(12)]
    inbounds = [message("fails" if i == 5 else "halo", phone=p) for i, p in enumerate(phones)]

    async def main() -> None:
        await dispatcher.start({"whatsapp": send})
        # Recorded together, answered in batches; the sixth fails inside its batch.
        assert all(await asyncio.gather(*(dispatcher.process(i, send) for i in inbounds)))
        await asyncio.wait_for(dispatcher.idle(), 30)
        await dispatcher.stop()

    asyncio.run(main())
    assert sorted(sent) == sorted(p for i, p in enumerate(phones) if i != 5)
    assert "answering a whatsapp message failed" in caplog.text
    assert len(dispatcher.locks) == 0


def test_answers_keep_coming_while_webhooks_keep_arriving(db: Database) -> None:
    """Acknowledgements go first, but a steady stream of webhooks never stops the answers."""
    dispatcher = Dispatcher(Router(db))
    sent: list[str] = []

    async def send(
        inbound: Inbound, replies: list[Outbound], until: float | None = None
    ) -> SendReport:
        sent.append(inbound.platform_id)
        return SendReport(len(replies))

    async def main() -> int:
        await dispatcher.start({"whatsapp": send})
        loop = asyncio.get_running_loop()
        until = loop.time() + 0.4
        enough = loop.time() + 10.0  # a loaded machine: the stream goes on until an answer

        async def webhook_stream(k: int) -> None:  # always one webhook in flight
            while loop.time() < until or (not sent and loop.time() < enough):
                await dispatcher.process(message("MENU", phone=f"+6281200002{k:03d}"), send)

        await asyncio.gather(*(webhook_stream(k) for k in range(8)))
        answered_meanwhile = len(sent)
        await asyncio.wait_for(dispatcher.idle(), 60)
        await dispatcher.stop()
        return answered_meanwhile

    answered_meanwhile = asyncio.run(main())
    assert answered_meanwhile > 0
    assert len(sent) == len(set(sent)) == inbound_count(db)  # and in the end every one, once
