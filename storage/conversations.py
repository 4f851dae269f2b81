"""Conversation state per speaker."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col

from storage.models import Conversation, Identity
from wlcc.formatting import utcnow


def conversation_key(identity: Identity) -> str:
    """Conversations follow the person: by proven phone when known, else by chat address."""
    if identity.phone:
        return f"phone:{identity.phone}"
    return f"{identity.channel}:{identity.address}"


def offer_choices(
    session: Session, identity: Identity, choices: list[list[str]], now: datetime
) -> bool:
    """Let a typed number answer a proactive message's choices (e.g. "1" = approve).

    Only when the person is not in the middle of a dialog, whose own choices must keep their
    numbers. Call it in the transaction that records the message as sent.
    """
    conversation = load_conversation(session, conversation_key(identity))
    if conversation.dialog is not None or not choices:
        return False
    conversation.choices = [list(c) for c in choices]
    save_conversation(session, conversation, now)
    return True


def load_conversation(session: Session, key: str) -> Conversation:
    """The speaker's state (a fresh, unsaved one on first contact)."""
    conversation = session.get(Conversation, key)
    if conversation is None:
        conversation = Conversation(key=key, data={}, choices=[])
    return conversation


def snapshot(conversation: Conversation) -> tuple[object, ...]:
    """What a turn may change, to tell whether the conversation needs saving."""
    return (
        conversation.key,
        conversation.dialog,
        conversation.step,
        repr(conversation.data),
        repr(conversation.choices),
        conversation.member_id,
    )


def save_conversation(
    session: Session, conversation: Conversation, now: datetime | None = None
) -> None:
    conversation.updated_at = now or utcnow()
    session.add(conversation)
    # Dialogs change the JSON values in place, which SQLAlchemy cannot see by itself.
    flag_modified(conversation, "data")
    flag_modified(conversation, "choices")


def purge_idle_conversations(session: Session, older_than: timedelta) -> int:
    cutoff = utcnow() - older_than
    result = session.execute(delete(Conversation).where(col(Conversation.updated_at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def move_conversation(session: Session, old: Conversation, new_key: str) -> Conversation:
    """Carry a dialog over to the speaker's new key (a chat that just proved its phone).

    A dialog already waiting under the new key (the same person on the other channel) wins.
    """
    target = load_conversation(session, new_key)
    if target.dialog is None:
        target.dialog, target.step = old.dialog, old.step
        target.data, target.choices = dict(old.data), [list(c) for c in old.choices]
    if session.get(Conversation, old.key) is not None:
        session.delete(old)
    return target
