"""No amount or balance appears in a log line: recording, refusing, reversing, importing,
checking and sending the receipts to the member's Telegram, with the app's redacting log
handler at DEBUG (wlcc.logging.configure_logging) writing everything that is logged."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from storage.db import Database
from tests.fakes.telegram_api import FakeTelegram
from tests.outbox_support import FAST, add_member, drain, phone
from wlcc.logging import configure_logging
from wlcc.settings import Settings

runner = CliRunner()
# Figures that appear nowhere else (not in a timestamp, an id or a phone), in every spelling.
DEPOSIT, WITHDRAWAL, REFUSED = 736_291, 48_137, 9_517_403
FIGURES = [
    spelled
    for amount in (DEPOSIT, WITHDRAWAL, REFUSED, DEPOSIT - WITHDRAWAL)
    for spelled in (str(amount), f"{amount:,}".replace(",", "."), f"{amount:,}")
]


@pytest.fixture
def logged(clean_env: None) -> Iterator[io.StringIO]:
    """Everything logged while the test runs, as the app's handler writes it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("DEBUG")
    [handler] = [h for h in root.handlers if getattr(h, "_wlcc", False)]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.handlers[:] = handlers
        root.setLevel(level)


def test_no_log_line_carries_an_amount(
    logged: io.StringIO,
    db: Database,
    settings: Settings,
    fake_telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.chdir(tmp_path)
    with db.transaction() as session:
        add_member(session, "Siti Aminah", phone(1), telegram="5001")

    def wlcc(*args: str) -> int:
        return runner.invoke(app, ["ledger", *args]).exit_code

    assert wlcc("deposit", phone(1), "sukarela", str(DEPOSIT)) == 0
    assert wlcc("withdraw", phone(1), "sukarela", f"{WITHDRAWAL:,}".replace(",", ".")) == 0
    assert wlcc("withdraw", phone(1), "sukarela", str(REFUSED)) == 1
    assert wlcc("reverse", "2", "--reason", "salah catat") == 0
    paper = tmp_path / "paper.csv"
    paper.write_text(f"date,phone,kind,amount,note\n2026-01-05,{phone(1)},wajib,{DEPOSIT},\n")
    assert wlcc("import", str(paper)) == 0
    assert wlcc("check") == 0
    drain(db, settings, **FAST)
    # The receipts did go out, with their amounts, to her own chat.
    texts = fake_telegram.texts()
    assert len(texts) == 3 and "Rp736.291" in texts[0]
    output = logged.getvalue()
    assert output, "nothing was logged"
    for figure in FIGURES:
        assert figure not in output, figure
