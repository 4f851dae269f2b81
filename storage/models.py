"""SQLModel tables. Timestamps are aware UTC; money is whole rupiah (int)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from wlcc.formatting import utcnow

DEFAULT_COMMUNITY_SLUG = "wlcc-palembang"


class Community(SQLModel, table=True):
    """One WLCC forum; every domain row belongs to one."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class InboundMessage(SQLModel, table=True):
    """Every message a platform delivered, once: the unique platform id makes retries no-ops."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "platform_id", name="uq_inbound_platform_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    platform_id: str = Field(max_length=128)
    identity_id: int | None = Field(default=None, foreign_key="identity.id", index=True)
    kind: str = Field(max_length=16)  # text, choice, contact, location, media
    received_at: datetime = Field(default_factory=utcnow, index=True)


class Identity(SQLModel, table=True):
    """A chat address on one channel: a Telegram chat or a WhatsApp number."""

    __table_args__ = (UniqueConstraint("channel", "address", name="uq_identity_address"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)
    # E.164 phone once the channel proved it (WhatsApp always; Telegram after contact sharing).
    phone: str | None = Field(default=None, max_length=20, index=True)
    display_name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=8)
    first_seen_at: datetime = Field(default_factory=utcnow)
    last_inbound_at: datetime | None = None


class Conversation(SQLModel, table=True):
    """Dialog state of one speaker, kept between messages (and between app instances)."""

    key: str = Field(primary_key=True, max_length=96)
    dialog: str | None = Field(default=None, max_length=64)
    step: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The choices last shown, as [[payload, label], ...]: a typed number picks from them.
    choices: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, index=True)
