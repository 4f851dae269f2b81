"""Inbound messages: recorded once per platform id."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col

from storage.models import InboundMessage
from storage.ops import insert_ignore
from wlcc.formatting import utcnow


def record_inbound(
    session: Session,
    *,
    channel: str,
    platform_id: str,
    kind: str,
    received_at: datetime | None = None,
) -> int | None:
    """Store the message; None means the platform already delivered it (a retry)."""
    return insert_ignore(
        session,
        InboundMessage,
        {
            "channel": channel,
            "platform_id": platform_id[:128],
            "kind": kind,
            "received_at": received_at or utcnow(),
        },
    )


def attach_identity(session: Session, inbound_id: int, identity_id: int) -> None:
    row = session.get(InboundMessage, inbound_id)
    if row is not None:
        row.identity_id = identity_id
        session.add(row)


def purge_inbound(session: Session, older_than_days: int) -> int:
    """Forget dedupe records older than any platform retry window (personal-data minimisation)."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = session.execute(delete(InboundMessage).where(col(InboundMessage.received_at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
