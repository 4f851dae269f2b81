"""Confidential call-back requests of the help path (TOLONG): the one table that holds them.

A request is made only when she asks for it, and it keeps the minimum: how to reach her (a
call to a number, or a message only), the safe time she typed, a note only if she typed one,
and a short reference. It is linked to no member, chat or message: the officer needs a number
and a time, not a name or a history. Only protection officers read it (``safety.receive`` in
storage/permissions.py), on their chat (conversations/help_path.py) and on the console's help
page (console/help_requests.py); nothing else in the bot (complaint lists, exports, broadcasts,
the audit log, logs, the console's other pages) ever reads this table.

Lifecycle: ``draft`` while the dialog asks (so the conversation keeps only the reference, never
her typed details), ``open`` once sent to the officers, ``handled`` once an officer marked it.
Housekeeping forgets handled requests after ``WLCC_HELP_RETENTION_DAYS``, drafts left behind
after :data:`DRAFT_RETENTION`, and the officers' notices with them.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, Text, and_, delete, or_
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import OutboxMessage, OutboxStatus
from wlcc.formatting import utcnow

# Outbox kind of the officers' notices (and its WhatsApp template key; the template's variable
# 1 is the reference only, never her details).
NOTICE_KIND = "help_request"
# A dialog left unfinished (BATAL, a dropped session) is forgotten after this at the latest.
DRAFT_RETENTION = timedelta(days=1)
# The longest safe time and note she can type (characters).
MAX_SAFE_TIME = 200
MAX_NOTE = 500
# References: no look-alike characters (0/O, 1/I/L, 2/Z, 5/S, 8/B), easy to read aloud.
REF_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
REF_PREFIX = "TL-"
REF_LENGTH = 5


class HelpStatus:
    DRAFT = "draft"
    OPEN = "open"
    HANDLED = "handled"


class HelpContact:
    CALL = "call"  # call the number in ``phone``
    MESSAGE = "message"  # write to ``phone``, do not call


class HelpRequest(SQLModel, table=True):
    """One call-back request (no member, chat or message is linked to it)."""

    __tablename__ = "help_request"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    ref: str = Field(max_length=16, unique=True)
    status: str = Field(default=HelpStatus.DRAFT, max_length=16, index=True)
    contact: str | None = Field(default=None, max_length=16)
    phone: str | None = Field(default=None, max_length=20)
    # Typed by her; None: any time.
    safe_time: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    handled_at: datetime | None = None
    handled_by_member_id: int | None = Field(default=None, foreign_key="member.id")


def new_ref() -> str:
    """A fresh reference, with at least one digit (so "SELESAI TL-..." never reads as a word)."""
    while True:
        body = "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))
        if any(c.isdigit() for c in body):
            return REF_PREFIX + body


def looks_like_ref(text: str) -> bool:
    """One token with a digit in it: what is typed after SELESAI to name a request ("selesai
    dulu" is a sentence, not a reference)."""
    words = text.split()
    return len(words) == 1 and any(c.isdigit() for c in words[0])


def normalize_ref(text: str) -> str | None:
    """ "tl 7k3q9", "TL-7K3Q9", "tl7k3q9" -> "TL-7K3Q9"; None when it cannot be one."""
    squeezed = "".join(c for c in text.upper() if c.isalnum())
    if squeezed.startswith("TL"):
        squeezed = squeezed[2:]
    if len(squeezed) != REF_LENGTH or any(c not in REF_ALPHABET for c in squeezed):
        return None
    return REF_PREFIX + squeezed


def start_request(session: Session, community_id: int, now: datetime) -> HelpRequest:
    """A draft with a fresh reference; the dialog fills it in."""
    while True:
        ref = new_ref()
        taken = session.exec(select(HelpRequest.id).where(col(HelpRequest.ref) == ref)).first()
        if taken is None:
            break
    request = HelpRequest(community_id=community_id, ref=ref, created_at=now)
    session.add(request)
    session.flush()
    return request


def find_request(session: Session, community_id: int, ref: str) -> HelpRequest | None:
    return session.exec(
        select(HelpRequest).where(
            col(HelpRequest.community_id) == community_id, col(HelpRequest.ref) == ref
        )
    ).first()


def discard_draft(session: Session, community_id: int, ref: str) -> None:
    """Forget a request she did not finish (BATAL, MENU, another dialog)."""
    session.execute(
        delete(HelpRequest).where(
            col(HelpRequest.community_id) == community_id,
            col(HelpRequest.ref) == ref,
            col(HelpRequest.status) == HelpStatus.DRAFT,
        )
    )


def open_requests(session: Session, community_id: int) -> list[HelpRequest]:
    """The requests sent to the officers and not handled yet, oldest first."""
    return list(
        session.exec(
            select(HelpRequest)
            .where(
                col(HelpRequest.community_id) == community_id,
                col(HelpRequest.status) == HelpStatus.OPEN,
            )
            .order_by(col(HelpRequest.id))
        )
    )


def notice_key(ref: str, officer_id: int) -> str:
    return f"{NOTICE_KIND}:{ref}:{officer_id}"


def mark_handled(
    session: Session, request: HelpRequest, officer_id: int | None, now: datetime
) -> bool:
    """Mark an open request handled; False when it already was. The officers' notices that are
    not being sent right now are forgotten at once (their texts carry her details)."""
    if request.status != HelpStatus.OPEN:
        return False
    request.status = HelpStatus.HANDLED
    request.handled_at = now
    request.handled_by_member_id = officer_id
    session.add(request)
    session.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.kind) == NOTICE_KIND,
            col(OutboxMessage.key).startswith(f"{NOTICE_KIND}:{request.ref}:"),
            col(OutboxMessage.status) != OutboxStatus.SENDING,
        )
    )
    return True


def purge_help_requests(session: Session, retention_days: int, now: datetime | None = None) -> int:
    """Housekeeping: forget requests handled more than ``retention_days`` ago and drafts left
    behind, with the officers' notices of requests that are no longer open; returns how many
    requests went."""
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    handled_before = now - timedelta(days=retention_days)
    result = session.execute(
        delete(HelpRequest).where(
            or_(
                and_(
                    col(HelpRequest.status) == HelpStatus.HANDLED,
                    col(HelpRequest.handled_at) < handled_before,
                ),
                and_(
                    col(HelpRequest.status) == HelpStatus.DRAFT,
                    col(HelpRequest.created_at) < now - DRAFT_RETENTION,
                ),
            )
        )
    )
    open_refs = [
        f"{NOTICE_KIND}:{ref}:"
        for ref in session.exec(
            select(HelpRequest.ref).where(col(HelpRequest.status) == HelpStatus.OPEN)
        )
    ]
    stale = [
        row_id
        for row_id, key in session.exec(
            select(OutboxMessage.id, OutboxMessage.key).where(
                col(OutboxMessage.kind) == NOTICE_KIND,
                col(OutboxMessage.status) != OutboxStatus.SENDING,
            )
        )
        if not any(key.startswith(prefix) for prefix in open_refs)
    ]
    if stale:
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(stale)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
