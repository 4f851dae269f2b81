"""Lists of meetings for the staff console and the CLI: pages of coming and past meetings with
their answer counts in a few queries, who may be marked present at one, and its attendance as
CSV (``wlcc meetings attendance``, the console's download).

The counts are those of :func:`storage.meetings.headcount` (every invited member, and whoever
answered though no longer invited), grouped in SQL so that a page of meetings of a community of
10,000 members does not load every member once per meeting.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.meetings import (
    Attendance,
    Meeting,
    Rsvp,
    answers,
    attendance_of,
    audience_filters,
    aware,
)
from storage.models import Member

CSV_COLUMNS = ("name", "phone", "kelurahan", "answer", "attended", "method")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Counts:
    """A meeting's answers (as storage.meetings.headcount counts them) and who came."""

    yes: int = 0
    no: int = 0
    maybe: int = 0
    none: int = 0  # invited, no answer yet
    waiting: int = 0  # of the yes: on a training's waiting list
    present: int = 0


def count_meetings(session: Session, community_id: int, now: datetime, *, past: bool) -> int:
    """How many meetings (cancelled ones too) start after ``now``, or started by then."""
    query = select(func.count()).select_from(Meeting).where(Meeting.community_id == community_id)
    start = col(Meeting.starts_at)
    query = query.where(start <= aware(now) if past else start > aware(now))
    return int(session.exec(query).one())


def meetings_page(
    session: Session,
    community_id: int,
    now: datetime,
    *,
    past: bool,
    offset: int,
    limit: int,
) -> list[Meeting]:
    """Coming meetings soonest first, or past ones latest first (cancelled ones too)."""
    start = col(Meeting.starts_at)
    query = select(Meeting).where(Meeting.community_id == community_id)
    if past:
        query = query.where(start <= aware(now)).order_by(start.desc(), col(Meeting.id).desc())
    else:
        query = query.where(start > aware(now)).order_by(start, col(Meeting.id))
    return list(session.exec(query.offset(offset).limit(limit)))


def counts_of(session: Session, meetings: Sequence[Meeting]) -> dict[int, Counts]:
    """meeting id -> its counts: one grouped query for the answers, one for attendance, and
    one count of the invited per meeting."""
    ids = [m.id for m in meetings if m.id is not None]
    if not ids:
        return {}
    answered: dict[int, dict[str, int]] = {i: {} for i in ids}
    rows = session.exec(
        select(Rsvp.meeting_id, Rsvp.answer, Rsvp.waiting, func.count())
        .join(Member, col(Member.id) == Rsvp.member_id)
        .where(col(Rsvp.meeting_id).in_(ids), col(Member.anonymised_at).is_(None))
        .group_by(col(Rsvp.meeting_id), col(Rsvp.answer), col(Rsvp.waiting))
    )
    for meeting_id, answer, waiting, n in rows:
        bucket = answered[meeting_id]
        bucket[answer] = bucket.get(answer, 0) + int(n)
        if waiting:
            bucket["waiting"] = bucket.get("waiting", 0) + int(n)
    present = dict(
        session.exec(
            select(Attendance.meeting_id, func.count())
            .where(col(Attendance.meeting_id).in_(ids))
            .group_by(col(Attendance.meeting_id))
        ).all()
    )
    found: dict[int, Counts] = {}
    for meeting in meetings:
        assert meeting.id is not None
        silent = session.exec(
            select(func.count())
            .select_from(Member)
            .where(
                *audience_filters(meeting),
                ~col(Member.id).in_(select(Rsvp.member_id).where(Rsvp.meeting_id == meeting.id)),
            )
        ).one()
        bucket = answered[meeting.id]
        found[meeting.id] = Counts(
            yes=bucket.get("yes", 0),
            no=bucket.get("no", 0),
            maybe=bucket.get("maybe", 0),
            none=int(silent),
            waiting=bucket.get("waiting", 0),
            present=int(present.get(meeting.id, 0)),
        )
    return found


def attendance_rows(
    session: Session, meeting: Meeting
) -> list[tuple[Member, Rsvp | None, Attendance | None]]:
    """The invited, and whoever answered or came, by name: her answer and her attendance.
    Who the chat's PESERTA lists to mark, and the rows of the CSV."""
    assert meeting.id is not None
    present = attendance_of(session, meeting.id)
    rows: list[tuple[Member, Rsvp | None]] = answers(session, meeting)
    listed = {member.id for member, _ in rows}
    others = [mid for mid in present if mid not in listed]
    if others:
        extra = session.exec(select(Member).where(col(Member.id).in_(others)))
        rows += [(member, None) for member in extra]
        rows.sort(key=lambda row: (row[0].name.lower(), row[0].id or 0))
    return [(member, rsvp, present.get(member.id or 0)) for member, rsvp in rows]


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (a name typed as ``=HYPERLINK(...)``);
    a phone number (``+62...``) stays as it is."""
    if value.startswith(_FORMULA_STARTS) and not value[1:].isdigit():
        return "'" + value
    return value


def attendance_csv(session: Session, meeting: Meeting) -> str:
    """name,phone,kelurahan,answer,attended,method: who was invited, answered and came."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for member, rsvp, came in attendance_rows(session, meeting):
        answer = "" if rsvp is None else rsvp.answer + (" (waiting list)" if rsvp.waiting else "")
        writer.writerow(
            [
                _cell(member.name),
                _cell(member.phone or ""),
                _cell(member.kelurahan or ""),
                answer,
                "yes" if came else "no",
                came.method if came else "",
            ]
        )
    return buffer.getvalue()
