"""The installment notices (storage/loans_notices.py), planned by the notice job (plan_all):
the reminder N days before the due day, the missed notice the day after, each once by its
key, after the quiet hours, never to an opted-out member nor for a paid installment. The
clock is the ``now`` passed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from storage.db import Database
from storage.loans import open_loan, repay
from storage.loans_notices import NOTICE_KIND, plan_loan_notices
from storage.meetings_notices import plan_all
from storage.models import OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.settings import Settings, load_settings

WIB = ZoneInfo("Asia/Jakarta")
START = date(2026, 12, 3)  # installments due 3 January, 3 February, 3 March 2027
DUE = date(2027, 1, 3)


@pytest.fixture
def make(clean_env: None) -> Callable[..., Settings]:
    def build(**overrides: object) -> Settings:
        return load_settings(_env_file=None, **overrides)

    return build


@pytest.fixture
def settings(make: Callable[..., Settings]) -> Settings:
    return make()


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=WIB)


def _setup(db: Database, settings: Settings, **member: object) -> dict[str, int]:
    """Siti (Indonesian) and Ani (English) each with a loan of 300,000 in 3 installments."""
    with db.transaction() as session:
        people = {
            "Siti": add_member(session, "Siti", phone(1), **member),  # type: ignore[arg-type]
            "Ani": add_member(session, "Ani", phone(2), language="en"),
        }
        session.flush()
        ids = {name: m.id for name, m in people.items() if m.id is not None}
        for member_id in ids.values():
            open_loan(
                session,
                community_id=COMMUNITY,
                member_id=member_id,
                principal=300_000,
                rate="1.5",
                months=3,
                start=START,
                channel="cli",
                now=at(START, 10),
                settings=settings,
            )
        return ids


def _plan(db: Database, now: datetime, settings: Settings) -> dict[str, int]:
    with db.transaction() as session:
        return plan_loan_notices(session, now=now, settings=settings)


def _notices(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        return [r for r in rows if r.kind == NOTICE_KIND]


def test_the_reminder_comes_three_days_before_once(db: Database, settings: Settings) -> None:
    people = _setup(db, settings, language="id")
    before = DUE - timedelta(days=3)
    assert _plan(db, at(before) - timedelta(minutes=1), settings) == {
        "installment_reminder": 0,
        "installment_missed": 0,
    }
    # Midnight is in the quiet hours: nothing is planned before they end at 06:00.
    assert _plan(db, at(before, 0, 5), settings)["installment_reminder"] == 0
    assert _plan(db, at(before, 6), settings) == {
        "installment_reminder": 2,
        "installment_missed": 0,
    }
    assert _plan(db, at(before, 6, 5), settings)["installment_reminder"] == 0  # once
    assert _plan(db, at(DUE, 12), settings)["installment_reminder"] == 0
    rows = _notices(db)
    assert [r.key for r in rows] == [
        "loan:1:installment:1:reminder",
        "loan:2:installment:1:reminder",
    ]
    siti, ani = rows
    assert siti.member_id == people["Siti"] and ani.member_id == people["Ani"]
    assert siti.text == (
        "Pengingat: angsuran pinjaman ke-1 dari 3 sebesar Rp104.500 jatuh tempo "
        "Minggu, 3 Januari 2027.\n"
        "Pembayaran melalui bendahara WLCC. Kalau sudah membayar, abaikan pesan ini."
    )
    assert ani.text.startswith(
        "Reminder: loan installment 1 of 3, Rp104.500, is due Sunday, 3 January 2027."
    )
    assert ani.template_vars == {"1": "Rp104.500", "2": "Sunday, 3 January 2027", "3": "1/3"}


def test_a_paid_or_partly_paid_installment(db: Database, settings: Settings) -> None:
    people = _setup(db, settings)
    with db.transaction() as session:
        for who, amount in (("Siti", 104_500), ("Ani", 50_000)):
            repay(
                session,
                community_id=COMMUNITY,
                member_id=people[who],
                amount=amount,
                channel="cli",
                now=at(START, 11),
                settings=settings,
            )
    assert _plan(db, at(DUE - timedelta(days=3), 9), settings)["installment_reminder"] == 1
    [ani] = _notices(db)
    assert ani.member_id == people["Ani"]
    assert "Rp54.500" in ani.text  # what is still to pay on it


def test_a_missed_installment_is_told_the_day_after_once(db: Database, settings: Settings) -> None:
    people = _setup(db, settings)
    with db.transaction() as session:
        repay(
            session,
            community_id=COMMUNITY,
            member_id=people["Ani"],
            amount=104_500,
            channel="cli",
            now=at(DUE, 15),
            settings=settings,
        )
    # Due today, not late; and a first run at 23.00 (the scheduler was down for days) plans
    # no reminder: it would only go out after the due day.
    assert _plan(db, at(DUE, 23), settings) == {
        "installment_reminder": 0,
        "installment_missed": 0,
    }
    after = DUE + timedelta(days=1)
    assert _plan(db, at(after, 5, 59), settings)["installment_missed"] == 0  # quiet hours
    assert _plan(db, at(after, 6), settings) == {
        "installment_reminder": 0,
        "installment_missed": 1,
    }
    assert _plan(db, at(after, 12), settings)["installment_missed"] == 0
    [missed] = [r for r in _notices(db) if r.key.endswith(":missed")]
    assert missed.key == "loan:1:installment:1:missed" and missed.member_id == people["Siti"]
    assert missed.text == (
        "Angsuran pinjaman ke-1 dari 3 yang jatuh tempo Minggu, 3 Januari 2027 belum lunas: "
        "masih Rp104.500.\n"
        "Mohon segera hubungi bendahara WLCC. Kalau sudah membayar, abaikan pesan ini."
    )
    # The next reminder says what is late too.
    feb = date(2027, 2, 3)
    assert _plan(db, at(feb - timedelta(days=3), 8), settings)["installment_reminder"] == 2
    siti = [r for r in _notices(db) if r.key == "loan:1:installment:2:reminder"]
    assert siti and "Semua yang terlambat: 1 angsuran, Rp104.500." in siti[0].text


def test_a_scheduler_down_for_months_tells_the_latest_miss_with_the_total(
    db: Database, settings: Settings
) -> None:
    _setup(db, settings)
    counts = _plan(db, at(date(2027, 3, 10), 9), settings)
    assert counts == {"installment_reminder": 0, "installment_missed": 2}  # one per loan
    rows = _notices(db)
    assert [r.key for r in rows] == [
        "loan:1:installment:3:missed",
        "loan:2:installment:3:missed",
    ]
    assert "Semua yang terlambat: 3 angsuran, Rp313.500." in rows[0].text
    assert "Everything late: 3 installments, Rp313.500." in rows[1].text


def test_opted_out_members_get_none(db: Database, settings: Settings) -> None:
    people = _setup(db, settings, opted_out=True)
    _plan(db, at(DUE - timedelta(days=1), 9), settings)
    _plan(db, at(DUE + timedelta(days=1), 9), settings)
    assert {r.member_id for r in _notices(db)} == {people["Ani"]}


def test_the_days_before_are_a_setting_and_quiet_hours_can_be_off(
    db: Database, make: Callable[..., Settings]
) -> None:
    settings = make(wlcc_installment_reminder_days=5, wlcc_quiet_hours="")
    _setup(db, settings)
    five = DUE - timedelta(days=5)
    assert _plan(db, at(five) - timedelta(minutes=1), settings)["installment_reminder"] == 0
    assert _plan(db, at(five, 0, 1), settings)["installment_reminder"] == 2
    assert all(r.next_attempt_at.replace(tzinfo=UTC) <= at(five, 0, 1) for r in _notices(db))


def test_a_late_run_in_the_quiet_hours_waits_for_the_morning(
    db: Database, settings: Settings
) -> None:
    """Planned at 22.00 (the scheduler was down all day): sent at 06.00."""
    _setup(db, settings)
    _plan(db, at(DUE - timedelta(days=2), 22), settings)
    morning = at(DUE - timedelta(days=1), 6).astimezone(UTC)
    assert {r.next_attempt_at.replace(tzinfo=UTC) for r in _notices(db)} == {morning}


def test_the_notice_job_plans_them_with_the_meetings(db: Database, settings: Settings) -> None:
    _setup(db, settings)
    with db.transaction() as session:
        counts = plan_all(session, now=at(DUE - timedelta(days=3), 9), settings=settings)
    assert counts["installment_reminder"] == 2 and counts["installment_missed"] == 0
    assert counts["announcement"] == 0
    with db.transaction() as session:
        again = plan_all(session, now=at(DUE - timedelta(days=3), 9, 5), settings=settings)
    assert again["installment_reminder"] == 0
    assert len(_notices(db)) == 2


def test_on_a_shared_phone_the_notices_name_her_and_show_no_amount(
    db: Database, settings: Settings
) -> None:
    people = _setup(db, settings)
    with db.transaction() as session:
        add_member(session, "Dewi Lestari", phone(1))  # shares Siti's phone
    _plan(db, at(DUE - timedelta(days=3), 9), settings)
    _plan(db, at(date(2027, 2, 4), 9), settings)
    rows = {r.key: r for r in _notices(db)}
    reminder = rows["loan:1:installment:1:reminder"]
    assert reminder.member_id == people["Siti"]
    assert reminder.text == (
        "Pengingat untuk Bu Siti: angsuran pinjaman ke-1 dari 3 jatuh tempo "
        "Minggu, 3 Januari 2027.\n"
        "Ketik PINJAMAN untuk melihat jumlahnya."
    )
    assert reminder.template_vars == {"1": "Siti", "2": "Minggu, 3 Januari 2027", "3": "1/3"}
    missed = rows["loan:1:installment:2:missed"]
    assert "Rp" not in missed.text and missed.text.startswith("Untuk Bu Siti: angsuran")
    # Ani has her own phone: her notices say the amounts.
    assert "Rp104.500" in rows["loan:2:installment:1:reminder"].text
    assert "Rp209.000" in rows["loan:2:installment:2:missed"].text
