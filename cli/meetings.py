"""``wlcc meetings``: meetings and trainings from a terminal.

``add`` one, ``recur`` a monthly rule (its coming months' meetings are made at once), ``list``
the coming ones, ``cancel`` or ``move`` one (everyone who answered is told, in her language),
and ``attendance`` of one as CSV. Dates and times are read and shown in ``WLCC_TIMEZONE``.
Registered in ``cli/main.py`` as ``app.add_typer(meetings_app, name="meetings")``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from cli.common import console, fail, settings_or_exit
from wlcc.settings import Settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from storage.meetings import Meeting

meetings_app = typer.Typer(
    help="Meetings and trainings: add, recur, list, cancel, move, attendance (CSV).",
    no_args_is_help=True,
)

START_FORMAT = "%Y-%m-%d %H:%M"

CommunityOption = Annotated[str | None, typer.Option(help="Community slug (default: the first).")]


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """One transaction on the configured database, which must be migrated."""
    from storage.db import Database, redact_url
    from storage.migrate import pending

    db = Database(settings.database_url)
    try:
        try:
            behind = pending(db.engine, settings.database_url)
        except Exception as exc:
            raise fail(
                f"Cannot open {redact_url(settings.database_url)}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None
        if behind:
            raise fail(
                f"The database {redact_url(settings.database_url)} is not migrated: "
                "run `wlcc db upgrade` first."
            )
        with db.transaction() as session:
            yield session
    finally:
        db.dispose()


def _community_id(session: Session, slug: str | None) -> int:
    from sqlmodel import select

    from storage.identities import default_community
    from storage.models import Community

    community = (
        session.exec(select(Community).where(Community.slug == slug)).first()
        if slug
        else default_community(session)
    )
    if community is None or community.id is None:
        raise fail(f"No community {slug!r}.", 2)
    return community.id


def _start(text: str, zone: ZoneInfo) -> datetime:
    """``"2026-12-12 09:00"`` in the local zone -> aware UTC; exits on a bad or impossible
    date ("2026-02-31 09:00")."""
    from datetime import UTC

    try:
        local = datetime.strptime(" ".join(text.split()), START_FORMAT)
    except ValueError:
        raise fail(
            f"Not a date and time: {text!r}. Write it as YYYY-MM-DD HH:MM, e.g. "
            '"2026-12-12 09:00" (the day must exist).',
            2,
        ) from None
    return local.replace(tzinfo=zone).astimezone(UTC)


def _end(text: str | None, starts_at: datetime, zone: ZoneInfo) -> datetime | None:
    """``--end HH:MM`` on the day of the start."""
    from datetime import UTC

    from storage.meetings_rules import parse_hhmm

    if text is None:
        return None
    end = parse_hhmm(text)
    if end is None:
        raise fail(f"Not a time: {text!r}. Write it as HH:MM, e.g. 12:00.", 2)
    day = starts_at.astimezone(zone).date()
    return datetime.combine(day, end, zone).astimezone(UTC)


def _refused(exc: Exception) -> typer.Exit:
    """A storage refusal (MeetingError) in plain English."""
    code = getattr(exc, "code", str(exc))
    words = {
        "past": "that time has already passed: give a date and time to come",
        "end_before_start": "the end must be after the start",
        "empty_title": "the title is empty",
        "bad_kind": "the kind must be pertemuan or pelatihan",
        "bad_seats": "seats are for a training (--kind pelatihan), at least 1",
        "not_open": "it is already cancelled or done",
        "bad_weekday": "unknown weekday",
        "bad_nth": "--nth must be 1 to 5 or last",
        "bad_time": "times are HH:MM, e.g. 09:00",
        "rule_no_day": "no month in the coming months has such a day (a fifth weekday?)",
    }
    return fail(f"Refused: {words.get(code, code)}.", 1)


def _when(meeting: Meeting, zone: ZoneInfo) -> str:
    """``Saturday, 12 December 2026 09:00-12:00 WIB``."""
    from wlcc.formatting import format_date, format_datetime, to_local

    start = to_local(meeting.starts_at, zone)
    hours = start.strftime("%H:%M")
    if meeting.ends_at is not None:
        hours += "-" + to_local(meeting.ends_at, zone).strftime("%H:%M")
    zone_name = format_datetime(meeting.starts_at, "en", zone).rsplit(" ", 1)[-1]
    return f"{format_date(start.date(), 'en')} {hours} {zone_name}"


def _describe(meeting: Meeting, zone: ZoneInfo) -> str:
    parts = [f"#{meeting.id}", _when(meeting, zone), meeting.kind, meeting.title]
    if meeting.place:
        parts.append(meeting.place)
    parts.append(", ".join(meeting.kelurahan) if meeting.kelurahan else "everyone")
    if meeting.seats is not None:
        parts.append(f"{meeting.seats} seat(s)")
    return " | ".join(parts)


def _holiday_line(meeting: Meeting) -> str | None:
    from wlcc.formatting import format_date

    if not meeting.holiday:
        return None
    line = f"  ! a public holiday: {meeting.holiday}"
    if meeting.suggested_date is not None:
        line += f"; suggested instead: {format_date(meeting.suggested_date, 'en')}"
    return line + " (nothing was moved: decide, then `wlcc meetings move`)."


def _flag_holiday(meeting: Meeting, zone: ZoneInfo) -> None:
    """A one-off meeting on a public holiday: recorded as it is, with a day suggested (the
    same weekday)."""
    from storage.meetings_rules import holiday_and_suggestion
    from wlcc.formatting import utcnow

    day = meeting.starts_at.astimezone(zone).date()
    name, other = holiday_and_suggestion(
        day, weekday=day.weekday(), today=utcnow().astimezone(zone).date()
    )
    meeting.holiday = name
    meeting.suggested_date = other


def _get(session: Session, community: int, meeting_id: int) -> Meeting:
    from storage.meetings import get_meeting

    meeting = get_meeting(session, community, meeting_id)
    if meeting is None:
        raise fail(f"No meeting {meeting_id}: `wlcc meetings list` shows their ids.", 1)
    return meeting


def _not_before(settings: Settings, now: datetime) -> datetime | None:
    """Notices told now wait for the end of the quiet hours."""
    from wlcc.dates import outside_quiet_hours, parse_quiet_hours

    quiet = parse_quiet_hours(settings.wlcc_quiet_hours)
    moment = outside_quiet_hours(now, quiet, settings.timezone)
    return moment if moment > now else None


# --- the commands ---


@meetings_app.command("add")
def add(
    title: Annotated[str, typer.Option(help="The title or theme.")],
    start: Annotated[str, typer.Option(help='Local start, "YYYY-MM-DD HH:MM".')],
    end: Annotated[str | None, typer.Option(help="Local end time, HH:MM.")] = None,
    place: Annotated[str | None, typer.Option(help="Where.")] = None,
    kelurahan: Annotated[
        list[str] | None,
        typer.Option(help="Invite only this kelurahan (repeat for more; default: everyone)."),
    ] = None,
    kind: Annotated[str, typer.Option(help="pertemuan (meeting) or pelatihan (training).")] = (
        "pertemuan"
    ),
    seats: Annotated[
        int | None, typer.Option(help="A training's seat limit (default: no limit).")
    ] = None,
    community: CommunityOption = None,
) -> None:
    """Create one meeting or training; prints its id."""
    from storage.meetings import MeetingError, create_meeting
    from wlcc.formatting import utcnow

    settings = settings_or_exit()
    zone = settings.timezone
    starts_at = _start(start, zone)
    ends_at = _end(end, starts_at, zone)
    kind = kind.strip().lower()
    with _session(settings) as session:
        try:
            meeting = create_meeting(
                session,
                community_id=_community_id(session, community),
                title=title,
                starts_at=starts_at,
                ends_at=ends_at,
                kind=kind,
                place=place,
                kelurahan=kelurahan or (),
                seats=seats,
                now=utcnow(),
            )
        except MeetingError as exc:
            raise _refused(exc) from None
        _flag_holiday(meeting, zone)
        session.add(meeting)
        session.flush()
        console.print(f"Created meeting {meeting.id}: {_describe(meeting, zone)}", highlight=False)
        holiday = _holiday_line(meeting)
        if holiday:
            console.print(holiday, highlight=False)


@meetings_app.command("recur")
def recur(
    title: Annotated[str, typer.Option(help="The title or theme of every meeting.")],
    weekday: Annotated[str, typer.Option(help="monday ... sunday (or senin ... minggu).")],
    nth: Annotated[str, typer.Option(help="Which one of the month: 1 to 5, or last.")],
    start: Annotated[str, typer.Option(help="Local start time, HH:MM.")],
    end: Annotated[str | None, typer.Option(help="Local end time, HH:MM.")] = None,
    place: Annotated[str | None, typer.Option(help="Where.")] = None,
    kelurahan: Annotated[
        list[str] | None,
        typer.Option(help="Invite only this kelurahan (repeat for more; default: everyone)."),
    ] = None,
    kind: Annotated[str, typer.Option(help="pertemuan (meeting) or pelatihan (training).")] = (
        "pertemuan"
    ),
    community: CommunityOption = None,
) -> None:
    """A monthly rule ("the 2nd Saturday", "the last Friday"); makes the coming months'
    meetings now (WLCC_MEETING_MONTHS_AHEAD) and flags public holidays."""
    from storage.meetings import MeetingError
    from storage.meetings_rules import LAST, create_rule, ensure_rule_occurrences
    from wlcc.dates import parse_nth, parse_weekday
    from wlcc.formatting import utcnow

    settings = settings_or_exit()
    zone = settings.timezone
    day = parse_weekday(weekday)
    if day is None:
        raise fail(f"Unknown weekday {weekday!r}: use monday ... sunday (or senin ... minggu).", 2)
    which = parse_nth(nth)
    if which is None:
        raise fail(f"Unknown --nth {nth!r}: use 1 to 5, or last.", 2)
    months = settings.wlcc_meeting_months_ahead
    now = utcnow()
    with _session(settings) as session:
        try:
            rule = create_rule(
                session,
                community_id=_community_id(session, community),
                title=title,
                weekday=day,
                nth=which,
                start=start,
                end=end,
                place=place,
                kelurahan=kelurahan or (),
                kind=kind.strip().lower(),
                now=now,
                months=months,
                zone=zone,
            )
        except MeetingError as exc:
            raise _refused(exc) from None
        made = ensure_rule_occurrences(session, rule, now=now, months=months, zone=zone)
        which_words = "last" if rule.nth == LAST else f"#{rule.nth}"
        console.print(
            f"Created rule {rule.id}: the {which_words} {weekday.strip().lower()} of every month, "
            f"{rule.start_time}{'-' + rule.end_time if rule.end_time else ''}. "
            f"{len(made)} meeting(s) in the coming {months} month(s):",
            highlight=False,
        )
        for meeting in made:
            console.print(f"  {_describe(meeting, zone)}", highlight=False)
            holiday = _holiday_line(meeting)
            if holiday:
                console.print(holiday, highlight=False)


@meetings_app.command("list")
def list_meetings(
    all_: Annotated[bool, typer.Option("--all", help="Include cancelled ones too.")] = False,
    community: CommunityOption = None,
) -> None:
    """The coming meetings and trainings, soonest first, with their answers so far."""
    from storage.meetings import headcount, upcoming_meetings
    from wlcc.formatting import utcnow

    settings = settings_or_exit()
    zone = settings.timezone
    with _session(settings) as session:
        meetings = upcoming_meetings(
            session,
            _community_id(session, community),
            utcnow(),
            limit=1000,
            include_cancelled=all_,
        )
        if not meetings:
            console.print("No meeting is planned.")
            return
        for meeting in meetings:
            count = headcount(session, meeting)
            line = (
                f"{_describe(meeting, zone)} | {meeting.status} | yes {count.yes}, "
                f"maybe {count.maybe}, no {count.no}, no answer {count.none}"
            )
            if count.waiting:
                line += f", waiting {count.waiting}"
            console.print(line, highlight=False, soft_wrap=True)
            holiday = _holiday_line(meeting)
            if holiday:
                console.print(holiday, highlight=False, soft_wrap=True)


@meetings_app.command("cancel")
def cancel(
    meeting_id: Annotated[int, typer.Argument(metavar="ID", help="The meeting's id.")],
    community: CommunityOption = None,
) -> None:
    """Cancel a meeting; everyone who answered is told."""
    from storage.meetings import MeetingError, cancel_meeting
    from wlcc.formatting import utcnow

    settings = settings_or_exit()
    now = utcnow()
    with _session(settings) as session:
        meeting = _get(session, _community_id(session, community), meeting_id)
        try:
            told = cancel_meeting(session, meeting, now=now, not_before=_not_before(settings, now))
        except MeetingError as exc:
            raise _refused(exc) from None
        console.print(
            f"Cancelled meeting {meeting.id} ({meeting.title}); {told} member(s) who answered "
            "will be told.",
            highlight=False,
        )


@meetings_app.command("move")
def move(
    meeting_id: Annotated[int, typer.Argument(metavar="ID", help="The meeting's id.")],
    start: Annotated[str, typer.Option(help='New local start, "YYYY-MM-DD HH:MM".')],
    end: Annotated[
        str | None, typer.Option(help="New local end time, HH:MM (default: same length).")
    ] = None,
    community: CommunityOption = None,
) -> None:
    """Move a meeting to a new time; everyone who answered is told the old and new time."""
    from storage.meetings import MeetingError, move_meeting
    from wlcc.formatting import utcnow

    settings = settings_or_exit()
    zone = settings.timezone
    starts_at = _start(start, zone)
    ends_at = _end(end, starts_at, zone)
    now = utcnow()
    with _session(settings) as session:
        meeting = _get(session, _community_id(session, community), meeting_id)
        try:
            told = move_meeting(
                session,
                meeting,
                starts_at=starts_at,
                ends_at=ends_at,
                now=now,
                not_before=_not_before(settings, now),
            )
        except MeetingError as exc:
            raise _refused(exc) from None
        _flag_holiday(meeting, zone)
        session.add(meeting)
        console.print(
            f"Moved meeting {meeting.id} to {_when(meeting, zone)}; {told} member(s) who "
            "answered will be told.",
            highlight=False,
        )
        holiday = _holiday_line(meeting)
        if holiday:
            console.print(holiday, highlight=False)


@meetings_app.command("attendance")
def attendance(
    meeting_id: Annotated[int, typer.Argument(metavar="ID", help="The meeting's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    community: CommunityOption = None,
) -> None:
    """Who was invited, answered and came, as CSV: name,phone,kelurahan,answer,attended,method."""
    settings = settings_or_exit()
    with _session(settings) as session:
        meeting = _get(session, _community_id(session, community), meeting_id)
        text = attendance_csv(session, meeting)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise fail(f"Cannot write {output}: {exc.strerror}") from None
        console.print(f"Wrote {text.count(chr(10)) - 1} row(s) to {output}", highlight=False)


def attendance_csv(session: Session, meeting: Meeting) -> str:
    """The invited (and whoever answered or came), by name: their answer and attendance
    (storage/meetings_lists.py, the same file the console's download gives)."""
    from storage.meetings_lists import attendance_csv as as_csv

    return as_csv(session, meeting)
