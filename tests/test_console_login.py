"""Logging in to the staff console: a code through the outbox (to the fake Telegram), a
password, and every way it must fail with a clear page and nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from storage.console import (
    MAX_FAILURES_PER_PHONE,
    ConsoleSession,
    set_password,
)
from storage.db import Database
from storage.models import AuditLog, Member
from tests.console_support import Console, add_staff, latest_code, staff_phone
from tests.fakes import FakeTelegram
from tests.test_broadcast_e2e import wait


def _sessions(db: Database) -> int:
    with db.transaction() as session:
        return session.exec(select(func.count()).select_from(ConsoleSession)).one()


def test_a_code_arrives_on_telegram_and_logs_in(
    db: Database, client: TestClient, fake_telegram: FakeTelegram
) -> None:
    member_id = add_staff(db, "coordinator")
    console = Console(client)
    assert console.get("/console/").status_code == 303  # to the login page first
    page = console.ask_code("0812-0000-0071")  # any Indonesian form of her number
    assert page.status_code == 200
    assert "Kode sudah dikirim ke chat Anda" in page.text
    wait(lambda: bool(fake_telegram.texts(7071)), "the code on Telegram", db)
    [message] = fake_telegram.texts(7071)
    code = latest_code(db, member_id)
    assert message.startswith(f"Kode masuk konsol WLCC Anda: {code}")
    answer = console.enter_code(staff_phone("coordinator"), code, "/console/?x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/?x=1"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console/" in cookie
    home = console.get("/console/")
    assert home.status_code == 200
    assert "Selamat datang, Rina Wulandari" in home.text
    assert home.headers["cache-control"] == "no-store"
    # The same code a second time does nothing.
    again = Console(TestClient(client.app)).enter_code(staff_phone("coordinator"), code)
    assert again.status_code == 401
    assert "sudah dipakai" in again.text


def test_a_wrong_or_expired_code_is_refused(db: Database, client: TestClient) -> None:
    member_id = add_staff(db, "treasurer")
    console = Console(client)
    console.ask_code(staff_phone("treasurer"))
    code = latest_code(db, member_id)
    wrong = "000000" if code != "000000" else "111111"
    answer = console.enter_code(staff_phone("treasurer"), wrong)
    assert answer.status_code == 401
    assert "Kode salah" in answer.text
    # An older code stops working once a new one was asked for.
    console.ask_code(staff_phone("treasurer"))
    assert console.enter_code(staff_phone("treasurer"), code).status_code == 401 or code == (
        latest_code(db, member_id)
    )
    assert _sessions(db) == 0


def test_a_member_who_is_not_staff_cannot_log_in(db: Database, client: TestClient) -> None:
    add_staff(db, "member")
    console = Console(client)
    for number in (staff_phone("member"), "+6281299999999"):  # a member, and nobody
        page = console.ask_code(number)
        assert page.status_code == 403
        assert "Konsol hanya untuk pengurus" in page.text
    with db.transaction() as session:
        refused = session.exec(
            select(AuditLog).where(AuditLog.action == "console.login", AuditLog.allowed == False)  # noqa: E712
        ).all()
    assert len(refused) == 2


def test_a_bad_phone_is_a_422(client: TestClient) -> None:
    page = Console(client).ask_code("not a number")
    assert page.status_code == 422
    assert "tidak bisa dibaca" in page.text


def test_login_forms_need_their_token(db: Database, client: TestClient) -> None:
    add_staff(db, "coordinator")
    answer = client.post(
        "/console/login/code-request",
        data={"token": "forged" * 5, "phone": staff_phone("coordinator")},
    )
    assert answer.status_code == 403
    assert "tidak berasal dari konsol" in answer.text


def test_a_password_logs_in_and_a_wrong_one_does_not(db: Database, client: TestClient) -> None:
    member_id = add_staff(db, "admin")
    with db.transaction() as session:
        member = session.get(Member, member_id)
        assert member is not None
        set_password(session, member, "kopi susu gula aren", member.created_at)
    console = Console(client)
    token = console.login_token()
    wrong = client.post(
        "/console/login/password",
        data={"token": token, "phone": staff_phone("admin"), "password": "kopi susu"},
    )
    assert wrong.status_code == 401
    right = client.post(
        "/console/login/password",
        data={"token": token, "phone": staff_phone("admin"), "password": "kopi susu gula aren"},
        follow_redirects=False,
    )
    assert right.status_code == 303
    assert console.get("/console/").status_code == 200


def test_too_many_failures_lock_the_phone_out(db: Database, client: TestClient) -> None:
    member_id = add_staff(db, "coordinator")
    console = Console(client)
    for _ in range(MAX_FAILURES_PER_PHONE):
        assert console.enter_code(staff_phone("coordinator"), "123456").status_code == 401
    console.ask_code(staff_phone("coordinator"))  # refused too: no code is sent
    locked = console.enter_code(staff_phone("coordinator"), "123456")
    assert locked.status_code == 429
    assert "Tunggu 15 menit" in locked.text
    with pytest.raises(AssertionError):
        latest_code(db, member_id)


def test_logout_ends_the_session_everywhere(db: Database, client: TestClient) -> None:
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    cookie = client.cookies.get("wlcc_console")
    assert console.post("/console/logout").status_code == 303
    other = TestClient(client.app, cookies={"wlcc_console": cookie or ""})
    assert other.get("/console/", follow_redirects=False).status_code == 303
    assert console.get("/console/").status_code == 303


def test_logout_without_the_csrf_token_is_refused(db: Database, client: TestClient) -> None:
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    assert console.post("/console/logout", csrf="forged").status_code == 403
    assert console.post("/console/logout", csrf="").status_code == 403
    assert console.get("/console/").status_code == 200  # still logged in: nothing changed


def test_a_cookie_from_another_instance_is_unknown(db: Database, client: TestClient) -> None:
    stranger = TestClient(client.app, cookies={"wlcc_console": "x" * 43})
    page = stranger.get("/console/", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=/console/"
    assert stranger.post("/console/logout", data={"csrf": "y"}).status_code == 401


def test_an_expired_session_logs_out(db: Database, client: TestClient) -> None:
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    with db.transaction() as session:
        row = session.exec(select(ConsoleSession)).one()
        row.expires_at = row.created_at - timedelta(seconds=1)
        session.add(row)
    assert console.get("/console/").status_code == 303


def test_the_console_speaks_english_on_request(db: Database, client: TestClient) -> None:
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    console.get("/console/lang/en?next=/console/")
    assert "Welcome, Rina Wulandari" in console.get("/console/").text


def test_unknown_console_pages_are_html_404s(db: Database, client: TestClient) -> None:
    page = client.get("/console/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert client.get("/no-such-thing").headers["content-type"].startswith("application/json")
