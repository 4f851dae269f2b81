"""Photos that the bot sends on (a coordinator's broadcast photo).

A photo arrives as a reference on one platform (a Telegram file id, a Twilio media URL that needs
the account's credentials). The sender fetches its bytes once and keeps them here, so it can be
served to Twilio from ``/media/<token>`` and uploaded once to Telegram (whose file id is kept and
reused for every further recipient).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import MediaFile

MAX_BYTES = 5 * 1024 * 1024  # WhatsApp's limit for an image; Telegram allows 10 MB
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
# A file the bot made itself (a meeting's calendar): its bytes are stored at once, and its
# ``source_ref`` is "<sha256 of the bytes>/<file name>".
BOT_SOURCE = "bot"
# A photo uploaded to the demo's browser simulator (console/simulator.py): the simulated
# channel's "platform" copy of it, bytes stored at once. A message then refers to it by its
# token, as a Telegram message refers to a file by its id; the sender fetches it from here.
SIMULATOR_SOURCE = "simulator"
SIMULATOR_UPLOAD = "upload"


def create_media(
    session: Session,
    *,
    community_id: int,
    source_channel: str,
    source_ref: str,
    content_type: str | None,
    now: datetime,
) -> MediaFile:
    media = MediaFile(
        community_id=community_id,
        source_channel=source_channel,
        source_ref=source_ref[:1000],
        content_type=(content_type or "image/jpeg")[:100],
        token=secrets.token_urlsafe(24),
        created_at=now,
    )
    # Telegram can send a photo it knows by its file id again without fetching it.
    if source_channel == "telegram":
        media.telegram_file_id = source_ref[:200]
    session.add(media)
    session.flush()
    return media


def create_intake_media(
    session: Session,
    *,
    community_id: int,
    source_channel: str,
    source_ref: str,
    content_type: str | None,
    now: datetime,
) -> MediaFile:
    """A photo or voice note someone sent with a complaint: kept as a reference now and marked
    ``pending_fetch``, so the sender downloads it within seconds (the platforms' links expire)."""
    media = create_media(
        session,
        community_id=community_id,
        source_channel=source_channel,
        source_ref=source_ref,
        content_type=content_type or "application/octet-stream",
        now=now,
    )
    media.pending_fetch = True
    session.add(media)
    session.flush()
    return media


def pending_intake_media(session: Session, limit: int = 20) -> list[int]:
    """Ids of the complaint media still to download, oldest first."""
    rows = session.exec(
        select(MediaFile.id)
        .where(MediaFile.pending_fetch == True)  # noqa: E712
        .order_by(col(MediaFile.id))
        .limit(limit)
    ).all()
    return [media_id for media_id in rows if media_id is not None]


def media_by_token(session: Session, token: str) -> MediaFile | None:
    return session.exec(select(MediaFile).where(MediaFile.token == token)).first()


def store_media(
    session: Session, media_id: int, data: bytes, content_type: str | None, now: datetime
) -> None:
    media = session.get(MediaFile, media_id)
    if media is None:
        return
    media.data = data
    media.size = len(data)
    if content_type:
        media.content_type = content_type[:100]
    media.fetched_at = now
    media.error = None
    media.pending_fetch = False
    session.add(media)


def set_telegram_file_id(session: Session, media_id: int, file_id: str) -> None:
    media = session.get(MediaFile, media_id)
    if media is not None and media.telegram_file_id is None:
        media.telegram_file_id = file_id[:200]
        session.add(media)


def set_media_error(session: Session, media_id: int, error: str) -> None:
    media = session.get(MediaFile, media_id)
    if media is not None:
        media.error = error[:500]
        media.pending_fetch = False
        session.add(media)


def bot_file(
    session: Session,
    *,
    community_id: int,
    name: str,
    data: bytes,
    content_type: str,
    now: datetime,
) -> MediaFile:
    """A file the bot made (a meeting's ``.ics``), sent as ``media:<id>`` like a photo: one row
    per content, reused while the bytes are the same (Telegram's file id with it)."""
    ref = f"{hashlib.sha256(data).hexdigest()}/{name}"[:1000]
    found = session.exec(
        select(MediaFile).where(
            MediaFile.community_id == community_id,
            MediaFile.source_channel == BOT_SOURCE,
            MediaFile.source_ref == ref,
        )
    ).first()
    if found is not None:
        return found
    media = MediaFile(
        community_id=community_id,
        source_channel=BOT_SOURCE,
        source_ref=ref,
        content_type=content_type[:100],
        token=secrets.token_urlsafe(24),
        data=data,
        size=len(data),
        created_at=now,
        fetched_at=now,
    )
    session.add(media)
    session.flush()
    return media


def file_name(source_channel: str, source_ref: str) -> str | None:
    """The name a file the bot made is sent under (None for a photo from a platform)."""
    if source_channel != BOT_SOURCE:
        return None
    return source_ref.rsplit("/", 1)[-1] or None


def simulator_upload(
    session: Session, *, community_id: int, data: bytes, content_type: str, now: datetime
) -> MediaFile:
    """A photo uploaded to the browser simulator, kept with its bytes; a message sent with it
    carries its token (``Media(ref=token)``)."""
    media = create_media(
        session,
        community_id=community_id,
        source_channel=SIMULATOR_SOURCE,
        source_ref=SIMULATOR_UPLOAD,
        content_type=content_type,
        now=now,
    )
    assert media.id is not None
    store_media(session, media.id, data, content_type, now)
    session.flush()
    return media


def simulator_upload_data(session: Session, token: str) -> bytes | None:
    """The bytes of a browser simulator upload by its token (None when there is no such)."""
    media = media_by_token(session, token)
    if (
        media is None
        or media.source_channel != SIMULATOR_SOURCE
        or media.source_ref != SIMULATOR_UPLOAD
        or media.data is None
    ):
        return None
    return bytes(media.data)
