"""The console's meetings pages: the coming and past meetings, planning one (or a monthly rule),
moving and cancelling it, and one meeting's answers, attendance, roles and themes.

Every change goes through the storage operations the chat and ``wlcc meetings`` use
(storage/meetings.py, meetings_rules.py, meetings_roles.py, meetings_themes.py), with the same
checks, so the members get the same notices through the outbox: who answered is told of a move
or a cancellation (after the quiet hours), the announcement and reminders follow from the
notice job, a role is asked with its TERIMA / TOLAK choices. Each change is audited.

Who may do what (storage/permissions.py): ``meeting.attendees`` to read the lists and mark who
came, ``meeting.create`` to plan, move or cancel and to ask for roles, ``meeting.themes`` to give
a meeting a voted theme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from bot.deps import DatabaseDep, SettingsDep
from console.charts import attendance_chart
from console.menu import menu_for
from console.security import ConsoleError, Form, Require, Staff, audit, page_number, pages_for
from console.security import field as form_field
from console.templating import download, render
from conversations.meetings_new import MAX_SEATS
from storage import stats
from storage.broadcasts import kelurahan_options
from storage.meetings import (
    PLACE_LIMIT,
    TITLE_LIMIT,
    Answer,
    Meeting,
    MeetingError,
    MeetingKind,
    MeetingRole,
    MeetingRule,
    MeetingStatus,
    RoleStatus,
    aware,
    cancel_meeting,
    create_meeting,
    error_text,
    get_meeting,
    headcount,
    is_open,
    move_meeting,
    record_attendance,
)
from storage.meetings_lists import (
    attendance_csv,
    attendance_rows,
    count_meetings,
    counts_of,
    meetings_page,
)
from storage.meetings_roles import ROLE_KINDS, ROLES, plan_meeting_roles
from storage.meetings_rules import (
    LAST,
    create_rule,
    ensure_rule_occurrences,
    holiday_and_suggestion,
    parse_hhmm,
)
from storage.meetings_themes import (
    PollStatus,
    ThemeError,
    get_poll,
    get_suggestion,
    latest_poll,
    open_themes,
    tally,
    use_theme,
)
from storage.meetings_themes import error_text as theme_error_text
from storage.models import Member
from storage.stats import default_period
from wlcc.dates import holiday_name, outside_quiet_hours, parse_quiet_hours
from wlcc.formatting import format_date, format_datetime, to_local, utcnow
from wlcc.i18n import Translator
from wlcc.settings import Settings

router = APIRouter()

VIEW = "meeting.attendees"
CREATE = "meeting.create"
THEMES = "meeting.themes"

View = Annotated[Staff, Depends(Require(VIEW))]
Planner = Annotated[Staff, Depends(Require(CREATE))]
Attend = Annotated[tuple[Staff, FormData], Depends(Form(VIEW))]
Change = Annotated[tuple[Staff, FormData], Depends(Form(CREATE))]
Theme = Annotated[tuple[Staff, FormData], Depends(Form(THEMES))]

PAGE_SIZE = 20  # meetings per page of the list
PEOPLE_PAGE = 100  # members per page of one meeting's answers
THEMES_SHOWN = 30  # open themes listed on a meeting's page (as the chat's TEMA)
DATE_FORMAT = "%Y-%m-%d"  # what <input type="date"> sends
ID_DIGITS = 9  # an id longer than this is no row of ours (and no PostgreSQL integer)
WEEKDAYS = range(7)  # 0 Monday ... 6 Sunday
NTHS = ("1", "2", "3", "4", "5", "last")
# The answer filters of a meeting's page: all, or one group (as the chat's PESERTA names them).
GROUPS = ("yes", "waiting", "maybe", "no", "none")
# What a change's redirect says on the meeting's page: ?done=<word>.
DONE = {
    "created": "console.meetings.done.created",
    "moved": "console.meetings.done.moved",
    "cancelled": "console.meetings.done.cancelled",
    "marked": "console.meetings.done.marked",
    "roles": "console.meetings.done.roles",
    "theme": "console.meetings.done.theme",
}


# --- small readers ---


def _meeting_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > ID_DIGITS:
        raise ConsoleError(404, "console.meetings.error.no_such_meeting")
    return int(raw)


def _find(session: Session, staff: Staff, raw: str) -> Meeting:
    meeting = get_meeting(session, staff.community_id, _meeting_id(raw))
    if meeting is None:
        raise ConsoleError(404, "console.meetings.error.no_such_meeting")
    return meeting


def _count(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) <= ID_DIGITS else 0


def _not_before(settings: Settings, now: datetime) -> datetime | None:
    """Notices told now wait for the end of the quiet hours (as ``wlcc meetings`` does)."""
    quiet = parse_quiet_hours(settings.wlcc_quiet_hours)
    moment = outside_quiet_hours(now, quiet, settings.timezone)
    return moment if moment > now else None


def _flag_holiday(meeting: Meeting, zone: ZoneInfo, now: datetime) -> None:
    """A day that is a public holiday is kept, with the day suggested instead (the same weekday),
    as ``wlcc meetings add`` and ``move`` record it; the coordinators decide."""
    day = to_local(meeting.starts_at, zone).date()
    meeting.holiday, meeting.suggested_date = holiday_and_suggestion(
        day, weekday=day.weekday(), today=to_local(now, zone).date()
    )


def _kelurahan(form: FormData) -> list[str]:
    names = []
    for value in form.getlist("kelurahan"):
        if not isinstance(value, str) or len(value) > 100:
            raise ConsoleError(422, "console.error.not_a_form")
        if value.strip():
            names.append(value.strip())
    return names


@dataclass
class Checked:
    """A form read: what was typed (shown again on a refusal) and each field's problem."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def _check_title(checked: Checked, t: Translator) -> None:
    title = " ".join(checked.values["title"].split())
    if not title:
        checked.fail("title", t("meetings.error.empty_title"))
    elif len(title) > TITLE_LIMIT:
        checked.fail(
            "title", t("meetings.new.title_too_long", limit=TITLE_LIMIT, length=len(title))
        )


def _check_place(checked: Checked, t: Translator) -> None:
    if len(" ".join(checked.values["place"].split())) > PLACE_LIMIT:
        checked.fail("place", t("meetings.new.place_too_long", limit=PLACE_LIMIT))


def _check_kind(checked: Checked, t: Translator) -> None:
    if checked.values["kind"] not in MeetingKind.ALL:
        checked.fail("kind", t("meetings.error.bad_kind"))


def _moment(
    checked: Checked, t: Translator, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """The local date, start and end (on the same day) of a form -> aware UTC, like
    ``wlcc meetings add --start "YYYY-MM-DD HH:MM" --end HH:MM``."""
    values = checked.values
    try:
        day = datetime.strptime(values["date"], DATE_FORMAT).date()
    except ValueError:
        checked.fail("date", t("console.meetings.error.bad_date"))
        day = None
    start = parse_hhmm(values["start"])
    if start is None:
        checked.fail("start", t("meetings.error.bad_time"))
    end = parse_hhmm(values["end"]) if values["end"] else None
    if values["end"] and end is None:
        checked.fail("end", t("meetings.error.bad_time"))
    if day is None or start is None:
        return None, None
    starts_at = datetime.combine(day, start, zone).astimezone(UTC)
    ends_at = datetime.combine(day, end, zone).astimezone(UTC) if end is not None else None
    return starts_at, ends_at


# Which field a storage refusal is about.
_ERROR_FIELDS = {
    "past": "date",
    "end_before_start": "end",
    "empty_title": "title",
    "bad_kind": "kind",
    "bad_seats": "seats",
    "bad_weekday": "weekday",
    "bad_nth": "nth",
    "bad_time": "start",
    "rule_no_day": "nth",
    "not_open": "form",
}


def _refused(checked: Checked, t: Translator, exc: MeetingError) -> None:
    checked.fail(_ERROR_FIELDS.get(exc.code, "form"), error_text(t, exc))


# --- the list ---


def _kind_key(meeting: Meeting | MeetingRule) -> str:
    return f"meetings.new.kind.{meeting.kind}"


def _when(meeting: Meeting, t: Translator, zone: ZoneInfo) -> str:
    """``Sabtu, 12 Desember 2026 pukul 09.00–12.00 WIB``."""
    text = format_datetime(meeting.starts_at, t.lang, zone)
    if meeting.ends_at is not None:  # "... pukul 09.00–12.00 WIB"
        start, zone_name = text.rsplit(" ", 1)
        end = to_local(meeting.ends_at, zone).strftime("%H.%M")
        text = f"{start}–{end} {zone_name}"
    return text


def _rows(
    session: Session, meetings: list[Meeting], t: Translator, zone: ZoneInfo
) -> list[dict[str, Any]]:
    counts = counts_of(session, meetings)
    return [
        {
            "id": m.id,
            "when": _when(m, t, zone),
            "iso": to_local(m.starts_at, zone).isoformat(),
            "title": m.title,
            "kind": _kind_key(m),
            "place": m.place or "",
            "kelurahan": ", ".join(m.kelurahan),
            "status": m.status,
            "counts": counts[m.id or 0],
        }
        for m in meetings
    ]


@router.get("/console/meetings", response_class=HTMLResponse)
def meetings_list(
    request: Request,
    staff: View,
    db: DatabaseDep,
    settings: SettingsDep,
    page: str | None = None,
    past: str | None = None,
    rule: str | None = None,
) -> HTMLResponse:
    now = utcnow()
    zone = settings.timezone
    t = staff.t
    made_rule: dict[str, Any] | None = None
    with db.transaction() as session:
        coming_pages = pages_for(
            count_meetings(session, staff.community_id, now, past=False), PAGE_SIZE
        )
        past_pages = pages_for(
            count_meetings(session, staff.community_id, now, past=True), PAGE_SIZE
        )
        coming_page = page_number(page, coming_pages)
        past_page = page_number(past, past_pages)
        coming = meetings_page(
            session,
            staff.community_id,
            now,
            past=False,
            offset=(coming_page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        gone = meetings_page(
            session,
            staff.community_id,
            now,
            past=True,
            offset=(past_page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        coming_rows = _rows(session, coming, t, zone)
        past_rows = _rows(session, gone, t, zone)
        if rule is not None:
            made_rule = _rule_notice(session, staff, rule, t, settings)
        period = default_period(settings)
        attendance = attendance_chart(
            stats.attendance(session, staff.community_id, period), t, period
        )
    return render(
        request,
        "meetings/list.html",
        t,
        sections=_menu(staff),
        coming=coming_rows,
        past=past_rows,
        coming_page=coming_page,
        coming_pages=coming_pages,
        past_page=past_page,
        past_pages=past_pages,
        made_rule=made_rule,
        can_create=staff.can(CREATE),
        attendance=attendance,
    )


def _menu(staff: Staff) -> list[Any]:
    return menu_for(staff)


def _rule_words(rule: MeetingRule, t: Translator) -> str:
    which = (
        t("console.meetings.nth.last")
        if rule.nth == LAST
        else t(f"console.meetings.nth.{rule.nth}")
    )
    hours = rule.start_time + (f"-{rule.end_time}" if rule.end_time else "")
    return t(
        "console.meetings.rule_words",
        which=which,
        weekday=t(f"console.meetings.weekday.{rule.weekday}"),
        hours=hours,
    )


def _rule_notice(
    session: Session, staff: Staff, raw: str, t: Translator, settings: Settings
) -> dict[str, Any]:
    """After a rule was made: what it says and how many of its meetings exist now."""
    found = session.get(MeetingRule, int(raw)) if raw.isdigit() and len(raw) <= ID_DIGITS else None
    if found is None or found.community_id != staff.community_id:
        raise ConsoleError(404, "console.meetings.error.no_such_rule")
    made = len(list(session.exec(select(Meeting.id).where(Meeting.rule_id == found.id))))
    return {
        "id": found.id,
        "title": found.title,
        "words": _rule_words(found, t),
        "count": made,
        "months": settings.wlcc_meeting_months_ahead,
    }


# --- planning a meeting or a rule ---


def _new_values(form: FormData | None = None) -> dict[str, Any]:
    names = ("title", "date", "start", "end", "place", "kind", "seats")
    values: dict[str, Any] = {name: "" for name in names}
    values["kind"] = MeetingKind.MEETING
    values["kelurahan"] = []
    if form is not None:
        for name in names:
            values[name] = form_field(form, name, 1000)
        values["kelurahan"] = _kelurahan(form)
    return values


def _rule_values(form: FormData | None = None) -> dict[str, Any]:
    names = ("title", "weekday", "nth", "start", "end", "place", "kind")
    values: dict[str, Any] = {name: "" for name in names}
    values.update(kind=MeetingKind.MEETING, weekday="5", nth="2", start="09:00", end="12:00")
    values["kelurahan"] = []
    if form is not None:
        for name in names:
            values[name] = form_field(form, name, 1000)
        values["kelurahan"] = _kelurahan(form)
    return values


def _new_page(
    request: Request,
    staff: Staff,
    db: DatabaseDep,
    *,
    status_code: int = 200,
    one: Checked | None = None,
    rule: Checked | None = None,
) -> HTMLResponse:
    with db.transaction() as session:
        places = kelurahan_options(session, staff.community_id)
    one = one or Checked(_new_values())
    rule = rule or Checked(_rule_values())
    return render(
        request,
        "meetings/new.html",
        staff.t,
        status_code=status_code,
        sections=_menu(staff),
        one=one,
        rule=rule,
        places=places,
        kinds=MeetingKind.ALL,
        weekdays=WEEKDAYS,
        nths=NTHS,
        max_seats=MAX_SEATS,
        title_limit=TITLE_LIMIT,
        place_limit=PLACE_LIMIT,
    )


@router.get("/console/meetings/new", response_class=HTMLResponse)
def new_meeting_form(request: Request, staff: Planner, db: DatabaseDep) -> HTMLResponse:
    return _new_page(request, staff, db)


@router.post("/console/meetings", response_model=None)
def create(request: Request, posted: Change, db: DatabaseDep, settings: SettingsDep) -> Response:
    staff, form = posted
    t = staff.t
    zone = settings.timezone
    checked = Checked(_new_values(form))
    values = checked.values
    _check_title(checked, t)
    _check_kind(checked, t)
    _check_place(checked, t)
    starts_at, ends_at = _moment(checked, t, zone)
    seats: int | None = None
    if values["seats"]:
        if not values["seats"].isdigit() or not 1 <= int(values["seats"]) <= MAX_SEATS:
            checked.fail("seats", t("console.meetings.error.seats", limit=MAX_SEATS))
        else:
            seats = int(values["seats"])
    if checked.errors or starts_at is None:
        return _new_page(request, staff, db, status_code=422, one=checked)
    now = utcnow()
    with db.transaction() as session:
        meeting: Meeting | None = None
        try:
            meeting = create_meeting(
                session,
                community_id=staff.community_id,
                title=values["title"],
                starts_at=starts_at,
                ends_at=ends_at,
                kind=values["kind"],
                place=values["place"],
                kelurahan=values["kelurahan"],
                seats=seats,
                created_by_member_id=staff.member_id,
                now=now,
            )
        except MeetingError as exc:
            _refused(checked, t, exc)
        if meeting is not None:
            _flag_holiday(meeting, zone, now)
            session.add(meeting)
            session.flush()
    if meeting is None:
        return _new_page(request, staff, db, status_code=422, one=checked)
    audit(
        db,
        staff,
        CREATE,
        target=f"meeting:{meeting.id}",
        detail={
            "kind": meeting.kind,
            "starts_at": aware(meeting.starts_at).isoformat(),
            "kelurahan": meeting.kelurahan,
            "holiday": meeting.holiday,
        },
    )
    return RedirectResponse(f"/console/meetings/{meeting.id}?done=created", status_code=303)


@router.post("/console/meetings/rules", response_model=None)
def create_monthly_rule(
    request: Request, posted: Change, db: DatabaseDep, settings: SettingsDep
) -> Response:
    staff, form = posted
    t = staff.t
    checked = Checked(_rule_values(form))
    values = checked.values
    _check_title(checked, t)
    _check_kind(checked, t)
    _check_place(checked, t)
    weekday = values["weekday"]
    if not weekday.isdigit() or int(weekday) not in WEEKDAYS:
        checked.fail("weekday", t("meetings.error.bad_weekday"))
    if values["nth"] not in NTHS:
        checked.fail("nth", t("meetings.error.bad_nth"))
    if parse_hhmm(values["start"]) is None:
        checked.fail("start", t("meetings.error.bad_time"))
    if values["end"] and parse_hhmm(values["end"]) is None:
        checked.fail("end", t("meetings.error.bad_time"))
    if checked.errors:
        return _new_page(request, staff, db, status_code=422, rule=checked)
    now = utcnow()
    months = settings.wlcc_meeting_months_ahead
    made: list[Meeting] = []
    with db.transaction() as session:
        rule: MeetingRule | None = None
        try:
            rule = create_rule(
                session,
                community_id=staff.community_id,
                title=values["title"],
                weekday=int(weekday),
                nth=values["nth"] if values["nth"] == "last" else int(values["nth"]),
                start=values["start"],
                end=values["end"] or None,
                place=values["place"],
                kelurahan=values["kelurahan"],
                kind=values["kind"],
                created_by=staff.member_id,
                now=now,
                months=months,
                zone=settings.timezone,
            )
        except MeetingError as exc:
            _refused(checked, t, exc)
        if rule is not None:
            made = ensure_rule_occurrences(
                session, rule, now=now, months=months, zone=settings.timezone
            )
    if rule is None:
        return _new_page(request, staff, db, status_code=422, rule=checked)
    audit(
        db,
        staff,
        "meeting.rule",
        target=f"meeting_rule:{rule.id}",
        detail={
            "weekday": rule.weekday,
            "nth": rule.nth,
            "start": rule.start_time,
            "end": rule.end_time,
            "kelurahan": rule.kelurahan,
            "meetings": [m.id for m in made],
        },
    )
    return RedirectResponse(f"/console/meetings?rule={rule.id}", status_code=303)


# --- one meeting ---


def _group(rsvp: Any) -> str:
    if rsvp is None:
        return "none"
    if rsvp.answer == Answer.YES and rsvp.waiting:
        return "waiting"
    return str(rsvp.answer)


def _markable(meeting: Meeting, now: datetime, zone: ZoneInfo) -> bool:
    """Who came is marked from the meeting's day on, never for a cancelled one (PESERTA)."""
    day = to_local(meeting.starts_at, zone).date()
    return meeting.status != MeetingStatus.CANCELLED and to_local(now, zone).date() >= day


def _changeable(meeting: Meeting, now: datetime) -> bool:
    """Moved or cancelled while still to come (RAPAT UBAH)."""
    return is_open(meeting) and aware(meeting.starts_at) > aware(now)


def _roles(
    session: Session, meeting: Meeting, now: datetime, settings: Settings, t: Translator
) -> dict[str, Any]:
    """The line-up: every ask of each role, and who the notice job would ask next for a role
    nobody holds or was asked for (worked out by planning in a savepoint, then undone)."""
    assert meeting.id is not None
    applies = meeting.kind in ROLE_KINDS
    can_plan = applies and _changeable(meeting, now)
    proposed: dict[str, str | None] = {}
    if can_plan:
        with session.begin_nested() as trial:
            before = set(
                session.exec(select(MeetingRole.id).where(MeetingRole.meeting_id == meeting.id))
            )
            plan_meeting_roles(session, meeting, now=now, answer_for=_answer_for(settings))
            for row, member in session.exec(
                select(MeetingRole, Member)
                .join(Member, col(Member.id) == MeetingRole.member_id)
                .where(MeetingRole.meeting_id == meeting.id)
            ):
                if row.id not in before:
                    proposed[row.role] = member.name
            trial.rollback()
    rows = session.exec(
        select(MeetingRole, Member)
        .join(Member, col(Member.id) == MeetingRole.member_id)
        .where(MeetingRole.meeting_id == meeting.id)
        .order_by(col(MeetingRole.asked_at), col(MeetingRole.id))
    ).all()
    lineup: list[dict[str, Any]] = []
    open_roles = []
    for role in ROLES:
        asks = [
            {
                "name": member.name,
                "status": row.status,
                "answer_by": format_datetime(row.answer_by, t.lang, settings.timezone)
                if row.answer_by is not None and row.status == RoleStatus.ASKED
                else "",
            }
            for row, member in rows
            if row.role == role
        ]
        held = any(a["status"] in (RoleStatus.ASKED, RoleStatus.ACCEPTED) for a in asks)
        if not held:
            open_roles.append(role)
        lineup.append(
            {
                "role": role,
                "asks": asks,
                "held": held,
                "proposed": proposed.get(role) if not held else None,
            }
        )
    return {
        "applies": applies,
        "can_plan": can_plan and bool(open_roles),
        "lineup": lineup,
        "any_proposed": any(proposed.get(r) for r in open_roles),
    }


def _answer_for(settings: Settings) -> timedelta:
    return timedelta(hours=settings.wlcc_role_answer_hours)


def _themes(
    session: Session, staff: Staff, meeting: Meeting, now: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """The themes suggested and not used yet, and the latest vote with its counts; a voted theme
    can become this meeting's title while it is to come (PAKAI TEMA)."""
    themes = open_themes(session, staff.community_id)
    poll = latest_poll(session, staff.community_id)
    vote: dict[str, Any] | None = None
    if poll is not None:
        result = tally(session, poll)
        winners = {s.id for s in result.winners}
        vote = {
            "id": poll.id,
            "open": poll.status == PollStatus.OPEN,
            "closes": format_datetime(poll.closed_at or poll.closes_at, staff.t.lang, zone),
            "total": result.total,
            "options": [
                {
                    "id": s.id,
                    "text": s.text,
                    "votes": n,
                    "winner": s.id in winners,
                    "used": s.used_meeting_id is not None,
                }
                for s, n in result.counts
            ],
        }
    return {
        "themes": [{"text": th.text, "count": th.count} for th in themes[:THEMES_SHOWN]],
        "more": max(len(themes) - THEMES_SHOWN, 0),
        "vote": vote,
        "can_use": staff.can(THEMES) and _changeable(meeting, now),
    }


def _detail(
    request: Request,
    staff: Staff,
    db: DatabaseDep,
    settings: Settings,
    raw_id: str,
    *,
    status_code: int = 200,
    group: str | None = None,
    page: str | None = None,
    done: str | None = None,
    told: str | None = None,
    move: Checked | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    if group is not None and group not in GROUPS:
        raise ConsoleError(404, "console.error.no_such_page")
    now = utcnow()
    zone = settings.timezone
    t = staff.t
    with db.transaction() as session:
        meeting = _find(session, staff, raw_id)
        assert meeting.id is not None
        count = headcount(session, meeting)
        people = attendance_rows(session, meeting)
        present = sum(1 for _, _, came in people if came is not None)
        chosen = [p for p in people if group is None or _group(p[1]) == group]
        pages = pages_for(len(chosen), PEOPLE_PAGE)
        at = page_number(page, pages)
        shown = [
            {
                "id": member.id,
                "name": member.name,
                "kelurahan": member.kelurahan or "",
                "group": _group(rsvp),
                "came": came is not None,
                "method": came.method if came is not None else "",
            }
            for member, rsvp, came in chosen[(at - 1) * PEOPLE_PAGE : at * PEOPLE_PAGE]
        ]
        roles = _roles(session, meeting, now, settings, t)
        themes = _themes(session, staff, meeting, now, zone) if staff.can(THEMES) else None
        facts = _facts(meeting, t, zone)
        changeable = _changeable(meeting, now)
    if move is None:
        local = to_local(meeting.starts_at, zone)
        move = Checked(
            {
                "date": local.strftime(DATE_FORMAT),
                "start": local.strftime("%H:%M"),
                "end": to_local(meeting.ends_at, zone).strftime("%H:%M")
                if meeting.ends_at is not None
                else "",
            }
        )
    return render(
        request,
        "meetings/detail.html",
        t,
        status_code=status_code,
        sections=_menu(staff),
        meeting=meeting,
        facts=facts,
        count=count,
        present=present,
        people=shown,
        group=group,
        groups=GROUPS,
        page=at,
        pages=pages,
        markable=_markable(meeting, now, zone),
        changeable=changeable,
        can_create=staff.can(CREATE),
        roles=roles,
        themes=themes,
        move=move,
        errors=errors or {},
        done=DONE.get(done or ""),
        told=_count(told),
        days=settings.wlcc_announce_days_before,
    )


def _facts(meeting: Meeting, t: Translator, zone: ZoneInfo) -> dict[str, Any]:
    holiday = None
    if meeting.holiday:
        day = to_local(meeting.starts_at, zone).date()
        holiday = {
            "name": holiday_name(day, t.lang) or meeting.holiday,
            "suggested": format_date(meeting.suggested_date, t.lang)
            if meeting.suggested_date is not None
            else None,
        }
    return {
        "when": _when(meeting, t, zone),
        "previous": format_datetime(meeting.previous_starts_at, t.lang, zone)
        if meeting.status == MeetingStatus.MOVED and meeting.previous_starts_at is not None
        else None,
        "kind": _kind_key(meeting),
        "place": meeting.place or "",
        "kelurahan": ", ".join(meeting.kelurahan),
        "seats": meeting.seats,
        "status": meeting.status,
        "code": meeting.checkin_code or "",
        "holiday": holiday,
    }


@router.get("/console/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(
    request: Request,
    meeting_id: str,
    staff: View,
    db: DatabaseDep,
    settings: SettingsDep,
    answer: str | None = None,
    page: str | None = None,
    done: str | None = None,
    told: str | None = None,
) -> HTMLResponse:
    return _detail(
        request, staff, db, settings, meeting_id, group=answer, page=page, done=done, told=told
    )


@router.get("/console/meetings/{meeting_id}/attendance.csv")
def attendance_file(meeting_id: str, staff: View, db: DatabaseDep) -> Response:
    with db.transaction() as session:
        meeting = _find(session, staff, meeting_id)
        text = attendance_csv(session, meeting)
    audit(db, staff, "meeting.attendance_export", target=f"meeting:{meeting.id}")
    return download(text, f"kehadiran-{meeting.id}.csv")


@router.post("/console/meetings/{meeting_id}/attendance", response_model=None)
def mark_attendance(
    request: Request, meeting_id: str, posted: Attend, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """Tick who came: the same storage operation as the chat's PESERTA (marked, once each)."""
    staff, form = posted
    now = utcnow()
    ticked = form.getlist("member")
    if not all(isinstance(v, str) and v.isdigit() and len(v) <= ID_DIGITS for v in ticked):
        raise ConsoleError(422, "console.error.not_a_form")
    ids = [int(str(v)) for v in dict.fromkeys(ticked)]
    with db.transaction() as session:
        meeting = _find(session, staff, meeting_id)
        if not _markable(meeting, now, settings.timezone):
            raise ConsoleError(422, "console.meetings.error.not_markable")
        allowed = {member.id for member, _, _ in attendance_rows(session, meeting)}
        if any(i not in allowed for i in ids):
            raise ConsoleError(422, "console.meetings.error.not_listed")
        new = 0
        if ids:
            new = record_attendance(
                session, meeting, ids, method="marked", now=now, by_member_id=staff.member_id
            )
    if not ids:
        return _detail(
            request,
            staff,
            db,
            settings,
            meeting_id,
            status_code=422,
            errors={"attendance": staff.t("console.meetings.error.none_ticked")},
        )
    audit(
        db,
        staff,
        "meeting.attendance",
        target=f"meeting:{meeting.id}",
        detail={"marked": ids, "new": new},
    )
    return RedirectResponse(
        f"/console/meetings/{meeting.id}?done=marked&told={new}#attendance", status_code=303
    )


@router.post("/console/meetings/{meeting_id}/cancel", response_model=None)
def cancel(
    request: Request, meeting_id: str, posted: Change, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """Cancel it: who answered, and who holds or was asked for a role, is told (RAPAT BATAL)."""
    staff, form = posted
    t = staff.t
    now = utcnow()
    if form_field(form, "confirm", 10) != "yes":
        return _detail(
            request,
            staff,
            db,
            settings,
            meeting_id,
            status_code=422,
            errors={"cancel": t("console.meetings.error.confirm_cancel")},
        )
    problem: str | None = None
    told = 0
    with db.transaction() as session:
        meeting = _find(session, staff, meeting_id)
        old = aware(meeting.starts_at)
        if not _changeable(meeting, now):
            problem = t("console.meetings.error.not_changeable")
        else:
            try:
                told = cancel_meeting(
                    session, meeting, now=now, not_before=_not_before(settings, now)
                )
            except MeetingError as exc:
                problem = error_text(t, exc)
    if problem is not None:
        return _detail(
            request, staff, db, settings, meeting_id, status_code=422, errors={"cancel": problem}
        )
    audit(
        db,
        staff,
        "meeting.cancel",
        target=f"meeting:{meeting.id}",
        detail={"old": old.isoformat(), "told": told},
    )
    return RedirectResponse(
        f"/console/meetings/{meeting.id}?done=cancelled&told={told}", status_code=303
    )


@router.post("/console/meetings/{meeting_id}/move", response_model=None)
def move(
    request: Request, meeting_id: str, posted: Change, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """A new day and time: who answered or has a role is told the old and the new time, and the
    announcement and reminders are planned anew (RAPAT UBAH, ``wlcc meetings move``)."""
    staff, form = posted
    t = staff.t
    zone = settings.timezone
    checked = Checked({name: form_field(form, name, 100) for name in ("date", "start", "end")})
    starts_at, ends_at = _moment(checked, t, zone)
    if checked.errors or starts_at is None:
        return _detail(request, staff, db, settings, meeting_id, status_code=422, move=checked)
    now = utcnow()
    told = 0
    with db.transaction() as session:
        meeting = _find(session, staff, meeting_id)
        old = aware(meeting.starts_at)
        if not _changeable(meeting, now):
            checked.fail("form", t("console.meetings.error.not_changeable"))
        else:
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
                _refused(checked, t, exc)
            else:
                _flag_holiday(meeting, zone, now)
                session.add(meeting)
                session.flush()
    if checked.errors:  # refused before anything changed (storage checks first)
        return _detail(request, staff, db, settings, meeting_id, status_code=422, move=checked)
    audit(
        db,
        staff,
        "meeting.move",
        target=f"meeting:{meeting.id}",
        detail={"old": old.isoformat(), "new": aware(meeting.starts_at).isoformat(), "told": told},
    )
    return RedirectResponse(
        f"/console/meetings/{meeting.id}?done=moved&told={told}", status_code=303
    )


@router.post("/console/meetings/{meeting_id}/roles", response_model=None)
def ask_roles(
    request: Request, meeting_id: str, posted: Change, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """Ask the next fair pick for every role nobody holds now, as the notice job would (each
    asked member gets the ask with TERIMA / TOLAK; the job goes on from there)."""
    staff, _ = posted
    now = utcnow()
    with db.transaction() as session:
        meeting = _find(session, staff, meeting_id)
        if meeting.kind not in ROLE_KINDS or not _changeable(meeting, now):
            raise ConsoleError(422, "console.meetings.error.no_roles")
        asked = plan_meeting_roles(session, meeting, now=now, answer_for=_answer_for(settings))
    audit(db, staff, "meeting.roles", target=f"meeting:{meeting.id}", detail={"asked": asked})
    return RedirectResponse(
        f"/console/meetings/{meeting.id}?done=roles&told={asked}#roles", status_code=303
    )


@router.post("/console/meetings/{meeting_id}/theme", response_model=None)
def take_theme(
    request: Request, meeting_id: str, posted: Theme, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """A voted theme becomes the meeting's title (PAKAI TEMA): its suggestions are used up."""
    staff, form = posted
    t = staff.t
    now = utcnow()
    poll_raw, theme_raw = form_field(form, "poll", 20), form_field(form, "suggestion", 20)
    if (
        not (poll_raw.isdigit() and theme_raw.isdigit())
        or max(len(poll_raw), len(theme_raw)) > ID_DIGITS
    ):
        raise ConsoleError(422, "console.error.not_a_form")
    problem: str | None = None
    with db.transaction() as session:
        meeting = _find(session, staff, meeting_id)
        old = meeting.title
        poll = get_poll(session, staff.community_id, int(poll_raw))
        suggestion = get_suggestion(session, staff.community_id, int(theme_raw))
        if poll is None or suggestion is None or suggestion.id not in poll.options:
            problem = t("themes.error.bad_theme")
        elif suggestion.used_meeting_id is not None:
            problem = t("console.meetings.error.theme_used")
        elif not _changeable(meeting, now):
            problem = t("themes.error.not_open")
        else:
            try:
                use_theme(session, meeting, suggestion, now=now)
            except ThemeError as exc:
                problem = theme_error_text(t, exc)
    if problem is not None or poll is None or suggestion is None:
        return _detail(
            request,
            staff,
            db,
            settings,
            meeting_id,
            status_code=422,
            errors={"themes": problem or ""},
        )
    audit(
        db,
        staff,
        THEMES,
        target=f"meeting:{meeting.id}",
        detail={"theme": suggestion.id, "poll": poll.id, "old_title": old},
    )
    return RedirectResponse(f"/console/meetings/{meeting.id}?done=theme", status_code=303)
