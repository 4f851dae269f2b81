"""Meetings and trainings: their tables and the operations on them (migration 0007).

A ``meeting`` row is one event: a monthly meeting (``pertemuan``) or a training
(``pelatihan``, optionally with a seat limit and a waiting list). Times are aware UTC; they are
shown in the community's zone. Monthly meetings may come from a ``meeting_rule`` (the nth or
last weekday of each month); the rule's occurrences are made ahead by the notice job, each at
most once (unique on rule and day).

Members answer (``rsvp``: yes, no, maybe) until the start; for a training with seats a "yes"
gets a seat or a place on the waiting list, which moves up by itself when someone cancels.
Attendance (``attendance``) is recorded apart from the answer: a member sends the code word of
the day, or a coordinator marks her. Each meeting's roles (MC, facilitator, speaker) are asked
of members in turn (``meeting_role``, storage/meetings_roles.py); a member may pause taking
roles (``role_pause``). Members suggest themes (``theme_suggestion``) and vote on them
(``theme_poll``, ``theme_vote``; storage/meetings_themes.py).

Notices about a meeting (announcement, reminders, a change) are outbox rows with unique keys
(storage/meetings_notices.py), so nothing here is ever sent twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Column, ColumnElement, Index, Text, UniqueConstraint, false, func
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Member, MemberStatus
from storage.ops import insert_ignore
from storage.outbox import enqueue
from wlcc.formatting import format_datetime, utcnow
from wlcc.i18n import Translator


class MeetingKind:
    MEETING = "pertemuan"  # the monthly meeting
    TRAINING = "pelatihan"

    ALL = (MEETING, TRAINING)


class MeetingStatus:
    PLANNED = "planned"
    MOVED = "moved"  # planned, at a new time (``previous_starts_at`` says from when)
    CANCELLED = "cancelled"
    DONE = "done"

    ALL = (PLANNED, MOVED, CANCELLED, DONE)
    OPEN = (PLANNED, MOVED)  # still to come: answers and notices apply


class Answer:
    YES = "yes"
    NO = "no"
    MAYBE = "maybe"

    ALL = (YES, NO, MAYBE)


class MeetingRoleName:
    MC = "mc"  # pembawa acara
    FACILITATOR = "facilitator"
    SPEAKER = "speaker"  # pemateri

    ALL = (MC, FACILITATOR, SPEAKER)


class RoleStatus:
    ASKED = "asked"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # no answer in time: the next member is asked
    WITHDRAWN = "withdrawn"  # the meeting was cancelled or the coordinator changed the line-up

    ALL = (ASKED, ACCEPTED, DECLINED, EXPIRED, WITHDRAWN)


# --- tables ---


class MeetingRule(SQLModel, table=True):
    """A monthly rule: the ``nth`` (1-5, or -1 for the last) ``weekday`` (0 Monday) of every
    month, from ``start_time`` to ``end_time`` (local "HH:MM")."""

    __tablename__ = "meeting_rule"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    kind: str = Field(default=MeetingKind.MEETING, max_length=16)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    weekday: int
    nth: int
    start_time: str = Field(max_length=5)
    end_time: str | None = Field(default=None, max_length=5)
    place: str | None = Field(default=None, max_length=300)
    kelurahan: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)


class Meeting(SQLModel, table=True):
    """One meeting or training."""

    __tablename__ = "meeting"
    __table_args__ = (
        UniqueConstraint("rule_id", "occurrence", name="uq_meeting_rule_occurrence"),
        Index("ix_meeting_community_start", "community_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    kind: str = Field(default=MeetingKind.MEETING, max_length=16)
    title: str = Field(max_length=200)  # the theme
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    starts_at: datetime
    ends_at: datetime | None = None
    place: str | None = Field(default=None, max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    # Kelurahan invited; empty: everyone of the community.
    kelurahan: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    seats: int | None = None  # a training's seat limit; None: no limit
    status: str = Field(default=MeetingStatus.PLANNED, max_length=16, index=True)
    # Bumped at each move: notice keys carry it, so the new time is announced anew.
    revision: int = 0
    previous_starts_at: datetime | None = None
    rule_id: int | None = Field(default=None, foreign_key="meeting_rule.id", index=True)
    occurrence: date | None = None  # the rule's day this meeting was made for
    # The public holiday the day falls on (flagged to coordinators, never moved silently) and
    # the day suggested instead.
    holiday: str | None = Field(default=None, max_length=200)
    suggested_date: date | None = None
    checkin_code: str | None = Field(default=None, max_length=16)  # the code word of the day
    created_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Rsvp(SQLModel, table=True):
    """A member's answer for one meeting (the latest one counts)."""

    __tablename__ = "rsvp"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id", name="uq_rsvp_member"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    answer: str = Field(max_length=8)
    # A training with seats: a "yes" beyond the seats waits, in order of ``answered_at``.
    waiting: bool = False
    channel: str | None = Field(default=None, max_length=16)
    answered_at: datetime = Field(default_factory=utcnow)  # of the current answer
    created_at: datetime = Field(default_factory=utcnow)


class Attendance(SQLModel, table=True):
    """Who was there: by the code word of the day or marked by a coordinator."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id", name="uq_attendance_member"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    method: str = Field(max_length=16)  # "code" or "marked"
    recorded_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    recorded_at: datetime = Field(default_factory=utcnow)


class MeetingRole(SQLModel, table=True):
    """A member asked to take one role at one meeting, and what came of it."""

    __tablename__ = "meeting_role"
    __table_args__ = (
        UniqueConstraint("meeting_id", "role", "member_id", name="uq_meeting_role_member"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    role: str = Field(max_length=16)
    member_id: int = Field(foreign_key="member.id", index=True)
    status: str = Field(default=RoleStatus.ASKED, max_length=16, index=True)
    asked_at: datetime = Field(default_factory=utcnow)
    answer_by: datetime | None = None  # no answer by then: the next member is asked
    answered_at: datetime | None = None


class RolePause(SQLModel, table=True):
    """A member who cannot take roles for a while: skipped, not forgotten."""

    __tablename__ = "role_pause"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    until: datetime | None = None  # None: until she says she can again
    created_at: datetime = Field(default_factory=utcnow)


class ThemeSuggestion(SQLModel, table=True):
    """A theme a member needs, for a meeting or a training (USUL)."""

    __tablename__ = "theme_suggestion"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    # The meeting that took it as its theme (then it is not offered again).
    used_meeting_id: int | None = Field(default=None, foreign_key="meeting.id")


class ThemePoll(SQLModel, table=True):
    """A vote on suggested themes, open until ``closes_at`` or closed by a coordinator."""

    __tablename__ = "theme_poll"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    # The suggestions offered, in their numbered order (at most 9).
    options: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16, index=True)  # open, closed
    created_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)
    closes_at: datetime
    closed_at: datetime | None = None


class ThemeVote(SQLModel, table=True):
    """One member's vote in one poll (changeable while it is open)."""

    __tablename__ = "theme_vote"
    __table_args__ = (UniqueConstraint("poll_id", "member_id", name="uq_theme_vote_member"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="theme_poll.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    suggestion_id: int = Field(foreign_key="theme_suggestion.id")
    voted_at: datetime = Field(default_factory=utcnow)


# --- errors ---


class MeetingError(ValueError):
    """A meeting operation refused, with a stable code the dialogs word from the catalog
    (``meetings.error.<code>``): ``past``, ``end_before_start``, ``empty_title``,
    ``bad_kind``, ``bad_seats``, ``not_open`` (cancelled or done), ``started``,
    ``not_invited``, ``bad_answer``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def error_text(t: Translator, error: MeetingError) -> str:
    """The member's or coordinator's sentence for a refusal."""
    return t(f"meetings.error.{error.code}")


NOTICE_KIND = "meeting"  # the outbox kind of every meeting notice (and its WhatsApp template)
TITLE_LIMIT = 200
PLACE_LIMIT = 300


def aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def clean_kelurahan_list(names: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        name = " ".join(name.split())
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return list(seen.values())


# --- creating, reading, changing ---


def create_meeting(
    session: Session,
    *,
    community_id: int,
    title: str,
    starts_at: datetime,
    now: datetime,
    ends_at: datetime | None = None,
    kind: str = MeetingKind.MEETING,
    place: str | None = None,
    description: str | None = None,
    kelurahan: Iterable[str] = (),
    seats: int | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    rule_id: int | None = None,
    occurrence: date | None = None,
    holiday: str | None = None,
    suggested_date: date | None = None,
    created_by_member_id: int | None = None,
) -> Meeting:
    """Record a meeting or training (its notices follow from the notice job)."""
    title = " ".join(title.split())
    if not title:
        raise MeetingError("empty_title")
    if kind not in MeetingKind.ALL:
        raise MeetingError("bad_kind")
    starts_at = aware(starts_at)
    if starts_at <= aware(now):
        raise MeetingError("past")
    if ends_at is not None and aware(ends_at) <= starts_at:
        raise MeetingError("end_before_start")
    if seats is not None and (seats < 1 or kind != MeetingKind.TRAINING):
        raise MeetingError("bad_seats")
    meeting = Meeting(
        community_id=community_id,
        kind=kind,
        title=title[:TITLE_LIMIT],
        description=(description or "").strip() or None,
        starts_at=starts_at,
        ends_at=aware(ends_at) if ends_at is not None else None,
        place=" ".join((place or "").split())[:PLACE_LIMIT] or None,
        latitude=latitude,
        longitude=longitude,
        kelurahan=clean_kelurahan_list(kelurahan),
        seats=seats,
        rule_id=rule_id,
        occurrence=occurrence,
        holiday=holiday,
        suggested_date=suggested_date,
        checkin_code=new_checkin_code(),
        created_by_member_id=created_by_member_id,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    session.flush()
    return meeting


def get_meeting(session: Session, community_id: int, meeting_id: int) -> Meeting | None:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.community_id != community_id:
        return None
    return meeting


def is_open(meeting: Meeting) -> bool:
    return meeting.status in MeetingStatus.OPEN


def invited(meeting: Meeting, member: Member) -> bool:
    """Whether the meeting is for her: everyone's, or one of her kelurahan's."""
    if not meeting.kelurahan:
        return True
    mine = (member.kelurahan or "").strip().lower()
    return mine in {k.lower() for k in meeting.kelurahan}


def upcoming_meetings(
    session: Session,
    community_id: int,
    now: datetime,
    *,
    member: Member | None = None,
    kind: str | None = None,
    limit: int = 5,
    include_cancelled: bool = False,
) -> list[Meeting]:
    """Meetings still to start, soonest first; for a member only those she is invited to."""
    statuses = MeetingStatus.ALL if include_cancelled else MeetingStatus.OPEN
    query = (
        select(Meeting)
        .where(
            Meeting.community_id == community_id,
            col(Meeting.status).in_(statuses),
            col(Meeting.starts_at) > now,
        )
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    )
    if kind is not None:
        query = query.where(Meeting.kind == kind)
    found: list[Meeting] = []
    for meeting in session.exec(query):
        if member is None or invited(meeting, member):
            found.append(meeting)
            if len(found) >= limit:
                break
    return found


def next_meeting(
    session: Session, community_id: int, now: datetime, member: Member | None = None
) -> Meeting | None:
    found = upcoming_meetings(session, community_id, now, member=member, limit=1)
    return found[0] if found else None


def audience_filters(meeting: Meeting) -> list[ColumnElement[bool]]:
    """The conditions on ``member`` of :func:`audience`, for queries that select more (or less)
    than whole members (the notice planning)."""
    filters: list[ColumnElement[bool]] = [
        col(Member.community_id) == meeting.community_id,
        col(Member.status) == MemberStatus.ACTIVE,
        col(Member.anonymised_at).is_(None),
    ]
    if meeting.kelurahan:
        filters.append(
            func.lower(func.coalesce(Member.kelurahan, "")).in_(
                [k.lower() for k in meeting.kelurahan]
            )
        )
    return filters


def audience(session: Session, meeting: Meeting) -> list[Member]:
    """The active members invited to the meeting (opted-out ones included: the sender skips
    them, and a headcount counts them as not answered)."""
    query = select(Member).where(*audience_filters(meeting)).order_by(col(Member.id))
    return list(session.exec(query))


# --- answers (RSVP) ---

# The words that answer for one meeting, as a choice's payload: "HADIR #12". A notice's choices
# carry them, so a button or a typed number answers for the meeting the notice was about.
RSVP_WORDS = {Answer.YES: "HADIR", Answer.NO: "TIDAK", Answer.MAYBE: "MUNGKIN"}


def rsvp_choices(t: Translator, meeting_id: int) -> list[tuple[str, str]]:
    """(payload, label) of the three answers for one meeting, in the reader's language."""
    return [
        (f"{RSVP_WORDS[answer]} #{meeting_id}", t(f"meetings.choice.{answer}"))
        for answer in (Answer.YES, Answer.NO, Answer.MAYBE)
    ]


NO_ANSWER = "none"  # an audience of the invited who have not answered


def rsvp_audience_value(meeting: Meeting, answer: str) -> str:
    """A broadcast audience by answer (storage.broadcasts kind ``"rsvp"``): ``"12:yes"``;
    for those who have not answered, the meeting's kelurahan too: ``"12:none:23 Ilir|24 Ilir"``."""
    value = f"{meeting.id}:{answer}"
    if answer == NO_ANSWER and meeting.kelurahan:
        value += ":" + "|".join(meeting.kelurahan)
    return value


def rsvp_audience(query: SelectOfScalar[Member], value: str | None) -> SelectOfScalar[Member]:
    """Narrow a broadcast's members to one answer of one meeting (see rsvp_audience_value)."""
    meeting_id, _, rest = (value or "").partition(":")
    answer, _, places = rest.partition(":")
    if not meeting_id.isdigit() or answer not in (*Answer.ALL, NO_ANSWER):
        return query.where(false())
    answered = select(Rsvp.member_id).where(Rsvp.meeting_id == int(meeting_id))
    if answer == NO_ANSWER:
        query = query.where(col(Member.id).not_in(answered))
        kelurahan = [k.lower() for k in places.split("|") if k]
        if kelurahan:
            query = query.where(func.lower(func.coalesce(Member.kelurahan, "")).in_(kelurahan))
        return query
    return query.where(col(Member.id).in_(answered.where(Rsvp.answer == answer)))


def lineup(session: Session, meeting_id: int) -> dict[str, Member]:
    """The roles taken (accepted) at a meeting: role -> member."""
    rows = session.exec(
        select(MeetingRole, Member)
        .join(Member, col(Member.id) == MeetingRole.member_id)
        .where(MeetingRole.meeting_id == meeting_id, MeetingRole.status == RoleStatus.ACCEPTED)
        .order_by(col(MeetingRole.answered_at))
    )
    return {role.role: member for role, member in rows}


@dataclass(frozen=True, slots=True)
class RsvpResult:
    meeting: Meeting
    answer: str
    previous: str | None  # her answer before this one
    waiting: bool = False  # a training's "yes" beyond its seats: on the waiting list
    position: int | None = None  # her place on the waiting list (1 = next)
    # Members who moved up from the waiting list to a seat because of this answer.
    promoted: tuple[Member, ...] = ()

    @property
    def unchanged(self) -> bool:
        return self.previous == self.answer


def rsvp_of(session: Session, meeting_id: int, member_id: int) -> Rsvp | None:
    return session.exec(
        select(Rsvp).where(Rsvp.meeting_id == meeting_id, Rsvp.member_id == member_id)
    ).first()


def _lock_meeting(session: Session, meeting: Meeting) -> None:
    """Answers to one meeting are serialised (its seats): a row lock on PostgreSQL; SQLite
    has one writer anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update()).all()


def _seated(session: Session, meeting_id: int, exclude_member: int | None = None) -> int:
    query = select(func.count()).where(
        Rsvp.meeting_id == meeting_id, Rsvp.answer == Answer.YES, col(Rsvp.waiting).is_(False)
    )
    if exclude_member is not None:
        query = query.where(Rsvp.member_id != exclude_member)
    return int(session.exec(query).one())


def waiting_list(session: Session, meeting_id: int) -> list[Rsvp]:
    return list(
        session.exec(
            select(Rsvp)
            .where(
                Rsvp.meeting_id == meeting_id,
                Rsvp.answer == Answer.YES,
                col(Rsvp.waiting).is_(True),
            )
            .order_by(col(Rsvp.answered_at), col(Rsvp.id))
        )
    )


def waiting_position(session: Session, meeting_id: int, member_id: int) -> int | None:
    for position, rsvp in enumerate(waiting_list(session, meeting_id), start=1):
        if rsvp.member_id == member_id:
            return position
    return None


def answer_rsvp(
    session: Session,
    meeting: Meeting,
    member: Member,
    answer: str,
    *,
    now: datetime,
    channel: str | None = None,
) -> RsvpResult:
    """Record her answer (the latest counts) until the meeting starts. A training with seats
    gives a "yes" a seat or a place on the waiting list; a seat given up goes to the first who
    waits, who is told (an outbox notice)."""
    if answer not in Answer.ALL:
        raise MeetingError("bad_answer")
    if not is_open(meeting):
        raise MeetingError("not_open")
    if aware(meeting.starts_at) <= aware(now):
        raise MeetingError("started")
    if not invited(meeting, member):
        raise MeetingError("not_invited")
    assert meeting.id is not None and member.id is not None
    _lock_meeting(session, meeting)
    rsvp = rsvp_of(session, meeting.id, member.id)
    previous = rsvp.answer if rsvp is not None else None
    had_seat = rsvp is not None and rsvp.answer == Answer.YES and not rsvp.waiting
    if rsvp is not None and rsvp.answer == answer:
        position = waiting_position(session, meeting.id, member.id) if rsvp.waiting else None
        return RsvpResult(meeting, answer, previous, rsvp.waiting, position)
    waiting = False
    if answer == Answer.YES and meeting.seats is not None:
        waiting = _seated(session, meeting.id, exclude_member=member.id) >= meeting.seats
    if rsvp is None:
        rsvp = Rsvp(meeting_id=meeting.id, member_id=member.id, created_at=now, answer=answer)
    rsvp.answer = answer
    rsvp.waiting = waiting
    rsvp.channel = channel
    rsvp.answered_at = now
    session.add(rsvp)
    session.flush()
    promoted: tuple[Member, ...] = ()
    if had_seat and answer != Answer.YES:
        promoted = tuple(fill_seats(session, meeting, now=now))
    position = waiting_position(session, meeting.id, member.id) if waiting else None
    return RsvpResult(meeting, answer, previous, waiting, position, promoted)


def fill_seats(session: Session, meeting: Meeting, *, now: datetime) -> list[Member]:
    """Give free seats to those waiting, first come first served; each is told."""
    if meeting.seats is None or meeting.id is None:
        return []
    free = meeting.seats - _seated(session, meeting.id)
    promoted: list[Member] = []
    for rsvp in waiting_list(session, meeting.id)[: max(free, 0)]:
        rsvp.waiting = False
        session.add(rsvp)
        member = session.get(Member, rsvp.member_id)
        if member is None:
            continue
        promoted.append(member)
        t = Translator(member.language)
        enqueue(
            session,
            key=f"meeting:{meeting.id}:seat:member:{member.id}:{aware(rsvp.answered_at).isoformat()}",
            kind=NOTICE_KIND,
            community_id=meeting.community_id,
            member_id=member.id,
            text=t(
                "meetings.seat_given",
                title=meeting.title,
                when=format_datetime(meeting.starts_at, t.lang),
            ),
        )
    session.flush()
    return promoted


@dataclass(frozen=True, slots=True)
class Headcount:
    yes: int = 0
    maybe: int = 0
    no: int = 0
    none: int = 0  # invited, no answer yet
    waiting: int = 0  # of the yes: on a training's waiting list
    # kelurahan (or "" when unknown) -> {"yes": n, "maybe": n, "no": n, "none": n}
    by_kelurahan: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def invited(self) -> int:
        return self.yes + self.maybe + self.no + self.none


def answers(session: Session, meeting: Meeting) -> list[tuple[Member, Rsvp | None]]:
    """Every invited member with her answer (None: none yet), and members who answered but
    are no longer invited (moved kelurahan) too, by name."""
    assert meeting.id is not None
    rsvps = {
        r.member_id: r for r in session.exec(select(Rsvp).where(Rsvp.meeting_id == meeting.id))
    }
    people = {m.id: m for m in audience(session, meeting)}
    missing = [mid for mid in rsvps if mid not in people]
    if missing:
        for member in session.exec(select(Member).where(col(Member.id).in_(missing))):
            if member.anonymised_at is None:
                people[member.id] = member
    rows = [(member, rsvps.get(member.id or 0)) for member in people.values()]
    return sorted(rows, key=lambda row: (row[0].name.lower(), row[0].id or 0))


def headcount(session: Session, meeting: Meeting) -> Headcount:
    totals = {"yes": 0, "maybe": 0, "no": 0, "none": 0}
    waiting = 0
    by_kelurahan: dict[str, dict[str, int]] = {}
    for member, rsvp in answers(session, meeting):
        bucket = rsvp.answer if rsvp is not None else "none"
        totals[bucket] += 1
        if rsvp is not None and rsvp.waiting:
            waiting += 1
        place = by_kelurahan.setdefault(
            member.kelurahan or "", {"yes": 0, "maybe": 0, "no": 0, "none": 0}
        )
        place[bucket] += 1
    return Headcount(
        yes=totals["yes"],
        maybe=totals["maybe"],
        no=totals["no"],
        none=totals["none"],
        waiting=waiting,
        by_kelurahan=dict(sorted(by_kelurahan.items())),
    )


# --- attendance ---

# Code words of the day: short, common, easy to say aloud and to type on a phone.
_CODE_WORDS = (
    *("MAWAR", "MELATI", "ANGGREK", "KENANGA", "CEMPAKA", "TERATAI", "DAHLIA", "SEROJA"),
    *("DURIAN", "MANGGA", "JERUK", "NANAS", "PISANG", "SALAK", "DUKU", "PEMPEK", "TEKWAN"),
    *("MUSI", "AMPERA", "SONGKET", "KEMUNING", "BAMBU", "PELANGI", "MERPATI"),
)
_CODE_DIGITS = "23456789"  # no 0/1 beside letters O and I


def new_checkin_code() -> str:
    """``MAWAR7``: a word and a digit, read aloud at the venue, hard to guess from home."""
    return secrets.choice(_CODE_WORDS) + secrets.choice(_CODE_DIGITS)


def normalize_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclass(frozen=True, slots=True)
class CheckIn:
    status: str  # "recorded", "already", "wrong_code", "no_meeting"
    meeting: Meeting | None = None


def meetings_of_the_day(
    session: Session, community_id: int, now: datetime, zone: ZoneInfo
) -> list[Meeting]:
    """Meetings (not cancelled) on today's local date: where a check-in can be for."""
    local = aware(now).astimezone(zone)
    start = datetime.combine(local.date(), time(0), zone).astimezone(UTC)
    end = start + timedelta(days=1)
    return list(
        session.exec(
            select(Meeting)
            .where(
                Meeting.community_id == community_id,
                Meeting.status != MeetingStatus.CANCELLED,
                col(Meeting.starts_at) >= start,
                col(Meeting.starts_at) < end,
            )
            .order_by(col(Meeting.starts_at))
        )
    )


def check_in(
    session: Session, member: Member, code: str, *, now: datetime, zone: ZoneInfo
) -> CheckIn:
    """``HADIR MAWAR7`` at the venue: her attendance at today's meeting with that code."""
    today = meetings_of_the_day(session, member.community_id, now, zone)
    if not today:
        return CheckIn("no_meeting")
    typed = normalize_code(code)
    meeting = next((m for m in today if normalize_code(m.checkin_code or "") == typed), None)
    if meeting is None:
        return CheckIn("wrong_code", today[0])
    recorded = record_attendance(session, meeting, [member.id or 0], method="code", now=now)
    return CheckIn("recorded" if recorded else "already", meeting)


def record_attendance(
    session: Session,
    meeting: Meeting,
    member_ids: Sequence[int],
    *,
    method: str,
    now: datetime,
    by_member_id: int | None = None,
) -> int:
    """Mark members present (once each); returns how many were newly marked."""
    assert meeting.id is not None
    new = 0
    for member_id in dict.fromkeys(member_ids):
        values: dict[str, Any] = {
            "meeting_id": meeting.id,
            "member_id": member_id,
            "method": method,
            "recorded_by_member_id": by_member_id,
            "recorded_at": now,
        }
        if insert_ignore(session, Attendance, values) is not None:
            new += 1
    return new


def attendance_of(session: Session, meeting_id: int) -> dict[int, Attendance]:
    rows = session.exec(select(Attendance).where(Attendance.meeting_id == meeting_id))
    return {a.member_id: a for a in rows}


# --- moving and cancelling ---


def _role_holders(session: Session, meeting: Meeting) -> list[int]:
    """Members holding one of its roles, or asked to take one and not yet answered."""
    return list(
        session.exec(
            select(MeetingRole.member_id).where(
                MeetingRole.meeting_id == meeting.id,
                col(MeetingRole.status).in_((RoleStatus.ASKED, RoleStatus.ACCEPTED)),
            )
        )
    )


def _tell_who_answered(
    session: Session,
    meeting: Meeting,
    *,
    key: str,
    text_key: str,
    not_before: datetime | None,
    also: Iterable[int] = (),
    **params: datetime | None,
) -> int:
    """One notice to every member who answered, and to those in ``also`` (her roles), in her
    language; returns how many."""
    assert meeting.id is not None
    told = 0
    answered = session.exec(select(Rsvp.member_id).where(Rsvp.meeting_id == meeting.id))
    for member_id in dict.fromkeys([*answered, *also]):
        member = session.get(Member, member_id)
        if member is None or member.anonymised_at is not None:
            continue
        t = Translator(member.language)
        words = {name: format_datetime(v, t.lang) for name, v in params.items() if v is not None}
        if enqueue(
            session,
            key=f"{key}:member:{member.id}",
            kind=NOTICE_KIND,
            community_id=meeting.community_id,
            member_id=member.id,
            text=t(text_key, title=meeting.title, **words),
            not_before=not_before,
        ):
            told += 1
    return told


def cancel_meeting(
    session: Session, meeting: Meeting, *, now: datetime, not_before: datetime | None = None
) -> int:
    """Cancel it and tell everyone who answered or holds (or was asked for) one of its roles;
    returns how many are told."""
    if not is_open(meeting):
        raise MeetingError("not_open")
    meeting.status = MeetingStatus.CANCELLED
    meeting.updated_at = now
    session.add(meeting)
    holders = _role_holders(session, meeting)
    _withdraw_roles(session, meeting, now)
    return _tell_who_answered(
        session,
        meeting,
        key=f"meeting:{meeting.id}:cancelled",
        text_key="meetings.cancelled_notice",
        not_before=not_before,
        also=holders,
        when=meeting.starts_at,
    )


def move_meeting(
    session: Session,
    meeting: Meeting,
    *,
    starts_at: datetime,
    now: datetime,
    ends_at: datetime | None = None,
    not_before: datetime | None = None,
) -> int:
    """Move it to a new time and tell everyone who answered or has a role (old and new time);
    the notices
    of the new time (announcement, reminders) are planned anew. Returns how many are told."""
    if not is_open(meeting):
        raise MeetingError("not_open")
    starts_at = aware(starts_at)
    if starts_at <= aware(now):
        raise MeetingError("past")
    if ends_at is None and meeting.ends_at is not None:
        ends_at = starts_at + (aware(meeting.ends_at) - aware(meeting.starts_at))
    if ends_at is not None and aware(ends_at) <= starts_at:
        raise MeetingError("end_before_start")
    old = aware(meeting.starts_at)
    meeting.previous_starts_at = old
    meeting.starts_at = starts_at
    meeting.ends_at = aware(ends_at) if ends_at is not None else None
    meeting.status = MeetingStatus.MOVED
    meeting.revision += 1
    meeting.holiday = None
    meeting.suggested_date = None
    meeting.updated_at = now
    session.add(meeting)
    return _tell_who_answered(
        session,
        meeting,
        key=f"meeting:{meeting.id}:moved:{meeting.revision}",
        text_key="meetings.moved_notice",
        not_before=not_before,
        also=_role_holders(session, meeting),
        old=old,
        new=starts_at,
    )


def _withdraw_roles(session: Session, meeting: Meeting, now: datetime) -> None:
    rows = session.exec(
        select(MeetingRole).where(
            MeetingRole.meeting_id == meeting.id,
            col(MeetingRole.status).in_((RoleStatus.ASKED, RoleStatus.ACCEPTED)),
        )
    )
    for row in rows:
        row.status = RoleStatus.WITHDRAWN
        row.answered_at = row.answered_at or now
        session.add(row)


def finish_past_meetings(session: Session, now: datetime) -> int:
    """Meetings that have ended become ``done`` (answers close, attendance stays open)."""
    count = 0
    for meeting in session.exec(
        select(Meeting).where(
            col(Meeting.status).in_(MeetingStatus.OPEN), col(Meeting.starts_at) < now
        )
    ):
        end = aware(meeting.ends_at or meeting.starts_at)
        if end <= aware(now):
            meeting.status = MeetingStatus.DONE
            meeting.updated_at = now
            session.add(meeting)
            count += 1
    return count
