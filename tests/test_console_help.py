"""The help path's call-back requests on the console: protection officers only (coordinators and
admins are refused like everyone else), marked handled as SELESAI does, and nothing of a
request anywhere else (not in the audit log, not on the admin's pages)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from storage.db import Database
from storage.help_requests import (
    NOTICE_KIND,
    HelpContact,
    HelpRequest,
    HelpStatus,
    notice_key,
)
from storage.models import AuditLog, OutboxMessage
from storage.outbox import enqueue
from tests.console_support import ROLES, Console, add_staff
from tests.outbox_support import COMMUNITY
from wlcc.formatting import utcnow

PHONE = "+6281377770001"
NOTE = "Suami pulang jam lima"
SAFE_TIME = "Pagi sebelum jam sepuluh"


def add_request(
    db: Database,
    ref: str,
    status: str = HelpStatus.OPEN,
    *,
    contact: str = HelpContact.CALL,
    note: str | None = NOTE,
    minutes_ago: int = 30,
) -> None:
    moment = utcnow() - timedelta(minutes=minutes_ago)
    with db.transaction() as session:
        session.add(
            HelpRequest(
                community_id=COMMUNITY,
                ref=ref,
                status=status,
                contact=contact,
                phone=PHONE,
                safe_time=SAFE_TIME,
                note=note,
                created_at=moment,
                sent_at=moment if status != HelpStatus.DRAFT else None,
            )
        )


def request_of(db: Database, ref: str) -> HelpRequest | None:
    with db.transaction() as session:
        return session.exec(select(HelpRequest).where(HelpRequest.ref == ref)).first()


def audit_lines(db: Database) -> list[AuditLog]:
    with db.transaction() as session:
        return list(session.exec(select(AuditLog)))


@pytest.mark.parametrize("role", ROLES)
def test_only_protection_officers_see_the_requests(
    db: Database, client: TestClient, role: str
) -> None:
    add_request(db, "TL-7K3R9")
    add_staff(db, role)
    console = Console(client).login(db, role)
    page = console.get("/console/help")
    home = console.get("/console/")
    if role == "protection_officer":
        assert page.status_code == 200
        assert 'href="/console/help"' in home.text
        return
    assert page.status_code == 403
    assert 'href="/console/help"' not in home.text
    for text in (PHONE, NOTE, SAFE_TIME, "TL-7K3R9"):
        assert text not in page.text
    answer = console.post("/console/help/TL-7K3R9/handled")
    assert answer.status_code == 403
    found = request_of(db, "TL-7K3R9")
    assert found is not None and found.status == HelpStatus.OPEN
    refused = [a for a in audit_lines(db) if a.action == "safety.receive"]
    assert len(refused) == 2 and not any(a.allowed for a in refused)


def test_the_officer_sees_the_open_requests_oldest_first(db: Database, client: TestClient) -> None:
    add_request(db, "TL-7K3R9", minutes_ago=60)
    add_request(db, "TL-4MX6C", contact=HelpContact.MESSAGE, note=None, minutes_ago=5)
    add_request(db, "TL-3ACDE", HelpStatus.DRAFT)
    add_request(db, "TL-9FHJK", HelpStatus.HANDLED)
    add_staff(db, "protection_officer")
    page = Console(client).login(db, "protection_officer").get("/console/help")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert text.index("TL-7K3R9") < text.index("TL-4MX6C")
    assert "TL-3ACDE" not in text and "TL-9FHJK" not in text  # a draft, a handled one
    assert f"Telepon ke {PHONE}" in text
    assert f"Kirim pesan ke {PHONE}, jangan menelepon" in text
    assert SAFE_TIME in text and NOTE in text
    assert "2 permintaan menunggu" in text
    assert 'action="/console/help/TL-7K3R9/handled"' in text and 'name="csrf"' in text


def test_no_request_waiting(db: Database, client: TestClient) -> None:
    add_staff(db, "protection_officer")
    page = Console(client).login(db, "protection_officer").get("/console/help")
    assert "Tidak ada permintaan yang menunggu." in page.text


def test_marking_a_request_handled(db: Database, client: TestClient) -> None:
    add_request(db, "TL-7K3R9")
    officer_id = add_staff(db, "protection_officer")
    with db.transaction() as session:  # the officers' notice, still waiting
        enqueue(
            session,
            key=notice_key("TL-7K3R9", officer_id),
            kind=NOTICE_KIND,
            community_id=COMMUNITY,
            member_id=officer_id,
            text=f"TL-7K3R9 {PHONE} {NOTE}",
            not_before=utcnow() + timedelta(hours=1),  # not being sent right now
        )
    console = Console(client).login(db, "protection_officer")
    answer = console.post("/console/help/tl-7k3r9/handled")  # typed as in the chat
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/help?done=TL-7K3R9"
    found = request_of(db, "TL-7K3R9")
    assert found is not None and found.status == HelpStatus.HANDLED
    assert found.handled_by_member_id == officer_id and found.handled_at is not None
    with db.transaction() as session:
        assert not session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == NOTICE_KIND)
        ).all()
    page = console.get(answer.headers["location"])
    assert "TL-7K3R9 ditandai sudah ditangani." in page.text
    assert PHONE not in page.text
    # Audited as the chat does: that an officer marked one, not which one nor anything of it.
    [entry] = [a for a in audit_lines(db) if a.action == "safety.handled"]
    assert entry.allowed and entry.actor_member_id == officer_id and entry.channel == "console"
    assert entry.target is None and entry.detail == {}
    # Again: nothing changes, nothing more is audited.
    assert console.post("/console/help/TL-7K3R9/handled").status_code == 303
    assert len([a for a in audit_lines(db) if a.action == "safety.handled"]) == 1


def test_nothing_of_a_request_reaches_the_audit_log(db: Database, client: TestClient) -> None:
    add_request(db, "TL-7K3R9")
    for role in ("protection_officer", "coordinator", "admin"):
        add_staff(db, role)
    officer = Console(client).login(db, "protection_officer")
    officer.get("/console/help")
    officer.post("/console/help/TL-7K3R9/handled")
    Console(TestClient(client.app)).login(db, "coordinator").get("/console/help")
    admin = Console(TestClient(client.app)).login(db, "admin")
    for line in audit_lines(db):
        blob = f"{line.target} {line.detail}"
        for text in (PHONE, NOTE, SAFE_TIME, "TL-7K3R9"):
            assert text not in blob, (line.action, blob)
    log = admin.get("/console/audit")
    assert log.status_code == 200
    for text in (PHONE, NOTE, SAFE_TIME, "TL-7K3R9"):
        assert text not in log.text


@pytest.mark.parametrize("ref", ["TL-99999", "nonsense", "TL-3ACDE"])
def test_unknown_malformed_or_draft_references_are_404(
    db: Database, client: TestClient, ref: str
) -> None:
    add_request(db, "TL-3ACDE", HelpStatus.DRAFT)
    add_staff(db, "protection_officer")
    console = Console(client).login(db, "protection_officer")
    answer = console.post(f"/console/help/{ref}/handled")
    assert answer.status_code == 404
    assert "Permintaan ini tidak ada." in answer.text
    draft = request_of(db, "TL-3ACDE")
    assert draft is not None and draft.status == HelpStatus.DRAFT
    assert not [a for a in audit_lines(db) if a.action == "safety.handled"]


def test_marking_handled_needs_the_csrf_token(db: Database, client: TestClient) -> None:
    add_request(db, "TL-7K3R9")
    add_staff(db, "protection_officer")
    console = Console(client).login(db, "protection_officer")
    for csrf in ("", "forged-token-forged-token"):
        assert console.post("/console/help/TL-7K3R9/handled", csrf=csrf).status_code == 403
    found = request_of(db, "TL-7K3R9")
    assert found is not None and found.status == HelpStatus.OPEN


def test_a_get_of_the_handled_route_is_not_a_change(db: Database, client: TestClient) -> None:
    add_request(db, "TL-7K3R9")
    add_staff(db, "protection_officer")
    console = Console(client).login(db, "protection_officer")
    assert console.get("/console/help/TL-7K3R9/handled").status_code in (404, 405)
    found = request_of(db, "TL-7K3R9")
    assert found is not None and found.status == HelpStatus.OPEN
