"""Using a real channel (``TelegramChannel``, ``WhatsAppChannel``) outside the app, in a test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def on_channel(channel: Any, use: Callable[[Any], Awaitable[T]]) -> T:
    """Start ``channel`` (its HTTP pools), run ``use(channel)``, close it; the result."""

    async def go() -> T:
        await channel.start()
        try:
            return await use(channel)
        finally:
            await channel.close()

    return asyncio.run(go())
