"""The ``wlcc`` console command, run as an operator would: from another directory."""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from cli.main import GUEST_PHONE
from wlcc.settings import load_settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
CONTRACT = [
    "DATABASE_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_API_BASE_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_WHATSAPP_FROM",
    "TWILIO_API_BASE_URL",
    "PUBLIC_BASE_URL",
    "WLCC_TIMEZONE",
]


def wlcc_command() -> str:
    found = Path(sys.executable).parent / "wlcc"
    if found.exists():
        return str(found)
    which = shutil.which("wlcc")
    if which is None:
        pytest.skip("the wlcc console command is not installed (pip install -e .)")
    return which


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in CONTRACT and not k.upper().startswith("WLCC_")
    }
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}, **extra)
    return env


def run(
    cwd: Path, *args: str, stdin: str = "", timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own console command, fixed arguments)
        [wlcc_command(), *args],
        cwd=cwd,
        env=clean_env(**env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line(text: str) -> str:
    """Rich wraps long messages; compare them with the line breaks folded."""
    return re.sub(r"\s+", " ", text).strip()


# --- the real console command, in a subprocess (each start costs about a second) ---


def test_db_upgrade_demo_and_chat_from_another_directory(workdir: Path, sqlite_url: str) -> None:
    upgrade = run(workdir, "db", "upgrade", DATABASE_URL=sqlite_url)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "is up to date" in upgrade.stdout
    assert Path(sqlite_url.removeprefix("sqlite:///")).exists()  # its directory was created

    demo = run(workdir, "demo", DATABASE_URL=sqlite_url)
    assert demo.returncode == 0, demo.stderr
    lines = demo.stdout.splitlines()
    assert f"  {GUEST_PHONE}  a guest, not a member yet (the default)" in lines
    assert "Fatimah and Ani Lestari share a family phone on purpose." in lines
    # The command it names works as printed, here: as the family phone, the bot asks who it is.
    [hint] = [line for line in lines if line.startswith("Chat as one of these people: ")]
    printed = shlex.split(hint.split(": ", 1)[1].replace("NUMBER", "+6281200000004"))
    family = subprocess.run(  # noqa: S603 (the command the demo printed)
        printed,
        cwd=workdir,
        env=clean_env(DATABASE_URL=sqlite_url),
        input="halo\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert family.returncode == 0, family.stderr
    assert "WLCC> HP ini dipakai beberapa anggota. Siapa yang sedang menulis?" in family.stdout

    chat = run(
        workdir,
        "chat",
        "--phone",
        "0812-9999-0001",
        stdin="menu\nmneu\nbahasa\nbtal\nbatal\n/keluar\nmenu\n",
        DATABASE_URL=sqlite_url,
    )
    assert chat.returncode == 0, chat.stderr
    assert chat.stderr == ""
    out = chat.stdout
    assert "Anda> menu" in out
    assert out.count("WLCC> Menu utama. Silakan pilih:") == 2  # "menu" and the typo "mneu"
    assert "Ganti bahasa / Language" in out
    assert "Balas dengan angka 1 sampai" in out
    assert "WLCC> Pilih bahasa / Choose a language:" in out
    assert "WLCC> Sudah dibatalkan." in out  # "btal" cancelled the language question
    last = "WLCC> Tidak ada yang perlu dibatalkan. Ketik MENU untuk melihat pilihan."
    assert out.rstrip().endswith(last)  # then nothing was left to cancel
    assert "Anda> /keluar" not in out  # /keluar ends the chat: the last "menu" is never read

    assert list(workdir.iterdir()) == []  # nothing written where the commands ran


def test_chat_wraps_between_words_at_the_terminals_width(workdir: Path, sqlite_url: str) -> None:
    chat = run(workdir, "chat", stdin="halo\nmenu\n", DATABASE_URL=sqlite_url, COLUMNS="34")
    assert chat.returncode == 0, chat.stderr
    answers = [line for line in chat.stdout.splitlines() if not line.startswith("Anda> ")]
    assert answers[0].startswith("WLCC> ")
    assert all(len(line) <= 34 for line in answers)
    # The catalog's words arrive whole: none is cut at a line end.
    words = set(" ".join(answers).split())
    assert {"Menu", "utama.", "Pembelajaran", "Perempuan", "Inklusif."} <= words


def test_db_upgrade_again_on_each_test_database(workdir: Path, database_url: str) -> None:
    result = run(workdir, "db", "upgrade", DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "is up to date" in result.stdout


def test_telegram_token_without_secret_exits_with_a_clear_message(
    workdir: Path, sqlite_url: str
) -> None:
    result = run(workdir, "db", "upgrade", DATABASE_URL=sqlite_url, TELEGRAM_BOT_TOKEN=TOKEN)
    assert result.returncode != 0
    message = one_line(result.stderr)
    assert "TELEGRAM_BOT_TOKEN is set but TELEGRAM_WEBHOOK_SECRET is not" in message
    assert "Set TELEGRAM_WEBHOOK_SECRET" in message
    assert "Traceback" not in result.stderr
    assert TOKEN.split(":")[1] not in result.stderr + result.stdout
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # nothing was done


# --- more failures, in process (typer's runner) to stay fast ---


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> CliRunner:
    for name in list(os.environ):
        if name.upper() in CONTRACT or name.upper().startswith("WLCC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(workdir)
    return CliRunner()


def invoke(cli: CliRunner, *args: str, stdin: str = "", **env: str) -> Result:
    from cli.main import app

    return cli.invoke(app, list(args), input=stdin, env=env)


@pytest.mark.parametrize("command", [["demo"], ["chat"], ["serve"]])
def test_every_command_checks_the_settings(cli: CliRunner, command: list[str]) -> None:
    result = invoke(cli, *command, TELEGRAM_BOT_TOKEN=TOKEN)
    assert result.exit_code == 2
    assert "TELEGRAM_WEBHOOK_SECRET is not" in one_line(result.output)


def test_the_same_problem_from_a_dotenv_file(cli: CliRunner, workdir: Path) -> None:
    (workdir / ".env").write_text("TELEGRAM_BOT_TOKEN=123:abc\n", encoding="utf-8")
    result = invoke(cli, "db", "upgrade")
    assert result.exit_code == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in result.output


def test_bad_timezone_exits_with_a_clear_message(cli: CliRunner, sqlite_url: str) -> None:
    result = invoke(cli, "db", "upgrade", DATABASE_URL=sqlite_url, WLCC_TIMEZONE="Asia/Palembang")
    assert result.exit_code == 2
    assert "WLCC_TIMEZONE: unknown time zone 'Asia/Palembang'" in one_line(result.output)


def test_unreachable_database_exits_with_a_clear_message(cli: CliRunner) -> None:
    url = "postgresql://wlcc:hunter22@127.0.0.1:1/wlcc"  # nothing listens on port 1
    result = invoke(cli, "db", "upgrade", DATABASE_URL=url)
    assert result.exit_code == 1
    message = one_line(result.output)
    assert message.startswith("Cannot migrate postgresql+psycopg://wlcc:***@127.0.0.1:1/wlcc")
    assert "hunter22" not in result.output  # the password is not printed


def test_make_demo_names_make_in_its_hint(cli: CliRunner, sqlite_url: str) -> None:
    """`make demo` runs `wlcc demo --make`: the command to chat as someone else is make's."""
    result = invoke(cli, "demo", "--make", DATABASE_URL=sqlite_url)
    assert result.exit_code == 0, result.output
    hint = 'Chat as one of these people: make demo CHAT_ARGS="--phone NUMBER"'
    assert hint in result.output.splitlines()


def test_chat_refuses_a_bad_phone(cli: CliRunner, sqlite_url: str) -> None:
    result = invoke(cli, "chat", "--phone", "abc", DATABASE_URL=sqlite_url)
    assert result.exit_code == 2
    assert "Not a valid phone number: abc" in result.output


def test_help_lists_the_commands(cli: CliRunner) -> None:
    result = invoke(cli, "--help")
    assert result.exit_code == 0
    for command in ("serve", "chat", "demo", "db"):
        assert command in result.output


# --- the ASGI app on a database that was never migrated ---


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The app's start-up installs its log handler; put the root logger back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_app_refuses_to_start_on_an_unmigrated_database(tmp_path: Path) -> None:
    from app import create_app

    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    settings = load_settings(database_url=url, wlcc_scheduler_enabled=False)
    app = create_app(settings)
    with pytest.raises(Exception, match=r"Run `wlcc db upgrade`") as caught, TestClient(app):
        pass
    assert "is not migrated" in str(caught.value)


@pytest.mark.usefixtures("restore_logging")
def test_app_starts_on_a_migrated_database(database_url: str) -> None:
    from app import create_app

    settings = load_settings(database_url=database_url, wlcc_scheduler_enabled=False)
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
