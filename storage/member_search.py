"""Finding members for the staff console: a search by name or phone, filters, one page.

Every page is two queries on ``member`` (the count and the page, ``LIMIT``/``OFFSET`` in the
order of the primary key), plus one for the chats of the page's phones: it stays fast with a
hundred thousand members. Anonymised members (erased on request) are not listed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from storage.members import name_key
from storage.models import Identity, Member, MemberStatus
from wlcc.phones import to_e164

PAGE_SIZE = 50
MIN_PARTIAL_DIGITS = 3  # "7890": the last digits of a phone


@dataclass(frozen=True)
class MemberFilter:
    """What the list is narrowed to; empty strings mean no filter."""

    text: str = ""  # a name (any part, any case) or a phone (any Indonesian form, or digits)
    kelurahan: str = ""
    status: str = ""  # one of MemberStatus.ALL


@dataclass(frozen=True)
class MemberPage:
    total: int  # members matching the filter
    members: list[Member]
    channels: dict[str, list[str]]  # phone -> the channels linked to it ("telegram", ...)


def _phone_digits(text: str) -> str | None:
    """The digits of a partial phone ("0812-0000", "7890"), without the country or trunk
    prefix, or None when the text is not made of phone characters."""
    if not text or any(c not in "0123456789+-() ." for c in text):
        return None
    digits = "".join(c for c in text if c.isdigit())
    if text.lstrip().startswith("+62") or (digits.startswith("62") and len(digits) > 4):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return digits if len(digits) >= MIN_PARTIAL_DIGITS else None


def _conditions(community_id: int, wanted: MemberFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        col(Member.community_id) == community_id,
        col(Member.anonymised_at).is_(None),
    ]
    if wanted.status:
        where.append(col(Member.status) == wanted.status)
    if wanted.kelurahan:
        where.append(col(Member.kelurahan) == wanted.kelurahan)
    text = wanted.text.strip()
    if text:
        phone = to_e164(text) if any(c.isdigit() for c in text) else None
        digits = _phone_digits(text)
        if phone is not None:
            where.append(col(Member.phone) == phone)
        elif digits is not None:
            where.append(col(Member.phone).contains(digits, autoescape=True))
        else:
            for word in name_key(text).split():
                where.append(col(Member.name_key).contains(word, autoescape=True))
    return where


def count_members(session: Session, community_id: int, wanted: MemberFilter) -> int:
    """How many members match ``wanted`` (one query)."""
    where = _conditions(community_id, wanted)
    return session.exec(select(func.count()).select_from(Member).where(*where)).one()


def search_members(
    session: Session,
    community_id: int,
    wanted: MemberFilter,
    *,
    page: int = 1,
    total: int | None = None,
) -> MemberPage:
    """One page (1-based, :data:`PAGE_SIZE` members) of the members matching ``wanted``, oldest
    first, with the count of all that match (``total`` when the caller counted them already)
    and the chats linked to their phones."""
    where = _conditions(community_id, wanted)
    if total is None:
        total = session.exec(select(func.count()).select_from(Member).where(*where)).one()
    members = list(
        session.exec(
            select(Member)
            .where(*where)
            .order_by(col(Member.id))
            .offset((max(page, 1) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    return MemberPage(
        total=total,
        members=members,
        channels=channels_of(session, community_id, [m.phone for m in members if m.phone]),
    )


def channels_of(session: Session, community_id: int, phones: list[str]) -> dict[str, list[str]]:
    """phone -> the channels (sorted, each once) of the chats linked to it."""
    found: dict[str, set[str]] = defaultdict(set)
    if phones:
        rows = session.exec(
            select(Identity.phone, Identity.channel).where(
                Identity.community_id == community_id, col(Identity.phone).in_(sorted(set(phones)))
            )
        )
        for phone, channel in rows:
            if phone is not None:
                found[phone].add(channel)
    return {phone: sorted(channels) for phone, channels in found.items()}


def kelurahan_choices(session: Session, community_id: int) -> list[str]:
    """The kelurahan the community's members live in, for the list's filter."""
    rows = session.exec(
        select(Member.kelurahan)
        .where(
            Member.community_id == community_id,
            col(Member.kelurahan).is_not(None),
            col(Member.anonymised_at).is_(None),
        )
        .distinct()
        .order_by(col(Member.kelurahan))
    )
    return [k for k in rows if k]


def pending_count(session: Session, community_id: int) -> int:
    """Registrations waiting for a coordinator's decision."""
    return session.exec(
        select(func.count())
        .select_from(Member)
        .where(
            Member.community_id == community_id,
            Member.status == MemberStatus.PENDING,
            col(Member.anonymised_at).is_(None),
        )
    ).one()
