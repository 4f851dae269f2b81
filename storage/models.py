"""SQLModel tables. Timestamps are aware UTC; money is whole rupiah (int)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint, false
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
    # The message itself until it is processed (then emptied): a restart finishes the work.
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    processed_at: datetime | None = Field(default=None, index=True)
    # Answering failed this many times (migration 0006); after a few the message is set aside
    # (failed_at, error) so that it does not fail again at every start.
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    failed_at: datetime | None = None
    error: str | None = Field(default=None, max_length=500)


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
    # BERHENTI from someone who is not a member (members carry their own flag).
    opted_out: bool = False
    # The platform said this chat cannot be reached (blocked the bot, unsubscribed).
    unreachable: bool = False


class Conversation(SQLModel, table=True):
    """Dialog state of one speaker, kept between messages (and between app instances)."""

    key: str = Field(primary_key=True, max_length=96)
    dialog: str | None = Field(default=None, max_length=64)
    step: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The choices last shown, as [[payload, label], ...]: a typed number picks from them.
    choices: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    # On a shared family phone: the member who said "it is me" for this session.
    member_id: int | None = Field(default=None, foreign_key="member.id")


class Role:
    MEMBER = "member"
    COORDINATOR = "coordinator"
    TREASURER = "treasurer"
    ADMIN = "admin"
    PROTECTION_OFFICER = "protection_officer"
    RESIDENT = "resident"  # not a member: someone the bot does not know (yet)

    MEMBER_ROLES = (MEMBER, COORDINATOR, TREASURER, ADMIN, PROTECTION_OFFICER)


class MemberStatus:
    PENDING = "pending"
    ACTIVE = "active"
    INACTIVE = "inactive"

    ALL = (PENDING, ACTIVE, INACTIVE)


class Member(SQLModel, table=True):
    """A person of the community. Several members may share one phone (a family phone)."""

    __table_args__ = (
        UniqueConstraint("community_id", "phone", "name_key", name="uq_member_phone_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    name: str = Field(max_length=100)
    name_key: str = Field(max_length=100)  # case- and space-folded name, for re-imports
    phone: str | None = Field(default=None, max_length=20, index=True)  # E.164
    kelurahan: str | None = Field(default=None, max_length=64)
    rt_rw: str | None = Field(default=None, max_length=16)
    role: str = Field(default=Role.MEMBER, max_length=24)
    language: str | None = Field(default=None, max_length=8)
    status: str = Field(default=MemberStatus.ACTIVE, max_length=16, index=True)
    consent_at: datetime | None = None
    consent_asked_at: datetime | None = None
    opted_out: bool = False
    opted_out_at: datetime | None = None
    accessibility_note: str | None = Field(default=None, max_length=200)
    # "telegram" or "whatsapp": where proactive messages go first (None: Telegram when linked).
    channel_preference: str | None = Field(default=None, max_length=16)
    deletion_requested_at: datetime | None = None
    anonymised_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    """Every privileged action and every refusal: who, what, when, from which channel."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    actor_member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    actor_identity_id: int | None = Field(default=None, foreign_key="identity.id")
    channel: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=64)
    allowed: bool
    target: str | None = Field(default=None, max_length=128)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class OutboxStatus:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    SKIPPED = "skipped"


class OutboxMessage(SQLModel, table=True):
    """A message the bot sends on its own initiative; ``key`` makes producing it idempotent."""

    __tablename__ = "outbox"
    # The sender's claim looks up a recipient's unfinished messages (migration 0004).
    __table_args__ = (
        Index("ix_outbox_member_status", "member_id", "status"),
        Index("ix_outbox_identity_status", "identity_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32, index=True)  # e.g. approval_request, reminder, receipt
    # The recipient: a member (channel chosen when sending) or one chat identity.
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    identity_id: int | None = Field(default=None, foreign_key="identity.id", index=True)
    # Filled when the row is sent: where it actually went.
    channel: str | None = Field(default=None, max_length=16)
    address: str | None = Field(default=None, max_length=64)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    choices: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    media: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Variables for a pre-approved WhatsApp template (outside the 24-hour window).
    template_vars: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    status: str = Field(default=OutboxStatus.PENDING, max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    lease_until: datetime | None = None
    platform_message_id: str | None = Field(default=None, max_length=64, index=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    # Issue 4: the broadcast a row belongs to, its place in the queue (higher first) and the
    # stable code of why it was skipped or failed (last_error keeps the details).
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    priority: int = 0
    reason: str | None = Field(default=None, max_length=32)
    # Migration 0006: what the channel needs beyond text and choices, fixed when the message was
    # made ("hint": the numbered-list footer in the language of that moment; "request_contact",
    # "remove_keyboard" for replies). None for notices, which are worded per recipient.
    render: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class OutboxPriority:
    BULK = -10  # broadcast fan-out: individual notices are not stuck behind 5,000 of them
    NORMAL = 0
    URGENT = 10  # progress and summaries to the coordinator who is waiting for them


class BroadcastStatus:
    SENDING = "sending"
    DONE = "done"
    STOPPED = "stopped"


class Broadcast(SQLModel, table=True):
    """An announcement to a group of members, with its author; its messages are outbox rows."""

    __tablename__ = "broadcast"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    author_member_id: int | None = Field(default=None, foreign_key="member.id")
    # The chat the coordinator wrote from: progress and the summary go back there.
    author_identity_id: int | None = Field(default=None, foreign_key="identity.id")
    author_label: str | None = Field(default=None, max_length=100)  # e.g. "cli:siti" (terminal)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    media_id: int | None = Field(default=None, foreign_key="media.id")
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=BroadcastStatus.SENDING, max_length=16, index=True)
    total: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    stopped_at: datetime | None = None
    finished_at: datetime | None = None
    last_progress_at: datetime | None = None


class MediaFile(SQLModel, table=True):
    """A photo to send on: fetched once from the platform it came from, then served to the
    other (``/media/<token>`` for Twilio, an upload then its file id for Telegram)."""

    __tablename__ = "media"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    source_channel: str = Field(max_length=16)
    source_ref: str = Field(max_length=1000)  # Telegram file id or Twilio media URL
    content_type: str = Field(default="image/jpeg", max_length=100)
    token: str = Field(max_length=64, unique=True)  # unguessable name in the public URL
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    size: int | None = None
    telegram_file_id: str | None = Field(default=None, max_length=200)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    fetched_at: datetime | None = None
    # A photo or voice note of a complaint (migration 0010): the sender downloads it at once,
    # before the platform's link expires, checking its content; cleared when fetched or failed.
    pending_fetch: bool = Field(
        default=False, index=True, sa_column_kwargs={"server_default": false()}
    )


class OutboxWorker(SQLModel, table=True):
    """A running sender, seen recently: lets `wlcc broadcast` know whether someone delivers."""

    __tablename__ = "outbox_worker"

    name: str = Field(primary_key=True, max_length=100)
    started_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime = Field(default_factory=utcnow, index=True)
