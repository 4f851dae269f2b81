"""Role rotation over two simulated years: 24 monthly meetings (the second Saturday, 09.00 WIB),
members joining and leaving, some declining, one who never answers, pauses, one cancelled
meeting. On SQLite and PostgreSQL.

What "turn" means here: a **turn** is a role (MC, facilitator or speaker) a member accepted at a
meeting that was not cancelled. The test counts turns itself, from the line-up of each meeting
as it ends up, not through the code under test.

Each month the meeting is made 15 days ahead, the role planning (``plan_roles``) runs 14 days
ahead and then every 49 hours (past the 48 hours to answer) until the line-up is complete;
each member asked answers an hour after the planning: most accept, "Tolak" always declines,
"Diam" never answers (her ask expires), and from the seventh month on the others decline one
ask in five (a seeded draw).
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from storage.db import Database
from storage.meetings import (
    Meeting,
    MeetingRole,
    MeetingStatus,
    RoleStatus,
    cancel_meeting,
    create_meeting,
    lineup,
)
from storage.meetings_roles import (
    ROLES,
    active_pause,
    answer_role,
    months_later,
    pause_roles,
    plan_roles,
    resume_roles,
)
from storage.models import Member, MemberStatus
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.settings import Settings

WIB = ZoneInfo("Asia/Jakarta")
SETTINGS = Settings(_env_file=None)
MONTHS = 24
ORIGINAL = 12
ALWAYS_DECLINES = "Tolak"
NEVER_ANSWERS = "Diam"
JOIN = {6: "Baru 1", 13: "Baru 2", 19: "Baru 3"}  # month index -> a new member
LEAVE = {9: "A07", 15: "A10"}  # month index -> she is no longer active
PAUSE_THREE_MONTHS = (4, "A02")  # from this month, for three calendar months
PAUSE_OPEN = (11, 16, "A08")  # paused from the first month until she says so in the second
CANCELLED = 12  # this month's meeting is cancelled after its roles were taken
RANDOM_DECLINES_FROM = 7


def second_saturday(year: int, month: int) -> datetime:
    saturdays = [week[calendar.SATURDAY] for week in calendar.monthcalendar(year, month) if week[5]]
    day = datetime(year, month, saturdays[1]).date()
    return datetime.combine(day, time(9, 0), WIB).astimezone(UTC)


@dataclass
class Month:
    meeting_id: int
    cancelled: bool
    holders: dict[str, str]  # role -> name
    asked: dict[str, list[tuple[str, str]]]  # name -> [(role, final status)]
    available: set[str]  # active and not paused when the planning began
    before: dict[str, int] = field(default_factory=dict)  # turns before this meeting


def _name(session: Session, member_id: int) -> str:
    member = session.get(Member, member_id)
    assert member is not None
    return member.name


def _simulate(db: Database) -> tuple[list[Month], dict[str, int]]:
    rng = random.Random(10)
    history: list[Month] = []
    counts: dict[str, int] = {}  # the test's own count of turns
    with db.transaction() as session:
        names = [f"A{i:02d}" for i in range(1, ORIGINAL + 1)]
        names[2], names[4] = ALWAYS_DECLINES, NEVER_ANSWERS
        for i, name in enumerate(names):
            add_member(session, name, phone(i), kelurahan=("19 Ilir", "23 Ilir", "24 Ilir")[i % 3])
    for index in range(MONTHS):
        year, month = 2027 + index // 12, index % 12 + 1
        start = second_saturday(year, month)
        events = start - timedelta(days=15)
        with db.transaction() as session:
            people = {m.name: m for m in session.exec(select(Member))}
            if index in JOIN:
                add_member(session, JOIN[index], phone(100 + index), kelurahan="23 Ilir")
            if index in LEAVE:
                people[LEAVE[index]].status = MemberStatus.INACTIVE
                session.add(people[LEAVE[index]])
            if index == PAUSE_THREE_MONTHS[0]:
                member = people[PAUSE_THREE_MONTHS[1]]
                pause_roles(session, member, until=months_later(events, 3), now=events)
            if index == PAUSE_OPEN[0]:
                pause_roles(session, people[PAUSE_OPEN[2]], until=None, now=events)
            if index == PAUSE_OPEN[1]:
                assert resume_roles(session, people[PAUSE_OPEN[2]], events)
            meeting = create_meeting(
                session,
                community_id=COMMUNITY,
                title=f"Pertemuan {year}-{month:02d}",
                starts_at=start,
                ends_at=start + timedelta(hours=3),
                now=events,
            )
            meeting_id = meeting.id or 0
        now = start - timedelta(days=14)
        with db.transaction() as session:
            available = {
                m.name
                for m in session.exec(select(Member).where(Member.status == MemberStatus.ACTIVE))
                if active_pause(session, m.id or 0, now) is None
            }
        while now < start:
            with db.transaction() as session:
                plan_roles(session, now=now, settings=SETTINGS)
                _answer_all(session, meeting_id, now + timedelta(hours=1), rng, index)
                if len(lineup(session, meeting_id)) == len(ROLES):
                    break
            now += timedelta(hours=49)
        with db.transaction() as session:
            meeting = session.get(Meeting, meeting_id)  # type: ignore[assignment]
            assert meeting is not None
            if index == CANCELLED:
                cancel_meeting(session, meeting, now=now)
            holders = {r: m.name for r, m in lineup(session, meeting_id).items()}
            asked: dict[str, list[tuple[str, str]]] = {}
            for row in session.exec(
                select(MeetingRole)
                .where(MeetingRole.meeting_id == meeting_id)
                .order_by(col(MeetingRole.id))
            ):
                asked.setdefault(_name(session, row.member_id), []).append((row.role, row.status))
        record = Month(meeting_id, index == CANCELLED, holders, asked, available, dict(counts))
        history.append(record)
        if not record.cancelled:
            for name in holders.values():
                counts[name] = counts.get(name, 0) + 1
    return history, counts


def _answer_all(
    session: Session, meeting_id: int, at: datetime, rng: random.Random, index: int
) -> None:
    """Everyone asked answers (a decline asks the next at once, who answers too)."""
    while True:
        waiting = [
            (row, session.get(Member, row.member_id))
            for row in session.exec(
                select(MeetingRole).where(
                    MeetingRole.meeting_id == meeting_id, MeetingRole.status == RoleStatus.ASKED
                )
            )
        ]
        waiting = [(row, m) for row, m in waiting if m is not None and m.name != NEVER_ANSWERS]
        if not waiting:
            return
        for row, member in waiting:
            assert member is not None
            decline = member.name == ALWAYS_DECLINES or (
                index >= RANDOM_DECLINES_FROM and rng.random() < 0.2
            )
            answer_role(session, row, member, accept=not decline, now=at)


def test_two_years_of_rotation(db: Database) -> None:
    history, counts = _simulate(db)
    kept = [m for m in history if not m.cancelled]

    # Every meeting that took place had its three roles taken.
    assert all(len(m.holders) == 3 for m in kept)

    # Never the same person in the same role at two meetings in a row (cancelled ones aside).
    for previous, current in pairwise(kept):
        for role in ROLES:
            assert previous.holders[role] != current.holders[role], (role, current.meeting_id)

    # Fairness, meeting by meeting: whoever took a role had no more turns before this meeting
    # than any member who was there to be asked and would have said yes (active, not paused,
    # not asked here, or asked and accepted another role); the one exception is the rule
    # above: she held that very role at the meeting before.
    for i, month in enumerate(history):
        willing = {
            name
            for name in month.available
            if name not in (ALWAYS_DECLINES, NEVER_ANSWERS)
            and all(status == RoleStatus.ACCEPTED for _, status in month.asked.get(name, []))
        }
        last = next((m for m in reversed(history[:i]) if not m.cancelled), None)
        for role, holder in month.holders.items():
            for other in willing - set(month.holders.values()):
                if last is not None and last.holders.get(role) == other:
                    continue
                assert month.before.get(holder, 0) <= month.before.get(other, 0), (
                    i,
                    role,
                    holder,
                    other,
                    month.before,
                )

    # The first round, plainly: all ten who answer yes had a first turn before anyone a second.
    first: dict[str, int] = {}
    second: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, month in enumerate(kept):
        for name in month.holders.values():
            seen[name] = seen.get(name, 0) + 1
            (first if seen[name] == 1 else second).setdefault(name, i)
    originals = {f"A{i:02d}" for i in range(1, ORIGINAL + 1)} - {"A03", "A05"}
    assert originals <= set(first)
    assert max(first[name] for name in originals) <= min(second.values())

    # A new member is asked at the first meeting after she joined (she has no turn yet).
    for index, name in JOIN.items():
        assert name in history[index].asked, (index, name)
        assert all(name not in m.asked for m in history[:index])

    # Members who left are not asked any more.
    for index, name in LEAVE.items():
        assert all(name not in m.asked for m in history[index:]), name

    # Paused members are skipped, then asked again soon after they are back (her few turns
    # kept her at the front of the line).
    start, name = PAUSE_THREE_MONTHS
    assert all(name not in m.asked for m in history[start : start + 3])
    assert name in history[start + 3].asked
    begin, end, name = PAUSE_OPEN
    assert all(name not in m.asked for m in history[begin:end])
    assert name in history[end].asked

    # The one who declines is asked again and again (not forgotten), and never takes a turn;
    # the one who never answers: every ask of hers expired, and the role was still taken.
    assert sum(len(m.asked.get(ALWAYS_DECLINES, [])) for m in history) >= 12
    assert all(
        status == RoleStatus.DECLINED
        for m in history
        for _, status in m.asked.get(ALWAYS_DECLINES, [])
    )
    silent = [(m, role) for m in kept for role, _ in m.asked.get(NEVER_ANSWERS, [])]
    assert len(silent) >= 6
    for month, role in silent:
        statuses = dict(month.asked[NEVER_ANSWERS])
        assert statuses[role] == RoleStatus.EXPIRED
        assert role in month.holders
    assert ALWAYS_DECLINES not in counts and NEVER_ANSWERS not in counts

    # The cancelled meeting's roles were withdrawn and are no turns.
    cancelled = history[CANCELLED]
    assert cancelled.asked and all(
        status in (RoleStatus.WITHDRAWN, RoleStatus.DECLINED, RoleStatus.EXPIRED)
        for statuses in cancelled.asked.values()
        for _, status in statuses
    )
    with db.transaction() as session:
        meeting = session.get(Meeting, cancelled.meeting_id)
        assert meeting is not None and meeting.status == MeetingStatus.CANCELLED

    # Over two years the turns of those who stayed and say yes differ by at most two.
    steady = originals - {"A02", "A07", "A08", "A10"}
    assert max(counts[n] for n in steady) - min(counts[n] for n in steady) <= 2
