"""A reply the platform refuses for a passing reason is not lost: the outbox retries it.

The app writes every reply to the outbox with its turn and sends it at once; when Telegram or
Twilio fails (5xx, flood control, the network), the unsent replies stay there as ``reply`` rows
to the same chat, and the sender (drained here, with virtual time) delivers them in order. A
refusal for good (the bot blocked, a number without WhatsApp) is not retried.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.render import TELEGRAM_TEXT_LIMIT, split_text
from bot.telegram import TelegramChannel
from storage.models import OutboxMessage
from storage.outbox import REPLY_KIND
from tests.fakes.channels import on_channel
from tests.fakes.telegram_updates import SITI
from tests.outbox_support import FAST, FakeClock, drain
from wlcc.formatting import utcnow
from wlcc.i18n import gettext
from wlcc.messages import Choice, Inbound, Media, Outbound

CHAT = SITI.id
PHONE = "+6281234567890"
WA_TO = f"whatsapp:{PHONE}"


def t(key: str, **kwargs: object) -> str:
    return gettext("id", key, **kwargs)


@pytest.fixture
def settings(make_settings):
    """The app without its background sender: the test drains the outbox itself."""
    return make_settings(wlcc_sender_enabled=False)


def reply_rows(db) -> list[OutboxMessage]:
    """Every reply is an outbox row, written with the turn that answered the message."""
    with db.transaction() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == REPLY_KIND)
        return list(session.exec(query.order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def replies_waiting(db) -> list[OutboxMessage]:
    """The replies the outbox still has to deliver."""
    return [r for r in reply_rows(db) if r.status in ("pending", "sending")]


def send_the_outbox(db, settings) -> None:
    drain(db, settings, clock=FakeClock(), **FAST)


@pytest.mark.parametrize("status", [500, 502, 429], ids=["server_error", "bad_gateway", "flood"])
def test_a_telegram_reply_that_failed_for_a_while_arrives_later_in_order(
    status, db, settings, telegram, fake_telegram
):
    fake_telegram.fail_next(status, method="sendMessage", times=1, retry_after=1)

    assert telegram.say("halo").status_code == 200

    assert fake_telegram.texts(CHAT) == []  # the welcome failed, so the menu was held back
    waiting = replies_waiting(db)
    assert [r.text for r in waiting] == [t("welcome"), t("menu.header")]
    assert all(r.identity_id is not None and r.status == "pending" for r in waiting)
    assert waiting[1].choices  # the menu keeps its buttons

    send_the_outbox(db, settings)

    assert fake_telegram.texts(CHAT) == [t("welcome"), t("menu.header")]
    menu = fake_telegram.sent(CHAT)[-1]
    assert "BANTUAN" in [b["callback_data"] for b in menu.buttons]
    assert [r.status for r in reply_rows(db)] == ["sent", "sent"]
    assert replies_waiting(db) == []


@pytest.mark.parametrize("status", [403, 400], ids=["blocked", "chat_not_found"])
def test_a_telegram_reply_refused_for_good_is_not_retried(
    status, db, settings, telegram, fake_telegram
):
    fake_telegram.fail_next(status, method="sendMessage", times=1)

    assert telegram.say("halo").status_code == 200

    assert replies_waiting(db) == []
    assert {(r.status, r.reason) for r in reply_rows(db)} == {("failed", "rejected")}
    assert fake_telegram.calls("sendMessage", ok=False)[0].status == status


def test_a_whatsapp_reply_that_failed_for_a_while_arrives_later(
    db, settings, whatsapp, fake_twilio
):
    fake_twilio.fail_next(503, times=1)

    assert whatsapp.say("MENU", phone=PHONE).status_code == 200

    assert fake_twilio.bodies(WA_TO) == []
    waiting = replies_waiting(db)
    assert len(waiting) == 1 and waiting[0].text == t("menu.header")

    send_the_outbox(db, settings)

    delivered = fake_twilio.bodies(WA_TO)
    assert len(delivered) == 1
    assert delivered[0].startswith(t("menu.header")) and "1." in delivered[0]  # numbered list


def test_a_whatsapp_reply_to_a_number_without_whatsapp_is_not_retried(
    db, settings, whatsapp, fake_twilio
):
    fake_twilio.fail_next(400, code=63003, times=1)

    assert whatsapp.say("MENU", phone=PHONE).status_code == 200

    assert replies_waiting(db) == []
    assert [(r.status, r.reason) for r in reply_rows(db)] == [("failed", "rejected")]


def test_an_answer_is_retried_even_to_a_chat_that_said_berhenti(
    db, settings, whatsapp, fake_twilio
):
    """BERHENTI stops notices, not the answers to her own messages."""
    whatsapp.say("MENU", phone=PHONE)
    fake_twilio.fail_next(500, times=1)

    whatsapp.say("BERHENTI", phone=PHONE)
    waiting = replies_waiting(db)
    assert len(waiting) == 1

    send_the_outbox(db, settings)

    assert replies_waiting(db) == []
    assert fake_twilio.bodies(WA_TO)[-1] == waiting[0].text


def test_a_reply_cut_short_leaves_only_its_unsent_pieces(settings, fake_telegram):
    """A photo went, then the text failed: only the text (in its pieces, the buttons on the
    last) is left for the outbox, so the photo does not arrive twice."""
    text = "\n\n".join(f"Bagian {i}. " + "kata " * 300 for i in range(6))  # over 4,096
    reply = Outbound(text, choices=(Choice("MENU", "Menu utama"),), media=(Media("photo-1"),))
    inbound = Inbound("telegram", str(CHAT), str(CHAT), "77", utcnow(), text="MENU")
    fake_telegram.fail_next(502, method="sendMessage", times=1)

    report = on_channel(TelegramChannel(settings), lambda ch: ch.send_replies(inbound, [reply]))
    left = report.rest

    assert (report.sent, report.retry) == (0, True)
    assert len(fake_telegram.calls("sendPhoto", ok=True)) == 1
    assert [piece.text for piece in left] == split_text(text, TELEGRAM_TEXT_LIMIT)
    assert len(left) > 1 and not any(piece.media for piece in left)
    assert [piece.choices for piece in left] == [()] * (len(left) - 1) + [reply.choices]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Outbound("Halo"), [("Halo", 0, False)]),
        (Outbound("Lihat", media=(Media("p1"),)), [("Lihat", 1, False)]),  # a captioned photo
        (
            Outbound("", choices=(Choice("MENU", "Menu"),), media=(Media("p1"), Media("p2"))),
            [("", 1, False), ("", 1, True)],  # photos alone: the buttons on the last
        ),
        (
            Outbound("Pilih", choices=(Choice("MENU", "Menu"),), media=(Media("p1"), Media("p2"))),
            [("", 1, False), ("", 1, False), ("Pilih", 0, True)],
        ),
    ],
)
def test_a_reply_becomes_telegram_messages_in_order(reply, expected):
    parts = TelegramChannel.parts(reply)
    assert [(p.text, len(p.media), bool(p.choices)) for p in parts] == expected


def test_a_reply_retried_later_keeps_the_words_it_was_made_with(
    db, settings, whatsapp, fake_twilio
):
    """The "reply with a number" line is worded when the reply is made, in the language of that
    moment, not again in whatever language the chat has when the outbox retries it."""
    whatsapp.say("bahasa", phone=PHONE)
    whatsapp.say("2", phone=PHONE)  # English
    fake_twilio.fail_next(500, times=1)

    whatsapp.say("menu", phone=PHONE)  # refused for now: the outbox has it
    [waiting] = replies_waiting(db)
    assert waiting.render == {"hint": gettext("en", "choices.hint", count=len(waiting.choices))}
    send_the_outbox(db, settings)

    menu = fake_twilio.bodies(WA_TO)[-1]
    assert menu.startswith(gettext("en", "menu.header"))
    assert menu.endswith(gettext("en", "choices.hint", count=len(waiting.choices)))


def test_a_retried_telegram_reply_keeps_its_share_my_number_button(
    db, settings, telegram, fake_telegram
):
    fake_telegram.fail_next(502, method="sendMessage", times=1)

    telegram.say("hubungkan")
    [waiting] = replies_waiting(db)
    assert waiting.render and waiting.render.get("request_contact")
    send_the_outbox(db, settings)

    [sent] = fake_telegram.sent(CHAT)
    keyboard = sent["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_contact"] is True


def test_replies_sent_at_once_are_recorded_as_sent(db, settings, telegram, fake_telegram):
    """The direct send settles its rows: nothing is left leased for the outbox to send again."""
    telegram.say("halo")

    assert fake_telegram.texts(CHAT) == [t("welcome"), t("menu.header")]
    rows = reply_rows(db)
    assert [(r.status, r.channel, r.lease_until) for r in rows] == [("sent", "telegram", None)] * 2
