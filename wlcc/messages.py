"""Channel-neutral inbound and outbound message values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Choice:
    """One option offered to the user; ``payload`` comes back when it is picked."""

    payload: str
    label: str


@dataclass(frozen=True, slots=True)
class SharedContact:
    """A contact card. ``user_id`` is the Telegram account it belongs to, when known."""

    phone: str
    first_name: str | None = None
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Media:
    """A photo or file: a URL (Twilio) or a platform file id (Telegram)."""

    ref: str
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message from a person, whatever channel it came on."""

    channel: str  # "telegram", "whatsapp", "simulator"
    address: str  # where replies go: Telegram chat id, WhatsApp "+62..." number
    sender_id: str  # the platform's id of the person (Telegram user id, WhatsApp number)
    platform_id: str  # Telegram update_id, Twilio MessageSid: unique per channel
    received_at: datetime
    text: str = ""
    payload: str | None = None  # the payload of a pressed button
    contact: SharedContact | None = None
    location: Location | None = None
    media: tuple[Media, ...] = ()
    sender_name: str | None = None
    phone: str | None = None  # E.164 when the channel itself proves the number (WhatsApp)
    # The platform's id of this message in its chat (Telegram ``message_id``), so that a reply
    # can ask the channel to delete it (a PIN); None where the channel has none to delete.
    message_id: str | None = None

    @property
    def kind(self) -> str:
        if self.payload is not None:
            return "choice"
        if self.contact is not None:
            return "contact"
        if self.location is not None:
            return "location"
        if self.media:
            return "media"
        return "text"

    @property
    def speaker_address(self) -> str:
        return f"{self.channel}:{self.address}"


@dataclass(frozen=True, slots=True)
class Outbound:
    """A reply or notice. Channels render ``choices`` as buttons or as a numbered list."""

    text: str
    choices: tuple[Choice, ...] = ()
    media: tuple[Media, ...] = ()
    request_contact: str | None = None  # label of a "share my phone number" button
    hint: str | None = None  # how to answer a numbered list, where buttons are missing
    # A question inside a dialog: the label of "0", which cancels it ("0. Batal"), where
    # choices are a numbered list.
    cancel: str | None = None
    remove_keyboard: bool = False  # take away a "share my number" button shown before
    # Ask the channel to delete the person's own message with this platform id (in the chat
    # the reply goes to) before the reply is sent: a message that carried her PIN. Telegram
    # deletes it (deleteMessage); WhatsApp cannot, and the reply's text says so.
    delete_message: str | None = None
    meta: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class SendReport:
    """How a channel's sending of one message's replies went, in order: the first ``sent``
    replies were delivered. When ``failure`` is set the next one was not: ``retry`` for a
    passing reason (``retry_after`` seconds, when the platform said), ``unreachable`` when the
    chat cannot be reached any more; ``rest`` holds the pieces of that reply still unsent when
    its first pieces went (empty: the whole reply is still to send)."""

    sent: int
    failure: str | None = None
    retry: bool = False
    retry_after: float | None = None
    unreachable: bool = False
    rest: tuple[Outbound, ...] = ()


def inbound_to_dict(message: Inbound) -> dict[str, Any]:
    """A JSON-ready form of an inbound message, to keep it until it is processed."""
    # By hand rather than dataclasses.asdict, which deep-copies: this runs for every webhook.
    contact, location = message.contact, message.location
    return {
        "channel": message.channel,
        "address": message.address,
        "sender_id": message.sender_id,
        "platform_id": message.platform_id,
        "received_at": message.received_at.isoformat(),
        "text": message.text,
        "payload": message.payload,
        "contact": None
        if contact is None
        else {"phone": contact.phone, "first_name": contact.first_name, "user_id": contact.user_id},
        "location": None
        if location is None
        else {
            "latitude": location.latitude,
            "longitude": location.longitude,
            "address": location.address,
        },
        "media": [{"ref": m.ref, "content_type": m.content_type} for m in message.media],
        "sender_name": message.sender_name,
        "phone": message.phone,
        "message_id": message.message_id,
    }


def inbound_from_dict(data: dict[str, Any]) -> Inbound:
    contact = data.get("contact")
    location = data.get("location")
    return Inbound(
        channel=data["channel"],
        address=data["address"],
        sender_id=data["sender_id"],
        platform_id=data["platform_id"],
        received_at=datetime.fromisoformat(data["received_at"]),
        text=data.get("text") or "",
        payload=data.get("payload"),
        contact=SharedContact(**contact) if contact else None,
        location=Location(**location) if location else None,
        media=tuple(Media(**m) for m in data.get("media") or ()),
        sender_name=data.get("sender_name"),
        phone=data.get("phone"),
        message_id=data.get("message_id"),
    )
