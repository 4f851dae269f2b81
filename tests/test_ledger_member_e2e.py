"""A member's savings end to end, on both channels, through the real app and its sender against
the fake Telegram and Twilio servers: SALDO by a Telegram update and by a signed Twilio form;
on Telegram the message with her PIN is deleted (deleteMessage with its message id) and
STATEMEN arrives as a PDF document (sendDocument); on WhatsApp the PDF goes as a media URL
under PUBLIC_BASE_URL that serves the same PDF."""

from __future__ import annotations

from sqlmodel import Session

from storage.db import Database
from storage.ledger import EntryAction, LedgerKind, append_entry
from storage.ledger_access import hash_pin, set_pin
from storage.models import Member
from tests.fakes import FakeTelegram, FakeTwilio
from tests.fakes.telegram_updates import SITI, TelegramUpdates
from tests.fakes.webhooks import TelegramWebhook, WhatsAppWebhook, running_app
from tests.outbox_support import COMMUNITY, add_member, phone
from tests.test_broadcast_e2e import fast_settings, wait  # noqa: F401 (a fixture)
from wlcc.formatting import utcnow

PIN = "2580"


def _deposit(session: Session, member: Member, kind: str, amount: int) -> None:
    assert member.id is not None
    append_entry(
        session,
        community_id=COMMUNITY,
        member_id=member.id,
        kind=kind,
        action=EntryAction.DEPOSIT,
        amount=amount,
        channel="cli",
        occurred_on=utcnow().date().replace(day=1),
    )


def test_saldo_on_telegram_deletes_her_pin_and_statemen_sends_a_pdf(
    db: Database,
    fast_settings,  # noqa: F811
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", phone(1), telegram=str(SITI.id))
        _deposit(session, siti, LedgerKind.WAJIB, 650_000)
        set_pin(session, siti, hash_pin(PIN), utcnow())
    updates = TelegramUpdates(SITI)
    with running_app(fast_settings) as client:
        telegram = TelegramWebhook(client, fast_settings, updates)
        assert telegram.say("saldo").status_code == 200
        wait(lambda: any("PIN" in t for t in fake_telegram.texts(SITI.id)), "the PIN question")
        assert not any("Rp650.000" in t for t in fake_telegram.texts(SITI.id))
        pin_update = updates.text(PIN)
        assert telegram.post(pin_update).status_code == 200
        wait(lambda: any("Rp650.000" in t for t in fake_telegram.texts(SITI.id)), "the balance")
        [deleted] = fake_telegram.calls("deleteMessage")
        assert deleted["chat_id"] == SITI.id
        assert deleted["message_id"] == pin_update["message"]["message_id"]
        assert not any(PIN in t for t in fake_telegram.texts(SITI.id))

        assert telegram.say("statemen").status_code == 200  # the PIN holds for the session
        wait(lambda: bool(fake_telegram.calls("sendDocument")), "the statement's PDF", db)
        [document] = fake_telegram.calls("sendDocument")
        assert document["chat_id"] == SITI.id
        upload = document.files["document"]
        assert (upload.filename or "").endswith(".pdf")
        assert upload.content.startswith(b"%PDF-")
        assert (document["caption"] or "").startswith("Statemen simpanan ")
        assert len(fake_telegram.calls("deleteMessage")) == 1  # no PIN asked again


def test_saldo_on_whatsapp_and_the_statement_pdf_by_public_url(
    db: Database,
    fast_settings,  # noqa: F811
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
) -> None:
    number = phone(2)
    with db.transaction() as session:
        dewi = add_member(session, "Dewi Sartika", number, whatsapp=True)
        _deposit(session, dewi, LedgerKind.SUKARELA, 125_000)
        other = add_member(session, "Rina", phone(3), whatsapp=True)
        _deposit(session, other, LedgerKind.SUKARELA, 9_000_000)
    to = f"whatsapp:{number}"
    with running_app(fast_settings) as client:
        whatsapp = WhatsAppWebhook(client, fast_settings)
        assert whatsapp.say("SALDO", phone=number).status_code == 200
        wait(lambda: any("Rp125.000" in b for b in fake_twilio.bodies(to)), "the balance", db)
        assert not any("Rp9.000.000" in b for b in fake_twilio.bodies(to))
        assert fake_twilio.messages(f"whatsapp:{phone(3)}") == []

        assert whatsapp.say("statemen", phone=number).status_code == 200
        wait(lambda: any(c.media_urls for c in fake_twilio.messages(to)), "the statement's PDF", db)
        [sent] = [c for c in fake_twilio.messages(to) if c.media_urls]
        [url] = sent.media_urls
        base = fast_settings.public_base_url.rstrip("/")
        assert url.startswith(f"{base}/media/")
        served = client.get(url.removeprefix(base))
        assert served.status_code == 200
        assert served.headers["content-type"] == "application/pdf"
        assert served.content.startswith(b"%PDF-")
        assert fake_telegram.calls("deleteMessage") == []
