"""Monthly meetings by rule: "the second Saturday of every month, 09.00-12.00", "the last
Friday".

A :class:`~storage.meetings.MeetingRule` names the nth (1-5) or last (-1) weekday of each
month and the local hours. :func:`ensure_occurrences` (run by the notice job, and by ``wlcc
meetings recur``) makes the meetings of the coming months that do not exist yet, each at most
once: a meeting row is unique on (rule, day), written with ``INSERT ... ON CONFLICT DO
NOTHING``, so two schedulers never make one twice, and an occurrence a coordinator cancelled
or moved is never made again.

A day that is an Indonesian public holiday keeps its date, with ``holiday`` (its name) and
``suggested_date`` set: the notice job flags it to the coordinators, who decide (nothing is
moved silently).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from storage.meetings import (
    PLACE_LIMIT,
    TITLE_LIMIT,
    Meeting,
    MeetingError,
    MeetingKind,
    MeetingRule,
    aware,
    clean_kelurahan_list,
    new_checkin_code,
)
from storage.ops import insert_ignore
from wlcc.dates import holiday_name, monthly_occurrences, suggest_date
from wlcc.formatting import DEFAULT_ZONE

LAST = -1  # ``nth`` of "the last weekday of the month"
DEFAULT_MONTHS = 3  # WLCC_MEETING_MONTHS_AHEAD's default


def default_zone() -> ZoneInfo:
    """WLCC_TIMEZONE, or Asia/Jakarta when the settings cannot be read here."""
    from wlcc.settings import SettingsError, get_settings

    try:
        return get_settings().timezone
    except SettingsError:  # pragma: no cover - the entry points check the settings first
        return DEFAULT_ZONE


def parse_hhmm(text: str | None) -> time | None:
    """``"09:00"`` or ``"9.00"`` -> 09:00; None when it is not a time of day."""
    if text is None:
        return None
    hours, sep, minutes = text.strip().replace(".", ":").partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        return None
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return time(h, m)


@dataclass(frozen=True, slots=True)
class Occurrence:
    day: date  # local
    starts_at: datetime  # aware UTC
    ends_at: datetime | None


def occurrences(
    rule: MeetingRule, *, now: datetime, months: int, zone: ZoneInfo
) -> list[Occurrence]:
    """The rule's days still to start after ``now``, in the ``months`` calendar months from
    this one (wlcc.dates.monthly_occurrences: a month without the day is skipped)."""
    start = parse_hhmm(rule.start_time)
    if start is None:
        return []
    end = parse_hhmm(rule.end_time)
    if end is not None and end <= start:
        end = None
    found = monthly_occurrences(rule.weekday, rule.nth, start, end, aware(now), months, zone)
    return [Occurrence(s.astimezone(zone).date(), s, e) for s, e in found]


def holiday_and_suggestion(
    day: date, *, weekday: int | None = None, today: date | None = None
) -> tuple[str | None, date | None]:
    """The public holiday (or cuti bersama) ``day`` is, in Indonesian, and a day suggested
    instead (the same weekday when given, not before ``today``); (None, None) on an ordinary
    day. The day itself is never changed here: coordinators decide."""
    name = holiday_name(day)
    if not name:
        return None, None
    try:
        other = suggest_date(day, weekday, not_before=today)
    except ValueError:  # no free day near it (never seen in practice)
        other = None
    return name, other


def create_rule(
    session: Session,
    *,
    community_id: int,
    title: str,
    weekday: int,
    nth: int | str,
    start: str,
    now: datetime,
    end: str | None = None,
    place: str | None = None,
    kelurahan: Iterable[str] = (),
    kind: str = MeetingKind.MEETING,
    created_by: int | None = None,
    months: int = DEFAULT_MONTHS,
    zone: ZoneInfo | None = None,
) -> MeetingRule:
    """Record a monthly rule (its meetings follow from :func:`ensure_occurrences`).

    Refused (:class:`MeetingError`) with ``empty_title``, ``bad_kind``, ``bad_weekday`` (not
    0-6), ``bad_nth`` (not 1-5 or "last"), ``bad_time`` (not HH:MM), ``end_before_start``, or
    ``rule_no_day`` when no day of the coming ``months`` months matches (a fifth weekday that
    no month in the window has)."""
    title = " ".join(title.split())
    if not title:
        raise MeetingError("empty_title")
    if kind not in MeetingKind.ALL:
        raise MeetingError("bad_kind")
    if not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise MeetingError("bad_weekday")
    if isinstance(nth, str):
        if nth.strip().lower() not in ("last", "-1"):
            raise MeetingError("bad_nth")
        nth = LAST
    if nth != LAST and not 1 <= nth <= 5:
        raise MeetingError("bad_nth")
    start_time = parse_hhmm(start)
    if start_time is None:
        raise MeetingError("bad_time")
    end_time = parse_hhmm(end) if end else None
    if end and end_time is None:
        raise MeetingError("bad_time")
    if end_time is not None and end_time <= start_time:
        raise MeetingError("end_before_start")
    rule = MeetingRule(
        community_id=community_id,
        kind=kind,
        title=title[:TITLE_LIMIT],
        weekday=weekday,
        nth=nth,
        start_time=start_time.strftime("%H:%M"),
        end_time=end_time.strftime("%H:%M") if end_time else None,
        place=" ".join((place or "").split())[:PLACE_LIMIT] or None,
        kelurahan=clean_kelurahan_list(kelurahan),
        created_by_member_id=created_by,
        created_at=now,
    )
    if not occurrences(rule, now=now, months=months, zone=zone or default_zone()):
        raise MeetingError("rule_no_day")
    session.add(rule)
    session.flush()
    return rule


def ensure_rule_occurrences(
    session: Session,
    rule: MeetingRule,
    *,
    now: datetime,
    months: int = DEFAULT_MONTHS,
    zone: ZoneInfo | None = None,
) -> list[Meeting]:
    """Make the rule's coming meetings that do not exist yet; the ones made now."""
    assert rule.id is not None
    zone = zone or default_zone()
    existing = set(
        session.exec(
            select(col(Meeting.occurrence)).where(
                Meeting.rule_id == rule.id, col(Meeting.occurrence).is_not(None)
            )
        )
    )
    made: list[Meeting] = []
    for occurrence in occurrences(rule, now=now, months=months, zone=zone):
        if occurrence.day in existing:
            continue  # made before (perhaps cancelled or moved since): never again
        holiday, suggested = holiday_and_suggestion(
            occurrence.day, weekday=rule.weekday, today=aware(now).astimezone(zone).date()
        )
        meeting = Meeting(
            community_id=rule.community_id,
            kind=rule.kind,
            title=rule.title,
            description=rule.description,
            starts_at=occurrence.starts_at,
            ends_at=occurrence.ends_at,
            place=rule.place,
            kelurahan=list(rule.kelurahan or []),
            rule_id=rule.id,
            occurrence=occurrence.day,
            holiday=holiday,
            suggested_date=suggested,
            checkin_code=new_checkin_code(),
            created_by_member_id=rule.created_by_member_id,
            created_at=now,
            updated_at=now,
        )
        values = meeting.model_dump(exclude={"id"})
        new_id = insert_ignore(session, Meeting, values)  # a second scheduler: no twin
        if new_id is not None:
            found = session.get(Meeting, new_id)
            if found is not None:
                made.append(found)
    return made


def active_rules(session: Session, community_id: int | None = None) -> list[MeetingRule]:
    query = select(MeetingRule).where(col(MeetingRule.active).is_(True))
    if community_id is not None:
        query = query.where(MeetingRule.community_id == community_id)
    return list(session.exec(query.order_by(col(MeetingRule.id))))


def ensure_occurrences(
    session: Session, *, now: datetime, months: int, zone: ZoneInfo | None = None
) -> int:
    """For every active rule of every community, make the meetings of the coming ``months``
    calendar months that do not exist yet; returns how many were made."""
    zone = zone or default_zone()
    return sum(
        len(ensure_rule_occurrences(session, rule, now=now, months=months, zone=zone))
        for rule in active_rules(session)
    )
