"""The console's home page: the menu and the pictures each role may see, and no more."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from console import web
from storage.db import Database
from storage.ledger import deposit
from tests.console_support import Console, add_staff
from tests.outbox_support import COMMUNITY, add_member, phone


@pytest.fixture(autouse=True)
def _fresh_pictures() -> Iterator[None]:
    web._dashboards.clear()
    yield
    web._dashboards.clear()


def _with_savings(db: Database) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", phone(1))
        assert siti.id is not None
        deposit(
            session,
            community_id=COMMUNITY,
            member_id=siti.id,
            kind="sukarela",
            amount=150_000,
            channel="cli",
        )


@pytest.mark.parametrize(
    ("role", "charts", "hidden"),
    [
        ("treasurer", ["chart-savings", "chart-loans"], ["chart-attendance", "chart-complaints"]),
        ("coordinator", ["chart-attendance", "chart-complaints"], ["chart-savings", "Rp"]),
        ("protection_officer", [], ["chart-", "Rp"]),
        ("admin", ["chart-attendance", "chart-savings", "chart-complaints"], []),
    ],
)
def test_each_role_sees_its_pictures(
    db: Database, client: TestClient, role: str, charts: list[str], hidden: list[str]
) -> None:
    _with_savings(db)
    add_staff(db, role)
    home = Console(client).login(db, role).get("/console/")
    assert home.status_code == 200
    for name in charts:
        assert f'id="{name}' in home.text, name
    for name in hidden:
        assert name not in home.text, name
    if "chart-savings" in charts:
        assert "Rp150.000" in home.text  # the table beside the picture has the figure


def test_the_pictures_are_kept_for_a_minute(db: Database, client: TestClient) -> None:
    add_staff(db, "treasurer")
    console = Console(client).login(db, "treasurer")
    assert "Rp150.000" not in console.get("/console/").text
    _with_savings(db)
    assert "Rp150.000" not in console.get("/console/").text  # the same picture, a minute old
    web._dashboards.clear()
    assert "Rp150.000" in console.get("/console/").text
