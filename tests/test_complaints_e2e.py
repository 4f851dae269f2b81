"""LAPOR end to end on both channels: the webhooks, the dialog, the app's own sender fetching
the photos and the voice note from the fake platforms (checked by their content, size limited),
the ticket, the coordinators' notice, KELUHAN changing the status and the notice reaching the
reporter. The logs carry neither the description nor a phone number."""

from __future__ import annotations

import logging
import re

import pytest
from sqlmodel import select

from storage.complaints import Complaint, ComplaintPhoto, Status
from storage.db import Database
from storage.models import MediaFile
from tests.fakes import FakeTelegram, FakeTwilio
from tests.fakes.telegram_updates import RINA, TelegramUpdates, TgUser
from tests.fakes.webhooks import TelegramWebhook, WhatsAppWebhook, running_app
from tests.outbox_support import add_member
from tests.test_broadcast_e2e import wait

COORDINATOR = "+6281299990000"
RESIDENT = "+6281377770001"
JPEG = b"\xff\xd8\xff\xe0" + b"JFIF-fake-photo" * 50
PNG = b"\x89PNG\r\n\x1a\n" + b"fake-png" * 40
PDF = b"%PDF-1.4 not a photo at all" * 10
OGG = b"OggS\x00\x02" + b"fake-opus" * 60
DESCRIPTION = "Galian di depan musala belum ditutup, anak-anak hampir jatuh tadi pagi"
YATI = TgUser(id=7000042, first_name="Yati")


@pytest.fixture
def fast_settings(make_settings):
    return make_settings(
        wlcc_sender_enabled=True,
        wlcc_outbox_poll_seconds=0.05,
        wlcc_telegram_rate_per_second=0,
        wlcc_telegram_chat_rate_per_second=0,
        wlcc_whatsapp_rate_per_second=0,
        wlcc_broadcast_progress_seconds=3600,
        wlcc_complaint_max_photo_mb=1,
    )


def _fetched(db: Database, count: int) -> bool:
    with db.transaction() as session:
        rows = session.exec(select(MediaFile)).all()
        return len(rows) >= count and not any(r.pending_fetch for r in rows)


def test_lapor_on_whatsapp_with_photos_then_keluhan(
    db: Database,
    fast_settings,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with db.transaction() as session:
        add_member(
            session,
            "Rina",
            COORDINATOR,
            role="coordinator",
            kelurahan="23 Ilir",
            telegram=str(RINA.id),
        )
    photo = fake_twilio.add_media(JPEG, "image/jpeg")
    fake_pdf = fake_twilio.add_media(PDF, "image/jpeg")  # declared a photo, it is not one
    too_big = fake_twilio.add_media(b"\xff\xd8\xff\xe0" + b"x" * (1024 * 1024 + 10))
    with running_app(fast_settings) as client:
        whatsapp = WhatsAppWebhook(client, fast_settings)
        whatsapp.say("LAPOR", phone=RESIDENT)
        whatsapp.say("2", phone=RESIDENT)  # excavation
        whatsapp.say(DESCRIPTION, phone=RESIDENT)
        whatsapp.say("", phone=RESIDENT, latitude=-2.9850, longitude=104.7540)
        whatsapp.say("23 ilir", phone=RESIDENT)
        whatsapp.say("", phone=RESIDENT, media=[("image/jpeg", photo)])
        whatsapp.say("", phone=RESIDENT, media=[("image/jpeg", fake_pdf)])
        whatsapp.say("", phone=RESIDENT, media=[("application/pdf", "")])  # a document
        assert "bukan foto" in fake_twilio.bodies(f"whatsapp:{RESIDENT}")[-2]
        whatsapp.say("", phone=RESIDENT, media=[("image/jpeg", too_big)])
        wait(lambda: _fetched(db, 3), "the photos downloaded", db)
        whatsapp.say("selesai", phone=RESIDENT)
        whatsapp.say("2", phone=RESIDENT)  # do not contact me
        summary = fake_twilio.bodies(f"whatsapp:{RESIDENT}")[-1]
        assert "Foto: 1" in summary
        assert "Satu berkas ternyata bukan foto dan tidak disimpan." in summary
        assert "Satu foto terlalu besar dan tidak bisa disimpan." in summary
        whatsapp.say("1", phone=RESIDENT)
        done = fake_twilio.bodies(f"whatsapp:{RESIDENT}")[-1]
        code = re.search(r"Nomor laporan: ([A-Z]{2}-[0-9A-Z]{5})", done)
        assert code is not None
        with db.transaction() as session:
            complaint = session.exec(select(Complaint)).one()
            assert complaint.code == code.group(1) and complaint.kelurahan == "23 Ilir"
            [kept] = session.exec(select(ComplaintPhoto)).all()
            media = session.get(MediaFile, kept.media_id)
            assert media is not None and media.data == JPEG
            assert media.content_type == "image/jpeg"
        # The coordinator of 23 Ilir hears of it on her Telegram.
        wait(
            lambda: any(code.group(1) in (c.text or "") for c in fake_telegram.sent(RINA.id)),
            "the coordinator's notice",
            db,
        )
        # She verifies it from her chat; the resident gets the change.
        rina = TelegramUpdates(RINA, first_update_id=500_000)
        telegram = TelegramWebhook(client, fast_settings, rina)
        telegram.say("KELUHAN")
        telegram.post(rina.callback(f"ticket:{complaint.id}"))
        telegram.post(rina.callback(f"to:{Status.VERIFIED}"))
        telegram.say("Sudah kami lihat ke lokasi")
        wait(
            lambda: any(
                "Sudah dicek pengurus" in b for b in fake_twilio.bodies(f"whatsapp:{RESIDENT}")
            ),
            "the resident's notice",
            db,
        )
        notice = next(b for b in fake_twilio.bodies(f"whatsapp:{RESIDENT}") if "Sudah dicek" in b)
        assert "Sudah kami lihat ke lokasi" in notice and "Rina" not in notice
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert DESCRIPTION not in logged and "Galian di depan" not in logged
    assert RESIDENT not in logged and RESIDENT.lstrip("+") not in logged
    assert COORDINATOR not in logged


def test_lapor_on_telegram_with_a_voice_note_and_a_photo(
    db: Database, fast_settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    updates = TelegramUpdates(YATI)
    with running_app(fast_settings) as client:
        telegram = TelegramWebhook(client, fast_settings, updates)
        telegram.say("lapor")
        telegram.post(updates.callback("cat:leak"))
        voice = updates.voice()
        fake_telegram.add_file(voice["message"]["voice"]["file_id"], OGG)
        telegram.post(voice)
        assert (fake_telegram.sent(YATI.id)[-2].text or "").startswith(
            "Pesan suara Ibu kami simpan"
        )
        telegram.say("Jl. Mawar 3, RT 3 RW 5, Kelurahan 24 Ilir")
        video = updates.video()
        telegram.post(video)
        assert (fake_telegram.sent(YATI.id)[-2].text or "").startswith("Itu video.")
        picture = updates.photo()
        fake_telegram.add_file(picture["message"]["photo"][-1]["file_id"], PNG)
        telegram.post(picture)
        wait(lambda: _fetched(db, 2), "the voice note and the photo downloaded", db)
        telegram.post(updates.callback("photos:done"))
        telegram.post(updates.callback("contact:yes"))
        summary = fake_telegram.sent(YATI.id)[-1].text or ""
        assert "Cerita: pesan suara" in summary and "Foto: 1" in summary
        assert "RT/RW: 003/005" in summary and "Kelurahan: 24 Ilir" in summary
        telegram.post(updates.callback("confirm:send"))
        with db.transaction() as session:
            complaint = session.exec(select(Complaint)).one()
            assert complaint.voice_media_id is not None and complaint.description is None
            voice_row = session.get(MediaFile, complaint.voice_media_id)
            assert voice_row is not None and voice_row.data == OGG
            assert voice_row.content_type == "audio/ogg"
            [kept] = session.exec(select(ComplaintPhoto)).all()
            photo_row = session.get(MediaFile, kept.media_id)
            assert photo_row is not None and photo_row.content_type == "image/png"
            assert complaint.contact_ok is True and complaint.rt_rw == "003/005"
        assert complaint.code in (fake_telegram.sent(YATI.id)[-1].text or "")
