"""The neutral message values survive the inbox: what is recorded is what is answered."""

from __future__ import annotations

import asyncio
import json
from dataclasses import fields
from datetime import UTC, datetime

import pytest

from bot.telegram_request import AiohttpRequest
from wlcc.messages import (
    Inbound,
    Location,
    Media,
    SharedContact,
    inbound_from_dict,
    inbound_to_dict,
)

FULL = Inbound(
    channel="telegram",
    address="5001",
    sender_id="5001",
    platform_id="77",
    received_at=datetime(2026, 12, 12, 2, 0, tzinfo=UTC),
    text="lihat ini",
    payload="menu:saldo",
    contact=SharedContact("+6281234567890", "Siti", 5001),
    location=Location(-2.99, 104.75, "Jl. Merdeka 1"),
    media=(Media("file-1", "image/jpeg"), Media("https://example.org/a.jpg")),
    sender_name="Siti",
    phone="+6281234567890",
)


@pytest.mark.parametrize(
    "inbound",
    [FULL, Inbound("whatsapp", "+6281200000001", "+6281200000001", "SM1", FULL.received_at)],
    ids=["every-field", "bare-text"],
)
def test_an_inbound_message_round_trips_through_json(inbound: Inbound) -> None:
    data = json.loads(json.dumps(inbound_to_dict(inbound)))
    assert set(data) == {f.name for f in fields(Inbound)}  # a new field is not forgotten
    assert inbound_from_dict(data) == inbound


@pytest.mark.parametrize("proxy", [None, "http://proxy.example:3128"])
def test_the_telegram_transport_honours_a_proxy_only_when_one_is_set(
    monkeypatch: pytest.MonkeyPatch, proxy: str | None
) -> None:
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    if proxy is not None:
        monkeypatch.setenv("HTTPS_PROXY", proxy)

    async def uses_proxy() -> bool:
        request = AiohttpRequest(pool_size=1)
        await request.initialize()
        try:
            return request.uses_proxy_settings
        finally:
            await request.shutdown()

    assert asyncio.run(uses_proxy()) is (proxy is not None)
