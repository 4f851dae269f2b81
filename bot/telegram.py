"""Telegram: the webhook that turns updates into neutral messages, and the sender of replies."""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.clean import Rejected, check_coordinates, check_id, check_int, clean_optional, clean_text
from bot.deps import DispatcherDep, SettingsDep
from bot.failures import classify_telegram, send_in_order
from bot.http import read_body
from bot.render import TELEGRAM_TEXT_LIMIT, split_text
from bot.telegram_request import AiohttpRequest
from wlcc.formatting import utcnow
from wlcc.messages import Inbound, Location, Media, Outbound, SendReport, SharedContact
from wlcc.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
CALLBACK_DATA_LIMIT = 64  # bytes, Bot API limit
CAPTION_LIMIT = 1024  # UTF-16 code units, Bot API limit for a photo caption
# Real updates nest about ten deep (a button press on a reply to a message with a keyboard).
MAX_JSON_DEPTH = 32
# What python-telegram-bot raises on an update it cannot read, which we refuse with 422: wrong
# types (it checks none), and out-of-range dates (datetime.fromtimestamp raises OverflowError,
# OSError or ValueError). RecursionError: deep nesting, though MAX_JSON_DEPTH stops it first.
PARSE_ERRORS = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    OverflowError,
    OSError,
    RecursionError,
)


def file_base_url(api_base_url: str) -> str:
    """Where files are downloaded: ``.../bot`` -> ``.../file/bot`` (api.telegram.org, a local
    Bot API server or a fake alike)."""
    base = api_base_url.rstrip("/")
    return (base[: -len("/bot")] if base.endswith("/bot") else base) + "/file/bot"


@dataclass(frozen=True, slots=True)
class ParsedUpdate:
    inbound: Inbound | None
    callback_query_id: str | None = None


class TelegramChannel:
    name = CHANNEL

    def __init__(self, settings: Settings, *, pool_size: int = 32) -> None:
        assert settings.telegram_bot_token is not None
        assert settings.telegram_webhook_secret is not None
        self.secret = settings.telegram_webhook_secret.get_secret_value()
        self.timeout = settings.wlcc_send_timeout_seconds
        self._request = AiohttpRequest(pool_size=pool_size, read_timeout=self.timeout)
        self.bot = Bot(
            settings.telegram_bot_token.get_secret_value(),
            base_url=settings.telegram_api_base_url,
            base_file_url=file_base_url(settings.telegram_api_base_url),
            request=self._request,
            get_updates_request=self._request,  # never polled: updates come by webhook
        )

    async def start(self) -> None:
        # Only the HTTP pools: no getMe, so a start without network still serves WhatsApp.
        await self._request.initialize()

    async def close(self) -> None:
        await self._request.shutdown()

    def check_secret(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.secret.encode())

    # --- inbound ---
    def parse(self, data: dict[str, Any]) -> ParsedUpdate:
        """A neutral message from an update (None for what the bot does not answer); raises
        ValueError, TypeError, ... (see ``PARSE_ERRORS``) when the update cannot be a real one."""
        update = Update.de_json(data, self.bot)
        platform_id = str(check_int(update.update_id, "update_id"))
        query = update.callback_query
        if query is not None:
            _expect(_is_str(query.id), "callback_query.id")
            query_id = check_id(query.id, "callback_query.id")
            msg = query.message
            if msg is None or msg.chat.type != ChatType.PRIVATE or not query.data:
                return ParsedUpdate(None, query_id)
            _expect(_is_str(query.data) and _is_str(query.from_user.first_name), "data")
            inbound = Inbound(
                channel=CHANNEL,
                address=str(check_int(msg.chat.id, "chat.id")),
                sender_id=str(check_int(query.from_user.id, "from.id")),
                platform_id=platform_id,
                received_at=utcnow(),
                payload=clean_text(query.data, multiline=False),
                sender_name=clean_optional(query.from_user.first_name),
            )
            return ParsedUpdate(inbound, query_id)
        message = update.message
        if message is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
            return ParsedUpdate(None)  # edits, channel posts, groups, member updates...
        return ParsedUpdate(self._from_message(message, platform_id))

    def _from_message(self, message: Message, platform_id: str) -> Inbound | None:
        sender = message.from_user
        assert sender is not None
        _check_message(message)
        contact = None
        if message.contact is not None:
            contact = SharedContact(
                phone=clean_text(message.contact.phone_number, multiline=False),
                first_name=clean_optional(message.contact.first_name),
                user_id=message.contact.user_id,
            )
        location = None
        if message.location is not None:
            location = Location(
                *check_coordinates(message.location.latitude, message.location.longitude)
            )
        elif message.venue is not None:
            place = message.venue.location
            location = Location(
                *check_coordinates(place.latitude, place.longitude),
                address=clean_optional(message.venue.address),
            )
        media: tuple[Media, ...] = ()
        if message.photo:
            media = (
                Media(check_id(message.photo[-1].file_id, "file_id", max_length=200), "image/jpeg"),
            )
        elif message.document is not None:
            file_id = check_id(message.document.file_id, "file_id", max_length=200)
            media = (Media(file_id, _mime_type(message.document.mime_type)),)
        elif message.voice is not None or message.audio is not None:
            # A voice note (a complaint told aloud), or a recording sent as audio.
            sound = message.voice or message.audio
            assert sound is not None
            file_id = check_id(sound.file_id, "file_id", max_length=200)
            default = "audio/ogg" if message.voice is not None else "audio/mpeg"
            media = (Media(file_id, _mime_type(sound.mime_type) or default),)
        elif message.video is not None or message.video_note is not None:
            clip = message.video or message.video_note
            assert clip is not None
            media = (Media(check_id(clip.file_id, "file_id", max_length=200), "video/mp4"),)
        text = clean_text(message.text or message.caption or "")
        if not (text or contact or location or media):
            return None  # stickers... nothing we can answer to yet
        return Inbound(
            channel=CHANNEL,
            address=str(check_int(message.chat.id, "chat.id")),
            sender_id=str(check_int(sender.id, "from.id")),
            platform_id=platform_id,
            received_at=utcnow(),
            text=text,
            contact=contact,
            location=location,
            media=media,
            sender_name=clean_optional(sender.first_name),
            message_id=str(check_int(message.message_id, "message_id")),
        )

    async def answer_callback(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.warning("answerCallbackQuery failed: %s", exc)

    # --- outbound ---
    async def send(self, address: str, message: Outbound) -> list[int]:
        """Send one message (split if long); returns the Telegram message ids. Raises on error."""
        chat_id = int(address)
        return [await self._send_part(chat_id, part) for part in self.parts(message)]

    @staticmethod
    def parts(message: Outbound) -> list[Outbound]:
        """The Telegram messages one reply becomes, in order: a photo with its text as the
        caption, or the photos and then the text in pieces under the limit, the buttons on the
        last piece."""
        text = message.text.strip()
        if len(message.media) == 1 and 0 < len(text.encode("utf-16-le")) // 2 <= CAPTION_LIMIT:
            return [message]  # a captioned photo, as a broadcast reaches members
        photos = [Outbound("", media=(item,)) for item in message.media]
        chunks = split_text(message.text, TELEGRAM_TEXT_LIMIT) or ([] if photos else [" "])
        pieces = [Outbound(chunk) for chunk in chunks[:-1]]
        if chunks:
            pieces.append(replace(message, text=chunks[-1], media=()))
        else:  # photos alone: the last one carries the buttons
            photos[-1] = replace(message, text="", media=photos[-1].media)
        return photos + pieces

    async def _send_part(self, chat_id: int, part: Outbound) -> int:
        markup = self._markup(part)
        if part.media:
            caption = part.text.strip() or None
            sent = await self.bot.send_photo(
                chat_id, photo=part.media[0].ref, caption=caption, reply_markup=markup
            )
        else:
            sent = await self.bot.send_message(chat_id, part.text, reply_markup=markup)
        return sent.message_id

    def _markup(
        self, message: Outbound
    ) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
        if message.request_contact:
            return ReplyKeyboardMarkup(
                [[KeyboardButton(message.request_contact, request_contact=True)]],
                one_time_keyboard=True,
                resize_keyboard=True,
            )
        if message.remove_keyboard and not message.choices:
            return ReplyKeyboardRemove()  # one markup a message: "0" or BATAL still cancel
        if not message.choices and not message.cancel:
            return None
        rows = []
        for i, choice in enumerate(message.choices, start=1):
            data = choice.payload
            if len(data.encode()) > CALLBACK_DATA_LIMIT:
                data = f"#{i}"
            rows.append([InlineKeyboardButton(choice.label, callback_data=data)])
        if message.cancel:  # a question inside a dialog: its "0. Batal" as the last button
            rows.append([InlineKeyboardButton(message.cancel, callback_data="BATAL")])
        return InlineKeyboardMarkup(rows)

    async def delete_message(self, chat_id: int, message_id: str) -> bool:
        """Delete a person's own message in her chat (one that carried her PIN); whether it went.
        A message the bot may not delete any more (older than 48 hours, gone already) is left:
        the reply is sent all the same."""
        return await delete_message(self.bot, chat_id, message_id)

    async def send_replies(
        self, inbound: Inbound, replies: list[Outbound], until: float | None = None
    ) -> SendReport:
        """Send in order until the first failure (see :func:`bot.failures.send_in_order`); a
        reply that asks for it first deletes the person's message (``delete_message``)."""
        chat_id = int(inbound.address)
        for reply in replies:
            if reply.delete_message:
                await self.delete_message(chat_id, reply.delete_message)
        return await send_in_order(
            replies,
            self.parts,
            lambda part: self._send_part(chat_id, part),
            classify_telegram,
            (TelegramError,),
            until,
            CHANNEL,
        )


async def delete_message(bot: Bot, chat_id: int, message_id: str) -> bool:
    """``deleteMessage`` of a person's message, as :meth:`TelegramChannel.delete_message`."""
    if not message_id.isdigit():
        return False
    try:
        return bool(await bot.delete_message(chat_id, int(message_id)))
    except TelegramError as exc:
        log.warning("deleteMessage failed: %s", type(exc).__name__)
        return False


# PTB does not check the JSON types of an update; a forged or broken one must not get further.
def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: object, optional: bool = False) -> bool:
    return isinstance(value, str) or (optional and value is None)


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise TypeError(f"{what}: wrong type in the update")


def _check_message(message: Message) -> None:
    sender = message.from_user
    assert sender is not None
    _expect(_is_int(message.chat.id) and _is_int(sender.id), "ids")
    _expect(_is_str(sender.first_name), "from.first_name")
    _expect(_is_str(message.text, True) and _is_str(message.caption, True), "text")
    if message.contact is not None:
        _expect(_is_str(message.contact.phone_number), "contact.phone_number")
        _expect(_is_str(message.contact.first_name, True), "contact.first_name")
        if message.contact.user_id is not None:
            check_int(message.contact.user_id, "contact.user_id")
    if message.venue is not None:
        _expect(_is_str(message.venue.address, True), "venue.address")
    files = list(message.photo) + [
        f
        for f in (
            message.document,
            message.voice,
            message.audio,
            message.video,
            message.video_note,
        )
        if f is not None
    ]
    _expect(all(_is_str(f.file_id) for f in files), "file_id")


def _mime_type(value: object) -> str | None:
    """The document's declared type if it looks like one (the sender's app chose it)."""
    if not isinstance(value, str):
        return None
    try:
        return check_id(value, "mime_type", max_length=100)
    except Rejected:
        return None


def _depth_over(data: object, limit: int) -> bool:
    """Whether JSON ``data`` nests deeper than ``limit`` (without recursion)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# --- webhook ---

router = APIRouter()


async def get_telegram(request: Request) -> TelegramChannel:
    channel: TelegramChannel | None = getattr(request.app.state, "telegram", None)
    if channel is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Telegram channel is not configured")
    return channel


TelegramDep = Annotated[TelegramChannel, Depends(get_telegram)]


@router.post("/webhooks/telegram")
async def telegram_webhook(
    request: Request, channel: TelegramDep, dispatcher: DispatcherDep, settings: SettingsDep
) -> JSONResponse:
    if not channel.check_secret(request.headers.get(SECRET_HEADER)):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong or missing secret token")
    body = await read_body(request, settings.wlcc_max_webhook_bytes)
    try:
        # NaN and Infinity are Python's extension of JSON, never in a real update.
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError among them
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "an update is a JSON object")
    if _depth_over(data, MAX_JSON_DEPTH):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the update nests too deep")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "update_id must be an integer")
    try:
        parsed = channel.parse(data)
    except PARSE_ERRORS as exc:
        log.info("malformed telegram update %s: %s", update_id, type(exc).__name__)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "not a valid Telegram update"
        ) from None
    if parsed.callback_query_id is not None:
        await channel.answer_callback(parsed.callback_query_id)
    if parsed.inbound is not None:
        await dispatcher.process(parsed.inbound, channel.send_replies)
    return JSONResponse({"ok": True})
