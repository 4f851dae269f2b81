"""``wlcc console password``: an admin sets a staff member's console password, from a hidden
prompt (twice) or one line of stdin; then she logs in with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

import cli.console
from cli.main import app
from storage.console import ConsolePassword, check_password
from storage.db import Database
from storage.models import AuditLog, Member
from tests.console_support import Console, add_staff, staff_phone
from tests.outbox_support import add_member, phone

runner = CliRunner()
PASSWORD = "kopi susu gula aren"


@pytest.fixture
def env(database_url: str, clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return database_url


def wlcc(*args: str, stdin: str = "") -> Result:
    return runner.invoke(app, ["console", *args], input=stdin)


def said(result: Result) -> str:
    return " ".join(result.output.split())


def passwords(db: Database) -> list[ConsolePassword]:
    with db.transaction() as session:
        return list(session.exec(select(ConsolePassword)))


def works(db: Database, member_id: int, secret: str) -> bool:
    with db.transaction() as session:
        member = session.get(Member, member_id)
        assert member is not None
        return check_password(session, [member], secret) is not None


def test_a_password_from_stdin_is_set_audited_and_logs_in(
    env: str, db: Database, client: TestClient
) -> None:
    member_id = add_staff(db, "coordinator")
    result = wlcc("password", "0812-0000-0071", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Console password set for Rina Wulandari (coordinator, +6281200000071)." in said(result)
    assert PASSWORD not in result.output
    [row] = passwords(db)
    assert row.member_id == member_id and PASSWORD not in row.password_hash
    assert works(db, member_id, PASSWORD)
    with db.transaction() as session:
        [entry] = session.exec(select(AuditLog).where(AuditLog.action == "console.password")).all()
    assert entry.channel == "cli" and entry.allowed
    assert entry.target == f"member:{member_id}"
    assert PASSWORD not in str(entry.detail)
    # She logs in to the console with it.
    console = Console(client)
    answer = client.post(
        "/console/login/password",
        data={
            "token": console.login_token(),
            "phone": staff_phone("coordinator"),
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert "Selamat datang, Rina Wulandari" in console.get("/console/").text


def test_a_new_password_replaces_the_old(env: str, db: Database) -> None:
    member_id = add_staff(db, "admin")
    assert wlcc("password", staff_phone("admin"), stdin=PASSWORD + "\n").exit_code == 0
    assert wlcc("password", staff_phone("admin"), stdin="teh manis hangat sekali\n").exit_code == 0
    assert len(passwords(db)) == 1
    assert works(db, member_id, "teh manis hangat sekali")
    assert not works(db, member_id, PASSWORD)


def test_the_prompt_is_hidden_and_asked_twice(
    env: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    member_id = add_staff(db, "treasurer")
    monkeypatch.setattr(cli.console, "_interactive", lambda: True)
    typed = f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n"
    result = wlcc("password", staff_phone("treasurer"), stdin=typed)
    assert result.exit_code == 0, result.output
    assert "New console password" in result.output
    assert "do not match" in result.output  # the first confirmation differed: asked again
    assert PASSWORD not in result.output  # hidden
    assert works(db, member_id, PASSWORD)


@pytest.mark.parametrize("role", ["member", None])
def test_a_phone_that_is_not_staff_is_refused(env: str, db: Database, role: str | None) -> None:
    if role is not None:
        add_staff(db, role)
    result = wlcc("password", staff_phone("member"), stdin=PASSWORD + "\n")
    assert result.exit_code == 1
    assert "No active staff member" in said(result) and "Nothing was changed." in said(result)
    assert passwords(db) == []


def test_a_pending_or_inactive_staff_member_is_refused(env: str, db: Database) -> None:
    with db.transaction() as session:
        add_member(session, "Rina Baru", phone(40), role="coordinator", status="pending")
    result = wlcc("password", phone(40), stdin=PASSWORD + "\n")
    assert result.exit_code == 1
    assert passwords(db) == []


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("pendek", "at least 10 characters"),
        ("aaaaaaaaaaaa", "too simple"),
        ("x" * 150 + "yzw" * 30, "too long"),
        ("", "at least 10 characters"),
    ],
)
def test_a_weak_password_is_refused(env: str, db: Database, secret: str, why: str) -> None:
    add_staff(db, "admin")
    result = wlcc("password", staff_phone("admin"), stdin=secret + "\n")
    assert result.exit_code == 2
    assert why in said(result) and "Nothing was changed." in said(result)
    assert passwords(db) == []


def test_a_bad_phone_is_refused(env: str, db: Database) -> None:
    result = wlcc("password", "not a phone", stdin=PASSWORD + "\n")
    assert result.exit_code == 2
    assert "Not a phone number" in said(result)


def test_a_family_phone_of_two_staff_needs_the_name(env: str, db: Database) -> None:
    with db.transaction() as session:
        rina = add_member(session, "Rina Wulandari", phone(50), role="coordinator")
        add_member(session, "Dewi Sartika", phone(50), role="treasurer")
        session.flush()
        rina_id = rina.id
    assert rina_id is not None
    both = wlcc("password", phone(50), stdin=PASSWORD + "\n")
    assert both.exit_code == 1
    assert "Several staff members share the phone" in said(both) and "--name" in said(both)
    nobody = wlcc("password", phone(50), "--name", "Maya", stdin=PASSWORD + "\n")
    assert nobody.exit_code == 1
    assert passwords(db) == []
    chosen = wlcc("password", phone(50), "--name", "rina", stdin=PASSWORD + "\n")
    assert chosen.exit_code == 0, chosen.output
    assert [row.member_id for row in passwords(db)] == [rina_id]


def test_help_lists_the_command(env: str) -> None:
    result = runner.invoke(app, ["console", "--help"])
    assert result.exit_code == 0
    assert "password" in result.output
    shown = runner.invoke(app, ["console", "password", "--help"])
    assert "Set a staff member's console password (read from a prompt or stdin)." in said(shown)
