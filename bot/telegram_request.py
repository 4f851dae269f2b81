"""python-telegram-bot's ``Bot`` over aiohttp: the transport of every Telegram call we make."""

from __future__ import annotations

import urllib.request
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's networking on aiohttp (its documented extension point).

    The default (httpx) costs about four times the CPU per request, and the replies and the
    outbox sender make hundreds of requests a second on the core that also serves the webhooks.
    """

    def __init__(self, pool_size: int, read_timeout: float = 15.0) -> None:
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    @property
    def uses_proxy_settings(self) -> bool:
        return self._session is not None and self._session.trust_env

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Honour HTTP(S)_PROXY only when one is set: with trust_env aiohttp reads the whole
            # environment again on every request, a tenth of a reply's CPU.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                trust_env=bool(urllib.request.getproxies()),
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest.initialize() was not awaited")
        fields = request_data.json_parameters if request_data else {}
        files = request_data.multipart_data if request_data else {}
        body: aiohttp.FormData | dict[str, str] | None = fields if request_data else None
        if files:  # an upload: multipart, as the Bot API wants it
            body = aiohttp.FormData()
            for name, value in fields.items():
                body.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                body.add_field(name, content, filename=filename, content_type=mime)
        read = read_timeout if isinstance(read_timeout, int | float) else self._read_timeout
        connect = connect_timeout if isinstance(connect_timeout, int | float) else 10.0
        timeout = aiohttp.ClientTimeout(sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as answer:
                return answer.status, await answer.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp: {type(exc).__name__}: {exc}") from exc
