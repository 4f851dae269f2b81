"""Inbound messages: recorded once per platform id, kept until processed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, update
from sqlmodel import Session, col, select

from storage.models import InboundMessage
from storage.ops import insert_ignore, insert_ignore_many
from wlcc.formatting import utcnow


@dataclass(frozen=True, slots=True)
class NewInbound:
    channel: str
    platform_id: str
    kind: str
    received_at: datetime
    payload: dict[str, Any] | None = None


def _row(
    channel: str, platform_id: str, kind: str, received_at: datetime | None, payload: Any
) -> dict[str, Any]:
    return {
        "channel": channel,
        "platform_id": platform_id[:128],
        "kind": kind,
        "received_at": received_at or utcnow(),
        "payload": payload,
    }


def record_inbound(
    session: Session,
    *,
    channel: str,
    platform_id: str,
    kind: str,
    received_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> int | None:
    """Store the message; None means the platform already delivered it (a retry)."""
    return insert_ignore(
        session, InboundMessage, _row(channel, platform_id, kind, received_at, payload)
    )


def record_many(session: Session, items: Sequence[NewInbound]) -> list[int | None]:
    """Record a batch with one statement in one transaction (one commit for many webhooks);
    for each item its id, or None for a platform retry (or a repeat within the batch)."""
    rows = [
        _row(item.channel, item.platform_id, item.kind, item.received_at, item.payload)
        for item in items
    ]
    return insert_ignore_many(session, InboundMessage, rows, key=("channel", "platform_id"))


_TABLE = InboundMessage.__table__  # type: ignore[attr-defined]
_CLAIM = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("inbound_id"), _TABLE.c.processed_at.is_(None))
    .values(processed_at=bindparam("now"), payload=None, identity_id=bindparam("identity_id"))
)


def claim_for_processing(session: Session, inbound_id: int, identity_id: int) -> bool:
    """Mark a recorded message processed (inside the turn's transaction); False if it already
    was, e.g. by another instance recovering it at the same moment."""
    result = session.connection().execute(
        _CLAIM, {"inbound_id": inbound_id, "identity_id": identity_id, "now": utcnow()}
    )
    return bool(result.rowcount)


def note_failure(
    session: Session, inbound_id: int, error: str, *, now: datetime, attempts: int
) -> int:
    """Count one failed answer to a recorded message, with its error; at ``attempts`` failures
    the message is set aside (``failed_at``): no restart tries it again. Returns the failures
    counted so far (0: the message was answered or set aside meanwhile)."""
    row = session.get(InboundMessage, inbound_id)
    if row is None or row.processed_at is not None or row.failed_at is not None:
        return 0
    row.attempts += 1
    row.error = error[:500]
    if row.attempts >= attempts:
        row.failed_at = now
    session.add(row)
    return row.attempts


def failed_messages(session: Session, limit: int = 100) -> list[InboundMessage]:
    """Messages set aside because answering them kept failing, newest first."""
    return list(
        session.exec(
            select(InboundMessage)
            .where(col(InboundMessage.failed_at).is_not(None))
            .order_by(col(InboundMessage.id).desc())
            .limit(limit)
        )
    )


def count_failed(session: Session) -> int:
    return int(
        session.execute(
            select(func.count()).where(col(InboundMessage.failed_at).is_not(None))
        ).scalar_one()
    )


def retry_failed(session: Session, inbound_id: int | None = None) -> int:
    """Put set-aside messages (one, or all) back to be answered; returns how many."""
    query = update(InboundMessage).where(
        col(InboundMessage.failed_at).is_not(None), col(InboundMessage.processed_at).is_(None)
    )
    if inbound_id is not None:
        query = query.where(col(InboundMessage.id) == inbound_id)
    result = session.execute(query.values(failed_at=None, attempts=0))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def unprocessed(
    session: Session, received_before: datetime, limit: int = 1000, after_id: int = 0
) -> list[InboundMessage]:
    """Messages recorded but never processed (the process stopped in between, or a worker
    answers them), oldest first; only those with an id above ``after_id``. Messages set aside
    after failing too often are not among them."""
    return list(
        session.exec(
            select(InboundMessage)
            .where(
                col(InboundMessage.processed_at).is_(None),
                col(InboundMessage.failed_at).is_(None),
                col(InboundMessage.received_at) < received_before,
                col(InboundMessage.id) > after_id,
            )
            .order_by(col(InboundMessage.id))
            .limit(limit)
        )
    )


def purge_inbound(session: Session, older_than_days: int) -> int:
    """Forget dedupe records older than any platform retry window (personal-data minimisation),
    and messages set aside as failed, as old."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = session.execute(
        delete(InboundMessage).where(
            col(InboundMessage.received_at) < cutoff,
            or_(
                col(InboundMessage.processed_at).is_not(None),
                col(InboundMessage.failed_at).is_not(None),
            ),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
