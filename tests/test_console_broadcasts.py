"""Announcements from the console: the pages by role, compose -> preview -> send (once, however
often it is confirmed), the fan-out through the outbox, the progress page against the outbox,
stopping, and every bad input refused with nothing sent."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from storage.broadcasts import broadcast_counts
from storage.db import Database
from storage.models import AuditLog, Broadcast, BroadcastStatus, MediaFile, OutboxMessage
from tests.console_support import ROLES, Console, add_staff
from tests.fakes.webhooks import running_app
from tests.outbox_support import add_member, phone
from tests.test_broadcast_e2e import wait
from wlcc.settings import Settings

TOKEN = re.compile(r'name="token" value="([^"]+)"')
ALLOWED = ("coordinator", "admin")


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def quiet_client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """The app without its sender: what is queued stays pending (a broadcast stays running)."""
    with running_app(make_settings(wlcc_sender_enabled=False)) as test_client:
        yield test_client


def members(db: Database) -> dict[str, int]:
    """Three members of 23 Ilir on Telegram (one opted out) and one of 24 Ilir."""
    people = {
        "Siti": ("23 Ilir", False),
        "Ani": ("23 Ilir", False),
        "Tuti": ("23 Ilir", True),
        "Fatimah": ("24 Ilir", False),
    }
    ids = {}
    with db.transaction() as session:
        for n, (name, (place, opted_out)) in enumerate(people.items()):
            member = add_member(
                session,
                name,
                phone(100 + n),
                kelurahan=place,
                opted_out=opted_out,
                telegram=str(8100 + n),
            )
            assert member.id is not None
            ids[name] = member.id
    return ids


def broadcast_rows(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.broadcast_id).is_not(None))
                .order_by(col(OutboxMessage.id))
            )
        )


def broadcasts(db: Database) -> list[Broadcast]:
    with db.transaction() as session:
        return list(session.exec(select(Broadcast).order_by(col(Broadcast.id))))


def audits(db: Database, action: str) -> list[AuditLog]:
    with db.transaction() as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action)))


def preview(console: Console, text: str, audience: str, **files: Any) -> Any:
    return console.post(
        "/console/broadcasts/preview", {"text": text, "audience": audience}, files=files or None
    )


def token_of(page: Any) -> str:
    match = TOKEN.search(page.text)
    assert match is not None, page.text
    return match.group(1)


def send(console: Console, token: str, text: str, audience: str, **extra: str) -> Any:
    return console.post(
        "/console/broadcasts/send", {"token": token, "text": text, "audience": audience, **extra}
    )


# --- who may see the pages ---


@pytest.mark.parametrize("role", ROLES)
def test_the_pages_are_for_coordinators_and_admins(
    db: Database, client: TestClient, role: str
) -> None:
    add_staff(db, role)
    console = Console(client).login(db, role)
    for path in ("/console/broadcasts", "/console/broadcasts/new"):
        page = console.get(path)
        assert page.status_code == (200 if role in ALLOWED else 403), (role, path)
    home = console.get("/console/")
    assert ('href="/console/broadcasts"' in home.text) == (role in ALLOWED)
    if role not in ALLOWED:
        answer = console.post("/console/broadcasts/preview", {"text": "x", "audience": "all|"})
        assert answer.status_code == 403
        refused = audits(db, "broadcast.send")
        assert refused and not any(a.allowed for a in refused)


def test_logged_out_the_pages_ask_for_a_login(client: TestClient) -> None:
    answer = Console(client).get("/console/broadcasts")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login")


# --- compose, preview, send ---


def test_compose_offers_the_chats_audiences(db: Database, client: TestClient) -> None:
    members(db)
    add_staff(db, "coordinator")
    page = Console(client).login(db, "coordinator").get("/console/broadcasts/new")
    assert page.status_code == 200
    assert 'value="all|"' in page.text
    assert 'value="kelurahan|23 Ilir"' in page.text and "23 Ilir (3 orang)" in page.text
    assert 'value="role|coordinator"' in page.text
    assert '<label for="text">' in page.text and 'name="csrf"' in page.text


def test_a_broadcast_queues_one_row_per_recipient_and_a_double_confirm_sends_once(
    db: Database, client: TestClient
) -> None:
    ids = members(db)
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    text = "Rapat Sabtu jam 9.\nBawa <buku> & pena."
    page = preview(console, text, "kelurahan|23 Ilir")
    assert page.status_code == 200
    assert "Bawa &lt;buku&gt; &amp; pena." in page.text  # as members read it, escaped
    assert "kelurahan 23 Ilir" in page.text
    assert "Kirim sekarang ke 2 anggota" in page.text  # Tuti opted out
    assert "1 anggota yang sudah minta berhenti" in page.text
    assert broadcasts(db) == []  # a preview sends nothing
    token = token_of(page)

    first = send(console, token, text, "kelurahan|23 Ilir")
    second = send(console, token, text, "kelurahan|23 Ilir")  # the double click
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    [made] = broadcasts(db)
    assert first.headers["location"] == f"/console/broadcasts/{made.id}"
    assert made.text == text and made.audience == {"kind": "kelurahan", "value": "23 Ilir"}
    assert made.total == 3
    rows = broadcast_rows(db)
    assert sorted(r.member_id or 0 for r in rows) == sorted([ids["Siti"], ids["Ani"], ids["Tuti"]])
    assert {r.kind for r in rows} == {"broadcast"} and {r.text for r in rows} == {text}
    [entry] = audits(db, "broadcast.send")
    assert entry.allowed and entry.channel == "console"
    assert entry.target == f"broadcast:{made.id}"
    assert entry.detail == {
        "recipients": 3,
        "audience": {"kind": "kelurahan", "value": "23 Ilir"},
    }
    # A new preview is a new token: that one is a second broadcast.
    again = token_of(preview(console, text, "all|"))
    assert again != token
    assert send(console, again, text, "all|").status_code == 303
    assert len(broadcasts(db)) == 2


def test_the_progress_page_matches_the_outbox(
    db: Database, client: TestClient, fake_telegram: Any
) -> None:
    members(db)
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    text = "Besok libur."
    answer = send(console, token_of(preview(console, text, "all|")), text, "all|")
    location = answer.headers["location"]
    [made] = broadcasts(db)
    assert made.id is not None
    broadcast_id = made.id

    def finished() -> bool:  # all sent, and the sender's progress tick saw it
        with db.transaction() as session:
            done = session.get(Broadcast, broadcast_id)
            return done is not None and done.status == BroadcastStatus.DONE

    wait(finished, "the broadcast sent", db)
    page = console.get(location)
    assert page.status_code == 200
    with db.transaction() as session:
        counts = broadcast_counts(session, broadcast_id)
        by_status = dict(
            session.exec(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.broadcast_id == broadcast_id)
                .group_by(OutboxMessage.status)
            ).all()
        )
    assert counts.total == made.total == 5  # four members and the coordinator
    assert by_status.get("skipped") == counts.skipped == 1  # Tuti opted out
    sent = sum(by_status.get(s, 0) for s in ("sent", "delivered", "read"))
    assert sent == counts.sent == 4
    cells = dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td>', page.text))
    assert cells == {
        "Semua penerima": str(counts.total),
        "Terkirim": str(counts.sent),
        "Sudah sampai": str(counts.delivered),
        "Sudah dibaca": str(counts.read),
        "Masih menunggu": "0",
        "Gagal": str(counts.failed),
        "Dilewati": str(counts.skipped),
    }
    assert "sudah minta berhenti (BERHENTI)" in page.text  # the reason, in words
    assert "Tuti" in page.text  # who was skipped
    assert 'http-equiv="refresh"' not in page.text  # nothing waits any more
    assert 'aria-live="polite"' in page.text
    assert "Selesai" in page.text
    # The author got the chat's summary, as from UMUMKAN.
    summary = f"Pengumuman #{broadcast_id} selesai."
    wait(lambda: any(summary in m for m in fake_telegram.texts(7071)), "the summary", db)
    # The list shows it with its status in words.
    listing = console.get("/console/broadcasts")
    assert f'href="/console/broadcasts/{broadcast_id}"' in listing.text
    assert "Besok libur." in listing.text


def test_a_running_broadcast_refreshes_and_can_be_stopped(
    db: Database, quiet_client: TestClient
) -> None:
    members(db)
    add_staff(db, "coordinator")
    console = Console(quiet_client).login(db, "coordinator")
    text = "Pengumuman panjang."
    location = send(console, token_of(preview(console, text, "all|")), text, "all|").headers[
        "location"
    ]
    page = console.get(location)
    assert '<meta http-equiv="refresh" content="5">' in page.text
    assert "Sedang dikirim" in page.text and "Masih menunggu" in page.text
    assert f'action="{location}/stop"' in page.text
    stopped = console.post(f"{location}/stop")
    assert stopped.status_code == 303 and stopped.headers["location"] == location
    [made] = broadcasts(db)
    assert made.status == BroadcastStatus.STOPPED
    rows = broadcast_rows(db)
    assert rows and {(r.status, r.reason) for r in rows} == {("skipped", "stopped")}
    [entry] = audits(db, "broadcast.stop")
    assert entry.target == f"broadcast:{made.id}" and entry.detail == {"skipped": len(rows)}
    page = console.get(location)
    assert "Dihentikan" in page.text and "dihentikan oleh pengurus" in page.text
    assert 'http-equiv="refresh"' not in page.text and "/stop" not in page.text
    # Stopping again changes nothing and audits nothing.
    assert console.post(f"{location}/stop").status_code == 303
    assert len(audits(db, "broadcast.stop")) == 1


def test_a_photo_goes_with_the_broadcast(db: Database, quiet_client: TestClient) -> None:
    members(db)
    add_staff(db, "coordinator")
    console = Console(quiet_client).login(db, "coordinator")
    page = preview(console, "Lihat foto ini.", "all|", photo=("foto.png", png(), "image/png"))
    assert page.status_code == 200
    with db.transaction() as session:
        [media] = session.exec(select(MediaFile)).all()
        assert media.data == png() and media.content_type == "image/png"
        assert media.source_channel == "console"
    assert f'src="/media/{media.token}"' in page.text
    assert quiet_client.get(f"/media/{media.token}").content == png()
    media_id = re.search(r'name="media_id" value="(\d+)"', page.text)
    assert media_id is not None and int(media_id.group(1)) == media.id
    answer = send(console, token_of(page), "Lihat foto ini.", "all|", media_id=str(media.id))
    assert answer.status_code == 303
    [made] = broadcasts(db)
    assert made.media_id == media.id
    assert {tuple(r.media) for r in broadcast_rows(db)} == {(f"media:{media.id}",)}
    # A photo alone is enough (as in the chat); a photo that is not one is refused.
    assert preview(console, "", "all|", photo=("a.png", png(), "image/png")).status_code == 200
    refused = preview(console, "Ini", "all|", photo=("a.png", b"not a photo", "image/png"))
    assert refused.status_code == 422
    assert "bukan foto" in refused.text


# --- bad input: a page with the form and the message, nothing sent ---


@pytest.mark.parametrize(
    ("text", "audience", "message"),
    [
        ("   ", "all|", "Pesannya masih kosong"),
        ("x" * 1601, "all|", "Pesan ini 1601 huruf"),
        ("Halo", "kelurahan|Nowhere", "Pilih kepada siapa"),
        ("Halo", "role|nobody", "Pilih kepada siapa"),
        ("Halo", "rsvp|99:yes", "Pilih kepada siapa"),
    ],
)
def test_bad_drafts_are_refused_with_the_form(
    db: Database, client: TestClient, text: str, audience: str, message: str
) -> None:
    members(db)
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    page = preview(console, text, audience)
    assert page.status_code == 422
    assert message in page.text
    assert 'action="/console/broadcasts/preview"' in page.text  # the form again
    if text.strip():
        assert text in page.text  # with what she wrote
    # Posting the same straight to "send" (no preview) is refused the same way.
    assert send(console, "t" * 24, text, audience).status_code == 422
    assert broadcasts(db) == [] and broadcast_rows(db) == []


def test_an_audience_nobody_can_receive_is_refused(db: Database, client: TestClient) -> None:
    with db.transaction() as session:
        add_member(session, "Tuti", phone(120), kelurahan="30 Ilir", opted_out=True)
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    page = preview(console, "Halo", "kelurahan|30 Ilir")
    assert page.status_code == 422
    assert "Tidak ada anggota yang bisa menerima" in page.text
    assert broadcasts(db) == []


def test_a_send_without_a_valid_token_is_refused(db: Database, client: TestClient) -> None:
    members(db)
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    for token in ("", "short", "x" * 20 + "<>", "y" * 65):
        answer = send(console, token, "Halo", "all|")
        assert answer.status_code == 422, token
    assert broadcasts(db) == []


def test_csrf_is_checked_on_every_post(db: Database, client: TestClient) -> None:
    members(db)
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    page = preview(console, "Halo", "all|")
    token = token_of(page)
    for csrf in ("", "forged-token-forged-token"):
        data = {"text": "Halo", "audience": "all|", "token": token}
        for path in ("/console/broadcasts/preview", "/console/broadcasts/send"):
            assert console.post(path, data, csrf=csrf).status_code == 403
    assert broadcasts(db) == []
    assert send(console, token, "Halo", "all|").status_code == 303
    [made] = broadcasts(db)
    answer = console.post(f"/console/broadcasts/{made.id}/stop", csrf="forged-token-forged")
    assert answer.status_code == 403
    assert broadcasts(db)[0].status == BroadcastStatus.SENDING


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/console/broadcasts/999", 404),
        ("/console/broadcasts/0", 404),
        ("/console/broadcasts/99999999999999999999", 404),
        ("/console/broadcasts/abc", 422),
        ("/console/broadcasts?page=2", 404),
        ("/console/broadcasts?page=0", 404),
        ("/console/broadcasts?page=x", 404),
    ],
)
def test_unknown_ids_and_pages(db: Database, client: TestClient, path: str, status: int) -> None:
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    answer = console.get(path)
    assert answer.status_code == status
    assert "<h1>" in answer.text  # an HTML page, not a traceback


def test_stopping_an_unknown_broadcast_is_404(db: Database, client: TestClient) -> None:
    add_staff(db, "coordinator")
    console = Console(client).login(db, "coordinator")
    assert console.post("/console/broadcasts/999/stop").status_code == 404
    assert audits(db, "broadcast.stop") == []
