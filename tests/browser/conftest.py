"""Fixtures of the browser tests: the real app on a port, headless Chromium, pages, axe.

* ``live_server``: the app (``create_app(settings, scheduler=False)``) under uvicorn on
  127.0.0.1, on the test's migrated database (SQLite, and PostgreSQL too when
  TEST_DATABASE_URL is set), with the fake Telegram and Twilio platforms attached and the
  outbox sender running fast: ``live_server.url``, ``.db``, ``.telegram`` (its recorded
  requests), ``.twilio``, ``.settings``, ``.settle()``. Override ``live_settings`` in a test
  module for other settings.
* ``browser``: one headless Chromium per test module (Debian's, through ``executable_path``).
* ``page``: a new context and page for each test, ``viewport`` sized (``PHONE`` is 360x740:
  ``@pytest.mark.parametrize("viewport", [PHONE])``); its relative URLs go to the live server
  when the test also takes ``live_server``. ``new_page(...)`` opens more (another person).
* ``axe_check(page)``: axe-core's serious and critical violations on the page.

Every test that uses ``browser`` (so ``page``, ``new_page``, ``axe_check``) is marked
``browser`` here: ``make pytest PYTEST_ARGS="-m browser"`` runs them alone. Without Chromium or
axe-core they are skipped with the reason, which the skip summary at the end of ``make test``
shows; under CI (CI=true) they fail instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from storage.db import Database
from tests.browser.live_server import LiveServer
from tests.browser.tools import (
    CHROMIUM,
    axe_violations,
    describe_violations,
    in_ci,
    missing_axe,
    missing_chromium,
)
from tests.fakes import FakeTelegram, FakeTwilio
from wlcc.settings import Settings

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}  # the smallest screen the console is made for
TIMEOUT_MS = 10_000  # Playwright's default is 30 s: a broken page fails sooner


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


# --- the app ---


class Live:
    """What ``live_server`` yields: the running app and what it talks to."""

    def __init__(
        self, server: LiveServer, db: Database, telegram: FakeTelegram, twilio: FakeTwilio
    ) -> None:
        self.server = server
        self.url = server.url  # http://127.0.0.1:PORT, no trailing slash
        self.settings = server.settings
        self.db = db  # the test's database (the app has its own Database on the same URL)
        self.telegram = telegram  # .calls("sendMessage"), .texts(chat_id), .wait_for(...)
        self.twilio = twilio

    def __str__(self) -> str:
        return self.url

    def __call__(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on the live server."""
        return self.url + (path if path.startswith("/") else "/" + path)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every inbound message the app accepted is answered."""
        self.server.settle(timeout)


@pytest.fixture
def live_settings(make_settings: Callable[..., Settings]) -> Settings:
    """The live server's settings: the fakes, the sender on and fast, no rate limits."""
    return make_settings(
        wlcc_sender_enabled=True,
        wlcc_outbox_poll_seconds=0.05,
        wlcc_telegram_rate_per_second=0,
        wlcc_telegram_chat_rate_per_second=0,
        wlcc_whatsapp_rate_per_second=0,
    )


@pytest.fixture
def live_server(
    live_settings: Settings, db: Database, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> Iterator[Live]:
    with LiveServer(live_settings) as server:
        yield Live(server, db, fake_telegram, fake_twilio)


# --- the browser ---


# Module scope, not session: while Playwright's sync API runs, its event loop counts as running
# in the main thread, so asyncio.run() there fails ("cannot be called from a running event
# loop"): in the tests after a browser module (the CLI, the sender) and in a browser test too
# (run a coroutine in the app's loop with live_server.server.call, or in a thread).
@pytest.fixture(scope="module")
def _playwright() -> Iterator[Playwright]:
    if reason := missing_chromium():
        _unavailable(reason)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    """Headless Chromium, Debian's, once for each test module."""
    chromium = _playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        # /dev/shm is small in containers; Chromium then crashes on large pages.
        args=["--disable-dev-shm-usage"],
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def viewport() -> dict[str, int]:
    """The page's size; ``@pytest.mark.parametrize("viewport", [PHONE])`` for a phone."""
    return DESKTOP


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest, browser: Browser, viewport: dict[str, int]
) -> Iterator[Callable[..., Page]]:
    """``new_page(**context_options)``: a page in a context of its own (its own cookies), closed
    at the end of the test. Options are Playwright's ``browser.new_context`` arguments."""
    base_url = None
    if "live_server" in request.fixturenames:
        base_url = request.getfixturevalue("live_server").url
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        options.setdefault("viewport", viewport)
        options.setdefault("locale", "id-ID")
        options.setdefault("timezone_id", "Asia/Jakarta")
        if base_url is not None:
            options.setdefault("base_url", base_url)
        context = browser.new_context(**options)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A fresh page (new context: no cookies) of ``viewport`` size."""
    return new_page()


# --- accessibility ---


class AxeCheck:
    """``axe_check(page)``: the serious and critical violations axe-core finds on the page (a
    list of axe's violation objects: id, impact, help, helpUrl, nodes);
    ``axe_check.assert_clean(page)`` fails the test listing them."""

    def __call__(self, page: Page, **kwargs: Any) -> list[dict[str, Any]]:
        return axe_violations(page, **kwargs)

    def assert_clean(self, page: Page, **kwargs: Any) -> None:
        violations = axe_violations(page, **kwargs)
        assert not violations, f"axe on {page.url}:\n{describe_violations(violations)}"


@pytest.fixture
def axe_check(browser: Browser) -> AxeCheck:
    if reason := missing_axe():
        _unavailable(reason)
    return AxeCheck()
