"""SETOR and TARIK end to end, on both channels: the treasurer's messages are real-shaped
webhooks (a signed Twilio form post, a Telegram update), the answers and the member's receipt
are sent by the app's own sender to the fake platforms, and the ledger has the entries."""

from __future__ import annotations

from sqlmodel import select

from storage.db import Database
from storage.ledger import LedgerEntry, balances
from tests.fakes import FakeTelegram, FakeTwilio
from tests.fakes.telegram_updates import RINA, SITI, TelegramUpdates
from tests.fakes.webhooks import TelegramWebhook, WhatsAppWebhook, running_app
from tests.outbox_support import add_member, phone
from tests.test_broadcast_e2e import fast_settings, wait  # noqa: F401 (a fixture)


def _entries(db: Database) -> list[tuple[int, str, int]]:
    with db.transaction() as session:
        return [
            (e.member_id, e.kind, e.amount)
            for e in session.exec(select(LedgerEntry).order_by(LedgerEntry.id))  # type: ignore[arg-type]
        ]


def test_a_setor_on_whatsapp_puts_the_receipt_on_the_members_telegram(
    db: Database,
    fast_settings,  # noqa: F811
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
) -> None:
    treasurer = phone(4)
    with db.transaction() as session:
        add_member(session, "Nur Hasanah", treasurer, role="treasurer", whatsapp=True)
        siti = add_member(session, "Siti Aminah", phone(1), telegram=str(SITI.id))
        siti_id = siti.id
    assert siti_id is not None
    to = f"whatsapp:{treasurer}"
    with running_app(fast_settings) as client:
        whatsapp = WhatsAppWebhook(client, fast_settings)
        for n, text in enumerate(["setor siti aminah", "2", "50rb", "1"], start=1):
            assert whatsapp.say(text, phone=treasurer).status_code == 200
            wait(lambda n=n: len(fake_twilio.bodies(to)) >= n, f"answer {n}", db)  # type: ignore[misc]
        assert "Saldo simpanan wajib: Rp0 menjadi Rp50.000" in fake_twilio.bodies(to)[2]
        assert fake_twilio.bodies(to)[3].startswith(
            "Tersimpan (catatan no. 1): setoran simpanan wajib Rp50.000 dari Siti Aminah."
        )
        wait(lambda: bool(fake_telegram.texts(SITI.id)), "the receipt on Telegram", db)
        [receipt] = fake_telegram.texts(SITI.id)
        assert receipt.startswith("Setoran simpanan wajib Rp50.000 diterima pada ")
        assert receipt.endswith("Saldo wajib: Rp50.000.")
    assert _entries(db) == [(siti_id, "wajib", 50_000)]


def test_a_tarik_on_telegram_puts_the_receipt_on_the_members_whatsapp(
    db: Database,
    fast_settings,  # noqa: F811
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
) -> None:
    member = phone(2)
    with db.transaction() as session:
        add_member(session, "Rina Wulandari", phone(3), role="treasurer", telegram=str(RINA.id))
        dewi = add_member(session, "Dewi Sartika", member, whatsapp=True)
        dewi_id = dewi.id
    assert dewi_id is not None
    updates = TelegramUpdates(RINA)
    with running_app(fast_settings) as client:
        telegram = TelegramWebhook(client, fast_settings, updates)
        steps = ["setor dewi", "Simpanan sukarela", "Rp 200.000", "Simpan"]
        steps += ["tarik dewi", "75.000", "Simpan"]
        for n, text in enumerate(steps, start=1):
            assert telegram.say(text).status_code == 200
            wait(lambda n=n: len(fake_telegram.texts(RINA.id)) >= n, f"answer {n}", db)  # type: ignore[misc]
        answers = fake_telegram.texts(RINA.id)
        assert answers[-1].startswith(
            "Tersimpan (catatan no. 2): penarikan simpanan sukarela Rp75.000 untuk Dewi Sartika."
        )
        to = f"whatsapp:{member}"
        wait(lambda: len(fake_twilio.bodies(to)) >= 2, "both receipts on WhatsApp", db)
        assert fake_twilio.bodies(to)[1].startswith("Penarikan simpanan sukarela Rp75.000 ")
        assert fake_twilio.bodies(to)[1].endswith("Saldo sukarela: Rp125.000.")
    with db.transaction() as session:
        assert balances(session, dewi_id)["sukarela"] == 125_000
