"""Time limits of complaint tickets, and the daily digest of the overdue ones to coordinators.

In the spirit of SP4N-LAPOR! (Indonesia's public complaint system), two limits, counted in
working days (Monday to Friday, not an Indonesian public holiday nor cuti bersama:
``wlcc.dates.working_days_after``, the ``holidays`` package) in ``WLCC_TIMEZONE``:

* **verification**: a ticket still ``received`` is overdue when more than
  ``WLCC_COMPLAINT_VERIFY_DAYS`` (3) working days have passed since the day it was received;
* **response**: a ticket still ``forwarded`` is overdue when more than
  ``WLCC_COMPLAINT_RESPONSE_DAYS`` (5) working days have passed since the day it was
  forwarded (or reopened, when a reporter said it was not fixed after it had been: the agency
  is asked anew).

The day the clock starts does not count: received on Wednesday 23 December 2026 (24 December
is cuti bersama, 25 December Christmas, then a weekend), 3 working days end on Wednesday 30
December; it is overdue from Thursday 31 December. A ticket that moved on (verified, in
progress, resolved, rejected, duplicate) has no limit running.

**Flag and digest** (:func:`plan_escalations`, called by the notice job
``storage.meetings_notices.plan_all``, so also by ``wlcc notices plan``): on each working day,
from ``WLCC_COMPLAINT_DIGEST_TIME`` (08:00 local; after the quiet hours when it falls in them;
empty for no digest):

* every overdue ticket is **flagged** once per limit and clock: an internal event in its
  history (``complaint_event``, ``internal``, ``actor_label`` ``escalation:verify`` or
  ``escalation:response``) saying which limit passed and when it ended; coordinators see it
  with the internal notes, never a reporter;
* each coordinator responsible for overdue tickets (the coordinators of the ticket's
  kelurahan, all coordinators when it has none: ``storage.complaints.coordinators_for``) gets
  **one digest** (outbox kind :data:`DIGEST_KIND`, key ``complaint:digest:member:<id>:<day>``,
  so one a day whatever runs it, however often) listing them, oldest deadline first, at most
  :data:`DIGEST_LINES` lines and a count of the rest, in her language, never before the end
  of the quiet hours. Outside WhatsApp's 24-hour window it needs the ``complaint_digest``
  template (variables: 1 how many tickets, 2 the day).

Weekends and holidays get no digest: the working-day clocks do not run then, and the first
working day's digest lists everything that became overdue in between. A scheduler that was
down plans today's digest when it comes back (not the days it missed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from storage.complaints import (
    Complaint,
    ComplaintEvent,
    Status,
    category_label,
    coordinators_for,
    normalize_kelurahan,
)
from storage.models import Member
from storage.outbox import Planned, enqueue_many
from wlcc.dates import is_holiday, outside_quiet_hours, parse_quiet_hours, working_days_after
from wlcc.formatting import format_date
from wlcc.i18n import Translator
from wlcc.settings import Settings

log = logging.getLogger(__name__)

DIGEST_KIND = "complaint_digest"
VERIFY = "verify"
RESPONSE = "response"
STAGES = (VERIFY, RESPONSE)
ESCALATION_LABEL = "escalation:"  # + stage: the actor_label of a flag event
DIGEST_LINES = 10  # tickets named in one digest; the rest are counted
# plan_all reports the counts under these names.
DIGEST_COUNT = "complaint_digest"
FLAGGED_COUNT = "complaint_overdue"


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to ``end`` included (0 when ``end`` <= ``start``)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


@dataclass(frozen=True, slots=True)
class Deadline:
    """The limit running on a ticket: which, when its clock started (local day), its last day."""

    stage: str  # VERIFY or RESPONSE
    started: datetime  # aware UTC: received, or forwarded (or reopened)
    since: date  # the local day of ``started``
    due: date  # the last working day within the limit

    def overdue(self, today: date) -> bool:
        return today > self.due

    def days_late(self, today: date) -> int:
        return working_days_between(self.due, today)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def deadline(complaint: Complaint, settings: Settings) -> Deadline | None:
    """The limit running on ``complaint`` now, or None (none runs in its status)."""
    zone = settings.timezone
    if complaint.status == Status.RECEIVED:
        started = _aware(complaint.created_at)
        days, stage = settings.wlcc_complaint_verify_days, VERIFY
    elif complaint.status == Status.FORWARDED and complaint.forwarded_at is not None:
        started = _aware(complaint.forwarded_at)
        if complaint.reopened_at is not None:
            started = max(started, _aware(complaint.reopened_at))
        days, stage = settings.wlcc_complaint_response_days, RESPONSE
    else:
        return None
    since = started.astimezone(zone).date()
    return Deadline(stage, started, since, working_days_after(since, days))


def _latest_start(today: date, days: int) -> date:
    """The latest local day a clock may have started on to be overdue ``today``."""
    day = today - timedelta(days=1)
    while working_days_after(day, days) >= today:
        day -= timedelta(days=1)
    return day


def _midnight_after(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Overdue:
    complaint: Complaint
    deadline: Deadline


def overdue_clause(today: date, settings: Settings) -> ColumnElement[bool]:
    """The SQL condition of a ticket past a limit on ``today`` (local): exactly what
    :func:`deadline` and :meth:`Deadline.overdue` decide (a reopening restarts the response
    clock), so a page can filter and count overdue tickets in the database."""
    zone = settings.timezone
    verify_before = _midnight_after(_latest_start(today, settings.wlcc_complaint_verify_days), zone)
    respond_before = _midnight_after(
        _latest_start(today, settings.wlcc_complaint_response_days), zone
    )
    return or_(
        and_(
            col(Complaint.status) == Status.RECEIVED,
            col(Complaint.created_at) < verify_before,
        ),
        and_(
            col(Complaint.status) == Status.FORWARDED,
            col(Complaint.forwarded_at) < respond_before,
            or_(
                col(Complaint.reopened_at).is_(None),
                col(Complaint.reopened_at) < respond_before,
            ),
        ),
    )


def overdue_tickets(
    session: Session,
    *,
    today: date,
    settings: Settings,
    community_id: int | None = None,
) -> list[Overdue]:
    """Tickets past a limit on ``today`` (local), oldest deadline first; every community
    unless one is given. Indexed: status and the clock's start bound the rows read."""
    zone = settings.timezone
    verify_before = _midnight_after(_latest_start(today, settings.wlcc_complaint_verify_days), zone)
    respond_before = _midnight_after(
        _latest_start(today, settings.wlcc_complaint_response_days), zone
    )
    query = select(Complaint).where(
        or_(
            and_(
                col(Complaint.status) == Status.RECEIVED,
                col(Complaint.created_at) < verify_before,
            ),
            and_(
                col(Complaint.status) == Status.FORWARDED,
                col(Complaint.forwarded_at) < respond_before,
            ),
        )
    )
    if community_id is not None:
        query = query.where(col(Complaint.community_id) == community_id)
    found = []
    for complaint in session.exec(query):
        limit = deadline(complaint, settings)
        if limit is not None and limit.overdue(today):  # a reopening restarts the clock
            found.append(Overdue(complaint, limit))
    found.sort(key=lambda o: (o.deadline.due, o.complaint.id or 0))
    return found


def is_flagged(session: Session, complaint: Complaint, limit: Deadline) -> bool:
    """Whether this limit's overdue flag is already in the ticket's history."""
    return (
        session.exec(
            select(ComplaintEvent.id).where(
                col(ComplaintEvent.complaint_id) == complaint.id,
                col(ComplaintEvent.actor_label) == ESCALATION_LABEL + limit.stage,
                col(ComplaintEvent.created_at) >= limit.started,
            )
        ).first()
        is not None
    )


def _flag(session: Session, item: Overdue, now: datetime, settings: Settings) -> bool:
    if is_flagged(session, item.complaint, item.deadline):
        return False
    t = Translator(settings.wlcc_default_language)
    session.add(
        ComplaintEvent(
            complaint_id=item.complaint.id or 0,
            note=t(
                f"complaints_escalation.flag.{item.deadline.stage}",
                days=_limit_days(item.deadline.stage, settings),
                due=format_date(item.deadline.due, t.lang),
            ),
            internal=True,
            actor_label=ESCALATION_LABEL + item.deadline.stage,
            created_at=now,
        )
    )
    return True


def _limit_days(stage: str, settings: Settings) -> int:
    if stage == VERIFY:
        return settings.wlcc_complaint_verify_days
    return settings.wlcc_complaint_response_days


def digest_key(member_id: int, day: date) -> str:
    return f"complaint:digest:member:{member_id}:{day.isoformat()}"


def digest_text(t: Translator, items: Sequence[Overdue], today: date) -> str:
    """One coordinator's digest: a header, one line per ticket (at most DIGEST_LINES), the
    rest counted, what to type next."""
    lines = [t("complaints_escalation.digest.header", count=len(items))]
    for item in items[:DIGEST_LINES]:
        complaint, limit = item.complaint, item.deadline
        where = complaint.kelurahan or t("complaints.kelurahan_unknown")
        params = {
            "code": complaint.code,
            "category": category_label(t, complaint.category),
            "kelurahan": where,
            "due": format_date(limit.due, t.lang),
            "late": limit.days_late(today),
        }
        if limit.stage == VERIFY:
            lines.append(t("complaints_escalation.digest.verify", **params))
        else:
            lines.append(
                t(
                    "complaints_escalation.digest.response",
                    to=complaint.forwarded_to or "-",
                    **params,
                )
            )
    if len(items) > DIGEST_LINES:
        lines.append(t("complaints_escalation.digest.more", count=len(items) - DIGEST_LINES))
    lines.append(t("complaints_escalation.digest.end"))
    return "\n".join(lines)


def plan_escalations(session: Session, *, now: datetime, settings: Settings) -> dict[str, int]:
    """Flag the overdue tickets and plan today's digests, when due at ``now``; how many of
    each (``complaint_overdue`` flags written, ``complaint_digest`` digests planned)."""
    counts = {DIGEST_COUNT: 0, FLAGGED_COUNT: 0}
    if not settings.wlcc_complaint_digest_time:
        return counts
    zone = settings.timezone
    quiet = parse_quiet_hours(settings.wlcc_quiet_hours)
    now = _aware(now)
    today = now.astimezone(zone).date()
    if not is_working_day(today):
        return counts
    hour, minute = (int(p) for p in settings.wlcc_complaint_digest_time.split(":"))
    due = outside_quiet_hours(
        datetime.combine(today, time(hour, minute), zone).astimezone(UTC), quiet, zone
    )
    if now < due or due.astimezone(zone).date() != today:
        return counts
    items = overdue_tickets(session, today=today, settings=settings)
    if not items:
        return counts
    for item in items:
        counts[FLAGGED_COUNT] += _flag(session, item, now, settings)
    not_before = outside_quiet_hours(now, quiet, zone)
    # Whom each ticket goes to: the coordinators of its kelurahan (asked once per kelurahan).
    by_member: dict[int, tuple[Member, list[Overdue]]] = {}
    asked: dict[tuple[int, str | None], Sequence[Member]] = {}
    for item in items:
        complaint = item.complaint
        place = (complaint.community_id, normalize_kelurahan(complaint.kelurahan))
        if place not in asked:
            asked[place] = coordinators_for(session, complaint.community_id, complaint.kelurahan)
        for member in asked[place]:
            if member.id is not None:
                by_member.setdefault(member.id, (member, []))[1].append(item)
    per_community: dict[int, list[Planned]] = {}
    for member_id, (member, mine) in by_member.items():
        t = Translator(member.language)
        per_community.setdefault(member.community_id, []).append(
            Planned(
                key=digest_key(member_id, today),
                text=digest_text(t, mine, today),
                member_id=member_id,
                template_vars={"1": str(len(mine)), "2": format_date(today, t.lang)},
                not_before=not_before,
            )
        )
    for community_id, messages in per_community.items():
        counts[DIGEST_COUNT] += enqueue_many(
            session, messages, kind=DIGEST_KIND, community_id=community_id
        )
    if counts[DIGEST_COUNT] or counts[FLAGGED_COUNT]:
        log.info("complaint escalations planned: %s", counts)
    return counts
