"""Loans (storage/loans.py): the schedule's rounding (properties with hypothesis), where a
repayment goes (early, partial, late, several installments, overpayment refused), overdue and
the refusal of a second loan without the treasurer's override, receipts in both languages,
audit rows without amounts, two repayments at once (PostgreSQL), and the PINJAMAN answer."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import col, select

from storage.db import Database
from storage.ledger import RECEIPT_KIND, LedgerEntry, LedgerKind, LedgerRefused, balances
from storage.loans import (
    Loan,
    LoanRefusal,
    LoanRefused,
    LoanStatus,
    add_months,
    allocate,
    check_loans,
    describe_status,
    format_rate,
    loan_status,
    monthly_interest,
    open_loan,
    plan_schedule,
    rate_basis_points,
    repay,
    schedule,
)
from storage.models import AuditLog, OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.i18n import Translator
from wlcc.settings import Settings, load_settings

WIB = ZoneInfo("Asia/Jakarta")
OPENED = datetime(2026, 12, 3, 10, 0, tzinfo=WIB)  # a Thursday, outside the quiet hours
START = date(2026, 12, 3)


@pytest.fixture
def settings(clean_env: None) -> Settings:
    return load_settings(_env_file=None)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=WIB)


# --- the schedule (pure) ---


def test_a_round_loan_in_ten_months() -> None:
    items = plan_schedule(1_000_000, 150, 10, START)
    assert [(i.number, i.principal, i.interest, i.total) for i in items[:2]] == [
        (1, 100_000, 15_000, 115_000),
        (2, 100_000, 15_000, 115_000),
    ]
    assert [i.due_on for i in items[:3]] == [date(2027, 1, 3), date(2027, 2, 3), date(2027, 3, 3)]


def test_the_first_installments_carry_the_extra_rupiah() -> None:
    items = plan_schedule(1_000_000, 0, 3, START)
    assert [i.principal for i in items] == [333_334, 333_333, 333_333]
    items = plan_schedule(1_000_002, 0, 4, START)
    assert [i.principal for i in items] == [250_001, 250_001, 250_000, 250_000]


def test_interest_is_rounded_half_up_to_whole_rupiah() -> None:
    assert monthly_interest(12_345, 150) == 185  # 185.175
    assert monthly_interest(1_000_100, 125) == 12_501  # 12,501.25
    assert monthly_interest(100, 150) == 2  # 1.5: a half goes up
    assert monthly_interest(1_000, 5) == 1  # 0.5: a half goes up
    assert monthly_interest(999, 5) == 0  # 0.4995
    assert monthly_interest(3_000, 5) == 2  # 1.5 -> 2


def test_due_days_keep_the_day_or_take_the_months_last() -> None:
    assert [add_months(date(2027, 1, 31), k) for k in (1, 2, 3, 13)] == [
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2028, 2, 29),
    ]
    assert add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)


@given(
    principal=st.integers(min_value=60, max_value=1_000_000_000),
    rate_bp=st.integers(min_value=0, max_value=1000),
    months=st.integers(min_value=1, max_value=60),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)),
)
def test_any_schedule_sums_exactly(principal: int, rate_bp: int, months: int, start: date) -> None:
    items = plan_schedule(principal, rate_bp, months, start)
    assert len(items) == months
    assert sum(i.principal for i in items) == principal
    interest = monthly_interest(principal, rate_bp)
    assert sum(i.interest for i in items) == months * interest
    # The documented rounding: the exact interest, half up.
    exact = Decimal(principal) * rate_bp / 10_000
    assert abs(Decimal(interest) - exact) <= Decimal("0.5")
    assert all(i.principal >= 1 and i.interest >= 0 and i.total > 0 for i in items)
    principals = [i.principal for i in items]
    assert principals == sorted(principals, reverse=True)
    assert max(principals) - min(principals) <= 1
    days = [i.due_on for i in items]
    assert days == sorted(days) and len(set(days)) == months and days[0] > start


@given(
    owed=st.lists(
        st.tuples(st.integers(0, 50_000), st.integers(0, 500_000)), min_size=1, max_size=12
    ),
    amount=st.integers(1, 7_000_000),
)
def test_any_allocation_pays_in_order_and_never_more_than_owed(
    owed: list[tuple[int, int]], amount: int
) -> None:
    rows = [(n, i, p) for n, (i, p) in enumerate(owed, start=1)]
    parts, left = allocate(rows, amount)
    total = sum(i + p for i, p in owed)
    assert left == max(0, amount - total)
    assert sum(p.interest + p.principal for p in parts) == amount - left
    by_number = {n: (i, p) for n, i, p in rows}
    for index, part in enumerate(parts):
        interest, principal = by_number[part.number]
        assert 0 <= part.interest <= interest and 0 <= part.principal <= principal
        if part.principal:  # its interest first
            assert part.interest == interest
        if index < len(parts) - 1:  # every part but the last settles its installment
            assert part.settled
    numbers = [p.number for p in parts]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize(
    "value, bp",
    [("1.5", 150), ("1,5", 150), ("1.5%", 150), (Decimal("1.25"), 125), (2, 200), ("0", 0)],
)
def test_rates_are_read_exactly(value: object, bp: int) -> None:
    assert rate_basis_points(value) == bp  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["10.01", "-1", "1.255", "abc", "", Decimal("NaN")])
def test_absurd_rates_are_refused(value: object) -> None:
    with pytest.raises(LoanRefused) as refused:
        rate_basis_points(value)  # type: ignore[arg-type]
    assert refused.value.reason == LoanRefusal.BAD_RATE


def test_a_float_rate_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        rate_basis_points(1.5)  # type: ignore[arg-type]


def test_rates_read_in_each_language() -> None:
    assert format_rate(150, "id") == "1,5%"
    assert format_rate(150, "en") == "1.5%"
    assert format_rate(200, "id") == "2%"
    assert format_rate(125, "en") == "1.25%"


# --- opening and repaying, on the database ---


def _members(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        people = {
            "Siti": add_member(session, "Siti Aminah", phone(1)),
            "Ani": add_member(session, "Ani", phone(2), language="en"),
            "Rina": add_member(session, "Rina", phone(3), role="treasurer"),
        }
        session.flush()
        return {name: m.id for name, m in people.items() if m.id is not None}


def _open(db: Database, member: int, settings: Settings, **extra: object) -> int:
    values: dict[str, object] = {
        "community_id": COMMUNITY,
        "member_id": member,
        "principal": 1_000_000,
        "rate": "1.5",
        "months": 10,
        "start": START,
        "channel": "cli",
        "now": OPENED,
        "settings": settings,
    }
    values.update(extra)
    with db.transaction() as session:
        loan = open_loan(session, **values)  # type: ignore[arg-type]
        assert loan.id is not None
        return loan.id


def _repay(db: Database, member: int, amount: int, when: datetime, settings: Settings, **extra):
    with db.transaction() as session:
        return repay(
            session,
            community_id=COMMUNITY,
            member_id=member,
            amount=amount,
            channel="cli",
            now=when,
            settings=settings,
            **extra,
        )


def _paid(db: Database, loan_id: int) -> list[tuple[int, int]]:
    with db.transaction() as session:
        return [(i.paid_interest, i.paid_principal) for i in schedule(session, loan_id)]


def _balances(db: Database, member: int) -> dict[str, int]:
    with db.transaction() as session:
        return balances(session, member)


def _consistent(db: Database) -> None:
    with db.transaction() as session:
        assert check_loans(session) == []


def test_opening_a_loan_writes_the_schedule_the_entry_a_receipt_and_an_audit_row(
    db: Database, settings: Settings
) -> None:
    people = _members(db)
    loan_id = _open(db, people["Siti"], settings, recorded_by_member_id=people["Rina"])
    with db.transaction() as session:
        loan = session.get(Loan, loan_id)
        assert loan is not None
        assert (loan.principal, loan.rate_bp, loan.months, loan.status) == (
            1_000_000,
            150,
            10,
            LoanStatus.OPEN,
        )
        assert loan.override is None
        items = schedule(session, loan_id)
        assert len(items) == 10 and sum(i.principal for i in items) == 1_000_000
        [entry] = session.exec(select(LedgerEntry)).all()
        assert (entry.kind, entry.action, entry.amount, entry.loan_id) == (
            LedgerKind.PINJAMAN,
            "loan",
            1_000_000,
            loan_id,
        )
        assert entry.occurred_on == START and entry.recorded_by_member_id == people["Rina"]
        [receipt] = session.exec(select(OutboxMessage)).all()
        assert receipt.kind == RECEIPT_KIND and receipt.member_id == people["Siti"]
        assert receipt.text == (
            "Pinjaman Rp1.000.000 diterima pada Kamis, 3 Desember 2026.\n"
            "Diangsur 10 kali, bunga 1,5% per bulan (Rp15.000 per bulan).\n"
            "Angsuran pertama: Rp115.000, jatuh tempo Minggu, 3 Januari 2027.\n"
            "Sisa pinjaman: Rp1.000.000"
        )
        [audit] = session.exec(select(AuditLog)).all()
        assert audit.action == "loan.open" and audit.actor_member_id == people["Rina"]
        assert audit.target == f"loan:{loan_id}" and audit.channel == "cli"
    assert _balances(db, people["Siti"])[LedgerKind.PINJAMAN] == 1_000_000


def test_the_default_rate_is_the_setting(db: Database, make_settings_local) -> None:
    people = _members(db)
    loan_id = _open(db, people["Siti"], make_settings_local(wlcc_loan_rate_percent="2"), rate=None)
    with db.transaction() as session:
        loan = session.get(Loan, loan_id)
        assert loan is not None and loan.rate_bp == 200
        assert schedule(session, loan_id)[0].interest == 20_000


@pytest.fixture
def make_settings_local(clean_env: None):
    def make(**overrides: object) -> Settings:
        return load_settings(_env_file=None, **overrides)

    return make


@pytest.mark.parametrize(
    "extra, reason",
    [
        ({"months": 0}, LoanRefusal.BAD_MONTHS),
        ({"months": 61}, LoanRefusal.BAD_MONTHS),
        ({"principal": 0}, LoanRefusal.BAD_PRINCIPAL),
        ({"principal": -5}, LoanRefusal.BAD_PRINCIPAL),
        ({"principal": 9, "months": 10}, LoanRefusal.BAD_PRINCIPAL),
        ({"principal": 1_000_000_001}, LoanRefusal.BAD_PRINCIPAL),
        ({"rate": "10.5"}, LoanRefusal.BAD_RATE),
        ({"rate": "-1"}, LoanRefusal.BAD_RATE),
        ({"channel": "sms"}, LoanRefusal.BAD_CHANNEL),
        ({"member_id": 999}, LoanRefusal.UNKNOWN_MEMBER),
    ],
)
def test_absurd_loans_are_refused_and_write_nothing(
    db: Database, settings: Settings, extra: dict[str, object], reason: str
) -> None:
    people = _members(db)
    with pytest.raises(LoanRefused) as refused:
        _open(db, people["Siti"], settings, **extra)
    assert refused.value.reason == reason
    with db.transaction() as session:
        assert session.exec(select(Loan)).all() == []
        assert session.exec(select(LedgerEntry)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []


def test_a_payment_of_one_installment_pays_its_interest_then_its_principal(
    db: Database, settings: Settings
) -> None:
    people = _members(db)
    loan_id = _open(db, people["Siti"], settings)
    done = _repay(db, people["Siti"], 115_000, at(date(2027, 1, 2)), settings)
    assert (done.interest, done.principal, done.principal_owed, done.paid_off) == (
        15_000,
        100_000,
        900_000,
        False,
    )
    assert [(p.number, p.settled) for p in done.parts] == [(1, True)]
    assert done.next is not None and (done.next.number, done.next.owed) == (2, 115_000)
    assert _paid(db, loan_id)[:2] == [(15_000, 100_000), (0, 0)]
    found = _balances(db, people["Siti"])
    assert found[LedgerKind.PINJAMAN] == 900_000 and found[LedgerKind.BUNGA] == 15_000
    with db.transaction() as session:
        entries = session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.action == "repayment")
            .order_by(col(LedgerEntry.id))
        ).all()
        assert [(e.kind, e.amount, e.loan_id) for e in entries] == [
            (LedgerKind.BUNGA, 15_000, loan_id),
            (LedgerKind.PINJAMAN, -100_000, loan_id),
        ]
    _consistent(db)


def test_a_partial_payment_goes_to_interest_first(db: Database, settings: Settings) -> None:
    people = _members(db)
    loan_id = _open(db, people["Siti"], settings)
    first = _repay(db, people["Siti"], 10_000, at(date(2027, 1, 2)), settings)
    assert (first.interest, first.principal) == (10_000, 0)
    assert len(first.entries) == 1  # bunga only: no pinjaman entry of zero
    second = _repay(db, people["Siti"], 50_000, at(date(2027, 1, 3)), settings)
    assert (second.interest, second.principal) == (5_000, 45_000)
    assert _paid(db, loan_id)[0] == (15_000, 45_000)
    with db.transaction() as session:
        status = loan_status(session, people["Siti"], date(2027, 1, 4))
    # Installment 1 is late by the rest of its principal.
    assert [(d.number, d.owed) for d in status.overdue] == [(1, 55_000)]
    _consistent(db)


def test_an_early_large_payment_covers_several_installments_in_order(
    db: Database, settings: Settings
) -> None:
    people = _members(db)
    _open(db, people["Siti"], settings)
    done = _repay(db, people["Siti"], 300_000, at(date(2026, 12, 10)), settings)
    # Two whole installments (230,000), then the third's interest (15,000) and 55,000 of it.
    assert [(p.number, p.interest, p.principal, p.settled) for p in done.parts] == [
        (1, 15_000, 100_000, True),
        (2, 15_000, 100_000, True),
        (3, 15_000, 55_000, False),
    ]
    assert (done.interest, done.principal, done.principal_owed) == (45_000, 255_000, 745_000)
    assert done.next is not None and (done.next.number, done.next.owed) == (3, 45_000)
    _consistent(db)


def test_a_late_payment_goes_to_the_oldest_installment(db: Database, settings: Settings) -> None:
    people = _members(db)
    loan_id = _open(db, people["Siti"], settings)
    february = date(2027, 2, 20)  # installments 1 (3 Jan) and 2 (3 Feb) are late, 3 is next
    with db.transaction() as session:
        status = loan_status(session, people["Siti"], february)
        assert [d.number for d in status.overdue] == [1, 2]
        assert status.overdue_amount == 230_000
        assert status.next is not None and status.next.number == 3
    done = _repay(db, people["Siti"], 115_000, at(february), settings)
    assert [p.number for p in done.parts] == [1]
    with db.transaction() as session:
        assert [d.number for d in loan_status(session, people["Siti"], february).overdue] == [2]
    assert _paid(db, loan_id)[:2] == [(15_000, 100_000), (0, 0)]


def test_paying_everything_closes_the_loan_and_more_is_refused(
    db: Database, settings: Settings
) -> None:
    people = _members(db)
    loan_id = _open(db, people["Siti"], settings, principal=300_000, months=3)
    # 3 x (100,000 + 4,500) = 313,500 in all.
    with pytest.raises(LoanRefused) as refused:
        _repay(db, people["Siti"], 313_501, at(date(2027, 1, 2)), settings)
    assert refused.value.reason == LoanRefusal.OVERPAID
    assert refused.value.details["owed"] == 313_500
    assert _paid(db, loan_id) == [(0, 0)] * 3  # nothing written
    with db.transaction() as session:
        assert (
            session.exec(select(LedgerEntry).where(LedgerEntry.action == "repayment")).all() == []
        )
    done = _repay(db, people["Siti"], 313_500, at(date(2027, 1, 2)), settings)
    assert done.paid_off and done.principal_owed == 0 and done.next is None
    with db.transaction() as session:
        loan = session.get(Loan, loan_id)
        assert loan is not None and loan.status == LoanStatus.PAID and loan.paid_at is not None
        assert not loan_status(session, people["Siti"], date(2027, 1, 2)).has_loan
    found = _balances(db, people["Siti"])
    assert found[LedgerKind.PINJAMAN] == 0 and found[LedgerKind.BUNGA] == 13_500
    assert found[LedgerKind.SUKARELA] == 0  # nothing held as savings
    with pytest.raises(LoanRefused) as after:
        _repay(db, people["Siti"], 1_000, at(date(2027, 1, 3)), settings)
    assert after.value.reason == LoanRefusal.NO_LOAN
    _consistent(db)


def test_a_repayment_without_a_loan_or_of_nothing_is_refused(
    db: Database, settings: Settings
) -> None:
    people = _members(db)
    with pytest.raises(LoanRefused) as none:
        _repay(db, people["Siti"], 10_000, OPENED, settings)
    assert none.value.reason == LoanRefusal.NO_LOAN
    loan_id = _open(db, people["Siti"], settings)
    for amount in (0, -5):
        with pytest.raises(LoanRefused) as zero:
            _repay(db, people["Siti"], amount, OPENED, settings)
        assert zero.value.reason == LoanRefusal.BAD_AMOUNT
    with pytest.raises(LoanRefused) as other:  # Ani's repayment on Siti's loan
        _repay(db, people["Ani"], 10_000, OPENED, settings, loan_id=loan_id)
    assert other.value.reason == LoanRefusal.NO_LOAN


def test_a_replayed_repayment_is_refused_by_its_key(db: Database, settings: Settings) -> None:
    people = _members(db)
    loan_id = _open(db, people["Siti"], settings)
    _repay(db, people["Siti"], 15_000, OPENED, settings, key="angsuran:77")  # interest only
    with pytest.raises(LedgerRefused) as again:  # would have gone to principal and interest
        _repay(db, people["Siti"], 115_000, OPENED, settings, key="angsuran:77")
    assert again.value.reason == "duplicate"
    assert _paid(db, loan_id)[0] == (15_000, 0)
    _consistent(db)


def test_an_overdue_installment_stops_a_second_loan_unless_the_treasurer_says_so(
    db: Database, settings: Settings
) -> None:
    people = _members(db)
    first = _open(db, people["Siti"], settings)
    # On the due day it is due, not late: a second loan is allowed then.
    due = at(date(2027, 1, 3))
    with db.transaction() as session:
        assert loan_status(session, people["Siti"], due.date()).overdue == ()
    late = at(date(2027, 1, 4))
    with pytest.raises(LoanRefused) as refused:
        _open(db, people["Siti"], settings, now=late, start=late.date())
    assert refused.value.reason == LoanRefusal.OVERDUE
    assert refused.value.details == {"count": 1, "amount": 115_000, "since": date(2027, 1, 3)}
    with pytest.raises(LoanRefused):  # a blank reason is no reason
        _open(db, people["Siti"], settings, now=late, start=late.date(), override="  ")
    second = _open(
        db,
        people["Siti"],
        settings,
        now=late,
        start=late.date(),
        principal=500_000,
        months=5,
        override="Disetujui rapat pengurus 2 Januari",
        recorded_by_member_id=people["Rina"],
    )
    with db.transaction() as session:
        loan = session.get(Loan, second)
        assert loan is not None and loan.override == "Disetujui rapat pengurus 2 Januari"
        audits = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
        assert audits[-1].detail["override"] is True
        status = loan_status(session, people["Siti"], late.date())
        assert status.loans == (first, second)
        assert status.principal_owed == 1_500_000
    # Without a loan id the repayment goes to the loan with the oldest unpaid installment.
    done = _repay(db, people["Siti"], 115_000, late, settings)
    assert done.loan.id == first
    # Once it is paid, she may borrow again without an override.
    _open(db, people["Siti"], settings, now=late, start=late.date(), principal=100_000, months=2)


def test_receipts_in_her_language(db: Database, settings: Settings) -> None:
    people = _members(db)
    _open(db, people["Ani"], settings, principal=300_000, months=3)
    _repay(db, people["Ani"], 104_500, at(date(2027, 1, 2), 14), settings)
    _repay(db, people["Ani"], 209_000, at(date(2027, 1, 5), 9), settings)
    _open(db, people["Siti"], settings, principal=300_000, months=3)
    _repay(db, people["Siti"], 104_500, at(date(2027, 1, 2), 14), settings)
    with db.transaction() as session:
        texts = [
            r.text
            for r in session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
            if r.kind == RECEIPT_KIND
        ]
        vars_ = [
            r.template_vars
            for r in session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        ][1]
    assert texts[0].startswith("Loan of Rp300.000 received on Thursday, 3 December 2026.\n")
    assert "In 3 installments, interest 1.5% a month (Rp4.500 a month)." in texts[0]
    assert texts[1] == (
        "Loan installment of Rp104.500 received on Saturday, 2 January 2027 at 14:00 WIB.\n"
        "Interest Rp4.500, principal Rp100.000.\n"
        "Next installment: Rp104.500, due Wednesday, 3 February 2027.\n"
        "Loan still owed: Rp200.000"
    )
    assert texts[2] == (
        "Loan installment of Rp209.000 received on Tuesday, 5 January 2027 at 09:00 WIB.\n"
        "Interest Rp9.000, principal Rp200.000.\n"
        "Your loan is fully repaid. Thank you!\n"
        "Loan still owed: Rp0"
    )
    assert texts[4] == (
        "Angsuran pinjaman Rp104.500 diterima pada Sabtu, 2 Januari 2027 pukul 14.00 WIB.\n"
        "Untuk bunga Rp4.500, untuk pokok Rp100.000.\n"
        "Angsuran berikutnya: Rp104.500, jatuh tempo Rabu, 3 Februari 2027.\n"
        "Sisa pinjaman: Rp200.000"
    )
    assert vars_ == {
        "1": "Loan installment of Rp104.500",
        "2": "Saturday, 2 January 2027 at 14:00 WIB",
        "3": "Loan still owed: Rp200.000",
    }


def test_a_receipt_recorded_at_night_goes_at_once(db: Database, settings: Settings) -> None:
    """Like the ledger's receipts, it answers the treasurer's action: she has just handed over
    the money and waits for it (notices are what the quiet hours hold back)."""
    people = _members(db)
    _open(db, people["Siti"], settings)
    night = datetime(2027, 1, 2, 22, 30, tzinfo=WIB)
    _repay(db, people["Siti"], 115_000, night, settings)
    with db.transaction() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert rows[-1].next_attempt_at.replace(tzinfo=UTC) <= night


def test_audit_rows_say_who_and_what_but_no_amount(db: Database, settings: Settings) -> None:
    people = _members(db)
    loan_id = _open(
        db, people["Siti"], settings, principal=1_234_567, recorded_by_member_id=people["Rina"]
    )
    _repay(db, people["Siti"], 654_321, OPENED, settings, recorded_by_member_id=people["Rina"])
    with db.transaction() as session:
        audits = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
        entries = session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id))).all()
    assert [a.action for a in audits] == ["loan.open", "loan.repay"]
    assert all(a.actor_member_id == people["Rina"] and a.allowed for a in audits)
    assert audits[1].detail["entries"] == [e.id for e in entries[1:]]
    assert audits[1].detail["member_id"] == people["Siti"]
    assert audits[1].target == f"loan:{loan_id}"
    for audit in audits:
        words = f"{audit.action} {audit.target} {audit.detail}"
        for figure in ("1234567", "1.234.567", "654321", "654.321", "123456", "Rp"):
            assert figure not in words.replace(" ", ""), words
        numbers = [int(n) for n in re.findall(r"\d+", words)]
        assert all(n < 1000 for n in numbers), words  # ids and installment numbers only


def test_the_pinjaman_answer_in_both_languages(db: Database, settings: Settings) -> None:
    people = _members(db)
    _open(db, people["Siti"], settings)
    _repay(db, people["Siti"], 115_000, at(date(2027, 1, 2)), settings)
    with db.transaction() as session:
        on_time = loan_status(session, people["Siti"], date(2027, 1, 20))
        late = loan_status(session, people["Siti"], date(2027, 3, 10))
        none = loan_status(session, people["Ani"], date(2027, 1, 20))
    assert on_time.outstanding == 900_000 + 9 * 15_000
    assert describe_status(Translator("id"), on_time) == (
        "Sisa pinjaman: Rp900.000\n"
        "Masih harus dibayar (pokok dan bunga): Rp1.035.000, 9 kali angsuran.\n"
        "Angsuran berikutnya (ke-2 dari 10): Rp115.000, jatuh tempo Rabu, 3 Februari 2027."
    )
    assert describe_status(Translator("en"), late) == (
        "Loan still owed: Rp900.000\n"
        "Still to pay (principal and interest): Rp1.035.000, in 9 installments.\n"
        "Next installment (4 of 10): Rp115.000, due Saturday, 3 April 2027.\n"
        "Late: 2 installments, Rp230.000, since Wednesday, 3 February 2027.\n"
        "Please contact the treasurer soon."
    )
    assert describe_status(Translator("id"), none) == "Ibu tidak punya pinjaman yang berjalan."


def test_a_ledger_entry_outside_the_loans_shows_as_a_mismatch(
    db: Database, settings: Settings
) -> None:
    """check_loans compares the schedule's paid amounts with the ledger: a pinjaman entry
    written around repay() is found."""
    from storage.ledger import append_entry

    people = _members(db)
    loan_id = _open(db, people["Siti"], settings)
    _consistent(db)
    with db.transaction() as session:
        append_entry(
            session,
            community_id=COMMUNITY,
            member_id=people["Siti"],
            kind=LedgerKind.PINJAMAN,
            action="repayment",
            amount=-1_000,
            channel="cli",
            loan_id=loan_id,
        )
    with db.transaction() as session:
        [mismatch] = check_loans(session)
    assert mismatch.loan_id == loan_id
    assert (mismatch.principal_paid_by_schedule, mismatch.principal_paid_by_ledger) == (0, 1_000)


# --- two repayments at once (PostgreSQL) ---


def _waiting_on_a_lock(db: Database) -> bool:
    with db.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one()
    return int(found) > 0


def test_two_treasurers_recording_at_once_pay_two_installments(
    db: Database, settings: Settings
) -> None:
    """The second repayment waits for the first (the loan row is locked) and then goes to the
    next installment: neither is lost, nothing is paid twice."""
    if db.is_sqlite:
        pytest.skip("one writer at a time on SQLite")
    people = _members(db)
    loan_id = _open(db, people["Siti"], settings)
    second: list[object] = []

    def other() -> None:
        try:
            second.append(_repay(db, people["Siti"], 115_000, OPENED, settings))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            second.append(exc)

    thread = threading.Thread(target=other)
    with db.transaction() as session:
        first = repay(
            session,
            community_id=COMMUNITY,
            member_id=people["Siti"],
            amount=115_000,
            channel="cli",
            now=OPENED,
            settings=settings,
        )
        thread.start()
        # Hold the transaction until the other one waits on our lock.
        for _ in range(600):
            if _waiting_on_a_lock(db):
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second repayment did not wait for the first")
    thread.join(timeout=30)
    [done] = second
    assert not isinstance(done, Exception), done
    assert [p.number for p in first.parts] == [1]
    assert [p.number for p in done.parts] == [2]  # type: ignore[attr-defined]
    assert _paid(db, loan_id)[:3] == [(15_000, 100_000), (15_000, 100_000), (0, 0)]
    assert _balances(db, people["Siti"])[LedgerKind.PINJAMAN] == 800_000
    _consistent(db)


def test_many_repayments_at_once_add_up(db: Database, settings: Settings) -> None:
    if db.is_sqlite:
        pytest.skip("one writer at a time on SQLite")
    people = _members(db)
    loan_id = _open(db, people["Siti"], settings)
    start = threading.Barrier(8)
    errors: list[Exception] = []

    def one() -> None:
        start.wait()
        try:
            _repay(db, people["Siti"], 57_500, OPENED, settings)
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # 8 x 57,500 = 460,000 = four installments of 115,000.
    assert _paid(db, loan_id)[:5] == [(15_000, 100_000)] * 4 + [(0, 0)]
    found = _balances(db, people["Siti"])
    assert found[LedgerKind.PINJAMAN] == 600_000 and found[LedgerKind.BUNGA] == 60_000
    _consistent(db)


def test_a_member_who_left_gets_no_loan_but_still_repays(db: Database, settings: Settings) -> None:
    from storage.models import Member, MemberStatus

    people = _members(db)
    _open(db, people["Siti"], settings)
    with db.transaction() as session:
        siti = session.get(Member, people["Siti"])
        assert siti is not None
        siti.status = MemberStatus.INACTIVE
        session.add(siti)
    with pytest.raises(LoanRefused) as refused:
        _open(db, people["Siti"], settings, principal=100_000, months=2)
    assert refused.value.reason == LoanRefusal.UNKNOWN_MEMBER
    done = _repay(db, people["Siti"], 115_000, OPENED, settings)
    assert done.principal_owed == 900_000


@hyp_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    principal=st.integers(min_value=12, max_value=50_000_000),
    rate_bp=st.integers(min_value=0, max_value=1000),
    months=st.integers(min_value=1, max_value=12),
    shares=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=8),
)
def test_any_sequence_of_repayments_keeps_schedule_and_ledger_equal(
    db: Database, settings: Settings, principal: int, rate_bp: int, months: int, shares: list[int]
) -> None:
    """Payments of any size (some beyond what is owed, refused) in any order: the installments
    and the ledger agree, the accepted payments are exactly what is paid, and the loan is paid
    off exactly when everything is."""
    with db.transaction() as session:
        member = add_member(session, "Warga", None)
        session.flush()
        assert member.id is not None
        member_id = member.id
    loan_id = _open(
        db, member_id, settings, principal=principal, rate=Decimal(rate_bp) / 100, months=months
    )
    total = principal + months * monthly_interest(principal, rate_bp)
    accepted = 0
    for share in shares:
        amount = max(1, total * share // 1000)
        try:
            _repay(db, member_id, amount, OPENED, settings, loan_id=loan_id)
            accepted += amount
        except LoanRefused as refused:
            assert refused.reason in (LoanRefusal.OVERPAID, LoanRefusal.NO_LOAN)
            assert amount > total - accepted
    paid = _paid(db, loan_id)
    assert sum(i + p for i, p in paid) == accepted <= total
    found = _balances(db, member_id)
    assert found[LedgerKind.PINJAMAN] == principal - sum(p for _, p in paid)
    assert found[LedgerKind.BUNGA] == sum(i for i, _ in paid)
    with db.transaction() as session:
        loan = session.get(Loan, loan_id)
        assert loan is not None
        assert (loan.status == LoanStatus.PAID) == (accepted == total)
        assert check_loans(session) == []


def test_a_receipt_on_a_shared_phone_or_under_a_pin_shows_no_amount(
    db: Database, settings: Settings
) -> None:
    from storage.ledger import LedgerAccess

    people = _members(db)
    with db.transaction() as session:
        # Dewi shares Siti's phone; Ani guards her figures with a PIN.
        add_member(session, "Dewi", phone(1))
        session.add(LedgerAccess(member_id=people["Ani"], community_id=COMMUNITY, pin_hash="x"))
    _open(db, people["Siti"], settings)
    _repay(db, people["Siti"], 115_000, at(date(2027, 1, 2), 14), settings)
    _open(db, people["Ani"], settings, principal=300_000, months=3)
    _open(db, people["Rina"], settings, principal=300_000, months=3)
    with db.transaction() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    texts = [r.text for r in rows]
    assert texts[0] == (
        "Pinjaman untuk Bu Siti diterima pada Kamis, 3 Desember 2026.\n"
        "Ketik PINJAMAN untuk melihat jumlah dan sisa pinjamannya."
    )
    assert texts[1] == (
        "Angsuran pinjaman dari Bu Siti diterima pada Sabtu, 2 Januari 2027 pukul 14.00 WIB.\n"
        "Ketik PINJAMAN untuk melihat jumlah dan sisa pinjamannya."
    )
    assert rows[1].template_vars["1"] == "Angsuran pinjaman dari Bu Siti"
    assert texts[2].startswith("A loan for Ani received on Thursday, 3 December 2026.\n")
    for private in rows[:3]:
        assert "Rp" not in private.text and "Rp" not in str(private.template_vars)
    assert "Rp300.000" in texts[3]  # Rina has her own phone and no PIN
