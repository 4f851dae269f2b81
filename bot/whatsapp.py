"""WhatsApp through Twilio: the signed webhook and the REST sender."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Annotated, Any
from urllib.parse import parse_qsl

import aiohttp
from anyio import to_thread
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from bot.clean import (
    INT32,
    Rejected,
    check_coordinates,
    check_id,
    clean_optional,
    clean_text,
    parse_count,
    parse_decimal,
)
from bot.deps import DatabaseDep, DispatcherDep, SettingsDep
from bot.failures import classify_twilio, send_in_order
from bot.http import read_body
from bot.render import WHATSAPP_TEXT_LIMIT, numbered_text, split_text
from storage.outbox import apply_delivery_status
from wlcc.formatting import utcnow
from wlcc.messages import Inbound, Location, Media, Outbound, SendReport
from wlcc.phones import to_e164
from wlcc.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "X-Twilio-Signature"
TWILIO_API = "https://api.twilio.com"
MAX_MEDIA = 10
FORM_TYPE = "application/x-www-form-urlencoded"


class RebasedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's async HTTP client, sending to ``TWILIO_API_BASE_URL`` instead of api.twilio.com."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> TwilioResponse:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        auth = kwargs.pop("auth", None)
        if auth is not None:
            # The same Basic credentials as a header: aiohttp deprecates the auth= it would get.
            kwargs["headers"] = {
                **(kwargs.get("headers") or {}),
                "Authorization": aiohttp.encode_basic_auth(auth[0], auth[1]),
            }
        return await super().request(method, url, *args, **kwargs)


@dataclass(frozen=True, slots=True)
class SentMessage:
    sid: str
    status: str | None


class WhatsAppChannel:
    name = CHANNEL

    def __init__(self, settings: Settings) -> None:
        assert settings.twilio_account_sid and settings.twilio_auth_token
        assert settings.twilio_whatsapp_from
        self.settings = settings
        self.sender = settings.twilio_whatsapp_from
        self.validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
        self.http: RebasedHttpClient | None = None
        self.client: Client | None = None

    async def start(self) -> None:
        # aiohttp wants its session created inside the running event loop.
        self.http = RebasedHttpClient(
            self.settings.twilio_api_base_url, timeout=self.settings.wlcc_send_timeout_seconds
        )
        auth = self.settings.twilio_auth_token
        assert auth is not None
        self.client = Client(
            self.settings.twilio_account_sid, auth.get_secret_value(), http_client=self.http
        )

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None

    # --- inbound ---
    def public_url(self, request: Request) -> str:
        """The URL Twilio signed: as the platform called it, even behind a proxy."""
        base = self.settings.public_base_url
        if not base:
            return str(request.url)
        url = base.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        return url

    def check_signature(self, request: Request, params: dict[str, str]) -> bool:
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return False
        return bool(self.validator.validate(self.public_url(request), params, signature))

    def parse(self, form: dict[str, str]) -> Inbound:
        """A neutral message from Twilio's inbound form; ValueError when it is not one."""
        sid = form.get("MessageSid") or form.get("SmsMessageSid")
        sender = form.get("From", "")
        if not sid:
            raise ValueError("MessageSid is missing")
        check_id(sid, "MessageSid", max_length=64)
        check_id(sender, "From", max_length=64)
        if not sender.startswith("whatsapp:"):
            raise ValueError("From must be a whatsapp: address")
        phone = to_e164(sender)
        if phone is None:
            raise ValueError("From is not a valid phone number")
        location = None
        if form.get("Latitude") or form.get("Longitude"):
            lat = parse_decimal(form.get("Latitude", ""), "Latitude")
            lon = parse_decimal(form.get("Longitude", ""), "Longitude")
            address = clean_optional(form.get("Address") or form.get("Label"))
            location = Location(*check_coordinates(lat, lon), address=address)
        count = parse_count(form.get("NumMedia", "0") or "0", "NumMedia", high=MAX_MEDIA)
        media = tuple(
            Media(_media_url(form[f"MediaUrl{i}"]), _content_type(form.get(f"MediaContentType{i}")))
            for i in range(count)
            if form.get(f"MediaUrl{i}")
        )
        payload = clean_optional(form.get("ButtonPayload"))
        return Inbound(
            channel=CHANNEL,
            address=phone,
            sender_id=phone,
            platform_id=sid,
            received_at=utcnow(),
            text=clean_text(form.get("Body", "")),
            payload=payload,
            location=location,
            media=media,
            sender_name=clean_optional(form.get("ProfileName")),
            phone=phone,
        )

    # --- outbound ---
    @staticmethod
    def parts(message: Outbound) -> list[Outbound]:
        """The WhatsApp messages one reply becomes, in order: its text with the choices as a
        numbered list, in pieces under Twilio's limit, the photos with the first."""
        chunks = split_text(numbered_text(message), WHATSAPP_TEXT_LIMIT) or [" "]
        return [
            Outbound(chunk, media=message.media if i == 0 else ()) for i, chunk in enumerate(chunks)
        ]

    async def send(self, address: str, message: Outbound) -> list[SentMessage]:
        """Send one message (split over Twilio's body limit). Raises TwilioException on error."""
        return [await self._send_part(address, part) for part in self.parts(message)]

    async def _send_part(self, address: str, part: Outbound) -> SentMessage:
        assert self.client is not None, "WhatsAppChannel.start() was not awaited"
        kwargs: dict[str, Any] = {
            "from_": self.sender,
            "to": f"whatsapp:{address}",
            "body": part.text,
        }
        media_urls = [m.ref for m in part.media if m.ref.startswith(("http://", "https://"))]
        if media_urls:
            kwargs["media_url"] = media_urls
        if self.settings.public_base_url:
            base = self.settings.public_base_url.rstrip("/")
            kwargs["status_callback"] = base + "/webhooks/whatsapp/status"
        result = await self.client.messages.create_async(**kwargs)
        return SentMessage(result.sid, result.status)

    async def send_replies(
        self, inbound: Inbound, replies: list[Outbound], until: float | None = None
    ) -> SendReport:
        """Send in order until the first failure (see :func:`bot.failures.send_in_order`); a
        reply cut short leaves its unsent pieces already numbered."""
        return await send_in_order(
            replies,
            self.parts,
            lambda part: self._send_part(inbound.address, part),
            classify_twilio,
            (TwilioException, OSError, aiohttp.ClientError),
            until,
            CHANNEL,
        )


def _media_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise Rejected("MediaUrl must be an http(s) URL")
    return check_id(value, "MediaUrl", max_length=1000)


def _content_type(value: str | None) -> str | None:
    return None if value is None else check_id(value, "MediaContentType", max_length=100)


# --- webhook ---

router = APIRouter()


async def get_whatsapp(request: Request) -> WhatsAppChannel:
    channel: WhatsAppChannel | None = getattr(request.app.state, "whatsapp", None)
    if channel is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the WhatsApp channel is not configured")
    return channel


WhatsAppDep = Annotated[WhatsAppChannel, Depends(get_whatsapp)]


async def _signed_form(request: Request, channel: WhatsAppChannel, limit: int) -> dict[str, str]:
    if _media_type(request.headers.get("content-type", "")) != FORM_TYPE:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "expected a form post")
    body = await read_body(request, limit)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not a valid form") from None
    form = dict(pairs)
    if not channel.check_signature(request, form):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid Twilio signature")
    return form


def _media_type(content_type: str) -> str:
    """The media type of a Content-Type header, without its parameters, in lower case."""
    message = EmailMessage()
    message["content-type"] = content_type
    if message["content-type"].defects:  # not a media type at all
        return ""
    return message.get_content_type()


def _twiml() -> Response:
    return Response(str(MessagingResponse()), media_type="text/xml")


@router.post("/webhooks/whatsapp")
async def whatsapp_webhook(
    request: Request, channel: WhatsAppDep, dispatcher: DispatcherDep, settings: SettingsDep
) -> Response:
    form = await _signed_form(request, channel, settings.wlcc_max_webhook_bytes)
    try:
        inbound = channel.parse(form)
    except ValueError as exc:  # Rejected among them
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    await dispatcher.process(inbound, channel.send_replies)
    return _twiml()


@router.post("/webhooks/whatsapp/status", status_code=status.HTTP_204_NO_CONTENT)
async def whatsapp_status(
    request: Request, channel: WhatsAppDep, settings: SettingsDep, db: DatabaseDep
) -> None:
    form = await _signed_form(request, channel, settings.wlcc_max_webhook_bytes)
    sid = form.get("MessageSid")
    state = form.get("MessageStatus")
    if not sid or not state:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "MessageSid and MessageStatus required")
    error = form.get("ErrorCode") or None
    # The outbox sender puts its row id in the callback URL (part of what Twilio signed).
    row = request.query_params.get("outbox") or None
    try:
        check_id(sid, "MessageSid", max_length=64)
        check_id(state, "MessageStatus", max_length=32)
        if error is not None:
            parse_count(error, "ErrorCode", high=INT32)  # Twilio's error codes are numbers
        # The row's id is an INTEGER column: a larger number cannot be one.
        row_id = None if row is None else parse_count(row, "outbox", high=INT32)
    except Rejected as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    log.info("whatsapp status %s for %s (error %s)", state, sid, error or "-")

    def apply() -> bool:
        with db.transaction() as session:
            return apply_delivery_status(
                session, sid=sid, status=state, error_code=error, row_id=row_id
            )

    await to_thread.run_sync(apply)
