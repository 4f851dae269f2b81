"""Shared fixtures.

Every test that takes ``database_url`` (or ``db``) runs on SQLite and, when TEST_DATABASE_URL is
set, again on PostgreSQL. Migrations run once per test session: each SQLite test gets a copy of
a migrated template file; PostgreSQL tests share one migrated schema (dropped at the end) whose
tables are emptied and re-seeded before each test.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, insert, text
from starlette.testclient import TestClient

from storage.db import Database, normalize_url
from storage.migrate import upgrade
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.fakes.telegram_updates import TelegramUpdates
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, SANDBOX_FROM, FakeTwilio
from tests.fakes.webhooks import TelegramWebhook, WhatsAppWebhook, running_app
from wlcc.settings import Settings, load_settings

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgres"]


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{normalize_url(base)}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite:///{path}")
    return path


class _PgSchema:
    """One migrated schema for the session; ``fresh()`` empties it back to just-migrated."""

    def __init__(self, base_url: str) -> None:
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(normalize_url(base_url))
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        self.url = _pg_schema_url(base_url, self.name)
        upgrade(self.url)
        self.engine = create_engine(self.url)
        self.metadata = MetaData()
        self.metadata.reflect(self.engine)
        tables = [t for t in self.metadata.sorted_tables if t.name != "alembic_version"]
        with self.engine.connect() as conn:  # what the migrations seeded (the community)
            self.seed: list[tuple[Any, list[dict[str, Any]]]] = [
                (t, [dict(r._mapping) for r in conn.execute(t.select())]) for t in tables
            ]
        self.tables = tables

    def fresh(self) -> None:
        names = ", ".join(f'"{t.name}"' for t in self.tables)
        with self.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            for table, rows in self.seed:
                if rows:
                    conn.execute(insert(table), rows)
                    if "id" in table.c:  # keep sequences past the seeded ids
                        conn.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                                f'(SELECT MAX(id) FROM "{table.name}"))'
                            )
                        )

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_schema() -> Iterator[_PgSchema]:
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = _PgSchema(PG_URL)
    try:
        yield schema
    finally:
        schema.drop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database (but for the default community)."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema: _PgSchema = request.getfixturevalue("_pg_schema")
    schema.fresh()
    yield schema.url


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty directory that is not the project: commands must not depend on it."""
    path = tmp_path / "somewhere else"
    path.mkdir()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An SQLite file in a directory that does not exist yet (the commands create it)."""
    return f"sqlite:///{tmp_path / 'data' / 'wlcc.db'}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per reason for the skipped tests (166 "TEST_DATABASE_URL is not set" would
    otherwise bury the rest), with the place when only one test gave it."""
    reasons: Counter[str] = Counter()
    places: dict[str, str] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            path, line, reason = longrepr
            reason = str(reason).removeprefix("Skipped: ")
            places[reason] = f"{path}:{line}"
        else:
            reason = str(longrepr)
        reasons[reason] += 1
    if not reasons:
        return
    terminalreporter.section("skipped", sep="-")
    for reason, count in reasons.most_common():
        where = f" ({places[reason]})" if count == 1 and reason in places else ""
        terminalreporter.write_line(f"SKIPPED {count}: {reason}{where}")


# --- fake platforms, settings and the running app ---

TELEGRAM_TOKEN = DEFAULT_TOKEN
TELEGRAM_SECRET = "wlcc-test_webhook-secret-7f3a9c"
TWILIO_ACCOUNT_SID = DEFAULT_ACCOUNT_SID
TWILIO_AUTH_TOKEN = DEFAULT_AUTH_TOKEN
TWILIO_WHATSAPP_FROM = SANDBOX_FROM
PUBLIC_BASE_URL = "https://bot.example.org"
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


@pytest.fixture(scope="session")
def _telegram_server() -> Iterator[FakeTelegram]:
    with FakeTelegram(TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="session")
def _twilio_server() -> Iterator[FakeTwilio]:
    with FakeTwilio(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN) as fake:
        yield fake


@pytest.fixture
def fake_telegram(_telegram_server: FakeTelegram) -> Iterator[FakeTelegram]:
    """The fake Bot API (one server per session), emptied for each test."""
    _telegram_server.reset()
    yield _telegram_server
    errors = list(_telegram_server.errors)
    _telegram_server.reset()
    assert not errors, "the fake Telegram server failed:\n" + "\n".join(errors)


@pytest.fixture
def fake_twilio(_twilio_server: FakeTwilio) -> Iterator[FakeTwilio]:
    """The fake Twilio REST API (one server per session), emptied for each test."""
    _twilio_server.reset()
    yield _twilio_server
    errors = list(_twilio_server.errors)
    _twilio_server.reset()
    assert not errors, "the fake Twilio server failed:\n" + "\n".join(errors)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting (nor HTTP proxy) of the developer's environment reaches the test."""
    names = {name.lower() for name in Settings.model_fields} | _PROXY_VARS
    for key in list(os.environ):
        if key.lower() in names:
            monkeypatch.delenv(key)


@pytest.fixture
def make_settings(
    database_url: str, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio, clean_env: None
) -> Callable[..., Settings]:
    """Build settings for the test database and the fakes; keyword arguments override fields
    (``telegram_bot_token=None`` turns Telegram off). Neither ``.env`` nor the environment is
    read: every field is given explicitly."""
    base: dict[str, object] = {
        "database_url": database_url,
        "telegram_bot_token": TELEGRAM_TOKEN,
        "telegram_webhook_secret": TELEGRAM_SECRET,
        "telegram_api_base_url": fake_telegram.base_url,
        "twilio_account_sid": TWILIO_ACCOUNT_SID,
        "twilio_auth_token": TWILIO_AUTH_TOKEN,
        "twilio_whatsapp_from": TWILIO_WHATSAPP_FROM,
        "twilio_api_base_url": fake_twilio.base_url,
        "public_base_url": PUBLIC_BASE_URL,
        "wlcc_timezone": "Asia/Jakarta",
        "wlcc_default_language": "id",
        "wlcc_log_level": "INFO",
        "wlcc_scheduler_enabled": False,
    }
    for name, info in Settings.model_fields.items():
        if name not in base and not info.is_required():
            base[name] = info.get_default(call_default_factory=True)

    def make(**overrides: object) -> Settings:
        return load_settings(_env_file=None, **{**base, **overrides})

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app (``create_app(settings, scheduler=False)``) with its lifespan running."""
    with running_app(settings) as test_client:
        yield test_client


@pytest.fixture
def tg_updates() -> TelegramUpdates:
    return TelegramUpdates()


@pytest.fixture
def telegram(
    client: TestClient, settings: Settings, tg_updates: TelegramUpdates
) -> TelegramWebhook:
    """Posts updates to ``/webhooks/telegram`` as Telegram does (with the secret header)."""
    return TelegramWebhook(client, settings, tg_updates)


@pytest.fixture
def whatsapp(client: TestClient, settings: Settings) -> WhatsAppWebhook:
    """Posts Twilio-signed forms to ``/webhooks/whatsapp`` (and its status callback)."""
    return WhatsAppWebhook(client, settings)


@pytest.fixture
def count_rows(db: Database) -> Callable[[str], int]:
    """``count_rows("inbound_message")``: the rows of a table in the test database."""

    def count(table: str) -> int:
        with db.engine.connect() as conn:
            query = text(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (a table name)
            return int(conn.execute(query).scalar_one())

    return count


@pytest.fixture
def log_output(client) -> Iterator[io.StringIO]:
    """What the app's redacting log handler writes, while the app runs."""
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_wlcc", False)]
    assert handlers, "the app did not install its log handler"
    handler = handlers[-1]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.setLevel(level)
        if previous is not None:
            handler.setStream(previous)
