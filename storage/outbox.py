"""The outbox: every proactive message, produced once per key and sent by ``bot/sender.py``.

Producing (:func:`enqueue`, :func:`enqueue_many`) is idempotent by key. Sending is split in three
database steps around the network call, so that a crash at any point loses nothing:

1. :func:`claim` takes due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the database write
   lock on SQLite), leases them (status ``sending``, ``lease_until``) and decides each recipient:
   where it goes (:func:`resolve`) or why it is skipped (opt-out, unreachable, 24-hour window).
   Rows left in ``sending`` after their lease are claimed again. The lease end is also the
   claim's token: an outcome is recorded only while the row still carries it.
2. The sender talks to the platform (not here: storage knows no platform).
3. :func:`record` writes what happened; :func:`apply_delivery_status` applies the platform's
   later delivery reports, never moving a row's status backwards.

Messages to one recipient keep their order: a row is not claimed while an earlier row for the
same member (or identity) is due, being sent, or waiting for a retry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage.conversations import offer_choices
from storage.models import (
    Broadcast,
    BroadcastStatus,
    Identity,
    Member,
    OutboxMessage,
    OutboxPriority,
    OutboxStatus,
    OutboxWorker,
)
from storage.ops import insert_ignore
from wlcc.formatting import utcnow
from wlcc.phones import to_e164

TELEGRAM = "telegram"
WHATSAPP = "whatsapp"
# The demo's simulated chats (``wlcc chat``): a sender routes to them only when it has the
# simulator outlet, which only ``WLCC_SIMULATOR`` gives it.
SIMULATOR = "simulator"
WHATSAPP_WINDOW = timedelta(hours=24)
MEDIA_PREFIX = "media:"  # an outbox media entry naming a MediaFile row: "media:12"
# An answer to the person's own message whose direct send failed for a passing reason: the
# outbox retries it. Answers are not notices, so BERHENTI does not hold them back.
REPLY_KIND = "reply"
ANSWER_KINDS = frozenset({REPLY_KIND})
REPLY_RETRY_AFTER = timedelta(seconds=5)  # the platform just failed: give it a moment
# Delivered replies are kept this long only: the conversation itself is the record.
REPLY_RETENTION = timedelta(days=1)

# Status order for delivery reports: a report never moves a row to a lower rank. "failed" and
# "undelivered" rank with "delivered": whichever final answer came first stands.
_RANK = {
    OutboxStatus.PENDING: 0,
    OutboxStatus.SENDING: 0,
    OutboxStatus.SENT: 1,
    OutboxStatus.DELIVERED: 2,
    OutboxStatus.FAILED: 2,
    OutboxStatus.READ: 3,
    OutboxStatus.SKIPPED: 4,  # never sent: a report cannot be about it
}
# Twilio's MessageStatus values -> ours (queued, accepted, sending... say nothing new).
TWILIO_STATUSES = {
    "sent": OutboxStatus.SENT,
    "delivered": OutboxStatus.DELIVERED,
    "read": OutboxStatus.READ,
    "undelivered": OutboxStatus.FAILED,
    "failed": OutboxStatus.FAILED,
}


class Reason:
    """Stable codes for why a row was skipped or failed (``outbox.reason``); the catalog has a
    plain sentence for each (``outbox.reason.<code>``)."""

    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"  # blocked the bot, unsubscribed, not on WhatsApp
    WINDOW = "window"  # WhatsApp, outside 24 hours, no template for the kind
    INVALID_PHONE = "invalid_phone"
    NO_CHANNEL = "no_channel"  # no chat linked and no phone
    CHANNEL_OFF = "channel_off"  # the channel is not configured on this deployment
    STOPPED = "stopped"  # the coordinator stopped the broadcast
    REJECTED = "rejected"  # the platform refused this message for good
    GAVE_UP = "gave_up"  # temporary errors until the maximum number of attempts
    MEDIA = "media"  # the photo could not be fetched or published
    GARBLED = "garbled"  # sent, but the platform's answer was unreadable

    ALL = (
        OPTED_OUT,
        UNREACHABLE,
        WINDOW,
        INVALID_PHONE,
        NO_CHANNEL,
        CHANNEL_OFF,
        STOPPED,
        REJECTED,
        GAVE_UP,
        MEDIA,
        GARBLED,
    )


# --- producing ---


def _values(
    *,
    key: str,
    kind: str,
    community_id: int,
    text: str,
    member_id: int | None,
    identity_id: int | None,
    choices: Iterable[tuple[str, str]],
    media: Iterable[str],
    template_vars: Mapping[str, str] | None,
    not_before: datetime | None,
    broadcast_id: int | None,
    priority: int,
    now: datetime,
) -> dict[str, Any]:
    if (member_id is None) == (identity_id is None):
        raise ValueError("an outbox message goes to exactly one member or identity")
    if len(key) > 200:
        raise ValueError("outbox keys are at most 200 characters")
    return {
        "key": key,
        "kind": kind[:32],
        "community_id": community_id,
        "member_id": member_id,
        "identity_id": identity_id,
        "text": text,
        "choices": [[payload, label] for payload, label in choices],
        "media": list(media),
        "template_vars": dict(template_vars or {}),
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "created_at": now,
        "updated_at": now,
        "broadcast_id": broadcast_id,
        "priority": priority,
    }


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    community_id: int,
    text: str,
    member_id: int | None = None,
    identity_id: int | None = None,
    choices: Iterable[tuple[str, str]] = (),
    media: Iterable[str] = (),
    template_vars: dict[str, str] | None = None,
    not_before: datetime | None = None,
    broadcast_id: int | None = None,
    priority: int = OutboxPriority.NORMAL,
) -> int | None:
    """Plan a message to a member (or to one chat identity). None when the key already exists.

    A member's message goes to her preferred reachable chat, chosen when it is sent. Outside
    WhatsApp's 24-hour window the template configured for ``kind`` is used with
    ``template_vars`` (by default ``{"1": text}``).
    """
    return insert_ignore(
        session,
        OutboxMessage,
        _values(
            key=key,
            kind=kind,
            community_id=community_id,
            text=text,
            member_id=member_id,
            identity_id=identity_id,
            choices=choices,
            media=media,
            template_vars=template_vars,
            not_before=not_before,
            broadcast_id=broadcast_id,
            priority=priority,
            now=utcnow(),
        ),
    )


@dataclass(frozen=True, slots=True)
class ReplyItem:
    """One reply to a message as storage keeps it: the words, the choices, the photos, and what
    the channel needs beyond them (``render``: the numbered-list hint as it was worded, a
    share-my-number button), fixed when the reply was made."""

    text: str
    choices: tuple[tuple[str, str], ...] = ()
    media: tuple[str, ...] = ()
    render: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlannedReplies:
    """The outbox rows of one message's replies, in order. ``lease`` is set when they were
    leased to the caller to send at once; None when an earlier message of the chat is still
    waiting to be delivered, so these wait their turn behind it in the outbox."""

    ids: tuple[int, ...]
    lease: datetime | None


_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
# Built once: this runs for every answered message.
_QUEUE_BUSY = (
    select(_OUTBOX.c.id)
    .where(
        _OUTBOX.c.identity_id == bindparam("identity_id"),
        _OUTBOX.c.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        or_(_OUTBOX.c.attempts > 0, _OUTBOX.c.next_attempt_at <= bindparam("now")),
    )
    .limit(1)
)
_INSERT_REPLIES = _OUTBOX.insert().returning(_OUTBOX.c.id, sort_by_parameter_order=True)


def _reply_queue_busy(session: Session, identity_id: int, now: datetime) -> bool:
    """Whether a message to this chat is still to be delivered ahead of a new one (being sent,
    due, or waiting for a retry): the same rule the claim keeps order by."""
    found = session.connection().execute(_QUEUE_BUSY, {"identity_id": identity_id, "now": now})
    return found.first() is not None


def plan_replies(
    session: Session,
    *,
    inbound_id: int,
    platform_id: str,
    identity_id: int,
    community_id: int,
    replies: Sequence[ReplyItem],
    now: datetime,
    lease: timedelta,
) -> PlannedReplies:
    """Write the replies to a recorded message as outbox rows to the chat it came from, inside
    the transaction that marks the message processed: committed together, so that a crash
    after the commit still delivers them (the sender claims them when the lease ends).

    When nothing for this chat is still waiting, the rows are leased to the caller at once
    (status ``sending``, ``attempts`` 1), which sends them directly and then settles them with
    :func:`settle_replies`; otherwise they wait in order behind what is ahead of them.
    Replies are answers, not notices: BERHENTI does not hold them back (``ANSWER_KINDS``).
    """
    if not replies:
        return PlannedReplies((), None)
    direct = not _reply_queue_busy(session, identity_id, now)
    lease_until = now + lease if direct else None
    rows = []
    for i, reply in enumerate(replies):
        values = _values(
            # The platform's id too: row ids can start again once every old message is purged.
            key=f"reply:{inbound_id}:{platform_id[:100]}:{i}",
            kind=REPLY_KIND,
            community_id=community_id,
            text=reply.text,
            member_id=None,
            identity_id=identity_id,
            choices=reply.choices,
            media=reply.media,
            template_vars=None,
            not_before=now,
            broadcast_id=None,
            priority=OutboxPriority.URGENT,
            now=now,
        )
        values["render"] = dict(reply.render)
        if direct:
            values.update(status=OutboxStatus.SENDING, lease_until=lease_until, attempts=1)
        rows.append(values)
    ids = tuple(int(r[0]) for r in session.connection().execute(_INSERT_REPLIES, rows))
    return PlannedReplies(ids, lease_until)


@dataclass(frozen=True, slots=True)
class ReplyFailure:
    """Why the direct send of replies stopped, for :func:`settle_replies`."""

    retry: bool  # a passing failure: the outbox tries again
    detail: str
    retry_after: float | None = None  # seconds the platform asked for (flood control)
    unreachable: bool = False  # a refusal that means the chat cannot be reached any more
    rest: ReplyItem | None = None  # what is left of the reply cut short (its first pieces went)


@dataclass(frozen=True, slots=True)
class Settlement:
    """How the direct send of one message's leased replies went: the first ``sent`` rows were
    delivered; if ``failure``, the next one was not."""

    planned: PlannedReplies
    sent: int
    failure: ReplyFailure | None
    channel: str
    address: str


# Built once, run for many rows at a time: this records every direct reply.
_SETTLE_SENT = (
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id == bindparam("oid"),
        _OUTBOX.c.lease_until == bindparam("lease"),  # still ours: no sender took it over
        _OUTBOX.c.status == OutboxStatus.SENDING,
    )
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("now"),
        updated_at=bindparam("now"),
        lease_until=None,
        channel=bindparam("v_channel"),
        address=bindparam("v_address"),
    )
)


def settle_replies(
    session: Session,
    settlements: Sequence[Settlement],
    *,
    now: datetime,
    retry_after: timedelta = REPLY_RETRY_AFTER,
) -> int:
    """Record how the direct sends of leased replies went, for many messages at once: the sent
    rows in one statement; after a failure, the failed row is retried ``retry_after`` later (or
    as much later as the platform asked), or fails for good with the rest. Rows whose lease
    another sender took over meanwhile are left alone. Returns how many rows were left to the
    outbox to retry."""
    sent = [
        {
            "oid": row_id,
            "lease": s.planned.lease,
            "now": now,
            "v_channel": s.channel,
            "v_address": s.address,
        }
        for s in settlements
        if s.planned.lease is not None
        for row_id in s.planned.ids[: s.sent]
    ]
    if sent:
        session.connection().execute(_SETTLE_SENT, sent)
    return sum(
        _settle_failure(session, s, now=now, retry_after=retry_after)
        for s in settlements
        if s.failure is not None and s.planned.lease is not None and s.sent < len(s.planned.ids)
    )


def _settle_failure(
    session: Session, settlement: Settlement, *, now: datetime, retry_after: timedelta
) -> int:
    failure, planned = settlement.failure, settlement.planned
    assert failure is not None
    o = _table()
    ids = planned.ids
    sent, channel, address = settlement.sent, settlement.channel, settlement.address
    mine = and_(o.c.lease_until == planned.lease, o.c.status == OutboxStatus.SENDING)
    common = {"updated_at": now, "lease_until": None}
    failed, after = ids[sent], ids[sent + 1 :]
    if not failure.retry:
        session.execute(
            update(o)
            .where(o.c.id.in_(ids[sent:]), mine)
            .values(
                **common,
                status=OutboxStatus.FAILED,
                channel=channel,
                address=address,
                reason=Reason.REJECTED,
                last_error=_error(failure.detail),
            )
        )
        if failure.unreachable:
            mark_unreachable(session, channel, address, None)
        return 0
    retry_at = now + max(retry_after, timedelta(seconds=failure.retry_after or 0))
    values: dict[str, Any] = {
        **common,
        "status": OutboxStatus.PENDING,
        "next_attempt_at": retry_at,
        "last_error": _error(failure.detail),
    }
    if failure.rest is not None:  # the pieces already delivered are not sent again
        values.update(
            text=failure.rest.text,
            choices=[list(c) for c in failure.rest.choices],
            media=list(failure.rest.media),
            render=dict(failure.rest.render),
        )
    session.execute(update(o).where(o.c.id == failed, mine).values(**values))
    if after:  # not tried: they wait behind the one that failed, in order
        session.execute(
            update(o)
            .where(o.c.id.in_(after), mine)
            .values(**common, status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now)
        )
    return 1 + len(after)


@dataclass(frozen=True, slots=True)
class Planned:
    """One message of a batch for :func:`enqueue_many` (same meaning as enqueue's arguments)."""

    key: str
    text: str
    member_id: int | None = None
    identity_id: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    media: tuple[str, ...] = ()
    template_vars: Mapping[str, str] | None = None
    not_before: datetime | None = None


def enqueue_many(
    session: Session,
    messages: Sequence[Planned],
    *,
    kind: str,
    community_id: int,
    broadcast_id: int | None = None,
    priority: int = OutboxPriority.NORMAL,
    chunk: int = 200,
) -> int:
    """Plan many messages of one kind at once (a broadcast); returns how many were new."""
    now = utcnow()
    rows = [
        _values(
            key=m.key,
            kind=kind,
            community_id=community_id,
            text=m.text,
            member_id=m.member_id,
            identity_id=m.identity_id,
            choices=m.choices,
            media=m.media,
            template_vars=m.template_vars,
            not_before=m.not_before,
            broadcast_id=broadcast_id,
            priority=priority,
            now=now,
        )
        for m in messages
    ]
    table: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
    stmt: Any = (
        postgresql.insert(table)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(table)
    ).on_conflict_do_nothing()
    # One statement compiled once, run for each slice as the driver's executemany (a statement
    # of many VALUES built per slice cost more to compile than the database took to write it,
    # and RETURNING would need that form); the driver counts the rows really inserted.
    connection = session.connection().execution_options(preserve_rowcount=True)
    inserted = 0
    for start in range(0, len(rows), chunk):
        inserted += connection.execute(stmt, rows[start : start + chunk]).rowcount
    return inserted


# --- claiming ---


_CLAIMED_COLUMNS = (
    "id",
    "key",
    "kind",
    "text",
    "choices",
    "media",
    "template_vars",
    "attempts",
    "priority",
    "next_attempt_at",
    "render",
    "member_id",
    "identity_id",
    "broadcast_id",
)


class OutboxRow(Protocol):
    """What the claim reads of an outbox row (a plain database row, or an OutboxMessage)."""

    @property
    def id(self) -> int | None: ...
    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def choices(self) -> list[list[str]]: ...
    @property
    def media(self) -> list[str]: ...
    @property
    def template_vars(self) -> dict[str, str]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def priority(self) -> int: ...
    @property
    def next_attempt_at(self) -> datetime: ...
    @property
    def render(self) -> dict[str, Any] | None: ...
    @property
    def member_id(self) -> int | None: ...
    @property
    def identity_id(self) -> int | None: ...
    @property
    def broadcast_id(self) -> int | None: ...


class MemberRow(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def opted_out(self) -> bool: ...
    @property
    def anonymised_at(self) -> datetime | None: ...
    @property
    def channel_preference(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...


class IdentityRow(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def opted_out(self) -> bool: ...
    @property
    def unreachable(self) -> bool: ...
    @property
    def last_inbound_at(self) -> datetime | None: ...
    @property
    def first_seen_at(self) -> datetime: ...
    @property
    def language(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """Where one message goes."""

    channel: str
    address: str
    identity_id: int | None  # None: a member's WhatsApp number she never wrote from
    template_sid: str | None = None  # WhatsApp outside the 24-hour window
    # The template has the photo (key "<kind>:media"): variable 2 is the photo's name in
    # PUBLIC_BASE_URL/media/<name>. A text-only template sends the text without the photo.
    template_media: bool = False
    language: str | None = None  # the recipient's, for the words the channel adds


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed row, detached from the database, with its decided target."""

    id: int
    lease: datetime  # the claim's token
    key: str
    kind: str
    text: str
    choices: tuple[tuple[str, str], ...]
    media: tuple[str, ...]
    template_vars: dict[str, str]
    attempts: int  # including this one
    broadcast_id: int | None
    target: Target
    priority: int = OutboxPriority.NORMAL
    render: Mapping[str, Any] = field(default_factory=dict)  # see OutboxMessage.render


@dataclass(frozen=True, slots=True)
class Routing:
    """What the sender can do: its channels and WhatsApp templates per kind."""

    channels: frozenset[str]
    templates: Mapping[str, str] = field(default_factory=dict)
    window: timedelta = WHATSAPP_WINDOW


def _table() -> Table:
    return _OUTBOX


def claim(
    session: Session,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    routing: Routing,
    postgres: bool,
    max_claims: int = 100,
) -> tuple[list[Job], int]:
    """Lease up to ``limit`` due rows and decide each; returns the jobs and how many were skipped.

    Call inside a transaction. On PostgreSQL rows another sender holds are skipped, not waited
    for; on SQLite the transaction already holds the database's write lock.
    """
    o = _table()
    unfinished = (OutboxStatus.PENDING, OutboxStatus.SENDING)

    def earlier_for(column: str) -> Any:
        # One EXISTS per recipient column, so that each one uses that column's index.
        earlier = o.alias(f"earlier_{column}")
        return and_(
            o.c[column].is_not(None),
            exists()
            .where(
                earlier.c[column] == o.c[column],
                earlier.c.id < o.c.id,
                earlier.c.status.in_(unfinished),
                # Rows planned for later (reminders) do not hold back what is due now; rows
                # tried before (waiting for a retry) do.
                or_(earlier.c.attempts > 0, earlier.c.next_attempt_at <= now),
            )
            .correlate(o),
        )

    blocked = or_(earlier_for("member_id"), earlier_for("identity_id"))
    due = or_(
        and_(o.c.status == OutboxStatus.PENDING, o.c.next_attempt_at <= now),
        and_(o.c.status == OutboxStatus.SENDING, o.c.lease_until < now),
    )
    query = (
        select(o.c.id)
        .where(due, ~blocked)
        .order_by(o.c.priority.desc(), o.c.next_attempt_at, o.c.id)
        .limit(limit)
    )
    if postgres:
        query = query.with_for_update(skip_locked=True, of=o)
    ids = [int(row[0]) for row in session.execute(query)]
    if not ids:
        return [], 0
    lease_until = now + lease
    session.execute(
        update(o)
        .where(o.c.id.in_(ids))
        .values(
            status=OutboxStatus.SENDING,
            lease_until=lease_until,
            attempts=o.c.attempts + 1,
            updated_at=now,
        )
    )
    # Plain rows, not ORM objects: a claim is hundreds of rows, many times a second.
    wanted = [o.c[name] for name in _CLAIMED_COLUMNS]
    rows = [cast(OutboxRow, r) for r in session.execute(select(*wanted).where(o.c.id.in_(ids)))]
    decisions = resolve(session, rows, now=now, routing=routing)
    stopped = _stopped_broadcasts(session, {r.broadcast_id for r in rows if r.broadcast_id})
    jobs: list[Job] = []
    skipped: list[Outcome] = []
    for row in sorted(rows, key=lambda r: (-r.priority, aware(r.next_attempt_at), r.id or 0)):
        assert row.id is not None
        decision = decisions[row.id]
        if row.broadcast_id in stopped:
            decision = Skip(Reason.STOPPED, "the coordinator stopped the broadcast")
        if row.attempts > max_claims:
            skipped.append(
                Outcome(
                    row.id,
                    lease_until,
                    OutboxStatus.FAILED,
                    reason=Reason.GAVE_UP,
                    error=f"claimed {row.attempts - 1} times without a final answer",
                )
            )
            continue
        if isinstance(decision, Skip):
            skipped.append(Outcome.skip(row.id, lease_until, decision.reason, decision.detail))
            continue
        jobs.append(
            Job(
                id=row.id,
                lease=lease_until,
                key=row.key,
                kind=row.kind,
                text=row.text,
                choices=tuple((str(c[0]), str(c[1])) for c in row.choices),
                media=tuple(row.media),
                template_vars=dict(row.template_vars),
                attempts=row.attempts,
                broadcast_id=row.broadcast_id,
                target=decision,
                priority=row.priority,
                render=dict(row.render or {}),
            )
        )
    if skipped:
        record(session, skipped, now=now)
    return jobs, len(skipped)


def _stopped_broadcasts(session: Session, ids: set[int | None]) -> set[int]:
    if not ids:
        return set()
    table: Table = Broadcast.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        select(table.c.id).where(table.c.id.in_(ids), table.c.status == BroadcastStatus.STOPPED)
    )
    return {int(row[0]) for row in rows}


def next_due(session: Session, now: datetime) -> datetime | None:
    """When the next row becomes due (now or earlier when one is due already); None if none."""
    o = _table()
    pending = session.execute(
        select(func.min(o.c.next_attempt_at)).where(o.c.status == OutboxStatus.PENDING)
    ).scalar_one_or_none()
    leased = session.execute(
        select(func.min(o.c.lease_until)).where(o.c.status == OutboxStatus.SENDING)
    ).scalar_one_or_none()
    moments = [aware(m) for m in (pending, leased) if m is not None]
    return min(moments) if moments else None


# --- choosing the chat ---


def aware(moment: datetime) -> datetime:
    """SQLite may hand back naive datetimes: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _in_window(identity: IdentityRow | None, now: datetime, window: timedelta) -> bool:
    if identity is None or identity.last_inbound_at is None:
        return False
    return now - aware(identity.last_inbound_at) < window


def _template(kind: str, media: Sequence[str], routing: Routing) -> tuple[str | None, bool]:
    """The Content SID for ``kind`` and whether it is the one with the photo."""
    if media:
        sid = routing.templates.get(f"{kind}:media")
        if sid:
            return sid, True
    return routing.templates.get(kind), False


def _whatsapp_target(
    identity: IdentityRow | None, address: str, row: OutboxRow, now: datetime, routing: Routing
) -> Target | Skip:
    if _in_window(identity, now, routing.window):
        return Target(WHATSAPP, address, identity.id if identity else None)
    sid, with_media = _template(row.kind, row.media, routing)
    if sid:
        return Target(WHATSAPP, address, identity.id if identity else None, sid, with_media)
    return Skip(
        Reason.WINDOW,
        f"no message from this WhatsApp number in the last 24 hours and no template for "
        f"{row.kind!r} (WLCC_WHATSAPP_TEMPLATES)",
    )


def _identity_decision(
    identity: IdentityRow | None, row: OutboxRow, now: datetime, routing: Routing
) -> Target | Skip:
    if identity is None:
        return Skip(Reason.NO_CHANNEL, "the chat identity no longer exists")
    if identity.opted_out and row.kind not in ANSWER_KINDS:
        return Skip(Reason.OPTED_OUT, "this chat said BERHENTI")
    if identity.unreachable:
        return Skip(Reason.UNREACHABLE, f"the {identity.channel} chat cannot be reached")
    if identity.channel not in routing.channels:
        return Skip(Reason.CHANNEL_OFF, f"the {identity.channel} channel is not configured")
    if identity.channel == WHATSAPP:
        return _whatsapp_target(identity, identity.address, row, now, routing)
    return Target(identity.channel, identity.address, identity.id)


def _member_decision(
    member: MemberRow | None,
    identities: Sequence[IdentityRow],
    row: OutboxRow,
    now: datetime,
    routing: Routing,
) -> Target | Skip:
    if member is None or member.anonymised_at is not None:
        return Skip(Reason.NO_CHANNEL, "the member no longer exists")
    if member.opted_out:
        return Skip(Reason.OPTED_OUT, "the member said BERHENTI")
    usable = [i for i in identities if not i.opted_out]
    reachable = [i for i in usable if not i.unreachable]
    latest = sorted(reachable, key=lambda i: aware(i.last_inbound_at or i.first_seen_at))
    if SIMULATOR in routing.channels:
        # The demo: a simulated person reads everything in her terminal chat.
        simulated = [i for i in latest if i.channel == SIMULATOR]
        if simulated:
            return Target(SIMULATOR, simulated[-1].address, simulated[-1].id)
    telegram = [i for i in latest if i.channel == TELEGRAM]
    whatsapp_ids = [i for i in latest if i.channel == WHATSAPP]
    whatsapp: IdentityRow | None = whatsapp_ids[-1] if whatsapp_ids else None
    blocked_whatsapp = any(i.channel == WHATSAPP and i.unreachable for i in usable)
    # Without a WhatsApp chat yet, her phone on file is the address (checked again: it may have
    # become invalid). Parsing numbers is slow, so only when it comes to that.
    phone: str | None = None
    telegram_first = bool(telegram) and TELEGRAM in routing.channels
    wants_whatsapp = not telegram_first or member.channel_preference == WHATSAPP
    if whatsapp is None and member.phone and not blocked_whatsapp and wants_whatsapp:
        phone = to_e164(member.phone)
    whatsapp_address = whatsapp.address if whatsapp else phone
    order = (WHATSAPP, TELEGRAM) if member.channel_preference == WHATSAPP else (TELEGRAM, WHATSAPP)
    window_skip: Skip | None = None
    for channel in order:
        if channel not in routing.channels:
            continue
        if channel == TELEGRAM and telegram:
            chat = telegram[-1]
            return Target(TELEGRAM, chat.address, chat.id)
        if channel == WHATSAPP and whatsapp_address:
            decision = _whatsapp_target(whatsapp, whatsapp_address, row, now, routing)
            if isinstance(decision, Target):
                return decision
            window_skip = decision
    if window_skip is not None:
        return window_skip
    if len(reachable) < len(usable):
        return Skip(Reason.UNREACHABLE, "every chat of this member blocked the bot or left")
    invalid = member.phone and phone is None and whatsapp is None and not blocked_whatsapp
    if invalid and not telegram_first:
        return Skip(Reason.INVALID_PHONE, f"the member's phone {member.phone!r} is not valid")
    if not routing.channels & {TELEGRAM, WHATSAPP}:
        return Skip(Reason.CHANNEL_OFF, "neither Telegram nor WhatsApp is configured")
    if telegram or whatsapp_address or member.phone:
        return Skip(Reason.CHANNEL_OFF, "the member's channels are not configured here")
    return Skip(Reason.NO_CHANNEL, "the member has no phone and no linked chat")


def resolve(
    session: Session, rows: Sequence[OutboxRow], *, now: datetime, routing: Routing
) -> dict[int, Target | Skip]:
    """Decide where each row goes, with a few batch queries for the whole claim.

    Members: their Telegram chat when linked and reachable, unless they chose WhatsApp; then
    WhatsApp (their linked number, or the phone on file), free text within 24 hours of their
    last message, else the kind's template, else skipped. Opted-out and unreachable chats are
    never used; an opted-out member gets nothing.
    """
    member_ids = {r.member_id for r in rows if r.member_id is not None}
    identity_ids = {r.identity_id for r in rows if r.identity_id is not None}
    m: Table = Member.__table__  # type: ignore[attr-defined]
    i: Table = Identity.__table__  # type: ignore[attr-defined]
    members: dict[int, MemberRow] = {}
    if member_ids:
        query = select(
            m.c.id,
            m.c.phone,
            m.c.opted_out,
            m.c.anonymised_at,
            m.c.channel_preference,
            m.c.language,
        ).where(m.c.id.in_(member_ids))
        for found in session.execute(query):
            members[int(found.id)] = cast(MemberRow, found)
    phones = {x.phone for x in members.values() if x.phone}
    identities: dict[int, IdentityRow] = {}
    by_phone: dict[str, list[IdentityRow]] = {}
    conditions = []
    if identity_ids:
        conditions.append(i.c.id.in_(identity_ids))
    if phones:
        conditions.append(i.c.phone.in_(phones))
    if conditions:
        query = select(
            i.c.id,
            i.c.channel,
            i.c.address,
            i.c.phone,
            i.c.opted_out,
            i.c.unreachable,
            i.c.last_inbound_at,
            i.c.first_seen_at,
            i.c.language,
        ).where(or_(*conditions))
        for found in session.execute(query):
            known = cast(IdentityRow, found)
            identities[int(found.id)] = known
            if known.phone:
                by_phone.setdefault(known.phone, []).append(known)
    decisions: dict[int, Target | Skip] = {}
    for row in rows:
        assert row.id is not None
        decision: Target | Skip
        if row.identity_id is not None:
            chat = identities.get(row.identity_id)
            decision = _identity_decision(chat, row, now, routing)
            language = chat.language if chat else None
        else:
            person = members.get(row.member_id or -1)
            chats = by_phone.get(person.phone, []) if person and person.phone else []
            decision = _member_decision(person, chats, row, now, routing)
            language = person.language if person else None
        if isinstance(decision, Target):
            if language is None and decision.identity_id is not None:
                used = identities.get(decision.identity_id)
                language = used.language if used else None
            decision = replace(decision, language=language)
        decisions[row.id] = decision
    return decisions


# --- recording ---


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed row."""

    id: int
    lease: datetime
    status: str  # sent, pending (retry), failed, skipped; "released" puts it back untouched
    channel: str | None = None
    address: str | None = None
    platform_message_id: str | None = None
    next_attempt_at: datetime | None = None
    reason: str | None = None
    error: str | None = None
    unreachable_identity: int | None = None
    # The platform said the address cannot be reached; with no chat record (a member's number
    # that never wrote), :func:`mark_unreachable` makes one to remember it.
    unreachable: bool = False
    identity_id: int | None = None  # the chat it went to (None: a number never seen before)
    choices: tuple[tuple[str, str], ...] = ()

    RELEASED = "released"

    @classmethod
    def skip(cls, row_id: int, lease: datetime, reason: str, detail: str) -> Outcome:
        return cls(row_id, lease, OutboxStatus.SKIPPED, reason=reason, error=detail)


def _error(text: str | None) -> str | None:
    return None if text is None else text[:500]


def record(session: Session, outcomes: Iterable[Outcome], *, now: datetime) -> int:
    """Write outcomes of claimed rows; an outcome whose lease was taken over is ignored.

    Returns how many rows were updated. One statement per kind of outcome for the whole batch
    (``executemany``): the sender records hundreds of outcomes a second.
    """
    batch = list(outcomes)
    if not batch:
        return 0
    o = _table()
    dialect = session.get_bind().dialect.name
    current_query = select(o.c.id, o.c.lease_until, o.c.status, o.c.community_id).where(
        o.c.id.in_({x.id for x in batch})
    )
    if dialect == "postgresql":
        current_query = current_query.with_for_update(of=o)  # no sender reclaims them meanwhile
    current: dict[int, tuple[datetime | None, str]] = {}
    communities: dict[int, int] = {}
    for r in session.execute(current_query):
        current[int(r.id)] = (aware(r.lease_until) if r.lease_until else None, str(r.status))
        communities[int(r.id)] = int(r.community_id)
    groups: dict[str, list[dict[str, Any]]] = {}
    unreachable: set[int] = set()
    # Unreachable numbers that have no chat record: (channel, address, community).
    strangers: set[tuple[str, str, int]] = set()
    remembered: dict[tuple[str, str, int | None], tuple[tuple[str, str], ...]] = {}
    for x in batch:
        lease, status = current.get(x.id, (None, ""))
        if lease != x.lease:
            continue  # the lease ended and another sender took the row over
        if x.status != OutboxStatus.SENT and status != OutboxStatus.SENDING:
            continue  # a delivery report or a stop already settled it
        params: dict[str, Any] = {"oid": x.id}
        if x.status == OutboxStatus.SENT:
            # A delivery report may have come first: keep its (higher) status.
            params.update(
                v_status=OutboxStatus.SENT if status == OutboxStatus.SENDING else status,
                v_channel=x.channel,
                v_address=x.address,
                v_platform_id=x.platform_message_id,
                v_reason=x.reason,
                v_error=_error(x.error),
            )
        elif x.status in (Outcome.RELEASED, OutboxStatus.PENDING):
            params.update(
                v_next=x.next_attempt_at or now,
                v_reason=x.reason,
                v_error=_error(x.error),
            )
        else:  # failed or skipped
            params.update(
                v_status=x.status,
                v_channel=x.channel,
                v_address=x.address,
                v_reason=x.reason,
                v_error=_error(x.error),
            )
        groups.setdefault(x.status if x.status in _GROUPS else OutboxStatus.FAILED, []).append(
            params
        )
        if x.unreachable_identity is not None:
            unreachable.add(x.unreachable_identity)
        elif x.unreachable and x.channel and x.address:
            strangers.add((x.channel, x.address, communities[x.id]))
        if x.choices and x.channel and x.address:
            remembered[(x.channel, x.address, x.identity_id)] = x.choices
    common: dict[str, Any] = {"updated_at": now, "lease_until": None}
    for kind, params_list in groups.items():
        values: dict[str, Any]
        if kind == OutboxStatus.SENT:
            values = {
                "status": bindparam("v_status"),
                "channel": bindparam("v_channel"),
                "address": bindparam("v_address"),
                "platform_message_id": bindparam("v_platform_id"),
                "sent_at": now,
                "reason": bindparam("v_reason"),
                "last_error": bindparam("v_error"),
            }
        elif kind == OutboxStatus.PENDING:
            values = {
                "status": OutboxStatus.PENDING,
                "next_attempt_at": bindparam("v_next"),
                "reason": bindparam("v_reason"),
                "last_error": bindparam("v_error"),
            }
        elif kind == Outcome.RELEASED:  # given back unsent: this attempt does not count
            fewer = (func.max if dialect == "sqlite" else func.greatest)(o.c.attempts - 1, 0)
            values = {
                "status": OutboxStatus.PENDING,
                "attempts": fewer,
                "next_attempt_at": bindparam("v_next"),
            }
        else:
            values = {
                "status": bindparam("v_status"),
                "channel": bindparam("v_channel"),
                "address": bindparam("v_address"),
                "reason": bindparam("v_reason"),
                "last_error": bindparam("v_error"),
            }
        statement = update(o).where(o.c.id == bindparam("oid")).values(**common, **values)
        if kind == Outcome.RELEASED:
            params_list = [{"oid": p["oid"], "v_next": p["v_next"]} for p in params_list]
        session.execute(statement, params_list)
    if unreachable:
        session.execute(
            update(Identity).where(col(Identity.id).in_(unreachable)).values(unreachable=True)
        )
    for channel, address, community_id in sorted(strangers):
        mark_unreachable(session, channel, address, None, now=now, community_id=community_id)
    for (channel, address, identity_id), choices in remembered.items():
        # A typed number answers the choices (on WhatsApp they are a numbered list).
        chat = session.get(Identity, identity_id) if identity_id is not None else None
        if chat is None:  # a WhatsApp number that never wrote: its conversation is by phone
            chat = Identity(community_id=0, channel=channel, address=address, phone=address)
        offer_choices(session, chat, [list(c) for c in choices], now)
    return sum(len(v) for v in groups.values())


_GROUPS = (OutboxStatus.SENT, OutboxStatus.PENDING, Outcome.RELEASED)


# --- delivery reports ---


def apply_delivery_status(
    session: Session,
    *,
    sid: str,
    status: str,
    error_code: str | None = None,
    row_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Apply a Twilio status callback; True when a row changed.

    The row is found by ``row_id`` (the sender puts it in the callback URL, so a report that
    arrives before the sender recorded the message id still lands) or else by the message id.
    Reports arrive in any order: a row never goes back (read stays read when "delivered" comes
    late), and of two final answers (delivered, failed) the first stands.
    """
    new = TWILIO_STATUSES.get(status.lower())
    if new is None:
        return False
    o = _table()
    # The row id comes from the callback URL the sender gave Twilio (and Twilio signed).
    where = o.c.id == row_id if row_id is not None else o.c.platform_message_id == sid
    lower = [s for s, rank in _RANK.items() if rank < _RANK[new]]
    values: dict[str, Any] = {"status": new, "updated_at": now or utcnow()}
    if new == OutboxStatus.FAILED:
        if error_code == "63016":
            values["reason"] = Reason.WINDOW
        elif error_code in UNREACHABLE_TWILIO_CODES:
            values["reason"] = Reason.UNREACHABLE
        else:
            values["reason"] = Reason.REJECTED
        values["last_error"] = _error(f"Twilio {status} (error {error_code or 'unknown'})")
    result = session.execute(update(o).where(where, o.c.status.in_(lower)).values(**values))
    changed = int(result.rowcount or 0) > 0  # type: ignore[attr-defined]
    if changed and new == OutboxStatus.FAILED and error_code in UNREACHABLE_TWILIO_CODES:
        row = session.execute(
            select(o.c.identity_id, o.c.address, o.c.community_id).where(where)
        ).first()
        if row is not None:
            mark_unreachable(
                session, WHATSAPP, row.address, row.identity_id, community_id=row.community_id
            )
    return changed


# --- the simulated chats (the demo) ---


@dataclass(frozen=True, slots=True)
class Arrived:
    """A proactive message delivered to a simulated chat, as its reader needs it."""

    id: int
    text: str
    choices: tuple[tuple[str, str], ...]
    render: Mapping[str, Any]
    language: str | None  # the recipient's, for the words the channel adds


def simulated_unread(session: Session, address: str) -> list[Arrived]:
    """The messages delivered to the simulated chat ``address`` and not read yet, oldest first.

    Replies are left out: the terminal chat shows a person's answers as she gets them.
    """
    o = _table()
    rows = session.execute(
        select(o.c.id, o.c.text, o.c.choices, o.c.render, o.c.member_id)
        .where(
            o.c.channel == SIMULATOR,
            o.c.address == address,
            o.c.status.in_((OutboxStatus.SENT, OutboxStatus.DELIVERED)),
            o.c.kind.not_in(ANSWER_KINDS),
        )
        .order_by(o.c.sent_at, o.c.id)
    ).all()
    if not rows:
        return []
    i: Table = Identity.__table__  # type: ignore[attr-defined]
    chat_language = session.execute(
        select(i.c.language).where(i.c.channel == SIMULATOR, i.c.address == address)
    ).scalar_one_or_none()
    member_ids = {int(r.member_id) for r in rows if r.member_id is not None}
    languages: dict[int, str | None] = {}
    if member_ids:
        m: Table = Member.__table__  # type: ignore[attr-defined]
        for found in session.execute(select(m.c.id, m.c.language).where(m.c.id.in_(member_ids))):
            languages[int(found.id)] = found.language
    return [
        Arrived(
            id=int(r.id),
            text=str(r.text),
            choices=tuple((str(c[0]), str(c[1])) for c in r.choices),
            render=dict(r.render or {}),
            language=(languages.get(int(r.member_id)) if r.member_id is not None else None)
            or chat_language,
        )
        for r in rows
    ]


def mark_read(session: Session, ids: Iterable[int], now: datetime | None = None) -> int:
    """The person read these messages: sent or delivered ones become ``read``; nothing moves
    back (a row already read, failed or skipped stays as it is). Returns how many changed."""
    wanted = list(ids)
    if not wanted:
        return 0
    o = _table()
    # Only what arrived can be read: a failed or skipped row never was, a read one stays.
    arrived = (OutboxStatus.SENT, OutboxStatus.DELIVERED)
    result = session.execute(
        update(o)
        .where(o.c.id.in_(wanted), o.c.status.in_(arrived))
        .values(status=OutboxStatus.READ, updated_at=now or utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


FINISHED = (
    OutboxStatus.SENT,
    OutboxStatus.DELIVERED,
    OutboxStatus.READ,
    OutboxStatus.FAILED,
    OutboxStatus.SKIPPED,
)


def purge_outbox(session: Session, older_than_days: int, now: datetime | None = None) -> int:
    """Forget finished messages last touched more than ``older_than_days`` ago (their texts are
    personal data), and finished replies after ``REPLY_RETENTION``; pending ones, and every row
    of a broadcast still sending, stay."""
    now = now or utcnow()
    cutoff = now - timedelta(days=older_than_days)
    table = _table()
    sending = select(col(Broadcast.id)).where(col(Broadcast.status) == BroadcastStatus.SENDING)
    result = session.execute(
        delete(table).where(
            table.c.status.in_(FINISHED),
            or_(
                table.c.updated_at < cutoff,
                and_(table.c.kind.in_(ANSWER_KINDS), table.c.updated_at < now - REPLY_RETENTION),
            ),
            or_(table.c.broadcast_id.is_(None), table.c.broadcast_id.not_in(sending)),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Twilio codes that mean the person cannot be reached on WhatsApp with this number.
UNREACHABLE_TWILIO_CODES = frozenset({"21610", "63003", "63024", "21614", "21211"})


def mark_unreachable(
    session: Session,
    channel: str,
    address: str | None,
    identity_id: int | None,
    *,
    now: datetime | None = None,
    community_id: int | None = None,
) -> None:
    """Remember that the platform refused a chat for good; later messages skip it.

    A member's WhatsApp number that never wrote has no chat record yet: one is made for it in
    ``community_id`` (the refused message's; marked, never written from), so that the refusal
    is remembered. The mark goes when the chat writes again
    (:func:`storage.identities.touch_identity`).
    """
    if identity_id is not None:
        session.execute(
            update(Identity).where(col(Identity.id) == identity_id).values(unreachable=True)
        )
    elif address:
        result = session.execute(
            update(Identity)
            .where(col(Identity.channel) == channel, col(Identity.address) == address)
            .values(unreachable=True)
        )
        updated = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if not updated and channel == WHATSAPP and community_id is not None:
            insert_ignore(
                session,
                Identity,
                {
                    "community_id": community_id,
                    "channel": channel,
                    "address": address,
                    "phone": address,  # a WhatsApp address is the E.164 number
                    "first_seen_at": now or utcnow(),
                    "last_inbound_at": None,
                    "opted_out": False,
                    # (a concurrent insert of the same number is marked as well)
                    "unreachable": True,
                },
            )


# --- sender heartbeats and counts ---


def heartbeat(session: Session, name: str, now: datetime, *, started: bool = False) -> None:
    """Record that sender ``name`` is alive; a starting one also forgets senders long gone
    (killed ones never say goodbye)."""
    if started:
        table: Table = OutboxWorker.__table__  # type: ignore[attr-defined]
        session.execute(delete(table).where(table.c.seen_at < now - timedelta(days=1)))
    worker = session.get(OutboxWorker, name)
    if worker is None:
        worker = OutboxWorker(name=name, started_at=now, seen_at=now)
    worker.seen_at = now
    if started:
        worker.started_at = now
    session.add(worker)


def forget_worker(session: Session, name: str) -> None:
    worker = session.get(OutboxWorker, name)
    if worker is not None:
        session.delete(worker)


def active_workers(session: Session, now: datetime, within: timedelta) -> list[str]:
    """Names of the senders seen within ``within`` (they write a heartbeat every few seconds)."""
    table: Table = OutboxWorker.__table__  # type: ignore[attr-defined]
    rows = session.execute(select(table.c.name).where(table.c.seen_at >= now - within))
    return [str(row[0]) for row in rows]


def status_counts(session: Session, community_id: int | None = None) -> dict[str, int]:
    o = _table()
    query = select(o.c.status, func.count()).group_by(o.c.status)
    if community_id is not None:
        query = query.where(o.c.community_id == community_id)
    return {str(status): int(n) for status, n in session.execute(query)}


def template_variables(
    job_text: str, template_vars: Mapping[str, str], media_name: str | None = None
) -> str:
    """Twilio's ContentVariables: the row's own, else the text as variable 1 (and the photo's
    name as variable 2 for a template with a photo). WhatsApp refuses line breaks and runs of
    spaces inside template variables, so they are folded."""
    variables = dict(template_vars) if template_vars else {"1": job_text}
    if media_name is not None:
        variables.setdefault("2", media_name)
    return json.dumps({k: " ".join(str(v).split())[:1024] for k, v in variables.items()})
