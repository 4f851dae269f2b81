"""Per chat, replies reach the platform in the order of the messages they answer, even when the
platform fails now and then: a later reply waits for an earlier one that is being retried.

The fakes refuse sends by chance (flood control, a server error, a send that hangs past the
send timeout); such a send is not delivered. The app answers directly and its outbox sender
retries, both running as in production.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from tests.fakes._server import RawRequest, Reply
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import TgUser
from tests.fakes.twilio_api import FakeTwilio, error_body
from tests.fakes.webhooks import TelegramWebhook, WhatsAppWebhook
from wlcc.i18n import gettext

WORDS = ("MENU", "BANTUAN", "BATAL") * 5
TIMEOUT = 0.3  # WLCC_SEND_TIMEOUT_SECONDS; a hanging send answers after twice that


def t(key: str) -> str:
    return gettext("id", key)


EXPECTED = [t("menu.header"), t("help.header"), t("cancel.nothing")] * 5


def chaos(is_send: Callable[[RawRequest], bool], flood: Reply, broken: Reply, seed: int):
    """A fault for about three sends in ten: flood control, a server error, or a hang."""
    randomness = random.Random(seed)

    def fault(request: RawRequest) -> Reply | None:
        if not is_send(request):
            return None
        roll = randomness.random()
        if roll < 0.1:
            return flood
        if roll < 0.2:
            return broken
        if roll < 0.3:
            time.sleep(2 * TIMEOUT)  # the app has given up by now: not delivered
            return Reply.json(504, {"ok": False, "error_code": 504, "description": "Timeout"})
        return None

    return fault


@pytest.fixture
def settings(make_settings):
    return make_settings(
        wlcc_sender_enabled=True,
        wlcc_outbox_poll_seconds=0.05,
        wlcc_outbox_backoff_seconds=0.05,
        wlcc_outbox_backoff_max_seconds=0.3,
        wlcc_outbox_max_attempts=40,
        wlcc_send_timeout_seconds=TIMEOUT,
        wlcc_telegram_rate_per_second=0,
        wlcc_telegram_chat_rate_per_second=0,
        wlcc_whatsapp_rate_per_second=0,
    )


def test_replies_keep_their_order_when_the_platforms_fail_now_and_then(
    telegram: TelegramWebhook,
    whatsapp: WhatsAppWebhook,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    tg_updates,
) -> None:
    fake_telegram.chaos = chaos(
        lambda r: r.path.endswith("/sendMessage"),
        Reply.json(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        ),
        Reply.json(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
        seed=1,
    )
    fake_twilio.chaos = chaos(
        lambda r: r.method == "POST" and r.path.endswith("/Messages.json"),
        Reply.json(429, error_body(20429, 429, "Too Many Requests")),
        Reply.json(500, error_body(20500, 500, "Internal Server Error")),
        seed=2,
    )
    users = [TgUser(7200000 + k, f"Ibu{k}", None, None, "id") for k in range(3)]
    phones = [f"+62812780000{k:02d}" for k in range(3)]
    for word in WORDS:  # every chat writes the next word before any reply has to be there
        for user in users:
            assert telegram.post(tg_updates.text(word, user=user)).status_code == 200
        for phone in phones:
            assert whatsapp.say(word, phone=phone).status_code == 200

    def delivered() -> dict[str, list[str]]:
        chats = {f"tg:{u.id}": fake_telegram.texts(u.id) for u in users}
        chats.update({f"wa:{p}": fake_twilio.bodies(f"whatsapp:{p}") for p in phones})
        return chats

    deadline = time.monotonic() + 120
    while any(len(texts) < len(EXPECTED) for texts in delivered().values()):
        assert time.monotonic() < deadline, {c: len(v) for c, v in delivered().items()}
        time.sleep(0.1)
    refused = [c for c in [*fake_telegram.all_calls(), *fake_twilio.calls()] if not c.ok]
    assert refused == []  # the faults were answered by chaos, never recorded as sent

    for chat, texts in delivered().items():
        assert len(texts) == len(EXPECTED), chat  # each once
        for text, start in zip(texts, EXPECTED, strict=True):
            assert text.startswith(start), (chat, texts)  # and in order
