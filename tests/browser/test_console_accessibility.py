"""Every console page a role reaches, in Chromium: no serious or critical axe-core violation,
no sideways scrolling on a 360 px phone nor at 200% zoom (a 1280 px screen zoomed in lays the
page out in 640 CSS pixels), and the keyboard's first stop is the skip link, with a visible
focus ring.

One test walks all the pages (the login page; home as each role; each section's main page and
one page of detail; the forms' check pages; the simulator) on one live app with the demo's
data, and lists every problem it found at the end rather than stopping at the first. It runs
on SQLite only: the pages are the same on PostgreSQL (the TestClient tests check their data on
both backends), and walking them twice would double the suite's time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import col, select

from storage.complaints import Category, Intake, create_complaint
from storage.demo import seed_demo
from storage.help_requests import HelpContact, HelpRequest, HelpStatus
from storage.ledger import LedgerEntry
from storage.meetings import Meeting
from storage.members import find_by_phone_and_name
from tests.browser.conftest import PHONE, TIMEOUT_MS, AxeCheck, Live
from tests.browser.console_pages import (
    SIZES,
    first_tab_is_the_skip_link,
    login,
    offline,
    sideways,
    tab_through,
    wait_for_text,
)
from tests.browser.tools import AXE_JS, describe_violations
from tests.console_support import ROLES, add_staff
from tests.outbox_support import COMMUNITY
from wlcc.formatting import utcnow
from wlcc.settings import Settings

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

Open = Callable[[Page], object]


@pytest.fixture
def live_settings(live_settings: Settings) -> Settings:
    """With the simulator's pages; announcements are marked done soon after their last message."""
    return live_settings.model_copy(
        update={
            "wlcc_simulator": True,
            "wlcc_simulator_rate_per_second": 0,
            "wlcc_broadcast_progress_seconds": 0.2,
        }
    )


@dataclass
class Data:
    siti: int
    entry: int
    meeting: int
    complaint: str


def seed(live: Live) -> Data:
    now = utcnow()
    with live.db.transaction() as session:
        seed_demo(session)
        siti = find_by_phone_and_name(session, COMMUNITY, "+6281200000003", "Siti Aminah")
        assert siti is not None and siti.id is not None
        entry = session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.member_id == siti.id)
            .order_by(col(LedgerEntry.id))
        ).first()
        meeting = session.exec(select(Meeting).order_by(col(Meeting.starts_at))).first()
        assert entry is not None and entry.id is not None
        assert meeting is not None and meeting.id is not None
        complaint = create_complaint(
            session,
            community_id=COMMUNITY,
            intake=Intake(
                category=Category.LEAK,
                description="Pipa bocor depan rumah, airnya ke jalan sejak pagi",
                latitude=-2.991234,
                longitude=104.756789,
                address="Jl. Mawar 3",
                rt_rw="3/5",
                kelurahan="23 Ilir",
                contact_ok=True,
            ),
            identity_id=None,
            member_id=siti.id,
            channel="telegram",
            now=now - timedelta(days=2),
        )
        session.add(
            HelpRequest(
                community_id=COMMUNITY,
                ref="TL-7K3R9",
                status=HelpStatus.OPEN,
                contact=HelpContact.CALL,
                phone="+6281377770001",
                safe_time="Pagi sebelum jam sepuluh",
                note="Suami pulang jam lima",
                created_at=now - timedelta(minutes=30),
                sent_at=now - timedelta(minutes=30),
            )
        )
        data = Data(siti.id, entry.id, meeting.id, complaint.code)
    for role in ROLES:
        add_staff(live.db, role)
    return data


@dataclass
class Walk:
    """One person's pages, each checked on three screens in turn: a desktop (where axe runs),
    a phone, a desktop zoomed to 200%. The page is drawn at twice the density (as phones and
    zoomed screens draw it) and resized after it loaded: sizes are what lays a page out, and
    one load per page keeps the walk fast."""

    browser: Browser
    live: Live
    axe: AxeCheck
    problems: list[str] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)
    seen: int = 0

    def screen(self, role: str | None) -> Page:
        """A page of its own, logged in as ``role`` unless None."""
        context = self.browser.new_context(
            viewport=SIZES["desktop"],
            device_scale_factor=2,
            locale="id-ID",
            timezone_id="Asia/Jakarta",
            base_url=self.live.url,
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(path=AXE_JS)  # through DevTools: no CSP stops it
        offline(context, self.live)
        self.contexts.append(context)
        page = context.new_page()
        if role is not None:
            login(page, self.live, role)
        return page

    def check(self, page: Page, what: str, open_it: Open | str) -> None:
        """Open the page and note what is wrong with it."""
        if isinstance(open_it, str):
            page.goto(open_it)
        else:
            open_it(page)
        page.wait_for_load_state("load")
        if violations := self.axe(page):
            self.problems.append(f"{what}: axe: {describe_violations(violations)}")
        for label in ("phone", "200% zoom"):
            page.set_viewport_size(SIZES[label])
            if why := sideways(page):
                self.problems.append(f"{what} ({label}): scrolls sideways: {why}")
        page.set_viewport_size(SIZES["desktop"])
        self.seen += 1

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def walk(browser: Browser, live_server: Live, axe_check: AxeCheck) -> Iterator[Walk]:
    walker = Walk(browser, live_server, axe_check)
    yield walker
    walker.close()


def _code_step(page: Page) -> None:
    page.goto("/console/login")
    by_code = page.get_by_role("region", name="Dengan kode lewat chat")
    by_code.get_by_label("Nomor HP").fill("0812-0000-0071")
    by_code.get_by_role("button", name="Kirim kode").click()
    expect(page.get_by_label("Kode dari chat")).to_be_visible()


def _deposit_check(siti: int) -> Open:
    def open_it(page: Page) -> None:
        page.goto(f"/console/ledger/members/{siti}/deposit")
        page.get_by_label("Simpanan sukarela").check()
        page.get_by_label("Jumlah (rupiah)").fill("25rb")
        page.get_by_role("button", name="Periksa dulu").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Periksa setoran")

    return open_it


def _deposit_refused(siti: int) -> Open:
    def open_it(page: Page) -> None:
        page.goto(f"/console/ledger/members/{siti}/deposit")
        page.get_by_label("Simpanan wajib").check()
        page.get_by_label("Jumlah (rupiah)").fill("banyak")
        page.get_by_role("button", name="Periksa dulu").click()
        expect(page.get_by_role("alert")).to_be_visible()

    return open_it


def _compose(page: Page) -> None:
    page.goto("/console/broadcasts/new")
    page.get_by_label("Pesan").fill("Besok kerja bakti jam 7 pagi di Balai RW.")
    page.get_by_label(re.compile(r"^Semua anggota \(")).check()


def _preview(page: Page) -> None:
    _compose(page)
    page.get_by_role("button", name="Lihat dulu pesannya").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Periksa sebelum dikirim")


def _send(live: Live, page: Page) -> str:
    """Send an announcement to everyone and wait until it is done; its page's path."""
    _preview(page)
    page.get_by_role("button", name=re.compile("^Kirim sekarang")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pengumuman nomor")
    path = page.url.removeprefix(live.url)
    wait_for_text(live, 7071, "kerja bakti")  # the coordinator is among everyone
    for _ in range(100):
        page.goto(path)
        if page.locator(".status").inner_text() == "Selesai":
            return path
        page.wait_for_timeout(100)
    raise AssertionError(f"announcement {path} did not finish")


def _chat(page: Page) -> None:
    page.goto("/simulator")
    page.get_by_label("Dewi Sartika (bendahara)").check()
    page.get_by_role("button", name="Mulai chat").click()
    page.get_by_label("Pesan Anda").fill("menu")
    page.get_by_role("button", name="Kirim", exact=True).click()
    expect(page.get_by_role("log").get_by_role("button").first).to_be_visible()


@sqlite_only
def test_every_console_page_is_accessible_on_a_phone_and_zoomed(
    walk: Walk, live_server: Live
) -> None:
    data = seed(live_server)
    check = walk.check

    nobody = walk.screen(None)
    check(nobody, "the login page", "/console/login")
    check(nobody, "the login page's code step", _code_step)
    check(nobody, "the simulator's choice", "/simulator")
    check(nobody, "a simulator chat", _chat)
    check(nobody, "an unknown simulator chat", "/simulator/chat/abcdefghijklmnopqrstuv")

    coordinator = walk.screen("coordinator")
    check(coordinator, "home (coordinator)", "/console/")
    check(coordinator, "meetings", "/console/meetings")
    check(coordinator, "a meeting", f"/console/meetings/{data.meeting}")
    check(coordinator, "a new meeting", "/console/meetings/new")
    check(coordinator, "complaints", "/console/complaints")
    check(coordinator, "a complaint", f"/console/complaints/{data.complaint}")
    check(coordinator, "the complaints map", "/console/complaints/map")
    check(coordinator, "announcements (none)", "/console/broadcasts")
    check(coordinator, "a new announcement", "/console/broadcasts/new")
    check(coordinator, "an announcement's preview", _preview)
    progress = _send(live_server, coordinator)
    check(coordinator, "an announcement's progress", progress)
    check(coordinator, "announcements", "/console/broadcasts")
    check(coordinator, "an unknown page", "/console/meetings/999999")
    check(coordinator, "members", "/console/members")
    check(coordinator, "pending members", "/console/members?status=pending")
    check(coordinator, "a member", f"/console/members/{data.siti}")
    check(coordinator, "the members import", "/console/members/import")

    treasurer = walk.screen("treasurer")
    check(treasurer, "home (treasurer)", "/console/")
    check(treasurer, "savings and loans", "/console/ledger")
    check(treasurer, "a member search", "/console/ledger/members?q=siti")
    check(treasurer, "a member's savings and loans", f"/console/ledger/members/{data.siti}")
    check(treasurer, "a deposit", f"/console/ledger/members/{data.siti}/deposit")
    check(treasurer, "a deposit's check", _deposit_check(data.siti))
    check(treasurer, "a refused deposit", _deposit_refused(data.siti))
    check(treasurer, "a repayment", f"/console/ledger/members/{data.siti}/repay")
    check(treasurer, "a statement", f"/console/ledger/members/{data.siti}/statement")
    check(treasurer, "a ledger entry", f"/console/ledger/entries/{data.entry}")
    check(treasurer, "a reversal", f"/console/ledger/entries/{data.entry}/reverse")

    officer = walk.screen("protection_officer")
    check(officer, "home (protection officer)", "/console/")
    check(officer, "help requests", "/console/help")

    admin = walk.screen("admin")
    check(admin, "home (admin)", "/console/")
    check(admin, "the audit log", "/console/audit")
    check(admin, "a new loan", f"/console/ledger/members/{data.siti}/loan")

    assert walk.seen >= 34
    assert not walk.problems, "\n".join(walk.problems)


@sqlite_only
def test_the_keyboard_reaches_the_skip_link_first_with_a_visible_focus(
    page: Page, live_server: Live
) -> None:
    with live_server.db.transaction() as session:
        seed_demo(session, meetings=False)
        siti = find_by_phone_and_name(session, COMMUNITY, "+6281200000003", "Siti Aminah")
        assert siti is not None
    add_staff(live_server.db, "treasurer")
    offline(page.context, live_server)
    page.goto("/console/login")
    first_tab_is_the_skip_link(page)
    # The form is reached and used with the keyboard alone.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "phone"
    login(page, live_server, "treasurer")
    first_tab_is_the_skip_link(page)
    page.goto(f"/console/ledger/members/{siti.id}/deposit")
    first_tab_is_the_skip_link(page)
    # From the main part on, every stop shows its focus, up to the form's fields and button.
    stops = tab_through(page, until="button[type=submit]")
    assert "input#amount" in stops and "input#note" in stops, stops


# --- the checks themselves find what they must find ---


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_a_page_wider_than_the_phone_is_found(page: Page) -> None:
    page.set_content('<main><p>Halo</p><div class="wide" style="min-width: 500px">x</div></main>')
    why = sideways(page)
    assert why is not None and "div.wide" in why
    page.set_content("<main><p>Halo</p></main>")
    assert sideways(page) is None


def test_a_focus_without_a_ring_is_found(page: Page) -> None:
    page.set_content(
        "<style>.skip:focus { outline: none; }</style>"
        '<a class="skip" href="#main">Langsung ke isi halaman</a>'
        '<main id="main" tabindex="-1"><a href="#x">x</a></main>'
    )
    with pytest.raises(AssertionError, match="outline"):
        first_tab_is_the_skip_link(page)
