"""The console's complaint pages as coordinators and admins use them (the real app on the test
database): the list with its filters and pages, the exports, the map and its JSON, a ticket
with its photos and voice note, the status change (the reporter's notice in the outbox), the
internal notes (never on Open311 nor in STATUS), the Open311 choice; and every way they refuse:
other roles, a forged form, an unknown code, a filter out of range."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from console import complaints as pages
from handlers.router import Router
from storage.complaints import (
    NOTICE_KIND,
    Category,
    Complaint,
    ComplaintEvent,
    Intake,
    Status,
    add_note,
    change_status,
    create_complaint,
)
from storage.complaints_escalation import ESCALATION_LABEL, VERIFY
from storage.db import Database
from storage.help_requests import HelpStatus, start_request
from storage.media import create_intake_media, set_media_error, store_media
from storage.models import AuditLog, OutboxMessage
from tests.console_support import Console, add_staff
from tests.outbox_support import COMMUNITY, Chat, add_member, phone
from wlcc.formatting import utcnow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
OGG = b"OggS" + b"\x00" * 32
INTERNAL = "CATATAN-INTERNAL-5521"
HELP_MARKER = "RAHASIA-TOLONG-8812"
REPORTER_PHONE = phone(31)
REPORTER_CHAT = 7131
ROW_CODE = re.compile(r'<th scope="row"><a href="/console/complaints/([A-Z]{2}-[0-9A-Z]{5,7})">')


@dataclass
class Tickets:
    leak: str  # Siti's, with a pin, a photo, a voice note (23 Ilir, 10 days old, received)
    smell: str  # by address, no pin (19 Ilir, today)
    resolved: str  # an excavation, resolved (23 Ilir, 40 days old)
    leak_id: int
    photo_id: int
    voice_id: int
    refused_photo_id: int  # a photo the bot could not keep
    other_photo_id: int  # the smell's photo
    reporter_id: int


@pytest.fixture
def tickets(db: Database) -> Tickets:
    now = utcnow()
    with db.transaction() as session:
        siti = add_member(
            session, "Siti Aminah", REPORTER_PHONE, kelurahan="23 Ilir", telegram=str(REPORTER_CHAT)
        )
        assert siti.id is not None

        def media(ref: str, data: bytes | None, kind: str) -> int:
            row = create_intake_media(
                session,
                community_id=COMMUNITY,
                source_channel="telegram",
                source_ref=ref,
                content_type=kind,
                now=now,
            )
            assert row.id is not None
            if data is not None:
                store_media(session, row.id, data, kind, now)
            else:
                set_media_error(session, row.id, "not a photo (by its content)")
            return row.id

        photo = media("p1", PNG, "image/png")
        refused = media("p2", None, "image/jpeg")
        voice = media("v1", OGG, "audio/ogg")
        other = media("p3", PNG, "image/png")
        leak = create_complaint(
            session,
            community_id=COMMUNITY,
            intake=Intake(
                category=Category.LEAK,
                description="Pipa bocor depan rumah",
                voice_media_id=voice,
                latitude=-2.991234,
                longitude=104.756789,
                address="Jl. Mawar 3",
                rt_rw="3/5",
                kelurahan="23 Ilir",
                contact_ok=True,
                photo_media_ids=[photo, refused],
            ),
            identity_id=None,
            member_id=siti.id,
            channel="telegram",
            now=now - timedelta(days=10),
        )
        smell = create_complaint(
            session,
            community_id=COMMUNITY,
            intake=Intake(
                category=Category.SMELL,
                description="Bau menyengat",
                address="Jl. Kenanga",
                kelurahan="19 Ilir",
                photo_media_ids=[other],
            ),
            identity_id=None,
            member_id=None,
            channel="cli",
            now=now,
        )
        done = create_complaint(
            session,
            community_id=COMMUNITY,
            intake=Intake(
                category=Category.EXCAVATION,
                description="Galian terbuka",
                latitude=-2.98,
                longitude=104.76,
                kelurahan="23 Ilir",
            ),
            identity_id=None,
            member_id=None,
            channel="cli",
            now=now - timedelta(days=40),
        )
        change_status(session, done, Status.VERIFIED, now=now - timedelta(days=39))
        change_status(session, done, Status.RESOLVED, note="Sudah ditutup", now=now)
        assert leak.id is not None
        return Tickets(
            leak.code,
            smell.code,
            done.code,
            leak.id,
            photo,
            voice,
            refused,
            other,
            siti.id,
        )


def console_as(db: Database, client: TestClient, role: str) -> Console:
    add_staff(db, role)
    return Console(client).login(db, role)


def codes_on(page: Any) -> list[str]:
    """The ticket codes in a list page's table, in order."""
    return ROW_CODE.findall(page.text)


def outbox_for(db: Database, member_id: int) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.member_id == member_id, OutboxMessage.kind == NOTICE_KIND)
                .order_by(col(OutboxMessage.id))
            ).all()
        )


def status_of(db: Database, code: str) -> str:
    with db.transaction() as session:
        return session.exec(select(Complaint.status).where(Complaint.code == code)).one()


# ---------------------------------------------------------------------------------------------
# Every page, as the two roles that triage


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_every_page_opens_for_coordinators_and_admins(
    db: Database, client: TestClient, tickets: Tickets, role: str
) -> None:
    console = console_as(db, client, role)
    home = console.get("/console/")
    assert 'href="/console/complaints"' in home.text  # in the menu
    listed = console.get("/console/complaints")
    assert listed.status_code == 200
    assert codes_on(listed) == [tickets.leak, tickets.smell]  # open ones, oldest first
    assert "<caption>" in listed.text and 'scope="col"' in listed.text
    assert 'aria-current="page"' in listed.text
    assert console.get("/console/complaints/map").status_code == 200
    points = console.get("/console/complaints/map.json")
    assert points.status_code == 200 and points.json()["shown"] == 1  # the smell has no pin
    ticket = console.get(f"/console/complaints/{tickets.leak}")
    assert ticket.status_code == 200
    for text in ("Pipa bocor depan rumah", "Jl. Mawar 3", "003/005", "23 Ilir", "-2.991234"):
        assert text in ticket.text
    assert console.get(f"/console/complaints/{tickets.resolved}").status_code == 200
    for fmt in ("csv", "geojson"):
        assert console.get(f"/console/complaints/export?format={fmt}").status_code == 200
    media = console.get(f"/console/complaints/{tickets.leak}/media/{tickets.photo_id}")
    assert media.status_code == 200 and media.content == PNG
    # Each form works for her too.
    csrf = console.csrf(f"/console/complaints/{tickets.leak}")
    for path, data in (
        ("notes", {"note": "Dicek besok"}),
        ("public", {"public": "yes"}),
        ("status", {"to": "verified", "note": ""}),
    ):
        answer = console.post(f"/console/complaints/{tickets.leak}/{path}", data, csrf=csrf)
        assert answer.status_code == 303, (path, answer.text)
    assert status_of(db, tickets.leak) == Status.VERIFIED


def test_the_pages_speak_english_too(db: Database, client: TestClient, tickets: Tickets) -> None:
    console = console_as(db, client, "coordinator")
    client.cookies.set("wlcc_console_lang", "en", path="/console/")
    assert "Complaints" in console.get("/console/complaints").text
    page = console.get(f"/console/complaints/{tickets.leak}")
    assert f"Report {tickets.leak}" in page.text and "Internal notes" in page.text


GETS = (
    "/console/complaints",
    "/console/complaints/map",
    "/console/complaints/map.json",
    "/console/complaints/export?format=csv",
    "/console/complaints/{code}",
    "/console/complaints/{code}/media/{photo}",
)
POSTS = ("status", "notes", "public")


@pytest.mark.parametrize("role", ["treasurer", "protection_officer"])
def test_the_treasurer_and_the_protection_officer_are_refused(
    db: Database, client: TestClient, tickets: Tickets, role: str
) -> None:
    console = console_as(db, client, role)
    assert 'href="/console/complaints"' not in console.get("/console/").text
    for path in GETS:
        answer = console.get(path.format(code=tickets.leak, photo=tickets.photo_id))
        assert answer.status_code == 403, path
        assert "bukan untuk peran Anda" in answer.text
    for path in POSTS:
        answer = console.post(
            f"/console/complaints/{tickets.leak}/{path}",
            {"to": "verified", "note": "x", "public": "yes"},
        )
        assert answer.status_code == 403
    assert status_of(db, tickets.leak) == Status.RECEIVED
    with db.transaction() as session:
        refused = session.exec(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "complaint.triage", AuditLog.allowed == False)  # noqa: E712
        ).one()
    assert refused == len(GETS) + len(POSTS)


def test_logged_out_visitors_go_to_the_login_page(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = Console(client)
    for path in GETS:
        answer = console.get(path.format(code=tickets.leak, photo=tickets.photo_id))
        assert answer.status_code == 303 and "/console/login" in answer.headers["location"]
    answer = client.post(f"/console/complaints/{tickets.leak}/status", data={"to": "verified"})
    assert answer.status_code == 401


# ---------------------------------------------------------------------------------------------
# The status change


def test_a_status_change_tells_the_reporter_through_the_outbox(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")
    before = len(outbox_for(db, tickets.reporter_id))
    answer = console.post(
        f"/console/complaints/{tickets.leak}/status",
        {"to": "verified", "note": "Petugas datang hari Senin"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/complaints/{tickets.leak}?done=status"
    notices = outbox_for(db, tickets.reporter_id)
    assert len(notices) == before + 1
    assert tickets.leak in notices[-1].text
    assert "Sudah dicek pengurus" in notices[-1].text
    assert "Petugas datang hari Senin" in notices[-1].text
    page = console.get(answer.headers["location"])
    assert "Status sudah diubah" in page.text
    assert "Petugas datang hari Senin" in page.text  # in the history
    with db.transaction() as session:
        [line] = session.exec(
            select(AuditLog).where(
                AuditLog.action == "complaint.status", AuditLog.target == tickets.leak
            )
        ).all()
        assert line.channel == "console" and line.target == tickets.leak
        assert line.actor_member_id is not None
    # Forwarded, to whom: the same notice says it.
    answer = console.post(
        f"/console/complaints/{tickets.leak}/status",
        {"to": "forwarded", "forwarded_to": "PDAM Tirta Musi", "note": ""},
    )
    assert answer.status_code == 303
    assert "PDAM Tirta Musi" in outbox_for(db, tickets.reporter_id)[-1].text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"to": "forwarded", "note": "x"}, "Perubahan itu tidak bisa dari status Diterima."),
        ({"to": "resolved"}, "Perubahan itu tidak bisa dari status Diterima."),
        ({"to": "received"}, "Laporan ini sudah berstatus itu."),
        ({"to": "nonsense"}, "Status itu tidak dikenal."),
        ({"to": ""}, "Status itu tidak dikenal."),
        ({"to": "duplicate"}, "Tulis nomor laporan yang sama."),
        ({"to": "duplicate", "duplicate_of": "AL-33333"}, "harus laporan lain"),
        ({"to": "duplicate", "duplicate_of": "{leak}"}, "harus laporan lain"),
    ],
)
def test_a_refused_status_change_changes_nothing_and_says_why(
    db: Database, client: TestClient, tickets: Tickets, data: dict[str, str], message: str
) -> None:
    console = console_as(db, client, "coordinator")
    before = len(outbox_for(db, tickets.reporter_id))
    data = {k: v.format(leak=tickets.leak) for k, v in data.items()}
    answer = console.post(f"/console/complaints/{tickets.leak}/status", data)
    assert answer.status_code == 422
    assert message in answer.text
    assert 'action="/console/complaints/' in answer.text  # the form again
    if data.get("note"):
        assert f">{data['note']}</textarea>" in answer.text  # what she typed is kept
    assert status_of(db, tickets.leak) == Status.RECEIVED
    assert len(outbox_for(db, tickets.reporter_id)) == before
    with db.transaction() as session:
        audited = session.exec(
            select(AuditLog).where(
                AuditLog.action == "complaint.status", AuditLog.target == tickets.leak
            )
        ).all()
    assert [a.allowed for a in audited] == [False]


def test_forwarded_needs_to_whom(db: Database, client: TestClient, tickets: Tickets) -> None:
    console = console_as(db, client, "coordinator")
    path = f"/console/complaints/{tickets.leak}/status"
    assert console.post(path, {"to": "verified"}).status_code == 303
    told = len(outbox_for(db, tickets.reporter_id))
    answer = console.post(path, {"to": "forwarded", "forwarded_to": " ", "note": "Segera"})
    assert answer.status_code == 422 and "Tulis diteruskan kepada siapa." in answer.text
    assert ">Segera</textarea>" in answer.text
    assert status_of(db, tickets.leak) == Status.VERIFIED
    assert len(outbox_for(db, tickets.reporter_id)) == told


def test_a_duplicate_joins_its_reporters_to_the_other_ticket(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")
    answer = console.post(
        f"/console/complaints/{tickets.leak}/status",
        {"to": "duplicate", "duplicate_of": tickets.smell.lower().replace("-", " ")},
    )
    assert answer.status_code == 303
    with db.transaction() as session:
        smell = session.exec(select(Complaint).where(Complaint.code == tickets.smell)).one()
        assert smell.reporter_count == 2
    page = console.get(f"/console/complaints/{tickets.leak}")
    assert f'href="/console/complaints/{tickets.smell}"' in page.text
    assert "Statusnya tidak bisa diubah lagi" in page.text  # closed: no form


def test_a_closed_ticket_has_no_status_form(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")
    with db.transaction() as session:
        ticket = session.exec(select(Complaint).where(Complaint.code == tickets.smell)).one()
        change_status(session, ticket, Status.REJECTED, note="Bukan pekerjaan kami")
    page = console.get(f"/console/complaints/{tickets.smell}")
    assert "/status" not in page.text
    answer = console.post(f"/console/complaints/{tickets.smell}/status", {"to": "verified"})
    assert answer.status_code == 422 and "sudah ditutup" in answer.text


# ---------------------------------------------------------------------------------------------
# Internal notes and the Open311 choice


def test_an_internal_note_stays_with_the_staff(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")
    answer = console.post(f"/console/complaints/{tickets.leak}/notes", {"note": INTERNAL})
    assert answer.status_code == 303
    assert INTERNAL in console.get(f"/console/complaints/{tickets.leak}").text
    # The reporter's STATUS, any notice, and Open311 never show it.
    chat = Chat(Router(db), "whatsapp", phone(32), phone(32))
    shown = "\n".join(chat.texts(f"STATUS {tickets.leak}"))
    assert tickets.leak in shown and INTERNAL not in shown
    with db.transaction() as session:
        texts = [m.text for m in session.exec(select(OutboxMessage)).all()]
    assert not any(INTERNAL in text for text in texts)
    for path in ("requests.json", "requests.xml", f"requests/{tickets.leak_id}.json"):
        body = client.get(f"/open311/v2/{path}")
        assert body.status_code == 200 and INTERNAL not in body.text
    # Nor do the exports.
    for fmt in ("csv", "geojson"):
        assert INTERNAL not in console.get(f"/console/complaints/export?format={fmt}").text
    with db.transaction() as session:
        [line] = session.exec(select(AuditLog).where(AuditLog.action == "complaint.note")).all()
    assert line.channel == "console" and line.target == tickets.leak


@pytest.mark.parametrize("note", ["", "   "])
def test_an_empty_note_is_refused(
    db: Database, client: TestClient, tickets: Tickets, note: str
) -> None:
    console = console_as(db, client, "coordinator")
    answer = console.post(f"/console/complaints/{tickets.leak}/notes", {"note": note})
    assert answer.status_code == 422 and "Catatannya kosong" in answer.text
    with db.transaction() as session:
        assert (
            session.exec(
                select(func.count()).select_from(ComplaintEvent).where(ComplaintEvent.internal)
            ).one()
            == 0
        )


def test_a_too_long_note_is_refused(db: Database, client: TestClient, tickets: Tickets) -> None:
    console = console_as(db, client, "coordinator")
    answer = console.post(f"/console/complaints/{tickets.leak}/notes", {"note": "x" * 2001})
    assert answer.status_code == 422


def test_open311_shows_the_description_only_once_made_public(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")

    def published() -> object:
        answer = client.get(f"/open311/v2/requests/{tickets.leak_id}.json")
        return answer.json()[0]["description"]

    assert published() is None
    answer = console.post(f"/console/complaints/{tickets.leak}/public", {"public": "yes"})
    assert answer.status_code == 303 and answer.headers["location"].endswith("done=public")
    assert published() == "Pipa bocor depan rumah"
    assert "tampil di data terbuka" in console.get(answer.headers["location"]).text
    answer = console.post(f"/console/complaints/{tickets.leak}/public", {"public": "no"})
    assert answer.status_code == 303
    assert published() is None
    bad = console.post(f"/console/complaints/{tickets.leak}/public", {"public": "maybe"})
    assert bad.status_code == 422 and "Pilih Ya atau Tidak" in bad.text
    with db.transaction() as session:
        actions = session.exec(
            select(AuditLog.action)
            .where(col(AuditLog.action).in_(["complaint.public", "complaint.private"]))
            .order_by(col(AuditLog.id))
        ).all()
    assert actions == ["complaint.public", "complaint.private"]


def test_a_form_without_its_token_changes_nothing(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")
    for token in ("", "forged-token-1234567890"):
        for path, data in (
            ("status", {"to": "verified", "note": "x"}),
            ("notes", {"note": INTERNAL}),
            ("public", {"public": "yes"}),
        ):
            answer = console.post(f"/console/complaints/{tickets.leak}/{path}", data, csrf=token)
            assert answer.status_code == 403
    assert status_of(db, tickets.leak) == Status.RECEIVED
    assert INTERNAL not in console.get(f"/console/complaints/{tickets.leak}").text
    with db.transaction() as session:
        assert (
            session.exec(
                select(Complaint.public_description).where(Complaint.code == tickets.leak)
            ).one()
            is False
        )


# ---------------------------------------------------------------------------------------------
# One ticket: unknown codes, photos and voice notes


@pytest.mark.parametrize("code", ["AL-33333", "nonsense", "map.xml", "AL-7K3Q9-1"])
def test_an_unknown_code_is_a_404_page(
    db: Database, client: TestClient, tickets: Tickets, code: str
) -> None:
    console = console_as(db, client, "coordinator")
    answer = console.get(f"/console/complaints/{code}")
    assert answer.status_code == 404
    assert "<h1>" in answer.text
    assert console.post(f"/console/complaints/{code}/notes", {"note": "x"}).status_code == 404


def test_a_code_is_forgiven_its_case_and_dashes(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")
    answer = console.get(f"/console/complaints/{tickets.leak.lower().replace('-', '')}")
    assert answer.status_code == 200 and tickets.leak in answer.text


def test_photos_and_the_voice_note_are_served_to_staff_only_from_their_ticket(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")
    page = console.get(f"/console/complaints/{tickets.leak}").text
    photo = f"/console/complaints/{tickets.leak}/media/{tickets.photo_id}"
    voice = f"/console/complaints/{tickets.leak}/media/{tickets.voice_id}"
    assert f'<img src="{photo}" alt="Foto 1 dari pelapor, laporan {tickets.leak}"' in page
    assert f'<audio controls preload="none" src="{voice}">' in page
    assert "Foto 2: tidak bisa disimpan" in page  # the refused one, in words
    assert "/media/" not in page.replace(f"/console/complaints/{tickets.leak}/media/", "")
    answer = console.get(photo)
    assert answer.status_code == 200 and answer.content == PNG
    assert answer.headers["content-type"] == "image/png"
    assert "no-store" in answer.headers["cache-control"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    answer = console.get(voice)
    assert answer.status_code == 200 and answer.content == OGG
    assert answer.headers["content-type"] == "audio/ogg"
    # Not another ticket's media, not one the bot did not keep, not a made-up one.
    for path in (
        f"/console/complaints/{tickets.leak}/media/{tickets.other_photo_id}",
        f"/console/complaints/{tickets.smell}/media/{tickets.photo_id}",
        f"/console/complaints/{tickets.leak}/media/{tickets.refused_photo_id}",
        f"/console/complaints/{tickets.leak}/media/999999",
        f"/console/complaints/{tickets.leak}/media/abc",
        f"/console/complaints/AL-33333/media/{tickets.photo_id}",
    ):
        assert console.get(path).status_code == 404, path


# ---------------------------------------------------------------------------------------------
# The list's filters, pages and exports


def _listed(console: Console, query: str) -> list[str]:
    answer = console.get(f"/console/complaints?{query}")
    assert answer.status_code == 200, (query, answer.text)
    return codes_on(answer)


def test_the_filters(db: Database, client: TestClient, tickets: Tickets) -> None:
    console = console_as(db, client, "coordinator")
    leak, smell, done = tickets.leak, tickets.smell, tickets.resolved
    today = utcnow().date()
    assert _listed(console, "status=all") == [done, leak, smell]
    assert _listed(console, "status=all&order=newest") == [smell, leak, done]
    assert _listed(console, "status=resolved") == [done]
    assert _listed(console, "status=all&category=smell") == [smell]
    assert _listed(console, "status=all&kelurahan=23+ilir") == [done, leak]
    assert _listed(console, f"status=all&from={(today - timedelta(days=15)).isoformat()}") == [
        leak,
        smell,
    ]
    assert _listed(console, f"status=all&to={(today - timedelta(days=20)).isoformat()}") == [done]
    assert _listed(console, f"code={leak[3:6].lower()}") == [leak]
    assert _listed(console, f"code={leak.lower()}") == [leak]
    assert _listed(console, "code=QQQQQ") == []
    # The leak waits for its check for 10 days: past its limit; the smell came today.
    assert _listed(console, "late=overdue") == [leak]
    assert _listed(console, "late=escalated") == []
    with db.transaction() as session:
        session.add(
            ComplaintEvent(
                complaint_id=tickets.leak_id,
                note="flag",
                internal=True,
                actor_label=ESCALATION_LABEL + VERIFY,
            )
        )
    assert _listed(console, "late=escalated&status=all") == [leak]
    # The filter form keeps what was chosen.
    page = console.get("/console/complaints?status=all&category=smell&order=newest")
    assert '<option value="smell" selected>' in page.text
    assert '<option value="newest" selected>' in page.text
    # The export and map links carry the same filters.
    assert 'href="/console/complaints/export?status=all&amp;category=smell&amp;order=newest' in (
        page.text
    )
    assert 'href="/console/complaints/map?status=all&amp;category=smell' in page.text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=2", 404),
        ("page=0", 404),
        ("page=-1", 404),
        ("page=abc", 404),
        ("page=99999999999999999999", 404),
        ("status=lost", 422),
        ("category=flood", 422),
        ("kelurahan=Atlantis", 422),
        ("late=sometimes", 422),
        ("order=random", 422),
        ("from=2026-02-30", 422),
        ("to=yesterday", 422),
        ("from=2026-12-10&to=2026-12-01", 422),
        ("code=%27%3B+drop", 422),
        ("code=ABCDEFGHIJ", 422),
    ],
)
def test_a_filter_out_of_range_is_a_page_not_a_crash(
    db: Database, client: TestClient, tickets: Tickets, query: str, status: int
) -> None:
    console = console_as(db, client, "coordinator")
    for path in ("/console/complaints", "/console/complaints/map"):
        answer = console.get(f"{path}?{query}")
        assert answer.status_code == status, (path, query)
        assert "<h1>" in answer.text
    if not query.startswith("page"):
        for path in ("/console/complaints/map.json", "/console/complaints/export?format=csv"):
            assert (
                console.get(f"{path}&{query}" if "?" in path else f"{path}?{query}").status_code
                == status
            )


def test_pages_of_fifty(
    db: Database, client: TestClient, tickets: Tickets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    console = console_as(db, client, "coordinator")
    first = console.get("/console/complaints?status=all")
    assert codes_on(first) == [tickets.resolved]
    assert "3 laporan. Halaman 1 dari 3." in first.text
    assert 'href="/console/complaints?status=all&amp;page=2" rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    assert codes_on(console.get("/console/complaints?status=all&page=3")) == [tickets.smell]
    assert console.get("/console/complaints?status=all&page=4").status_code == 404


def test_the_exports_hold_the_listed_tickets(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")
    answer = console.get("/console/complaints/export?format=csv&status=all&kelurahan=23+Ilir")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["code"] for r in rows] == [tickets.resolved, tickets.leak]
    answer = console.get("/console/complaints/export?format=geojson&late=overdue")
    assert answer.headers["content-type"].startswith("application/geo+json")
    data = json.loads(answer.text)
    assert [f["id"] for f in data["features"]] == [tickets.leak]
    assert console.get("/console/complaints/export?format=xlsx").status_code == 422
    assert console.get("/console/complaints/export").status_code == 422
    with db.transaction() as session:
        lines = session.exec(select(AuditLog).where(AuditLog.action == "complaint.export")).all()
    assert [(a.detail or {}).get("format") for a in lines] == ["csv", "geojson"]
    assert all(a.channel == "console" for a in lines)


# ---------------------------------------------------------------------------------------------
# The map


def test_the_map_page_and_its_points(
    db: Database, client: TestClient, tickets: Tickets, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = console_as(db, client, "coordinator")
    page = console.get("/console/complaints/map?status=all").text
    assert '<script src="/console/static/vendor/leaflet/leaflet.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/console/static/vendor/leaflet/leaflet.css">' in page
    assert '<script src="/console/static/complaints_map.js" defer></script>' in page
    assert "<script>" not in page and "unpkg" not in page and "cdn" not in page.lower()
    assert 'data-points="/console/complaints/map.json?status=all"' in page
    assert "Latar peta perlu internet" in page  # the message the script shows on tileerror
    assert codes_on(console.get("/console/complaints/map?status=all")) == [
        tickets.resolved,
        tickets.leak,
        tickets.smell,
    ]  # the table beside the map: every ticket, with or without a pin
    answer = console.get("/console/complaints/map.json?status=all")
    assert answer.headers["cache-control"] == "no-store"
    data = answer.json()
    assert data["shown"] == 2 and data["capped"] is False
    [first, second] = data["points"]
    assert first == {
        "code": tickets.resolved,
        "category": "excavation",
        "category_label": "Galian belum ditutup atau jalan rusak",
        "status": "resolved",
        "status_label": "Selesai diperbaiki",
        "lat": -2.98,
        "lon": 104.76,
        "url": f"/console/complaints/{tickets.resolved}",
    }
    assert second["code"] == tickets.leak and second["lat"] == -2.991234
    assert "Pipa" not in answer.text and "Mawar" not in answer.text  # nothing personal
    assert console.get("/console/complaints/map.json").json()["shown"] == 1  # open only
    assert console.get("/console/complaints/map.json?category=smell").json()["points"] == []
    monkeypatch.setattr(pages, "MAP_LIMIT", 1)
    capped = console.get("/console/complaints/map.json?status=all").json()
    assert capped["shown"] == 1 and capped["capped"] is True


def test_the_static_files_are_served(db: Database, client: TestClient) -> None:
    answer = client.get("/console/static/complaints_map.js")
    assert answer.status_code == 200
    assert "tileerror" in answer.text and "tile.openstreetmap.org" in answer.text


def test_a_ticket_with_a_pin_has_a_small_map(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    console = console_as(db, client, "coordinator")
    page = console.get(f"/console/complaints/{tickets.leak}").text
    assert 'id="ticket-map"' in page and 'data-lat="-2.991234"' in page
    assert "leaflet.js" in page
    without = console.get(f"/console/complaints/{tickets.smell}").text
    assert 'id="ticket-map"' not in without and "leaflet.js" not in without


# ---------------------------------------------------------------------------------------------
# The help path, and other communities


def test_requests_for_help_appear_nowhere_here(
    db: Database, client: TestClient, tickets: Tickets
) -> None:
    with db.transaction() as session:
        request = start_request(session, COMMUNITY, utcnow())
        request.status = HelpStatus.OPEN
        request.note = HELP_MARKER
        request.phone = "+6281299990001"
        session.add(request)
        ref = request.ref
    console = console_as(db, client, "coordinator")
    surfaces = [
        console.get("/console/complaints?status=all").text,
        console.get("/console/complaints/map?status=all").text,
        console.get("/console/complaints/map.json?status=all").text,
        console.get("/console/complaints/export?format=csv&status=all").text,
        console.get("/console/complaints/export?format=geojson&status=all").text,
    ]
    surfaces += [
        console.get(f"/console/complaints/{c}").text for c in (tickets.leak, tickets.smell)
    ]
    for text in surfaces:
        assert HELP_MARKER not in text and ref not in text and "+6281299990001" not in text
    assert console.get(f"/console/complaints/{ref}").status_code == 404


# ---------------------------------------------------------------------------------------------
# Fast with 100,000 tickets


@pytest.fixture
def many(database_url: str, db: Database) -> Iterator[None]:
    from bench.complaints import prepare

    prepare(database_url, 100_000)
    yield


def _server_ms(console: Console, path: str) -> float:
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        answer = console.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.text[:300])
    return statistics.median(samples)


def test_the_pages_stay_fast_with_100000_tickets(
    db: Database, client: TestClient, many: None
) -> None:
    with db.transaction() as session:
        one = create_complaint(
            session,
            community_id=COMMUNITY,
            intake=Intake(
                category=Category.LEAK, description="Bocor", latitude=-2.99, longitude=104.75
            ),
            identity_id=None,
            member_id=None,
            channel="cli",
        )
        add_note(session, one, "catatan", actor_member_id=None)
    console = console_as(db, client, "coordinator")
    slow = {}
    for path in (
        "/console/complaints",
        "/console/complaints?status=all&order=newest",
        "/console/complaints?status=all&page=1500",
        "/console/complaints?kelurahan=23+Ilir&category=leak",
        "/console/complaints?late=overdue",
        "/console/complaints?status=all&code=00123",
        "/console/complaints/map",
        "/console/complaints/map?status=all",
        "/console/complaints/map.json?status=all",
        f"/console/complaints/{one.code}",
    ):
        spent = _server_ms(console, path)
        if spent > 300:
            slow[path] = round(spent)
    assert not slow, f"slower than 300 ms: {slow}"
    page = console.get("/console/complaints/map?status=all")
    assert len(page.text) < 200_000  # no 100,000 markers in the page
    assert len(codes_on(page)) == pages.PAGE_SIZE
    assert console.get("/console/complaints/map.json?status=all").json()["capped"] is True


def test_the_overdue_filter_is_exactly_the_escalations_rule(db: Database, settings: Any) -> None:
    """``late=overdue`` in SQL picks the tickets ``deadline(...).overdue(day)`` does, on any
    day (weekends and holidays, a reopening restarting the response clock)."""
    from storage.complaints import reopen
    from storage.complaints_escalation import deadline
    from storage.complaints_export import Filters, tickets

    start = utcnow() - timedelta(days=30)
    with db.transaction() as session:
        for day in range(30):
            moment = start + timedelta(days=day, hours=day % 7)
            ticket = create_complaint(
                session,
                community_id=COMMUNITY,
                intake=Intake(category=Category.LEAK, description=f"t{day}", kelurahan="1 Ilir"),
                identity_id=None,
                member_id=None,
                channel="cli",
                now=moment,
            )
            if day % 3:
                change_status(session, ticket, Status.VERIFIED, now=moment)
                change_status(session, ticket, Status.FORWARDED, forwarded_to="PDAM", now=moment)
            if day % 3 == 2:
                later = moment + timedelta(days=4)
                change_status(session, ticket, Status.RESOLVED, now=later)
                reopen(session, ticket, now=later + timedelta(days=1))
    for ahead in range(0, 12):
        today = (utcnow() + timedelta(days=ahead)).astimezone(settings.timezone).date()
        with db.transaction() as session:
            everything = tickets(session, Filters(COMMUNITY), settings)
            expected = sorted(
                c.code
                for c in everything
                if (limit := deadline(c, settings)) is not None and limit.overdue(today)
            )
            found = sorted(
                c.code for c in tickets(session, Filters(COMMUNITY, overdue_on=today), settings)
            )
        assert found == expected, today
        assert expected  # the rule was really exercised
