"""Conversation state per speaker."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col

from storage.models import Conversation
from wlcc.formatting import utcnow


def load_conversation(session: Session, key: str) -> Conversation:
    """The speaker's state (a fresh, unsaved one on first contact)."""
    conversation = session.get(Conversation, key)
    if conversation is None:
        conversation = Conversation(key=key, data={}, choices=[])
    return conversation


def save_conversation(
    session: Session, conversation: Conversation, now: datetime | None = None
) -> None:
    conversation.updated_at = now or utcnow()
    # JSON columns are replaced as whole values so the change is always detected.
    conversation.data = dict(conversation.data)
    conversation.choices = [list(c) for c in conversation.choices]
    session.add(conversation)


def purge_idle_conversations(session: Session, older_than: timedelta) -> int:
    cutoff = utcnow() - older_than
    result = session.execute(delete(Conversation).where(col(Conversation.updated_at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
