"""Broadcasts: an announcement to a group of members, fanned out through the outbox.

Audiences are named filters over the active members of a community (:data:`AUDIENCES`): everyone,
one kelurahan, one role, one answer to a meeting (``"rsvp"``, value such as ``"42:yes"``:
storage.meetings.rsvp_audience). A new kind of audience is one function added with
:func:`register_audience`; the dialog, the CLI and the counts use it unchanged.

A broadcast is one outbox row per member (key ``broadcast:<id>:member:<member id>``, bulk
priority), so producing it twice sends nothing twice and the sender's rules (rate limits,
opt-out, 24-hour window) apply to every message. :func:`progress_tick` (run by the sender) tells
the author how it goes and sends one summary when it is over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, case, func, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.meetings import rsvp_audience
from storage.models import (
    Broadcast,
    BroadcastStatus,
    Identity,
    Member,
    MemberStatus,
    OutboxMessage,
    OutboxPriority,
    OutboxStatus,
    Role,
)
from storage.outbox import MEDIA_PREFIX, Planned, Reason, aware, enqueue, enqueue_many
from wlcc.i18n import Translator

KIND = "broadcast"
STOP_KEYWORD = "HENTIKAN UMUMKAN"
# A broadcast is one message: texts longer than a platform takes in one message are refused
# (not split), so every member reads it whole and the preview is exactly what they get.
TEXT_LIMIT = 1600  # Twilio's limit for a WhatsApp body (Telegram allows 4096)
CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption


def text_length(text: str) -> int:
    """Length as the platforms count it (UTF-16 code units: an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def content_problem(text: str, has_photo: bool) -> tuple[str, int] | None:
    """Why this content cannot go out (``("empty"|"too_long", limit)``), or None."""
    limit = CAPTION_LIMIT if has_photo else TEXT_LIMIT
    if not text.strip() and not has_photo:
        return "empty", limit
    if text_length(text) > limit:
        return "too_long", limit
    return None


# --- audiences ---


@dataclass(frozen=True, slots=True)
class Audience:
    kind: str = "all"
    value: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(str(data.get("kind") or "all"), data.get("value"))


AudienceFilter = Callable[[SelectOfScalar[Member], str | None], SelectOfScalar[Member]]


def _everyone(query: SelectOfScalar[Member], _value: str | None) -> SelectOfScalar[Member]:
    return query


def _kelurahan(query: SelectOfScalar[Member], value: str | None) -> SelectOfScalar[Member]:
    return query.where(func.lower(Member.kelurahan) == (value or "").strip().lower())


def _role(query: SelectOfScalar[Member], value: str | None) -> SelectOfScalar[Member]:
    return query.where(Member.role == (value or ""))


AUDIENCES: dict[str, AudienceFilter] = {
    "all": _everyone,
    "kelurahan": _kelurahan,
    "role": _role,
    "rsvp": rsvp_audience,  # one answer to one meeting: "12:yes" (storage.meetings)
}


def register_audience(kind: str, narrow: AudienceFilter) -> None:
    """Add a kind of audience (e.g. ``"rsvp"`` once meetings exist)."""
    AUDIENCES[kind] = narrow


class UnknownAudience(ValueError):
    pass


def audience_query(community_id: int, audience: Audience) -> SelectOfScalar[Member]:
    narrow = AUDIENCES.get(audience.kind)
    if narrow is None:
        raise UnknownAudience(audience.kind)
    base = select(Member).where(
        Member.community_id == community_id,
        Member.status == MemberStatus.ACTIVE,
        col(Member.anonymised_at).is_(None),
    )
    return narrow(base, audience.value).order_by(col(Member.id))


@dataclass(frozen=True, slots=True)
class AudienceCount:
    total: int
    opted_out: int

    @property
    def reachable(self) -> int:
        return self.total - self.opted_out


def count_audience(session: Session, community_id: int, audience: Audience) -> AudienceCount:
    members = audience_query(community_id, audience).order_by(None).subquery()
    total, opted_out = session.execute(
        select(func.count(), func.coalesce(func.sum(case((members.c.opted_out, 1), else_=0)), 0))
    ).one()
    return AudienceCount(int(total), int(opted_out))


def kelurahan_options(session: Session, community_id: int) -> list[tuple[str, int]]:
    """The kelurahan of active members, with how many live in each."""
    rows = session.execute(
        select(Member.kelurahan, func.count())
        .where(
            Member.community_id == community_id,
            Member.status == MemberStatus.ACTIVE,
            col(Member.anonymised_at).is_(None),
            col(Member.kelurahan).is_not(None),
        )
        .group_by(Member.kelurahan)
        .order_by(Member.kelurahan)
    )
    return [(str(name), int(n)) for name, n in rows if name]


def role_options(session: Session, community_id: int) -> list[tuple[str, int]]:
    rows = session.execute(
        select(Member.role, func.count())
        .where(
            Member.community_id == community_id,
            Member.status == MemberStatus.ACTIVE,
            col(Member.anonymised_at).is_(None),
        )
        .group_by(Member.role)
    )
    counts = {str(role): int(n) for role, n in rows}
    return [(role, counts[role]) for role in Role.MEMBER_ROLES if counts.get(role)]


# --- creating and stopping ---


def member_key(broadcast_id: int, member_id: int) -> str:
    return f"broadcast:{broadcast_id}:member:{member_id}"


def create_broadcast(
    session: Session,
    *,
    community_id: int,
    text: str,
    audience: Audience,
    now: datetime,
    author_member_id: int | None = None,
    author_identity_id: int | None = None,
    author_label: str | None = None,
    media_id: int | None = None,
) -> Broadcast:
    """Record the broadcast and plan one message per member of the audience."""
    broadcast = Broadcast(
        community_id=community_id,
        author_member_id=author_member_id,
        author_identity_id=author_identity_id,
        author_label=author_label,
        text=text,
        media_id=media_id,
        audience=audience.as_json(),
        status=BroadcastStatus.SENDING,
        created_at=now,
    )
    session.add(broadcast)
    session.flush()
    assert broadcast.id is not None
    media = (f"{MEDIA_PREFIX}{media_id}",) if media_id is not None else ()
    ids = [
        int(m.id)
        for (m,) in session.execute(audience_query(community_id, audience))
        if m.id is not None
    ]
    planned = [
        Planned(
            key=member_key(broadcast.id, member_id), text=text, member_id=member_id, media=media
        )
        for member_id in ids
    ]
    enqueue_many(
        session,
        planned,
        kind=KIND,
        community_id=community_id,
        broadcast_id=broadcast.id,
        priority=OutboxPriority.BULK,
    )
    broadcast.total = len(planned)
    session.add(broadcast)
    return broadcast


def running_broadcasts(session: Session, community_id: int) -> list[Broadcast]:
    return list(
        session.exec(
            select(Broadcast)
            .where(
                Broadcast.community_id == community_id, Broadcast.status == BroadcastStatus.SENDING
            )
            .order_by(col(Broadcast.id))
        )
    )


def latest_broadcast(session: Session, community_id: int) -> Broadcast | None:
    return session.exec(
        select(Broadcast)
        .where(Broadcast.community_id == community_id)
        .order_by(col(Broadcast.id).desc())
    ).first()


def stop_broadcast(session: Session, broadcast: Broadcast, now: datetime) -> int:
    """Stop it: messages not yet sent are skipped (those on their way still arrive).

    Returns how many messages will not be sent.
    """
    assert broadcast.id is not None
    table: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table)
        .where(table.c.broadcast_id == broadcast.id, table.c.status == OutboxStatus.PENDING)
        .values(
            status=OutboxStatus.SKIPPED,
            reason=Reason.STOPPED,
            last_error="the coordinator stopped the broadcast",
            updated_at=now,
        )
    )
    broadcast.status = BroadcastStatus.STOPPED
    broadcast.stopped_at = now
    session.add(broadcast)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- progress ---


@dataclass
class BroadcastCounts:
    total: int = 0
    waiting: int = 0  # pending or being sent
    sent: int = 0  # handed to the platform (delivered and read included)
    delivered: int = 0  # the platform reported it delivered (read included)
    read: int = 0
    failed: int = 0
    skipped: int = 0
    reasons: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, reason) -> n

    @property
    def done(self) -> int:
        return self.total - self.waiting


def broadcast_counts(session: Session, broadcast_id: int) -> BroadcastCounts:
    table: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
    counts = BroadcastCounts()
    rows = session.execute(
        select(table.c.status, table.c.reason, func.count())
        .where(table.c.broadcast_id == broadcast_id)
        .group_by(table.c.status, table.c.reason)
    )
    for status, reason, n in rows:
        n = int(n)
        counts.total += n
        if status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            counts.waiting += n
        elif status in (OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ):
            counts.sent += n
            if status != OutboxStatus.SENT:
                counts.delivered += n
            if status == OutboxStatus.READ:
                counts.read += n
        elif status == OutboxStatus.FAILED:
            counts.failed += n
        elif status == OutboxStatus.SKIPPED:
            counts.skipped += n
        if status in (OutboxStatus.FAILED, OutboxStatus.SKIPPED):
            key = (str(status), str(reason or Reason.REJECTED))
            counts.reasons[key] = counts.reasons.get(key, 0) + n
    return counts


def _reason_lines(t: Translator, counts: BroadcastCounts, status: str) -> list[str]:
    lines = []
    for (row_status, reason), n in sorted(counts.reasons.items(), key=lambda kv: -kv[1]):
        if row_status == status:
            code = reason if reason in Reason.ALL else Reason.REJECTED
            lines.append(t("broadcast.reason_line", reason=t(f"outbox.reason.{code}"), count=n))
    return lines


def summary_text(t: Translator, broadcast: Broadcast, counts: BroadcastCounts) -> str:
    """What the author reads at the end (and on ``UMUMKAN STATUS``)."""
    head = {
        BroadcastStatus.DONE: "broadcast.summary_done",
        BroadcastStatus.STOPPED: "broadcast.summary_stopped",
    }.get(broadcast.status, "broadcast.summary_running")
    lines = [
        t(head, id=broadcast.id),
        t("broadcast.summary_sent", sent=counts.sent, total=counts.total),
        t("broadcast.summary_delivered", delivered=counts.delivered, read=counts.read),
    ]
    if counts.waiting:
        lines.append(t("broadcast.summary_waiting", count=counts.waiting))
    lines.append(t("broadcast.summary_failed", count=counts.failed))
    lines += _reason_lines(t, counts, OutboxStatus.FAILED)
    lines.append(t("broadcast.summary_skipped", count=counts.skipped))
    lines += _reason_lines(t, counts, OutboxStatus.SKIPPED)
    return "\n".join(lines)


def progress_text(t: Translator, broadcast: Broadcast, counts: BroadcastCounts) -> str:
    return t(
        "broadcast.progress",
        id=broadcast.id,
        done=counts.done,
        total=counts.total,
        sent=counts.sent,
        failed=counts.failed,
        skipped=counts.skipped,
    )


def author_language(session: Session, broadcast: Broadcast) -> str | None:
    if broadcast.author_identity_id is not None:
        identity = session.get(Identity, broadcast.author_identity_id)
        if identity is not None and identity.language:
            return identity.language
    if broadcast.author_member_id is not None:
        member = session.get(Member, broadcast.author_member_id)
        if member is not None:
            return member.language
    return None


def _tell_author(
    session: Session,
    broadcast: Broadcast,
    key: str,
    text: str,
    choices: tuple[tuple[str, str], ...] = (),
) -> None:
    if broadcast.author_identity_id is None and broadcast.author_member_id is None:
        return  # from the terminal: the CLI shows its own progress
    enqueue(
        session,
        key=key,
        kind="broadcast_report",
        community_id=broadcast.community_id,
        identity_id=broadcast.author_identity_id,
        member_id=None if broadcast.author_identity_id is not None else broadcast.author_member_id,
        text=text,
        choices=choices,
        priority=OutboxPriority.URGENT,
    )


def progress_tick(session: Session, now: datetime, every: timedelta) -> list[int]:
    """Report on running and just-stopped broadcasts; returns the ids that ended now.

    Progress goes to the author at most every ``every``; the summary once, when no message is
    waiting any more. Keys make both once-only even with several senders.
    """
    ended: list[int] = []
    open_broadcasts = session.exec(
        select(Broadcast).where(
            (col(Broadcast.status) == BroadcastStatus.SENDING)
            | (
                (col(Broadcast.status) == BroadcastStatus.STOPPED)
                & col(Broadcast.finished_at).is_(None)
            )
        )
    )
    for broadcast in list(open_broadcasts):
        assert broadcast.id is not None
        counts = broadcast_counts(session, broadcast.id)
        t = Translator(author_language(session, broadcast))
        if counts.waiting == 0:
            if broadcast.status == BroadcastStatus.SENDING:
                broadcast.status = BroadcastStatus.DONE
            broadcast.finished_at = now
            session.add(broadcast)
            _tell_author(
                session,
                broadcast,
                f"broadcast:{broadcast.id}:summary",
                summary_text(t, broadcast, counts),
            )
            ended.append(broadcast.id)
            continue
        if broadcast.status != BroadcastStatus.SENDING:
            continue
        since = aware(broadcast.last_progress_at or broadcast.created_at)
        if now - since >= every:
            step = int((now - aware(broadcast.created_at)) / every)
            _tell_author(
                session,
                broadcast,
                f"broadcast:{broadcast.id}:progress:{step}",
                progress_text(t, broadcast, counts),
                ((STOP_KEYWORD, t("broadcast.stop_button")),),
            )
            broadcast.last_progress_at = now
            session.add(broadcast)
    return ended
