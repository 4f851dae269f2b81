"""The HTTP plumbing shared by the fake platform servers.

A :class:`FakeServer` is a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port chosen by the OS),
speaking HTTP/1.1 with keep-alive so the SDKs' connection pools behave as against the real
thing. It serves from a daemon thread; subclasses turn a :class:`RawRequest` into a
:class:`Reply` in :meth:`FakeServer.handle`. Records, scripted failures and waiting are shared.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message as HeaderMessage
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True, kw_only=True)
class RecordedCall:
    """What every fake records of a request it received: how it answered, and when."""

    content_type: str
    status: int
    response: Any
    at: float  # time.monotonic() when received
    wall: float  # time.time() when received

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart body (the bytes are kept: uploads in tests are small)."""

    filename: str | None
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: HeaderMessage
    body: bytes

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, **headers: str) -> Reply:
        return cls(status, json.dumps(payload).encode(), "application/json", dict(headers))


@dataclass
class Scripted:
    """One scripted answer: used instead of the normal one for ``times`` matching requests."""

    status: int
    body: Any  # a JSON-able value, or str/bytes sent as they are
    times: int
    match: str | None  # the request kind it applies to (a Bot API method...), None for any
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def reply(self) -> Reply:
        if isinstance(self.body, bytes):
            raw = self.body
        elif isinstance(self.body, str):
            raw = self.body.encode()
        else:
            raw = json.dumps(self.body).encode()
        return Reply(self.status, raw, self.content_type, dict(self.headers))


def parse_form(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def parse_multipart(
    content_type_header: str, body: bytes
) -> tuple[list[tuple[str, str]], dict[str, UploadedFile]]:
    """Fields and files of a ``multipart/form-data`` body."""
    head = f"Content-Type: {content_type_header}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: list[tuple[str, str]] = []
    files: dict[str, UploadedFile] = {}
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        filename = part.get_filename()
        if filename is not None or part.get_content_type() not in ("text/plain",):
            files[str(name)] = UploadedFile(filename, part.get_content_type(), payload)
        else:
            charset = part.get_content_charset() or "utf-8"
            fields.append((str(name), payload.decode(charset, "replace")))
    return fields, files


C = TypeVar("C")


class _Listener(ThreadingHTTPServer):
    # socketserver's default backlog of 5 resets connections when a sender opens dozens at
    # once (as the outbox sender does); the platforms take many more.
    request_queue_size = 256


class FakeServer(Generic[C]):
    """A recording HTTP server in a background thread. Use as a context manager or start/stop."""

    name = "fake"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._calls: list[C] = []
        self._script: list[Scripted] = []
        self.errors: list[str] = []  # tracebacks of the fake itself failing (a bug in the fake)
        # Seconds to wait before answering, to simulate a slow platform (or a function giving
        # each request its own, e.g. random.uniform between two bounds).
        self.delay: float | Callable[[], float] = 0.0
        # Faults by chance: called for every request; a Reply it returns is answered instead
        # (after it has slept, for a send that hangs). Such requests are not recorded.
        self.chaos: Callable[[RawRequest], Reply | None] | None = None
        self._slow: tuple[int, float] = (0, 0.0)  # the next n requests held so many seconds
        self._httpd = _Listener(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- life cycle ---
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{self.name}-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- records and scripts ---
    def reset(self) -> None:
        """Forget every recorded request, scripted answer, delay and error."""
        with self._cond:
            self._calls.clear()
            self._script.clear()
            self.errors.clear()
            self.delay = 0.0
            self.chaos = None
            self._slow = (0, 0.0)
            self._reset_state()

    def _reset_state(self) -> None:
        """Subclasses forget their own state here (counters, stored resources)."""

    def all_calls(self) -> list[C]:
        with self._cond:
            return list(self._calls)

    def script(
        self,
        status: int,
        body: Any,
        *,
        times: int = 1,
        match: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._cond:
            self._script.append(Scripted(status, body, times, match, content_type, headers or {}))

    def slow_start(self, requests: int, seconds: float) -> None:
        """Hold the next ``requests`` requests ``seconds`` before taking them in (and stamping
        them), as the first requests of a fresh client reach a real platform late while their
        connections are opened (TCP and TLS handshakes)."""
        with self._cond:
            self._slow = (requests, seconds)

    def _take_script(self, kind: str) -> Scripted | None:
        with self._cond:
            for entry in self._script:
                if entry.match is None or entry.match.lower() == kind.lower():
                    entry.times -= 1
                    if entry.times <= 0:
                        self._script.remove(entry)
                    return entry
        return None

    def _record(self, call: C) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def wait_until(
        self, predicate: Callable[[list[C]], bool], timeout: float, what: str
    ) -> list[C]:
        """Block until ``predicate(calls)`` holds; AssertionError (listing calls) on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self._calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.name}: timed out after {timeout}s waiting for {what}; "
                        f"received: {self.describe(self._calls)}"
                    )
                self._cond.wait(left)
            return list(self._calls)

    def describe(self, calls: list[C]) -> str:
        return "[" + ", ".join(repr(c) for c in calls) + "]" if calls else "nothing"

    # --- serving ---
    def handle(self, request: RawRequest) -> Reply:
        raise NotImplementedError

    def _serve(self, request: RawRequest) -> Reply:
        try:
            with self._cond:
                held, hold = self._slow
                if held:
                    self._slow = (held - 1, hold)
            if held:
                time.sleep(hold)
            delay = self.delay() if callable(self.delay) else self.delay
            if delay:
                time.sleep(delay)
            if self.chaos is not None and (fault := self.chaos(request)) is not None:
                return fault
            return self.handle(request)
        except Exception:
            text = traceback.format_exc()
            with self._cond:
                self.errors.append(text)
            return Reply(500, text.encode(), "text/plain")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and
            # the client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
            disable_nagle_algorithm = True
            server_version = f"Fake{fake.name.title()}/1.0"
            timeout = 30  # idle keep-alive connections are closed after this

            def _read_body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length > 0 else b""

            def _handle(self) -> None:
                body = self._read_body()
                parts = urlsplit(self.path)
                query: dict[str, list[str]] = {}
                for key, value in parse_qsl(parts.query, keep_blank_values=True):
                    query.setdefault(key, []).append(value)
                request = RawRequest(self.command, parts.path, query, self.headers, body)
                reply = fake._serve(request)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the records are the log

        return Handler
