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

from sqlmodel import col, select

from conversations.engine import Context, Dialog, Turn, register
from storage.broadcasts import Audience, count_audience, kelurahan_options
from storage.meetings import (
    PLACE_LIMIT,
    TITLE_LIMIT,
    Meeting,
    MeetingError,
    MeetingKind,
    aware,
    create_meeting,
    error_text,
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
    def _saturdays(self, ctx: Context) -> list[datetime]:
        today = to_local(ctx.now, ctx.zone).date()
        first = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
        return [
            datetime.combine(first + timedelta(weeks=i), DEFAULT_HOUR, ctx.zone).astimezone(UTC)
            for i in range(SUGGESTED_SATURDAYS)
        ]

    def _ask_when(self, ctx: Context, again: bool, problem: str | None = None) -> None:
        choices = [
            Choice(f"when:{_iso(moment)}", format_datetime(moment, ctx.t.lang, ctx.zone))
            for moment in self._saturdays(ctx)
        ]
        lines = []
        if problem:
            lines.append(problem)
        elif again:
            lines.append(ctx.t("meetings.new.when_not_understood"))
        lines.append(ctx.t("meetings.new.ask_when"))
        ctx.ask("\n".join(lines), choices)

    def _on_when(self, ctx: Context, turn: Turn) -> bool:
        text = turn.text.strip()
        picked = None
        if turn.choice and turn.choice.startswith("when:"):
            picked = _moment(turn.choice.removeprefix("when:"))
        if not text or _is_number(text):
            return self._set_when(ctx, picked, None)
        parsed = parse_when(text, ctx.now, ctx.zone)
        if isinstance(parsed, ParsedWhen):
            return self._set_when(ctx, parsed.start, parsed.end)
        if picked is not None:  # the label of a choice, typed (close enough)
            return self._set_when(ctx, picked, None)
        self._ask_when(ctx, True, ctx.t(f"meetings.new.when_error.{parsed.code}"))
        return True

    def _set_when(self, ctx: Context, starts_at: datetime | None, ends_at: datetime | None) -> bool:
        if starts_at is None:
            return False
        if aware(starts_at) <= aware(ctx.now):
            self._ask_when(ctx, True, ctx.t("meetings.new.when_error.past"))
            return True
        if ends_at is not None and aware(ends_at) <= aware(starts_at):
            self._ask_when(ctx, True, ctx.t("meetings.new.when_error.end_before_start"))
            return True
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
            place = t("meetings.new.with_pin", place=place)
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
