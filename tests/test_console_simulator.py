"""The browser simulator at /simulator (console/simulator.py): served only with WLCC_SIMULATOR,
the demo's people, a chat through the real router (buttons, a location, a photo), what the bot
sends on its own arriving in her chat, chats that never mix, and the bad input it refuses."""

from __future__ import annotations

import html
import io
import logging
import re
import struct
import time
import zlib
from collections.abc import Callable, Iterator

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from bot.media import PHOTO_KINDS
from storage.complaints import Complaint, ComplaintPhoto
from storage.db import Database
from storage.demo import DEMO_MEMBERS, seed_demo
from storage.identities import default_community
from storage.media import MAX_BYTES, SIMULATOR_SOURCE, SIMULATOR_UPLOAD
from storage.models import Identity, MediaFile, OutboxMessage, OutboxStatus
from storage.outbox import SIMULATOR, enqueue
from tests.fakes.webhooks import running_app
from wlcc.settings import Settings

BUTTON = re.compile(r'<button type="submit" name="payload" value="([^"]*)">\d+\. ([^<]*)</button>')
CHAT = re.compile(r"^/simulator/chat/([A-Za-z0-9_-]+)$")
SITI, DEWI, RINA = "m2", "m5", "m1"


def png(size: int = 0) -> bytes:
    """A real (tiny) PNG, padded with a text chunk up to about ``size`` bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00\xff\x00\x00")
    padding = chunk(b"tEXt", b"c\x00" + b"x" * max(0, size)) if size else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + padding
        + chunk(b"IDAT", body)
        + chunk(b"IEND", b"")
    )


def wait(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Browser:
    """One browser on the simulator (its own cookie jar), in one chat at a time."""

    def __init__(self, app: object) -> None:
        self.client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
        self.chat = ""
        self.page = ""

    def start(self, person: str) -> str:
        answer = self.client.post("/simulator/start", data={"person": person})
        assert answer.status_code == 303, answer.text
        match = CHAT.match(answer.headers["location"])
        assert match is not None, answer.headers["location"]
        self.chat = f"/simulator/chat/{match.group(1)}"
        return self.look()

    def look(self) -> str:
        answer = self.client.get(self.chat)
        assert answer.status_code == 200, answer.text
        self.page = html.unescape(answer.text)
        return self.page

    def _after(self, answer: object) -> str:
        status = getattr(answer, "status_code", None)
        assert status == 303, getattr(answer, "text", answer)
        assert getattr(answer, "headers")["location"] == f"{self.chat}#latest"  # noqa: B009
        return self.look()

    def say(self, text: str) -> str:
        return self._after(self.client.post(f"{self.chat}/send", data={"text": text}))

    def press(self, payload: str) -> str:
        assert payload in self.buttons(), f"no button {payload!r} on the page: {self.buttons()}"
        return self._after(self.client.post(f"{self.chat}/send", data={"payload": payload}))

    def locate(self, latitude: str = "-2.97", longitude: str = "104.76") -> str:
        form = {"latitude": latitude, "longitude": longitude}
        return self._after(self.client.post(f"{self.chat}/location", data=form))

    def photo(self, data: bytes, name: str = "got.png", caption: str = "") -> object:
        return self.client.post(
            f"{self.chat}/photo",
            data={"caption": caption},
            files={"photo": (name, io.BytesIO(data), "image/png")},
        )

    def buttons(self) -> dict[str, str]:
        """The payloads of the buttons on the page, with their labels (without the number)."""
        return {html.unescape(p): html.unescape(label) for p, label in BUTTON.findall(self.page)}

    def log(self) -> str:
        """The conversation's part of the page."""
        start = self.page.index('id="sim-log"')
        return self.page[start : self.page.index("</ol>", start)]


@pytest.fixture
def sim_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        wlcc_simulator=True,
        wlcc_outbox_poll_seconds=0.05,
        wlcc_simulator_rate_per_second=0,
    )


@pytest.fixture
def sim_app(sim_settings: Settings, db: Database) -> Iterator[TestClient]:
    with db.transaction() as session:
        seed_demo(session, meetings=False)
    with running_app(sim_settings) as client:
        yield client


def test_without_wlcc_simulator_every_page_is_a_404_and_a_warning(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    import console.simulator as module

    module._last_warning = 0.0
    with caplog.at_level(logging.WARNING, logger="console.simulator"):
        page = client.get("/simulator")
    assert page.status_code == 404
    assert "Halaman ini tidak ada" in page.text
    assert "Siti" not in page.text
    assert any("WLCC_SIMULATOR is off" in r.getMessage() for r in caplog.records)
    assert client.post("/simulator/start", data={"person": SITI}).status_code == 404
    assert client.get("/simulator/chat/abcdefghijklmnopqrstuv").status_code == 404
    assert client.get("/simulator/lang/en").status_code == 404


def test_the_choice_lists_the_demo_people_with_their_roles(sim_app: TestClient) -> None:
    page = sim_app.get("/simulator")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    text = html.unescape(page.text)
    for name, phone, _, _ in DEMO_MEMBERS:
        assert name in text and phone in text
    assert "Maya Sari (petugas perlindungan)" in text
    assert "Admin WLCC (admin)" in text
    assert "Rina Wulandari (pengurus)" in text
    assert "Dewi Sartika (bendahara)" in text
    assert "Warga yang belum menjadi anggota (warga)" in text
    assert '<label for="person-resident">' in page.text
    assert "<script>" not in page.text  # the CSP forbids inline scripts
    assert "wlcc_simulator=" in page.headers["set-cookie"]
    english = sim_app.get("/simulator/lang/en", follow_redirects=False)
    assert english.status_code == 303
    assert "Path=/simulator" in english.headers["set-cookie"]
    assert "Who are you?" in sim_app.get("/simulator").text


def test_menu_shows_buttons_and_a_button_sends_its_payload(sim_app: TestClient) -> None:
    browser = Browser(sim_app.app)
    page = browser.start(DEWI)
    assert "Dewi Sartika" in page and "+6281200000005" in page
    page = browser.say("menu")
    buttons = browser.buttons()
    assert len(buttons) >= 3, page
    log = browser.log()
    assert "Anda:" in log and "menu" in log and "WLCC:" in log
    # The numbered list is there too, as WhatsApp shows it.
    first_payload, first_label = next(iter(buttons.items()))
    assert f"1. {first_label}" in log
    assert 'role="log"' in page and 'aria-live="polite"' in page
    assert 'id="latest"' in page
    assert first_payload == "JADWAL"
    assert log.count('class="sim-line') == 2
    browser.press(first_payload)
    log = browser.log()
    # Her line shows the label she pressed, and the bot answered the payload: the schedule.
    assert log.count('class="sim-line') == 4
    assert log.count(first_label) == 2
    assert "Belum ada pertemuan atau pelatihan" in log
    # Only the last answer's choices are buttons; the menu's are gone.
    assert first_payload not in browser.buttons()


def test_a_location_and_a_photo_make_a_complaint_with_a_photo(
    sim_app: TestClient, db: Database
) -> None:
    browser = Browser(sim_app.app)
    browser.start("resident")
    browser.say("LAPOR")
    for _ in range(3):  # a resident may be asked for her consent first
        buttons = browser.buttons()
        if any(p.startswith("cat:") or p.startswith("category:") for p in buttons):
            break
        browser.press(next(iter(buttons)))
    category = next(p for p in browser.buttons() if ":" in p and p != "BATAL")
    browser.press(category)
    browser.say("Pipa air limbah bocor di depan rumah")
    page = browser.locate("-2.9761", "104.7754")
    assert "Lokasi: -2.97610, 104.77540" in browser.log()
    kelurahan = next(p for p in browser.buttons() if p.startswith("kel:"))
    browser.press(kelurahan)
    answer = browser.photo(png(), caption="")
    page = browser._after(answer)
    assert "Foto (" in browser.log()
    browser.press("photos:done")
    browser.press("contact:no")
    if "join:new" in browser.buttons():
        browser.press("join:new")
    page = browser.press("confirm:send")
    with db.transaction() as session:
        [complaint] = session.exec(select(Complaint)).all()
        [photo] = session.exec(
            select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == complaint.id)
        ).all()
        assert complaint.latitude == pytest.approx(-2.9761)
        code = complaint.code
        media_id = photo.media_id
    assert code in page
    # The sender fetched the photo from the simulated channel's copy, checked by its content.

    def fetched() -> bool:
        with db.transaction() as session:
            media = session.get(MediaFile, media_id)
            return media is not None and media.data is not None

    wait(fetched, "the complaint's photo to be fetched")
    with db.transaction() as session:
        media = session.get(MediaFile, media_id)
        assert media is not None
        assert media.source_channel == SIMULATOR_SOURCE
        assert media.content_type in PHOTO_KINDS and media.error is None
        assert bytes(media.data or b"") == png()


def test_a_notice_for_her_arrives_in_her_chat(sim_app: TestClient, db: Database) -> None:
    browser = Browser(sim_app.app)
    browser.start(RINA)
    with db.transaction() as session:
        community = default_community(session)
        chat = session.exec(
            select(Identity).where(
                Identity.channel == SIMULATOR, Identity.address == "+6281200000002"
            )
        ).one()
        assert community.id is not None
        enqueue(
            session,
            key="test:notice",
            kind="notice",
            community_id=community.id,
            text="Kode masuk konsol WLCC Anda: 123456",
            identity_id=chat.id,
            choices=[("notice:ok", "Baik")],
        )
    sim_app.app.state.sender.sender.wake()  # type: ignore[attr-defined]

    def shown() -> bool:
        return "Kode masuk konsol WLCC Anda: 123456" in browser.look()

    wait(shown, "the notice in her chat")
    assert "WLCC (pesan baru):" in browser.log()
    assert browser.buttons() == {"notice:ok": "Baik"}
    with db.transaction() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.key == "test:notice")).one()
        assert row.status == OutboxStatus.READ
    # Shown once: the next look does not repeat it.
    assert browser.look().count("123456") == 1
    # simulator.js asks for what came after the last line it has.
    log = browser.client.get(f"{browser.chat}/log", params={"after": "0"})
    assert log.status_code == 200 and "123456" in log.text
    assert "123456" not in browser.client.get(f"{browser.chat}/log?after=999").text


def test_two_browsers_and_two_tabs_never_mix(sim_app: TestClient) -> None:
    one, two = Browser(sim_app.app), Browser(sim_app.app)
    one.start(DEWI)
    two.start("resident")
    one.say("SALDO")
    two.say("menu")
    assert "Dewi Sartika" in one.look() and "SALDO" in one.log()
    assert "SALDO" not in two.look() and "Dewi Sartika" not in two.page
    # Another browser cannot open her chat.
    stolen = two.client.get(one.chat)
    assert stolen.status_code == 404
    assert "SALDO" not in stolen.text
    assert two.client.post(f"{one.chat}/send", data={"text": "x"}).status_code == 404
    # Two tabs of one browser: two chats, two persons.
    tab = Browser(sim_app.app)
    tab.client = one.client
    tab.start(RINA)
    assert tab.chat != one.chat
    tab.say("menu")
    assert "Rina Wulandari" in tab.look() and "SALDO" not in tab.log()
    assert "SALDO" in one.look() and "Rina Wulandari" not in one.page
    chooser = html.unescape(one.client.get("/simulator").text)
    assert "Dewi Sartika, +6281200000005" in chooser
    assert "Rina Wulandari, +6281200000002" in chooser


def test_each_resident_is_someone_new(sim_app: TestClient) -> None:
    one, two = Browser(sim_app.app), Browser(sim_app.app)
    numbers = [re.search(r"\+62812009\d{5}", b.start("resident")) for b in (one, two)]
    assert all(numbers)
    assert numbers[0].group(0) != numbers[1].group(0)  # type: ignore[union-attr]


def test_bad_input_is_a_422_page_never_a_500(sim_app: TestClient, db: Database) -> None:
    browser = Browser(sim_app.app)
    for person in ("nobody", "", "m99"):
        page = browser.client.post("/simulator/start", data={"person": person})
        assert page.status_code == 422
        assert "Pilih salah satu orang dari daftar" in page.text
        assert 'role="alert"' in page.text
    assert browser.client.post("/simulator/start", content=b"x").status_code == 422
    browser.start(SITI)
    with db.transaction() as session:
        uploads_before = len(session.exec(select(MediaFile)).all())

    def refused(answer: object, words: str) -> None:
        assert getattr(answer, "status_code", None) == 422, answer
        text = html.unescape(getattr(answer, "text", ""))
        assert words in text
        assert 'aria-invalid="true"' in text

    refused(browser.photo(png(MAX_BYTES + 10)), "lebih besar dari 5 MB")
    refused(browser.photo(b"GIF89a not allowed"), "bukan foto")
    refused(browser.photo(b"%PDF-1.4", name="x.pdf"), "bukan foto")
    refused(
        browser.client.post(f"{browser.chat}/photo", data={"caption": "x"}, files={}),
        "Pilih foto dulu",
    )
    # A body far past the limit is refused by its length, before it is read.
    refused(browser.photo(b"\xff\xd8\xff" + b"0" * (MAX_BYTES + 100 * 1024)), "lebih besar")
    refused(
        browser.client.post(f"{browser.chat}/location", data={"latitude": "x", "longitude": "1"}),
        "harus angka",
    )
    refused(
        browser.client.post(f"{browser.chat}/location", data={"latitude": "91", "longitude": "1"}),
        "harus angka",
    )
    refused(browser.client.post(f"{browser.chat}/send", data={"text": "  "}), "Ketik pesan dulu")
    refused(browser.client.post(f"{browser.chat}/send", data={"text": "x" * 5000}), "terlalu")
    assert browser.client.post(f"{browser.chat}/send", content=b"x").status_code == 422
    assert browser.client.get(f"{browser.chat}/log?after=x").status_code == 422
    assert browser.client.get("/simulator/chat/nope").status_code == 404
    assert browser.client.get("/simulator/lang/xx").status_code == 404
    with db.transaction() as session:
        assert len(session.exec(select(MediaFile)).all()) == uploads_before
        assert not session.exec(
            select(MediaFile).where(MediaFile.source_ref == SIMULATOR_UPLOAD)
        ).all()
    # Nothing was sent as her: her chat is still empty.
    assert "Anda:" not in browser.log()


def test_the_page_works_without_javascript_which_only_fetches_new_lines(
    sim_app: TestClient,
) -> None:
    browser = Browser(sim_app.app)
    page = browser.start(RINA)
    assert '<script src="/console/static/simulator.js" defer></script>' in page
    assert "<script>" not in page and " onclick=" not in page  # no inline script
    # Every control is in a form with a label or a legend.
    for control in ('for="sim-text"', 'for="sim-lat"', 'for="sim-lon"', 'for="sim-file"'):
        assert control in page
    assert 'method="post" action="' + browser.chat + '/send"' in page
    script = sim_app.get("/console/static/simulator.js")
    assert script.status_code == 200 and "data-after" in script.text
    assert sim_app.get("/console/static/simulator.css").status_code == 200
    # English, for this path only.
    english = browser.client.get(f"/simulator/lang/en?next={browser.chat}")
    assert english.status_code == 303 and english.headers["location"] == browser.chat
    assert "Chat with WLCC" in browser.look() and "You are writing as" in browser.page
    elsewhere = browser.client.get("/simulator/lang/id?next=https://example.org/")
    assert elsewhere.headers["location"] == "/simulator"
