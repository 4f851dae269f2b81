"""A coordinator broadcasts from her phone, end to end: the webhooks, the dialog, the app's own
sender, both fake platforms, delivery reports and the summary back to her."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import select

from storage.db import Database
from storage.models import Identity, MediaFile
from tests.fakes import FakeTelegram, FakeTwilio
from tests.fakes.telegram_updates import RINA, TelegramUpdates
from tests.fakes.twilio_forms import status_callback
from tests.fakes.webhooks import TelegramWebhook, WhatsAppWebhook, running_app
from tests.outbox_support import add_member, phone, rows

COORDINATOR = "+6281299990000"
PHOTO = b"\xff\xd8\xff\xe0" + b"JFIF-fake-photo" * 50


def wait(
    condition: Callable[[], bool], what: str, db: Database | None = None, timeout: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            outbox = [(r.key, r.status, r.reason, r.last_error) for r in rows(db)] if db else []
            raise AssertionError(f"timed out waiting for {what}; outbox: {outbox}")
        time.sleep(0.02)


@pytest.fixture
def fast_settings(make_settings):
    return make_settings(
        wlcc_sender_enabled=True,
        wlcc_outbox_poll_seconds=0.05,
        wlcc_telegram_rate_per_second=0,
        wlcc_telegram_chat_rate_per_second=0,
        wlcc_whatsapp_rate_per_second=0,
        wlcc_broadcast_progress_seconds=3600,
    )


def members(db: Database) -> None:
    with db.transaction() as session:
        add_member(
            session,
            "Rina",
            COORDINATOR,
            role="coordinator",
            kelurahan="23 Ilir",
            telegram=str(RINA.id),
        )
        add_member(session, "Siti", phone(1), kelurahan="19 Ilir", telegram="7000001")
        add_member(session, "Dewi", phone(2), kelurahan="23 Ilir", whatsapp=True)
        add_member(
            session,
            "Fatimah",
            phone(3),
            kelurahan="24 Ilir",
            whatsapp=True,
            last_whatsapp=timedelta(days=2),
        )  # outside 24 h, no template: skipped
        add_member(session, "Ani", phone(4), kelurahan="19 Ilir", whatsapp=True, opted_out=True)


def test_broadcast_from_telegram_reaches_both_channels_and_reports_back(
    db: Database, fast_settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    members(db)
    updates = TelegramUpdates(RINA)
    with running_app(fast_settings) as client:
        telegram = TelegramWebhook(client, fast_settings, updates)
        whatsapp = WhatsAppWebhook(client, fast_settings)
        assert telegram.say("UMUMKAN").status_code == 200
        telegram.say("Rapat bulanan Sabtu 12 Desember jam 09.00 di balai RW 3.")
        [ask] = [c for c in fake_telegram.sent(RINA.id) if c.text == "Kirim ke siapa?"]
        assert ask.buttons[0]["text"] == "Semua anggota (5)"
        telegram.post(updates.callback("aud:all"))
        confirm = fake_telegram.sent(RINA.id)[-1]
        assert (confirm.text or "").startswith("Kirim ke 4 anggota (semua anggota)?")
        preview = fake_telegram.sent(RINA.id)[-2]
        assert preview.text == "Rapat bulanan Sabtu 12 Desember jam 09.00 di balai RW 3."
        telegram.post(updates.callback("bc:send"))
        # The app's sender delivers; the summary comes back to her chat.
        wait(
            lambda: any(
                (c.text or "").startswith("Pengumuman #1 selesai")
                for c in fake_telegram.sent(RINA.id)
            ),
            "the summary",
        )
        text = "Rapat bulanan Sabtu 12 Desember jam 09.00 di balai RW 3."
        assert fake_telegram.texts(7000001) == [text]
        assert fake_twilio.bodies(f"whatsapp:{phone(2)}") == [text]
        assert fake_twilio.messages(f"whatsapp:{phone(3)}") == []  # window
        assert fake_twilio.messages(f"whatsapp:{phone(4)}") == []  # opted out
        summary = [c.text for c in fake_telegram.sent(RINA.id) if "selesai" in (c.text or "")]
        assert (summary[0] or "").splitlines() == [
            "Pengumuman #1 selesai.",
            "Terkirim: 3 dari 5.",
            "Sudah sampai: 0, sudah dibaca: 0 (laporan dari WhatsApp saja).",
            "Gagal: 0.",
            "Tidak dikirim: 2.",
            "• sudah minta berhenti (BERHENTI): 1",
            "• belum membalas di WhatsApp dalam 24 jam terakhir, dan WhatsApp tidak mengizinkan "
            "kami menulis lebih dulu: 1",
        ]
        # Twilio reports delivery; UMUMKAN STATUS counts it.
        [to_dewi] = fake_twilio.messages(f"whatsapp:{phone(2)}")
        row = next(r for r in rows(db) if r.platform_message_id == to_dewi.sid)
        callback = to_dewi.get("StatusCallback") or ""
        path = callback.removeprefix("https://bot.example.org")
        form = status_callback("delivered", sid=to_dewi.sid or "", phone=phone(2))
        assert whatsapp.post(form, path=path).status_code == 204
        assert next(r for r in rows(db) if r.id == row.id).status == "delivered"
        before = len(fake_telegram.sent(RINA.id))
        telegram.say("umumkan status")
        # Right after the summary its row may still be recorded as being sent: the answer then
        # waits in the outbox behind it, a moment.
        wait(lambda: len(fake_telegram.sent(RINA.id)) > before, "the status", db)
        assert (fake_telegram.sent(RINA.id)[-1].text or "").splitlines()[2] == (
            "Sudah sampai: 1, sudah dibaca: 0 (laporan dari WhatsApp saja)."
        )


def test_a_photo_from_whatsapp_goes_to_telegram_and_whatsapp(
    db: Database, fast_settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    members(db)
    with db.transaction() as session:
        add_member(session, "Lina", phone(5), telegram="7000005")
    url = fake_twilio.add_media(PHOTO, "image/jpeg")
    with running_app(fast_settings) as client:
        whatsapp = WhatsAppWebhook(client, fast_settings)
        whatsapp.say("umumkan", phone=COORDINATOR)
        whatsapp.say("Foto kerja bakti kemarin", phone=COORDINATOR, media=[("image/jpeg", url)])
        whatsapp.say("1", phone=COORDINATOR)  # everyone
        # The preview shows the photo with its caption, as members will get it.
        preview = fake_twilio.messages(f"whatsapp:{COORDINATOR}")[-2]
        assert preview.body == "Foto kerja bakti kemarin" and preview.media_urls == [url]
        whatsapp.say("1", phone=COORDINATOR)  # send
        wait(
            lambda: (
                len(fake_telegram.calls("sendPhoto", ok=True)) == 3
                and len(fake_twilio.messages(f"whatsapp:{phone(2)}")) == 1
            ),
            "the photos",
            db,
        )
        photos = fake_telegram.calls("sendPhoto", ok=True)
        assert {c["chat_id"] for c in photos} == {RINA.id, 7000001, 7000005}
        assert all(c.text == "Foto kerja bakti kemarin" for c in photos)
        uploads = [c for c in photos if "photo" in c.files]
        assert len(uploads) == 1 and uploads[0].files["photo"].content == PHOTO
        reused = {c["photo"] for c in photos if "photo" not in c.files}
        assert reused == {uploads[0].result["photo"][-1]["file_id"]}  # uploaded once
        [to_dewi] = fake_twilio.messages(f"whatsapp:{phone(2)}")
        with db.transaction() as session:
            media = session.exec(select(MediaFile)).one()
        assert to_dewi.media_urls == [f"https://bot.example.org/media/{media.token}"]
        assert to_dewi.body == "Foto kerja bakti kemarin"
        # Twilio can fetch it from us, without credentials; nobody can guess another.
        served = client.get(f"/media/{media.token}")
        assert served.status_code == 200 and served.content == PHOTO
        assert served.headers["content-type"] == "image/jpeg"
        assert client.get("/media/" + "x" * 32).status_code == 404


def test_a_photo_from_telegram_goes_to_whatsapp(
    db: Database, fast_settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    members(db)
    updates = TelegramUpdates(RINA)
    with running_app(fast_settings) as client:
        telegram = TelegramWebhook(client, fast_settings, updates)
        telegram.say("umumkan")
        photo = updates.photo("Jadwal posyandu")
        file_id = photo["message"]["photo"][-1]["file_id"]
        fake_telegram.add_file(file_id, PHOTO)
        telegram.post(photo)
        telegram.post(updates.callback("aud:all"))
        preview_photo = fake_telegram.calls("sendPhoto")[-1]  # a captioned photo, as members see
        assert (preview_photo["photo"], preview_photo.text) == (file_id, "Jadwal posyandu")
        telegram.post(updates.callback("bc:send"))
        wait(lambda: len(fake_twilio.messages(f"whatsapp:{phone(2)}")) == 1, "WhatsApp")
        [to_dewi] = fake_twilio.messages(f"whatsapp:{phone(2)}")
        token = to_dewi.media_urls[0].rsplit("/", 1)[1]
        assert client.get(f"/media/{token}").content == PHOTO  # fetched from Telegram once
        wait(
            lambda: any(c["chat_id"] == 7000001 for c in fake_telegram.calls("sendPhoto")),
            "Telegram",
        )
        to_siti = [c for c in fake_telegram.calls("sendPhoto") if c["chat_id"] == 7000001]
        assert to_siti[0]["photo"] == file_id and not to_siti[0].files  # no upload needed
        assert len(fake_telegram.calls("getFile")) == 1


def test_a_photo_that_cannot_be_fetched_fails_with_a_reason(
    db: Database, fast_settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    members(db)
    updates = TelegramUpdates(RINA)
    with running_app(fast_settings) as client:
        telegram = TelegramWebhook(client, fast_settings, updates)
        telegram.say("umumkan")
        telegram.post(updates.photo("Foto hilang"))  # the fake does not know this file
        telegram.post(updates.callback("aud:all"))
        telegram.post(updates.callback("bc:send"))
        wait(
            lambda: any("selesai" in (c.text or "") for c in fake_telegram.sent(RINA.id)),
            "the summary",
        )
    to_dewi = next(r for r in rows(db) if r.key == "broadcast:1:member:3")  # Dewi, WhatsApp
    assert (to_dewi.status, to_dewi.reason) == ("failed", "media")
    assert fake_twilio.messages(f"whatsapp:{phone(2)}") == []
    with db.transaction() as session:
        assert session.exec(select(Identity).where(Identity.phone == phone(2))).one()


def test_progress_reaches_the_coordinator_with_a_stop_button(
    db: Database, settings, fake_telegram: FakeTelegram
) -> None:
    """A broadcast that takes a while (ten messages a second, progress every 0.4 s here): the
    coordinator gets progress with a button that stops it, then the summary."""
    from handlers.router import Router
    from tests.outbox_support import Chat, drain

    with db.transaction() as session:
        add_member(session, "Rina", COORDINATOR, role="coordinator", telegram=str(RINA.id))
        for i in range(14):
            add_member(session, f"M{i}", phone(10 + i), telegram=str(7100 + i))
    rina = Chat(Router(db), "telegram", str(RINA.id))
    rina.send("umumkan")
    rina.send("Rapat")
    rina.send(payload="aud:all")
    rina.send(payload="bc:send")
    drain(db, settings, telegram_rate=10.0, telegram_chat_rate=0.0, progress_every=0.4)
    to_rina = [c for c in fake_telegram.sent(RINA.id)]
    progress = [c for c in to_rina if "sudah dikerjakan" in (c.text or "")]
    assert progress, [c.text for c in to_rina]
    assert progress[0].buttons == [
        {"text": "Hentikan pengumuman", "callback_data": "HENTIKAN UMUMKAN"}
    ]
    assert "selesai" in (to_rina[-1].text or "")
    # Pressing the button (here, after the end) answers plainly.
    assert rina.texts(payload="HENTIKAN UMUMKAN") == ["Tidak ada pengumuman yang sedang dikirim."]
