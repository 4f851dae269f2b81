"""Photos the bot sends on: fetched once from the platform they came from, then published.

* Twilio needs a public URL it can fetch without credentials: ``GET /media/<token>`` serves the
  stored bytes (the token is long and random; nothing else is served).
* Telegram takes an upload once; the file id it answers is kept and reused for every further
  recipient (a photo that came from Telegram already has one).

A Twilio media URL needs the account's credentials, and a Telegram file must be downloaded with
the bot token: neither is ever given to the other platform.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Annotated

import httpx
from anyio import to_thread
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response
from telegram.error import BadRequest, TelegramError

from bot.deps import DatabaseDep
from storage.db import Database
from storage.media import (
    IMAGE_TYPES,
    MAX_BYTES,
    SIMULATOR_SOURCE,
    file_name,
    media_by_token,
    set_media_error,
    simulator_upload_data,
    store_media,
)
from storage.models import MediaFile
from wlcc.formatting import utcnow
from wlcc.settings import Settings

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
MB = 1024 * 1024
VOICE_MAX_BYTES = 16 * MB  # WhatsApp's limit for audio
PHOTO_KINDS = frozenset({"image/jpeg", "image/png", "image/webp"})
VOICE_KINDS = frozenset({"audio/ogg", "audio/mpeg", "audio/amr", "audio/mp4"})


def sniff(data: bytes) -> str | None:
    """The type of a file by its first bytes (what it is, not what the sender declared):
    JPEG, PNG, WebP for photos; OGG (Opus), MP3, AMR, M4A for voice notes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data.startswith(b"#!AMR"):
        return "audio/amr"
    if data[4:8] == b"ftyp" and data[8:11] in (b"M4A", b"mp4", b"iso", b"3gp", b"MP4"):
        return "audio/mp4"
    return None


class MediaUnavailable(Exception):
    """The photo cannot be had; ``permanent`` when trying again will not help."""

    def __init__(self, detail: str, *, permanent: bool) -> None:
        super().__init__(detail)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class MediaInfo:
    id: int
    token: str
    content_type: str
    source_channel: str
    source_ref: str
    telegram_file_id: str | None
    fetched: bool
    file_name: str | None = None  # a file the bot made (a calendar), sent under this name

    @property
    def is_document(self) -> bool:
        """Sent as a file, not a photo: a file the bot made that is not an image (photos from
        the platforms are photos whatever type they declared)."""
        return self.file_name is not None and self.content_type not in IMAGE_TYPES


def _info(media: MediaFile) -> MediaInfo:
    assert media.id is not None
    return MediaInfo(
        id=media.id,
        token=media.token,
        content_type=media.content_type,
        source_channel=media.source_channel,
        source_ref=media.source_ref,
        telegram_file_id=media.telegram_file_id,
        fetched=media.data is not None,
        file_name=file_name(media.source_channel, media.source_ref),
    )


class MediaStore:
    """Fetches, keeps and publishes media for the sender (one per process)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        telegram_bot: object | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.telegram_bot = telegram_bot  # a telegram.Bot, to download Telegram files
        self._fetching: dict[int, asyncio.Lock] = {}
        self._uploading: dict[int, asyncio.Lock] = {}
        self._infos: dict[int, MediaInfo] = {}

    def upload_lock(self, media_id: int) -> asyncio.Lock:
        """Held by the first Telegram upload of a photo, so that it happens once."""
        return self._uploading.setdefault(media_id, asyncio.Lock())

    def public_url(self, info: MediaInfo) -> str | None:
        base = self.settings.public_base_url
        return f"{base.rstrip('/')}/media/{info.token}" if base else None

    async def info(self, media_id: int) -> MediaInfo:
        cached = self._infos.get(media_id)
        if cached is not None:
            return cached

        def load() -> MediaInfo | None:
            with self.db.transaction() as session:
                media = session.get(MediaFile, media_id)
                return None if media is None else _info(media)

        found = await to_thread.run_sync(load)
        if found is None:
            raise MediaUnavailable(f"media {media_id} does not exist", permanent=True)
        if found.fetched:
            self._infos[media_id] = found  # only its Telegram file id may still come
        return found

    async def ensure_fetched(self, media_id: int) -> MediaInfo:
        """The photo's bytes are stored (fetching them once, whoever asks first)."""
        info = await self.info(media_id)
        if info.fetched:
            return info
        async with self._fetching.setdefault(media_id, asyncio.Lock()):
            info = await self.info(media_id)
            if info.fetched:
                return info
            try:
                data, content_type = await self._download(info)
            except MediaUnavailable as exc:
                if exc.permanent:
                    await self._save_error(media_id, str(exc))
                raise
            await to_thread.run_sync(self._save, media_id, data, content_type)
            self._infos.pop(media_id, None)
            return await self.info(media_id)

    async def read(self, media_id: int) -> tuple[bytes, str]:
        info = await self.ensure_fetched(media_id)

        def load() -> tuple[bytes, str] | None:
            with self.db.transaction() as session:
                media = session.get(MediaFile, media_id)
                if media is None or media.data is None:
                    return None
                return bytes(media.data), media.content_type

        found = await to_thread.run_sync(load)
        if found is None:
            raise MediaUnavailable(f"media {info.id} has no data", permanent=False)
        return found

    async def remember_telegram_file_id(self, media_id: int, file_id: str) -> None:
        from storage.media import set_telegram_file_id

        def save() -> None:
            with self.db.transaction() as session:
                set_telegram_file_id(session, media_id, file_id)

        await to_thread.run_sync(save)
        cached = self._infos.get(media_id)
        if cached is not None and cached.telegram_file_id is None:
            self._infos[media_id] = replace(cached, telegram_file_id=file_id)

    def _save(self, media_id: int, data: bytes, content_type: str | None) -> None:
        with self.db.transaction() as session:
            store_media(session, media_id, data, content_type, utcnow())

    async def _save_error(self, media_id: int, error: str) -> None:
        def save() -> None:
            with self.db.transaction() as session:
                set_media_error(session, media_id, error)

        await to_thread.run_sync(save)

    # --- fetching from the platform the photo came from ---
    async def fetch_intake(self, media_id: int) -> str | None:
        """Download a complaint's photo or voice note now, check what it is by its content and
        its size, and keep it; the reason it was refused ("larger than 5 MB", "not a photo"),
        or None when it was kept. A passing failure raises :class:`MediaUnavailable`."""
        info = await self.info(media_id)
        if info.fetched:
            return None
        voice = info.content_type.startswith("audio/")
        limit = VOICE_MAX_BYTES if voice else self.settings.wlcc_complaint_max_photo_mb * MB
        try:
            data, _ = await self._download(info, limit=limit)
        except MediaUnavailable as exc:
            if exc.permanent:
                await self._save_error(media_id, str(exc))
                return str(exc)
            raise
        kind = sniff(data)
        allowed = VOICE_KINDS if voice else PHOTO_KINDS
        if kind not in allowed:
            reason = "not a voice note" if voice else "not a photo"
            await self._save_error(media_id, f"{reason} (by its content)")
            return reason
        await to_thread.run_sync(self._save, media_id, data, kind)
        self._infos.pop(media_id, None)
        return None

    async def _download(
        self, info: MediaInfo, *, limit: int = MAX_BYTES
    ) -> tuple[bytes, str | None]:
        if info.source_channel == "telegram":
            return await self._from_telegram(info.source_ref, limit), info.content_type
        if info.source_channel == SIMULATOR_SOURCE:
            return await self._from_simulator(info.source_ref, limit), info.content_type
        auth = None
        url = info.source_ref
        if info.source_channel == "whatsapp":
            sid = self.settings.twilio_account_sid
            token = self.settings.twilio_auth_token
            if sid and token:
                auth = (sid, token.get_secret_value())
            if url.startswith(TWILIO_API):
                url = self.settings.twilio_api_base_url.rstrip("/") + url[len(TWILIO_API) :]
        if not url.startswith(("http://", "https://")):
            raise MediaUnavailable(f"cannot fetch {info.source_channel} media", permanent=True)
        return await self._from_url(url, auth, limit)

    async def _from_telegram(self, file_id: str, limit: int = MAX_BYTES) -> bytes:
        from telegram import Bot

        bot = self.telegram_bot
        if not isinstance(bot, Bot):
            raise MediaUnavailable("the Telegram channel is not configured", permanent=True)
        try:
            file = await bot.get_file(file_id)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as exc:
            raise MediaUnavailable(f"Telegram: {exc.message}", permanent=True) from None
        except TelegramError as exc:
            raise MediaUnavailable(f"Telegram: {exc.message}", permanent=False) from None
        if len(data) > limit:
            raise MediaUnavailable(f"the file is larger than {limit // MB} MB", permanent=True)
        return data

    async def _from_simulator(self, token: str, limit: int = MAX_BYTES) -> bytes:
        """A photo uploaded to the browser simulator: its bytes are in the database already."""

        def load() -> bytes | None:
            with self.db.transaction() as session:
                return simulator_upload_data(session, token)

        data = await to_thread.run_sync(load)
        if data is None:
            raise MediaUnavailable("no such simulator upload", permanent=True)
        if len(data) > limit:
            raise MediaUnavailable(f"the file is larger than {limit // MB} MB", permanent=True)
        return data

    async def _from_url(
        self, url: str, auth: tuple[str, str] | None, limit: int = MAX_BYTES
    ) -> tuple[bytes, str | None]:
        try:
            async with (
                httpx.AsyncClient(follow_redirects=True, timeout=30.0) as client,
                client.stream("GET", url, auth=auth) as response,
            ):
                if response.status_code in (401, 403, 404, 410):
                    raise MediaUnavailable(
                        f"the platform answered {response.status_code} for the photo",
                        permanent=True,
                    )
                if response.status_code >= 300:
                    raise MediaUnavailable(
                        f"the platform answered {response.status_code} for the photo",
                        permanent=False,
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise MediaUnavailable(
                            f"the file is larger than {limit // MB} MB", permanent=True
                        )
                    chunks.append(chunk)
                kind = response.headers.get("content-type", "").split(";")[0].strip() or None
                return b"".join(chunks), kind
        except httpx.HTTPError as exc:
            raise MediaUnavailable(f"fetching the photo failed: {exc}", permanent=False) from None


# --- serving ---

router = APIRouter()


async def get_media_store(request: Request) -> MediaStore | None:
    store: MediaStore | None = getattr(request.app.state, "media", None)
    return store


MediaStoreDep = Annotated[MediaStore | None, Depends(get_media_store)]


@router.get("/media/{token}")
async def serve_media(token: str, db: DatabaseDep, store: MediaStoreDep) -> Response:
    """A photo the bot sends on WhatsApp, for Twilio to fetch (unguessable token)."""
    if not (16 <= len(token) <= 64) or not all(c.isalnum() or c in "-_" for c in token):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such media")

    def load() -> tuple[int, bytes | None, str] | None:
        with db.transaction() as session:
            media = media_by_token(session, token)
            if media is None or media.id is None:
                return None
            return media.id, media.data, media.content_type

    found = await to_thread.run_sync(load)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such media")
    media_id, data, content_type = found
    if data is None:
        if store is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "media not available")
        try:
            data, content_type = await store.read(media_id)
        except MediaUnavailable:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "media not available") from None
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
