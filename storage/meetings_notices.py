"""The notices about meetings, planned into the outbox by the scheduler's notice job
(``scheduler.py``, every few minutes) and by ``wlcc notices plan``: :func:`plan_all`.

Each notice is one outbox row of kind ``meeting`` (storage.meetings.NOTICE_KIND, which is also
its WhatsApp template outside the 24-hour window) whose key names the meeting, its revision
(bumped when it is moved) and the recipient: ``meeting:12:rev:0:announce:member:7``. The rows
are written with ``INSERT ... ON CONFLICT DO NOTHING``, so a restart, a retry or a second
scheduler never plans one twice, and a moved meeting gets its notices anew for its new time.
Planning runs only when a notice is due, never ahead, so a cancelled or moved meeting leaves
nothing stale behind in the outbox.

What is planned at ``now``, for every meeting still to come (not cancelled, not started):

* the **announcement** ``WLCC_ANNOUNCE_DAYS_BEFORE`` days before the start (at once for a
  meeting made later than that, and for a member who joins later): theme, kind, day and time,
  place, seats of a training, and the answer choices (``HADIR #12`` ...). To every invited
  active member who has not opted out; after a move only to those who have not answered (the
  others were told of the new time by ``move_meeting``).
* the **reminder** ``WLCC_REMINDER_DAYS_BEFORE`` days before, to those who said yes (with a
  seat) or maybe and to those who have not answered, the choices again for the last two. Not
  to "no", and not to those on a training's waiting list (they are told when a seat frees up,
  ``fill_seats``; a reminder would bring them to a full room). Not to someone who was told only
  when the reminder was already due (her announcement went out then, or she answered then):
  she has just heard of it.
* the **morning-of reminder** at ``WLCC_MORNING_REMINDER_TIME`` (local) on the day, to those
  who said yes (with a seat) before that time; only when that time is before the start. When
  it is due, those who said yes get it instead of a late day-before reminder.
* a **holiday flag** to the coordinators and admins (each in her language) when the day is a
  holiday in Indonesia, cuti bersama included (``meeting.holiday`` from a rule, else
  ``wlcc.dates.holiday_name``): as soon as the meeting is planned (so weeks ahead for the
  rule's meetings), with a suggested day (the same weekday, ``wlcc.dates.suggest_date``); the
  meeting is never kept or moved silently. Once per meeting and revision.

A notice that falls due in the quiet hours (``WLCC_QUIET_HOURS``) waits for their end
(``not_before``); one that would then arrive after the start is not planned at all.

Before the notices, the planning of the other parts runs in the same transaction: past meetings
become done, a rule's coming meetings are made, role requests move on, theme polls close. After
them, the loans' installment reminders and missed notices (storage.loans_notices), counted as
``installment_reminder`` and ``installment_missed``, and the complaints past their time limits
(storage.complaints_escalation): ``complaint_overdue`` flags and ``complaint_digest`` digests.
Planners are serialised on PostgreSQL (a transaction-scoped advisory lock), so two schedulers
never interleave their planning; the unique keys alone keep each notice single.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, exists, literal, select, text
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from storage.complaints_escalation import plan_escalations
from storage.db import lock_id
from storage.ledger_access import plan_statements
from storage.loans_notices import plan_loan_notices
from storage.meetings import (
    NOTICE_KIND,
    Answer,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Rsvp,
    audience_filters,
    aware,
    finish_past_meetings,
    rsvp_choices,
)
from storage.meetings_roles import plan_roles
from storage.meetings_rules import ensure_occurrences
from storage.meetings_themes import close_due_polls
from storage.members import staff
from storage.models import Member, OutboxMessage, Role
from storage.outbox import Planned, enqueue_many
from wlcc.dates import holiday_name, outside_quiet_hours, parse_quiet_hours, suggest_date
from wlcc.formatting import format_date, format_datetime
from wlcc.i18n import Translator
from wlcc.settings import Settings

log = logging.getLogger(__name__)

ANNOUNCEMENT = "announcement"
REMINDER = "reminder"
MORNING = "morning"
HOLIDAY = "holiday"
NOTICE_COUNTS = (ANNOUNCEMENT, REMINDER, MORNING, HOLIDAY)
# The other parts' planning, by the name plan_all reports their counts under.
FINISHED = "finished"
OCCURRENCES = "occurrences"
ROLES = "roles"
POLLS = "polls"
STATEMENTS = "statements"

STAFF_ROLES = (Role.COORDINATOR, Role.ADMIN)
PLANNER_LOCK = "meetings:notices:plan"  # one planner at a time (PostgreSQL)


@dataclass(frozen=True, slots=True)
class Moments:
    """When each notice of one meeting falls due (aware UTC)."""

    announcement: datetime
    reminder: datetime
    morning: datetime | None  # None: the morning-of time is not before the start


def moments(meeting: Meeting, settings: Settings) -> Moments:
    start = aware(meeting.starts_at)
    zone = settings.timezone
    hour, minute = (int(part) for part in settings.wlcc_morning_reminder_time.split(":"))
    day = start.astimezone(zone).date()
    morning: datetime | None = datetime.combine(day, time(hour, minute), zone).astimezone(UTC)
    if morning is not None and morning >= start:
        morning = None
    return Moments(
        announcement=start - timedelta(days=settings.wlcc_announce_days_before),
        reminder=start - timedelta(days=settings.wlcc_reminder_days_before),
        morning=morning,
    )


def notice_key(meeting: Meeting, stage: str, member_id: int | str = "") -> str:
    """``meeting:12:rev:0:announce:member:7`` (without the member: the prefix of them all)."""
    return f"meeting:{meeting.id}:rev:{meeting.revision}:{stage}:member:{member_id}"


# --- the entry point ---


def plan_all(session: Session, *, now: datetime, settings: Settings) -> dict[str, int]:
    """Plan every notice due at ``now`` (each once, by its outbox key); how many of each kind,
    and what the other parts' planning did (``finished``, ``occurrences``, ``roles``,
    ``polls``, the loans' ``installment_reminder`` and ``installment_missed``, the complaints'
    ``complaint_overdue`` and ``complaint_digest``)."""
    now = aware(now)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id(PLANNER_LOCK)})
    counts: dict[str, int] = {FINISHED: finish_past_meetings(session, now)}
    # A rule's coming meetings first (they may need notices now), then the roles to ask and
    # the theme votes that closed.
    counts[OCCURRENCES] = ensure_occurrences(
        session, now=now, months=settings.wlcc_meeting_months_ahead, zone=settings.timezone
    )
    counts[ROLES] = plan_roles(session, now=now, settings=settings)
    counts[POLLS] = close_due_polls(session, now=now)
    # The credit union's monthly statements (storage/ledger_access.py), in the same job.
    counts[STATEMENTS] = plan_statements(session, now=now, settings=settings)
    counts.update(dict.fromkeys(NOTICE_COUNTS, 0))
    quiet = parse_quiet_hours(settings.wlcc_quiet_hours)
    zone = settings.timezone

    def send_at(moment: datetime) -> datetime:
        return outside_quiet_hours(moment, quiet, zone)

    planner = _Planner(session, now, settings, send_at)
    for meeting in _coming(session, now):
        counts[HOLIDAY] += planner.holiday(meeting)
        due = moments(meeting, settings)
        if now < due.announcement:
            continue
        counts[ANNOUNCEMENT] += planner.announcement(meeting)
        if now >= due.reminder:
            counts[REMINDER] += planner.reminder(meeting, due)
        if due.morning is not None and now >= due.morning:
            counts[MORNING] += planner.morning(meeting, due.morning)
    # The loans' installment notices, under the same lock.
    counts.update(plan_loan_notices(session, now=now, settings=settings))
    # Complaints past their time limits: flagged, and one digest a day per coordinator
    # (storage/complaints_escalation.py), under the same lock.
    counts.update(plan_escalations(session, now=now, settings=settings))
    planned = {k: v for k, v in counts.items() if v}
    if any(counts[k] for k in NOTICE_COUNTS):
        log.info("meeting notices planned: %s", planned)
    return counts


def _coming(session: Session, now: datetime) -> list[Meeting]:
    """Every open meeting still to start, of every community, soonest first."""
    return list(
        session.scalars(
            select(Meeting)
            .where(col(Meeting.status).in_(MeetingStatus.OPEN), col(Meeting.starts_at) > now)
            .order_by(col(Meeting.starts_at), col(Meeting.id))
        )
    )


# --- the notices ---


class _Texts:
    """The words of one meeting's notices, once per language (10,000 members, two languages)."""

    def __init__(self, meeting: Meeting, zone: ZoneInfo, free_seats: int | None) -> None:
        self.meeting = meeting
        self.zone = zone
        self.free_seats = free_seats
        self._cache: dict[tuple[str, str, str | None], tuple[str, dict[str, str]]] = {}

    def get(self, lang: str | None, stage: str, variant: str | None = None) -> tuple[str, Any]:
        t = Translator(lang)
        cached = self._cache.get((t.lang, stage, variant))
        if cached is None:
            cached = self._cache[(t.lang, stage, variant)] = self._word(t, stage, variant)
        return cached

    def when(self, t: Translator) -> str:
        return format_datetime(self.meeting.starts_at, t.lang, self.zone)

    def _word(self, t: Translator, stage: str, variant: str | None) -> tuple[str, dict[str, str]]:
        m = self.meeting
        when = self.when(t)
        details = [t("notices.when", when=when)]
        if m.place:
            details.append(t("notices.place", place=m.place))
        template = {"1": m.title, "2": when, "3": m.place or t("notices.place_unknown")}
        if stage == ANNOUNCEMENT:
            kind = t(
                "notices.kind.training"
                if m.kind == MeetingKind.TRAINING
                else "notices.kind.meeting"
            )
            lines = [t("notices.announcement", kind=kind, title=m.title), *details]
            if m.description:
                lines.append(m.description)
            if m.seats is not None and (self.free_seats or 0) > 0:
                lines.append(t("notices.seats", seats=m.seats, free=self.free_seats))
            elif m.seats is not None:
                lines.append(t("notices.seats_full", seats=m.seats))
            lines += ["", t("notices.announcement_question")]
        elif stage == REMINDER:
            lines = [t("notices.reminder", title=m.title), *details, ""]
            lines.append(
                t("notices.reminder_yes")
                if variant == Answer.YES
                else t("notices.reminder_maybe")
                if variant == Answer.MAYBE
                else t("notices.reminder_none")
            )
        else:  # MORNING
            lines = [t("notices.morning", title=m.title), *details, "", t("notices.morning_end")]
        return "\n".join(lines), template


class _Planner:
    def __init__(
        self,
        session: Session,
        now: datetime,
        settings: Settings,
        send_at: Callable[[datetime], datetime],
    ) -> None:
        self.session = session
        self.now = now
        self.settings = settings
        self.zone = settings.timezone
        # A notice planned now goes out now, or when the quiet hours end.
        self.not_before = send_at(now)

    def _pointless(self, meeting: Meeting) -> bool:
        return self.not_before >= aware(meeting.starts_at)

    def _rows(
        self, meeting: Meeting, stage: str, *, extra: Iterable[Any] = (), announced: bool = False
    ) -> list[Any]:
        """Invited members without this notice yet (not opted out): id, language, answer,
        waiting, answered at, and with ``announced`` when her announcement is to go out."""
        assert meeting.id is not None
        member_id = col(Member.id)

        def key(of: str) -> Any:
            return literal(notice_key(meeting, of)) + cast(member_id, String)

        columns: list[Any] = [
            member_id,
            col(Member.language),
            col(Rsvp.answer),
            col(Rsvp.waiting),
            col(Rsvp.answered_at),
        ]
        earlier = aliased(OutboxMessage)
        if announced:
            columns.append(earlier.next_attempt_at)
        query = (
            select(*columns)
            .select_from(Member)
            .outerjoin(
                Rsvp, and_(col(Rsvp.meeting_id) == meeting.id, col(Rsvp.member_id) == member_id)
            )
            .where(
                *audience_filters(meeting),
                col(Member.opted_out).is_(False),
                ~exists().where(col(OutboxMessage.key) == key(stage)),
                *extra,
            )
            .order_by(member_id)
        )
        if announced:
            query = query.outerjoin(earlier, earlier.key == key(ANNOUNCEMENT))
        return list(self.session.execute(query))

    def _plan(
        self,
        meeting: Meeting,
        stage: str,
        texts: _Texts,
        rows: Iterable[tuple[int, str | None, str | None]],
    ) -> int:
        """One notice each: (member id, language, variant); choices unless she said yes."""
        assert meeting.id is not None
        messages = []
        for member_id, lang, variant in rows:
            words, template = texts.get(lang, stage, variant)
            choices: tuple[tuple[str, str], ...] = ()
            if stage == ANNOUNCEMENT or (variant != Answer.YES and stage == REMINDER):
                choices = tuple(rsvp_choices(Translator(lang), meeting.id))
            messages.append(
                Planned(
                    key=notice_key(meeting, stage, member_id),
                    text=words,
                    member_id=member_id,
                    choices=choices,
                    template_vars=template,
                    not_before=self.not_before,
                )
            )
        if not messages:
            return 0
        return enqueue_many(
            self.session, messages, kind=NOTICE_KIND, community_id=meeting.community_id, chunk=5000
        )

    def _texts(self, meeting: Meeting) -> _Texts:
        free = None
        if meeting.seats is not None:
            seated = self.session.execute(
                select(col(Rsvp.id)).where(
                    col(Rsvp.meeting_id) == meeting.id,
                    col(Rsvp.answer) == Answer.YES,
                    col(Rsvp.waiting).is_(False),
                )
            ).all()
            free = meeting.seats - len(seated)
        return _Texts(meeting, self.zone, free)

    def announcement(self, meeting: Meeting) -> int:
        if self._pointless(meeting):
            return 0
        # After a move, those who answered were told of the new time (move_meeting).
        extra = [col(Rsvp.id).is_(None)] if meeting.revision else []
        rows = self._rows(meeting, ANNOUNCEMENT, extra=extra)
        return self._plan(
            meeting, ANNOUNCEMENT, self._texts(meeting), ((r[0], r[1], None) for r in rows)
        )

    def reminder(self, meeting: Meeting, due: Moments) -> int:
        if self._pointless(meeting):
            return 0
        morning_due = due.morning is not None and self.now >= due.morning
        chosen = []
        for member_id, lang, answer, waiting, answered_at, announced_at in self._rows(
            meeting, REMINDER, announced=True
        ):
            if answer == Answer.NO or waiting:
                continue
            if answer == Answer.YES and morning_due:
                continue  # the morning-of reminder is for her now
            # Told only when the reminder was already due: she has just heard of it.
            told = answered_at if answer is not None else announced_at
            if told is None or aware(told) >= due.reminder:
                continue
            chosen.append((member_id, lang, answer))
        return self._plan(meeting, REMINDER, self._texts(meeting), chosen)

    def morning(self, meeting: Meeting, due: datetime) -> int:
        if self._pointless(meeting):
            return 0
        rows = self._rows(
            meeting,
            MORNING,
            extra=[col(Rsvp.answer) == Answer.YES, col(Rsvp.waiting).is_(False)],
        )
        chosen = [(r[0], r[1], Answer.YES) for r in rows if aware(r[4]) < due]
        return self._plan(meeting, MORNING, self._texts(meeting), chosen)

    def holiday(self, meeting: Meeting) -> int:
        """Flag a meeting on a public holiday to the coordinators and admins, once."""
        if self._pointless(meeting):
            return 0
        day = aware(meeting.starts_at).astimezone(self.zone).date()
        name = meeting.holiday or holiday_name(day)
        if not name:
            return 0
        suggested = meeting.suggested_date or suggest_date(
            day, day.weekday(), not_before=self.now.astimezone(self.zone).date()
        )
        if meeting.holiday is None or meeting.suggested_date is None:
            meeting.holiday, meeting.suggested_date = name, suggested
            self.session.add(meeting)
        assert meeting.id is not None
        messages = []
        for person in staff(self.session, meeting.community_id, STAFF_ROLES):
            if person.opted_out or person.id is None:
                continue
            t = Translator(person.language)
            when = format_datetime(meeting.starts_at, t.lang, self.zone)
            # Her language's name of the day (a rule's meeting keeps the Indonesian one).
            named = (holiday_name(day, t.lang) if t.lang != "id" else None) or name
            lines = [t("notices.holiday", title=meeting.title, when=when, holiday=named)]
            if suggested != day:
                lines.append(t("notices.holiday_suggestion", day=format_date(suggested, t.lang)))
            lines.append(t("notices.holiday_decide", id=meeting.id))
            messages.append(
                Planned(
                    key=notice_key(meeting, HOLIDAY, person.id),
                    text="\n".join(lines),
                    member_id=person.id,
                    template_vars={
                        "1": meeting.title,
                        "2": when,
                        "3": meeting.place or t("notices.place_unknown"),
                    },
                    not_before=self.not_before,
                )
            )
        if not messages:
            return 0
        return enqueue_many(
            self.session, messages, kind=NOTICE_KIND, community_id=meeting.community_id
        )
