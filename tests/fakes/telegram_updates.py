"""Builders of Telegram updates shaped as the Bot API documents and really sends them.

>>> updates = TelegramUpdates()
>>> updates.text("halo")["message"]["chat"]["type"]
'private'

Each builder returns a fresh ``dict`` with a new ``update_id`` (and ``message_id``), ready to be
posted to the webhook as JSON; change it freely to make malformed variants.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram_api import DEFAULT_TOKEN


@dataclass(frozen=True)
class TgUser:
    id: int = 5512345678
    first_name: str = "Siti"
    last_name: str | None = "Aminah"
    username: str | None = "siti_aminah"
    language_code: str | None = "id"

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                user[key] = value
        return user

    def as_private_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        chat["type"] = "private"
        return chat


SITI = TgUser()
RINA = TgUser(6698765432, "Rina", None, None, "id")
GROUP_CHAT = {"id": -4012345678, "title": "WLCC Kelurahan 19 Ilir", "type": "group"}
CHANNEL_CHAT = {
    "id": -1001987654321,
    "title": "Info WLCC",
    "username": "info_wlcc",
    "type": "channel",
}


def bot_user(token: str = DEFAULT_TOKEN) -> dict[str, Any]:
    return {
        "id": int(token.split(":", 1)[0]),
        "is_bot": True,
        "first_name": "WLCC Bot",
        "username": "wlcc_test_bot",
    }


class TelegramUpdates:
    """A source of updates with increasing ``update_id`` and ``message_id``."""

    def __init__(self, user: TgUser = SITI, *, first_update_id: int = 815000001) -> None:
        self.user = user
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1365)
        self._callback_ids = itertools.count(1)

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def _message(self, user: TgUser | None, **content: Any) -> dict[str, Any]:
        user = user or self.user
        return {
            "message_id": next(self._message_ids),
            "from": user.as_user(),
            "chat": user.as_private_chat(),
            "date": int(time.time()),
            **content,
        }

    def _update(self, **body: Any) -> dict[str, Any]:
        return {"update_id": self.next_update_id(), **body}

    # --- private messages ---
    def text(self, text: str, *, user: TgUser | None = None) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
        return self._update(message=self._message(user, **content))

    def contact(
        self,
        phone_number: str = "6281234567890",
        *,
        user: TgUser | None = None,
        contact_user_id: int | bool | None = True,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """A shared contact. By default the sender's own (``user_id`` = sender, as the
        request-contact button sends it; Telegram omits the ``+``). ``contact_user_id=None``
        is a contact without a Telegram account, an int someone else's."""
        user = user or self.user
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or user.first_name,
        }
        if user.last_name and first_name is None:
            contact["last_name"] = user.last_name
        if contact_user_id is True:
            contact["user_id"] = user.id
        elif isinstance(contact_user_id, int) and not isinstance(contact_user_id, bool):
            contact["user_id"] = contact_user_id
        return self._update(message=self._message(user, contact=contact))

    def location(
        self,
        latitude: float = -2.9761,
        longitude: float = 104.7754,
        *,
        user: TgUser | None = None,
    ) -> dict[str, Any]:
        location = {"latitude": latitude, "longitude": longitude, "horizontal_accuracy": 14.5}
        return self._update(message=self._message(user, location=location))

    def venue(self, *, user: TgUser | None = None) -> dict[str, Any]:
        location = {"latitude": -2.9893, "longitude": 104.7561}
        venue = {
            "location": location,
            "title": "Kantor Lurah 19 Ilir",
            "address": "Jl. Merdeka, 19 Ilir, Bukit Kecil, Palembang",
        }
        return self._update(message=self._message(user, location=location, venue=venue))

    def photo(self, caption: str | None = None, *, user: TgUser | None = None) -> dict[str, Any]:
        """A photo as Telegram sends it: several sizes, smallest first."""
        n = next(self._message_ids)
        sizes = [
            (90, 67, 1_361),
            (320, 240, 18_077),
            (800, 600, 74_263),
            (1280, 960, 131_407),
        ]
        photo = [
            {
                "file_id": f"AgACAgUAAxkBAAI{n:05d}{w}x{h}ZmFrZV9waG90bw",
                "file_unique_id": f"AQAD{n:05d}{w}",
                "file_size": size,
                "width": w,
                "height": h,
            }
            for w, h, size in sizes
        ]
        content: dict[str, Any] = {"photo": photo}
        if caption is not None:
            content["caption"] = caption
        return self._update(message=self._message(user, **content))

    def voice(self, *, duration: int = 7, user: TgUser | None = None) -> dict[str, Any]:
        """A voice note as Telegram sends it (OGG Opus)."""
        n = next(self._message_ids)
        voice = {
            "file_id": f"AwACAgUAAxkBAAI{n:05d}ZmFrZV92b2ljZQ",
            "file_unique_id": f"AgAD{n:05d}voice",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 9_871,
        }
        return self._update(message=self._message(user, voice=voice))

    def video(self, *, user: TgUser | None = None) -> dict[str, Any]:
        n = next(self._message_ids)
        video = {
            "file_id": f"BAACAgUAAxkBAAI{n:05d}ZmFrZV92aWRlbw",
            "file_unique_id": f"AgAD{n:05d}video",
            "width": 640,
            "height": 360,
            "duration": 4,
            "mime_type": "video/mp4",
            "file_size": 301_722,
        }
        return self._update(message=self._message(user, video=video))

    def sticker(self, *, user: TgUser | None = None) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAIBfakeSticker",
            "file_unique_id": "AgADfakeSticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._update(message=self._message(user, sticker=sticker))

    def callback(
        self,
        data: str,
        *,
        message: dict[str, Any] | None = None,
        user: TgUser | None = None,
    ) -> dict[str, Any]:
        """A button press on ``message`` (the bot's message, e.g. a fake's sendMessage result)."""
        user = user or self.user
        if message is None:
            message = {
                "message_id": next(self._message_ids),
                "from": bot_user(),
                "chat": user.as_private_chat(),
                "date": int(time.time()),
                "text": "Menu utama.",
            }
        query = {
            "id": f"{user.id}{next(self._callback_ids):09d}",
            "from": user.as_user(),
            "message": message,
            "chat_instance": "-3158243412857930184",
            "data": data,
        }
        return self._update(callback_query=query)

    # --- updates the bot must ignore ---
    def edited_message(self, text: str, *, user: TgUser | None = None) -> dict[str, Any]:
        message = self._message(user, text=text)
        message["edit_date"] = message["date"] + 5
        return self._update(edited_message=message)

    def channel_post(self, text: str) -> dict[str, Any]:
        post = {
            "message_id": next(self._message_ids),
            "sender_chat": CHANNEL_CHAT,
            "chat": CHANNEL_CHAT,
            "date": int(time.time()),
            "text": text,
        }
        return self._update(channel_post=post)

    def group_message(self, text: str, *, user: TgUser | None = None) -> dict[str, Any]:
        user = user or self.user
        message = {
            "message_id": next(self._message_ids),
            "from": user.as_user(),
            "chat": GROUP_CHAT,
            "date": int(time.time()),
            "text": text,
        }
        return self._update(message=message)

    def my_chat_member(
        self, status: str = "kicked", *, user: TgUser | None = None
    ) -> dict[str, Any]:
        """The user blocked (``kicked``) or restarted (``member``) the bot."""
        user = user or self.user

        def member(state: str) -> dict[str, Any]:
            body: dict[str, Any] = {"user": bot_user(), "status": state}
            if state == "kicked":
                body["until_date"] = 0
            return body

        update = {
            "chat": user.as_private_chat(),
            "from": user.as_user(),
            "date": int(time.time()),
            "old_chat_member": member("member" if status == "kicked" else "kicked"),
            "new_chat_member": member(status),
        }
        return self._update(my_chat_member=update)
