"""Words of distress get the help lines at once, before anything else; everyday words do not."""

from __future__ import annotations

import pytest

from handlers.distress import mentions_distress
from handlers.router import Router, RouterConfig
from storage.db import Database
from tests.outbox_support import Chat, add_member, phone
from wlcc.formatting import utcnow
from wlcc.i18n import gettext
from wlcc.messages import Inbound
from wlcc.settings import Hotline

DISTRESS = [
    "bantuan kekerasan",
    "tolong saya dipukul suami",
    "TOLONG saya di pukul suami",
    "suami saya suka memukul",
    "saya ditampar",
    "ada kdrt di rumah sebelah",
    "kekersan dalam rumah tangga",  # a typo
    "anak saya dilecehkan",
    "saya diancam mau dibunuh",
    "saya takut pulang",
    "mau bunuh diri",
    "my husband hits me",
    "I need help, domestic violence",
]
EVERYDAY = [
    "tolong",
    "tolong saya",
    "tolong bu",
    "tolong dibantu daftar",
    "bantuan",
    "BANTUAN",
    "help",
    "pukul berapa rapatnya?",
    "rapat di pukul 9 pagi",
    "rapatnya di pukul berapa",
    "jalan rusak",
    "saluran air mampet",
    "ancaman banjir",
    "terima kasih",
]


@pytest.mark.parametrize("text", DISTRESS)
def test_words_of_distress(text: str) -> None:
    assert mentions_distress(text)


@pytest.mark.parametrize("text", EVERYDAY)
def test_everyday_words_are_no_alarm(text: str) -> None:
    assert not mentions_distress(text)


def _help_lines(replies: list[str]) -> bool:
    return any(gettext("id", "distress.intro") in r for r in replies)


def test_a_first_message_gets_the_help_lines_and_nothing_else(db: Database) -> None:
    replies = Chat(Router(db), "whatsapp", phone(5), phone(5)).texts("tolong saya dipukul suami")
    assert len(replies) == 1
    assert _help_lines(replies)
    assert "• SAPA 129: 129" in replies[0]
    assert "Women's Crisis Centre (WCC) Palembang" in replies[0]


def test_before_the_privacy_question_and_before_who_is_speaking(db: Database) -> None:
    with db.transaction() as session:
        add_member(session, "Fatimah", phone(6), whatsapp=True)
        add_member(session, "Ani", phone(6))
        new = add_member(session, "Siti", phone(7), whatsapp=True)
        new.consent_at = new.consent_asked_at = None
        session.add(new)
    router = Router(db)
    family = Chat(router, "whatsapp", phone(6), phone(6))
    [reply] = family.texts("bantuan kekerasan")
    assert _help_lines([reply])
    # Afterwards the phone asks who is speaking, as before.
    assert gettext("id", "household.ask") in family.texts("halo")[0]
    member = Chat(router, "whatsapp", phone(7), phone(7))
    [reply] = member.texts("saya diancam suami, takut pulang")
    assert _help_lines([reply])


def test_inside_a_dialog_the_dialog_waits(db: Database) -> None:
    chat = Chat(Router(db), "whatsapp", phone(8), phone(8))
    chat.send("daftar")
    assert _help_lines(chat.texts("saya dipukul"))
    # The registration still waits for her name.
    replies = chat.texts("Siti Aminah")
    assert gettext("id", "register.ask_kelurahan") in replies[0]


def test_the_hotlines_come_from_the_settings(db: Database) -> None:
    config = RouterConfig(
        hotlines=(Hotline(name="SAPA 129", phone="129"), Hotline(name="Pos", phone="+62 711 1")),
    )
    router = Router(db, config)
    inbound = Inbound(
        channel="whatsapp",
        address=phone(9),
        sender_id=phone(9),
        platform_id="distress-1",
        received_at=utcnow(),
        text="kekerasan",
        phone=phone(9),
    )
    [reply] = router.handle(inbound) or []
    assert "• SAPA 129: 129\n• Pos: +62 711 1" in reply.text
