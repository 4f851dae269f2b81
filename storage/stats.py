"""Read-only figures for the console's charts (issue 13, "pictures where people would rather
look than read"): attendance per meeting, savings over time, loans outstanding and overdue,
complaints by status, by kelurahan and on the map.

Every query is scoped to one community and a :class:`Period`: whole local months
(``WLCC_TIMEZONE``), oldest first, the last 12 by default (:func:`default_period`), never past
today's month. A month's figure is taken **as of** its last day, or today for the month that
is still running (:meth:`Period.as_of`).

**Portable month buckets.** SQLite and PostgreSQL have no common "local month of a timestamp"
function, and the stored timestamps are UTC. So the month boundaries are computed here, in the
local zone, converted to UTC instants (or kept as days for the date columns), and each query
groups by a ``CASE`` that maps a value to its month's index (:func:`_bucket`). The database
does the grouping (a dozen rows come back, or one per loan and month), and a ticket filed at
00.30 WIB on 1 March counts in March although it is still February in UTC.

What each series means:

* :func:`attendance`: each meeting or training of the period that has started by today (not
  cancelled): who was marked present, and who answered "yes" (a training's waiting list
  included, as PESERTA counts them).
* :func:`savings`: the total balance of each savings kind (pokok, wajib, sukarela) at each
  month's end, from the append-only ``ledger_entry`` by the day the money moved
  (``occurred_on``); reversals count where they were written.
* :func:`loans`: at each month's end, what is still to pay on the loans paid out by then
  (principal and the scheduled flat interest), its principal part, and how much of it is
  overdue: installments due before that day and not covered by the payments made by then
  (payments go to the oldest installment first, so a loan's overdue amount is what fell due
  before the day minus what was paid by it, when positive).
* :func:`complaints_by_status`: at each month's end, how many tickets were waiting in each
  open status (received, verified, forwarded, in progress), read from the tickets' history;
  and, within the month, how many tickets came in and how many were resolved. A coordinator
  reads it as "is the pile growing, and where is it stuck".
* :func:`complaints_by_kelurahan`: the tickets filed in the period, per kelurahan, split by
  what they are now: open, resolved, closed (rejected or duplicate).
* :func:`complaint_locations`: the tickets of the period with a pin, for the map.

Nothing here reads the help path's requests (``help_request``): they are another table, which
no query of this module names, as for the complaint exports and Open311.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, and_, case, func, or_
from sqlalchemy import select as core_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from storage.complaints import Complaint, ComplaintEvent, Status
from storage.ledger import EntryAction, LedgerEntry, LedgerKind
from storage.loans import Loan, LoanInstallment, LoanStatus
from storage.meetings import Answer, Attendance, Meeting, MeetingStatus, Rsvp, aware
from wlcc.formatting import DEFAULT_ZONE, local_today
from wlcc.settings import Settings, SettingsError, get_settings

DEFAULT_MONTHS = 12
OPEN_STATUSES = Status.OPEN  # received, verified, forwarded, in_progress


# --- months and periods ---


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """One calendar month (local)."""

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole local months, oldest first, none after today's month (see :func:`last_months`)."""

    months: tuple[Month, ...]
    today: date
    zone: ZoneInfo = DEFAULT_ZONE

    @property
    def first_day(self) -> date:
        return self.months[0].first_day

    @property
    def last_day(self) -> date:
        """The last day counted: the last month's end, or today."""
        return self.as_of(self.months[-1])

    def as_of(self, month: Month) -> date:
        """The day a month's figure is taken: its last day, or today while it runs."""
        return min(month.last_day, self.today)

    def as_of_days(self) -> list[date]:
        return [self.as_of(m) for m in self.months]

    def start_of_day(self, day: date) -> datetime:
        """The UTC instant a local day begins."""
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    @property
    def starts_at(self) -> datetime:
        return self.start_of_day(self.first_day)

    @property
    def ends_at(self) -> datetime:
        """The UTC instant just after the period (the end of its last counted day)."""
        return self.start_of_day(self.last_day + timedelta(days=1))

    def month_starts(self) -> list[datetime]:
        """The UTC instant each month begins."""
        return [self.start_of_day(m.first_day) for m in self.months]

    def month_stops(self) -> list[datetime]:
        """The UTC instant each month's span ends (exclusive): the next month's start, and
        the end of the period for the last."""
        return [*self.month_starts()[1:], self.ends_at]

    def month_ends(self) -> list[datetime]:
        """The UTC instant each month's figure is taken: the end of its as-of day."""
        return [self.start_of_day(day + timedelta(days=1)) for day in self.as_of_days()]


def last_months(
    count: int = DEFAULT_MONTHS, *, today: date | None = None, zone: ZoneInfo = DEFAULT_ZONE
) -> Period:
    """The ``count`` months up to and including today's (local)."""
    if count < 1:
        raise ValueError("a period has at least one month")
    today = today or local_today(zone)
    current = Month.of(today)
    return Period(tuple(current.shift(k - count + 1) for k in range(count)), today, zone)


def months_between(
    first: date, last: date, *, today: date | None = None, zone: ZoneInfo = DEFAULT_ZONE
) -> Period:
    """The months from ``first``'s to ``last``'s (both included; cut at today's month)."""
    today = today or local_today(zone)
    end = min(Month.of(last), Month.of(today))
    start = Month.of(first)
    if start > end:
        raise ValueError("the period starts after it ends (or after today)")
    months: list[Month] = []
    month = start
    while month <= end:
        months.append(month)
        month = month.shift(1)
    return Period(tuple(months), today, zone)


def default_period(settings: Settings | None = None, *, today: date | None = None) -> Period:
    """The last 12 months in ``WLCC_TIMEZONE``."""
    return last_months(DEFAULT_MONTHS, today=today, zone=_zone(settings))


def _zone(settings: Settings | None) -> ZoneInfo:
    if settings is not None:
        return settings.timezone
    try:
        return get_settings().timezone
    except SettingsError:  # pragma: no cover - the entry points check the settings first
        return DEFAULT_ZONE


def _bucket(
    column: Any, edges: Sequence[date | datetime], *, inclusive: bool
) -> ColumnElement[Any]:
    """The index of the first edge a value lies before (``<``; ``<=`` when ``inclusive``),
    NULL after the last: a portable month bucket."""
    whens = [
        (column <= edge if inclusive else column < edge, index) for index, edge in enumerate(edges)
    ]
    return case(*whens, else_=None)


def _cumulate(per_bucket: dict[int, int], count: int, opening: int = 0) -> list[int]:
    running, out = opening, []
    for index in range(count):
        running += per_bucket.get(index, 0)
        out.append(running)
    return out


# --- attendance ---


@dataclass(frozen=True, slots=True)
class MeetingAttendance:
    """One meeting or training: who came and who had said yes."""

    meeting_id: int
    starts_at: datetime  # aware UTC
    day: date  # local
    title: str
    kind: str
    present: int
    rsvp_yes: int


def attendance(
    session: Session, community_id: int, period: Period | None = None
) -> tuple[MeetingAttendance, ...]:
    """Each meeting of the period that started by the end of today, oldest first; cancelled
    ones left out."""
    period = period or default_period()
    present = (
        core_select(func.count(col(Attendance.id)))
        .where(col(Attendance.meeting_id) == col(Meeting.id))
        .scalar_subquery()
    )
    yes = (
        core_select(func.count(col(Rsvp.id)))
        .where(col(Rsvp.meeting_id) == col(Meeting.id), col(Rsvp.answer) == Answer.YES)
        .scalar_subquery()
    )
    rows = session.connection().execute(
        core_select(
            col(Meeting.id),
            col(Meeting.starts_at),
            col(Meeting.title),
            col(Meeting.kind),
            present,
            yes,
        )
        .where(
            col(Meeting.community_id) == community_id,
            col(Meeting.status) != MeetingStatus.CANCELLED,
            col(Meeting.starts_at) >= period.starts_at,
            col(Meeting.starts_at) < period.ends_at,
        )
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    )
    result = []
    for meeting_id, starts_at, title, kind, came, said_yes in rows:
        moment = aware(starts_at)
        result.append(
            MeetingAttendance(
                meeting_id=int(meeting_id),
                starts_at=moment,
                day=moment.astimezone(period.zone).date(),
                title=str(title),
                kind=str(kind),
                present=int(came),
                rsvp_yes=int(said_yes),
            )
        )
    return tuple(result)


# --- savings ---


@dataclass(frozen=True, slots=True)
class SavingsPoint:
    """The savings of all members at a month's end, per kind (whole rupiah)."""

    month: Month
    as_of: date
    pokok: int
    wajib: int
    sukarela: int

    @property
    def total(self) -> int:
        return self.pokok + self.wajib + self.sukarela


def savings(
    session: Session, community_id: int, period: Period | None = None
) -> tuple[SavingsPoint, ...]:
    """One point per month of the period (also for a month without entries)."""
    period = period or default_period()
    days = period.as_of_days()
    day = col(LedgerEntry.occurred_on)
    bucket = case((day < period.first_day, -1), else_=_bucket(day, days, inclusive=True))
    label = bucket.label("bucket")
    rows = session.connection().execute(
        core_select(col(LedgerEntry.kind), label, func.sum(col(LedgerEntry.amount)))
        .where(
            col(LedgerEntry.community_id) == community_id,
            col(LedgerEntry.kind).in_(LedgerKind.SAVINGS),
            day <= period.last_day,
        )
        .group_by(col(LedgerEntry.kind), label)
    )
    moved: dict[str, dict[int, int]] = {kind: {} for kind in LedgerKind.SAVINGS}
    opening = dict.fromkeys(LedgerKind.SAVINGS, 0)
    for kind, index, amount in rows:
        if index is None:
            continue
        if int(index) < 0:
            opening[str(kind)] += int(amount)
        else:
            moved[str(kind)][int(index)] = int(amount)
    count = len(period.months)
    series = {k: _cumulate(moved[k], count, opening[k]) for k in LedgerKind.SAVINGS}
    return tuple(
        SavingsPoint(
            month=month,
            as_of=days[i],
            pokok=series[LedgerKind.POKOK][i],
            wajib=series[LedgerKind.WAJIB][i],
            sukarela=series[LedgerKind.SUKARELA][i],
        )
        for i, month in enumerate(period.months)
    )


# --- loans ---


@dataclass(frozen=True, slots=True)
class LoansPoint:
    """The loans at a month's end (whole rupiah): what is still to pay on them (principal and
    scheduled interest), its principal part, and the part of it that is overdue."""

    month: Month
    as_of: date
    outstanding: int
    principal: int
    overdue: int


def loans(
    session: Session, community_id: int, period: Period | None = None
) -> tuple[LoansPoint, ...]:
    """One point per month of the period (see this module's docstring for the rules)."""
    period = period or default_period()
    days = period.as_of_days()
    count = len(days)
    live = and_(
        col(Loan.community_id) == community_id,
        col(Loan.start_on) <= period.last_day,
        or_(col(Loan.status) == LoanStatus.OPEN, col(Loan.paid_at) >= period.starts_at),
    )
    # Each loan's terms: the day it was paid out, its principal, everything it costs.
    terms = (
        session.connection()
        .execute(
            core_select(
                col(Loan.id),
                col(Loan.start_on),
                col(Loan.principal),
                func.sum(col(LoanInstallment.total)),
            )
            .join(LoanInstallment, col(LoanInstallment.loan_id) == col(Loan.id))
            .where(live)
            .group_by(col(Loan.id), col(Loan.start_on), col(Loan.principal))
        )
        .all()
    )
    if not terms:
        return tuple(LoansPoint(m, days[i], 0, 0, 0) for i, m in enumerate(period.months))
    # What fell due before each as-of day (bucket k: due before days[k], not before days[k-1]).
    due_bucket = _bucket(col(LoanInstallment.due_on), days, inclusive=False).label("bucket")
    due_rows = session.connection().execute(
        core_select(col(LoanInstallment.loan_id), due_bucket, func.sum(col(LoanInstallment.total)))
        .join(Loan, col(Loan.id) == col(LoanInstallment.loan_id))
        .where(live, col(LoanInstallment.due_on) < period.last_day)
        .group_by(col(LoanInstallment.loan_id), due_bucket)
    )
    # What was paid by each as-of day: the interest (bunga +) and the principal (pinjaman -).
    entry = LedgerEntry
    paid_bucket = _bucket(col(entry.occurred_on), days, inclusive=True).label("bucket")
    is_interest = col(entry.kind) == LedgerKind.BUNGA
    paid_rows = session.connection().execute(
        core_select(
            col(entry.loan_id),
            paid_bucket,
            func.sum(case((is_interest, col(entry.amount)), else_=0)),
            func.sum(case((is_interest, 0), else_=-col(entry.amount))),
        )
        .join(Loan, col(Loan.id) == col(entry.loan_id))
        .where(
            live,
            col(entry.community_id) == community_id,
            col(entry.action) == EntryAction.REPAYMENT,
            col(entry.kind).in_((LedgerKind.BUNGA, LedgerKind.PINJAMAN)),
            col(entry.occurred_on) <= period.last_day,
        )
        .group_by(col(entry.loan_id), paid_bucket)
    )
    fell_due: dict[int, dict[int, int]] = {}
    for loan_id, index, total in due_rows:
        if index is not None:
            fell_due.setdefault(int(loan_id), {})[int(index)] = int(total)
    paid_interest: dict[int, dict[int, int]] = {}
    paid_principal: dict[int, dict[int, int]] = {}
    for loan_id, index, interest, principal in paid_rows:
        if index is not None:
            paid_interest.setdefault(int(loan_id), {})[int(index)] = int(interest)
            paid_principal.setdefault(int(loan_id), {})[int(index)] = int(principal)
    outstanding, principal_left, overdue = [0] * count, [0] * count, [0] * count
    for loan_id, start_on, principal, cost in terms:
        key = _int(loan_id)
        due = _cumulate(fell_due.get(key, {}), count)
        interest_paid = _cumulate(paid_interest.get(key, {}), count)
        principal_paid = _cumulate(paid_principal.get(key, {}), count)
        for k in range(count):
            if start_on > days[k]:
                continue
            paid = interest_paid[k] + principal_paid[k]
            outstanding[k] += int(cost) - paid
            principal_left[k] += int(principal) - principal_paid[k]
            overdue[k] += max(0, due[k] - paid)
    return tuple(
        LoansPoint(m, days[i], outstanding[i], principal_left[i], overdue[i])
        for i, m in enumerate(period.months)
    )


# --- complaints ---


@dataclass(frozen=True, slots=True)
class ComplaintsMonth:
    """A month of complaints: the tickets in each open status at its end, and how many came
    in and were resolved within it."""

    month: Month
    as_of: date
    received: int
    verified: int
    forwarded: int
    in_progress: int
    opened: int
    resolved: int

    @property
    def open(self) -> int:
        return self.received + self.verified + self.forwarded + self.in_progress

    def count(self, status: str) -> int:
        """The tickets in an open status at the month's end."""
        return {
            Status.RECEIVED: self.received,
            Status.VERIFIED: self.verified,
            Status.FORWARDED: self.forwarded,
            Status.IN_PROGRESS: self.in_progress,
        }[status]


def complaints_by_status(
    session: Session, community_id: int, period: Period | None = None
) -> tuple[ComplaintsMonth, ...]:
    """One row per month of the period (see this module's docstring)."""
    period = period or default_period()
    ends = period.month_ends()
    count = len(ends)
    event = ComplaintEvent
    # Each status a ticket was in, from when until when (the next change; NULL: still is).
    spans = (
        core_select(
            col(event.complaint_id).label("complaint_id"),
            col(event.to_status).label("status"),
            col(event.created_at).label("since"),
            func.lead(col(event.created_at), type_=DateTime(timezone=True))
            .over(
                partition_by=col(event.complaint_id),
                order_by=(col(event.created_at), col(event.id)),
            )
            .label("until"),
        )
        .join(Complaint, col(Complaint.id) == col(event.complaint_id))
        .where(
            col(Complaint.community_id) == community_id,
            col(event.to_status).is_not(None),
            col(event.created_at) < period.ends_at,
        )
        .subquery()
    )
    since, until = spans.c.since, spans.c.until
    at_end = [
        func.sum(case((and_(since < end, or_(until.is_(None), until >= end)), 1), else_=0))
        for end in ends
    ]
    held: dict[str, list[int]] = {status: [0] * count for status in OPEN_STATUSES}
    rows = session.connection().execute(
        core_select(spans.c.status, *at_end)
        .where(
            spans.c.status.in_(OPEN_STATUSES),
            or_(until.is_(None), until >= ends[0]),
        )
        .group_by(spans.c.status)
    )
    for status, *numbers in rows:
        held[str(status)] = [int(n or 0) for n in numbers]
    # Within each month: tickets received, and tickets resolved (each ticket once a month).
    created = col(Complaint.created_at)
    opened_bucket = _bucket(created, period.month_stops(), inclusive=False).label("b")
    opened: dict[int, int] = {
        int(index): int(n)
        for index, n in session.connection().execute(
            core_select(opened_bucket, func.count())
            .where(
                col(Complaint.community_id) == community_id,
                created >= period.starts_at,
                created < period.ends_at,
            )
            .group_by(opened_bucket)
        )
        if index is not None
    }
    when = col(event.created_at)
    resolved_bucket = _bucket(when, period.month_stops(), inclusive=False).label("b")
    resolved: dict[int, int] = {
        int(index): int(n)
        for index, n in session.connection().execute(
            core_select(resolved_bucket, func.count(func.distinct(col(event.complaint_id))))
            .join(Complaint, col(Complaint.id) == col(event.complaint_id))
            .where(
                col(Complaint.community_id) == community_id,
                col(event.to_status) == Status.RESOLVED,
                when >= period.starts_at,
                when < period.ends_at,
            )
            .group_by(resolved_bucket)
        )
        if index is not None
    }
    days = period.as_of_days()
    return tuple(
        ComplaintsMonth(
            month=month,
            as_of=days[i],
            received=held[Status.RECEIVED][i],
            verified=held[Status.VERIFIED][i],
            forwarded=held[Status.FORWARDED][i],
            in_progress=held[Status.IN_PROGRESS][i],
            opened=opened.get(i, 0),
            resolved=resolved.get(i, 0),
        )
        for i, month in enumerate(period.months)
    )


@dataclass(frozen=True, slots=True)
class KelurahanComplaints:
    """The tickets of one kelurahan filed in the period, by what they are now."""

    kelurahan: str | None  # None: not known (a pin without an address)
    open: int
    resolved: int
    closed: int  # rejected or duplicate

    @property
    def total(self) -> int:
        return self.open + self.resolved + self.closed


def complaints_by_kelurahan(
    session: Session, community_id: int, period: Period | None = None
) -> tuple[KelurahanComplaints, ...]:
    """Most tickets first (then by name; the unknown kelurahan last)."""
    period = period or default_period()
    status = col(Complaint.status)

    def number(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    rows = session.connection().execute(
        core_select(
            col(Complaint.kelurahan),
            number(status.in_(OPEN_STATUSES)),
            number(status == Status.RESOLVED),
            number(status.in_(Status.FINAL)),
        )
        .where(
            col(Complaint.community_id) == community_id,
            col(Complaint.created_at) >= period.starts_at,
            col(Complaint.created_at) < period.ends_at,
        )
        .group_by(col(Complaint.kelurahan))
    )
    found = [
        KelurahanComplaints(kelurahan, int(o or 0), int(r or 0), int(c or 0))
        for kelurahan, o, r, c in rows
    ]
    found.sort(key=lambda k: (k.kelurahan is None, -k.total, k.kelurahan or ""))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class ComplaintLocation:
    """A ticket's pin, for the map."""

    code: str
    latitude: float
    longitude: float
    status: str
    category: str


def complaint_locations(
    session: Session, community_id: int, period: Period | None = None
) -> tuple[ComplaintLocation, ...]:
    """The tickets filed in the period that have a pin, oldest first."""
    period = period or default_period()
    rows = session.connection().execute(
        core_select(
            col(Complaint.code),
            col(Complaint.latitude),
            col(Complaint.longitude),
            col(Complaint.status),
            col(Complaint.category),
        )
        .where(
            col(Complaint.community_id) == community_id,
            col(Complaint.latitude).is_not(None),
            col(Complaint.longitude).is_not(None),
            col(Complaint.created_at) >= period.starts_at,
            col(Complaint.created_at) < period.ends_at,
        )
        .order_by(col(Complaint.created_at), col(Complaint.id))
    )
    return tuple(
        ComplaintLocation(str(code), _float(lat), _float(lon), str(status), str(category))
        for code, lat, lon, status, category in rows
    )


def _float(value: Any) -> float:
    return float(value)


def _int(value: Any) -> int:
    return int(value)
