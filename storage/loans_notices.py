"""The notices about loan installments, planned into the outbox by the scheduler's notice job
(storage.meetings_notices.plan_all calls :func:`plan_loan_notices`) and ``wlcc notices plan``.

Two notices, of outbox kind ``installment`` (also its WhatsApp template key outside the
24-hour window; variables: 1 the amount still to pay, 2 the due day, 3 which installment,
"2/10"):

* the **reminder**, ``WLCC_INSTALLMENT_REMINDER_DAYS`` (3) days before an installment's due
  day (from local midnight of that day), while it is not fully paid and it would still arrive
  by the due day; it says what is still to pay on it, and what is late if anything is;
* the **missed notice**, from the day after the due day, once, when it is still not fully paid;
  it says the total late. When several installments of one loan are late and not yet told
  (a scheduler that was down), only the latest is told, with the total: one message, not one
  per month.

Keys are ``loan:<loan>:installment:<number>:<stage>``, written with ``ON CONFLICT DO
NOTHING``: a restart, a second scheduler or a re-run never plans one twice. What falls due in
the quiet hours (``WLCC_QUIET_HOURS``) is planned when they end (so a payment made before then
stops it); a notice planned late waits for the end of quiet hours too (``not_before``).
Opted-out and anonymised members get none; the loan must be open. On a shared phone or for a
member with a PIN the notice is discreet: it names her and the day, never an amount (template
variable 1 is then her name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from storage.ledger import discreet
from storage.loans import Loan, LoanInstallment, LoanStatus
from storage.members import first_name_of
from storage.models import Member
from storage.outbox import enqueue
from wlcc.dates import outside_quiet_hours, parse_quiet_hours
from wlcc.formatting import format_date, format_money
from wlcc.i18n import Translator
from wlcc.settings import Settings

NOTICE_KIND = "installment"
REMINDER = "reminder"
MISSED = "missed"
# plan_all reports the counts under these names.
REMINDER_COUNT = "installment_reminder"
MISSED_COUNT = "installment_missed"


def notice_key(loan_id: int, number: int, stage: str) -> str:
    return f"loan:{loan_id}:installment:{number}:{stage}"


@dataclass(frozen=True, slots=True)
class _Row:
    loan_id: int
    community_id: int
    member_id: int
    name: str
    language: str | None
    months: int
    number: int
    due_on: date
    owed: int


def _unpaid(session: Session, *, until: date) -> list[_Row]:
    """Unpaid installments due on or before ``until`` of open loans of members who may be
    told, by loan and number."""
    query = (
        select(
            col(Loan.id),
            col(Loan.community_id),
            col(Loan.member_id),
            col(Member.name),
            col(Member.language),
            col(Loan.months),
            col(LoanInstallment.number),
            col(LoanInstallment.due_on),
            col(LoanInstallment.total)
            - col(LoanInstallment.paid_principal)
            - col(LoanInstallment.paid_interest),
        )
        .select_from(LoanInstallment)
        .join(Loan, col(Loan.id) == col(LoanInstallment.loan_id))
        .join(Member, col(Member.id) == col(Loan.member_id))
        .where(
            col(Loan.status) == LoanStatus.OPEN,
            col(LoanInstallment.paid_at).is_(None),
            col(LoanInstallment.due_on) <= until,
            col(Member.opted_out).is_(False),
            col(Member.anonymised_at).is_(None),
        )
        .order_by(col(Loan.id), col(LoanInstallment.number))
    )
    return [_Row(*row) for row in session.execute(query)]


def plan_loan_notices(session: Session, *, now: datetime, settings: Settings) -> dict[str, int]:
    """Plan the installment reminders and missed notices due at ``now``, each once; how many
    of each (``installment_reminder``, ``installment_missed``)."""
    zone = settings.timezone
    quiet = parse_quiet_hours(settings.wlcc_quiet_hours)

    def send_at(moment: datetime) -> datetime:
        return outside_quiet_hours(moment, quiet, zone)

    def due_at(day: date) -> datetime:
        """When a notice of ``day`` may be planned: its local midnight, after quiet hours."""
        return send_at(datetime.combine(day, time(0), zone).astimezone(UTC))

    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    today = now.astimezone(zone).date()
    days = timedelta(days=settings.wlcc_installment_reminder_days)
    not_before = send_at(now)
    sends_on = not_before.astimezone(zone).date()
    counts = {REMINDER_COUNT: 0, MISSED_COUNT: 0}
    rows = _unpaid(session, until=today + days)
    late: dict[int, list[_Row]] = {}
    for row in rows:
        if row.due_on < today:
            late.setdefault(row.loan_id, []).append(row)
    plan = _Notice(session, not_before)
    for row in rows:
        # Not when it would only go out after the due day (a late run in the quiet hours).
        if sends_on <= row.due_on and now >= due_at(row.due_on - days):
            counts[REMINDER_COUNT] += plan.reminder(row, late.get(row.loan_id, []))
    for overdue in late.values():
        last = overdue[-1]
        if now >= due_at(last.due_on + timedelta(days=1)):
            counts[MISSED_COUNT] += plan.missed(last, overdue)
    return counts


class _Notice:
    def __init__(self, session: Session, not_before: datetime) -> None:
        self.session = session
        self.not_before = not_before
        self._discreet: dict[int, bool] = {}

    def _put(self, row: _Row, stage: str, lines: list[str], t: Translator, private: bool) -> int:
        made = enqueue(
            self.session,
            key=notice_key(row.loan_id, row.number, stage),
            kind=NOTICE_KIND,
            community_id=row.community_id,
            member_id=row.member_id,
            text="\n".join(lines),
            template_vars={
                "1": first_name_of(row.name) if private else format_money(row.owed),
                "2": format_date(row.due_on, t.lang),
                "3": f"{row.number}/{row.months}",
            },
            not_before=self.not_before,
        )
        return 0 if made is None else 1

    def _private(self, row: _Row) -> bool:
        """No amount where someone else may read it (a shared phone, or her PIN)."""
        if row.member_id not in self._discreet:
            member = self.session.get(Member, row.member_id)
            self._discreet[row.member_id] = member is not None and discreet(self.session, member)
        return self._discreet[row.member_id]

    def _late_line(self, t: Translator, overdue: list[_Row]) -> str:
        return t(
            "loans.overdue_total",
            count=len(overdue),
            amount=format_money(sum(r.owed for r in overdue)),
        )

    def reminder(self, row: _Row, overdue: list[_Row]) -> int:
        t = Translator(row.language)
        day = format_date(row.due_on, t.lang)
        if self._private(row):
            lines = [
                t(
                    "loans.reminder_private",
                    name=first_name_of(row.name),
                    number=row.number,
                    months=row.months,
                    day=day,
                ),
                t("loans.amount_private"),
            ]
            return self._put(row, REMINDER, lines, t, True)
        lines = [
            t(
                "loans.reminder",
                number=row.number,
                months=row.months,
                amount=format_money(row.owed),
                day=day,
            )
        ]
        if overdue:
            lines.append(self._late_line(t, overdue))
        lines.append(t("loans.reminder_end"))
        return self._put(row, REMINDER, lines, t, False)

    def missed(self, row: _Row, overdue: list[_Row]) -> int:
        t = Translator(row.language)
        day = format_date(row.due_on, t.lang)
        if self._private(row):
            lines = [
                t(
                    "loans.missed_private",
                    name=first_name_of(row.name),
                    number=row.number,
                    months=row.months,
                    day=day,
                ),
                t("loans.amount_private"),
                t("loans.missed_end"),
            ]
            return self._put(row, MISSED, lines, t, True)
        lines = [
            t(
                "loans.missed",
                number=row.number,
                months=row.months,
                amount=format_money(row.owed),
                day=day,
            )
        ]
        if len(overdue) > 1:
            lines.append(self._late_line(t, overdue))
        lines.append(t("loans.missed_end"))
        return self._put(row, MISSED, lines, t, False)
