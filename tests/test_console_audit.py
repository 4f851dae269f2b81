"""The audit log on the console: admins only, newest first, filtered by action, result, actor
and days, in pages; filters and pages out of range are refused (422 / 404)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from storage.audit import record_audit
from storage.db import Database
from storage.models import Community
from tests.console_support import ROLES, Console, add_staff
from tests.outbox_support import COMMUNITY

# 2026-03-10 12:00 UTC is 19:00 WIB the same day.
BASE = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TARGETS = re.compile(r"<td>(t-[a-z0-9-]+)</td>")


def add_line(
    db: Database,
    target: str,
    *,
    action: str = "member.approve",
    allowed: bool = True,
    actor: int | None = None,
    at: datetime = BASE,
    community: int | None = COMMUNITY,
) -> None:
    with db.transaction() as session:
        record_audit(
            session,
            action=action,
            allowed=allowed,
            community_id=community,
            actor_member_id=actor,
            actor_identity_id=None,
            channel="telegram",
            target=target,
            detail={"note": target},
            now=at,
        )


def targets(page: str) -> list[str]:
    return TARGETS.findall(page)


@pytest.fixture
def admin(db: Database, client: TestClient) -> Console:
    add_staff(db, "admin")
    return Console(client).login(db, "admin")


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_read_the_log(db: Database, client: TestClient, role: str) -> None:
    add_line(db, "t-secret")
    add_staff(db, role)
    console = Console(client).login(db, role)
    page = console.get("/console/audit")
    assert page.status_code == (200 if role == "admin" else 403)
    assert ("t-secret" in page.text) == (role == "admin")
    assert ('href="/console/audit"' in console.get("/console/").text) == (role == "admin")


def test_newest_first_with_who_and_what(db: Database, admin: Console) -> None:
    coordinator = add_staff(db, "coordinator")
    add_line(db, "t-old", at=BASE - timedelta(days=2))
    add_line(db, "t-new", actor=coordinator, allowed=False)
    add_line(db, "t-middle", at=BASE - timedelta(days=1))
    page = admin.get("/console/audit")
    assert page.status_code == 200
    assert targets(page.text) == ["t-new", "t-middle", "t-old"]
    assert "Rina Wulandari" in page.text and "Ditolak" in page.text and "Diizinkan" in page.text
    assert "{&#34;note&#34;: &#34;t-new&#34;}" in page.text  # the detail, escaped
    assert "<caption>" in page.text and '<th scope="col">' in page.text


def test_lines_of_another_community_are_not_shown(db: Database, admin: Console) -> None:
    with db.transaction() as session:
        other = Community(slug="lain", name="Lain")
        session.add(other)
        session.flush()
        other_id = other.id
    add_line(db, "t-ours")
    add_line(db, "t-theirs", community=other_id)
    add_line(db, "t-nobodys", community=None)  # a failed login of an unknown number
    assert sorted(targets(admin.get("/console/audit").text)) == ["t-nobodys", "t-ours"]


def test_filters(db: Database, admin: Console) -> None:
    coordinator = add_staff(db, "coordinator")
    add_line(db, "t-approve", actor=coordinator)
    add_line(db, "t-refused", action="ledger.record", allowed=False, actor=coordinator)
    add_line(db, "t-early", action="ledger.record", at=BASE - timedelta(days=5))
    # 23:30 WIB on 10 March, 00:30 WIB on 11 March: the days are the community's days.
    add_line(db, "t-late-10", at=datetime(2026, 3, 10, 16, 30, tzinfo=UTC))
    add_line(db, "t-early-11", at=datetime(2026, 3, 10, 17, 30, tzinfo=UTC))

    def shown(query: str) -> list[str]:
        page = admin.get(f"/console/audit?{query}")
        assert page.status_code == 200, (query, page.text)
        return sorted(targets(page.text))

    assert shown("action=ledger.record") == ["t-early", "t-refused"]
    assert shown("allowed=no") == ["t-refused"]
    assert "t-approve" in shown("allowed=yes") and "t-refused" not in shown("allowed=yes")
    assert shown(f"actor={coordinator}") == ["t-approve", "t-refused"]
    assert shown("action=ledger.record&allowed=yes") == ["t-early"]
    assert shown("from=2026-03-05&to=2026-03-05") == ["t-early"]
    assert shown("from=2026-03-11") == ["t-early-11"]
    assert shown("to=2026-03-10") == ["t-approve", "t-early", "t-late-10", "t-refused"]
    assert shown("from=2026-03-10&to=2026-03-10") == ["t-approve", "t-late-10", "t-refused"]
    page = admin.get("/console/audit?action=ledger.record&allowed=no")
    assert '<option value="ledger.record" selected>' in page.text
    assert '<option value="no" selected>' in page.text


def test_pages(db: Database, admin: Console) -> None:
    for n in range(120):
        add_line(db, f"t-{n:03d}", at=BASE + timedelta(minutes=n))
    first = admin.get("/console/audit?action=member.approve")
    assert targets(first.text)[:2] == ["t-119", "t-118"] and len(targets(first.text)) == 50
    assert 'href="/console/audit?action=member.approve&amp;page=2"' in first.text
    third = admin.get("/console/audit?action=member.approve&page=3")
    assert targets(third.text) == [f"t-{n:03d}" for n in range(19, -1, -1)]
    assert "page=4" not in third.text
    for page in ("4", "0", "-1", "x", "99999999999999999999"):
        answer = admin.get(f"/console/audit?action=member.approve&page={page}")
        assert answer.status_code == 404, page
    assert admin.get("/console/audit?allowed=no&page=2").status_code == 404  # one empty page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("allowed=maybe", "Pilih Diizinkan, Ditolak atau Semua."),
        ("action=nothing.like.this", "Kegiatan ini tidak ada di catatan."),
        ("actor=999", "Orang ini tidak ada di catatan."),
        ("actor=abc", "Orang ini tidak ada di catatan."),
        ("from=2026-13-01", "Tanggal tidak bisa dibaca."),
        ("to=yesterday", "Tanggal tidak bisa dibaca."),
        ("from=2026-03-12&to=2026-03-10", "Tanggal awal sesudah tanggal akhir."),
    ],
)
def test_bad_filters_are_422_with_the_form(
    db: Database, admin: Console, query: str, message: str
) -> None:
    add_line(db, "t-one")
    page = admin.get(f"/console/audit?{query}")
    assert page.status_code == 422
    assert message in page.text
    assert 'action="/console/audit"' in page.text  # the filters, to correct
    assert targets(page.text) == []


def test_the_log_is_in_english_too(db: Database, admin: Console) -> None:
    add_line(db, "t-one", allowed=False)
    admin.client.get("/console/lang/en?next=/console/audit")
    page = admin.get("/console/audit")
    assert "Audit log" in page.text and "Refused" in page.text
