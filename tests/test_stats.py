"""storage/stats.py: the console's chart figures, on SQLite and PostgreSQL, from rows written
by the real storage operations (deposits, loans, meetings, complaints), with the month
boundaries in Asia/Jakarta (a UTC evening is the next local day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from storage.complaints import Complaint, Intake, change_status, create_complaint
from storage.db import Database
from storage.help_requests import start_request
from storage.ledger import LedgerKind, deposit, reverse, withdraw
from storage.loans import open_loan, overdue_by_member, repay
from storage.meetings import (
    Answer,
    Meeting,
    answer_rsvp,
    cancel_meeting,
    create_meeting,
    record_attendance,
)
from storage.models import Community, Member
from storage.stats import (
    ComplaintLocation,
    KelurahanComplaints,
    Month,
    Period,
    attendance,
    complaint_locations,
    complaints_by_kelurahan,
    complaints_by_status,
    default_period,
    last_months,
    loans,
    months_between,
    savings,
)
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.settings import Settings, load_settings

WIB = ZoneInfo("Asia/Jakarta")
TODAY = date(2026, 6, 15)
# January to June 2026, counted up to 15 June.
PERIOD = months_between(date(2026, 1, 1), date(2026, 6, 30), today=TODAY, zone=WIB)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


@pytest.fixture
def settings(clean_env: None) -> Settings:
    return load_settings(_env_file=None)


def _other_community(session: Session) -> int:
    other = Community(slug="wlcc-lain", name="Forum lain")
    session.add(other)
    session.flush()
    assert other.id is not None
    return other.id


# --- periods ---


def test_the_default_period_is_the_last_twelve_local_months(settings: Settings) -> None:
    period = last_months(today=TODAY, zone=WIB)
    assert period.months[0] == Month(2025, 7)
    assert period.months[-1] == Month(2026, 6)
    assert len(period.months) == 12
    assert default_period(settings, today=TODAY) == period
    assert period.as_of(Month(2026, 2)) == date(2026, 2, 28)
    assert period.last_day == TODAY  # the running month counts up to today
    # Local midnight of 1 July 2025 in Jakarta is 17.00 UTC the day before.
    assert period.starts_at == utc(2025, 6, 30, 17)
    assert period.ends_at == utc(2026, 6, 15, 17)


def test_a_period_never_runs_past_today() -> None:
    period = months_between(date(2026, 5, 1), date(2026, 12, 31), today=TODAY, zone=WIB)
    assert period.months == (Month(2026, 5), Month(2026, 6))
    with pytest.raises(ValueError):
        months_between(date(2026, 7, 1), date(2026, 8, 1), today=TODAY, zone=WIB)
    assert Month(2026, 12).shift(1) == Month(2027, 1)
    assert Month(2026, 1).shift(-1) == Month(2025, 12)


# --- the empty case ---


def test_no_data_gives_empty_or_zero_series(db: Database) -> None:
    with db.transaction() as session:
        assert attendance(session, COMMUNITY, PERIOD) == ()
        assert complaints_by_kelurahan(session, COMMUNITY, PERIOD) == ()
        assert complaint_locations(session, COMMUNITY, PERIOD) == ()
        points = savings(session, COMMUNITY, PERIOD)
        assert [p.month for p in points] == list(PERIOD.months)
        assert all(p.total == 0 for p in points)
        assert all(
            (p.outstanding, p.principal, p.overdue) == (0, 0, 0)
            for p in loans(session, COMMUNITY, PERIOD)
        )
        months = complaints_by_status(session, COMMUNITY, PERIOD)
        assert len(months) == 6
        assert all(m.open == m.opened == m.resolved == 0 for m in months)


# --- attendance ---


def test_attendance_per_meeting_counts_present_and_yes(db: Database) -> None:
    early = wib(2025, 12, 1)
    with db.transaction() as session:
        a = add_member(session, "Siti", phone(1))
        b = add_member(session, "Ani", phone(2))
        c = add_member(session, "Rina", phone(3))

        def meeting(title: str, starts: datetime) -> Meeting:
            return create_meeting(
                session, community_id=COMMUNITY, title=title, starts_at=starts, now=early
            )

        before = meeting("Desember", utc(2025, 12, 13, 2))  # before the period
        # 00.30 WIB on 1 January: in January although it is still 31 December in UTC.
        new_year = meeting("Tahun baru", utc(2025, 12, 31, 17, 30))
        february = meeting("Februari", utc(2026, 2, 14, 2))
        cancelled = meeting("Batal", utc(2026, 3, 14, 2))
        coming = meeting("Nanti", utc(2026, 6, 20, 2))  # after today
        for m, member, answer in [
            (february, a, Answer.YES),
            (february, b, Answer.YES),
            (february, c, Answer.NO),
            (new_year, a, Answer.MAYBE),
            (coming, a, Answer.YES),
        ]:
            answer_rsvp(session, m, member, answer, now=early)
        assert a.id is not None and b.id is not None and c.id is not None
        record_attendance(session, february, [a.id, c.id], method="marked", now=utc(2026, 2, 14, 3))
        record_attendance(session, new_year, [b.id], method="code", now=utc(2025, 12, 31, 18))
        record_attendance(session, before, [a.id], method="code", now=utc(2025, 12, 13, 3))
        cancel_meeting(session, cancelled, now=early)

    with db.transaction() as session:
        found = attendance(session, COMMUNITY, PERIOD)
    assert [(m.title, m.day, m.present, m.rsvp_yes) for m in found] == [
        ("Tahun baru", date(2026, 1, 1), 1, 0),
        ("Februari", date(2026, 2, 14), 2, 2),
    ]
    assert found[1].starts_at == utc(2026, 2, 14, 2)
    assert found[1].kind == "pertemuan"


# --- savings ---


def test_savings_are_the_balances_at_each_local_month_end(db: Database) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti", phone(1))
        ani = add_member(session, "Ani", phone(2))
        assert siti.id is not None and ani.id is not None

        def put(
            member: int, kind: str, amount: int, when: datetime, community: int = COMMUNITY
        ) -> int:
            receipt = deposit(
                session,
                community_id=community,
                member_id=member,
                kind=kind,
                amount=amount,
                channel="cli",
                now=when,
            )
            assert receipt.entry.id is not None
            return receipt.entry.id

        put(siti.id, LedgerKind.POKOK, 100_000, wib(2025, 12, 10, 10))  # before: the opening
        # 17.30 UTC on 31 January is 00.30 WIB on 1 February: a February deposit.
        wajib = put(siti.id, LedgerKind.WAJIB, 50_000, utc(2026, 1, 31, 17, 30))
        put(ani.id, LedgerKind.POKOK, 100_000, utc(2026, 1, 31, 16, 59))  # 23.59 WIB: January
        put(ani.id, LedgerKind.SUKARELA, 200_000, wib(2026, 3, 5, 10))
        withdraw(
            session,
            community_id=COMMUNITY,
            member_id=ani.id,
            kind=LedgerKind.SUKARELA,
            amount=50_000,
            channel="cli",
            now=wib(2026, 4, 2, 10),
        )
        reverse(
            session,
            community_id=COMMUNITY,
            entry_id=wajib,
            reason="salah catat",
            channel="cli",
            now=wib(2026, 5, 3, 10),
        )
        put(ani.id, LedgerKind.SUKARELA, 1_000, wib(2026, 6, 16, 10))  # after today
        other = _other_community(session)
        stranger = Member(community_id=other, name="Lain", name_key="lain", phone=phone(9))
        session.add(stranger)
        session.flush()
        assert stranger.id is not None
        put(stranger.id, LedgerKind.POKOK, 999_000, wib(2026, 2, 2, 10), other)

    with db.transaction() as session:
        points = savings(session, COMMUNITY, PERIOD)
    assert [(p.month, p.as_of, p.pokok, p.wajib, p.sukarela) for p in points] == [
        (Month(2026, 1), date(2026, 1, 31), 200_000, 0, 0),
        (Month(2026, 2), date(2026, 2, 28), 200_000, 50_000, 0),
        (Month(2026, 3), date(2026, 3, 31), 200_000, 50_000, 200_000),
        (Month(2026, 4), date(2026, 4, 30), 200_000, 50_000, 150_000),
        (Month(2026, 5), date(2026, 5, 31), 200_000, 0, 150_000),
        (Month(2026, 6), TODAY, 200_000, 0, 150_000),
    ]
    assert points[2].total == 450_000


# --- loans ---


def test_loans_outstanding_and_overdue_at_each_month_end(db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti", phone(1))
        ani = add_member(session, "Ani", phone(2))
        assert siti.id is not None and ani.id is not None
    members = {"siti": siti.id, "ani": ani.id}

    def lend(who: str, principal: int, months: int, start: date) -> None:
        with db.transaction() as session:
            open_loan(
                session,
                community_id=COMMUNITY,
                member_id=members[who],
                principal=principal,
                rate="1",
                months=months,
                start=start,
                channel="cli",
                now=wib(start.year, start.month, start.day, 10),
                settings=settings,
            )

    def pay(who: str, amount: int, when: datetime) -> None:
        with db.transaction() as session:
            repay(
                session,
                community_id=COMMUNITY,
                member_id=members[who],
                amount=amount,
                channel="cli",
                now=when,
                settings=settings,
            )

    # Ani's loan was paid off before the period: it counts nowhere.
    lend("ani", 100_000, 1, date(2025, 6, 1))
    pay("ani", 101_000, wib(2025, 6, 20, 10))
    # Siti: Rp1.200.000 at 1 % a month in 3: Rp412.000 due 10 February, 10 March, 10 April.
    lend("siti", 1_200_000, 3, date(2026, 1, 10))
    # Her first installment is paid at 00.30 WIB on 1 March (still February in UTC): late.
    pay("siti", 412_000, utc(2026, 2, 28, 17, 30))
    pay("siti", 412_000, wib(2026, 4, 20, 10))

    with db.transaction() as session:
        points = loans(session, COMMUNITY, PERIOD)
        late_today = sum(overdue_by_member(session, COMMUNITY, TODAY).values())
    assert [(p.month, p.as_of, p.outstanding, p.principal, p.overdue) for p in points] == [
        (Month(2026, 1), date(2026, 1, 31), 1_236_000, 1_200_000, 0),
        (Month(2026, 2), date(2026, 2, 28), 1_236_000, 1_200_000, 412_000),
        (Month(2026, 3), date(2026, 3, 31), 824_000, 800_000, 412_000),
        (Month(2026, 4), date(2026, 4, 30), 412_000, 400_000, 412_000),
        (Month(2026, 5), date(2026, 5, 31), 412_000, 400_000, 412_000),
        (Month(2026, 6), TODAY, 412_000, 400_000, 412_000),
    ]
    assert points[-1].overdue == late_today  # the same figure as the ledger report's


def test_an_installment_is_not_overdue_on_its_due_day(db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti", phone(1))
        assert siti.id is not None
        # Due 30 April and 31 May: on a month's last day an installment is due, not late.
        open_loan(
            session,
            community_id=COMMUNITY,
            member_id=siti.id,
            principal=500_000,
            rate="0",
            months=2,
            start=date(2026, 3, 31),
            channel="cli",
            now=wib(2026, 3, 31, 10),
            settings=settings,
        )
    with db.transaction() as session:
        points = loans(session, COMMUNITY, PERIOD)
    assert [(p.outstanding, p.overdue) for p in points[2:]] == [
        (500_000, 0),
        (500_000, 0),
        (500_000, 250_000),
        (500_000, 500_000),
    ]
    assert [p.outstanding for p in points[:2]] == [0, 0]  # before it was paid out


# --- complaints ---


@dataclass
class Tickets:
    t1: Complaint
    t2: Complaint
    t3: Complaint
    t4: Complaint


def _file(
    session: Session, when: datetime, *, kelurahan: str, pin: bool, community: int = COMMUNITY
) -> Complaint:
    return create_complaint(
        session,
        community_id=community,
        intake=Intake(
            category="leak",
            description="Pipa bocor",
            latitude=-2.9761 if pin else None,
            longitude=104.7754 if pin else None,
            address=None if pin else "Jl. Merdeka",
            kelurahan=kelurahan,
        ),
        identity_id=None,
        member_id=None,
        channel="whatsapp",
        now=when,
    )


def _tickets(db: Database) -> Tickets:
    with db.transaction() as session:
        t1 = _file(session, wib(2026, 1, 5, 10), kelurahan="23 Ilir", pin=True)
        change_status(session, t1, "verified", now=wib(2026, 1, 10, 10))
        change_status(session, t1, "forwarded", forwarded_to="PDAM", now=wib(2026, 2, 3, 10))
        # 00.30 WIB on 1 April: resolved in April.
        change_status(session, t1, "resolved", now=utc(2026, 3, 31, 17, 30))
        # Midnight WIB on 1 February exactly: a February ticket.
        t2 = _file(session, utc(2026, 1, 31, 17), kelurahan="24 Ilir", pin=False)
        t3 = _file(session, wib(2026, 3, 10, 10), kelurahan="kel. 23 ilir", pin=True)
        change_status(session, t3, "rejected", note="bukan sambungan", now=wib(2026, 3, 12, 9))
        t4 = _file(session, wib(2025, 11, 1, 10), kelurahan="19 Ilir", pin=True)
        change_status(session, t4, "verified", now=wib(2025, 11, 2, 10))
        change_status(session, t4, "in_progress", now=wib(2026, 2, 10, 10))
        other = _other_community(session)
        _file(session, wib(2026, 2, 2, 10), kelurahan="23 Ilir", pin=True, community=other)
        return Tickets(t1, t2, t3, t4)


def test_complaints_by_status_at_each_local_month_end(db: Database) -> None:
    _tickets(db)
    with db.transaction() as session:
        months = complaints_by_status(session, COMMUNITY, PERIOD)
    table = [
        (m.month, m.received, m.verified, m.forwarded, m.in_progress, m.opened, m.resolved)
        for m in months
    ]
    assert table == [
        (Month(2026, 1), 0, 2, 0, 0, 1, 0),
        (Month(2026, 2), 1, 0, 1, 1, 1, 0),
        (Month(2026, 3), 1, 0, 1, 1, 1, 0),
        (Month(2026, 4), 1, 0, 0, 1, 0, 1),
        (Month(2026, 5), 1, 0, 0, 1, 0, 0),
        (Month(2026, 6), 1, 0, 0, 1, 0, 0),
    ]
    assert months[1].open == 3
    assert months[1].count("forwarded") == 1


def test_a_reopened_ticket_is_open_again_at_the_month_end(db: Database) -> None:
    from storage.complaints import reopen

    with db.transaction() as session:
        ticket = _file(session, wib(2026, 5, 2, 10), kelurahan="23 Ilir", pin=True)
        change_status(session, ticket, "verified", now=wib(2026, 5, 3, 10))
        change_status(session, ticket, "resolved", now=wib(2026, 5, 4, 10))
        reopen(session, ticket, now=wib(2026, 6, 1, 10))
    with db.transaction() as session:
        may, june = complaints_by_status(session, COMMUNITY, PERIOD)[4:]
    assert (may.open, may.resolved, may.opened) == (0, 1, 1)
    assert (june.verified, june.resolved) == (1, 0)


def test_complaints_by_kelurahan_and_their_locations(db: Database) -> None:
    tickets = _tickets(db)
    with db.transaction() as session:
        # A help request of the confidential path lives in another table: it shows nowhere.
        request = start_request(session, COMMUNITY, utc(2026, 3, 1, 3))
        request.note = "RAHASIA-PENANDA"
        session.add(request)
        places = complaints_by_kelurahan(session, COMMUNITY, PERIOD)
        pins = complaint_locations(session, COMMUNITY, PERIOD)
    assert places == (
        KelurahanComplaints("23 Ilir", open=0, resolved=1, closed=1),
        KelurahanComplaints("24 Ilir", open=1, resolved=0, closed=0),
    )
    assert places[0].total == 2
    assert pins == (
        ComplaintLocation(tickets.t1.code, -2.9761, 104.7754, "resolved", "leak"),
        ComplaintLocation(tickets.t3.code, -2.9761, 104.7754, "rejected", "leak"),
    )
    assert request.ref not in repr(places) + repr(pins)
    assert "RAHASIA" not in repr(places) + repr(pins)


def test_an_unknown_kelurahan_comes_last(db: Database) -> None:
    with db.transaction() as session:
        create_complaint(
            session,
            community_id=COMMUNITY,
            intake=Intake(category="smell", description="Bau", latitude=-2.97, longitude=104.77),
            identity_id=None,
            member_id=None,
            channel="telegram",
            now=wib(2026, 2, 1, 10),
        )
        _file(session, wib(2026, 2, 1, 11), kelurahan="24 Ilir", pin=True)
        places = complaints_by_kelurahan(session, COMMUNITY, PERIOD)
    assert [(p.kelurahan, p.total) for p in places] == [("24 Ilir", 1), (None, 1)]


def test_a_period_in_another_zone_moves_the_boundaries(db: Database) -> None:
    papua = ZoneInfo("Asia/Jayapura")  # WIT, UTC+9
    with db.transaction() as session:
        # 15.30 UTC on 31 January: 22.30 WIB (January) but 00.30 WIT (February).
        _file(session, utc(2026, 1, 31, 15, 30), kelurahan="23 Ilir", pin=True)
        in_wib = complaints_by_status(session, COMMUNITY, PERIOD)
        in_wit = complaints_by_status(session, COMMUNITY, Period(PERIOD.months, TODAY, papua))
    assert [m.opened for m in in_wib[:2]] == [1, 0]
    assert [m.opened for m in in_wit[:2]] == [0, 1]
