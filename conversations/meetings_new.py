"""RAPAT BARU (NEW MEETING): a coordinator plans a meeting or a training by chat.

A short dialog, each question answered by a number or a few words:

1. the kind: monthly meeting (pertemuan) or training (pelatihan);
2. the title or theme;
3. the day and time, in Indonesian free text (wlcc.dates.parse_when): "Sabtu 12 Desember jam
   9", "12/12 09.00", "besok jam 3 sore", with an end as "09.00-12.00"; or one of the coming
   Saturdays at 09.00 by its number. A day in the past, one that does not exist ("31
   Februari") or words that are no date are asked again with an example;
4. the place (or skip; a shared location pin is kept as the map pin; the last place used is
   one number away);
5. for whom: everyone, or the members of one kelurahan (numbered from the members' kelurahan);
6. for a training: a seat limit or none;
7. a summary to confirm: save, change one answer, or cancel. A day that is a public holiday is
   said in the summary with a suggested day (one number takes it); the coordinator decides.

Saved, it is audited and the coordinator is told when the announcement goes out (the notice
job sends it ``WLCC_ANNOUNCE_DAYS_BEFORE`` days before, at once when the day is nearer).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import ClassVar

from sqlmodel import col, func, select

from conversations.engine import Context, Dialog, Turn, register
from storage.broadcasts import Audience, count_audience, kelurahan_options
from storage.meetings import (
    PLACE_LIMIT,
    TITLE_LIMIT,
    Meeting,
    MeetingError,
    MeetingKind,
    Rsvp,
    aware,
    cancel_meeting,
    create_meeting,
    error_text,
    get_meeting,
    is_open,
    move_meeting,
    upcoming_meetings,
)
from storage.meetings_rules import holiday_and_suggestion
from wlcc.dates import ParsedWhen, holiday_name, parse_when
from wlcc.formatting import format_date, format_datetime, to_local
from wlcc.messages import Choice

NAME = "meeting_new"
ACTION = "meeting.create"
SAVE = "new:save"
CHANGE = "new:change"
TAKE_SUGGESTED = "new:suggested"
SKIP = "new:skip"
CANCEL = "BATAL"  # the global cancel word: the button and a typed BATAL do the same
STEPS = ("kind", "title", "when", "place", "audience", "limit", "seats")
CHANGEABLE = ("kind", "title", "when", "place", "audience", "limit")
SUGGESTED_SATURDAYS = 3  # the "when" question offers the coming Saturdays at 09.00
DEFAULT_HOUR = time(9, 0)
MAX_SEATS = 1000
_DIGITS = re.compile(r"^\s*(\d{1,4})\s*(?:kursi|orang|seats?|people)?\s*$", re.IGNORECASE)


def notice_days() -> tuple[int, int]:
    """WLCC_ANNOUNCE_DAYS_BEFORE and WLCC_REMINDER_DAYS_BEFORE (their defaults when the
    settings cannot be read here)."""
    from wlcc.settings import Settings, SettingsError, get_settings

    try:
        settings = get_settings()
    except SettingsError:  # pragma: no cover - the entry points check the settings first
        fields = Settings.model_fields
        return (
            int(fields["wlcc_announce_days_before"].default),
            int(fields["wlcc_reminder_days_before"].default),
        )
    return settings.wlcc_announce_days_before, settings.wlcc_reminder_days_before


def _is_number(text: str) -> bool:
    return text.strip().rstrip(".").isdigit()


def _iso(moment: datetime | None) -> str | None:
    return aware(moment).astimezone(UTC).isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def coming_saturdays(ctx: Context) -> list[datetime]:
    """The coming Saturdays at 09.00 (local), offered as numbered choices for the day."""
    today = to_local(ctx.now, ctx.zone).date()
    first = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    return [
        datetime.combine(first + timedelta(weeks=i), DEFAULT_HOUR, ctx.zone).astimezone(UTC)
        for i in range(SUGGESTED_SATURDAYS)
    ]


def ask_when(
    ctx: Context,
    again: bool = False,
    problem: str | None = None,
    *,
    moving: bool = False,
) -> None:
    """When is it: the accepted forms with examples, and the coming Saturdays by number."""
    choices = [
        Choice(f"when:{_iso(moment)}", format_datetime(moment, ctx.t.lang, ctx.zone))
        for moment in coming_saturdays(ctx)
    ]
    lines = []
    if problem:
        lines.append(problem)
    elif again:
        lines.append(ctx.t("meetings.new.when_not_understood"))
    lines.append(ctx.t("meetings.change.ask_when" if moving else "meetings.new.ask_when"))
    ctx.ask("\n".join(lines), choices)


def read_when(ctx: Context, turn: Turn) -> tuple[datetime, datetime | None] | str | None:
    """The answer to :func:`ask_when`: (start, end) in UTC; the sentence saying what is wrong
    with the typed date (past, "31 Februari", no time...); None when nothing was answered. A
    typed text that reads as a date wins over a choice it happens to resemble."""
    text = turn.text.strip()
    picked = None
    if turn.choice and turn.choice.startswith("when:"):
        picked = _moment(turn.choice.removeprefix("when:"))
    if not text or _is_number(text):
        return (picked, None) if picked is not None else None
    parsed = parse_when(text, ctx.now, ctx.zone)
    if isinstance(parsed, ParsedWhen):
        start, end = parsed.start, parsed.end
    elif picked is not None:  # the label of a choice, typed (close enough)
        start, end = picked, None
    else:
        return ctx.t(f"meetings.new.when_error.{parsed.code}")
    if aware(start) <= aware(ctx.now):
        return ctx.t("meetings.new.when_error.past")
    if end is not None and aware(end) <= aware(start):
        return ctx.t("meetings.new.when_error.end_before_start")
    return start, end


@register
class NewMeetingDialog(Dialog):
    name = NAME
    keywords = ("RAPAT BARU", "NEW MEETING", "BUAT RAPAT")
    action = ACTION
    menu_key = "meetings.new.menu"
    help_key = "meetings.new.help"
    menu_order = 85

    def start(self, ctx: Context, args: str) -> None:
        ctx.begin(self.name, "kind")
        self._ask(ctx, "kind")

    # --- the questions ---
    def _ask(self, ctx: Context, step: str, again: bool = False) -> None:
        ctx.goto(step)
        getattr(self, f"_ask_{step}")(ctx, again)

    def _next(self, ctx: Context, step: str) -> None:
        """After an answer: the next question, or the summary when changing one answer."""
        if ctx.data.get("changing") or step == "confirm":
            self._summary(ctx)
            return
        self._ask(ctx, step)

    def reprompt(self, ctx: Context) -> None:
        step = ctx.step or "kind"
        if step == "confirm":
            self._summary(ctx, again=True)
        elif step == "change":
            self._ask_change(ctx, again=True)
        else:
            self._ask(ctx, step, again=True)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        step = ctx.step or ""
        if step in STEPS or step in ("confirm", "change"):
            return bool(getattr(self, f"_on_{step}")(ctx, turn))
        return False

    # 1. kind
    def _ask_kind(self, ctx: Context, again: bool) -> None:
        ctx.ask(
            ctx.t("meetings.new.ask_kind_again" if again else "meetings.new.ask_kind"),
            [
                Choice(f"kind:{MeetingKind.MEETING}", ctx.t("meetings.new.kind.pertemuan")),
                Choice(f"kind:{MeetingKind.TRAINING}", ctx.t("meetings.new.kind.pelatihan")),
            ],
        )

    def _on_kind(self, ctx: Context, turn: Turn) -> bool:
        kind = (turn.choice or "").removeprefix("kind:")
        if kind not in MeetingKind.ALL:
            typed = turn.text.strip().lower()
            kind = {"pertemuan": MeetingKind.MEETING, "rapat": MeetingKind.MEETING}.get(
                typed, MeetingKind.TRAINING if typed in ("pelatihan", "training") else ""
            )
        if kind not in MeetingKind.ALL:
            return False
        ctx.data["kind"] = kind
        if kind != MeetingKind.TRAINING:
            ctx.data.pop("seats", None)
        elif ctx.data.get("changing") and "seats" not in ctx.data:
            ctx.data["changing"] = False  # a training now: its seats are asked, then the summary
            self._ask(ctx, "limit")
            return True
        self._next(ctx, "title")
        return True

    # 2. title
    def _ask_title(self, ctx: Context, again: bool) -> None:
        ctx.ask(ctx.t("meetings.new.ask_title_again" if again else "meetings.new.ask_title"))

    def _on_title(self, ctx: Context, turn: Turn) -> bool:
        title = " ".join(turn.text.split())
        if not title or _is_number(title):
            self._ask_title(ctx, True)
            return True
        if len(title) > TITLE_LIMIT:
            ctx.ask(ctx.t("meetings.new.title_too_long", limit=TITLE_LIMIT, length=len(title)))
            return True
        ctx.data["title"] = title
        self._next(ctx, "when")
        return True

    # 3. when
    def _ask_when(self, ctx: Context, again: bool, problem: str | None = None) -> None:
        ask_when(ctx, again, problem)

    def _on_when(self, ctx: Context, turn: Turn) -> bool:
        found = read_when(ctx, turn)
        if found is None:
            return False
        if isinstance(found, str):
            self._ask_when(ctx, True, found)
            return True
        return self._set_when(ctx, *found)

    def _set_when(self, ctx: Context, starts_at: datetime, ends_at: datetime | None) -> bool:
        ctx.data["start"] = _iso(starts_at)
        ctx.data["end"] = _iso(ends_at)
        self._next(ctx, "place")
        return True

    # 4. place
    def _last_place(self, ctx: Context) -> str | None:
        return ctx.session.exec(
            select(Meeting.place)
            .where(
                Meeting.community_id == ctx.speaker.community_id,
                col(Meeting.place).is_not(None),
            )
            .order_by(col(Meeting.created_at).desc(), col(Meeting.id).desc())
            .limit(1)
        ).first()

    def _ask_place(self, ctx: Context, again: bool) -> None:
        choices = [Choice(SKIP, ctx.t("meetings.new.place_skip"))]
        last = self._last_place(ctx)
        if last:
            choices.append(Choice("place:last", last))
        ctx.ask(
            ctx.t("meetings.new.ask_place_again" if again else "meetings.new.ask_place"), choices
        )

    def _on_place(self, ctx: Context, turn: Turn) -> bool:
        if turn.location is not None:
            ctx.data["lat"] = turn.location.latitude
            ctx.data["lon"] = turn.location.longitude
            address = " ".join((turn.location.address or "").split())
            ctx.data["place"] = address[:PLACE_LIMIT] or ctx.data.get("place")
        elif turn.choice == SKIP:
            ctx.data["place"] = None
            ctx.data.pop("lat", None)
            ctx.data.pop("lon", None)
        elif turn.choice == "place:last":
            ctx.data["place"] = self._last_place(ctx)
        else:
            place = " ".join(turn.text.split())
            if not place or _is_number(place):
                return False
            if len(place) > PLACE_LIMIT:
                ctx.ask(ctx.t("meetings.new.place_too_long", limit=PLACE_LIMIT))
                return True
            ctx.data["place"] = place
        self._next(ctx, "audience")
        return True

    # 5. for whom
    def _ask_audience(self, ctx: Context, again: bool) -> None:
        community = ctx.speaker.community_id
        everyone = count_audience(ctx.session, community, Audience("all")).total
        options = kelurahan_options(ctx.session, community)
        ctx.data["kelurahan_options"] = [name for name, _ in options]
        choices = [Choice("aud:all", ctx.t("meetings.new.audience_all", count=everyone))]
        choices += [
            Choice(f"aud:{i}", ctx.t("meetings.new.audience_kelurahan", name=name, count=n))
            for i, (name, n) in enumerate(options)
        ]
        key = "meetings.new.ask_audience_again" if again else "meetings.new.ask_audience"
        ctx.ask(ctx.t(key), choices)

    def _on_audience(self, ctx: Context, turn: Turn) -> bool:
        options: list[str] = ctx.data.get("kelurahan_options", [])
        choice = (turn.choice or "").removeprefix("aud:")
        if choice == "all":
            ctx.data["kelurahan"] = []
        elif choice.isdigit() and int(choice) < len(options):
            ctx.data["kelurahan"] = [options[int(choice)]]
        else:
            return False
        if ctx.data.get("kind") == MeetingKind.TRAINING and "seats" not in ctx.data:
            self._next(ctx, "limit")
        else:
            self._next(ctx, "confirm")
        return True

    # 6. seats of a training
    def _ask_limit(self, ctx: Context, again: bool) -> None:
        ctx.ask(
            ctx.t("meetings.new.ask_limit_again" if again else "meetings.new.ask_limit"),
            [
                Choice("limit:none", ctx.t("meetings.new.limit_none")),
                Choice("limit:some", ctx.t("meetings.new.limit_some")),
            ],
        )

    def _on_limit(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice == "limit:none":
            ctx.data["seats"] = None
            self._next(ctx, "confirm")
            return True
        if turn.choice == "limit:some":
            self._ask(ctx, "seats")
            return True
        return False

    def _ask_seats(self, ctx: Context, again: bool) -> None:
        key = "meetings.new.ask_seats_again" if again else "meetings.new.ask_seats"
        ctx.ask(ctx.t(key, limit=MAX_SEATS))

    def _on_seats(self, ctx: Context, turn: Turn) -> bool:
        found = _DIGITS.match(turn.text or "")
        if found is None or not 1 <= int(found.group(1)) <= MAX_SEATS:
            return False
        ctx.data["seats"] = int(found.group(1))
        self._summary(ctx)
        return True

    # 7. the summary
    def _holiday(self, ctx: Context) -> tuple[str | None, datetime | None]:
        """The public holiday the day is (in Indonesian, as stored), and the same hour on the
        day suggested instead (the same weekday)."""
        starts_at = _moment(ctx.data.get("start"))
        if starts_at is None:
            return None, None
        local = to_local(starts_at, ctx.zone)
        today = to_local(ctx.now, ctx.zone).date()
        name, other = holiday_and_suggestion(
            local.date(), weekday=local.weekday(), today=today + timedelta(days=1)
        )
        if not name or other is None:
            return name, None
        return name, datetime.combine(other, local.time(), ctx.zone).astimezone(UTC)

    def _summary(self, ctx: Context, again: bool = False) -> None:
        ctx.data["changing"] = False
        ctx.goto("confirm")
        t = ctx.t
        data = ctx.data
        starts_at = _moment(data.get("start"))
        ends_at = _moment(data.get("end"))
        assert starts_at is not None
        when = format_datetime(starts_at, t.lang, ctx.zone)
        if ends_at is not None:
            when = t(
                "meetings.new.until", when=when, end=to_local(ends_at, ctx.zone).strftime("%H.%M")
            )
        place = data.get("place") or t("meetings.new.no_place")
        if data.get("lat") is not None:
            place = (
                t("meetings.new.with_pin", place=place)
                if data.get("place")
                else t("meetings.new.pin_only")
            )
        kelurahan: list[str] = data.get("kelurahan") or []
        audience = Audience("kelurahan", kelurahan[0]) if kelurahan else Audience("all")
        count = count_audience(ctx.session, ctx.speaker.community_id, audience).total
        lines = [
            t("meetings.new.summary_again") if again else t("meetings.new.summary_title"),
            t("meetings.new.summary_kind", kind=t(f"meetings.new.kind.{data.get('kind')}")),
            t("meetings.new.summary_theme", title=data.get("title", "")),
            t("meetings.new.summary_when", when=when),
            t("meetings.new.summary_place", place=place),
            t(
                "meetings.new.summary_audience",
                audience=(
                    t("meetings.new.for_kelurahan", name=kelurahan[0])
                    if kelurahan
                    else t("meetings.new.for_everyone")
                ),
                count=count,
            ),
        ]
        if data.get("kind") == MeetingKind.TRAINING:
            seats = data.get("seats")
            lines.append(
                t("meetings.new.summary_seats", seats=seats)
                if seats
                else t("meetings.new.summary_no_limit")
            )
        choices = [Choice(SAVE, t("meetings.new.save"))]
        holiday, suggested = self._holiday(ctx)
        if holiday:
            day = to_local(_moment(data.get("start")) or ctx.now, ctx.zone).date()
            holiday = holiday_name(day, t.lang) or holiday
            if suggested is not None:
                lines.append(
                    t(
                        "meetings.new.holiday",
                        holiday=holiday,
                        suggested=format_date(to_local(suggested, ctx.zone).date(), t.lang),
                    )
                )
                choices.append(
                    Choice(
                        TAKE_SUGGESTED,
                        t(
                            "meetings.new.take_suggested",
                            day=format_date(to_local(suggested, ctx.zone).date(), t.lang),
                        ),
                    )
                )
            else:
                lines.append(t("meetings.new.holiday_no_suggestion", holiday=holiday))
        choices += [
            Choice(CHANGE, t("meetings.new.change")),
            Choice(CANCEL, t("meetings.new.cancel")),
        ]
        ctx.ask("\n".join(lines), choices, cancel=None)

    def _on_confirm(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice == CHANGE:
            self._ask_change(ctx)
            return True
        if turn.choice == TAKE_SUGGESTED:
            _, suggested = self._holiday(ctx)
            if suggested is None:
                return False
            start = _moment(ctx.data.get("start"))
            end = _moment(ctx.data.get("end"))
            ctx.data["start"] = _iso(suggested)
            if start is not None and end is not None:
                ctx.data["end"] = _iso(suggested + (end - start))
            self._summary(ctx)
            return True
        if turn.choice != SAVE:
            return False
        self._save(ctx)
        return True

    def _ask_change(self, ctx: Context, again: bool = False) -> None:
        ctx.goto("change")
        steps = [s for s in CHANGEABLE if s != "limit" or ctx.data.get("kind") == "pelatihan"]
        ctx.ask(
            ctx.t("meetings.new.ask_change_again" if again else "meetings.new.ask_change"),
            [Choice(f"chg:{step}", ctx.t(f"meetings.new.change.{step}")) for step in steps],
        )

    def _on_change(self, ctx: Context, turn: Turn) -> bool:
        step = (turn.choice or "").removeprefix("chg:")
        if step not in CHANGEABLE:
            return False
        ctx.data["changing"] = True
        self._ask(ctx, step)
        return True

    def _save(self, ctx: Context) -> None:
        if not ctx.require(ACTION, target="meeting"):  # the role may have changed meanwhile
            ctx.finish()
            return
        data = ctx.data
        starts_at = _moment(data.get("start"))
        assert starts_at is not None
        holiday, suggested = self._holiday(ctx)
        member = ctx.speaker.member
        try:
            meeting = create_meeting(
                ctx.session,
                community_id=ctx.speaker.community_id,
                kind=data.get("kind", MeetingKind.MEETING),
                title=data.get("title", ""),
                starts_at=starts_at,
                ends_at=_moment(data.get("end")),
                place=data.get("place"),
                latitude=data.get("lat"),
                longitude=data.get("lon"),
                kelurahan=data.get("kelurahan") or [],
                seats=data.get("seats") if data.get("kind") == MeetingKind.TRAINING else None,
                holiday=holiday,
                suggested_date=to_local(suggested, ctx.zone).date() if suggested else None,
                created_by_member_id=member.id if member else None,
                now=ctx.now,
            )
        except MeetingError as exc:
            if exc.code in ("past", "end_before_start"):  # the time passed while confirming
                ctx.data["changing"] = True
                self._ask_when(ctx, True, error_text(ctx.t, exc))
                ctx.goto("when")
                return
            ctx.finish()
            ctx.say(error_text(ctx.t, exc))
            return
        ctx.audit(
            ACTION,
            target=f"meeting:{meeting.id}",
            kind=meeting.kind,
            starts_at=_iso(meeting.starts_at),
            kelurahan=meeting.kelurahan,
            holiday=holiday,
        )
        ctx.finish()
        days, reminder = notice_days()
        ctx.say(
            ctx.t(
                "meetings.new.saved",
                id=meeting.id,
                title=meeting.title,
                when=format_datetime(meeting.starts_at, ctx.t.lang, ctx.zone),
                days=days,
                reminder=reminder,
            )
        )


# --- RAPAT UBAH and RAPAT BATAL: move or cancel a coming meeting ---

CHANGE_ACTION = ACTION  # moving or cancelling is part of planning meetings
MOVE = "chg:move"
DROP = "chg:cancel"
KEEP = "chg:keep"
DO_MOVE = "chg:do_move"
DO_CANCEL = "chg:do_cancel"
CHANGE_LIST = 9  # the coming meetings offered, at most


def _not_before(ctx: Context) -> datetime | None:
    """Notices told now (who answered) wait for the end of the quiet hours."""
    from wlcc.dates import outside_quiet_hours, parse_quiet_hours
    from wlcc.settings import SettingsError, get_settings

    try:
        quiet = parse_quiet_hours(get_settings().wlcc_quiet_hours)
    except (SettingsError, ValueError):  # pragma: no cover - checked at start-up
        return None
    moment = outside_quiet_hours(ctx.now, quiet, ctx.zone)
    return moment if moment > aware(ctx.now) else None


def _answered(ctx: Context, meeting: Meeting) -> int:
    return int(
        ctx.session.exec(
            select(func.count()).select_from(Rsvp).where(Rsvp.meeting_id == meeting.id)
        ).one()
    )


def _label(ctx: Context, meeting: Meeting) -> str:
    return ctx.t(
        "meetings.coord.meeting_line",
        title=meeting.title,
        when=format_datetime(meeting.starts_at, ctx.t.lang, ctx.zone),
    )


@register
class ChangeMeetingDialog(Dialog):
    """RAPAT UBAH: pick a coming meeting, then move it (a new day and time) or cancel it;
    everyone who answered is told (storage.meetings.move_meeting / cancel_meeting)."""

    name = "meeting_change"
    keywords: ClassVar[tuple[str, ...]] = (
        "RAPAT UBAH",
        "UBAH RAPAT",
        "PINDAH RAPAT",
        "CHANGE MEETING",
    )
    action = CHANGE_ACTION
    help_key: ClassVar[str | None] = "meetings.change.help"
    menu_order = 88
    cancelling = False  # RAPAT BATAL goes straight to the cancel question

    def accepts(self, args: str) -> bool:
        return not args.strip() or args.strip().lstrip("#").isdigit()

    def start(self, ctx: Context, args: str) -> None:
        coming = upcoming_meetings(
            ctx.session, ctx.speaker.community_id, ctx.now, limit=CHANGE_LIST
        )
        wanted = args.strip().lstrip("#")
        if wanted.isdigit():
            coming = [m for m in coming if m.id == int(wanted)]
            if not coming:
                ctx.say(ctx.t("meetings.change.no_such"))
                return
        if not coming:
            ctx.say(ctx.t("meetings.change.none"))
            return
        ctx.begin(self.name, "pick")
        ctx.data["cancelling"] = self.cancelling
        if len(coming) == 1:
            self._picked(ctx, coming[0])
            return
        ctx.data["ids"] = [m.id for m in coming]
        self._ask_pick(ctx)

    def _ask_pick(self, ctx: Context, again: bool = False) -> None:
        ids = [int(i) for i in ctx.data.get("ids", [])]
        choices = []
        for meeting_id in ids:
            meeting = get_meeting(ctx.session, ctx.speaker.community_id, meeting_id)
            if meeting is not None:
                choices.append(Choice(f"pick:{meeting_id}", _label(ctx, meeting)))
        key = "meetings.change.ask_pick_again" if again else "meetings.change.ask_pick"
        ctx.ask(ctx.t(key), choices)

    def _meeting(self, ctx: Context) -> Meeting | None:
        meeting = get_meeting(ctx.session, ctx.speaker.community_id, int(ctx.data.get("id", 0)))
        if meeting is None or not is_open(meeting) or aware(meeting.starts_at) <= aware(ctx.now):
            return None
        return meeting

    def _picked(self, ctx: Context, meeting: Meeting) -> None:
        ctx.data["id"] = meeting.id
        if ctx.data.get("cancelling"):
            self._ask_cancel(ctx, meeting)
            return
        ctx.goto("action")
        ctx.ask(
            ctx.t("meetings.change.ask_action", meeting=_label(ctx, meeting)),
            [
                Choice(MOVE, ctx.t("meetings.change.move")),
                Choice(DROP, ctx.t("meetings.change.cancel_it")),
            ],
        )

    def reprompt(self, ctx: Context) -> None:
        meeting = self._meeting(ctx)
        if ctx.step == "pick":
            self._ask_pick(ctx, again=True)
        elif meeting is None:
            ctx.finish()
            ctx.say(ctx.t("meetings.change.gone"))
        elif ctx.step == "when":
            ask_when(ctx, again=True, moving=True)
        elif ctx.step == "confirm_move":
            self._ask_move(ctx, meeting)
        elif ctx.step == "confirm_cancel":
            self._ask_cancel(ctx, meeting)
        else:
            self._picked(ctx, meeting)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        step = ctx.step
        if step == "pick":
            chosen = (turn.choice or "").removeprefix("pick:")
            ids = [int(i) for i in ctx.data.get("ids", [])]
            if not chosen.isdigit() or int(chosen) not in ids:
                return False
            ctx.data["id"] = int(chosen)
        meeting = self._meeting(ctx)
        if meeting is None:
            ctx.finish()
            ctx.say(ctx.t("meetings.change.gone"))
            return True
        if step == "pick":
            self._picked(ctx, meeting)
        elif step == "action":
            if turn.choice == MOVE:
                ctx.goto("when")
                ask_when(ctx, moving=True)
            elif turn.choice == DROP:
                self._ask_cancel(ctx, meeting)
            else:
                return False
        elif step == "when":
            found = read_when(ctx, turn)
            if found is None:
                return False
            if isinstance(found, str):
                ask_when(ctx, True, found, moving=True)
                return True
            ctx.data["start"], ctx.data["end"] = _iso(found[0]), _iso(found[1])
            self._ask_move(ctx, meeting)
        elif step in ("confirm_move", "confirm_cancel"):
            return self._confirm(ctx, meeting, turn)
        else:
            return False
        return True

    def _ask_move(self, ctx: Context, meeting: Meeting) -> None:
        ctx.goto("confirm_move")
        start = _moment(ctx.data.get("start"))
        assert start is not None
        lines = [
            ctx.t(
                "meetings.change.confirm_move",
                meeting=_label(ctx, meeting),
                new=format_datetime(start, ctx.t.lang, ctx.zone),
                count=_answered(ctx, meeting),
            )
        ]
        day = to_local(start, ctx.zone).date()
        holiday, other = holiday_and_suggestion(
            day, weekday=day.weekday(), today=to_local(ctx.now, ctx.zone).date()
        )
        if holiday:
            name = holiday_name(day, ctx.t.lang) or holiday
            if other is not None:
                suggested = format_date(other, ctx.t.lang)
                lines.append(ctx.t("meetings.new.holiday", holiday=name, suggested=suggested))
            else:
                lines.append(ctx.t("meetings.new.holiday_no_suggestion", holiday=name))
        ctx.ask(
            "\n".join(lines),
            [
                Choice(DO_MOVE, ctx.t("meetings.change.do_move")),
                Choice(KEEP, ctx.t("meetings.change.keep")),
            ],
            cancel=None,
        )

    def _ask_cancel(self, ctx: Context, meeting: Meeting) -> None:
        ctx.goto("confirm_cancel")
        ctx.ask(
            ctx.t(
                "meetings.change.confirm_cancel",
                meeting=_label(ctx, meeting),
                count=_answered(ctx, meeting),
            ),
            [
                Choice(DO_CANCEL, ctx.t("meetings.change.do_cancel")),
                Choice(KEEP, ctx.t("meetings.change.keep")),
            ],
            cancel=None,
        )

    def _confirm(self, ctx: Context, meeting: Meeting, turn: Turn) -> bool:
        if turn.choice == KEEP:
            ctx.finish()
            ctx.say(ctx.t("meetings.change.kept"))
            return True
        wanted = DO_MOVE if ctx.step == "confirm_move" else DO_CANCEL
        if turn.choice != wanted:
            return False
        if not ctx.require(CHANGE_ACTION, target=f"meeting:{meeting.id}"):
            ctx.finish()
            return True
        old = meeting.starts_at
        try:
            if wanted == DO_CANCEL:
                told = cancel_meeting(
                    ctx.session, meeting, now=ctx.now, not_before=_not_before(ctx)
                )
            else:
                start = _moment(ctx.data.get("start"))
                assert start is not None
                told = move_meeting(
                    ctx.session,
                    meeting,
                    starts_at=start,
                    ends_at=_moment(ctx.data.get("end")),
                    now=ctx.now,
                    not_before=_not_before(ctx),
                )
                day = to_local(start, ctx.zone).date()
                meeting.holiday, meeting.suggested_date = holiday_and_suggestion(
                    day, weekday=day.weekday(), today=to_local(ctx.now, ctx.zone).date()
                )
                ctx.session.add(meeting)
        except MeetingError as exc:
            ctx.finish()
            ctx.say(error_text(ctx.t, exc))
            return True
        ctx.audit(
            "meeting.cancel" if wanted == DO_CANCEL else "meeting.move",
            target=f"meeting:{meeting.id}",
            old=_iso(old),
            new=_iso(meeting.starts_at) if wanted == DO_MOVE else None,
            told=told,
        )
        ctx.finish()
        if wanted == DO_CANCEL:
            ctx.say(ctx.t("meetings.change.cancelled", title=meeting.title, count=told))
        else:
            when = format_datetime(meeting.starts_at, ctx.t.lang, ctx.zone)
            ctx.say(ctx.t("meetings.change.moved", title=meeting.title, when=when, count=told))
        return True


@register
class CancelMeetingDialog(ChangeMeetingDialog):
    """RAPAT BATAL: the same, straight to cancelling."""

    name = "meeting_cancel"
    keywords = ("RAPAT BATAL", "BATALKAN RAPAT", "CANCEL MEETING")
    help_key = None
    cancelling = True
