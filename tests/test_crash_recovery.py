"""No reply is lost when the server dies hard (``kill -9``), and none is sent twice but for the
sends that were in flight.

The real ``uvicorn app:app`` runs in a subprocess against the fake platforms, which answer
slowly (0.2-0.8 s a send). Many chats write at once; the server is killed while it is sending
their replies, then started again: every chat gets all its replies, in order, and a reply
arrives twice only if it was on its way when the server died.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlmodel import select

from storage.db import Database
from storage.models import Identity, OutboxMessage
from tests.conftest import PUBLIC_BASE_URL, TELEGRAM_SECRET, TWILIO_AUTH_TOKEN
from tests.fakes import twilio_forms
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import TelegramUpdates, TgUser
from tests.fakes.twilio_api import FakeTwilio
from tests.outbox_support import worker_env
from wlcc.i18n import gettext

CHATS = 40  # per channel: more than the HTTP connection pools, so some sends wait for one
WORDS = ("halo", "BANTUAN")  # each chat writes these, in this order
REPLIES = 3  # a first "halo" gets the welcome and the menu; BANTUAN the help
LEASE = 3  # seconds (WLCC_REPLY_LEASE_SECONDS): replies of a dead process go after it


def t(key: str) -> str:
    return gettext("id", key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(settings, port: int, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``uvicorn app:app`` on ``port`` with the test's settings; waits until it is healthy."""
    env = worker_env(
        settings,
        WLCC_REPLY_LEASE_SECONDS=str(LEASE),
        # A reply whose direct send outlived its lease is taken over by the outbox sender, whose
        # lease a crash then leaves to run out too (120 s by default).
        WLCC_OUTBOX_LEASE_SECONDS="5",
        WLCC_SENDER_ENABLED="true",
        WLCC_TELEGRAM_CHAT_RATE_PER_SECOND="0",
        WLCC_OUTBOX_BACKOFF_SECONDS="0.5",
    )
    log = (tmp_path / f"server-{time.monotonic_ns()}.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 (this interpreter running our own app)
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise AssertionError("the server did not start")
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()


def post_all(port: int) -> None:
    """Every chat writes its words, one after another (as a person does), all chats at once."""
    base = f"http://127.0.0.1:{port}"

    def telegram_chat(k: int) -> None:
        updates = TelegramUpdates(TgUser(7100000 + k, f"Ibu{k}"), first_update_id=900000 + k * 10)
        with httpx.Client(base_url=base, timeout=30) as http:
            for word in WORDS:
                response = http.post(
                    "/webhooks/telegram",
                    content=json.dumps(updates.text(word)),
                    headers={
                        "Content-Type": "application/json",
                        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                    },
                )
                assert response.status_code == 200

    def whatsapp_chat(k: int) -> None:
        url = PUBLIC_BASE_URL + "/webhooks/whatsapp"
        with httpx.Client(base_url=base, timeout=30) as http:
            for word in WORDS:
                form = twilio_forms.inbound(word, phone=f"+62812770{k:05d}")
                response = http.post(
                    "/webhooks/whatsapp",
                    data=form,
                    headers={"X-Twilio-Signature": twilio_forms.sign(TWILIO_AUTH_TOKEN, url, form)},
                )
                assert response.status_code == 200

    with ThreadPoolExecutor(16) as pool:
        jobs = [pool.submit(telegram_chat, k) for k in range(CHATS)]
        jobs += [pool.submit(whatsapp_chat, k) for k in range(CHATS)]
        for job in jobs:
            job.result()


def outbox_rows(database_url: str, chats: dict[str, int]) -> list[tuple[object, ...]]:
    """What the outbox holds for these chats (to explain a failure)."""
    db = Database(database_url)
    try:
        with db.transaction() as session:
            rows = session.exec(
                select(OutboxMessage, Identity).where(OutboxMessage.identity_id == Identity.id)
            ).all()
            return [
                (o.id, o.key, o.status, o.attempts, o.reason, o.last_error, o.lease_until)
                for o, i in rows
                if any(c.endswith(i.address) for c in chats)
            ]
    finally:
        db.dispose()


def received(fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> dict[str, list[str]]:
    """What every chat received, in the order the fakes received it."""
    chats: dict[str, list[str]] = {}
    for call in fake_telegram.sent():
        chats.setdefault(f"tg:{call['chat_id']}", []).append(call.text or "")
    for message in fake_twilio.messages():
        chats.setdefault(f"wa:{message.to}", []).append(message.body)
    return chats


def complete(chats: dict[str, list[str]]) -> bool:
    return len(chats) == 2 * CHATS and all(len(set(texts)) >= REPLIES for texts in chats.values())


def test_no_reply_is_lost_when_the_server_is_killed(
    make_settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio, tmp_path: Path
) -> None:
    settings = make_settings()
    randomness = random.Random(8)
    fake_telegram.delay = fake_twilio.delay = lambda: randomness.uniform(0.2, 0.8)
    port = free_port()
    with server(settings, port, tmp_path) as first:
        post_all(port)  # every message recorded: each webhook got its 200
        # Kill it while it is sending: some replies went, some are on their way, most not.
        fake_telegram.wait_until(lambda calls: len(calls) >= 5, 30, "the first replies")
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
    time.sleep(1.0)  # the sends the dead server had on their way reach the fakes meanwhile
    from_the_dead = len(fake_telegram.all_calls()) + len(fake_twilio.calls())
    late = sum(
        1
        for call in [*fake_telegram.all_calls(), *fake_twilio.calls()]
        if call.at >= killed_at - LEASE - 1.0
    )
    assert not complete(received(fake_telegram, fake_twilio)), "killed too late to test"

    with server(settings, port, tmp_path):
        deadline = time.monotonic() + 90
        while not complete(chats := received(fake_telegram, fake_twilio)):
            missing = {c: REPLIES - len(set(v)) for c, v in chats.items() if len(set(v)) < REPLIES}
            silent = 2 * CHATS - len(chats)
            assert time.monotonic() < deadline, (
                f"replies missing after the restart: {missing}; chats without any: {silent}; "
                f"their outbox rows: {outbox_rows(settings.database_url, missing)}"
            )
            time.sleep(0.2)

    expected = [t("welcome"), t("menu.header"), t("help.header")]
    duplicates = 0
    for chat, texts in chats.items():
        firsts = list(dict.fromkeys(texts))  # in the order each reply first arrived
        assert len(firsts) == len(expected), (chat, texts)
        for text, start in zip(firsts, expected, strict=True):
            assert text.startswith(start), (chat, texts)  # in order
        # Sent by the dead server (directly, or by its outbox sender once the direct send had
        # outlived its lease on a loaded machine), then by the new one: three times at most.
        assert all(texts.count(text) <= 3 for text in firsts), (chat, texts)
        duplicates += len(texts) - len(firsts)
    # Only a send the dead server had just made (or had on its way) may have gone twice.
    assert duplicates <= late, (duplicates, late, from_the_dead)
