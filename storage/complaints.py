"""Complaints about the household wastewater connection works (issue 12, migration 0010).

* ``complaint``: one ticket of one community: its code (``AL-7K3Q9``), category, description
  (typed text, or a voice note kept as a ``media`` row), location (a pin: latitude and
  longitude; and/or a typed address with RT/RW and kelurahan; ``outside_palembang`` when the
  pin lies outside the city's box), whether the reporter may be contacted, its status, to whom
  it was forwarded, whether a coordinator made the description public (Open311), how many
  people reported it, the day of each step, and ``duplicate_of`` when it was closed as the
  duplicate of another ticket.
* ``complaint_reporter``: who reported it: a chat identity and/or a member, when she joined,
  and whether she filed it (``original``) or joined it as a nearby duplicate.
* ``complaint_photo``: up to :data:`MAX_PHOTOS` photos (``media`` rows) in their order.
* ``complaint_event``: the history: each status change (from, to, note) and each internal
  note (``internal``, never shown to a reporter), by whom and when.

**Lifecycle** (:data:`TRANSITIONS`): received -> verified -> forwarded (to whom) -> in_progress
-> resolved, or rejected / duplicate (final). A reporter who says a resolved ticket is not
fixed reopens it (:func:`reopen`): it goes back to the status it had before it was resolved.
An impossible change is refused with a :class:`Refusal` code (:class:`ComplaintRefused`).

**Codes** (:func:`new_code`): a two-letter prefix of the category, a dash and five characters
from :data:`CODE_ALPHABET` (no 0/O, 1/I/L, 5/S, 2/Z, 8/B), drawn with ``secrets``; unique
(a unique index, and a new draw on the rare collision). :func:`normalize_code` forgives case,
spaces and dashes.

**Nearby** (:func:`find_nearby`): open tickets of the same category within
:data:`NEARBY_METERS` of a pin (a bounding box on the indexed latitude and longitude in SQL,
then the haversine distance in Python), or, without a pin, with the same RT/RW and kelurahan.

**Notices**: every status change goes to every reporter through the outbox (kind
:data:`NOTICE_KIND`, a unique key per event and reporter, in her language), with the public
note only; a new ticket is announced to the coordinators of its kelurahan (all coordinators
when there are none or the kelurahan is unknown). :func:`public_view` is what ``STATUS`` shows
anyone who holds the code: category, status, dates, kelurahan; nothing personal.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Column, Index, Text, UniqueConstraint, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from storage.audit import record_audit
from storage.models import Identity, MediaFile, Member, MemberStatus, Role
from storage.outbox import enqueue
from wlcc.formatting import format_date, utcnow
from wlcc.i18n import Translator

NOTICE_KIND = "complaint"  # the outbox kind (and WhatsApp template kind) of complaint notices
MAX_PHOTOS = 3
MAX_DESCRIPTION = 2000  # characters kept of a typed description
NEARBY_METERS = 100.0
EARTH_RADIUS_M = 6_371_000.0
METERS_PER_DEGREE_LAT = 111_320.0
# Kota Palembang, generously boxed (south, west, north, east): a pin outside is accepted and
# flagged ``outside_palembang``.
PALEMBANG_BOX = (-3.10, 104.60, -2.85, 104.90)

# Five characters from 26 symbols: about 11.9 million codes per category prefix.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 5
# Draws one character of a code; tests replace it with a seeded draw to get the same codes.
_pick = secrets.choice
_CODE_RE = re.compile(r"^([A-Z]{2})-?([0-9A-Z]{5})$")


class Category:
    LEAK = "leak"  # leaking or blocked connection
    EXCAVATION = "excavation"  # excavation not closed, road damaged
    DIRTY = "dirty"  # dirty or unfinished work
    SMELL = "smell"  # smell or overflow
    OTHER = "other"

    ALL = (LEAK, EXCAVATION, DIRTY, SMELL, OTHER)
    PREFIX: ClassVar[dict[str, str]] = {
        LEAK: "AL",
        EXCAVATION: "GJ",
        DIRTY: "KT",
        SMELL: "BU",
        OTHER: "LN",
    }


class Status:
    RECEIVED = "received"
    VERIFIED = "verified"
    FORWARDED = "forwarded"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"

    ALL = (RECEIVED, VERIFIED, FORWARDED, IN_PROGRESS, RESOLVED, REJECTED, DUPLICATE)
    OPEN = (RECEIVED, VERIFIED, FORWARDED, IN_PROGRESS)
    FINAL = (REJECTED, DUPLICATE)


# Where a ticket may go from each status (reopening a resolved one: :func:`reopen`).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.RECEIVED: (Status.VERIFIED, Status.REJECTED, Status.DUPLICATE),
    Status.VERIFIED: (
        Status.FORWARDED,
        Status.IN_PROGRESS,
        Status.RESOLVED,
        Status.REJECTED,
        Status.DUPLICATE,
    ),
    Status.FORWARDED: (Status.IN_PROGRESS, Status.RESOLVED, Status.REJECTED),
    Status.IN_PROGRESS: (Status.FORWARDED, Status.RESOLVED, Status.REJECTED),
    Status.RESOLVED: (Status.IN_PROGRESS,),
    Status.REJECTED: (),
    Status.DUPLICATE: (),
}


class Refusal:
    """Why a change was refused (``ComplaintRefused.reason``)."""

    UNKNOWN_STATUS = "unknown_status"  # not one of Status.ALL
    SAME_STATUS = "same_status"  # it already has that status
    IMPOSSIBLE = "impossible"  # not a next state of its status (details: allowed)
    CLOSED = "closed"  # rejected or duplicate: nothing follows
    NEED_FORWARDED_TO = "need_forwarded_to"  # forwarded, but to whom?
    NEED_DUPLICATE_OF = "need_duplicate_of"  # duplicate, but of which open ticket?
    BAD_DUPLICATE_OF = "bad_duplicate_of"  # itself, unknown, closed, or another community
    NOT_RESOLVED = "not_resolved"  # reopening a ticket that is not resolved
    EMPTY_NOTE = "empty_note"


class ComplaintRefused(Exception):
    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class Complaint(SQLModel, table=True):
    """One ticket."""

    __tablename__ = "complaint"
    __table_args__ = (
        # The nearby search: open tickets of a category in a latitude band, then longitude.
        Index("ix_complaint_near", "community_id", "category", "latitude", "longitude"),
        Index("ix_complaint_area", "community_id", "category", "kelurahan", "rt_rw"),
        Index("ix_complaint_open", "community_id", "status", "created_at"),
        # The console's list (migration 0013): every ticket by date, by kelurahan, by category.
        Index("ix_complaint_created", "community_id", "created_at"),
        Index("ix_complaint_kelurahan", "community_id", "kelurahan", "created_at"),
        Index("ix_complaint_category", "community_id", "category", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    code: str = Field(max_length=16, unique=True)
    category: str = Field(max_length=24)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    voice_media_id: int | None = Field(default=None, foreign_key="media.id")
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = Field(default=None, max_length=300)
    rt_rw: str | None = Field(default=None, max_length=16)  # "003/005"
    kelurahan: str | None = Field(default=None, max_length=64)  # "23 Ilir"
    outside_palembang: bool = False
    contact_ok: bool = False
    status: str = Field(default=Status.RECEIVED, max_length=16)
    forwarded_to: str | None = Field(default=None, max_length=200)
    public_description: bool = False  # a coordinator made the description public (Open311)
    reporter_count: int = 1
    duplicate_of: int | None = Field(default=None, foreign_key="complaint.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    verified_at: datetime | None = None
    forwarded_at: datetime | None = None
    in_progress_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None  # rejected or duplicate
    reopened_at: datetime | None = None


class ComplaintReporter(SQLModel, table=True):
    """Someone who reported a ticket (filed it or joined it)."""

    __tablename__ = "complaint_reporter"
    __table_args__ = (
        UniqueConstraint("complaint_id", "identity_id", name="uq_complaint_reporter_identity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    identity_id: int | None = Field(default=None, foreign_key="identity.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    original: bool = True  # filed it; False: joined it as a nearby duplicate
    joined_at: datetime = Field(default_factory=utcnow)
    # Her answer to "is it really fixed?" after the last resolution: True, False, or None.
    confirmed_fixed: bool | None = None


class ComplaintPhoto(SQLModel, table=True):
    __tablename__ = "complaint_photo"
    __table_args__ = (UniqueConstraint("complaint_id", "position", name="uq_complaint_photo"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    media_id: int = Field(foreign_key="media.id")
    position: int  # 1 .. MAX_PHOTOS


class ComplaintEvent(SQLModel, table=True):
    """A status change (from_status -> to_status, with its note) or an internal note."""

    __tablename__ = "complaint_event"
    # The escalation's flags (the console's "escalated" filter, migration 0013).
    __table_args__ = (Index("ix_complaint_event_label", "actor_label", "complaint_id"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    internal: bool = False  # coordinators only, never sent to a reporter
    actor_member_id: int | None = Field(default=None, foreign_key="member.id")
    actor_label: str | None = Field(default=None, max_length=64)  # "cli", "reporter"
    created_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------------------------------------
# Codes


def new_code(session: Session, category: str) -> str:
    prefix = Category.PREFIX.get(category, Category.PREFIX[Category.OTHER])
    while True:
        code = prefix + "-" + "".join(_pick(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.exec(select(Complaint.id).where(Complaint.code == code)).first() is None:
            return code


def normalize_code(text: str) -> str | None:
    """``al 7k3q9``, ``AL7K3Q9``, `` al-7k3-q9 `` -> ``AL-7K3Q9``; None when it cannot be one."""
    cleaned = re.sub(r"[\s\-_.#]+", "", text or "").upper()
    match = _CODE_RE.match(cleaned)
    if match is None:
        return None
    return f"{match.group(1)}-{match.group(2)}"


def looks_like_code(text: str) -> bool:
    return normalize_code(text) is not None


def get_by_code(session: Session, community_id: int, text: str) -> Complaint | None:
    code = normalize_code(text)
    if code is None:
        return None
    return session.exec(
        select(Complaint).where(Complaint.code == code, Complaint.community_id == community_id)
    ).first()


# ---------------------------------------------------------------------------------------------
# Location


def normalize_rt_rw(text: str | None) -> str | None:
    """``RT 3 RW 5``, ``3/5``, ``rt03/rw005`` -> ``003/005``; None without two numbers."""
    if not text:
        return None
    numbers = re.findall(r"\d+", text)
    if len(numbers) < 2:
        return None
    rt, rw = int(numbers[0]), int(numbers[1])
    if not (0 < rt < 1000 and 0 < rw < 1000):
        return None
    return f"{rt:03d}/{rw:03d}"


def normalize_kelurahan(text: str | None) -> str | None:
    """``kel. 23 ilir`` -> ``23 Ilir``: folded spaces, the usual prefix dropped, title case."""
    if not text:
        return None
    cleaned = re.sub(r"^\s*(kel(urahan)?\.?)\s+", "", text.strip(), flags=re.IGNORECASE)
    cleaned = " ".join(cleaned.split())[:64]
    if not cleaned:
        return None
    return " ".join(w[:1].upper() + w[1:].lower() for w in cleaned.split())


def in_palembang(latitude: float, longitude: float) -> bool:
    south, west, north, east = PALEMBANG_BOX
    return south <= latitude <= north and west <= longitude <= east


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def valid_pin(latitude: float, longitude: float) -> bool:
    return (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and -90 <= latitude <= 90
        and -180 <= longitude <= 180
    )


@dataclass(frozen=True)
class Nearby:
    complaint: Complaint
    meters: float | None  # None: matched by RT/RW and kelurahan


def find_nearby(
    session: Session,
    *,
    community_id: int,
    category: str,
    latitude: float | None = None,
    longitude: float | None = None,
    rt_rw: str | None = None,
    kelurahan: str | None = None,
    meters: float = NEARBY_METERS,
    limit: int = 3,
) -> list[Nearby]:
    """Open tickets of the same category near a pin (nearest first), or, with no pin, with
    the same RT/RW and kelurahan (newest first)."""
    base = select(Complaint).where(
        Complaint.community_id == community_id,
        Complaint.category == category,
        col(Complaint.status).in_(Status.OPEN),
    )
    if latitude is not None and longitude is not None:
        dlat = meters / METERS_PER_DEGREE_LAT
        dlon = meters / (METERS_PER_DEGREE_LAT * max(0.01, math.cos(math.radians(latitude))))
        rows = session.exec(
            base.where(
                col(Complaint.latitude).between(latitude - dlat, latitude + dlat),
                col(Complaint.longitude).between(longitude - dlon, longitude + dlon),
            ).limit(500)
        ).all()
        found = []
        for row in rows:
            assert row.latitude is not None and row.longitude is not None
            distance = haversine_m(latitude, longitude, row.latitude, row.longitude)
            if distance <= meters:
                found.append(Nearby(row, distance))
        found.sort(key=lambda n: (n.meters or 0.0, n.complaint.id or 0))
        return found[:limit]
    rt_rw, kelurahan = normalize_rt_rw(rt_rw), normalize_kelurahan(kelurahan)
    if rt_rw is None or kelurahan is None:
        return []
    rows = session.exec(
        base.where(Complaint.kelurahan == kelurahan, Complaint.rt_rw == rt_rw)
        .order_by(col(Complaint.created_at).desc())
        .limit(limit)
    ).all()
    return [Nearby(row, None) for row in rows]


# ---------------------------------------------------------------------------------------------
# Intake


@dataclass
class Intake:
    """What the LAPOR dialog gathered."""

    category: str
    description: str | None = None
    voice_media_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    rt_rw: str | None = None
    kelurahan: str | None = None
    contact_ok: bool = False
    photo_media_ids: list[int] = field(default_factory=list)


def create_complaint(
    session: Session,
    *,
    community_id: int,
    intake: Intake,
    identity_id: int | None,
    member_id: int | None,
    channel: str | None,
    now: datetime | None = None,
) -> Complaint:
    """File a new ticket (status received), its reporter and photos; announce it to the
    coordinators. Refuses (``ValueError``) an unknown category or one without description
    and location."""
    now = now or utcnow()
    if intake.category not in Category.ALL:
        raise ValueError(f"unknown category {intake.category!r}")
    description = (intake.description or "").strip()[:MAX_DESCRIPTION] or None
    if description is None and intake.voice_media_id is None:
        raise ValueError("a complaint needs a description or a voice note")
    pin = intake.latitude is not None and intake.longitude is not None
    rt_rw, kelurahan = normalize_rt_rw(intake.rt_rw), normalize_kelurahan(intake.kelurahan)
    address = (intake.address or "").strip()[:300] or None
    if not pin and address is None and kelurahan is None:
        raise ValueError("a complaint needs a pin or an address")
    outside = pin and not in_palembang(intake.latitude or 0.0, intake.longitude or 0.0)
    complaint: Complaint | None = None
    for _ in range(5):  # a code drawn twice at the same moment by two instances
        complaint = Complaint(
            community_id=community_id,
            code=new_code(session, intake.category),
            category=intake.category,
            description=description,
            voice_media_id=intake.voice_media_id,
            latitude=intake.latitude if pin else None,
            longitude=intake.longitude if pin else None,
            address=address,
            rt_rw=rt_rw,
            kelurahan=kelurahan,
            outside_palembang=bool(outside),
            contact_ok=intake.contact_ok,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(complaint)
                session.flush()
            break
        except IntegrityError:
            complaint = None
    if complaint is None or complaint.id is None:
        raise RuntimeError("no free complaint code")
    session.add(
        ComplaintReporter(
            complaint_id=complaint.id,
            identity_id=identity_id,
            member_id=member_id,
            original=True,
            joined_at=now,
        )
    )
    for position, media_id in enumerate(intake.photo_media_ids[:MAX_PHOTOS], start=1):
        session.add(ComplaintPhoto(complaint_id=complaint.id, media_id=media_id, position=position))
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            from_status=None,
            to_status=Status.RECEIVED,
            actor_member_id=member_id,
            actor_label="reporter",
            created_at=now,
        )
    )
    session.flush()
    record_audit(
        session,
        action="complaint.create",
        allowed=True,
        community_id=community_id,
        actor_member_id=member_id,
        actor_identity_id=identity_id,
        channel=channel,
        target=complaint.code,
        now=now,
    )
    _announce_new(session, complaint)
    return complaint


def join_complaint(
    session: Session,
    complaint: Complaint,
    *,
    identity_id: int | None,
    member_id: int | None,
    now: datetime | None = None,
) -> bool:
    """Add a reporter to an open ticket (a nearby duplicate she recognised); False when she
    already was one (nothing changes)."""
    now = now or utcnow()
    if _is_reporter(session, complaint, identity_id=identity_id, member_id=member_id):
        return False
    assert complaint.id is not None
    session.add(
        ComplaintReporter(
            complaint_id=complaint.id,
            identity_id=identity_id,
            member_id=member_id,
            original=False,
            joined_at=now,
        )
    )
    complaint.reporter_count = (complaint.reporter_count or 0) + 1
    complaint.updated_at = now
    session.add(complaint)
    session.flush()
    return True


def _is_reporter(
    session: Session, complaint: Complaint, *, identity_id: int | None, member_id: int | None
) -> bool:
    return (
        find_reporter(session, complaint, identity_id=identity_id, member_id=member_id) is not None
    )


def find_reporter(
    session: Session, complaint: Complaint, *, identity_id: int | None, member_id: int | None
) -> ComplaintReporter | None:
    """Her reporter row on this ticket: by member when she is one, else by chat identity."""
    conditions: list[Any] = []
    if member_id is not None:
        conditions.append(col(ComplaintReporter.member_id) == member_id)
    if identity_id is not None:
        conditions.append(col(ComplaintReporter.identity_id) == identity_id)
    if not conditions:
        return None
    return session.exec(
        select(ComplaintReporter).where(
            ComplaintReporter.complaint_id == complaint.id, or_(*conditions)
        )
    ).first()


def reporters(session: Session, complaint: Complaint) -> Sequence[ComplaintReporter]:
    return session.exec(
        select(ComplaintReporter)
        .where(ComplaintReporter.complaint_id == complaint.id)
        .order_by(col(ComplaintReporter.id))
    ).all()


def photos(session: Session, complaint: Complaint) -> Sequence[ComplaintPhoto]:
    return session.exec(
        select(ComplaintPhoto)
        .where(ComplaintPhoto.complaint_id == complaint.id)
        .order_by(col(ComplaintPhoto.position))
    ).all()


def events(
    session: Session, complaint: Complaint, *, internal: bool = True
) -> Sequence[ComplaintEvent]:
    """Its history, oldest first; ``internal=False`` leaves out the internal notes."""
    stmt = select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
    if not internal:
        stmt = stmt.where(ComplaintEvent.internal == False)  # noqa: E712
    return session.exec(stmt.order_by(col(ComplaintEvent.id))).all()


# ---------------------------------------------------------------------------------------------
# Lifecycle


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def check_transition(complaint: Complaint, to: str) -> None:
    """Raise :class:`ComplaintRefused` when ``complaint`` may not go to ``to``."""
    if to not in Status.ALL:
        raise ComplaintRefused(Refusal.UNKNOWN_STATUS, status=to)
    if complaint.status == to:
        raise ComplaintRefused(Refusal.SAME_STATUS, status=to)
    if complaint.status in Status.FINAL:
        raise ComplaintRefused(Refusal.CLOSED, status=complaint.status)
    if to not in allowed_next(complaint.status):
        raise ComplaintRefused(
            Refusal.IMPOSSIBLE, status=complaint.status, allowed=allowed_next(complaint.status)
        )


def change_status(
    session: Session,
    complaint: Complaint,
    to: str,
    *,
    note: str | None = None,
    actor_member_id: int | None = None,
    actor_label: str | None = None,
    channel: str | None = None,
    forwarded_to: str | None = None,
    duplicate_of: Complaint | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Move a ticket to ``to`` with a note (sent to the reporters), or refuse. Forwarded needs
    ``forwarded_to``; duplicate needs the open ticket it duplicates (its reporters join that
    one). Every reporter gets the change in the outbox; after "resolved" she is asked whether
    it is really fixed."""
    now = now or utcnow()
    check_transition(complaint, to)
    if to == Status.FORWARDED and not (forwarded_to or "").strip():
        raise ComplaintRefused(Refusal.NEED_FORWARDED_TO)
    if to == Status.DUPLICATE:
        if duplicate_of is None:
            raise ComplaintRefused(Refusal.NEED_DUPLICATE_OF)
        if (
            duplicate_of.id == complaint.id
            or duplicate_of.community_id != complaint.community_id
            or duplicate_of.status not in (*Status.OPEN, Status.RESOLVED)
        ):
            raise ComplaintRefused(Refusal.BAD_DUPLICATE_OF)
    return _apply(
        session,
        complaint,
        to,
        note=note,
        actor_member_id=actor_member_id,
        actor_label=actor_label,
        channel=channel,
        forwarded_to=forwarded_to,
        duplicate_of=duplicate_of,
        now=now,
    )


def _apply(
    session: Session,
    complaint: Complaint,
    to: str,
    *,
    note: str | None,
    actor_member_id: int | None,
    actor_label: str | None,
    channel: str | None,
    forwarded_to: str | None = None,
    duplicate_of: Complaint | None = None,
    now: datetime,
) -> ComplaintEvent:
    before = complaint.status
    note = (note or "").strip()[:MAX_DESCRIPTION] or None
    complaint.status = to
    complaint.updated_at = now
    if to == Status.VERIFIED and complaint.verified_at is None:
        complaint.verified_at = now
    elif to == Status.FORWARDED:
        complaint.forwarded_at = now
        complaint.forwarded_to = (forwarded_to or "").strip()[:200]
    elif to == Status.IN_PROGRESS and complaint.in_progress_at is None:
        complaint.in_progress_at = now
    elif to == Status.RESOLVED:
        complaint.resolved_at = now
    elif to in Status.FINAL:
        complaint.closed_at = now
    if to == Status.DUPLICATE and duplicate_of is not None:
        complaint.duplicate_of = duplicate_of.id
    session.add(complaint)
    event = ComplaintEvent(
        complaint_id=complaint.id or 0,
        from_status=before,
        to_status=to,
        note=note,
        internal=False,
        actor_member_id=actor_member_id,
        actor_label=actor_label,
        created_at=now,
    )
    session.add(event)
    session.flush()
    if to == Status.RESOLVED:
        for reporter in reporters(session, complaint):
            reporter.confirmed_fixed = None
            session.add(reporter)
    record_audit(
        session,
        action="complaint.status",
        allowed=True,
        community_id=complaint.community_id,
        actor_member_id=actor_member_id,
        actor_identity_id=None,
        channel=channel,
        target=complaint.code,
        detail={"from": before, "to": to},
        now=now,
    )
    _notify_reporters(session, complaint, event, duplicate_of=duplicate_of)
    if to == Status.DUPLICATE and duplicate_of is not None:
        for reporter in reporters(session, complaint):
            join_complaint(
                session,
                duplicate_of,
                identity_id=reporter.identity_id,
                member_id=reporter.member_id,
                now=now,
            )
    return event


def add_note(
    session: Session,
    complaint: Complaint,
    note: str,
    *,
    actor_member_id: int | None,
    actor_label: str | None = None,
    channel: str | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """An internal note: kept in the history for coordinators, never sent to a reporter."""
    now = now or utcnow()
    text = (note or "").strip()[:MAX_DESCRIPTION]
    if not text:
        raise ComplaintRefused(Refusal.EMPTY_NOTE)
    event = ComplaintEvent(
        complaint_id=complaint.id or 0,
        note=text,
        internal=True,
        actor_member_id=actor_member_id,
        actor_label=actor_label,
        created_at=now,
    )
    session.add(event)
    complaint.updated_at = now
    session.add(complaint)
    session.flush()
    record_audit(
        session,
        action="complaint.note",
        allowed=True,
        community_id=complaint.community_id,
        actor_member_id=actor_member_id,
        actor_identity_id=None,
        channel=channel,
        target=complaint.code,
        now=now,
    )
    return event


def set_public_description(
    session: Session,
    complaint: Complaint,
    public: bool,
    *,
    actor_member_id: int | None,
    channel: str | None = None,
    now: datetime | None = None,
) -> None:
    """A coordinator makes the description public (Open311 publishes it) or private again."""
    now = now or utcnow()
    complaint.public_description = public
    complaint.updated_at = now
    session.add(complaint)
    record_audit(
        session,
        action="complaint.public" if public else "complaint.private",
        allowed=True,
        community_id=complaint.community_id,
        actor_member_id=actor_member_id,
        actor_identity_id=None,
        channel=channel,
        target=complaint.code,
        now=now,
    )


def answer_fixed(
    session: Session,
    complaint: Complaint,
    reporter: ComplaintReporter,
    fixed: bool,
    *,
    now: datetime | None = None,
) -> ComplaintEvent | None:
    """A reporter's answer to "is it really fixed?". "No" on a resolved ticket reopens it
    (:func:`reopen`); otherwise her answer is kept. Returns the reopening event, if any."""
    now = now or utcnow()
    reporter.confirmed_fixed = fixed
    session.add(reporter)
    session.flush()
    if fixed or complaint.status != Status.RESOLVED:
        return None
    return reopen(session, complaint, reporter=reporter, now=now)


def reopen(
    session: Session,
    complaint: Complaint,
    *,
    reporter: ComplaintReporter | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """A resolved ticket that is not fixed goes back to the status it had before it was
    resolved; the reporters and the coordinators are told."""
    now = now or utcnow()
    if complaint.status != Status.RESOLVED:
        raise ComplaintRefused(Refusal.NOT_RESOLVED, status=complaint.status)
    last = session.exec(
        select(ComplaintEvent)
        .where(
            ComplaintEvent.complaint_id == complaint.id,
            ComplaintEvent.to_status == Status.RESOLVED,
        )
        .order_by(col(ComplaintEvent.id).desc())
    ).first()
    back = (last.from_status if last is not None else None) or Status.VERIFIED
    if back not in Status.OPEN:
        back = Status.VERIFIED
    complaint.reopened_at = now
    complaint.resolved_at = None
    event = _apply(
        session,
        complaint,
        back,
        note=note,
        actor_member_id=reporter.member_id if reporter else None,
        actor_label="reporter" if reporter else None,
        channel=None,
        now=now,
    )
    _announce(session, complaint, "complaints.notice.reopened", f"reopen:{event.id}")
    return event


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class PublicView:
    """What ``STATUS <code>`` shows anyone who holds the code."""

    code: str
    category: str
    status: str
    kelurahan: str | None
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None
    forwarded_at: datetime | None
    resolved_at: datetime | None
    reporter_count: int
    duplicate_of_code: str | None


def public_view(session: Session, complaint: Complaint) -> PublicView:
    target = session.get(Complaint, complaint.duplicate_of) if complaint.duplicate_of else None
    return PublicView(
        code=complaint.code,
        category=complaint.category,
        status=complaint.status,
        kelurahan=complaint.kelurahan,
        created_at=complaint.created_at,
        updated_at=complaint.updated_at,
        verified_at=complaint.verified_at,
        forwarded_at=complaint.forwarded_at,
        resolved_at=complaint.resolved_at,
        reporter_count=complaint.reporter_count,
        duplicate_of_code=target.code if target is not None else None,
    )


def open_complaints(
    session: Session,
    community_id: int,
    *,
    kelurahan: str | None = None,
    limit: int = 50,
) -> Sequence[Complaint]:
    """Open tickets, oldest first (the ones waiting longest come first)."""
    stmt = select(Complaint).where(
        Complaint.community_id == community_id, col(Complaint.status).in_(Status.OPEN)
    )
    if kelurahan is not None:
        stmt = stmt.where(Complaint.kelurahan == normalize_kelurahan(kelurahan))
    return session.exec(
        stmt.order_by(col(Complaint.created_at), col(Complaint.id)).limit(limit)
    ).all()


def count_open(session: Session, community_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.community_id == community_id, col(Complaint.status).in_(Status.OPEN))
    ).one()


def tickets_of(
    session: Session, *, identity_id: int | None, member_id: int | None, limit: int = 10
) -> Sequence[Complaint]:
    """The tickets she reported (filed or joined), newest first."""
    conditions: list[Any] = []
    if member_id is not None:
        conditions.append(col(ComplaintReporter.member_id) == member_id)
    if identity_id is not None:
        conditions.append(col(ComplaintReporter.identity_id) == identity_id)
    if not conditions:
        return []
    return session.exec(
        select(Complaint)
        .join(ComplaintReporter, col(ComplaintReporter.complaint_id) == col(Complaint.id))
        .where(or_(*conditions))
        .order_by(col(Complaint.created_at).desc())
        .limit(limit)
    ).all()


# ---------------------------------------------------------------------------------------------
# Notices


def category_label(t: Translator, category: str) -> str:
    return t(f"complaints.category.{category}")


def status_label(t: Translator, status: str) -> str:
    return t(f"complaints.status.{status}")


def fixed_choices(t: Translator, code: str) -> list[tuple[str, str]]:
    """(payload, label) of the answers to "is it really fixed?" (the router's FIXED_WORDS)."""
    return [
        (f"{FIXED_YES} {code}", t("complaints.fixed.yes")),
        (f"{FIXED_NO} {code}", t("complaints.fixed.no")),
    ]


FIXED_YES = "SUDAH BERES"
FIXED_NO = "BELUM BERES"


def _reporter_language(session: Session, reporter: ComplaintReporter) -> str | None:
    if reporter.member_id is not None:
        member = session.get(Member, reporter.member_id)
        if member is not None and member.language:
            return member.language
    if reporter.identity_id is not None:
        identity = session.get(Identity, reporter.identity_id)
        if identity is not None:
            return identity.language
    return None


def status_notice(
    t: Translator,
    complaint: Complaint,
    event: ComplaintEvent,
    *,
    duplicate_code: str | None = None,
) -> str:
    """The words a reporter gets for one status change (the public note, never an internal
    one, never who else reported it)."""
    assert event.to_status is not None
    parts = [
        t(
            "complaints.notice.status",
            code=complaint.code,
            category=category_label(t, complaint.category),
            status=status_label(t, event.to_status),
            date=format_date(event.created_at.date(), t.lang),
        )
    ]
    if event.from_status == Status.RESOLVED and event.actor_label == "reporter":
        parts.append(t("complaints.notice.reopened_by_reporter"))
    if event.to_status == Status.FORWARDED and complaint.forwarded_to:
        parts.append(t("complaints.notice.forwarded_to", to=complaint.forwarded_to))
    if event.to_status == Status.DUPLICATE and duplicate_code:
        parts.append(t("complaints.notice.duplicate_of", code=duplicate_code))
    if event.note:
        parts.append(t("complaints.notice.note", note=event.note))
    if event.to_status == Status.RESOLVED:
        parts.append(t("complaints.notice.fixed_question"))
    return "\n".join(parts)


def _notify_reporters(
    session: Session,
    complaint: Complaint,
    event: ComplaintEvent,
    *,
    duplicate_of: Complaint | None = None,
) -> None:
    for reporter in reporters(session, complaint):
        if reporter.member_id is None and reporter.identity_id is None:
            continue  # filed from the CLI for nobody in particular
        t = Translator(_reporter_language(session, reporter))
        text = status_notice(
            t, complaint, event, duplicate_code=duplicate_of.code if duplicate_of else None
        )
        choices = fixed_choices(t, complaint.code) if event.to_status == Status.RESOLVED else []
        enqueue(
            session,
            key=f"complaint:{complaint.id}:event:{event.id}:reporter:{reporter.id}",
            kind=NOTICE_KIND,
            community_id=complaint.community_id,
            text=text,
            member_id=reporter.member_id,
            identity_id=None if reporter.member_id is not None else reporter.identity_id,
            choices=choices,
            template_vars={
                "1": complaint.code,
                "2": status_label(t, event.to_status or complaint.status),
            },
        )


def coordinators_for(
    session: Session, community_id: int, kelurahan: str | None
) -> Sequence[Member]:
    """The active coordinators of a kelurahan; all active coordinators when it has none."""
    everyone = session.exec(
        select(Member)
        .where(
            Member.community_id == community_id,
            Member.role == Role.COORDINATOR,
            Member.status == MemberStatus.ACTIVE,
            Member.opted_out == False,  # noqa: E712
        )
        .order_by(col(Member.id))
    ).all()
    key = normalize_kelurahan(kelurahan)
    if key is not None:
        local = [m for m in everyone if normalize_kelurahan(m.kelurahan) == key]
        if local:
            return local
    return everyone


def _announce(session: Session, complaint: Complaint, message: str, key: str) -> None:
    for member in coordinators_for(session, complaint.community_id, complaint.kelurahan):
        t = Translator(member.language)
        enqueue(
            session,
            key=f"complaint:{complaint.id}:{key}:coordinator:{member.id}",
            kind=NOTICE_KIND,
            community_id=complaint.community_id,
            text=t(
                message,
                code=complaint.code,
                category=category_label(t, complaint.category),
                kelurahan=complaint.kelurahan or t("complaints.kelurahan_unknown"),
            ),
            member_id=member.id,
            template_vars={"1": complaint.code, "2": category_label(t, complaint.category)},
        )


def _announce_new(session: Session, complaint: Complaint) -> None:
    _announce(session, complaint, "complaints.notice.new", "new")


def media_of(session: Session, media_id: int | None) -> MediaFile | None:
    return session.get(MediaFile, media_id) if media_id is not None else None
