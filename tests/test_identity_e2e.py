"""Issue 3, end to end through the real webhooks, SDKs and fake platforms:

a member imported by CSV writes on WhatsApp, then on Telegram after sharing her own contact, and
is the same person on both; a forwarded contact is refused; a shared phone asks who is speaking;
BERHENTI and MULAI switch her proactive messages off and on.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.db import Database
from storage.identities import default_community
from storage.member_import import apply_import, parse_members_csv
from storage.models import AuditLog, Identity, Member
from storage.outbox import enqueue
from tests.fakes.telegram_updates import TgUser
from tests.outbox_support import FAST, drain, row

CSV = (
    b"name,phone,kelurahan,role\n"
    b"Siti Aminah,0812-3456-7890,23 Ilir,member\n"
    b"Rina Wulandari,+62 812 0000 0002,24 Ilir,coordinator\n"
    b"Fatimah,6281200000004,19 Ilir,member\n"
    b"Ani Lestari,081200000004,19 Ilir,member\n"
)


def _import(db) -> None:
    plan = parse_members_csv(CSV)
    assert not plan.errors
    with db.transaction() as session:
        community = default_community(session)
        assert community.id is not None
        apply_import(session, community.id, plan.rows)


def _member(db: Database, name: str) -> Member:
    with db.transaction() as session:
        member = session.exec(select(Member).where(Member.name == name)).one()
        session.expunge(member)
        return member


def test_same_person_on_whatsapp_and_telegram(
    db, whatsapp, telegram, tg_updates, fake_twilio, fake_telegram
):
    _import(db)
    siti_wa = "whatsapp:+6281234567890"

    # WhatsApp proves the phone: greeted by name and asked for consent once.
    assert whatsapp.say("halo", phone="+6281234567890").status_code == 200
    first = fake_twilio.bodies(siti_wa)
    assert first[0].startswith("Halo, Bu Siti!")
    assert "Apakah Ibu setuju" in first[1]
    whatsapp.say("1", phone="+6281234567890")
    assert "persetujuan Ibu sudah kami catat" in fake_twilio.bodies(siti_wa)[2]
    assert "Menu utama untuk Bu Siti" in fake_twilio.bodies(siti_wa)[3]
    assert _member(db, "Siti Aminah").consent_at is not None

    # She starts choosing a language on WhatsApp...
    whatsapp.say("BAHASA", phone="+6281234567890")
    assert "Pilih bahasa" in fake_twilio.bodies(siti_wa)[-1]

    # ...then opens Telegram: unknown there until she shares her own contact.
    telegram.say("halo")
    chat = tg_updates.user.id
    assert "Hubungkan nomor HP" in str(fake_telegram.sent(chat)[-1].params["reply_markup"])
    telegram.post(tg_updates.contact("6281234567890"))
    assert fake_telegram.texts(chat)[-1].startswith("Terima kasih, Bu Siti.")
    with db.transaction() as session:
        linked = session.exec(select(Identity).where(Identity.channel == "telegram")).one()
        assert linked.phone == "+6281234567890"

    # The dialog begun on WhatsApp goes on on Telegram: "2" picks English.
    telegram.say("2")
    assert fake_telegram.texts(chat)[-1] == "OK, we will use English."
    assert _member(db, "Siti Aminah").language == "en"
    telegram.say("DATA")
    data = fake_telegram.texts(chat)[-1]
    assert "Name: Siti Aminah" in data
    assert "Telegram" in data and "WhatsApp" in data
    # And WhatsApp now answers her in English too.
    whatsapp.say("menu", phone="+6281234567890")
    assert fake_twilio.bodies(siti_wa)[-1].startswith("Main menu for Siti")


def test_forwarded_or_typed_contact_is_refused(db, telegram, tg_updates, fake_telegram):
    _import(db)
    chat = tg_updates.user.id
    # A contact card of someone else (forwarded) proves nothing.
    telegram.post(tg_updates.contact("6281234567890", contact_user_id=777000111))
    assert "nomor orang lain" in fake_telegram.texts(chat)[-1]
    markup = fake_telegram.sent(chat)[-1].params["reply_markup"]
    assert markup["keyboard"][0][0]["request_contact"] is True
    # A contact without a Telegram account neither.
    telegram.post(tg_updates.contact("6281234567890", contact_user_id=None))
    assert "nomor orang lain" in fake_telegram.texts(chat)[-1]
    # Nor a typed number while the bot waits for the button.
    telegram.say("HUBUNGKAN")
    telegram.say("0812-3456-7890")
    assert "tidak bisa kami periksa" in fake_telegram.texts(chat)[-1]
    with db.transaction() as session:
        identity = session.exec(select(Identity).where(Identity.channel == "telegram")).one()
        assert identity.phone is None
        refusals = session.exec(
            select(AuditLog).where(AuditLog.action == "identity.link", AuditLog.allowed == False)  # noqa: E712
        ).all()
        assert len(refusals) == 2
    # DATA shows nothing of Siti to this stranger.
    telegram.say("DATA")
    assert "Siti Aminah" not in fake_telegram.texts(chat)[-1]


def test_shared_family_phone_asks_who_is_speaking(
    db, whatsapp, telegram, fake_twilio, fake_telegram, tg_updates
):
    _import(db)
    family = "whatsapp:+6281200000004"
    whatsapp.say("DATA", phone="+6281200000004")
    ask = fake_twilio.bodies(family)[-1]
    assert ask.startswith("HP ini dipakai beberapa anggota. Siapa yang sedang menulis?")
    assert "1. Fatimah" in ask and "2. Ani" in ask
    whatsapp.say("2", phone="+6281200000004")
    replies = fake_twilio.bodies(family)
    # Ani's first message ever: greeted by name and asked for consent before anything else.
    assert replies[-2] == "Halo, Bu Ani! Selamat datang di layanan WLCC."
    assert "Apakah Ibu setuju" in replies[-1]
    whatsapp.say("1", phone="+6281200000004")
    assert fake_twilio.bodies(family)[-1].startswith("Menu utama untuk Bu Ani")
    whatsapp.say("DATA", phone="+6281200000004")
    data = fake_twilio.bodies(family)[-1]
    assert "Nama: Ani Lestari" in data and "Fatimah" not in data

    # On Telegram, the same family phone asks again once linked.
    grandma = TgUser(7001, "Fatimah", None, None, "id")
    telegram.post(tg_updates.contact("6281200000004", user=grandma))
    texts = fake_telegram.texts(grandma.id)
    assert texts[-1].startswith("HP ini dipakai beberapa anggota.")


def test_berhenti_and_mulai(db, whatsapp, fake_twilio):
    _import(db)
    siti = "whatsapp:+6281234567890"
    whatsapp.say("halo", phone="+6281234567890")
    whatsapp.say("1", phone="+6281234567890")
    whatsapp.say("stop", phone="+6281234567890")
    assert "tidak akan menerima pengumuman" in fake_twilio.bodies(siti)[-1]
    assert _member(db, "Siti Aminah").opted_out is True
    # Her own questions are still answered.
    whatsapp.say("DATA", phone="+6281234567890")
    assert "Pengumuman dan pengingat: berhenti" in fake_twilio.bodies(siti)[-1]
    whatsapp.say("MULAI", phone="+6281234567890")
    assert "akan menerima pengumuman dan pengingat lagi" in fake_twilio.bodies(siti)[-1]
    assert _member(db, "Siti Aminah").opted_out is False


@pytest.fixture
def settings(make_settings):
    """The app without its background sender: the test drains the outbox itself."""
    return make_settings(wlcc_sender_enabled=False)


def test_berhenti_stops_reminders_in_the_outbox_and_mulai_restarts_them(
    db, settings, whatsapp, fake_twilio
):
    _import(db)
    siti = "whatsapp:+6281234567890"
    whatsapp.say("halo", phone="+6281234567890")
    whatsapp.say("1", phone="+6281234567890")
    member_id = _member(db, "Siti Aminah").id
    assert member_id is not None

    def remind(key: str) -> None:
        with db.transaction() as session:
            enqueue(
                session,
                key=key,
                kind="reminder",
                community_id=1,
                member_id=member_id,
                text="Pengingat: rapat besok pukul 09.00 WIB.",
            )

    whatsapp.say("BERHENTI", phone="+6281234567890")
    before = len(fake_twilio.bodies(siti))
    remind("meeting:1:reminder-h1:member:1")
    drain(db, settings, **FAST)
    stopped = row(db, "meeting:1:reminder-h1:member:1")
    assert stopped.status == "skipped"
    assert len(fake_twilio.bodies(siti)) == before  # nothing reached her

    whatsapp.say("MULAI", phone="+6281234567890")
    before = len(fake_twilio.bodies(siti))
    remind("meeting:2:reminder-h1:member:1")
    drain(db, settings, **FAST)
    assert row(db, "meeting:2:reminder-h1:member:1").status == "sent"
    assert fake_twilio.bodies(siti)[before:] == ["Pengingat: rapat besok pukul 09.00 WIB."]
