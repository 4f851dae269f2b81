"""The Telegram webhook end to end: the real app and python-telegram-bot against the fake Bot API.

Every test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (through ``database_url``).
Assertions are on what reached the fake Telegram server and on the database, never on internals.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Update

from bot.render import TELEGRAM_TEXT_LIMIT, split_text
from bot.telegram import TelegramChannel
from tests.fakes.channels import on_channel
from tests.fakes.telegram_api import FakeTelegram, TelegramCall
from tests.fakes.telegram_updates import RINA, SITI, TelegramUpdates
from tests.fakes.webhooks import running_app
from wlcc.i18n import gettext
from wlcc.messages import Choice, Outbound
from wlcc.settings import Settings

CHAT = SITI.id


def t(key: str, lang: str = "id", **params: object) -> str:
    return gettext(lang, key, **params)


def menu_message(fake: FakeTelegram, chat_id: int = CHAT) -> TelegramCall:
    """The last message to ``chat_id`` that carried inline buttons."""
    with_buttons = [c for c in fake.sent(chat_id) if c.buttons]
    assert with_buttons, f"no message with buttons: {fake.describe(fake.all_calls())}"
    return with_buttons[-1]


def assert_nothing_stored(count_rows) -> None:
    assert count_rows("inbound_message") == 0
    assert count_rows("identity") == 0


# --- conversations ---


def test_first_message_gets_welcome_and_main_menu(telegram, fake_telegram, settings):
    response = telegram.say("halo")

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    calls = fake_telegram.wait_for("sendMessage", 2)
    assert [c.status for c in calls] == [200, 200]
    token = settings.telegram_bot_token.get_secret_value()
    assert all(c.token == token and c["chat_id"] == CHAT for c in calls)
    welcome, menu = calls
    assert welcome.text == t("welcome")
    assert menu.text == t("menu.header")
    rows = menu["reply_markup"]["inline_keyboard"]
    assert rows and all(len(row) == 1 for row in rows)  # one big button per line
    payloads = [b["callback_data"] for b in menu.buttons]
    assert "BAHASA" in payloads and "BANTUAN" in payloads
    assert all(1 <= len(p.encode()) <= 64 for p in payloads)
    assert all(b["text"].strip() for b in menu.buttons)


def test_second_message_is_not_welcomed_again(telegram, fake_telegram):
    telegram.say("halo")
    fake_telegram.wait_for("sendMessage", 2)
    telegram.say("apa kabar")
    texts = fake_telegram.texts(CHAT)
    assert texts.count(t("welcome")) == 1
    assert texts[-1] == t("fallback.not_understood")


def test_pressing_menu_buttons_answers_the_query_and_moves_on(telegram, tg_updates, fake_telegram):
    telegram.say("halo")
    menu = menu_message(fake_telegram)

    press = tg_updates.callback("BAHASA", message=menu.result)
    assert telegram.post(press).status_code == 200

    [answer] = fake_telegram.wait_for("answerCallbackQuery")
    assert answer["callback_query_id"] == press["callback_query"]["id"]
    assert answer.ok
    ask = menu_message(fake_telegram)
    assert ask.text == t("language.ask")
    assert [b["callback_data"] for b in ask.buttons] == [
        "lang:id",
        "lang:en",
        "BATAL",
    ]  # the question's "0. Batal" last

    press = tg_updates.callback("lang:en", message=ask.result)
    assert telegram.post(press).status_code == 200
    assert fake_telegram.wait_for("answerCallbackQuery", 2)[-1].ok
    assert fake_telegram.texts(CHAT)[-1] == t("language.done", "en")


def test_typed_number_picks_from_the_buttons_shown(telegram, fake_telegram):
    telegram.say("halo")
    menu = menu_message(fake_telegram)
    position = [b["callback_data"] for b in menu.buttons].index("BAHASA") + 1

    telegram.say(str(position))

    assert fake_telegram.texts(CHAT)[-1] == t("language.ask")


def test_help_button(telegram, tg_updates, fake_telegram):
    telegram.say("halo")
    menu = menu_message(fake_telegram)
    telegram.post(tg_updates.callback("BANTUAN", message=menu.result))
    assert fake_telegram.texts(CHAT)[-1].startswith(t("help.header"))


def test_callback_on_a_stale_or_unknown_button_is_still_answered(
    telegram, tg_updates, fake_telegram
):
    response = telegram.post(tg_updates.callback("NO-SUCH-BUTTON"))
    assert response.status_code == 200
    assert fake_telegram.wait_for("answerCallbackQuery")[0].ok
    assert fake_telegram.sent(CHAT)  # and the person is not left without an answer


def test_two_people_get_their_own_replies(telegram, tg_updates, fake_telegram):
    telegram.say("halo")
    telegram.post(tg_updates.text("halo", user=RINA))
    assert len(fake_telegram.sent(CHAT)) == 2
    assert len(fake_telegram.sent(RINA.id)) == 2


@pytest.mark.parametrize(
    "kind",
    ["contact", "foreign_contact", "location", "venue", "photo", "photo_with_caption"],
)
def test_attachments_are_handled(kind, telegram, tg_updates, fake_telegram, count_rows):
    telegram.say("halo")  # past the first-contact welcome
    before = len(fake_telegram.sent(CHAT))
    update: dict[str, Any] = {
        "contact": lambda: tg_updates.contact(),
        "foreign_contact": lambda: tg_updates.contact("6281377778888", contact_user_id=RINA.id),
        "location": lambda: tg_updates.location(),
        "venue": lambda: tg_updates.venue(),
        "photo": lambda: tg_updates.photo(),
        "photo_with_caption": lambda: tg_updates.photo("got bocor di depan rumah"),
    }[kind]()

    response = telegram.post(update)

    assert response.status_code == 200
    replies = fake_telegram.sent(CHAT)[before:]
    assert replies, f"no reply to a {kind}"
    assert all(r.text and r.text != t("error.generic") for r in replies)
    assert count_rows("inbound_message") == 2


def test_photo_keeps_the_largest_size(settings, tg_updates):
    """The media handed on is the largest photo size (the last one Telegram lists)."""
    update = tg_updates.photo("foto got")
    parsed = TelegramChannel(settings).parse(update)
    assert parsed.inbound is not None
    assert parsed.inbound.media[0].ref == update["message"]["photo"][-1]["file_id"]
    assert parsed.inbound.text == "foto got"


@pytest.mark.parametrize(
    "make",
    [
        lambda u: u.edited_message("halo (diedit)"),
        lambda u: u.channel_post("Pengumuman rapat"),
        lambda u: u.group_message("halo semua"),
        lambda u: u.group_message("/start"),
        lambda u: u.my_chat_member("kicked"),
        lambda u: u.my_chat_member("member"),
        lambda u: u.sticker(),
        lambda u: {"update_id": u.next_update_id()},
        lambda u: {"update_id": u.next_update_id(), "future_kind": {"id": 1}},
    ],
    ids=[
        "edited",
        "channel_post",
        "group",
        "group_command",
        "blocked",
        "unblocked",
        "sticker",
        "empty",
        "unknown_kind",
    ],
)
def test_updates_without_a_private_message_are_ignored(
    make, telegram, tg_updates, fake_telegram, count_rows
):
    response = telegram.post(make(tg_updates))
    assert response.status_code == 200
    assert fake_telegram.all_calls() == []
    assert_nothing_stored(count_rows)


def test_button_pressed_in_a_group_is_answered_but_not_handled(
    telegram, tg_updates, fake_telegram, count_rows
):
    message = {
        "message_id": 77,
        "from": {"id": 123456, "is_bot": True, "first_name": "WLCC Bot"},
        "chat": {"id": -4012345678, "title": "WLCC Kelurahan 19 Ilir", "type": "group"},
        "date": 1767225600,
        "text": "Menu",
    }
    response = telegram.post(tg_updates.callback("BAHASA", message=message))
    assert response.status_code == 200
    assert [c.method for c in fake_telegram.all_calls()] == ["answerCallbackQuery"]
    assert_nothing_stored(count_rows)


# --- authenticity and retries ---


@pytest.mark.parametrize(
    "secret",
    [None, "", "wrong-secret", "WLCC-TEST_WEBHOOK-SECRET-7F3A9C", "wlcc-test_webhook-secret-7f3a9"],
    ids=["missing", "empty", "wrong", "other_case", "prefix"],
)
def test_wrong_or_missing_secret_is_refused(
    secret, telegram, tg_updates, fake_telegram, count_rows
):
    response = telegram.post(tg_updates.text("halo"), secret=secret)
    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)
    assert fake_telegram.all_calls() == []
    assert_nothing_stored(count_rows)


def test_secret_is_checked_before_the_body_is_read(telegram, fake_telegram, count_rows):
    response = telegram.post_raw(b"x" * 1_000_000, secret="wrong")
    assert response.status_code == 401
    assert_nothing_stored(count_rows)


def test_same_update_twice_is_answered_once(telegram, tg_updates, fake_telegram, count_rows):
    update = tg_updates.text("halo")
    first = telegram.post(update)
    replies = len(fake_telegram.sent(CHAT))
    second = telegram.post(update)

    assert first.status_code == second.status_code == 200
    assert replies == 2
    assert len(fake_telegram.sent(CHAT)) == replies
    assert count_rows("inbound_message") == 1


def test_replayed_button_press_is_answered_but_acts_once(telegram, tg_updates, fake_telegram):
    telegram.say("halo")
    menu = menu_message(fake_telegram)
    press = tg_updates.callback("BAHASA", message=menu.result)
    telegram.post(press)
    replies = len(fake_telegram.sent(CHAT))
    telegram.post(press)
    assert len(fake_telegram.sent(CHAT)) == replies
    # Telegram's spinner stops either way.
    assert len(fake_telegram.calls("answerCallbackQuery")) >= 1


# --- malformed bodies ---


def _update(**message: Any) -> dict[str, Any]:
    base = TelegramUpdates().text("halo")
    base["message"].update(message)
    return base


MALFORMED: list[tuple[str, bytes]] = [
    ("not_json", b"this is not json"),
    ("truncated_json", b'{"update_id": 1, "message": {'),
    ("not_utf8", b'{"update_id": 1, "message": "\xff\xfe"}'),
    ("empty_body", b""),
    ("json_array", b"[1, 2, 3]"),
    ("json_string", b'"update"'),
    ("json_null", b"null"),
    ("update_id_missing", json.dumps({"message": _update()["message"]}).encode()),
    ("update_id_string", json.dumps({**_update(), "update_id": "815000001"}).encode()),
    ("update_id_float", json.dumps({**_update(), "update_id": 815000001.5}).encode()),
    ("update_id_bool", json.dumps({**_update(), "update_id": True}).encode()),
    ("update_id_null", json.dumps({**_update(), "update_id": None}).encode()),
    ("message_string", json.dumps({"update_id": 9, "message": "halo"}).encode()),
    ("message_list", json.dumps({"update_id": 9, "message": ["halo"]}).encode()),
    ("chat_string", json.dumps(_update(chat="5512345678")).encode()),
    ("chat_without_id", json.dumps(_update(chat={"type": "private"})).encode()),
    ("chat_id_string", json.dumps(_update(chat={"id": "abc", "type": "private"})).encode()),
    ("from_string", json.dumps(_update(**{"from": "Siti"})).encode()),
    (
        "from_id_string",
        json.dumps(_update(**{"from": {"id": "x", "is_bot": False, "first_name": "S"}})).encode(),
    ),
    ("text_number", json.dumps(_update(text=12345)).encode()),
    ("text_object", json.dumps(_update(text={"a": 1})).encode()),
    ("date_string", json.dumps(_update(date="yesterday")).encode()),
    (
        "location_strings",
        json.dumps(_update(text=None, location={"latitude": "abc", "longitude": "x"})).encode(),
    ),
    ("contact_without_phone", json.dumps(_update(text=None, contact={"first_name": "S"})).encode()),
    ("photo_not_a_list", json.dumps(_update(text=None, photo="AgAC")).encode()),
    (
        "callback_data_number",
        json.dumps({**TelegramUpdates().callback("x"), "update_id": 10})
        .replace('"data": "x"', '"data": 42')
        .encode(),
    ),
    (
        "callback_without_id",
        json.dumps(
            {
                "update_id": 11,
                "callback_query": {
                    k: v
                    for k, v in TelegramUpdates().callback("x")["callback_query"].items()
                    if k != "id"
                },
            }
        ).encode(),
    ),
]


@pytest.mark.parametrize("body", [b for _, b in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_malformed_updates_get_a_clear_4xx_and_store_nothing(
    body, telegram, fake_telegram, count_rows
):
    response = telegram.post_raw(body)

    assert 400 <= response.status_code < 500, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    assert fake_telegram.calls("sendMessage") == []
    assert_nothing_stored(count_rows)


def test_body_over_the_size_limit_is_refused(telegram, tg_updates, fake_telegram, count_rows):
    update = tg_updates.text("a" * (300 * 1024))
    response = telegram.post(update)
    assert response.status_code == 413
    assert "larger" in response.json()["detail"]
    assert fake_telegram.all_calls() == []
    assert_nothing_stored(count_rows)


def test_streamed_body_over_the_size_limit_is_refused(telegram, fake_telegram, count_rows):
    def chunks() -> Iterator[bytes]:
        yield b'{"update_id": 1, "message": {"text": "'
        for _ in range(40):
            yield b"a" * 10_000
        yield b'"}}'

    response = telegram.client.post(
        "/webhooks/telegram",
        content=chunks(),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": telegram.secret or "",
        },
    )
    assert response.status_code == 413
    assert_nothing_stored(count_rows)


# --- sending: long texts, keyboards, platform errors ---


def _run_channel(settings: Settings, address: str, message: Outbound) -> list[int]:
    return on_channel(TelegramChannel(settings), lambda channel: channel.send(address, message))


LONG_TEXT = "\n\n".join(
    f"Paragraf {i}. " + " ".join(f"kata{i}-{j}" for j in range(60)) for i in range(40)
)


def test_split_text_stays_under_the_limit_and_keeps_every_word():
    parts = split_text(LONG_TEXT, TELEGRAM_TEXT_LIMIT)
    assert len(parts) > 2
    assert all(0 < len(p) <= TELEGRAM_TEXT_LIMIT for p in parts)
    assert " ".join(parts).split() == LONG_TEXT.split()
    # Paragraph breaks are preferred: no part starts in the middle of a paragraph.
    assert all(p.startswith("Paragraf") for p in parts)


def test_split_text_cuts_a_text_without_spaces():
    text = "x" * 10_000
    parts = split_text(text, TELEGRAM_TEXT_LIMIT)
    assert "".join(parts) == text
    assert all(len(p) <= TELEGRAM_TEXT_LIMIT for p in parts)


def test_long_reply_is_sent_in_parts_with_buttons_on_the_last(settings, fake_telegram):
    message = Outbound(LONG_TEXT, choices=(Choice("MENU", "Menu utama"),))
    ids = _run_channel(settings, str(CHAT), message)

    calls = fake_telegram.calls("sendMessage")
    assert len(calls) == len(ids) > 2
    assert all(c.ok and c["chat_id"] == CHAT for c in calls)
    assert all(len(c.text or "") <= TELEGRAM_TEXT_LIMIT for c in calls)
    assert [bool(c.buttons) for c in calls] == [False] * (len(calls) - 1) + [True]
    assert " ".join(c.text or "" for c in calls).split() == LONG_TEXT.split()
    assert ids == sorted(ids)


def test_long_choice_payloads_fit_telegram_callback_data(settings, fake_telegram):
    long_payload = "SETUJUI " + "9" * 80
    message = Outbound(
        "Pilih:", choices=(Choice(long_payload, "Setujui"), Choice("BATAL", "Batal"))
    )
    _run_channel(settings, str(CHAT), message)
    [call] = fake_telegram.calls("sendMessage")
    assert call.ok
    data = [b["callback_data"] for b in call.buttons]
    assert data == ["#1", "BATAL"]


def test_request_contact_button(settings, fake_telegram):
    _run_channel(settings, str(CHAT), Outbound("Bagikan nomor Anda", request_contact="Kirim"))
    [call] = fake_telegram.calls("sendMessage")
    keyboard = call["reply_markup"]["keyboard"]
    assert keyboard == [[{"text": "Kirim", "request_contact": True}]]


@pytest.mark.parametrize(
    "status",
    [500, 502, 403, 400, 429],
    ids=["server_error", "bad_gateway", "blocked", "chat_not_found", "flood"],
)
def test_platform_errors_on_send_still_acknowledge_the_update(
    status, telegram, tg_updates, fake_telegram, count_rows, caplog
):
    fake_telegram.fail_next(status, method="sendMessage", times=5)
    with caplog.at_level(logging.WARNING):
        response = telegram.post(tg_updates.text("halo"))

    assert response.status_code == 200
    failed = fake_telegram.calls("sendMessage", ok=False)
    assert failed and failed[0].status == status
    assert count_rows("inbound_message") == 1  # recorded: a retry will not be answered twice
    assert any(r.levelno == logging.WARNING and "telegram" in r.name for r in caplog.records)


def test_failed_answer_callback_query_does_not_block_the_reply(telegram, tg_updates, fake_telegram):
    telegram.say("halo")
    menu = menu_message(fake_telegram)
    fake_telegram.fail_next(
        400,
        method="answerCallbackQuery",
        description="Bad Request: query is too old and response timeout expired or query ID "
        "is invalid",
    )
    response = telegram.post(tg_updates.callback("BAHASA", message=menu.result))
    assert response.status_code == 200
    assert fake_telegram.texts(CHAT)[-1] == t("language.ask")


# --- channel off, logs ---


def test_telegram_off_without_a_token(make_settings, fake_telegram, count_rows):
    settings = make_settings(telegram_bot_token=None, telegram_webhook_secret=None)
    with running_app(settings) as client:
        response = client.post(
            "/webhooks/telegram",
            json=TelegramUpdates().text("halo"),
            headers={"X-Telegram-Bot-Api-Secret-Token": "anything"},
        )
    assert response.status_code == 404
    assert fake_telegram.all_calls() == []
    assert_nothing_stored(count_rows)


def test_logs_never_show_the_token_the_secret_or_a_phone_number(
    log_output, telegram, tg_updates, fake_telegram, settings
):
    telegram.say("halo")
    telegram.post(tg_updates.contact("6281234567890"))
    fake_telegram.fail_next(403, method="sendMessage")
    telegram.say("halo lagi")
    fake_telegram.fail_next(401, times=3)  # PTB's InvalidToken error names the token's URL
    telegram.say("halo lagi lagi")
    bad = tg_updates.text("x")
    bad["message"]["chat"] = "6281234567890"
    telegram.post(bad)
    telegram.post(tg_updates.text("halo"), secret="wrong")

    output = log_output.getvalue()
    assert output, "nothing was logged"
    # Time stamps survive the redaction (they look like phone numbers to it).
    assert all(
        re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", line)
        for line in output.splitlines()
        if line[:1].isdigit() or line[:1] == "*"
    )
    token = settings.telegram_bot_token.get_secret_value()
    secret = settings.telegram_webhook_secret.get_secret_value()
    assert token not in output
    assert token.split(":")[1] not in output
    assert secret not in output
    assert "6281234567890" not in output
    assert "81234567890" not in output


def test_telegram_update_builder_parses_with_the_sdk():
    """The hand-made updates are valid for python-telegram-bot (shape check of the helpers)."""
    updates = TelegramUpdates()
    for update in (
        updates.text("/start"),
        updates.contact(),
        updates.location(),
        updates.venue(),
        updates.photo("x"),
        updates.callback("MENU"),
        updates.edited_message("x"),
        updates.channel_post("x"),
        updates.group_message("x"),
        updates.my_chat_member("kicked"),
        updates.my_chat_member("member"),
        updates.sticker(),
    ):
        assert Update.de_json(update, None).update_id == update["update_id"]


# --- the fake itself behaves like the Bot API for the SDK ---


def test_fake_bot_api_speaks_ptb(fake_telegram):
    from telegram import Bot
    from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

    async def go() -> None:
        bot = Bot("123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", base_url=fake_telegram.base_url)
        async with bot:  # initialize() calls getMe
            assert bot.username == "wlcc_test_bot"
            first = await bot.send_message(CHAT, "satu")
            second = await bot.send_photo(CHAT, photo=b"\x89PNG\r\n\x1a\n", caption="foto")
            assert second.message_id == first.message_id + 1
            assert second.photo[-1].width == 1280
            assert await bot.answer_callback_query("12345")
            expected: list[tuple[int, type[Exception]]] = [
                (429, RetryAfter),
                (403, Forbidden),
                (400, BadRequest),
                (500, NetworkError),
                (502, NetworkError),
            ]
            for status, error in expected:
                fake_telegram.fail_next(status)
                with pytest.raises(error):
                    await bot.send_message(CHAT, "x")
            with pytest.raises(BadRequest, match="too long"):
                await bot.send_message(CHAT, "x" * 4097)
        wrong = Bot("654321:ZZZ-wrong-token-abcdefghijklmnopqr", base_url=fake_telegram.base_url)
        with pytest.raises(InvalidToken):
            await wrong.get_me()

    asyncio.run(go())

    flood = fake_telegram.calls("sendMessage", ok=False)[0]
    assert flood.response["parameters"] == {"retry_after": 3}
    photo = fake_telegram.calls("sendPhoto")[0]
    assert photo.files["photo"].content.startswith(b"\x89PNG")
    assert photo["caption"] == "foto"
    assert fake_telegram.calls("getMe")[-1].status == 401


def test_fake_bot_api_reads_json_bodies_and_waits(fake_telegram):
    import httpx

    url = f"{fake_telegram.base_url}123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/sendMessage"
    body = {
        "chat_id": CHAT,
        "text": "halo",
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "x" * 65}]]},
    }
    answer = httpx.post(url, json=body).json()
    assert answer == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: BUTTON_DATA_INVALID",
    }
    body["reply_markup"] = {"inline_keyboard": [[{"text": "A", "callback_data": "A"}]]}
    answer = httpx.post(url, json=body).json()
    assert answer["ok"] and answer["result"]["reply_markup"] == body["reply_markup"]
    [_, call] = fake_telegram.wait_for("sendMessage", 2, timeout=0.5)
    assert call["chat_id"] == CHAT and call.buttons == [{"text": "A", "callback_data": "A"}]
    with pytest.raises(AssertionError, match="timed out"):
        fake_telegram.wait_for("sendMessage", 3, timeout=0.05)
