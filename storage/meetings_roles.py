"""The rotating roles of a monthly meeting: MC (pembawa acara), facilitator and speaker
(pemateri), asked of members in turn so that the group learns to run itself.

For each role of a meeting one member at a time is asked (a ``meeting_role`` row, ``asked``,
and an outbox notice with the choices TERIMA / TOLAK). She accepts, declines, or does not
answer by ``answer_by``; on a decline or no answer the next member is asked. The order
(:func:`propose`) is fair: the fewest turns first, then the longest wait since her last turn,
then the member id. A **turn** is a role accepted at a meeting that was not cancelled. Nobody
holds the same role at two meetings in a row. A member may pause taking roles for a while
(``role_pause``): she is skipped, her count stays, so she comes first again when she is back.

The notice job calls :func:`plan_roles` (every open monthly meeting starting within
``WLCC_ANNOUNCE_DAYS_BEFORE`` + :data:`PLAN_EXTRA_DAYS` days); a member's answer
(conversations/meetings_roles.py) calls :func:`answer_role`, which asks the next member at once
in the same transaction. When all three roles are taken the coordinators and admins are told
the line-up once; when nobody is left to ask for a role, or it is too close to the start to
ask anyone, they are told once for that role. Every notice has a unique outbox key.

Roles are asked for monthly meetings (``pertemuan``) only: a training (``pelatihan``) has its
trainer. Quiet hours are the notice job's business (it decides when it runs).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.meetings import (
    Meeting,
    MeetingKind,
    MeetingRole,
    MeetingRoleName,
    MeetingStatus,
    RolePause,
    RoleStatus,
    _lock_meeting,
    audience_filters,
    aware,
    is_open,
    lineup,
)
from storage.members import first_name, staff
from storage.models import Member, Role
from storage.outbox import enqueue
from wlcc.formatting import DEFAULT_ZONE, format_datetime
from wlcc.i18n import Translator
from wlcc.settings import Settings

ROLES = (MeetingRoleName.MC, MeetingRoleName.FACILITATOR, MeetingRoleName.SPEAKER)
ROLE_KINDS = (MeetingKind.MEETING,)  # the kinds of meeting whose roles rotate
NOTICE_KIND = "meeting_role"  # the outbox kind of the asks (and its WhatsApp template key)
STAFF_NOTICE_KIND = "meeting"  # line-up and unfilled roles, to coordinators
# Roles are asked from this many days before the announcement, so that the line-up is known
# early and a decline or two still leaves time (with 48 hours to answer: several rounds).
PLAN_EXTRA_DAYS = 7
# Nobody is asked to answer later than this before the start, nor asked at all closer to it:
# the coordinators then arrange the role themselves (they are told).
ANSWER_CLOSES_BEFORE_START = timedelta(hours=12)
# Payloads of the ask's choices: "PERAN TERIMA 12" / "PERAN TOLAK 12" (the meeting_role id).
ACCEPT_PAYLOAD = "PERAN TERIMA"
DECLINE_PAYLOAD = "PERAN TOLAK"
STAFF_ROLES = (Role.COORDINATOR, Role.ADMIN)
_DEFAULT_ANSWER_HOURS = int(Settings.model_fields["wlcc_role_answer_hours"].default)


def role_label(t: Translator, role: str) -> str:
    """ "MC (pembawa acara)", "fasilitator", "pemateri", in the reader's language."""
    return t(f"meetings_roles.role.{role}")


def role_choices(t: Translator, row_id: int) -> list[tuple[str, str]]:
    """(payload, label) of the answers to one ask."""
    return [
        (f"{ACCEPT_PAYLOAD} {row_id}", t("meetings_roles.choice.accept")),
        (f"{DECLINE_PAYLOAD} {row_id}", t("meetings_roles.choice.decline")),
    ]


# --- pauses ---


def active_pause(session: Session, member_id: int, now: datetime) -> RolePause | None:
    """Her pause, if it still holds (``until`` None: until she says she can again)."""
    pause = session.get(RolePause, member_id)
    if pause is None or (pause.until is not None and aware(pause.until) <= aware(now)):
        return None
    return pause


def months_later(now: datetime, months: int, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """The start of the local day ``months`` calendar months after ``now`` (31 January + 1:
    28 or 29 February)."""
    local = aware(now).astimezone(zone).date()
    year, month = divmod(local.month - 1 + months, 12)
    year, month = local.year + year, month + 1
    day = date(year, month, min(local.day, monthrange(year, month)[1]))
    return datetime.combine(day, time(0), zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Released:
    """An ask given up when she paused: the role and meeting, and who is asked now."""

    row: MeetingRole
    meeting: Meeting
    next_member: Member | None


def pause_roles(
    session: Session, member: Member, *, until: datetime | None, now: datetime
) -> list[Released]:
    """She cannot take roles until ``until`` (None: until she says so). Her asks still waiting
    for an answer are declined (the next member is asked at once); roles she accepted stay."""
    assert member.id is not None
    pause = session.get(RolePause, member.id)
    if pause is None:
        pause = RolePause(member_id=member.id)
    pause.until = until
    pause.created_at = now
    session.add(pause)
    session.flush()
    released = []
    for row, meeting in pending_asks(session, member, now):
        answer = answer_role(session, row, member, accept=False, now=now)
        released.append(Released(row, meeting, answer.next_member))
    return released


def resume_roles(session: Session, member: Member, now: datetime) -> bool:
    """She can take roles again; False when she was not paused."""
    assert member.id is not None
    pause = session.get(RolePause, member.id)
    if pause is None:
        return False
    paused = active_pause(session, member.id, now) is not None
    session.delete(pause)
    session.flush()
    return paused


# --- who is next ---


@dataclass(frozen=True, slots=True)
class Turns:
    count: int = 0
    last: datetime | None = None  # the start of the meeting of her latest turn


def turns(session: Session, community_id: int, *, besides: int | None = None) -> dict[int, Turns]:
    """member id -> her turns (roles accepted at meetings not cancelled), ``besides`` the
    meeting being planned."""
    query = (
        select(MeetingRole.member_id, func.count(), func.max(Meeting.starts_at))
        .join(Meeting, col(Meeting.id) == MeetingRole.meeting_id)
        .where(
            Meeting.community_id == community_id,
            Meeting.status != MeetingStatus.CANCELLED,
            MeetingRole.status == RoleStatus.ACCEPTED,
        )
        .group_by(col(MeetingRole.member_id))
    )
    if besides is not None:
        query = query.where(Meeting.id != besides)
    return {
        member_id: Turns(int(count), aware(last) if last is not None else None)
        for member_id, count, last in session.exec(query)
    }


def _neighbours(session: Session, meeting: Meeting) -> list[int]:
    """The meetings just before and just after this one (not cancelled, same kind)."""
    base = select(Meeting.id).where(
        Meeting.community_id == meeting.community_id,
        Meeting.kind == meeting.kind,
        Meeting.status != MeetingStatus.CANCELLED,
        Meeting.id != meeting.id,
    )
    before = session.exec(
        base.where(col(Meeting.starts_at) <= meeting.starts_at)
        .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
        .limit(1)
    ).first()
    after = session.exec(
        base.where(col(Meeting.starts_at) > meeting.starts_at)
        .order_by(col(Meeting.starts_at), col(Meeting.id))
        .limit(1)
    ).first()
    return [m for m in (before, after) if m is not None]


def propose(session: Session, meeting: Meeting, role: str, now: datetime) -> Member | None:
    """The next member to ask for ``role`` at ``meeting``, or None when nobody is left.

    Among the active members invited to it, not opted out, not paused, not holding or asked
    for a role at this meeting already, not asked for this role here before (declined, no
    answer), not unanswering here (an ask of hers expired at this meeting), and not holding
    this role at the meeting just before or just after: the fewest turns, then the longest
    wait since her last turn (never had one: longest), then the lowest member id.
    """
    assert meeting.id is not None
    rows = session.exec(select(MeetingRole).where(MeetingRole.meeting_id == meeting.id)).all()
    excluded = {
        r.member_id
        for r in rows
        if r.role == role or r.status in (RoleStatus.ASKED, RoleStatus.ACCEPTED, RoleStatus.EXPIRED)
    }
    neighbours = _neighbours(session, meeting)
    if neighbours:
        excluded |= set(
            session.exec(
                select(MeetingRole.member_id).where(
                    col(MeetingRole.meeting_id).in_(neighbours),
                    MeetingRole.role == role,
                    MeetingRole.status == RoleStatus.ACCEPTED,
                )
            )
        )
    paused = set(
        session.exec(
            select(RolePause.member_id).where(
                (col(RolePause.until).is_(None)) | (col(RolePause.until) > aware(now))
            )
        )
    )
    # Ids only: a community of 10,000 members is not loaded whole for three roles.
    invited = session.exec(
        select(Member.id).where(*audience_filters(meeting), col(Member.opted_out).is_(False))
    )
    candidates = [i for i in invited if i is not None and i not in excluded and i not in paused]
    if not candidates:
        return None
    counts = turns(session, meeting.community_id, besides=meeting.id)
    never = datetime.min.replace(tzinfo=UTC)

    def order(member_id: int) -> tuple[int, datetime, int]:
        mine = counts.get(member_id, Turns())
        return (mine.count, mine.last or never, member_id)

    return session.get(Member, min(candidates, key=order))


# --- asking ---


def _answer_closes(meeting: Meeting) -> datetime:
    return aware(meeting.starts_at) - ANSWER_CLOSES_BEFORE_START


def _ask(
    session: Session,
    meeting: Meeting,
    role: str,
    member: Member,
    *,
    now: datetime,
    answer_for: timedelta,
) -> MeetingRole:
    assert meeting.id is not None and member.id is not None
    row = MeetingRole(
        meeting_id=meeting.id,
        role=role,
        member_id=member.id,
        status=RoleStatus.ASKED,
        asked_at=now,
        answer_by=min(aware(now) + answer_for, _answer_closes(meeting)),
    )
    session.add(row)
    session.flush()
    assert row.id is not None and row.answer_by is not None
    t = Translator(member.language)
    when = format_datetime(meeting.starts_at, t.lang)
    enqueue(
        session,
        key=f"meeting_role:{meeting.id}:{role}:member:{member.id}",
        kind=NOTICE_KIND,
        community_id=meeting.community_id,
        member_id=member.id,
        text=t(
            "meetings_roles.ask",
            name=first_name(member),
            role=role_label(t, role),
            title=meeting.title,
            when=f"{when}, {meeting.place}" if meeting.place else when,
            deadline=format_datetime(row.answer_by, t.lang),
        ),
        choices=role_choices(t, row.id),
    )
    return row


def _tell_staff(
    session: Session, meeting: Meeting, key: str, text: Callable[[Translator], str]
) -> int:
    """One notice to each coordinator and admin, in her language (once: by its key)."""
    told = 0
    for person in staff(session, meeting.community_id, STAFF_ROLES):
        if enqueue(
            session,
            key=f"{key}:staff:{person.id}",
            kind=STAFF_NOTICE_KIND,
            community_id=meeting.community_id,
            member_id=person.id,
            text=text(Translator(person.language)),
        ):
            told += 1
    return told


def _unfilled_text(meeting: Meeting, role: str) -> Callable[[Translator], str]:
    def text(t: Translator) -> str:
        return t(
            "meetings_roles.unfilled",
            role=role_label(t, role),
            title=meeting.title,
            when=format_datetime(meeting.starts_at, t.lang),
        )

    return text


def _expire(session: Session, meeting_id: int, now: datetime) -> int:
    """Asks past their time: no answer, the next member is asked."""
    rows = session.exec(
        select(MeetingRole).where(
            MeetingRole.meeting_id == meeting_id,
            MeetingRole.status == RoleStatus.ASKED,
            col(MeetingRole.answer_by) <= aware(now),
        )
    ).all()
    for row in rows:
        row.status = RoleStatus.EXPIRED
        row.answered_at = now
        session.add(row)
    session.flush()
    return len(rows)


def plan_meeting_roles(
    session: Session, meeting: Meeting, *, now: datetime, answer_for: timedelta
) -> int:
    """One meeting: asks past their time expire; every role without an accepted or waiting
    ask gets its next member asked; the coordinators are told the complete line-up, or a role
    nobody can take, once. Returns how many were asked."""
    assert meeting.id is not None
    if not is_open(meeting) or meeting.kind not in ROLE_KINDS:
        return 0
    if aware(meeting.starts_at) <= aware(now):
        return 0
    _lock_meeting(session, meeting)
    _expire(session, meeting.id, now)
    rows = session.exec(select(MeetingRole).where(MeetingRole.meeting_id == meeting.id)).all()
    taken = {r.role: r.status for r in rows if r.status in (RoleStatus.ASKED, RoleStatus.ACCEPTED)}
    asked = 0
    too_late = _answer_closes(meeting) <= aware(now)
    for role in ROLES:
        if role in taken:
            continue
        member = None if too_late else propose(session, meeting, role, now)
        if member is None:
            _tell_staff(
                session,
                meeting,
                f"meeting_role:{meeting.id}:{role}:unfilled",
                _unfilled_text(meeting, role),
            )
            continue
        _ask(session, meeting, role, member, now=now, answer_for=answer_for)
        taken[role] = RoleStatus.ASKED
        asked += 1
    if all(taken.get(role) == RoleStatus.ACCEPTED for role in ROLES):
        holders = lineup(session, meeting.id)
        _tell_staff(
            session,
            meeting,
            f"meeting_role:{meeting.id}:lineup",
            lambda t: t(
                "meetings_roles.lineup_done",
                title=meeting.title,
                when=format_datetime(meeting.starts_at, t.lang),
                mc=holders[MeetingRoleName.MC].name,
                facilitator=holders[MeetingRoleName.FACILITATOR].name,
                speaker=holders[MeetingRoleName.SPEAKER].name,
            ),
        )
    return asked


def plan_window(settings: Settings) -> timedelta:
    """How far ahead roles are asked: the announcement's days plus :data:`PLAN_EXTRA_DAYS`."""
    return timedelta(days=settings.wlcc_announce_days_before + PLAN_EXTRA_DAYS)


def plan_roles(session: Session, *, now: datetime, settings: Settings) -> int:
    """The notice job's step for roles: every open monthly meeting starting within
    :func:`plan_window` (all communities). Returns how many members were asked."""
    now = aware(now)
    meetings = session.exec(
        select(Meeting)
        .where(
            col(Meeting.status).in_(MeetingStatus.OPEN),
            col(Meeting.kind).in_(ROLE_KINDS),
            col(Meeting.starts_at) > now,
            col(Meeting.starts_at) <= now + plan_window(settings),
        )
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all()
    answer_for = timedelta(hours=settings.wlcc_role_answer_hours)
    return sum(
        plan_meeting_roles(session, meeting, now=now, answer_for=answer_for) for meeting in meetings
    )


# --- her answer ---


def pending_asks(
    session: Session, member: Member, now: datetime
) -> list[tuple[MeetingRole, Meeting]]:
    """Her asks waiting for an answer, at open meetings still to start, soonest first."""
    rows = session.exec(
        select(MeetingRole, Meeting)
        .join(Meeting, col(Meeting.id) == MeetingRole.meeting_id)
        .where(
            MeetingRole.member_id == member.id,
            MeetingRole.status == RoleStatus.ASKED,
            col(Meeting.status).in_(MeetingStatus.OPEN),
            col(Meeting.starts_at) > aware(now),
        )
        .order_by(col(Meeting.starts_at), col(MeetingRole.id))
    )
    return [(row, meeting) for row, meeting in rows]


def lapsed_ask(session: Session, member: Member, now: datetime) -> MeetingRole | None:
    """Her latest ask that ran out of time at a meeting still to come (a late TERIMA is told
    so, rather than that nothing waits)."""
    return session.exec(
        select(MeetingRole)
        .join(Meeting, col(Meeting.id) == MeetingRole.meeting_id)
        .where(
            MeetingRole.member_id == member.id,
            MeetingRole.status == RoleStatus.EXPIRED,
            col(Meeting.status).in_(MeetingStatus.OPEN),
            col(Meeting.starts_at) > aware(now),
        )
        .order_by(col(MeetingRole.answered_at).desc(), col(MeetingRole.id).desc())
    ).first()


class AnswerStatus:
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ALREADY_ACCEPTED = "already_accepted"  # she had accepted (changes go through a coordinator)
    ALREADY_DECLINED = "already_declined"
    EXPIRED = "expired"  # too late: the next member was asked
    CLOSED = "closed"  # the meeting was cancelled, has started, or the ask was withdrawn
    NOT_FOUND = "not_found"  # no such ask of hers


@dataclass(frozen=True, slots=True)
class RoleAnswer:
    status: str
    row: MeetingRole | None = None
    meeting: Meeting | None = None
    next_member: Member | None = None  # asked at once after her decline


def get_ask(session: Session, row_id: int, member: Member) -> MeetingRole | None:
    row = session.get(MeetingRole, row_id)
    return row if row is not None and row.member_id == member.id else None


def answer_role(
    session: Session,
    row: MeetingRole | int,
    member: Member,
    *,
    accept: bool,
    now: datetime,
    answer_for: timedelta | None = None,
) -> RoleAnswer:
    """Record her answer to one ask. A decline asks the next member at once (the same time to
    answer as she had, ``answer_for`` unless given); an acceptance that completes the line-up
    tells the coordinators. Both happen in the caller's transaction."""
    if isinstance(row, int):
        found = get_ask(session, row, member)
        if found is None:
            return RoleAnswer(AnswerStatus.NOT_FOUND)
        row = found
    if row.member_id != member.id:
        return RoleAnswer(AnswerStatus.NOT_FOUND)
    meeting = session.get(Meeting, row.meeting_id)
    assert meeting is not None
    _lock_meeting(session, meeting)
    session.refresh(row)
    if row.status != RoleStatus.ASKED:
        status = {
            RoleStatus.ACCEPTED: AnswerStatus.ALREADY_ACCEPTED,
            RoleStatus.DECLINED: AnswerStatus.ALREADY_DECLINED,
            RoleStatus.EXPIRED: AnswerStatus.EXPIRED,
        }.get(row.status, AnswerStatus.CLOSED)
        return RoleAnswer(status, row, meeting)
    if not is_open(meeting) or aware(meeting.starts_at) <= aware(now):
        return RoleAnswer(AnswerStatus.CLOSED, row, meeting)
    # Answering a little late is fine while nobody else has been asked yet.
    if answer_for is None:
        given = aware(row.answer_by) - aware(row.asked_at) if row.answer_by else None
        answer_for = given or timedelta(hours=_DEFAULT_ANSWER_HOURS)
    row.status = RoleStatus.ACCEPTED if accept else RoleStatus.DECLINED
    row.answered_at = now
    session.add(row)
    session.flush()
    before = {r.id for r in _asked_rows(session, meeting, row.role)}
    plan_meeting_roles(session, meeting, now=now, answer_for=answer_for)
    next_member = None
    if not accept:
        new = [r for r in _asked_rows(session, meeting, row.role) if r.id not in before]
        if new:
            next_member = session.get(Member, new[0].member_id)
    return RoleAnswer(
        AnswerStatus.ACCEPTED if accept else AnswerStatus.DECLINED, row, meeting, next_member
    )


def _asked_rows(session: Session, meeting: Meeting, role: str) -> Iterable[MeetingRole]:
    return session.exec(
        select(MeetingRole).where(
            MeetingRole.meeting_id == meeting.id,
            MeetingRole.role == role,
            MeetingRole.status == RoleStatus.ASKED,
        )
    ).all()
