"""PESERTA and KEHADIRAN: who comes to the next meeting, and who came.

``PESERTA`` (coordinators and admins) shows the headcount of today's meeting, else of the next
one (``PESERTA 12`` for meeting #12): yes, maybe, no and no answer, per kelurahan, and a
training's waiting list. Then one choice:

1. the names per answer;
2. the code word of the day, read aloud at the venue (members send ``HADIR <code>``);
3. mark who came from a numbered list (from the meeting's day on): several numbers at once,
   "1 3 5" or "2-6", each marked once;
4. the attendance of the last meetings (the same as ``KEHADIRAN``).

``KEHADIRAN`` shows the last meetings' attendance: per meeting, per month, and per member
(how often each came).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from babel.dates import format_date as babel_format_date
from sqlmodel import col, or_, select

from conversations.engine import Context, Dialog, Turn, register
from storage.meetings import (
    Answer,
    Attendance,
    Meeting,
    MeetingStatus,
    answers,
    attendance_of,
    get_meeting,
    headcount,
    meetings_of_the_day,
    next_meeting,
    record_attendance,
)
from storage.models import Member, MemberStatus
from wlcc.formatting import format_date, format_datetime, to_local
from wlcc.messages import Choice

NAME = "meeting_attendees"
ACTION = "meeting.attendees"
NAMES = "pst:names"
CODE = "pst:code"
MARK = "pst:mark"
SUMMARY = "pst:summary"
SUMMARY_MEETINGS = 6  # KEHADIRAN covers this many of the last meetings
_NUMBERS = re.compile(r"^[\d\s,.;/&+-]+$")
_BABEL_LOCALES = {"id": "id_ID", "en": "en_ID"}


def meeting_words(ctx: Context, meeting: Meeting) -> str:
    """``"Pertemuan bulanan", Sabtu, 12 Desember 2026 pukul 09.00 WIB``."""
    return ctx.t(
        "meetings.coord.meeting_line",
        title=meeting.title,
        when=format_datetime(meeting.starts_at, ctx.t.lang, ctx.zone),
    )


def current_meeting(ctx: Context, args: str) -> Meeting | None:
    """``PESERTA 12``: meeting #12; else today's (even once started), else the next one."""
    community = ctx.speaker.community_id
    wanted = args.strip().lstrip("#")
    if wanted.isdigit():
        return get_meeting(ctx.session, community, int(wanted))
    today = meetings_of_the_day(ctx.session, community, ctx.now, ctx.zone)
    if today:
        return today[0]
    return next_meeting(ctx.session, community, ctx.now)


def _on_or_after_its_day(ctx: Context, meeting: Meeting) -> bool:
    day = to_local(meeting.starts_at, ctx.zone).date()
    return to_local(ctx.now, ctx.zone).date() >= day


def parse_numbers(text: str, count: int) -> list[int] | None:
    """ "1 3 5", "1,3,5", "2-4", "1 dan 3" -> 0-based indexes; None when the text is not a
    list of numbers between 1 and ``count``."""
    cleaned = re.sub(r"\b(?:dan|and|no|nomor)\b", " ", text.lower())
    if not cleaned.strip() or not _NUMBERS.match(cleaned.strip()):
        return None
    picked: list[int] = []
    for part in re.split(r"[\s,.;/&+]+", cleaned.strip()):
        if not part:
            continue
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            return None
        first, last = int(low), int(high) if dash else int(low)
        if first > last or first < 1 or last > count:
            return None
        picked += range(first - 1, last)
    return list(dict.fromkeys(picked)) or None


@register
class AttendeesDialog(Dialog):
    name = NAME
    keywords = ("PESERTA", "ATTENDEES")
    action = ACTION
    help_key = "meetings.coord.peserta_help"
    menu_order = 86

    def accepts(self, args: str) -> bool:
        return not args.strip() or args.strip().lstrip("#").isdigit()

    def start(self, ctx: Context, args: str) -> None:
        meeting = current_meeting(ctx, args)
        if meeting is None or meeting.id is None:
            key = "meetings.coord.no_such_meeting" if args.strip() else "meetings.coord.none"
            ctx.say(ctx.t(key))
            return
        ctx.begin(self.name, "menu")
        ctx.data["meeting"] = meeting.id
        self._ask_menu(ctx, meeting)

    def _meeting(self, ctx: Context) -> Meeting | None:
        return get_meeting(ctx.session, ctx.speaker.community_id, int(ctx.data.get("meeting", 0)))

    def _choices(self, ctx: Context, meeting: Meeting) -> list[Choice]:
        choices = [
            Choice(NAMES, ctx.t("meetings.coord.choice_names")),
            Choice(CODE, ctx.t("meetings.coord.choice_code")),
        ]
        if meeting.status != MeetingStatus.CANCELLED and _on_or_after_its_day(ctx, meeting):
            choices.append(Choice(MARK, ctx.t("meetings.coord.choice_mark")))
        choices.append(Choice(SUMMARY, ctx.t("meetings.coord.choice_summary")))
        return choices

    def _ask_menu(self, ctx: Context, meeting: Meeting, again: bool = False) -> None:
        text = ctx.t("meetings.coord.pick_again") if again else headcount_text(ctx, meeting)
        ctx.ask(text, self._choices(ctx, meeting))

    def reprompt(self, ctx: Context) -> None:
        meeting = self._meeting(ctx)
        if meeting is None:
            ctx.finish()
            ctx.say(ctx.t("meetings.coord.none"))
        elif ctx.step == "mark":
            self._ask_mark(ctx, meeting, again=True)
        else:
            self._ask_menu(ctx, meeting, again=True)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        meeting = self._meeting(ctx)
        if meeting is None:
            return False
        if ctx.step == "mark":
            return self._mark(ctx, meeting, turn)
        offered = {c.payload for c in self._choices(ctx, meeting)}
        if turn.choice not in offered:
            return False
        if turn.choice == NAMES:
            ctx.finish()
            ctx.say(names_text(ctx, meeting))
        elif turn.choice == CODE:
            ctx.finish()
            ctx.say(code_text(ctx, meeting))
        elif turn.choice == MARK:
            ctx.goto("mark")
            self._ask_mark(ctx, meeting)
        else:
            ctx.finish()
            ctx.say(summary_text(ctx))
        return True

    # --- marking who came ---
    def _ask_mark(self, ctx: Context, meeting: Meeting, again: bool = False) -> None:
        assert meeting.id is not None
        people = _markable(ctx, meeting)
        ctx.data["ids"] = [member.id for member in people]
        present = attendance_of(ctx.session, meeting.id)
        lines = [
            ctx.t("meetings.coord.mark_again", count=len(people))
            if again
            else ctx.t("meetings.coord.mark_ask", meeting=meeting_words(ctx, meeting))
        ]
        answered = {m.id: r for m, r in answers(ctx.session, meeting)}
        for number, member in enumerate(people, start=1):
            rsvp = answered.get(member.id)
            if (member.id or 0) in present:
                state = ctx.t("meetings.coord.mark_present")
            elif rsvp is not None:
                answer = "waiting" if rsvp.waiting else rsvp.answer
                state = ctx.t(f"meetings.coord.state.{answer}")
            else:
                state = ctx.t("meetings.coord.no_answer")
            lines.append(
                ctx.t("meetings.coord.mark_line", number=number, name=member.name, state=state)
            )
        ctx.ask("\n".join(lines))

    def _mark(self, ctx: Context, meeting: Meeting, turn: Turn) -> bool:
        ids: list[int] = [int(i) for i in ctx.data.get("ids", [])]
        picked = parse_numbers(turn.text, len(ids)) if turn.text else None
        if picked is None:
            return False
        if not ctx.require(ACTION, target=f"meeting:{meeting.id}"):
            ctx.finish()
            return True
        chosen = [ids[i] for i in picked]
        me = ctx.speaker.member
        new = record_attendance(
            ctx.session,
            meeting,
            chosen,
            method="marked",
            now=ctx.now,
            by_member_id=me.id if me else None,
        )
        ctx.audit("meeting.attendance", target=f"meeting:{meeting.id}", marked=chosen, new=new)
        names = {
            m.id: m.name for m in ctx.session.exec(select(Member).where(col(Member.id).in_(chosen)))
        }
        ctx.finish()
        assert meeting.id is not None
        total = len(attendance_of(ctx.session, meeting.id))
        ctx.say(
            ctx.t(
                "meetings.coord.marked",
                names=", ".join(names.get(i, "?") for i in chosen),
                new=new,
                total=total,
            )
        )
        return True


def _markable(ctx: Context, meeting: Meeting) -> list[Member]:
    """The invited, and anyone who answered or is already marked, by name."""
    assert meeting.id is not None
    people = {member.id: member for member, _ in answers(ctx.session, meeting)}
    missing = [i for i in attendance_of(ctx.session, meeting.id) if i not in people]
    if missing:
        for member in ctx.session.exec(select(Member).where(col(Member.id).in_(missing))):
            people[member.id] = member
    return sorted(people.values(), key=lambda m: (m.name.lower(), m.id or 0))


def headcount_text(ctx: Context, meeting: Meeting) -> str:
    assert meeting.id is not None
    count = headcount(ctx.session, meeting)
    t = ctx.t
    lines = [t("meetings.coord.headcount_title", meeting=meeting_words(ctx, meeting))]
    if meeting.status == MeetingStatus.CANCELLED:
        lines.append(t("meetings.coord.is_cancelled"))
    yes = t("meetings.coord.count_yes", count=count.yes - count.waiting)
    if meeting.seats is not None:
        yes = t(
            "meetings.coord.count_yes_seats", count=count.yes - count.waiting, seats=meeting.seats
        )
    lines.append(yes)
    if count.waiting:
        lines.append(t("meetings.coord.count_waiting", count=count.waiting))
    lines.append(t("meetings.coord.count_maybe", count=count.maybe))
    lines.append(t("meetings.coord.count_no", count=count.no))
    lines.append(t("meetings.coord.count_none", count=count.none))
    if len(count.by_kelurahan) > 1:
        lines.append(t("meetings.coord.by_kelurahan"))
        for place, n in count.by_kelurahan.items():
            lines.append(
                t(
                    "meetings.coord.kelurahan_line",
                    name=place or t("meetings.coord.no_kelurahan"),
                    yes=n["yes"],
                    maybe=n["maybe"],
                    no=n["no"],
                    none=n["none"],
                )
            )
    present = len(attendance_of(ctx.session, meeting.id))
    if present:
        lines.append(t("meetings.coord.count_present", count=present))
    lines.append(t("meetings.coord.pick"))
    return "\n".join(lines)


def names_text(ctx: Context, meeting: Meeting) -> str:
    groups: dict[str, list[str]] = {"yes": [], "waiting": [], "maybe": [], "no": [], "none": []}
    for member, rsvp in answers(ctx.session, meeting):
        if rsvp is None:
            groups["none"].append(member.name)
        elif rsvp.answer == Answer.YES and rsvp.waiting:
            groups["waiting"].append(member.name)
        else:
            groups[rsvp.answer].append(member.name)
    lines = [ctx.t("meetings.coord.names_title", meeting=meeting_words(ctx, meeting))]
    for group, names in groups.items():
        if not names and group == "waiting":
            continue
        lines.append(
            ctx.t(
                "meetings.coord.names_line",
                label=ctx.t(f"meetings.coord.group.{group}"),
                count=len(names),
                names=", ".join(names) if names else "-",
            )
        )
    lines.append(ctx.t("meetings.coord.again_hint"))
    return "\n".join(lines)


def code_text(ctx: Context, meeting: Meeting) -> str:
    assert meeting.id is not None
    code = meeting.checkin_code or "-"
    present = len(attendance_of(ctx.session, meeting.id))
    day = format_date(to_local(meeting.starts_at, ctx.zone).date(), ctx.t.lang)
    return ctx.t(
        "meetings.coord.code",
        meeting=meeting_words(ctx, meeting),
        code=code,
        day=day,
        count=present,
    )


# --- the attendance of the last meetings ---


def summary_text(ctx: Context) -> str:
    community = ctx.speaker.community_id
    meetings = list(
        ctx.session.exec(
            select(Meeting)
            .where(
                Meeting.community_id == community,
                Meeting.status != MeetingStatus.CANCELLED,
                col(Meeting.starts_at) <= ctx.now,
            )
            .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
            .limit(SUMMARY_MEETINGS)
        )
    )
    if not meetings:
        return ctx.t("meetings.coord.summary_none")
    meetings.reverse()  # oldest first
    ids = [m.id for m in meetings]
    rows = list(ctx.session.exec(select(Attendance).where(col(Attendance.meeting_id).in_(ids))))
    by_meeting: dict[int, int] = defaultdict(int)
    by_member: dict[int, int] = defaultdict(int)
    for row in rows:
        by_meeting[row.meeting_id] += 1
        by_member[row.member_id] += 1
    t = ctx.t
    lines = [t("meetings.coord.summary_title", count=len(meetings))]
    for meeting in meetings:
        lines.append(
            t(
                "meetings.coord.summary_meeting",
                id=meeting.id,
                day=format_date(to_local(meeting.starts_at, ctx.zone).date(), t.lang),
                title=meeting.title,
                count=by_meeting[meeting.id or 0],
            )
        )
    months: dict[tuple[int, int], list[Meeting]] = defaultdict(list)
    for meeting in meetings:
        local = to_local(meeting.starts_at, ctx.zone)
        months[(local.year, local.month)].append(meeting)
    lines.append(t("meetings.coord.summary_by_month"))
    for (year, month), group in months.items():
        lines.append(
            t(
                "meetings.coord.summary_month",
                month=_month_name(ctx, year, month),
                meetings=len(group),
                count=sum(by_meeting[m.id or 0] for m in group),
            )
        )
    members = list(
        ctx.session.exec(
            select(Member).where(
                Member.community_id == community,
                col(Member.anonymised_at).is_(None),
                or_(col(Member.status) == MemberStatus.ACTIVE, col(Member.id).in_(list(by_member))),
            )
        )
    )
    members.sort(key=lambda m: (-by_member[m.id or 0], m.name.lower(), m.id or 0))
    lines.append(t("meetings.coord.summary_by_member", count=len(meetings)))
    for member in members:
        lines.append(
            t(
                "meetings.coord.summary_member",
                name=member.name,
                count=by_member[member.id or 0],
                total=len(meetings),
            )
        )
    lines.append(t("meetings.coord.summary_hint"))
    return "\n".join(lines)


def _month_name(ctx: Context, year: int, month: int) -> str:
    return babel_format_date(
        datetime(year, month, 1).date(), "MMMM y", locale=_BABEL_LOCALES[ctx.t.lang]
    )


@register
class AttendanceSummaryDialog(Dialog):
    """KEHADIRAN: who came to the last meetings, how often."""

    name = "meeting_attendance"
    keywords = ("KEHADIRAN", "REKAP KEHADIRAN", "ATTENDANCE")
    action = ACTION
    help_key = "meetings.coord.kehadiran_help"
    menu_order = 87

    def start(self, ctx: Context, args: str) -> None:
        ctx.say(summary_text(ctx))

    def handle(self, ctx: Context, turn: Turn) -> bool:
        return False
