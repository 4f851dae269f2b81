"""The outbox sender against the fake Telegram and Twilio servers.

Rates are measured from the fakes' own request timestamps (with tolerances); backoffs, pauses and
leases run on a virtual clock so that no test waits for them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.sender import Pacer
from storage.db import Database
from storage.models import Identity, OutboxStatus
from storage.outbox import Reason, enqueue
from tests.fakes import FakeTelegram, FakeTwilio
from tests.outbox_support import (
    COMMUNITY,
    FAST,
    FakeClock,
    add_member,
    add_notice,
    claim_due,
    drain,
    max_in_window,
    phone,
    plan_notices,
    row,
    rows,
    run_sender,
)
from wlcc.formatting import utcnow

TEMPLATE = "HX" + "0123456789abcdef" * 2
VIRTUAL: dict[str, Any] = {
    **FAST,
    "poll": 3600.0,
}  # with a FakeClock: idle waits jump to the next due row


def notice(db: Database, member_id: int, key: str, text: str = "Halo", **extra) -> None:
    with db.transaction() as session:
        enqueue(
            session,
            key=key,
            kind=extra.pop("kind", "notice"),
            community_id=COMMUNITY,
            member_id=member_id,
            text=text,
            **extra,
        )


def one_member(db: Database, **kwargs) -> int:
    with db.transaction() as session:
        member = add_member(
            session, kwargs.pop("name", "Siti"), kwargs.pop("phone", phone(1)), **kwargs
        )
        assert member.id is not None
        return member.id


# --- choosing the chat ---


def test_a_member_on_both_channels_gets_telegram_with_buttons(
    db: Database, settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    member = one_member(db, telegram="5001", whatsapp=True)
    notice(db, member, "k1", "Rapat Sabtu", choices=[("HADIR", "Hadir"), ("TIDAK", "Tidak")])
    drain(db, settings, **FAST)
    [call] = fake_telegram.sent()
    assert call["chat_id"] == 5001
    assert call.text == "Rapat Sabtu"
    assert [b["callback_data"] for b in call.buttons] == ["HADIR", "TIDAK"]
    assert fake_twilio.messages() == []
    sent = row(db, "k1")
    assert (sent.status, sent.channel, sent.address) == ("sent", "telegram", "5001")
    assert sent.platform_message_id == str(call.result["message_id"])
    assert sent.sent_at is not None and sent.attempts == 1 and sent.lease_until is None


def test_a_member_who_chose_whatsapp_gets_whatsapp_with_a_numbered_list(
    db: Database, settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    member = one_member(db, telegram="5001", whatsapp=True, preference="whatsapp")
    notice(db, member, "k1", "Rapat Sabtu", choices=[("HADIR", "Hadir")])
    drain(db, settings, **FAST)
    [call] = fake_twilio.messages()
    assert call.to == f"whatsapp:{phone(1)}"
    assert call.body == "Rapat Sabtu\n\n1. Hadir\n\nBalas dengan angka 1."
    assert call.get("StatusCallback") == (
        f"https://bot.example.org/webhooks/whatsapp/status?outbox={row(db, 'k1').id}"
    )
    assert fake_telegram.sent() == []
    assert row(db, "k1").platform_message_id == call.sid


def test_a_typed_number_answers_the_choices_of_a_proactive_message(
    db: Database, settings, fake_twilio: FakeTwilio
) -> None:
    from storage.models import Conversation

    member = one_member(db, whatsapp=True)
    notice(db, member, "k1", "Datang?", choices=[("HADIR", "Hadir"), ("TIDAK", "Tidak")])
    drain(db, settings, **FAST)
    with db.transaction() as session:
        conversation = session.get(Conversation, f"phone:{phone(1)}")
        assert conversation is not None
        assert conversation.choices == [["HADIR", "Hadir"], ["TIDAK", "Tidak"]]


def test_blocked_telegram_falls_back_to_whatsapp(
    db: Database, settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    member = one_member(db, telegram="5001", whatsapp=True)
    with db.transaction() as session:
        tg = session.exec(select(Identity).where(Identity.channel == "telegram")).one()
        tg.unreachable = True
        session.add(tg)
    notice(db, member, "k1")
    drain(db, settings, **FAST)
    assert fake_telegram.sent() == []
    assert len(fake_twilio.messages()) == 1


class TestWhatsAppWindow:
    def test_within_24_hours_free_text(self, db: Database, make_settings, fake_twilio) -> None:
        member = one_member(db, whatsapp=True, last_whatsapp=timedelta(hours=23))
        notice(db, member, "k1", "Halo Ibu")
        drain(db, make_settings(wlcc_whatsapp_templates={"notice": TEMPLATE}), **FAST)
        [call] = fake_twilio.messages()
        assert call.body == "Halo Ibu" and call.get("ContentSid") is None

    def test_outside_24_hours_the_kinds_template(
        self, db: Database, make_settings, fake_twilio
    ) -> None:
        member = one_member(db, whatsapp=True, last_whatsapp=timedelta(hours=25))
        notice(db, member, "k1", "Rapat\nSabtu   jam 9")
        drain(db, make_settings(wlcc_whatsapp_templates={"notice": TEMPLATE}), **FAST)
        [call] = fake_twilio.messages()
        assert call.get("ContentSid") == TEMPLATE
        assert json.loads(call["ContentVariables"]) == {"1": "Rapat Sabtu jam 9"}
        assert call.get("Body") is None
        assert row(db, "k1").status == "sent"

    def test_never_wrote_but_phone_on_file_uses_the_template(
        self, db: Database, make_settings, fake_twilio
    ) -> None:
        member = one_member(db)  # imported from CSV: no chat yet
        notice(db, member, "k1", "Selamat datang", template_vars={"1": "Siti"})
        drain(db, make_settings(wlcc_whatsapp_templates={"notice": TEMPLATE}), **FAST)
        [call] = fake_twilio.messages()
        assert call.to == f"whatsapp:{phone(1)}"
        assert json.loads(call["ContentVariables"]) == {"1": "Siti"}

    def test_outside_24_hours_without_template_is_skipped_not_sent(
        self, db: Database, settings, fake_twilio
    ) -> None:
        member = one_member(db, whatsapp=True, last_whatsapp=timedelta(days=2))
        notice(db, member, "k1")
        drain(db, settings, **FAST)
        assert fake_twilio.calls() == []
        skipped = row(db, "k1")
        assert (skipped.status, skipped.reason) == ("skipped", Reason.WINDOW)
        assert "24 hours" in (skipped.last_error or "")

    @pytest.mark.parametrize("with_media_template", [True, False])
    def test_a_photo_outside_24_hours(
        self, db: Database, make_settings, fake_twilio, with_media_template: bool
    ) -> None:
        from storage.media import create_media, store_media

        member = one_member(db, whatsapp=True, last_whatsapp=timedelta(days=2))
        with db.transaction() as session:
            media = create_media(
                session,
                community_id=COMMUNITY,
                source_channel="whatsapp",
                source_ref="https://example.test/x.jpg",
                content_type="image/jpeg",
                now=utcnow(),
            )
            assert media.id is not None
            store_media(session, media.id, b"jpeg", "image/jpeg", utcnow())
            token = media.token
        notice(db, member, "k1", "Foto rapat", media=[f"media:{media.id}"])
        media_sid = "HX" + "f" * 32
        templates = {
            "notice": TEMPLATE,
            **({"notice:media": media_sid} if with_media_template else {}),
        }
        drain(db, make_settings(wlcc_whatsapp_templates=templates), **FAST)
        [call] = fake_twilio.messages()
        if with_media_template:
            # The template's photo is PUBLIC_BASE_URL/media/{{2}}.
            assert call["ContentSid"] == media_sid
            assert json.loads(call["ContentVariables"]) == {"1": "Foto rapat", "2": token}
        else:  # only the text template: the text goes, without the photo
            assert call["ContentSid"] == TEMPLATE
            assert json.loads(call["ContentVariables"]) == {"1": "Foto rapat"}

    def test_whatsapp_outside_the_window_prefers_telegram_when_linked(
        self, db: Database, settings, fake_telegram, fake_twilio
    ) -> None:
        member = one_member(
            db,
            telegram="5001",
            whatsapp=True,
            last_whatsapp=timedelta(days=2),
            preference="whatsapp",
        )
        notice(db, member, "k1")
        drain(db, settings, **FAST)
        assert len(fake_telegram.sent()) == 1 and fake_twilio.calls() == []


def test_opt_out_is_respected_and_counted(
    db: Database, settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    out = one_member(db, telegram="5001", whatsapp=True, opted_out=True)
    with db.transaction() as session:
        stranger = Identity(
            community_id=COMMUNITY, channel="telegram", address="6001", opted_out=True
        )
        session.add(stranger)
        session.flush()
        add_notice(session, "k2", "x", identity_id=stranger.id)
    notice(db, out, "k1")
    drain(db, settings, **FAST)
    assert fake_telegram.calls() == [] and fake_twilio.calls() == []
    assert {(r.key, r.status, r.reason) for r in rows(db)} == {
        ("k1", "skipped", Reason.OPTED_OUT),
        ("k2", "skipped", Reason.OPTED_OUT),
    }


def test_invalid_phone_and_no_channel_are_skipped_with_reasons(
    db: Database, settings, fake_twilio: FakeTwilio
) -> None:
    bad = one_member(db, phone="+62 000", name="A")
    none = one_member(db, phone=None, name="B")
    notice(db, bad, "bad")
    notice(db, none, "none")
    drain(db, settings, **FAST)
    assert fake_twilio.calls() == []
    assert row(db, "bad").reason == Reason.INVALID_PHONE
    assert row(db, "none").reason == Reason.NO_CHANNEL


def test_a_channel_that_is_not_configured_is_skipped(
    db: Database, make_settings, fake_telegram: FakeTelegram
) -> None:
    with db.transaction() as session:
        chat = Identity(community_id=COMMUNITY, channel="telegram", address="5001")
        session.add(chat)
        session.flush()
        add_notice(session, "k1", "x", identity_id=chat.id)
    drain(db, make_settings(telegram_bot_token=None, telegram_webhook_secret=None), **FAST)
    assert fake_telegram.calls() == []
    assert (row(db, "k1").status, row(db, "k1").reason) == ("skipped", Reason.CHANNEL_OFF)


# --- rate limits, measured at the fakes ---


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_telegram_overall_rate_limit(db: Database, settings, fake_telegram: FakeTelegram) -> None:
    rate, count = 40.0, 60
    plan_notices(db, count, on="telegram", telegram_base=7000)
    drain(db, settings, telegram_rate=rate, telegram_chat_rate=0.0)
    times = [c.at for c in fake_telegram.sent()]
    assert len(times) == count
    # Never more than the limit in any one second, as the fake received them (a stalled
    # machine can bunch requests at both ends of the run, so the average over the run is not
    # the measure: the platform counts per second).
    assert max_in_window(times) <= rate
    achieved = (count - 1) / (max(times) - min(times))
    assert achieved >= rate * 0.6  # and not much slower either (even on a busy machine)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_telegram_per_chat_rate_and_order(
    db: Database, settings, fake_telegram: FakeTelegram
) -> None:
    member = one_member(db, telegram="5001")
    for i in range(5):
        notice(db, member, f"k{i}", f"pesan {i}")
    drain(db, settings, telegram_rate=0.0, telegram_chat_rate=10.0)
    sent = fake_telegram.sent(5001)
    assert [c.text for c in sent] == [f"pesan {i}" for i in range(5)]
    gaps = [b.at - a.at for a, b in itertools.pairwise(sent)]
    # 10/s to one chat: 0.1 s apart on average; one gap may look shorter when the first
    # request paid for opening the connection.
    assert sum(gaps) / len(gaps) >= 0.1 * 0.9
    assert min(gaps) >= 0.1 * 0.5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_whatsapp_rate_limit(db: Database, settings, fake_twilio: FakeTwilio) -> None:
    rate, count = 50.0, 60
    plan_notices(db, count, on="whatsapp")
    drain(db, settings, whatsapp_rate=rate)
    times = [c.at for c in fake_twilio.messages()]
    assert len(times) == count
    assert max_in_window(times) <= rate
    achieved = (count - 1) / (max(times) - min(times))
    assert achieved >= rate * 0.6


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("on", "rate"), [("whatsapp", 20.0), ("telegram", 30.0)])
def test_no_second_exceeds_the_rate_when_the_first_requests_arrive_late(
    db: Database, settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio, on, rate
) -> None:
    """A fresh sender's first requests reach the platform late (their connections are being
    opened) while the next ones are due: still no one-second window holds more than the rate."""
    count = int(rate * 2) + 5
    plan_notices(db, count, on=on, telegram_base=7000)
    fake = fake_telegram if on == "telegram" else fake_twilio
    fake.slow_start(5, 0.3)
    drain(db, settings, **{**FAST, f"{on}_rate": rate})
    times = [c.at for c in (fake_telegram.sent() if on == "telegram" else fake_twilio.messages())]
    assert len(times) == count
    assert max_in_window(times) <= rate


def test_pacer_counts_a_send_until_its_answer() -> None:
    """A window of two: a third send waits for one of the two in flight to be answered, then
    for a second after that answer."""
    clock = FakeClock()
    pacer = Pacer(2.5, clock)

    async def run() -> tuple[bool, float]:
        await pacer.wait()
        await pacer.wait()
        third = asyncio.create_task(pacer.wait())
        await asyncio.sleep(0)
        waited = not third.done()
        clock.t = 5.0  # the first answer comes late
        pacer.done()
        await asyncio.wait_for(third, timeout=2)
        return waited, clock.monotonic()

    waited, moment = asyncio.run(run())
    assert waited and moment == pytest.approx(6.0)


def test_pacer_window_survives_float_rounding() -> None:
    """(t + 1.0) - 1.0 can be a hair under t: the one-second window must not spin on it."""
    clock = FakeClock()
    pacer = Pacer(1.94, clock)  # a window of one message

    async def run() -> list[float]:
        moments = []
        for start in (0.001, 0.5, 2.3):  # (0.001 + 1.0) - 1.0 < 0.001
            clock.t = max(clock.t, start)
            await asyncio.wait_for(pacer.wait(), timeout=2)
            moments.append(clock.monotonic())
            pacer.done()  # answered at once
        return moments

    moments = asyncio.run(run())
    assert moments[1] == pytest.approx(1.001) and moments[2] >= moments[1] + 1.0


def test_pacer_spaces_sends_evenly_and_pauses() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock)

    async def run() -> list[float]:
        moments = []
        for _ in range(3):
            await pacer.wait()
            moments.append(clock.monotonic())
            pacer.done()
        pacer.pause(5.0)
        await pacer.wait()
        moments.append(clock.monotonic())
        return moments

    moments = asyncio.run(run())
    assert moments[:3] == pytest.approx([0.0, 0.1, 0.2])
    assert moments[3] >= 0.2 + 5.0


# --- errors ---


def test_telegram_429_pauses_the_channel_for_retry_after(
    db: Database, settings, fake_telegram: FakeTelegram
) -> None:
    with db.transaction() as session:
        ids = [add_member(session, f"M{i}", phone(i), telegram=str(5000 + i)).id for i in range(3)]
    for i, member in enumerate(ids):
        assert member is not None
        notice(db, member, f"k{i}", f"pesan {i}")
    fake_telegram.fail_next(429, retry_after=7)
    clock = FakeClock(real_pause=0.2)  # time for the 429 to arrive, on a busy machine too
    moments: list[tuple[float, str]] = []

    async def scenario() -> None:
        from bot import sender as sender_module

        original = sender_module.TelegramOutlet.send

        async def timed(self, job):
            moments.append((clock.monotonic(), job.key))
            return await original(self, job)

        sender_module.TelegramOutlet.send = timed  # type: ignore[method-assign]
        try:
            # one message a (virtual) second: the 429 arrives before the next one is due
            await run_sender(db, settings, clock=clock, **{**VIRTUAL, "telegram_rate": 1.0})
        finally:
            sender_module.TelegramOutlet.send = original  # type: ignore[method-assign]

    asyncio.run(scenario())
    calls = fake_telegram.calls("sendMessage")
    assert [c.status for c in calls].count(429) == 1 and len(fake_telegram.sent()) == 3
    first_at, limited = moments[0]
    # Nothing else went to Telegram during the pause, and the limited message waited it out.
    assert all(at >= first_at + 7 for at, _ in moments[1:])
    assert [key for _, key in moments].count(limited) == 2
    assert row(db, limited).status == "sent" and row(db, limited).attempts == 2
    assert [r.status for r in rows(db)] == ["sent"] * 3


def test_5xx_is_retried_with_backoff(db: Database, settings, fake_telegram: FakeTelegram) -> None:
    member = one_member(db, telegram="5001")
    notice(db, member, "k1")
    fake_telegram.fail_next(500, times=1)
    fake_telegram.fail_next(502, times=1)  # nginx's HTML page, as Telegram's front end sends
    clock = FakeClock()
    drain(db, settings, clock=clock, backoff=5.0, **VIRTUAL)
    assert [c.status for c in fake_telegram.calls("sendMessage")] == [500, 502, 200]
    sent = row(db, "k1")
    assert sent.status == "sent" and sent.attempts == 3
    # equal jitter: the first wait is 2.5..5 s, the second 5..10 s (virtual)
    assert clock.t >= 2.5 + 5.0


def test_gives_up_after_the_maximum_attempts(
    db: Database, settings, fake_twilio: FakeTwilio
) -> None:
    member = one_member(db, whatsapp=True)
    notice(db, member, "k1")
    fake_twilio.fail_next(503, times=10)
    drain(db, settings, clock=FakeClock(), max_attempts=3, **VIRTUAL)
    assert len(fake_twilio.calls()) == 3
    failed = row(db, "k1")
    assert (failed.status, failed.reason, failed.attempts) == ("failed", Reason.GAVE_UP, 3)
    assert "503" in (failed.last_error or "")


@pytest.mark.parametrize(
    "status, description, reason",
    [
        (403, "Forbidden: bot was blocked by the user", Reason.UNREACHABLE),
        (403, "Forbidden: user is deactivated", Reason.UNREACHABLE),
        (400, "Bad Request: chat not found", Reason.UNREACHABLE),
    ],
)
def test_permanent_telegram_errors_fail_at_once_and_mark_the_chat(
    db: Database,
    settings,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    status: int,
    description: str,
    reason: str,
) -> None:
    member = one_member(db, telegram="5001", whatsapp=True)
    notice(db, member, "k1")
    fake_telegram.fail_next(status, description=description)
    drain(db, settings, clock=FakeClock(), **VIRTUAL)
    assert len(fake_telegram.calls("sendMessage")) == 1
    failed = row(db, "k1")
    assert (failed.status, failed.reason) == ("failed", reason)
    assert description.split(": ", 1)[1].lower() in (failed.last_error or "").lower()
    with db.transaction() as session:
        chat = session.exec(select(Identity).where(Identity.channel == "telegram")).one()
        assert chat.unreachable
    # The next message for her goes to WhatsApp.
    notice(db, member, "k2")
    drain(db, settings, clock=FakeClock(), **VIRTUAL)
    assert len(fake_twilio.messages()) == 1 and len(fake_telegram.calls("sendMessage")) == 1


def test_other_bad_requests_fail_without_marking_the_chat(
    db: Database, settings, fake_telegram: FakeTelegram
) -> None:
    member = one_member(db, telegram="5001")
    notice(db, member, "k1")
    fake_telegram.fail_next(400, description="Bad Request: can't parse entities")
    drain(db, settings, clock=FakeClock(), **VIRTUAL)
    assert len(fake_telegram.calls("sendMessage")) == 1
    assert row(db, "k1").reason == Reason.REJECTED
    with db.transaction() as session:
        assert not session.exec(select(Identity)).one().unreachable


@pytest.mark.parametrize(
    "code, reason, unreachable",
    [
        (21610, Reason.UNREACHABLE, True),  # the person sent STOP to the WhatsApp number
        (63003, Reason.UNREACHABLE, True),  # not a WhatsApp user
        (21211, Reason.INVALID_PHONE, True),
        (63016, Reason.WINDOW, False),  # outside the 24 hours after all
        (21617, Reason.REJECTED, False),
    ],
)
def test_permanent_twilio_errors_fail_at_once(
    db: Database, settings, fake_twilio: FakeTwilio, code: int, reason: str, unreachable: bool
) -> None:
    member = one_member(db, whatsapp=True)
    notice(db, member, "k1")
    fake_twilio.fail_next(400, code=code)
    drain(db, settings, clock=FakeClock(), **VIRTUAL)
    assert len(fake_twilio.calls()) == 1
    failed = row(db, "k1")
    assert (failed.status, failed.reason) == ("failed", reason)
    assert str(code) in (failed.last_error or "")
    with db.transaction() as session:
        assert session.exec(select(Identity)).one().unreachable is unreachable


@pytest.mark.parametrize("status", [429, 500, 503])
def test_twilio_429_and_5xx_are_retried(
    db: Database, settings, fake_twilio: FakeTwilio, status: int
) -> None:
    member = one_member(db, whatsapp=True)
    notice(db, member, "k1")
    fake_twilio.fail_next(status, times=2)
    drain(db, settings, clock=FakeClock(), **VIRTUAL)
    assert [c.status for c in fake_twilio.calls()] == [status, status, 201]
    assert row(db, "k1").status == "sent"


def test_a_provider_answering_garbage(
    db: Database, settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    """2xx with garbage: the platform took it, so it counts as sent (with a note) and is not
    sent again; an error status with garbage is an error like any other."""
    a = one_member(db, telegram="5001", name="A", phone=phone(1))
    b = one_member(db, whatsapp=True, name="B", phone=phone(2))
    c = one_member(db, whatsapp=True, name="C", phone=phone(3))
    notice(db, a, "tg")
    notice(db, b, "wa")
    fake_telegram.script(200, "<html>oops</html>", content_type="text/html")
    fake_twilio.fail_next(201, body="{not json")
    drain(db, settings, clock=FakeClock(), **VIRTUAL)
    assert len(fake_telegram.calls("sendMessage")) == 1 and len(fake_twilio.calls()) == 1
    for key in ("tg", "wa"):
        sent = row(db, key)
        assert (sent.status, sent.reason) == ("sent", Reason.GARBLED)
        assert sent.platform_message_id is None
    notice(db, c, "wa-html")
    fake_twilio.fail_next(502, body="<html>Bad Gateway</html>")
    drain(db, settings, clock=FakeClock(), **VIRTUAL)
    assert row(db, "wa-html").status == "sent"
    assert [x.status for x in fake_twilio.calls()][-2:] == [502, 201]


def test_order_per_chat_is_kept_through_retries(
    db: Database, settings, fake_telegram: FakeTelegram
) -> None:
    member = one_member(db, telegram="5001")
    for i in range(4):
        notice(db, member, f"k{i}", f"pesan {i}")
    fake_telegram.fail_next(500)  # the first one needs a retry
    drain(db, settings, clock=FakeClock(), **VIRTUAL)
    assert fake_telegram.texts(5001) == [f"pesan {i}" for i in range(4)]


def test_a_message_planned_for_later_does_not_hold_back_todays(
    db: Database, settings, fake_telegram: FakeTelegram
) -> None:
    member = one_member(db, telegram="5001")
    notice(db, member, "tomorrow", "besok", not_before=utcnow() + timedelta(days=1))
    notice(db, member, "now", "sekarang")

    async def scenario() -> None:
        from bot.sender import build_sender
        from bot.telegram import TelegramChannel

        channel = TelegramChannel(settings)
        await channel.start()
        sender = build_sender(db, settings, telegram=channel, whatsapp=None, **FAST)
        await sender.run(until=lambda: row(db, "now").status != "pending")
        await channel.close()

    asyncio.run(scenario())
    assert fake_telegram.texts() == ["sekarang"]
    assert row(db, "tomorrow").status == "pending"


def test_stale_outcomes_of_a_lost_lease_are_ignored(db: Database) -> None:
    from storage.outbox import Outcome, record

    member = one_member(db, telegram="5001")
    notice(db, member, "k1")
    now = utcnow()
    [first] = claim_due(db, "telegram", now, lease=30)
    later = now + timedelta(seconds=31)  # the lease ended: another sender claims it
    [second] = claim_due(db, "telegram", later, lease=30)
    assert second.attempts == 2
    with db.transaction() as session:
        assert (
            record(
                session,
                [Outcome(first.id, first.lease, "sent", platform_message_id="old")],
                now=later,
            )
            == 0
        )
        assert (
            record(
                session,
                [Outcome(second.id, second.lease, "sent", platform_message_id="new")],
                now=later,
            )
            == 1
        )
    assert row(db, "k1").platform_message_id == "new"


def test_counts_by_status(db: Database, settings, fake_telegram) -> None:
    from storage.outbox import status_counts

    member = one_member(db, telegram="5001")
    notice(db, member, "k1")
    drain(db, settings, **FAST)
    with db.transaction() as session:
        assert status_counts(session) == {"sent": 1}
        assert status_counts(session, COMMUNITY) == {"sent": 1}


def test_many_messages_many_chats_each_once(
    db: Database, settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    plan_notices(db, 40, on="both", telegram_base=8000)
    drain(db, settings, **FAST)
    texts = fake_telegram.texts() + fake_twilio.bodies()
    assert Counter(texts) == Counter(f"pesan {i}" for i in range(40))
    assert {r.status for r in rows(db)} == {OutboxStatus.SENT}
