"""Producing proactive messages: one row per unique key, so producing twice is a no-op."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from storage.models import OutboxMessage
from storage.ops import insert_ignore
from wlcc.formatting import utcnow


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
) -> int | None:
    """Plan a message to a member (or to one chat identity). None when the key already exists."""
    if (member_id is None) == (identity_id is None):
        raise ValueError("an outbox message goes to exactly one member or identity")
    now = utcnow()
    return insert_ignore(
        session,
        OutboxMessage,
        {
            "key": key[:200],
            "kind": kind,
            "community_id": community_id,
            "member_id": member_id,
            "identity_id": identity_id,
            "text": text,
            "choices": [[payload, label] for payload, label in choices],
            "media": list(media),
            "template_vars": template_vars or {},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": not_before or now,
            "created_at": now,
            "updated_at": now,
        },
    )
