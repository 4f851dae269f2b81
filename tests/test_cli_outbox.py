"""``wlcc broadcast`` and ``wlcc worker`` against the fake platforms."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app
from storage.db import Database
from storage.models import AuditLog, Broadcast
from tests.conftest import (
    PUBLIC_BASE_URL,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_WHATSAPP_FROM,
)
from tests.fakes import FakeTelegram, FakeTwilio
from tests.outbox_support import COMMUNITY, add_member, add_notice, phone, rows

runner = CliRunner()


@pytest.fixture(autouse=True)
def _restore_logging():
    """``wlcc worker`` installs its logging handler on the root logger: take it away again."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def env(
    database_url: str,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    clean_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
) -> dict[str, str]:
    values = {
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": fake_telegram.base_url,
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": TWILIO_WHATSAPP_FROM,
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "WLCC_TELEGRAM_RATE_PER_SECOND": "0",
        "WLCC_TELEGRAM_CHAT_RATE_PER_SECOND": "0",
        "WLCC_WHATSAPP_RATE_PER_SECOND": "0",
        "WLCC_OUTBOX_POLL_SECONDS": "0.05",
        "WLCC_LOG_LEVEL": "WARNING",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return values


@pytest.fixture
def members(db: Database) -> None:
    with db.transaction() as session:
        add_member(session, "Siti", phone(1), kelurahan="19 Ilir", telegram="7000001")
        add_member(session, "Dewi", phone(2), kelurahan="23 Ilir", whatsapp=True, role="treasurer")
        add_member(session, "Ani", phone(3), kelurahan="19 Ilir", whatsapp=True, opted_out=True)


def test_broadcast_sends_with_a_progress_bar_and_a_summary(
    env, members, db: Database, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    result = runner.invoke(app, ["broadcast", "Rapat Sabtu jam 9.", "--yes", "--send"])
    assert result.exit_code == 0, result.output
    assert "Members will read" in result.output and "Rapat Sabtu jam 9." in result.output
    assert "Recipients: 2 (all members); 1 more opted out" in result.output
    assert "Broadcast #1 planned for 3 members." in result.output
    assert "Pengumuman #1 selesai." in result.output
    assert "Terkirim: 2 dari 3." in result.output
    assert fake_telegram.texts(7000001) == ["Rapat Sabtu jam 9."]
    assert fake_twilio.bodies(f"whatsapp:{phone(2)}") == ["Rapat Sabtu jam 9."]
    with db.transaction() as session:
        [broadcast] = session.exec(select(Broadcast)).all()
        assert broadcast.author_label and broadcast.author_label.startswith("cli:")
        audits = session.exec(select(AuditLog).where(AuditLog.action == "broadcast.send")).all()
        assert [a.channel for a in audits] == ["cli"]


def test_broadcast_to_a_kelurahan_or_a_role(env, members, db: Database, fake_twilio) -> None:
    result = runner.invoke(app, ["broadcast", "Kas", "--role", "bendahara", "--yes", "--send"])
    assert result.exit_code == 0, result.output
    assert "Recipients: 1 (role treasurer)" in result.output
    assert fake_twilio.bodies() == ["Kas"]
    result = runner.invoke(
        app, ["broadcast", "Kerja bakti", "--kelurahan", "19 ilir", "--yes", "--send"]
    )
    assert result.exit_code == 0, result.output
    assert "Recipients: 1 (kelurahan 19 ilir); 1 more opted out" in result.output


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["broadcast", "   ", "--yes"], 2, "An empty announcement cannot be sent."),
        (["broadcast", "x" * 1601, "--yes"], 2, "It is refused, not split"),
        (["broadcast", "x", "--kelurahan", "Nowhere", "--yes"], 1, "No member would receive it"),
        (["broadcast", "x", "--role", "ketua", "--yes"], 2, "Unknown role 'ketua'"),
        (["broadcast", "x", "--role", "admin", "--kelurahan", "19 Ilir"], 2, "Choose one"),
        (["broadcast"], 2, "Give the announcement's text"),
        (["broadcast", "x"], 2, "Not a terminal: add --yes"),
        (["broadcast", "x", "--status"], 2, "take no text"),
    ],
)
def test_broadcast_refuses_bad_input_and_plans_nothing(
    env, members, db: Database, args: list[str], code: int, message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split())
    assert rows(db) == []


def test_status_and_stop(env, members, db: Database) -> None:
    result = runner.invoke(app, ["broadcast", "--status"])
    assert result.exit_code == 0 and "Belum ada pengumuman." in result.output
    # Planned while no sender runs: --no-send only watches, so stop it from another terminal.
    from storage.broadcasts import Audience, create_broadcast
    from wlcc.formatting import utcnow

    with db.transaction() as session:
        create_broadcast(
            session,
            community_id=COMMUNITY,
            text="x",
            audience=Audience("all"),
            now=utcnow(),
            author_label="cli:test",
        )
    result = runner.invoke(app, ["broadcast", "--stop"])
    assert result.exit_code == 0, result.output
    assert "Pengumuman #1 dihentikan. 3 pesan tidak jadi dikirim." in " ".join(
        result.output.split()
    )
    assert {r.status for r in rows(db)} == {"skipped"}
    result = runner.invoke(app, ["broadcast", "--status"])
    assert "Pengumuman #1 dihentikan." in result.output


def test_worker_once_sends_what_is_due(env, members, db: Database, fake_telegram) -> None:
    with db.transaction() as session:
        member = add_member(session, "Lina", phone(5), telegram="7000005")
        add_notice(session, "k1", "Halo Lina", member_id=member.id)
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output
    assert fake_telegram.texts(7000005) == ["Halo Lina"]


def test_worker_without_channels_or_migrations_says_why(
    env, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    monkeypatch.delenv("TWILIO_ACCOUNT_SID")
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "Neither Telegram" in " ".join(result.output.split())
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 1
    assert "run `wlcc db upgrade` first" in " ".join(result.output.split())
