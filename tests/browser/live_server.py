"""The real app served over real HTTP on loopback, for a browser to open.

``running_app`` (tests/fakes/webhooks.py) drives the app through a ``TestClient``, without a
socket; a browser needs a port. :class:`LiveServer` runs ``create_app(settings,
scheduler=False)`` under uvicorn in a background thread, on a socket bound to 127.0.0.1 with a
port the OS picks, with its lifespan (migration check, channels, dispatcher, sender) running as
in production.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any, Self

import uvicorn
from fastapi import FastAPI

from app import create_app
from wlcc.settings import Settings

LOOPBACK = "127.0.0.1"


class LiveServer:
    """``with LiveServer(settings) as server:`` serves the app at ``server.url`` until the end
    of the block. The app's own objects (``server.app.state.db``, ``.dispatcher``...) are
    there while it runs."""

    def __init__(self, settings: Settings, *, start_timeout: float = 30.0) -> None:
        self.settings = settings
        self.app: FastAPI = create_app(settings, scheduler=False)
        self.start_timeout = start_timeout
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((LOOPBACK, 0))
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://{LOOPBACK}:{self.port}"
        config = uvicorn.Config(
            self.app,
            lifespan="on",
            log_config=None,  # the app configures logging itself (redacting secrets)
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __str__(self) -> str:
        return self.url

    # --- life cycle ---
    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # reported by start() or stop()
            self._error = exc
        finally:
            loop.close()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._serve, name="live-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(
                    "the app did not start (see the log above)"
                    + (f": {self._error!r}" if self._error else "")
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the app did not start within {self.start_timeout} s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            if self._thread.is_alive():  # a request that never ends: stop waiting for it
                self._server.force_exit = True
                self._thread.join(timeout=5)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- working with the running app ---
    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        """Run ``coroutine`` in the server's event loop and return its result."""
        if self._loop is None or not self._server.started:
            coroutine.close()
            raise RuntimeError("the live server is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the app has answered every message it accepted (as ``settle`` does for
        the ``TestClient``); what it sends on its own still goes through the outbox."""
        dispatcher = getattr(self.app.state, "dispatcher", None)
        if dispatcher is not None:
            self.call(dispatcher.idle(), timeout)
