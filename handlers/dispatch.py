"""The async face of the router for the channels.

Messages of one chat are handled strictly one after another (and their replies sent in that
order); the database work runs in a worker thread so the event loop keeps serving webhooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from anyio import to_thread

from bot.messages import Inbound, Outbound
from handlers.router import Router

Sender = Callable[[Inbound, list[Outbound]], Awaitable[None]]


class KeyedLocks:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Dispatcher:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.locks = KeyedLocks()

    async def process(self, inbound: Inbound, send: Sender) -> list[Outbound] | None:
        """Handle one message and send its replies; None for a platform retry."""
        async with self.locks.hold(inbound.speaker_address):
            replies = await to_thread.run_sync(self.router.handle, inbound)
            if replies:
                await send(inbound, replies)
            return replies
