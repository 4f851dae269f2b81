"""The demo's simulated channel in the outbox sender (``WLCC_SIMULATOR``): routing, the outlet's
pace and status, and what the terminal chat shows of it (``bot.simulator.arrived``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.sender import RATE_MARGIN
from bot.simulator import arrived
from storage.db import Database
from storage.models import Identity, OutboxStatus
from storage.outbox import REPLY_KIND, SIMULATOR, Reason, enqueue, mark_read
from tests.fakes import FakeTelegram, FakeTwilio
from tests.outbox_support import COMMUNITY, FAST, FakeClock, add_member, drain, phone, row
from wlcc.formatting import utcnow
from wlcc.settings import Settings


def simulated_chat(session: Session, number: str, language: str | None = None) -> int:
    chat = Identity(
        community_id=COMMUNITY,
        channel=SIMULATOR,
        address=number,
        phone=number,
        language=language,
        first_seen_at=utcnow() - timedelta(days=1),
    )
    session.add(chat)
    session.flush()
    assert chat.id is not None
    return chat.id


def a_member_everywhere(db: Database, number: str = phone(1), **kwargs: object) -> int:
    """A member on Telegram, on WhatsApp and in a simulated chat, all with one phone."""
    with db.transaction() as session:
        member = add_member(session, "Siti", number, telegram="5001", whatsapp=True, **kwargs)  # type: ignore[arg-type]
        simulated_chat(session, number)
        assert member.id is not None
        return member.id


def notice(db: Database, key: str, text: str, **recipient: object) -> None:
    with db.transaction() as session:
        enqueue(
            session,
            key=key,
            kind=str(recipient.pop("kind", "notice")),
            community_id=COMMUNITY,
            text=text,
            **recipient,  # type: ignore[arg-type]
        )


def test_with_the_simulator_a_member_gets_her_simulated_chat_and_no_platform_is_called(
    db: Database, settings: Settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    member = a_member_everywhere(db)
    notice(db, "k1", "Rapat Sabtu", member_id=member)
    sender = drain(db, settings.model_copy(update={"wlcc_simulator": True}), **FAST)
    assert SIMULATOR in sender.outlets
    sent = row(db, "k1")
    assert sent.status == OutboxStatus.SENT
    assert (sent.channel, sent.address) == (SIMULATOR, phone(1))
    assert sent.platform_message_id == f"sim-{sent.id}"
    assert fake_telegram.sent() == []
    assert fake_twilio.messages() == []


def test_without_the_simulator_nothing_goes_to_a_simulated_chat(
    db: Database, settings: Settings, fake_telegram: FakeTelegram
) -> None:
    member = a_member_everywhere(db)
    with db.transaction() as session:
        guest = simulated_chat(session, phone(2))
    notice(db, "member", "Rapat Sabtu", member_id=member)
    notice(db, "chat", "Halo", identity_id=guest)
    sender = drain(db, settings, **FAST)  # WLCC_SIMULATOR is off by default
    assert SIMULATOR not in sender.outlets
    to_member = row(db, "member")
    assert (to_member.status, to_member.channel) == (OutboxStatus.SENT, "telegram")
    assert len(fake_telegram.sent()) == 1
    to_chat = row(db, "chat")
    assert (to_chat.status, to_chat.reason) == (OutboxStatus.SKIPPED, Reason.CHANNEL_OFF)


def test_a_notice_to_one_simulated_chat_is_delivered_there(
    db: Database, settings: Settings
) -> None:
    with db.transaction() as session:
        chat = simulated_chat(session, phone(3))
    notice(db, "k1", "Pendaftar baru", identity_id=chat, choices=[("SETUJUI 1", "Setujui")])
    drain(db, settings.model_copy(update={"wlcc_simulator": True}), **FAST)
    sent = row(db, "k1")
    assert (sent.status, sent.channel, sent.address) == (OutboxStatus.SENT, SIMULATOR, phone(3))


def test_a_member_without_a_simulated_chat_still_gets_her_platform(
    db: Database, settings: Settings, fake_telegram: FakeTelegram
) -> None:
    with db.transaction() as session:
        member = add_member(session, "Ani", phone(4), telegram="5004")
    notice(db, "k1", "Halo", member_id=member.id)
    drain(db, settings.model_copy(update={"wlcc_simulator": True}), **FAST)
    assert row(db, "k1").channel == "telegram"
    assert [call["chat_id"] for call in fake_telegram.sent()] == [5004]


def test_an_opted_out_member_gets_nothing_in_her_simulated_chat(
    db: Database, settings: Settings
) -> None:
    member = a_member_everywhere(db, opted_out=True)
    notice(db, "k1", "Halo", member_id=member)
    drain(db, settings.model_copy(update={"wlcc_simulator": True}), **FAST)
    assert row(db, "k1").reason == Reason.OPTED_OUT


def test_the_simulated_channel_keeps_its_rate(db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        chats = [simulated_chat(session, phone(10 + i)) for i in range(5)]
    for i, chat in enumerate(chats):
        notice(db, f"k{i}", f"pesan {i}", identity_id=chat)
    clock = FakeClock()
    sender = drain(
        db,
        settings.model_copy(update={"wlcc_simulator": True}),
        clock=clock,
        telegram=False,
        whatsapp=False,
        simulator_rate=2.0,
    )
    assert sender.stats.sent == 5
    # Five sends evenly spaced 1 / (2 * 0.97) seconds apart, in virtual time.
    assert clock.t >= 4 / (2.0 * RATE_MARGIN) - 1e-9


def test_arrived_shows_each_delivered_message_once_and_marks_it_read(
    db: Database, settings: Settings
) -> None:
    member = a_member_everywhere(db)
    notice(db, "k1", "Rapat Sabtu", member_id=member)
    notice(db, "k2", "Datang?", member_id=member, choices=[("YA", "Ya"), ("TIDAK", "Tidak")])
    with db.transaction() as session:
        chat = simulated_chat(session, phone(5))
    notice(db, "other", "Bukan untuk Siti", identity_id=chat)
    drain(db, settings.model_copy(update={"wlcc_simulator": True}), **FAST)

    assert arrived(db, phone(1)) == [
        "Rapat Sabtu",
        "Datang?\n\n1. Ya\n2. Tidak\n\nBalas dengan angka 1 atau 2.",
    ]
    assert arrived(db, phone(1)) == []  # shown once
    assert row(db, "k1").status == OutboxStatus.READ
    assert row(db, "other").status == OutboxStatus.SENT  # someone else's, not read yet
    assert arrived(db, phone(5)) == ["Bukan untuk Siti"]


def test_arrived_leaves_replies_out(db: Database, settings: Settings) -> None:
    """The terminal chat showed her replies as she got them: never twice."""
    with db.transaction() as session:
        chat = simulated_chat(session, phone(6))
    notice(db, "r1", "Jawaban", identity_id=chat, kind=REPLY_KIND)
    notice(db, "n1", "Pemberitahuan", identity_id=chat)
    drain(db, settings.model_copy(update={"wlcc_simulator": True}), **FAST)
    assert row(db, "r1").status == OutboxStatus.SENT
    assert arrived(db, phone(6)) == ["Pemberitahuan"]


def test_arrived_words_the_hint_in_the_recipients_language(
    db: Database, settings: Settings
) -> None:
    with db.transaction() as session:
        chat = simulated_chat(session, phone(7), language="en")
    notice(db, "k1", "Coming?", identity_id=chat, choices=[("YA", "Yes"), ("TIDAK", "No")])
    drain(db, settings.model_copy(update={"wlcc_simulator": True}), **FAST)
    [shown] = arrived(db, phone(7))
    assert shown.endswith("Reply with 1 or 2.")


@pytest.mark.parametrize(
    ("status", "after"),
    [
        (OutboxStatus.SENT, OutboxStatus.READ),
        (OutboxStatus.DELIVERED, OutboxStatus.READ),
        (OutboxStatus.READ, OutboxStatus.READ),
        (OutboxStatus.FAILED, OutboxStatus.FAILED),
        (OutboxStatus.SKIPPED, OutboxStatus.SKIPPED),
        (OutboxStatus.PENDING, OutboxStatus.PENDING),
    ],
)
def test_mark_read_never_moves_a_status_back(db: Database, status: str, after: str) -> None:
    with db.transaction() as session:
        chat = simulated_chat(session, phone(8))
    notice(db, "k1", "Halo", identity_id=chat)
    target = row(db, "k1")
    assert target.id is not None
    with db.transaction() as session:
        stored = session.get(type(target), target.id)
        assert stored is not None
        stored.status = status
        session.add(stored)
    with db.transaction() as session:
        changed = mark_read(session, [target.id])
    assert changed == (1 if after != status else 0)
    assert row(db, "k1").status == after
