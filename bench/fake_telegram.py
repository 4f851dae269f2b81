"""A minimal, fast fake of the Telegram Bot API for the benchmark (loopback only).

A raw asyncio protocol (keep-alive HTTP/1.1, Content-Length bodies) so that the fake costs far
less CPU than the app it feeds: ``sendMessage`` (form-urlencoded as python-telegram-bot sends it,
or JSON) answers a valid Message, ``answerCallbackQuery`` answers true, ``getMe`` the bot user.
``GET /_stats`` returns the number of calls per method. Run:
``python -m bench.fake_telegram --port 8081`` (it prints ``ready`` when listening).

The full-featured fake for the tests is ``tests/fakes/telegram_api.py``; this one trades its
checks for speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from typing import Any, cast
from urllib.parse import parse_qsl

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "WLCC", "username": "wlcc_bench_bot"}


class BotApi:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._message_ids = itertools.count(1)

    def handle(self, method: str, path: str, content_type: str, body: bytes) -> tuple[int, Any]:
        if method == "GET" and path == "/_stats":
            return 200, dict(self.calls)
        parts = path.split("/")
        if len(parts) != 3 or not parts[1].startswith("bot"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        api_method = parts[2]
        self.calls[api_method] += 1
        params = _params(content_type, body)
        if api_method in ("sendMessage", "sendPhoto", "sendDocument"):
            try:
                chat_id = int(params.get("chat_id", ""))
            except ValueError:
                return 400, {"ok": False, "error_code": 400, "description": "chat not found"}
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
                "from": BOT_USER,
            }
            if api_method == "sendMessage":
                message["text"] = params.get("text", "")
            return 200, {"ok": True, "result": message}
        if api_method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return 200, {"ok": True, "result": True}
        if api_method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


def _params(content_type: str, body: bytes) -> dict[str, str]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(body)
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


class HttpProtocol(asyncio.Protocol):
    def __init__(self, api: BotApi) -> None:
        self.api = api
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            try:
                method, target, _version = lines[0].split(" ", 2)
            except ValueError:
                self._reply(400, {"ok": False}, close=True)
                return
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._reply(411, {"ok": False, "description": "chunked bodies unsupported"}, True)
                return
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            path = target.split("?", 1)[0]
            status, payload = self.api.handle(method, path, headers.get("content-type", ""), body)
            self._reply(status, payload, close=headers.get("connection", "").lower() == "close")

    def _reply(self, status: int, payload: Any, close: bool = False) -> None:
        assert self.transport is not None
        body = json.dumps(payload).encode()
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        if close:
            self.transport.close()
            self.transport = None


async def serve(host: str, port: int) -> None:
    api = BotApi()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpProtocol(api), host, port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the fake only listens on loopback")
    try:
        import uvloop

        run: Any = uvloop.run
    except ImportError:
        run = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
