"""Time limits of complaint tickets and the daily digest (storage/complaints_escalation.py),
with the clock in the test's hands (``now`` is passed in) over the Christmas long weekend of
2026: Thursday 24 December is cuti bersama, Friday 25 December Christmas, then a weekend;
Friday 1 January 2027 is New Year's Day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from storage.complaints import (
    Category,
    Complaint,
    ComplaintEvent,
    Intake,
    Status,
    change_status,
    create_complaint,
)
from storage.complaints_escalation import (
    DIGEST_COUNT,
    DIGEST_KIND,
    DIGEST_LINES,
    FLAGGED_COUNT,
    RESPONSE,
    VERIFY,
    deadline,
    digest_key,
    overdue_tickets,
    plan_escalations,
    working_days_between,
)
from storage.db import Database
from storage.meetings_notices import plan_all
from storage.models import OutboxMessage
from tests.outbox_support import add_member, phone
from wlcc.settings import Settings, load_settings

WIB = ZoneInfo("Asia/Jakarta")


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


def _file(db: Database, when: datetime, kelurahan: str | None = "23 Ilir", **extra: object) -> int:
    with db.transaction() as session:
        complaint = create_complaint(
            session,
            community_id=1,
            intake=Intake(
                category=str(extra.get("category", Category.LEAK)),
                description="Pipa sambungan bocor di depan rumah",
                kelurahan=kelurahan,
                address="Jl. Mawar",
            ),
            identity_id=None,
            member_id=None,
            channel="cli",
            now=when,
        )
        assert complaint.id is not None
        return complaint.id


def _move(db: Database, complaint_id: int, to: str, when: datetime, **extra: object) -> None:
    with db.transaction() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        change_status(session, complaint, to, actor_label="cli", now=when, **extra)  # type: ignore[arg-type]


def _coordinators(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        people = {
            "Rina": add_member(session, "Rina", phone(1), kelurahan="23 Ilir", role="coordinator"),
            "Ana": add_member(
                session, "Ana", phone(2), kelurahan="19 Ilir", role="coordinator", language="en"
            ),
            "Siti": add_member(session, "Siti", phone(3), kelurahan="23 Ilir"),
        }
        return {name: m.id for name, m in people.items() if m.id is not None}


def _plan(db: Database, now: datetime, settings: Settings) -> dict[str, int]:
    with db.transaction() as session:
        return plan_escalations(session, now=now, settings=settings)


def _digests(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        found = session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.kind) == DIGEST_KIND)
            .order_by(col(OutboxMessage.id))
        ).all()
        session.expunge_all()
        return list(found)


def _flags(db: Database, complaint_id: int) -> list[ComplaintEvent]:
    with db.transaction() as session:
        found = session.exec(
            select(ComplaintEvent).where(
                col(ComplaintEvent.complaint_id) == complaint_id,
                col(ComplaintEvent.actor_label).like("escalation:%"),
            )
        ).all()
        session.expunge_all()
        return list(found)


# --- working days ---


def test_the_verification_limit_skips_cuti_bersama_christmas_and_the_weekend(
    settings: Settings,
) -> None:
    # Received Wednesday 23 December: 24 (cuti bersama), 25 (Christmas), 26-27 (weekend) do
    # not count; Monday 28, Tuesday 29, Wednesday 30 do.
    complaint = Complaint(
        community_id=1, code="AL-34679", category="leak", created_at=at(date(2026, 12, 23), 10)
    )
    limit = deadline(complaint, settings)
    assert limit is not None
    assert (limit.stage, limit.since, limit.due) == (VERIFY, date(2026, 12, 23), date(2026, 12, 30))
    assert not limit.overdue(date(2026, 12, 30))
    assert limit.overdue(date(2026, 12, 31))
    assert limit.days_late(date(2026, 12, 31)) == 1
    # New Year's Day and the weekend after it are no working days either.
    assert limit.days_late(date(2027, 1, 3)) == 1
    assert limit.days_late(date(2027, 1, 4)) == 2


def test_the_response_limit_runs_from_forwarding(settings: Settings) -> None:
    # Forwarded Friday 18 December: 21, 22, 23, then 28, 29 are the five working days.
    forwarded = at(date(2026, 12, 18), 15)
    complaint = Complaint(
        community_id=1,
        code="AL-34679",
        category="leak",
        status=Status.FORWARDED,
        created_at=at(date(2026, 12, 14)),
        forwarded_at=forwarded,
    )
    limit = deadline(complaint, settings)
    assert limit is not None
    assert (limit.stage, limit.due) == (RESPONSE, date(2026, 12, 29))
    # A reopening restarts it: the agency is asked anew. From Monday 4 January 2027: Tuesday
    # 5 is Isra Mikraj, so 6, 7, 8, 11, 12.
    complaint.reopened_at = at(date(2027, 1, 4), 9)
    again = deadline(complaint, settings)
    assert again is not None and again.due == date(2027, 1, 12)


@pytest.mark.parametrize("status", [Status.VERIFIED, Status.IN_PROGRESS, Status.RESOLVED])
def test_no_limit_runs_once_it_moved_on(settings: Settings, status: str) -> None:
    complaint = Complaint(community_id=1, code="AL-34679", category="leak", status=status)
    assert deadline(complaint, settings) is None


def test_the_limits_are_settings(make: Callable[..., Settings]) -> None:
    settings = make(wlcc_complaint_verify_days=1)
    complaint = Complaint(
        community_id=1, code="AL-34679", category="leak", created_at=at(date(2026, 12, 23), 10)
    )
    limit = deadline(complaint, settings)
    assert limit is not None and limit.due == date(2026, 12, 28)


def test_working_days_between() -> None:
    assert working_days_between(date(2026, 12, 23), date(2026, 12, 28)) == 1
    assert working_days_between(date(2026, 12, 28), date(2026, 12, 28)) == 0
    assert working_days_between(date(2026, 12, 30), date(2026, 12, 23)) == 0


# --- the digest over the long weekend ---


def test_one_digest_a_working_day_per_coordinator(db: Database, settings: Settings) -> None:
    people = _coordinators(db)
    late = _file(db, at(date(2026, 12, 23), 10))  # due 30 December
    other = _file(db, at(date(2026, 12, 23), 11), kelurahan="19 Ilir", category=Category.SMELL)
    forwarded = _file(db, at(date(2026, 12, 16), 9))
    _move(db, forwarded, Status.VERIFIED, at(date(2026, 12, 17), 9))
    _move(db, forwarded, Status.FORWARDED, at(date(2026, 12, 18), 15), forwarded_to="Dinas PUPR")
    fresh = _file(db, at(date(2026, 12, 29), 10))  # due 4 January 2027

    # Tuesday 29th: the forwarded one is due today, not late; the others are not due yet.
    assert _plan(db, at(date(2026, 12, 29), 9), settings) == {DIGEST_COUNT: 0, FLAGGED_COUNT: 0}
    # Wednesday 30th, 08:00: the forwarded one is late (its limit ended the 29th).
    assert _plan(db, at(date(2026, 12, 30), 7, 59), settings)[DIGEST_COUNT] == 0
    assert _plan(db, at(date(2026, 12, 30), 8), settings) == {DIGEST_COUNT: 1, FLAGGED_COUNT: 1}
    [first] = _digests(db)
    assert first.member_id == people["Rina"]
    assert first.key == digest_key(people["Rina"], date(2026, 12, 30))
    assert "Dinas PUPR" in first.text and "1 laporan" in first.text
    # Again the same day: nothing more (one key per coordinator per day, one flag per limit).
    assert _plan(db, at(date(2026, 12, 30), 16), settings) == {DIGEST_COUNT: 0, FLAGGED_COUNT: 0}

    # Thursday 31st: the two received on the 23rd are late too; Rina gets hers (23 Ilir: two
    # tickets), Ana hers (19 Ilir: one), each one message.
    assert _plan(db, at(date(2026, 12, 31), 8), settings) == {DIGEST_COUNT: 2, FLAGGED_COUNT: 2}
    today = [d for d in _digests(db) if d.key.endswith("2026-12-31")]
    by_member = {d.member_id: d for d in today}
    assert set(by_member) == {people["Rina"], people["Ana"]}
    rina, ana = by_member[people["Rina"]], by_member[people["Ana"]]
    assert "2 laporan" in rina.text
    with db.transaction() as session:
        codes = {i: session.get(Complaint, i).code for i in (late, other, forwarded, fresh)}  # type: ignore[union-attr]
    assert codes[late] in rina.text and codes[forwarded] in rina.text
    assert codes[other] not in rina.text and codes[fresh] not in rina.text
    assert codes[other] in ana.text and "overdue" in ana.text  # her language
    assert ana.template_vars == {"1": "1", "2": "Thursday, 31 December 2026"}
    assert _flags(db, late) and _flags(db, other) and len(_flags(db, forwarded)) == 1
    assert all(f.internal for f in _flags(db, late))

    # New Year's Day, Saturday, Sunday: no digest at all.
    for day in (date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)):
        assert _plan(db, at(day, 9), settings) == {DIGEST_COUNT: 0, FLAGGED_COUNT: 0}

    # Monday 4 January: still late, a new day's digest; the one verified meanwhile is gone.
    _move(db, other, Status.VERIFIED, at(date(2027, 1, 4), 7))
    assert _plan(db, at(date(2027, 1, 4), 8), settings) == {DIGEST_COUNT: 1, FLAGGED_COUNT: 0}
    [monday] = [d for d in _digests(db) if d.key.endswith("2027-01-04")]
    assert monday.member_id == people["Rina"] and codes[fresh] not in monday.text  # due today


def test_a_kelurahan_without_coordinator_goes_to_all(db: Database, settings: Settings) -> None:
    people = _coordinators(db)
    _file(db, at(date(2026, 12, 23), 10), kelurahan="24 Ilir")
    _file(db, at(date(2026, 12, 23), 10), kelurahan=None)
    assert _plan(db, at(date(2026, 12, 31), 8), settings)[DIGEST_COUNT] == 2
    assert {d.member_id for d in _digests(db)} == {people["Rina"], people["Ana"]}
    assert all("2 laporan" in d.text or "2 complaint" in d.text for d in _digests(db))


def test_the_digest_waits_for_the_end_of_the_quiet_hours(
    db: Database, make: Callable[..., Settings]
) -> None:
    _coordinators(db)
    _file(db, at(date(2026, 12, 23), 10))
    settings = make(wlcc_complaint_digest_time="05:00", wlcc_quiet_hours="21:00-06:00")
    assert _plan(db, at(date(2026, 12, 31), 5, 30), settings)[DIGEST_COUNT] == 0
    assert _plan(db, at(date(2026, 12, 31), 6), settings)[DIGEST_COUNT] == 1
    [digest] = _digests(db)
    assert digest.next_attempt_at.replace(tzinfo=UTC) >= at(date(2026, 12, 31), 6)


def test_no_digest_time_means_no_digest(db: Database, make: Callable[..., Settings]) -> None:
    _coordinators(db)
    _file(db, at(date(2026, 12, 23), 10))
    settings = make(wlcc_complaint_digest_time="")
    assert _plan(db, at(date(2026, 12, 31), 9), settings) == {DIGEST_COUNT: 0, FLAGGED_COUNT: 0}


def test_a_long_digest_names_the_first_and_counts_the_rest(
    db: Database, settings: Settings
) -> None:
    _coordinators(db)
    for n in range(DIGEST_LINES + 3):
        _file(db, at(date(2026, 12, 22), 8, n))
    assert _plan(db, at(date(2026, 12, 31), 8), settings) == {
        DIGEST_COUNT: 1,
        FLAGGED_COUNT: DIGEST_LINES + 3,
    }
    [digest] = _digests(db)
    assert digest.text.count("\n- ") == DIGEST_LINES
    assert "3 laporan lainnya" in digest.text
    assert len(digest.text) <= 1600  # one WhatsApp message


def test_overdue_tickets_are_what_the_cli_flags(db: Database, settings: Settings) -> None:
    late = _file(db, at(date(2026, 12, 23), 10))
    _file(db, at(date(2026, 12, 29), 10))
    with db.transaction() as session:
        found = overdue_tickets(session, today=date(2026, 12, 31), settings=settings)
        assert [o.complaint.id for o in found] == [late]
        assert found[0].deadline.days_late(date(2026, 12, 31)) == 1


def test_the_notice_job_plans_the_digest(db: Database, settings: Settings) -> None:
    _coordinators(db)
    _file(db, at(date(2026, 12, 23), 10))
    with db.transaction() as session:
        counts = plan_all(session, now=at(date(2026, 12, 31), 8), settings=settings)
    assert counts[DIGEST_COUNT] == 1 and counts[FLAGGED_COUNT] == 1
    with db.transaction() as session:
        counts = plan_all(session, now=at(date(2026, 12, 31), 8, 5), settings=settings)
    assert counts[DIGEST_COUNT] == 0 and counts[FLAGGED_COUNT] == 0
