"""A member and her meetings: JADWAL, HADIR / TIDAK / MUNGKIN, HADIR <code>, KALENDER.

* ``JADWAL`` (``SCHEDULE``): the next meetings and trainings she is invited to (theme, kind,
  day and time, place, the roles taken so far, seats left or her place on the waiting list)
  with her own answer, and the answer choices of the next one.
* ``HADIR``, ``TIDAK``, ``MUNGKIN`` (``ATTEND``, ``NOT ATTENDING``, ``MAYBE``): her answer for
  the next meeting; with ``#<id>`` (the payload of a notice's buttons and numbers, and of the
  choices JADWAL shows) for that meeting. The reply says what was recorded for which meeting.
  She can change it until the start; a training's "yes" gets a seat or a place on the waiting
  list (storage.meetings.answer_rsvp, which also moves the next one up and tells her).
* ``HADIR MAWAR7``: the code word of the day, at the venue: her attendance
  (storage.meetings.check_in). ``HADIR`` alone stays the answer.
* ``KALENDER`` (``CALENDAR``): the next meeting as an ``.ics`` file where the channel can send
  one (Telegram); WhatsApp (Twilio sends no calendar files) and the terminal get the details as
  text, and the reply says so.

Only members may use them: somebody not registered is told how to register (``DAFTAR``), a
Telegram chat without a proven phone how to link it (``HUBUNGKAN``), a registration not yet
approved that it waits. Each is one message and one answer: nothing waits in a dialog.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import ClassVar
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from conversations.engine import Context, Dialog, register
from storage.media import bot_file
from storage.meetings import (
    Answer,
    CheckIn,
    Meeting,
    MeetingError,
    MeetingKind,
    MeetingRoleName,
    MeetingStatus,
    RsvpResult,
    answer_rsvp,
    aware,
    check_in,
    error_text,
    get_meeting,
    headcount,
    lineup,
    meetings_of_the_day,
    rsvp_choices,
    rsvp_of,
    upcoming_meetings,
    waiting_list,
    waiting_position,
)
from storage.models import Member, MemberStatus
from storage.outbox import MEDIA_PREFIX, REPLY_KIND, enqueue
from wlcc.formatting import DEFAULT_ZONE, format_datetime, to_local
from wlcc.i18n import Translator
from wlcc.messages import Choice

SCHEDULE_LIMIT = 3  # meetings JADWAL shows
ICS_TYPE = "text/calendar"
# The channels that can send the .ics file (Twilio's WhatsApp takes images, audio, video, PDF
# and Office documents, vCards; not text/calendar).
DOCUMENT_CHANNELS = frozenset({"telegram"})
_MEETING_ID = re.compile(r"^#(\d{1,9})$")
# A code word of the day as typed: letters and a digit ("MAWAR7", "mawar 7").
_CODE = re.compile(r"^[A-Za-z]{2,20}\s?\d{1,2}$")
# What may follow TIDAK and still be the answer: "tidak bisa datang".
_NO_TAILS = frozenset({"BISA", "BISA DATANG", "BISA HADIR", "DATANG", "HADIR", "IKUT"})


# --- who may ---


def _member(ctx: Context) -> Member | None:
    """The active member speaking, or None after telling the person why not."""
    member = ctx.speaker.member
    if member is not None and member.status == MemberStatus.ACTIVE:
        return member
    if member is not None and member.status == MemberStatus.PENDING:
        ctx.say(ctx.t("meetings.member.pending"))
    elif ctx.speaker.identity.phone is None and ctx.speaker.channel == "telegram":
        ctx.say(ctx.t("meetings.member.link_first"))
    else:
        ctx.say(ctx.t("meetings.member.members_only"))
    return None


def _is_member(ctx: Context) -> bool:
    member = ctx.speaker.member
    return member is not None and member.status == MemberStatus.ACTIVE


# --- words ---


def when_text(meeting: Meeting, t: Translator, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """``Sabtu, 12 Desember 2026 pukul 09.00-12.00 WIB`` (the end when known, same day)."""
    text = format_datetime(meeting.starts_at, t.lang, zone)
    if meeting.ends_at is None:
        return text
    start, end = to_local(meeting.starts_at, zone), to_local(meeting.ends_at, zone)
    if end.date() != start.date():
        return f"{text} - {format_datetime(meeting.ends_at, t.lang, zone)}"
    head, _, zone_name = text.rpartition(" ")
    clock = end.strftime("%H:%M" if t.lang == "en" else "%H.%M")
    return f"{head}-{clock} {zone_name}"


def event_name(meeting: Meeting, t: Translator) -> str:
    """``Pelatihan "Menjahit"``, or the monthly meeting's theme alone."""
    kind = t(f"meetings.member.kind.{meeting.kind}")
    if meeting.title.casefold() == kind.casefold():
        return kind
    return t("meetings.member.event", kind=kind, title=meeting.title)


def _answer_word(t: Translator, answer: str) -> str:
    return {
        Answer.YES: t("meetings.member.word_yes"),
        Answer.NO: t("meetings.member.word_no"),
        Answer.MAYBE: t("meetings.member.word_maybe"),
    }[answer]


def _her_answer(ctx: Context, meeting: Meeting, member: Member) -> str:
    assert meeting.id is not None and member.id is not None
    rsvp = rsvp_of(ctx.session, meeting.id, member.id)
    if rsvp is None:
        return ctx.t("meetings.member.answer_none")
    if rsvp.waiting:
        position = waiting_position(ctx.session, meeting.id, member.id) or 1
        return ctx.t("meetings.member.answer_waiting", position=position)
    return ctx.t(f"meetings.choice.{rsvp.answer}")


def _roles_line(ctx: Context, meeting: Meeting) -> str | None:
    assert meeting.id is not None
    taken = lineup(ctx.session, meeting.id)
    parts = [
        ctx.t("meetings.member.role_taken", role=ctx.t(f"meetings.member.role.{role}"), name=m.name)
        for role in MeetingRoleName.ALL
        if (m := taken.get(role)) is not None
    ]
    return ctx.t("meetings.member.roles", roles="; ".join(parts)) if parts else None


def _seats_line(ctx: Context, meeting: Meeting) -> str | None:
    if meeting.seats is None or meeting.id is None:
        return None
    count = headcount(ctx.session, meeting)
    free = max(meeting.seats - (count.yes - count.waiting), 0)
    if free:
        return ctx.t("meetings.member.seats_left", free=free, seats=meeting.seats)
    waiting = len(waiting_list(ctx.session, meeting.id))
    if not waiting:
        return ctx.t("meetings.member.seats_taken", seats=meeting.seats)
    return ctx.t("meetings.member.seats_full", seats=meeting.seats, waiting=waiting)


def meeting_lines(ctx: Context, meeting: Meeting, member: Member | None) -> list[str]:
    """What a member reads about one meeting (JADWAL, KALENDER on WhatsApp)."""
    lines = [event_name(meeting, ctx.t), when_text(meeting, ctx.t, ctx.zone)]
    if meeting.status == MeetingStatus.MOVED and meeting.previous_starts_at is not None:
        old = format_datetime(meeting.previous_starts_at, ctx.t.lang, ctx.zone)
        lines.append(ctx.t("meetings.member.moved_from", old=old))
    if meeting.place:
        lines.append(ctx.t("meetings.member.place", place=meeting.place))
    roles = _roles_line(ctx, meeting)
    if roles:
        lines.append(roles)
    seats = _seats_line(ctx, meeting)
    if seats:
        lines.append(seats)
    if member is not None:
        lines.append(ctx.t("meetings.member.her_answer", answer=_her_answer(ctx, meeting, member)))
    return lines


def _short_when(meeting: Meeting, ctx: Context) -> str:
    return format_datetime(meeting.starts_at, ctx.t.lang, ctx.zone)


# --- JADWAL ---


@register
class ScheduleDialog(Dialog):
    name = "meetings_schedule"
    keywords = ("JADWAL", "JADWAL PERTEMUAN", "SCHEDULE")
    menu_key = "meetings.member.menu"
    help_key = "meetings.member.help"
    menu_order = 20

    def in_menu(self, ctx: Context) -> bool:
        return _is_member(ctx)

    def start(self, ctx: Context, args: str) -> None:
        member = _member(ctx)
        if member is None:
            return
        meetings = upcoming_meetings(
            ctx.session, ctx.speaker.community_id, ctx.now, member=member, limit=SCHEDULE_LIMIT
        )
        if not meetings:
            ctx.say(ctx.t("meetings.member.nothing_planned"))
            return
        blocks = [ctx.t("meetings.member.schedule_header")]
        blocks += ["\n".join(meeting_lines(ctx, m, member)) for m in meetings]
        first = meetings[0]
        assert first.id is not None
        blocks.append(
            ctx.t(
                "meetings.member.answer_for",
                event=event_name(first, ctx.t),
                when=_short_when(first, ctx),
            )
        )
        choices = [Choice(p, label) for p, label in rsvp_choices(ctx.t, first.id)]
        ctx.say("\n\n".join(blocks), choices)


# --- HADIR / TIDAK / MUNGKIN ---


def _started_today(ctx: Context, member: Member) -> Meeting | None:
    """Today's meeting for her that has begun and not ended (an answer now is too late)."""
    for meeting in meetings_of_the_day(ctx.session, member.community_id, ctx.now, ctx.zone):
        end = aware(meeting.ends_at) if meeting.ends_at is not None else None
        started = aware(meeting.starts_at) <= aware(ctx.now)
        if started and meeting.status in MeetingStatus.OPEN and (end is None or end > ctx.now):
            return meeting
    return None


class _AnswerDialog(Dialog):
    answer: ClassVar[str]
    # "Tidak" answers a question that shows "Tidak setuju" (consent, a deletion): not RSVP.
    yields_to_labels = True

    def accepts(self, args: str) -> bool:
        text = args.strip()
        return not text or _MEETING_ID.match(text) is not None

    def start(self, ctx: Context, args: str) -> None:
        member = _member(ctx)
        if member is None:
            return
        meeting = self._meeting(ctx, member, args.strip())
        if meeting is None:
            return
        try:
            result = answer_rsvp(
                ctx.session, meeting, member, self.answer, now=ctx.now, channel=ctx.speaker.channel
            )
        except MeetingError as exc:
            text = error_text(ctx.t, exc)
            if exc.code == "started" and self.answer == Answer.YES:
                text = "\n".join([text, ctx.t("meetings.member.checkin_hint")])
            ctx.say(text)
            return
        ctx.audit("meeting.rsvp", target=f"meeting:{meeting.id}", answer=self.answer)
        ctx.say(_recorded_text(ctx, result))

    def _meeting(self, ctx: Context, member: Member, args: str) -> Meeting | None:
        found = _MEETING_ID.match(args)
        if found is not None:
            meeting = get_meeting(ctx.session, ctx.speaker.community_id, int(found.group(1)))
            if meeting is None:
                ctx.say(ctx.t("meetings.member.not_found"))
            return meeting
        ongoing = _started_today(ctx, member)
        if ongoing is not None:
            return ongoing  # too late for it: answer_rsvp says so
        upcoming = upcoming_meetings(
            ctx.session, ctx.speaker.community_id, ctx.now, member=member, limit=1
        )
        if not upcoming:
            ctx.say(ctx.t("meetings.member.nothing_to_answer"))
            return None
        return upcoming[0]


def _recorded_text(ctx: Context, result: RsvpResult) -> str:
    meeting = result.meeting
    params = {
        "word": _answer_word(ctx.t, result.answer),
        "event": event_name(meeting, ctx.t),
        "when": _short_when(meeting, ctx),
    }
    if result.waiting:
        key = "meetings.member.still_waiting" if result.unchanged else "meetings.member.waiting"
        return ctx.t(key, position=result.position or 1, **params)
    if result.unchanged:
        return ctx.t("meetings.member.already", **params)
    lines = [ctx.t("meetings.member.recorded", **params)]
    if result.previous is not None:
        lines.append(
            ctx.t("meetings.member.changed_from", old=_answer_word(ctx.t, result.previous))
        )
    if result.promoted:
        lines.append(ctx.t("meetings.member.seat_passed_on"))
    lines.append(ctx.t("meetings.member.can_change"))
    return "\n".join(lines)


@register
class AttendDialog(_AnswerDialog):
    """HADIR: yes; HADIR <code word>: her attendance at the venue."""

    name = "meetings_yes"
    keywords = ("HADIR", "ATTEND", "ATTENDING")
    answer = Answer.YES

    def accepts(self, args: str) -> bool:
        return super().accepts(args) or _CODE.match(args.strip()) is not None

    def start(self, ctx: Context, args: str) -> None:
        if args.strip() and _MEETING_ID.match(args.strip()) is None:
            self._check_in(ctx, args)
            return
        super().start(ctx, args)

    def _check_in(self, ctx: Context, code: str) -> None:
        member = _member(ctx)
        if member is None:
            return
        done: CheckIn = check_in(ctx.session, member, code, now=ctx.now, zone=ctx.zone)
        if done.status == "no_meeting":
            ctx.say(ctx.t("meetings.member.checkin_no_meeting"))
            return
        assert done.meeting is not None
        event = event_name(done.meeting, ctx.t)
        if done.status == "wrong_code":
            ctx.say(ctx.t("meetings.member.checkin_wrong", event=event))
            return
        if done.status == "already":
            ctx.say(ctx.t("meetings.member.checkin_already", event=event))
            return
        ctx.audit("meeting.checkin", target=f"meeting:{done.meeting.id}")
        ctx.say(ctx.t("meetings.member.checkin_recorded", event=event))


@register
class NotComingDialog(_AnswerDialog):
    name = "meetings_no"
    keywords = (
        "TIDAK",
        "TIDAK HADIR",
        "TIDAK BISA",
        "NOT ATTENDING",
        "CANNOT ATTEND",
        "CANNOT COME",
        "NOT COMING",
    )
    answer = Answer.NO

    def accepts(self, args: str) -> bool:
        return super().accepts(args) or " ".join(args.upper().split()) in _NO_TAILS


@register
class MaybeDialog(_AnswerDialog):
    name = "meetings_maybe"
    keywords = ("MUNGKIN", "MUNGKIN HADIR", "MAYBE")
    answer = Answer.MAYBE


# --- KALENDER ---


def meeting_ics(meeting: Meeting, t: Translator, details: str) -> bytes:
    """The meeting as an iCalendar file: one event, times in UTC. Its UID stays the same for
    the meeting (a calendar app updates the event it already has); SEQUENCE is the meeting's
    revision, bumped at each move. DTSTAMP is the meeting's last change, so the same meeting
    gives the same bytes (and one stored file) until it changes."""
    calendar = Calendar()
    calendar.add("prodid", "-//WLCC//wlcc-bot//ID")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"wlcc-meeting-{meeting.community_id}-{meeting.id}@wlcc-bot")
    event.add("sequence", meeting.revision)
    event.add("dtstamp", aware(meeting.updated_at).astimezone(UTC))
    event.add("dtstart", aware(meeting.starts_at).astimezone(UTC))
    if meeting.ends_at is not None:
        event.add("dtend", aware(meeting.ends_at).astimezone(UTC))
    event.add("summary", event_name(meeting, t).replace('"', ""))
    if meeting.place:
        event.add("location", meeting.place)
    if meeting.latitude is not None and meeting.longitude is not None:
        event.add("geo", (meeting.latitude, meeting.longitude))
    event.add("description", details)
    event.add("status", "CONFIRMED")
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def _ics_details(ctx: Context, meeting: Meeting) -> str:
    lines = [ctx.t(f"meetings.member.kind.{meeting.kind}")]
    if meeting.description:
        lines.append(meeting.description)
    roles = _roles_line(ctx, meeting)
    if roles:
        lines.append(roles)
    lines.append(ctx.t("meetings.member.calendar_footer"))
    return "\n".join(lines)


def _file_name(meeting: Meeting, ctx: Context) -> str:
    day = to_local(meeting.starts_at, ctx.zone).date().isoformat()
    kind = "pelatihan" if meeting.kind == MeetingKind.TRAINING else "pertemuan"
    return f"wlcc-{kind}-{day}.ics"


@register
class CalendarDialog(Dialog):
    name = "meetings_calendar"
    keywords = ("KALENDER", "CALENDAR")

    def start(self, ctx: Context, args: str) -> None:
        member = _member(ctx)
        if member is None:
            return
        upcoming = upcoming_meetings(
            ctx.session, ctx.speaker.community_id, ctx.now, member=member, limit=1
        )
        if not upcoming:
            ctx.say(ctx.t("meetings.member.nothing_planned"))
            return
        meeting = upcoming[0]
        if ctx.speaker.channel not in DOCUMENT_CHANNELS:
            lines = [ctx.t("meetings.member.calendar_as_text")]
            lines += meeting_lines(ctx, meeting, None)
            if meeting.description:
                lines.append(meeting.description)
            ctx.say("\n".join(lines))
            return
        self._send_file(ctx, meeting)

    def _send_file(self, ctx: Context, meeting: Meeting) -> None:
        identity = ctx.speaker.identity
        assert identity.id is not None and meeting.id is not None
        data = meeting_ics(meeting, ctx.t, _ics_details(ctx, meeting))
        media = bot_file(
            ctx.session,
            community_id=ctx.speaker.community_id,
            name=_file_name(meeting, ctx),
            data=data,
            content_type=ICS_TYPE,
            now=ctx.now,
        )
        # An answer to her own message, sent by the outbox sender (which can upload a file):
        # to this chat, whatever channel she prefers for notices, and not held back by BERHENTI.
        enqueue(
            ctx.session,
            key=f"calendar:{meeting.id}:{meeting.revision}:identity:{identity.id}:"
            f"{aware(ctx.now).isoformat()}",
            kind=REPLY_KIND,
            community_id=ctx.speaker.community_id,
            identity_id=identity.id,
            text=f"{event_name(meeting, ctx.t)}\n{when_text(meeting, ctx.t, ctx.zone)}",
            media=[f"{MEDIA_PREFIX}{media.id}"],
        )
        ctx.say(ctx.t("meetings.member.calendar_sent", event=event_name(meeting, ctx.t)))
