"""The WhatsApp webhook end to end: the real app and the twilio SDK against the fake Twilio API.

Every test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (through ``database_url``).
Assertions are on what reached the fake Twilio server and on the database, never on internals.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

import pytest

from bot.render import WHATSAPP_TEXT_LIMIT
from bot.whatsapp import SentMessage, WhatsAppChannel
from tests.fakes import twilio_forms
from tests.fakes.channels import on_channel
from tests.fakes.twilio_api import FakeTwilio, TwilioCall
from tests.fakes.webhooks import STATUS_PATH, WHATSAPP_PATH, WhatsAppWebhook, running_app
from wlcc.i18n import gettext
from wlcc.messages import Choice, Media, Outbound
from wlcc.settings import Settings

PHONE = "+6281234567890"
ADDRESS = f"whatsapp:{PHONE}"
OTHER_PHONE = "+6285277776666"
_NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


def t(key: str, lang: str = "id", **params: object) -> str:
    return gettext(lang, key, **params)


def numbered(body: str) -> dict[int, str]:
    return {int(n): label for n, label in _NUMBERED.findall(body)}


def last_menu(fake: FakeTwilio, to: str = ADDRESS) -> TwilioCall:
    with_list = [c for c in fake.messages(to) if numbered(c.body)]
    assert with_list, f"no numbered list sent: {fake.describe(fake.all_calls())}"
    return with_list[-1]


def assert_nothing_stored(count_rows) -> None:
    assert count_rows("inbound_message") == 0
    assert count_rows("identity") == 0


def assert_twiml(response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response" in response.text


# --- conversations ---


def test_first_message_gets_welcome_and_numbered_menu(whatsapp, fake_twilio, settings):
    response = whatsapp.say("Halo", phone=PHONE)

    assert_twiml(response)
    calls = fake_twilio.wait_for(2, to=ADDRESS)
    token = settings.twilio_auth_token.get_secret_value()
    for call in calls:
        assert call.status == 201
        assert call.auth == (settings.twilio_account_sid, token)
        assert call.account_sid == settings.twilio_account_sid
        assert call.from_ == settings.twilio_whatsapp_from == "whatsapp:+14155238886"
        assert call.to == ADDRESS
        assert call.get("StatusCallback") == "https://bot.example.org/webhooks/whatsapp/status"
        assert len(call.body) <= WHATSAPP_TEXT_LIMIT
        assert call.sid and re.fullmatch(r"SM[0-9a-f]{32}", call.sid)
    welcome, menu = calls
    assert welcome.body == t("welcome")
    assert menu.body.startswith(t("menu.header"))
    choices = numbered(menu.body)
    assert list(choices) == list(range(1, len(choices) + 1)) and len(choices) >= 2
    assert choices[1]
    assert t("menu.help") in choices.values()
    assert t("choices.hint", count=len(choices)) in menu.body


def test_typed_number_picks_from_the_menu(whatsapp, fake_twilio):
    whatsapp.say("Halo", phone=PHONE)
    menu = numbered(last_menu(fake_twilio).body)

    whatsapp.say("1", phone=PHONE)

    reply = fake_twilio.bodies(ADDRESS)[-1]
    not_picked = {
        t("choice.no_menu"),
        t("fallback.not_understood"),
        t("dialog.not_understood"),
        t("error.generic"),
    }
    assert reply not in not_picked, f"'1' did not pick {menu[1]!r}"


def test_typed_number_follows_the_list_into_a_dialog(whatsapp, fake_twilio):
    whatsapp.say("Halo", phone=PHONE)
    menu = numbered(last_menu(fake_twilio).body)
    language = next(n for n, label in menu.items() if label == t("menu.language"))

    whatsapp.say(f" {language} ", phone=PHONE)
    ask = last_menu(fake_twilio)
    assert ask.body.startswith(t("language.ask"))
    options = numbered(ask.body)
    assert options == {1: "Bahasa Indonesia", 2: "English", 0: "Batal"}

    whatsapp.say("2", phone=PHONE)
    assert fake_twilio.bodies(ADDRESS)[-1] == t("language.done", "en")


def test_button_payload_picks_the_choice(whatsapp, fake_twilio):
    whatsapp.say("Halo", phone=PHONE)
    whatsapp.say("", phone=PHONE, button_payload="BAHASA", button_text="Ganti bahasa")
    assert fake_twilio.bodies(ADDRESS)[-1].startswith(t("language.ask"))
    whatsapp.say("English", phone=PHONE, button_payload="lang:en")
    assert fake_twilio.bodies(ADDRESS)[-1] == t("language.done", "en")


def test_second_message_is_not_welcomed_again(whatsapp, fake_twilio):
    whatsapp.say("Halo", phone=PHONE)
    whatsapp.say("apa kabar", phone=PHONE)
    bodies = fake_twilio.bodies(ADDRESS)
    assert bodies.count(t("welcome")) == 1
    assert bodies[-1] == t("fallback.not_understood")


def test_two_people_get_their_own_replies(whatsapp, fake_twilio, count_rows):
    whatsapp.say("Halo", phone=PHONE)
    whatsapp.say("Halo", phone=OTHER_PHONE, profile_name="Rina")
    assert len(fake_twilio.messages(ADDRESS)) == 2
    assert len(fake_twilio.messages(f"whatsapp:{OTHER_PHONE}")) == 2
    assert count_rows("identity") == 2


@pytest.mark.parametrize("kind", ["location", "location_with_address", "image", "two_media"])
def test_location_and_media_are_handled(kind, whatsapp, fake_twilio, count_rows):
    whatsapp.say("Halo", phone=PHONE)
    before = len(fake_twilio.messages(ADDRESS))
    forms = {
        "location": lambda: whatsapp.inbound("", phone=PHONE, latitude=-2.9761, longitude=104.7754),
        "location_with_address": lambda: whatsapp.inbound(
            "",
            phone=PHONE,
            latitude="-2.98930",
            longitude="104.75610",
            address="Jl. Merdeka, 19 Ilir, Palembang",
            label="Kantor Lurah",
        ),
        "image": lambda: whatsapp.inbound("", phone=PHONE, media=[("image/jpeg", "")]),
        "two_media": lambda: whatsapp.inbound(
            "got bocor", phone=PHONE, media=[("image/jpeg", ""), ("video/mp4", "")]
        ),
    }

    response = whatsapp.post(forms[kind]())

    assert_twiml(response)
    replies = fake_twilio.messages(ADDRESS)[before:]
    assert replies, f"no reply to a {kind}"
    assert all(r.body and r.body != t("error.generic") for r in replies)
    assert count_rows("inbound_message") == 2


# --- authenticity and retries ---


def test_signature_is_checked_against_the_public_url(whatsapp, fake_twilio):
    """Twilio signs the URL it called (https://bot.example.org/...), not what the app sees."""
    form = whatsapp.inbound("Halo", phone=PHONE)
    seen_by_app = twilio_forms.sign(whatsapp.auth_token, "http://testserver" + WHATSAPP_PATH, form)
    assert whatsapp.post(form, signature=seen_by_app).status_code == 403
    assert_twiml(whatsapp.post(form, signature=whatsapp.signature(form)))


def test_without_public_base_url_the_request_url_is_signed(make_settings, fake_twilio):
    settings = make_settings(public_base_url=None)
    with running_app(settings) as client:
        poster = WhatsAppWebhook(client, settings)
        assert poster.public_base_url == "http://testserver"
        assert_twiml(poster.say("Halo", phone=PHONE))
    # No public URL, no status callback asked for.
    assert all(c.get("StatusCallback") is None for c in fake_twilio.messages())


def test_public_base_url_with_trailing_slash(make_settings, fake_twilio):
    settings = make_settings(public_base_url="https://bot.example.org/")
    with running_app(settings) as client:
        poster = WhatsAppWebhook(client, settings)
        assert_twiml(poster.say("Halo", phone=PHONE))


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "bm90IGEgc2lnbmF0dXJl",
        "forged",
    ],
    ids=["missing", "empty", "garbage", "not_base64"],
)
def test_forged_or_missing_signature_is_refused(signature, whatsapp, fake_twilio, count_rows):
    response = whatsapp.post(whatsapp.inbound("Halo", phone=PHONE), signature=signature)
    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert fake_twilio.all_calls() == []
    assert_nothing_stored(count_rows)


def test_signature_of_other_parameters_is_refused(whatsapp, fake_twilio, count_rows):
    form = whatsapp.inbound("Halo", phone=PHONE)
    signature = whatsapp.signature(form)
    tampered = {**form, "From": f"whatsapp:{OTHER_PHONE}"}
    assert whatsapp.post(tampered, signature=signature).status_code == 403
    wrong_key = twilio_forms.sign(
        "another-auth-token-0123456789abcd", whatsapp.url(WHATSAPP_PATH), form
    )
    assert whatsapp.post(form, signature=wrong_key).status_code == 403
    assert_nothing_stored(count_rows)


def test_same_message_sid_twice_is_answered_once(whatsapp, fake_twilio, count_rows):
    form = whatsapp.inbound("Halo", phone=PHONE)
    assert_twiml(whatsapp.post(form))
    replies = len(fake_twilio.messages(ADDRESS))
    assert_twiml(whatsapp.post(form))  # Twilio retries when our answer was slow or lost

    assert replies == 2
    assert len(fake_twilio.messages(ADDRESS)) == replies
    assert count_rows("inbound_message") == 1


# --- malformed posts ---


def test_wrong_content_type_is_refused(whatsapp, fake_twilio, count_rows):
    form = whatsapp.inbound("Halo", phone=PHONE)
    response = whatsapp.client.post(
        WHATSAPP_PATH,
        json=form,
        headers={"X-Twilio-Signature": whatsapp.signature(form)},
    )
    assert response.status_code == 415
    assert isinstance(response.json()["detail"], str)
    assert_nothing_stored(count_rows)


def _without(form: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in form.items() if k not in keys}


MALFORMED = {
    "no_message_sid": lambda w: _without(
        w.inbound("Halo"), "MessageSid", "SmsMessageSid", "SmsSid"
    ),
    "no_from": lambda w: _without(w.inbound("Halo"), "From"),
    "from_not_whatsapp": lambda w: {**w.inbound("Halo"), "From": PHONE},
    "from_sms": lambda w: {**w.inbound("Halo"), "From": "+14155550100"},
    "from_not_a_number": lambda w: {**w.inbound("Halo"), "From": "whatsapp:halo"},
    "latitude_abc": lambda w: w.inbound("", latitude="abc", longitude="104.7"),
    "latitude_out_of_range": lambda w: w.inbound("", latitude="123.0", longitude="104.7"),
    "latitude_nan": lambda w: w.inbound("", latitude="nan", longitude="104.7"),
    "longitude_missing": lambda w: w.inbound("", latitude="-2.97"),
    "num_media_abc": lambda w: {**w.inbound("Halo"), "NumMedia": "abc"},
    "empty_form": lambda w: {},
}


@pytest.mark.parametrize("make", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_signed_posts_get_4xx_and_store_nothing(make, whatsapp, fake_twilio, count_rows):
    response = whatsapp.post(make(whatsapp))

    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["detail"], str)
    assert fake_twilio.all_calls() == []
    assert_nothing_stored(count_rows)


def test_huge_body_is_refused(whatsapp, fake_twilio, count_rows):
    response = whatsapp.say("a" * (300 * 1024), phone=PHONE)
    assert response.status_code == 413
    assert_nothing_stored(count_rows)


def test_body_that_is_not_a_form(whatsapp, fake_twilio, count_rows):
    response = whatsapp.client.post(
        WHATSAPP_PATH,
        content=b"\xff\xfe\x00garbage",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": "x",
        },
    )
    assert 400 <= response.status_code < 500
    assert_nothing_stored(count_rows)


# --- sending and platform errors ---


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 63016), (400, 21211), (429, 20429), (500, 20500), (503, 20503)],
    ids=["outside_window", "invalid_to", "too_many", "server_error", "unavailable"],
)
def test_twilio_errors_still_acknowledge_the_message(
    status, code, whatsapp, fake_twilio, count_rows, caplog
):
    fake_twilio.fail_next(status, code=code, times=5)
    with caplog.at_level(logging.WARNING):
        response = whatsapp.say("Halo", phone=PHONE)

    assert_twiml(response)
    failed = fake_twilio.messages(ok=False)
    assert failed and failed[0].status == status
    assert count_rows("inbound_message") == 1
    assert any(str(code) in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def test_twilio_answering_html_still_acknowledges(whatsapp, fake_twilio):
    fake_twilio.fail_next(502, "<html><body>502 Bad Gateway</body></html>")
    assert_twiml(whatsapp.say("Halo", phone=PHONE))


def _run_channel(settings: Settings, address: str, message: Outbound) -> list[SentMessage]:
    return on_channel(WhatsAppChannel(settings), lambda channel: channel.send(address, message))


def test_long_message_is_split_under_twilio_limit(settings, fake_twilio):
    text = "\n\n".join(f"Paragraf {i}. " + "kata " * 80 for i in range(20))
    sent = _run_channel(settings, PHONE, Outbound(text, choices=(Choice("MENU", "Menu"),)))
    calls = fake_twilio.messages(ADDRESS)
    assert len(calls) == len(sent) > 1
    assert all(len(c.body) <= WHATSAPP_TEXT_LIMIT for c in calls)
    assert [s.sid for s in sent] == [c.sid for c in calls]
    assert calls[-1].body.endswith("1. Menu")


def test_media_urls_go_with_the_first_part(settings, fake_twilio):
    message = Outbound(
        "Foto laporan",
        media=(
            Media("https://media.example.org/a.jpg", "image/jpeg"),
            Media("https://media.example.org/b.jpg", "image/jpeg"),
            Media("AgACAgUAAxkBAAI-telegram-file-id", "image/jpeg"),  # not a URL: not sent
        ),
    )
    [sent] = _run_channel(settings, PHONE, message)
    [call] = fake_twilio.messages(ADDRESS)
    assert call.media_urls == [
        "https://media.example.org/a.jpg",
        "https://media.example.org/b.jpg",
    ]
    assert sent.sid.startswith("MM")


# --- status callbacks ---


def test_signed_status_callback_is_accepted(whatsapp, count_rows):
    response = whatsapp.status(twilio_forms.status_callback("delivered"))
    assert response.status_code == 204
    response = whatsapp.status(twilio_forms.status_callback("undelivered", error_code="63016"))
    assert response.status_code == 204


@pytest.mark.parametrize("signature", [None, "forged"], ids=["missing", "forged"])
def test_forged_status_callback_is_refused(signature, whatsapp):
    response = whatsapp.status(twilio_forms.status_callback("read"), signature=signature)
    assert response.status_code == 403


def test_status_callback_without_status_is_refused(whatsapp):
    form = _without(twilio_forms.status_callback(), "MessageStatus", "SmsStatus")
    assert whatsapp.status(form).status_code == 400


# --- channel off, logs ---


@pytest.mark.parametrize(
    "missing",
    [
        {"twilio_account_sid": None, "twilio_auth_token": None, "twilio_whatsapp_from": None},
        {"twilio_auth_token": None},
        {"twilio_whatsapp_from": None},
    ],
    ids=["no_credentials", "no_token", "no_sender"],
)
def test_whatsapp_off_without_credentials(missing, make_settings, fake_twilio, count_rows):
    settings = make_settings(**missing)
    with running_app(settings) as client:
        form = twilio_forms.inbound("Halo")
        signature = twilio_forms.sign(
            "f3c4b2a1d0e9f8a7b6c5d4e3f2a1b0c9", "https://bot.example.org" + WHATSAPP_PATH, form
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        response = client.post(WHATSAPP_PATH, content=urlencode(form), headers=headers)
        status = client.post(
            STATUS_PATH, content=urlencode(twilio_forms.status_callback()), headers=headers
        )
    assert response.status_code == 404
    assert status.status_code == 404
    assert fake_twilio.all_calls() == []
    assert_nothing_stored(count_rows)


def test_logs_never_show_the_auth_token_or_a_phone_number(
    log_output, whatsapp, fake_twilio, settings
):
    whatsapp.say("Halo", phone=PHONE)
    fake_twilio.fail_next(400, code=21211, message=f"Invalid 'To' Phone Number: {ADDRESS}")
    whatsapp.say("Halo lagi", phone=PHONE)
    whatsapp.post(whatsapp.inbound("Halo", phone=PHONE), signature="forged")
    whatsapp.post({**whatsapp.inbound("x"), "From": "+6281234567890"})
    whatsapp.status(twilio_forms.status_callback("failed", phone=PHONE, error_code="30008"))

    output = log_output.getvalue()
    assert output, "nothing was logged"
    token = settings.twilio_auth_token.get_secret_value()
    assert token not in output
    assert settings.twilio_account_sid not in output
    assert "6281234567890" not in output
    assert "81234567890" not in output
    assert "0812" not in output


# --- the fake itself behaves like Twilio for the SDK ---


def test_fake_twilio_checks_auth_and_parameters(settings, fake_twilio):
    import httpx

    url = f"{fake_twilio.base_url}/2010-04-01/Accounts/{settings.twilio_account_sid}/Messages.json"
    token = settings.twilio_auth_token.get_secret_value()
    auth = (settings.twilio_account_sid, token)
    form = {"To": ADDRESS, "From": "whatsapp:+14155238886", "Body": "halo"}

    unauthorised = httpx.post(url, data=form, auth=(settings.twilio_account_sid, "wrong"))
    assert unauthorised.status_code == 401 and unauthorised.json()["code"] == 20003
    assert httpx.post(url, data=form).status_code == 401
    mixed = httpx.post(url, data={**form, "To": PHONE}, auth=auth)
    assert mixed.status_code == 400 and mixed.json()["code"] == 21910
    assert httpx.post(url, data={**form, "Body": ""}, auth=auth).json()["code"] == 21619
    assert httpx.post(url, data={**form, "Body": "x" * 1601}, auth=auth).json()["code"] == 21617

    created = httpx.post(url, data=form, auth=auth)
    assert created.status_code == 201
    message = created.json()
    assert message["status"] == "queued" and message["to"] == ADDRESS
    fetched = httpx.get(url.replace(".json", f"/{message['sid']}.json"), auth=auth)
    assert fetched.json() == message

    fake_twilio.fail_next(429, retry_after=2)
    limited = httpx.post(url, data=form, auth=auth)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    assert [c.status for c in fake_twilio.calls()] == [401, 401, 400, 400, 400, 201, 200, 429]
    assert len(fake_twilio.wait_for(1, timeout=0.5, ok=True)) == 1
