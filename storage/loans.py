"""The credit union's loans (simpan pinjam): a loan, its schedule of installments, repayments,
and what a member's loans stand at (migration 0009). Money moves only through the ledger
(storage.ledger.append_entry); the tables here say what is owed when.

* ``loan``: one loan to one member: the principal (whole rupiah), the flat monthly interest
  rate in basis points (hundredths of a percent: 150 is 1.5 % a month; exact, never a float),
  the number of monthly installments, the start day (the day it was paid out), ``open`` until
  every installment is paid, then ``paid``. ``override`` keeps the treasurer's reason when she
  allowed the loan although the member had an overdue installment.
* ``loan_installment``: the schedule, fixed when the loan is opened: number, due day,
  principal, interest and total, and how much of its interest and principal is paid so far
  (``paid_at`` once all of it is).

**Schedule** (:func:`plan_schedule`). Flat interest: every month's interest is the principal
times the rate, rounded to whole rupiah half up (Rp12.345 x 1.5 % = Rp185,175 -> Rp185;
Rp1.000.100 x 1.25 % = Rp12.501,25 -> Rp12.501; a half rupiah goes up), the same for every
installment, so the total interest is exactly ``months`` times it. The principal is divided
into ``months`` equal whole-rupiah parts; the remainder of that division goes one rupiah each
to the first installments (Rp1.000.000 in 3: Rp333.334, Rp333.333, Rp333.333), so the
installments sum exactly to the principal and the last is never the larger. Installment ``k``
is due ``k`` months after the start, on the start's day of the month, or the month's last day
when it has no such day (a loan of 31 January is due 28 (29) February, 31 March, 30 April...).

**Repayment** (:func:`repay`). A payment goes to the oldest unpaid installment first (even one
not yet due: paying early pays the next installment), and within each installment to its
interest first, then its principal; what is left goes on to the next installment. Flat
interest is fixed per installment, so paying ahead pays that installment's interest too (an
early-settlement discount is the treasurer's decision, not built). The interest part is a
``bunga`` entry (+), the principal part a ``pinjaman`` entry (-), both with ``loan_id``.

**Overpayment is refused** (``overpaid``, with the amount still owed in ``details``): a
payment larger than everything still to pay on the loan (principal and scheduled interest)
writes nothing. A treasurer counting cash expects the book to hold exactly what she took for
the loan: keeping an excess as sukarela savings silently would decide for the member what her
money is for, and would let a typo (an extra zero) pass as a deposit. She records the amount
owed and, if the member wants, a separate sukarela deposit, which gets its own receipt.

**Overdue**: an installment not fully paid after its due day (on the due day it is due, not
late). A member with an overdue installment gets no new loan unless the treasurer gives a
reason (``override``), which is kept on the loan and audited.

Each loan and each repayment puts a receipt into the outbox (kind ``receipt``, in her
language; discreet, without amounts, on a shared phone or when she has a PIN) and an audit
row that says what was done and by whom, never an amount.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Column, Text, UniqueConstraint, func
from sqlmodel import Field, Session, SQLModel, col, select

from storage.audit import record_audit
from storage.ledger import (
    RECEIPT_KIND,
    EntryAction,
    LedgerChannel,
    LedgerEntry,
    LedgerKind,
    LedgerRefused,
    Refusal,
    append_entry,
    balances,
    discreet,
)
from storage.members import first_name_of, get_member
from storage.models import Member, MemberStatus
from storage.outbox import enqueue
from wlcc.formatting import format_date, format_datetime, format_money, to_local, utcnow
from wlcc.i18n import Translator
from wlcc.money import MAX_AMOUNT
from wlcc.settings import Settings, SettingsError, get_settings

MAX_MONTHS = 60
MAX_RATE_BP = 1000  # 10 % a month
BP_PER_PERCENT = 100


class LoanStatus:
    OPEN = "open"
    PAID = "paid"

    ALL = (OPEN, PAID)


class LoanRefusal:
    """Why a loan or a repayment was refused (``LoanRefused.reason``); the ledger's own
    refusals (storage.ledger.Refusal: duplicate, below_zero) come as :class:`LedgerRefused`."""

    UNKNOWN_MEMBER = "unknown_member"  # not an active member of this community
    BAD_PRINCIPAL = "bad_principal"  # not 1 rupiah per installment .. MAX_AMOUNT
    BAD_MONTHS = "bad_months"  # not 1..60
    BAD_RATE = "bad_rate"  # not 0..10 %, or finer than 0.01 %
    BAD_CHANNEL = "bad_channel"
    OVERDUE = "overdue"  # she has an overdue installment and no override was given
    NO_LOAN = "no_loan"  # no open loan (of hers, with that id)
    BAD_AMOUNT = "bad_amount"  # a repayment of zero or less
    OVERPAID = "overpaid"  # more than everything still owed on the loan


class LoanRefused(LedgerRefused):
    """A loan or repayment that may not be written; ``reason`` is a :class:`LoanRefusal` code
    and ``details`` what the words need (for ``overdue``: ``count``, ``amount``, ``since``;
    for ``overpaid``: ``owed``)."""


class Loan(SQLModel, table=True):
    """One loan to one member (its schedule: :class:`LoanInstallment`)."""

    __tablename__ = "loan"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    principal: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Flat interest per month in basis points of the principal (150 = 1.5 %).
    rate_bp: int
    months: int
    start_on: date
    status: str = Field(default=LoanStatus.OPEN, max_length=16, index=True)
    recorded_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    channel: str = Field(max_length=16)
    # Why the treasurer allowed it although the member had an overdue installment.
    override: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    paid_at: datetime | None = None


class LoanInstallment(SQLModel, table=True):
    """One month of a loan's schedule and how much of it is paid."""

    __tablename__ = "loan_installment"
    __table_args__ = (UniqueConstraint("loan_id", "number", name="uq_loan_installment_number"),)

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    number: int  # 1 .. loan.months, in the order of the due days
    due_on: date = Field(index=True)
    principal: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest: int = Field(sa_column=Column(BigInteger, nullable=False))
    total: int = Field(sa_column=Column(BigInteger, nullable=False))
    paid_principal: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    paid_interest: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    paid_at: datetime | None = None

    @property
    def owed(self) -> int:
        """What is still to pay on it."""
        return self.total - self.paid_principal - self.paid_interest

    @property
    def is_paid(self) -> bool:
        return self.owed == 0


# --- rates, dates and the schedule (pure) ---


def rate_basis_points(value: Decimal | str | int) -> int:
    """A monthly rate in percent (``Decimal("1.5")``, ``"1,5"``, ``"1.5%"``, ``2``) -> basis
    points (150); :class:`LoanRefused` ``bad_rate`` when it is not 0 to 10 % in steps of
    0.01 %. Floats are refused (TypeError): a rate is exact."""
    if isinstance(value, float | bool):
        raise TypeError("a rate is exact: pass a Decimal, a str or an int")
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip().replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise LoanRefused(LoanRefusal.BAD_RATE, rate=value) from None
    exact = Decimal(value) * BP_PER_PERCENT
    if not exact.is_finite() or exact != exact.to_integral_value():
        raise LoanRefused(LoanRefusal.BAD_RATE, rate=str(value))
    bp = int(exact)
    if not 0 <= bp <= MAX_RATE_BP:
        raise LoanRefused(LoanRefusal.BAD_RATE, rate=str(value))
    return bp


def format_rate(rate_bp: int, lang: str | None = "id") -> str:
    """150 -> ``1,5%`` (Indonesian) or ``1.5%`` (English)."""
    text = f"{Decimal(rate_bp) / BP_PER_PERCENT:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return (text.replace(".", ",") if Translator(lang).lang == "id" else text) + "%"


def monthly_interest(principal: int, rate_bp: int) -> int:
    """The flat interest of one month: principal x rate, to whole rupiah, half up."""
    exact = Decimal(principal) * Decimal(rate_bp) / Decimal(100 * BP_PER_PERCENT)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day when it has no such day."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Scheduled:
    """One installment as the schedule plans it."""

    number: int
    due_on: date
    principal: int
    interest: int

    @property
    def total(self) -> int:
        return self.principal + self.interest


def plan_schedule(principal: int, rate_bp: int, months: int, start: date) -> list[Scheduled]:
    """The installments of a loan (the rules are in this module's docstring)."""
    if months < 1:
        raise ValueError("a loan has at least one installment")
    base, extra = divmod(principal, months)
    interest = monthly_interest(principal, rate_bp)
    return [
        Scheduled(
            number=k,
            due_on=add_months(start, k),
            principal=base + (1 if k <= extra else 0),
            interest=interest,
        )
        for k in range(1, months + 1)
    ]


@dataclass(frozen=True, slots=True)
class Part:
    """What one payment gives one installment."""

    number: int
    interest: int
    principal: int
    settled: bool  # the installment is now fully paid


def allocate(owed: Sequence[tuple[int, int, int]], amount: int) -> tuple[list[Part], int]:
    """Share ``amount`` over the installments ``(number, interest owed, principal owed)``, in
    the given order (oldest first): each one's interest, then its principal. The parts, and
    what is left over (more than everything owed)."""
    parts: list[Part] = []
    left = amount
    for number, interest_owed, principal_owed in owed:
        if left == 0:
            break
        if interest_owed == 0 and principal_owed == 0:
            continue
        interest = min(left, interest_owed)
        left -= interest
        principal = min(left, principal_owed)
        left -= principal
        settled = interest == interest_owed and principal == principal_owed
        parts.append(Part(number, interest, principal, settled))
    return parts, left


# --- reading ---


def _zone(settings: Settings | None) -> ZoneInfo:
    return _settings(settings).timezone


def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    try:
        return get_settings()
    except SettingsError:  # pragma: no cover - the entry points check the settings first
        return Settings(_env_file=None)


def default_rate_bp(settings: Settings | None = None) -> int:
    """``WLCC_LOAN_RATE_PERCENT`` in basis points."""
    return rate_basis_points(_settings(settings).wlcc_loan_rate_percent)


def schedule(session: Session, loan_id: int) -> list[LoanInstallment]:
    """A loan's installments, in order."""
    return list(
        session.exec(
            select(LoanInstallment)
            .where(LoanInstallment.loan_id == loan_id)
            .order_by(col(LoanInstallment.number))
        )
    )


def loans_of(session: Session, member_id: int, *, open_only: bool = False) -> list[Loan]:
    """A member's loans, oldest first."""
    query = select(Loan).where(Loan.member_id == member_id)
    if open_only:
        query = query.where(Loan.status == LoanStatus.OPEN)
    return list(session.exec(query.order_by(col(Loan.id))))


def get_loan(session: Session, community_id: int, loan_id: int) -> Loan | None:
    loan = session.get(Loan, loan_id)
    if loan is None or loan.community_id != community_id:
        return None
    return loan


@dataclass(frozen=True, slots=True)
class Due:
    """An installment still (partly) to pay."""

    loan_id: int
    number: int
    months: int  # of the loan
    due_on: date
    owed: int


@dataclass(frozen=True, slots=True)
class MemberLoans:
    """What a member's open loans stand at on ``today``: what a PINJAMAN answer says."""

    today: date
    loans: tuple[int, ...]  # the open loans' ids
    principal_owed: int  # the pinjaman balance of her open loans
    interest_owed: int  # scheduled interest still to pay
    installments_left: int  # not fully paid
    next: Due | None  # the first unpaid installment due today or later
    overdue: tuple[Due, ...]  # not fully paid after their due day, oldest first

    @property
    def outstanding(self) -> int:
        """Everything still to pay: principal and scheduled interest."""
        return self.principal_owed + self.interest_owed

    @property
    def overdue_amount(self) -> int:
        return sum(d.owed for d in self.overdue)

    @property
    def has_loan(self) -> bool:
        return bool(self.loans)


def loan_status(session: Session, member_id: int, today: date) -> MemberLoans:
    """Outstanding, the next installment and the overdue ones of her open loans."""
    rows = session.exec(
        select(LoanInstallment, Loan.months)
        .join(Loan, col(Loan.id) == col(LoanInstallment.loan_id))
        .where(Loan.member_id == member_id, Loan.status == LoanStatus.OPEN)
        .order_by(col(LoanInstallment.due_on), col(LoanInstallment.loan_id))
    ).all()
    loans: list[int] = []
    principal = interest = left = 0
    upcoming: Due | None = None
    overdue: list[Due] = []
    for item, months in rows:
        if item.loan_id not in loans:
            loans.append(item.loan_id)
        principal += item.principal - item.paid_principal
        interest += item.interest - item.paid_interest
        if item.is_paid:
            continue
        left += 1
        due = Due(item.loan_id, item.number, months, item.due_on, item.owed)
        if item.due_on < today:
            overdue.append(due)
        elif upcoming is None:
            upcoming = due
    return MemberLoans(
        today=today,
        loans=tuple(sorted(loans)),
        principal_owed=principal,
        interest_owed=interest,
        installments_left=left,
        next=upcoming,
        overdue=tuple(overdue),
    )


def overdue_by_member(session: Session, community_id: int, today: date) -> dict[int, int]:
    """What each member with a late installment still owes on those installments on
    ``today`` (open loans; due before today, not fully paid): the report's overdue figures."""
    owed = (
        col(LoanInstallment.total)
        - col(LoanInstallment.paid_principal)
        - col(LoanInstallment.paid_interest)
    )
    rows = session.exec(
        select(Loan.member_id, func.sum(owed))
        .join(Loan, col(Loan.id) == col(LoanInstallment.loan_id))
        .where(
            Loan.community_id == community_id,
            Loan.status == LoanStatus.OPEN,
            col(LoanInstallment.due_on) < today,
            col(LoanInstallment.paid_at).is_(None),
        )
        .group_by(col(Loan.member_id))
    ).all()
    return {int(member): int(total) for member, total in rows if total}


def describe_status(t: Translator, status: MemberLoans) -> str:
    """The PINJAMAN answer in her language: what she owes, the next installment, the late
    ones."""
    if not status.has_loan:
        return t("loans.status.none")
    lines = [
        t("loans.status.owed", owed=format_money(status.principal_owed)),
        t(
            "loans.status.to_pay",
            amount=format_money(status.outstanding),
            count=status.installments_left,
        ),
    ]
    if status.next is not None:
        lines.append(
            t(
                "loans.status.next",
                amount=format_money(status.next.owed),
                day=format_date(status.next.due_on, t.lang),
                number=status.next.number,
                months=status.next.months,
            )
        )
    if status.overdue:
        lines.append(
            t(
                "loans.status.overdue",
                count=len(status.overdue),
                amount=format_money(status.overdue_amount),
                day=format_date(status.overdue[0].due_on, t.lang),
            )
        )
        lines.append(t("loans.status.overdue_end"))
    return "\n".join(lines)


# --- writing ---


def _refuse_bad_terms(principal: int, months: int, channel: str) -> None:
    if not isinstance(principal, int) or isinstance(principal, bool):
        raise TypeError("money is whole rupiah: pass an int")
    if not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise LoanRefused(LoanRefusal.BAD_MONTHS, months=months, most=MAX_MONTHS)
    if not months <= principal <= MAX_AMOUNT:
        raise LoanRefused(LoanRefusal.BAD_PRINCIPAL, least=months, most=MAX_AMOUNT)
    if channel not in LedgerChannel.ALL:
        raise LoanRefused(LoanRefusal.BAD_CHANNEL, channel=channel)


def _borrower(session: Session, community_id: int, member_id: int, *, lending: bool) -> Member:
    """The member of this community; to lend to, she must be active (one who left may still
    repay)."""
    member = get_member(session, member_id, community_id)
    if member is None or member.anonymised_at or (lending and member.status != MemberStatus.ACTIVE):
        raise LoanRefused(LoanRefusal.UNKNOWN_MEMBER, member_id=member_id)
    return member


def _audit(
    session: Session,
    action: str,
    loan: Loan,
    *,
    recorded_by_member_id: int | None,
    channel: str,
    entries: Sequence[LedgerEntry],
    now: datetime,
    **detail: object,
) -> None:
    """That an entry was made, on which loan, for whom and by whom: never an amount."""
    record_audit(
        session,
        action=action,
        allowed=True,
        community_id=loan.community_id,
        actor_member_id=recorded_by_member_id,
        actor_identity_id=None,
        channel=channel,
        target=f"loan:{loan.id}",
        detail={"member_id": loan.member_id, "entries": [e.id for e in entries], **detail},
        now=now,
    )


def _receipt(
    session: Session,
    *,
    member: Member,
    loan: Loan,
    entry: LedgerEntry,
    what: str,
    what_private: str,
    lines: Sequence[str],
    remaining: str,
    when: str,
) -> int | None:
    """One receipt into the outbox, at once (like the ledger's, it answers the treasurer's
    action: not held back by the quiet hours). Its WhatsApp template (kind ``receipt``) has the
    variables 1 what was recorded, 2 when, 3 what she owes after it. A discreet receipt
    (:func:`discreet`) names her instead of the amount and shows no figure."""
    t = Translator(member.language)
    if discreet(session, member):
        what, lines, remaining = what_private, [], t("loans.receipt.owed_private")
    text = "\n".join([t("loans.receipt.received", what=what, when=when), *lines, remaining])
    assert member.id is not None
    return enqueue(
        session,
        key=f"receipt:loan:{loan.id}:entry:{entry.id}",
        kind=RECEIPT_KIND,
        community_id=loan.community_id,
        member_id=member.id,
        text=text,
        template_vars={"1": what, "2": when, "3": remaining},
    )


def open_loan(
    session: Session,
    *,
    community_id: int,
    member_id: int,
    principal: int,
    rate: Decimal | str | int | None = None,
    months: int,
    start: date | None = None,
    channel: str,
    recorded_by_member_id: int | None = None,
    override: str | None = None,
    now: datetime | None = None,
    key: str | None = None,
    settings: Settings | None = None,
) -> Loan:
    """Open a loan: its schedule, the ``pinjaman`` +principal entry (action ``loan``), a
    receipt to her and an audit row; or :class:`LoanRefused` and nothing written.

    ``rate``: percent per month (default ``WLCC_LOAN_RATE_PERCENT``); ``start``: the day it is
    paid out (default today, local); ``override``: the treasurer's reason for lending to a
    member with an overdue installment (refused without it); ``key``: makes it idempotent (a
    replayed dialog turn gets ``duplicate``)."""
    conf = _settings(settings)
    now = now or utcnow()
    zone = _zone(conf)
    _refuse_bad_terms(principal, months, channel)
    rate_bp = default_rate_bp(conf) if rate is None else rate_basis_points(rate)
    reason = " ".join(override.split()) if override else None
    today = to_local(now, zone).date()
    start = start or today
    with session.begin_nested():
        member = _borrower(session, community_id, member_id, lending=True)
        late = loan_status(session, member_id, today).overdue
        if late and not reason:
            raise LoanRefused(
                LoanRefusal.OVERDUE,
                count=len(late),
                amount=sum(d.owed for d in late),
                since=late[0].due_on,
            )
        loan = Loan(
            community_id=community_id,
            member_id=member_id,
            principal=principal,
            rate_bp=rate_bp,
            months=months,
            start_on=start,
            recorded_by_member_id=recorded_by_member_id,
            channel=channel,
            override=reason if late else None,
            created_at=now,
        )
        session.add(loan)
        session.flush()
        assert loan.id is not None
        planned = plan_schedule(principal, rate_bp, months, start)
        session.add_all(
            LoanInstallment(
                loan_id=loan.id,
                number=item.number,
                due_on=item.due_on,
                principal=item.principal,
                interest=item.interest,
                total=item.total,
            )
            for item in planned
        )
        written = append_entry(
            session,
            community_id=community_id,
            member_id=member_id,
            kind=LedgerKind.PINJAMAN,
            action=EntryAction.LOAN,
            amount=principal,
            channel=channel,
            recorded_by_member_id=recorded_by_member_id,
            occurred_on=start,
            loan_id=loan.id,
            key=key,
            now=now,
        )
        t = Translator(member.language)
        first = planned[0]
        _receipt(
            session,
            member=member,
            loan=loan,
            entry=written.entry,
            what=t("loans.receipt.what_loan", principal=format_money(principal)),
            what_private=t("loans.receipt.what_loan_private", name=first_name_of(member.name)),
            lines=[
                t(
                    "loans.receipt.terms",
                    months=months,
                    rate=format_rate(rate_bp, t.lang),
                    interest=format_money(first.interest),
                ),
                t(
                    "loans.receipt.first",
                    amount=format_money(first.total),
                    day=format_date(first.due_on, t.lang),
                ),
            ],
            remaining=t("loans.receipt.owed", owed=format_money(written.balance)),  # all loans
            when=format_date(start, t.lang),
        )
        _audit(
            session,
            "loan.open",
            loan,
            recorded_by_member_id=recorded_by_member_id,
            channel=channel,
            entries=[written.entry],
            now=now,
            installments=months,
            override=bool(loan.override),
        )
    return loan


@dataclass(frozen=True, slots=True)
class Repayment:
    """A repayment as written: how it was shared, the entries, and the loan after it."""

    loan: Loan
    amount: int
    interest: int  # the bunga entry
    principal: int  # the pinjaman entry (as a positive amount)
    parts: tuple[Part, ...]  # per installment, oldest first
    entries: tuple[LedgerEntry, ...]
    principal_owed: int  # the loan's principal still owed after it
    paid_off: bool
    next: Due | None  # the loan's next unpaid installment
    receipt_id: int | None  # the outbox row (None: the key was there)


def _repayment_loan(
    session: Session, community_id: int, member_id: int, loan_id: int | None
) -> Loan:
    """The loan a repayment goes to, locked until the transaction ends (PostgreSQL; SQLite has
    one writer): the one named, else her open loan with the oldest unpaid installment."""
    if loan_id is None:
        oldest = session.exec(
            select(Loan.id)
            .join(LoanInstallment, col(LoanInstallment.loan_id) == col(Loan.id))
            .where(
                Loan.community_id == community_id,
                Loan.member_id == member_id,
                Loan.status == LoanStatus.OPEN,
                col(LoanInstallment.paid_at).is_(None),
            )
            .order_by(col(LoanInstallment.due_on), col(Loan.id))
            .limit(1)
        ).first()
        if oldest is None:
            raise LoanRefused(LoanRefusal.NO_LOAN, member_id=member_id)
        loan_id = oldest
    loan = session.exec(
        select(Loan)
        .where(Loan.id == loan_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if (
        loan is None
        or loan.community_id != community_id
        or loan.member_id != member_id
        or loan.status != LoanStatus.OPEN
    ):
        raise LoanRefused(LoanRefusal.NO_LOAN, member_id=member_id, loan_id=loan_id)
    return loan


def repay(
    session: Session,
    *,
    community_id: int,
    member_id: int,
    amount: int,
    channel: str,
    recorded_by_member_id: int | None = None,
    loan_id: int | None = None,
    key: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Repayment:
    """Record a repayment (the order and the overpayment rule are in this module's
    docstring): a ``bunga`` entry for the interest part, a ``pinjaman`` entry for the
    principal part, the installments' paid amounts, a receipt and an audit row; or
    :class:`LoanRefused` (``no_loan``, ``bad_amount``, ``overpaid``) or :class:`LedgerRefused`
    (``duplicate``: ``key`` was used) and nothing written. Without ``loan_id`` it goes to her
    open loan with the oldest unpaid installment."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("money is whole rupiah: pass an int")
    if amount <= 0:
        raise LoanRefused(LoanRefusal.BAD_AMOUNT)
    if channel not in LedgerChannel.ALL:
        raise LoanRefused(LoanRefusal.BAD_CHANNEL, channel=channel)
    conf = _settings(settings)
    now = now or utcnow()
    zone = _zone(conf)
    keys = {kind: f"{key}:{kind}" for kind in (LedgerKind.BUNGA, LedgerKind.PINJAMAN)}
    with session.begin_nested():
        member = _borrower(session, community_id, member_id, lending=False)
        loan = _repayment_loan(session, community_id, member_id, loan_id)
        assert loan.id is not None
        if (
            key is not None
            and session.exec(
                select(LedgerEntry.id).where(col(LedgerEntry.key).in_(list(keys.values())))
            ).first()
        ):
            raise LedgerRefused(Refusal.DUPLICATE, key=key)
        items = list(
            session.exec(
                select(LoanInstallment)
                .where(LoanInstallment.loan_id == loan.id)
                .order_by(col(LoanInstallment.number))
                .execution_options(populate_existing=True)
            )
        )
        parts, left = allocate(
            [
                (i.number, i.interest - i.paid_interest, i.principal - i.paid_principal)
                for i in items
            ],
            amount,
        )
        if left:
            raise LoanRefused(LoanRefusal.OVERPAID, owed=amount - left)
        by_number = {i.number: i for i in items}
        for part in parts:
            item = by_number[part.number]
            item.paid_interest += part.interest
            item.paid_principal += part.principal
            if item.is_paid:
                item.paid_at = now
            session.add(item)
        interest = sum(p.interest for p in parts)
        principal = sum(p.principal for p in parts)
        today = to_local(now, zone).date()
        entries: list[LedgerEntry] = []
        owed = sum(i.principal - i.paid_principal for i in items)
        for kind, moved in ((LedgerKind.BUNGA, interest), (LedgerKind.PINJAMAN, -principal)):
            if moved == 0:
                continue
            written = append_entry(
                session,
                community_id=community_id,
                member_id=member_id,
                kind=kind,
                action=EntryAction.REPAYMENT,
                amount=moved,
                channel=channel,
                recorded_by_member_id=recorded_by_member_id,
                occurred_on=today,
                loan_id=loan.id,
                key=None if key is None else keys[kind],
                now=now,
            )
            entries.append(written.entry)
        paid_off = all(i.is_paid for i in items)
        if paid_off:
            loan.status = LoanStatus.PAID
            loan.paid_at = now
            session.add(loan)
        upcoming = next((i for i in items if not i.is_paid), None)
        following = (
            None
            if upcoming is None
            else Due(loan.id, upcoming.number, loan.months, upcoming.due_on, upcoming.owed)
        )
        t = Translator(member.language)
        lines = [
            t(
                "loans.receipt.shared",
                interest=format_money(interest),
                principal=format_money(principal),
            )
        ]
        if following is not None:
            lines.append(
                t(
                    "loans.receipt.next",
                    amount=format_money(following.owed),
                    day=format_date(following.due_on, t.lang),
                )
            )
        else:
            lines.append(t("loans.receipt.paid_off"))
        receipt = _receipt(
            session,
            member=member,
            loan=loan,
            entry=entries[0],
            what=t("loans.receipt.what_repayment", amount=format_money(amount)),
            what_private=t("loans.receipt.what_repayment_private", name=first_name_of(member.name)),
            lines=lines,
            # What she owes on all her loans, as SALDO shows it.
            remaining=t(
                "loans.receipt.owed",
                owed=format_money(balances(session, member_id)[LedgerKind.PINJAMAN]),
            ),
            when=format_datetime(now, t.lang, zone),
        )
        _audit(
            session,
            "loan.repay",
            loan,
            recorded_by_member_id=recorded_by_member_id,
            channel=channel,
            entries=entries,
            now=now,
            installments=[p.number for p in parts],
            paid_off=paid_off,
        )
    return Repayment(
        loan=loan,
        amount=amount,
        interest=interest,
        principal=principal,
        parts=tuple(parts),
        entries=tuple(entries),
        principal_owed=owed,
        paid_off=paid_off,
        next=following,
        receipt_id=receipt,
    )


# --- checking ---


@dataclass(frozen=True, slots=True)
class LoanMismatch:
    """A loan whose schedule and ledger entries disagree (``wlcc ledger check`` may list it)."""

    loan_id: int
    principal_paid_by_schedule: int
    principal_paid_by_ledger: int
    interest_paid_by_schedule: int
    interest_paid_by_ledger: int


def check_loans(session: Session) -> list[LoanMismatch]:
    """Every loan whose installments' paid amounts differ from its ledger entries: the
    principal repaid (the loan's +principal less its ``pinjaman`` balance) and the interest
    paid (its ``bunga`` entries)."""
    ledger: dict[tuple[int, str], int] = {}
    for loan_id, kind, total in session.exec(
        select(LedgerEntry.loan_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(col(LedgerEntry.loan_id).is_not(None))
        .group_by(col(LedgerEntry.loan_id), col(LedgerEntry.kind))
    ).all():
        if loan_id is not None:
            ledger[(loan_id, kind)] = int(total)
    found: list[LoanMismatch] = []
    for loan_id, principal, paid_principal, paid_interest in session.exec(
        select(
            Loan.id,
            Loan.principal,
            func.sum(LoanInstallment.paid_principal),
            func.sum(LoanInstallment.paid_interest),
        )
        .join(LoanInstallment, col(LoanInstallment.loan_id) == col(Loan.id))
        .group_by(col(Loan.id), col(Loan.principal))
        .order_by(col(Loan.id))
    ).all():
        assert loan_id is not None
        by_ledger = int(principal) - ledger.get((loan_id, LedgerKind.PINJAMAN), 0)
        interest = ledger.get((loan_id, LedgerKind.BUNGA), 0)
        if (int(paid_principal), int(paid_interest)) != (by_ledger, interest):
            found.append(
                LoanMismatch(loan_id, int(paid_principal), by_ledger, int(paid_interest), interest)
            )
    return found
