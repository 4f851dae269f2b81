"""The staff console in real headless Chromium, driven as a person drives it (clicks, typing,
labels): logging in with the code that arrived in her Telegram chat, recording a deposit and
seeing the member's receipt arrive, changing a complaint's status and seeing the reporter's
notice arrive, sending an announcement and watching its progress, chatting in the simulator.

Each test runs the live app with its sender on the fake Telegram. The login flow runs on every
backend (SQLite, and PostgreSQL when TEST_DATABASE_URL is set); the other flows run on SQLite
only: they go through the same storage functions the TestClient tests check on both backends
(tests/test_console_*.py), and running each again on PostgreSQL would double the browser suite's
time for no new page or form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from storage.complaints import Category, Intake, create_complaint
from storage.demo import seed_demo
from storage.ledger import RECEIPT_KIND, LedgerEntry
from storage.models import OutboxMessage
from tests.browser.conftest import Live
from tests.browser.console_pages import login, offline, staff_page, wait_for_text
from tests.console_support import add_staff
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.formatting import utcnow
from wlcc.settings import Settings

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SITI_CHAT = 5011
NewPage = Callable[..., Page]


@pytest.fixture
def live_settings(live_settings: Settings) -> Settings:
    """For every test here: the simulator is on (its pages are served only then), its chat
    answers at once, and the sender looks at running announcements often (it marks them
    done)."""
    return live_settings.model_copy(
        update={
            "wlcc_simulator": True,
            "wlcc_simulator_rate_per_second": 0,
            "wlcc_broadcast_progress_seconds": 0.2,
        }
    )


def add_siti(live: Live, *, kelurahan: str = "19 Ilir") -> int:
    """Siti, a member whose chat is on Telegram (so what is sent to her arrives there)."""
    with live.db.transaction() as session:
        member = add_member(
            session, "Siti Aminah", phone(11), kelurahan=kelurahan, telegram=str(SITI_CHAT)
        )
        assert member.id is not None
        return member.id


# --- 1. logging in ---


def test_log_in_with_the_code_that_arrived_in_the_chat(page: Page, live_server: Live) -> None:
    add_staff(live_server.db, "coordinator")
    offline(page.context, live_server)
    page.goto("/console/")  # not logged in: the login page, which comes back here after
    expect(page).to_have_url(live_server("/console/login?next=/console/"))
    login(page, live_server, "coordinator")
    expect(page.get_by_role("heading", level=1)).to_have_text("Selamat datang, Rina Wulandari")
    menu = page.get_by_role("navigation", name="Menu")
    expect(menu.get_by_role("link", name="Keluhan")).to_be_visible()
    expect(menu.get_by_role("link", name="Simpan pinjam")).to_have_count(0)  # not hers
    page.get_by_role("button", name="Keluar").click()
    expect(page).to_have_url(live_server("/console/login"))
    page.goto("/console/complaints")
    expect(page).to_have_url(live_server("/console/login?next=/console/complaints"))


# --- 2. a deposit ---


@sqlite_only
def test_record_a_deposit_and_the_receipt_arrives(new_page: NewPage, live_server: Live) -> None:
    siti = add_siti(live_server)
    page = staff_page(new_page, live_server, "treasurer")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Simpan pinjam").click()
    search = page.get_by_role("search")
    search.get_by_label("Nama atau nomor HP").fill("siti")
    search.get_by_role("button", name="Cari").click()
    page.get_by_role("link", name="Siti Aminah").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Siti Aminah")
    page.get_by_role("link", name="Catat setoran").click()

    page.get_by_label("Simpanan sukarela").check()
    page.get_by_label("Jumlah (rupiah)").fill("50rb")
    page.get_by_label("Catatan (boleh kosong)").fill("arisan")
    page.get_by_role("button", name="Periksa dulu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Periksa setoran")
    expect(page.locator("main")).to_contain_text("Saldo simpanan sukarela: Rp0 menjadi Rp50.000")
    with live_server.db.transaction() as session:
        assert session.exec(select(LedgerEntry)).first() is None  # nothing before "Simpan"

    page.get_by_role("button", name="Simpan", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Setoran tersimpan")
    expect(page.get_by_role("status")).to_contain_text("Kuitansi untuk Siti Aminah")
    with live_server.db.transaction() as session:
        [entry] = session.exec(select(LedgerEntry)).all()
        [receipt] = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.kind == RECEIPT_KIND, OutboxMessage.member_id == siti
            )
        ).all()
    assert entry.amount == 50_000 and entry.note == "arisan"
    arrived = wait_for_text(live_server, SITI_CHAT, "Setoran simpanan sukarela Rp50.000")
    assert arrived == receipt.text


# --- 3. a complaint's status ---


@sqlite_only
def test_change_a_complaints_status_and_the_reporter_is_told(
    new_page: NewPage, live_server: Live
) -> None:
    siti = add_siti(live_server, kelurahan="23 Ilir")
    with live_server.db.transaction() as session:
        complaint = create_complaint(
            session,
            community_id=COMMUNITY,
            intake=Intake(
                category=Category.LEAK,
                description="Pipa bocor depan rumah",
                address="Jl. Mawar 3",
                kelurahan="23 Ilir",
                contact_ok=True,
            ),
            identity_id=None,
            member_id=siti,
            channel="telegram",
            now=utcnow() - timedelta(days=1),
        )
        code = complaint.code
    page = staff_page(new_page, live_server, "coordinator")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Keluhan").click()
    page.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)

    page.get_by_label("Status baru").select_option(label="Sudah dicek pengurus")
    page.get_by_label("Catatan untuk pelapor").fill("Petugas datang hari Senin")
    page.get_by_role("button", name="Ubah status").click()
    expect(page.get_by_role("status")).to_contain_text("Status sudah diubah")
    history = page.get_by_role("table", name="Setiap perubahan status")
    expect(history).to_contain_text("Petugas datang hari Senin")
    notice = wait_for_text(live_server, SITI_CHAT, code)
    assert "Sudah dicek pengurus" in notice
    assert "Petugas datang hari Senin" in notice


# --- 4. an announcement ---


@sqlite_only
def test_send_an_announcement_and_watch_it_reach_everyone(
    new_page: NewPage, live_server: Live
) -> None:
    chats = [5101, 5102, 5103]
    with live_server.db.transaction() as session:
        for n, chat in enumerate(chats, start=1):
            add_member(session, f"Anggota {n}", phone(100 + n), telegram=str(chat))
    page = staff_page(new_page, live_server, "coordinator")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Pengumuman").click()
    page.get_by_role("link", name="Buat pengumuman baru").click()
    page.get_by_label("Pesan").fill("Besok kerja bakti jam 7 pagi di Balai RW.")
    page.get_by_label(re.compile(r"^Semua anggota \(\d+ orang\)$")).check()
    page.get_by_role("button", name="Lihat dulu pesannya").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Periksa sebelum dikirim")
    # Everyone who can receive it: the three members and the coordinator herself.
    expect(page.locator("main")).to_contain_text("4 anggota")
    page.get_by_role("button", name="Kirim sekarang ke 4 anggota").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Pengumuman nomor")
    # The page refreshes itself every few seconds while it sends; she need not wait for it:
    # once the four chats have the message, "Perbarui sekarang" shows it done.
    for chat in chats:
        wait_for_text(live_server, chat, "kerja bakti")
    status = page.locator("main .status")
    for _ in range(100):
        refresh = page.get_by_role("link", name="Perbarui sekarang")
        if status.inner_text() == "Selesai" or not refresh.count():
            break
        page.wait_for_timeout(100)
        refresh.click()
    expect(status).to_have_text("Selesai")
    expect(page.get_by_role("link", name="Perbarui sekarang")).to_have_count(0)
    expect(page.get_by_role("table", name="Sudah diproses 4 dari 4 pesan")).to_be_visible()
    sent = page.get_by_role("row", name=re.compile("^Terkirim"))
    expect(sent).to_have_text(re.compile("4"))


# --- 5. the simulator ---


@sqlite_only
def test_chat_in_the_simulator(page: Page, live_server: Live) -> None:
    with live_server.db.transaction() as session:
        seed_demo(session, meetings=False)
    page.goto("/simulator")
    page.get_by_label("Dewi Sartika (bendahara)").check()
    page.get_by_role("button", name="Mulai chat").click()
    expect(page.locator(".sim-me")).to_contain_text("Dewi Sartika")
    page.get_by_label("Pesan Anda").fill("menu")
    page.get_by_role("button", name="Kirim", exact=True).click()
    log = page.get_by_role("log")
    choices = log.get_by_role("group", name="Pilihan")
    expect(choices.get_by_role("button").first).to_be_visible()
    first = choices.get_by_role("button").first
    label = first.inner_text().split(". ", 1)[1]
    first.click()
    expect(log).to_contain_text("Belum ada pertemuan atau pelatihan")
    expect(log.locator(".sim-person").last).to_contain_text(label)
