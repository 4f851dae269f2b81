"""The audit log: privileged actions and refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.models import AuditLog


def record_audit(
    session: Session,
    *,
    action: str,
    allowed: bool,
    community_id: int | None,
    actor_member_id: int | None,
    actor_identity_id: int | None,
    channel: str | None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditLog:
    entry = AuditLog(
        community_id=community_id,
        actor_member_id=actor_member_id,
        actor_identity_id=actor_identity_id,
        channel=channel,
        action=action,
        allowed=allowed,
        target=target,
        detail=detail or {},
    )
    if now is not None:
        entry.created_at = now
    session.add(entry)
    return entry
