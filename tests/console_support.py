"""Driving the staff console as a browser does, through a starlette ``TestClient``: staff
members with a linked chat, logging in with the code the outbox holds for them, and posting
forms with the page's CSRF token."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import col, select
from starlette.testclient import TestClient

from storage.console import CODE_KIND
from storage.db import Database
from storage.models import Member, OutboxMessage
from tests.outbox_support import add_member, phone

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN_TOKEN = re.compile(r'name="token" value="([^"]+)"')
CODE = re.compile(r"\b(\d{6})\b")

# One staff member of each role the console knows, and a plain member (who may not log in).
ROLES = ("coordinator", "treasurer", "admin", "protection_officer")
NAMES = {
    "coordinator": "Rina Wulandari",
    "treasurer": "Dewi Sartika",
    "admin": "Admin Satu",
    "protection_officer": "Maya Petugas",
    "member": "Siti Aminah",
}
NUMBERS = {"coordinator": 71, "treasurer": 72, "admin": 73, "protection_officer": 74, "member": 75}


def staff_phone(role: str) -> str:
    return phone(NUMBERS[role])


def add_staff(db: Database, role: str) -> int:
    """A member of ``role`` linked on Telegram (chat id 7000 + her number); returns her id."""
    with db.transaction() as session:
        member = add_member(
            session, NAMES[role], staff_phone(role), role=role, telegram=str(7000 + NUMBERS[role])
        )
        assert member.id is not None
        return member.id


def latest_code(db: Database, member_id: int) -> str:
    with db.transaction() as session:
        row = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.kind == CODE_KIND, OutboxMessage.member_id == member_id)
            .order_by(col(OutboxMessage.id).desc())
        ).first()
    assert row is not None, "no login code was queued"
    match = CODE.search(row.text)
    assert match is not None, row.text
    return match.group(1)


class Console:
    """A logged-out or logged-in browser on the console."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def login_token(self) -> str:
        page = self.client.get("/console/login")
        match = LOGIN_TOKEN.search(page.text)
        assert match is not None, page.text
        return match.group(1)

    def ask_code(self, number: str) -> Any:
        return self.client.post(
            "/console/login/code-request", data={"token": self.login_token(), "phone": number}
        )

    def enter_code(self, number: str, code: str, next_url: str = "") -> Any:
        return self.client.post(
            "/console/login/code",
            data={"token": self.login_token(), "phone": number, "code": code, "next": next_url},
            follow_redirects=False,
        )

    def login(self, db: Database, role: str) -> Console:
        """Log in as the staff member of ``role`` (added by :func:`add_staff`) with a code."""
        number = staff_phone(role)
        assert self.ask_code(number).status_code == 200
        with db.transaction() as session:
            member = session.exec(select(Member).where(Member.phone == number)).one()
            assert member.id is not None
            member_id = member.id
        answer = self.enter_code(number, latest_code(db, member_id))
        assert answer.status_code == 303, answer.text
        return self

    def csrf(self, path: str = "/console/") -> str:
        page = self.client.get(path)
        match = CSRF.search(page.text)
        assert match is not None, f"no CSRF token on {path}: {page.status_code}"
        return match.group(1)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, follow_redirects=False, **kwargs)

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: str | None = None, **kw: Any
    ) -> Any:
        """A form post with the console's CSRF token (from the home page unless given)."""
        form = dict(data or {})
        form.setdefault("csrf", csrf if csrf is not None else self.csrf())
        return self.client.post(path, data=form, follow_redirects=False, **kw)
