"""One bad message harms nothing, at the channel edge: poison values in real-shaped updates and
signed forms are cleaned and answered, or refused with a 4xx, and never stop the messages that
arrive with them from being stored and answered.

Every test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (through ``database_url``),
where one bad value in the shared insert of a burst of webhooks used to fail them all.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from tests.fakes import twilio_forms
from tests.fakes.telegram_updates import SITI, TelegramUpdates, TgUser
from tests.fakes.webhooks import STATUS_PATH, Post, post_concurrently
from wlcc.i18n import gettext

PHONE = "+6281234567890"


def display_names(db) -> list[str | None]:
    with db.engine.connect() as conn:
        return list(conn.execute(text("SELECT display_name FROM identity")).scalars())


def assert_nothing_stored(count_rows) -> None:
    assert count_rows("inbound_message") == 0
    assert count_rows("identity") == 0


def raw(update: dict[str, Any], **fragments: str) -> bytes:
    """``update`` as JSON, with each string "@name@" in it replaced by the raw JSON fragment
    ``fragments[name]`` (NaN, 1e400: what json.dumps would not write)."""
    body = json.dumps(update)
    for name, fragment in fragments.items():
        body = body.replace(f'"@{name}@"', fragment)
    return body.encode()


# --- Telegram: text is cleaned ---


def test_telegram_lone_surrogates_and_controls_are_cleaned_and_answered(
    telegram, tg_updates, fake_telegram, db
):
    update = tg_updates.text("ha\x00lo\ud800\x07 apa\r\nkabar\u0085")
    update["message"]["from"]["first_name"] = "Si\ud800ti\x00"
    update["message"]["chat"]["first_name"] = "Si\ud800ti\x00"
    body = json.dumps(update).encode()  # the surrogate and the NUL travel as \ud800 and \u0000
    assert b"\\ud800" in body and b"\\u0000" in body

    response = telegram.post_raw(body)

    assert response.status_code == 200
    assert fake_telegram.texts(SITI.id)[:1] == [gettext("id", "welcome")]
    assert display_names(db) == ["Si\ufffdti"]


def test_telegram_button_press_with_a_surrogate_is_answered(
    telegram, tg_updates, fake_telegram, db
):
    telegram.say("halo")
    press = tg_updates.callback("BAN\ud800TUAN\x00")
    press["callback_query"]["from"]["first_name"] = "\ud800"
    assert telegram.post(press).status_code == 200
    assert fake_telegram.calls("answerCallbackQuery")
    assert all("\x00" not in (t or "") for t in fake_telegram.texts(SITI.id))


# --- Telegram: ids and numbers out of range are refused ---


def _message(**changes: Any) -> dict[str, Any]:
    update = TelegramUpdates().text("halo")
    update["message"].update(changes)
    return update


def _location(latitude: Any, longitude: Any = 104.7754) -> dict[str, Any]:
    update = TelegramUpdates().location()
    update["message"]["location"].update(latitude=latitude, longitude=longitude)
    return update


HUGE = 10**80
BAD_TELEGRAM: dict[str, bytes] = {
    "update_id_huge": json.dumps({**TelegramUpdates().text("halo"), "update_id": HUGE}).encode(),
    "chat_id_huge": json.dumps(
        _message(chat={"id": HUGE, "type": "private"}, **{"from": {**SITI.as_user(), "id": HUGE}})
    ).encode(),
    "from_id_huge": json.dumps(_message(**{"from": {**SITI.as_user(), "id": -HUGE}})).encode(),
    "latitude_nan": raw(_location("@x@"), x="NaN"),
    "latitude_infinity": raw(_location("@x@"), x="-Infinity"),
    "latitude_overflowing": raw(_location("@x@"), x="1e400"),
    "latitude_over_90": json.dumps(_location(90.5)).encode(),
    "longitude_over_180": json.dumps(_location(-2.9, -180.01)).encode(),
    "latitude_bool": json.dumps(_location(True)).encode(),
    "date_huge": json.dumps(_message(date=10**20)).encode(),
    "date_very_negative": json.dumps(_message(date=-(10**20))).encode(),
    "date_year_10000": json.dumps(_message(date=253402300800)).encode(),
    "date_float_huge": json.dumps(_message(date=1e300)).encode(),
    "date_nan": raw(_message(date="@x@"), x="NaN"),
    "edit_date_huge": json.dumps(_message(edit_date=10**20)).encode(),
    "contact_user_id_huge": json.dumps(
        {
            **(u := TelegramUpdates().contact()),
            "message": {
                **u["message"],
                "contact": {**u["message"]["contact"], "user_id": HUGE},
            },
        }
    ).encode(),
    "contact_first_name_number": json.dumps(
        {
            **(u := TelegramUpdates().contact()),
            "message": {**u["message"], "contact": {**u["message"]["contact"], "first_name": 7}},
        }
    ).encode(),
    "file_id_with_nul": json.dumps(
        {
            **(u := TelegramUpdates().photo()),
            "message": {
                **u["message"],
                "photo": [{**u["message"]["photo"][0], "file_id": "A\x00"}],
            },
        }
    ).encode(),
    "callback_id_with_nul": json.dumps(
        {
            **(u := TelegramUpdates().callback("MENU")),
            "callback_query": {**u["callback_query"], "id": "12\x0034"},
        }
    ).encode(),
    "nested_lists": b'{"update_id": 5, "message": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "nested_objects": b'{"update_id": 5, "message": '
    + b'{"reply_to_message": ' * 2000
    + b"{}"
    + b"}" * 2000
    + b"}",
    "nested_lists_alone": b"[" * 10000,
}


def _replies_to_replies(depth: int) -> dict[str, Any]:
    update = TelegramUpdates().text("halo")
    message = update["message"]
    for _ in range(depth):
        message["reply_to_message"] = {k: v for k, v in message.items() if k != "update_id"}
        message = message["reply_to_message"]
    return update


BAD_TELEGRAM["replies_too_deep"] = json.dumps(_replies_to_replies(60)).encode()


@pytest.mark.parametrize("body", list(BAD_TELEGRAM.values()), ids=list(BAD_TELEGRAM))
def test_telegram_bad_ids_numbers_and_nesting_get_a_4xx(body, telegram, fake_telegram, count_rows):
    response = telegram.post_raw(body)

    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["detail"], str)
    assert fake_telegram.calls("sendMessage") == []
    assert_nothing_stored(count_rows)


def test_telegram_replies_nested_as_deep_as_real_ones_are_answered(telegram, fake_telegram):
    response = telegram.post(_replies_to_replies(3))
    assert response.status_code == 200
    assert fake_telegram.sent(SITI.id)


# --- WhatsApp: text is cleaned ---


def test_whatsapp_controls_in_text_are_cleaned_and_answered(whatsapp, fake_twilio, db):
    form = whatsapp.inbound("Ha\x00lo\x1b[31m", phone=PHONE, profile_name="Siti\x00 Aminah\x9b")
    response = whatsapp.post(form)

    assert response.status_code == 200, response.text
    assert fake_twilio.messages(f"whatsapp:{PHONE}")
    assert display_names(db) == ["Siti Aminah"]


# --- WhatsApp: ids and numbers out of range are refused ---


def _wa(**changes: str) -> dict[str, str]:
    return {**twilio_forms.inbound("Halo", phone=PHONE), **changes}


def _wa_media(**changes: str) -> dict[str, str]:
    return {**twilio_forms.inbound("", phone=PHONE, media=[("image/jpeg", "")]), **changes}


def _wa_location(latitude: str, longitude: str = "104.7754") -> dict[str, str]:
    return twilio_forms.inbound("", phone=PHONE, latitude=latitude, longitude=longitude)


BAD_WHATSAPP: dict[str, dict[str, str]] = {
    "message_sid_with_nul": _wa(MessageSid="SM\x00" + "0" * 32, SmsMessageSid="SM\x00"),
    "message_sid_with_newline": _wa(MessageSid="SM12\n34", SmsMessageSid="SM12\n34"),
    "message_sid_too_long": _wa(MessageSid="SM" + "0" * 200, SmsMessageSid="SM" + "0" * 200),
    "from_with_nul": _wa(From=f"whatsapp:{PHONE}\x00"),
    "media_url_with_nul": _wa_media(MediaUrl0="https://api.twilio.com/x\x00y"),
    "media_url_not_http": _wa_media(MediaUrl0="javascript:alert(1)"),
    "media_type_with_nul": _wa_media(MediaContentType0="image/jpeg\x00"),
    "num_media_superscript": _wa(NumMedia="²"),
    "num_media_arabic_digit": _wa(NumMedia="٣"),
    "num_media_negative": _wa(NumMedia="-1"),
    "num_media_over_the_limit": _wa(NumMedia="11"),
    "num_media_huge": _wa(NumMedia="9" * 5000),
    "latitude_exponent_overflow": _wa_location("1e999"),
    "latitude_infinity": _wa_location("-inf"),
    "latitude_arabic_digits": _wa_location("٣"),
    "latitude_underscores": _wa_location("1_0"),
    "longitude_over_180": _wa_location("-2.97", "180.5"),
}


@pytest.mark.parametrize("form", list(BAD_WHATSAPP.values()), ids=list(BAD_WHATSAPP))
def test_whatsapp_bad_ids_and_numbers_get_a_4xx(form, whatsapp, fake_twilio, count_rows):
    response = whatsapp.post(form)

    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["detail"], str)
    assert fake_twilio.all_calls() == []
    assert_nothing_stored(count_rows)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencodedX",
        "application/x-www-form-urlencoded-not",
        "application/x-www-form-urlencoded/json",
        "text/plain; x=application/x-www-form-urlencoded",
        "",
    ],
)
def test_whatsapp_other_content_types_are_refused(content_type, whatsapp, count_rows):
    response = whatsapp.post(whatsapp.inbound("Halo"), headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert_nothing_stored(count_rows)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-URLEncoded;charset=UTF-8",
    ],
)
def test_whatsapp_form_content_type_with_parameters_is_accepted(
    content_type, whatsapp, fake_twilio
):
    response = whatsapp.post(whatsapp.inbound("Halo"), headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert fake_twilio.messages(f"whatsapp:{PHONE}")


# --- WhatsApp status callbacks ---


@pytest.mark.parametrize(
    "query",
    [
        "outbox=%C2%B2",  # "²": str.isdigit() says yes, int() says no
        "outbox=999999999999999999",  # beyond the INTEGER column
        "outbox=2147483648",
        "outbox=-1",
        "outbox=12abc",
        "outbox=%D9%A3",  # an Arabic-Indic three
    ],
)
def test_status_callback_with_a_bad_outbox_id_gets_a_4xx(query, whatsapp):
    form = twilio_forms.status_callback("delivered")
    response = whatsapp.post(form, path=f"{STATUS_PATH}?{query}")
    assert 400 <= response.status_code < 500, response.text


def test_status_callback_with_the_largest_outbox_id_is_accepted(whatsapp):
    form = twilio_forms.status_callback("delivered")
    response = whatsapp.post(form, path=f"{STATUS_PATH}?outbox=2147483647")
    assert response.status_code == 204


@pytest.mark.parametrize(
    "changes",
    [
        {"ErrorCode": "abc"},
        {"ErrorCode": "63016\x00"},
        {"ErrorCode": "６３０１６"},  # full-width digits
        {"ErrorCode": "30008\n2026-12-03 06:00:00,000 INFO wlcc: forged line"},
        {"MessageSid": "SM\x00"},
        {"MessageStatus": "delivered\x00"},
    ],
    ids=["letters", "nul", "full_width", "newline", "sid_nul", "status_nul"],
)
def test_status_callback_with_bad_values_gets_a_4xx_and_logs_none(changes, whatsapp, log_output):
    form = {**twilio_forms.status_callback("undelivered", error_code="63016"), **changes}
    response = whatsapp.status(form)

    assert response.status_code == 400
    output = log_output.getvalue()
    assert "forged line" not in output
    assert "\x00" not in output


def test_status_callback_logs_a_valid_error_code(whatsapp, log_output):
    response = whatsapp.status(twilio_forms.status_callback("undelivered", error_code="63016"))
    assert response.status_code == 204
    assert "(error 63016)" in log_output.getvalue()


# --- a bad message among good ones ---


def _telegram_burst(telegram, updates: TelegramUpdates) -> tuple[list[Post], list[Post], list[str]]:
    users = [TgUser(7100000000 + i, f"Anggota{i}", None, None, "id") for i in range(12)]
    good = [telegram.prepare(updates.text("halo", user=user)) for user in users]
    poison = updates.location(user=users[0])
    poison["message"]["location"]["latitude"] = "@x@"
    surrogate = updates.text("halo\ud800", user=users[1])
    surrogate["message"]["from"]["first_name"] = "\ud800\x00"
    bad = [
        telegram.prepare(raw(poison, x="NaN")),
        telegram.prepare(surrogate),
        telegram.prepare(json.dumps(_message(date=10**20)).encode()),
    ]
    return good, bad, [str(user.id) for user in users]


def _whatsapp_burst(whatsapp) -> tuple[list[Post], list[Post], list[str]]:
    phones = [f"+62812000{i:05d}" for i in range(1, 13)]
    good = [whatsapp.prepare(whatsapp.inbound("Halo", phone=phone)) for phone in phones]
    nul_sid = "SM\x00" + "1" * 31
    bad = [
        whatsapp.prepare({**whatsapp.inbound("Halo", phone=phones[0]), "MessageSid": nul_sid}),
        whatsapp.prepare(whatsapp.inbound("Halo", phone=phones[1], profile_name="A\x00B")),
        whatsapp.prepare(whatsapp.inbound("", phone=phones[2], latitude="nan", longitude="1")),
        whatsapp.prepare(
            twilio_forms.status_callback("delivered"), path=f"{STATUS_PATH}?outbox=%C2%B2"
        ),
    ]
    return good, bad, [f"whatsapp:{phone}" for phone in phones]


@pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
def test_a_bad_message_never_stops_its_neighbours(
    channel, client, telegram, tg_updates, whatsapp, fake_telegram, fake_twilio, count_rows
):
    if channel == "telegram":
        good, bad, chats = _telegram_burst(telegram, tg_updates)
    else:
        good, bad, chats = _whatsapp_burst(whatsapp)
    posts = good[:6] + bad + good[6:]  # the bad ones in the middle of the burst

    responses = post_concurrently(client, posts)

    by_post = dict(zip(map(id, posts), responses, strict=True))
    assert [by_post[id(p)].status_code for p in good] == [200] * len(good)
    for post in bad:  # refused, or cleaned and answered: never a 5xx
        assert by_post[id(post)].status_code < 500, by_post[id(post)].text
    for chat in chats:
        if channel == "telegram":
            assert fake_telegram.sent(int(chat)), f"no answer to {chat}"
        else:
            assert fake_twilio.messages(chat), f"no answer to {chat}"
    assert count_rows("inbound_message") >= len(good)
