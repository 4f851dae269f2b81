"""Monthly rules (storage/meetings_rules.py): the nth or last weekday, month ends, February, the
fifth weekday, holidays flagged with a suggestion, each occurrence made once."""

from __future__ import annotations

import threading
import time as clock
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from storage.db import Database
from storage.meetings import Meeting, MeetingError, MeetingRule, MeetingStatus, cancel_meeting
from storage.meetings_rules import (
    LAST,
    create_rule,
    ensure_occurrences,
    ensure_rule_occurrences,
    occurrences,
)
from tests.outbox_support import COMMUNITY
from wlcc.dates import holiday_name

ZONE = ZoneInfo("Asia/Jakarta")
SATURDAY, FRIDAY, TUESDAY = 5, 4, 1


def at(day: str, hour: int = 8) -> datetime:
    """A local moment, as aware UTC."""
    local = datetime.fromisoformat(day).replace(hour=hour, tzinfo=ZONE)
    return local.astimezone(UTC)


def rule(db: Database, now: datetime, **kwargs: object) -> int:
    values: dict[str, object] = {
        "community_id": COMMUNITY,
        "title": "Pertemuan bulanan",
        "weekday": SATURDAY,
        "nth": 2,
        "start": "09:00",
        "end": "12:00",
        "now": now,
        "zone": ZONE,
    }
    values.update(kwargs)
    with db.transaction() as session:
        made = create_rule(session, **values)  # type: ignore[arg-type]
        assert made.id is not None
        return made.id


def ensure(db: Database, now: datetime, months: int = 3) -> int:
    with db.transaction() as session:
        return ensure_occurrences(session, now=now, months=months, zone=ZONE)


def days(db: Database) -> list[date]:
    with db.transaction() as session:
        meetings = session.exec(select(Meeting).order_by(col(Meeting.starts_at))).all()
        return [m.starts_at.replace(tzinfo=UTC).astimezone(ZONE).date() for m in meetings]


def test_the_second_saturday_of_the_coming_three_months(db: Database) -> None:
    now = at("2026-01-05")
    rule(db, now)
    assert ensure(db, now) == 3
    assert days(db) == [date(2026, 1, 10), date(2026, 2, 14), date(2026, 3, 14)]
    with db.transaction() as session:
        first = session.exec(select(Meeting).order_by(col(Meeting.starts_at))).first()
        assert first is not None
        assert first.starts_at.replace(tzinfo=UTC) == at("2026-01-10", 9)
        assert first.ends_at is not None and first.ends_at.replace(tzinfo=UTC) == at(
            "2026-01-10", 12
        )
        assert first.occurrence == date(2026, 1, 10)
        assert first.title == "Pertemuan bulanan" and first.checkin_code
        assert first.holiday is None and first.suggested_date is None


def test_a_day_already_started_this_month_is_not_made(db: Database) -> None:
    now = at("2026-01-10", 10)  # the second Saturday, after 09.00
    rule(db, now)
    assert ensure(db, now) == 2  # up to 10 April
    assert days(db) == [date(2026, 2, 14), date(2026, 3, 14)]


def test_the_last_friday_at_month_ends(db: Database) -> None:
    now = at("2026-01-20")
    rule(db, now, weekday=FRIDAY, nth="last")
    ensure(db, now)
    assert days(db) == [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27)]
    with db.transaction() as session:
        [stored] = session.exec(select(MeetingRule)).all()
        assert stored.nth == LAST


def test_a_fifth_weekday_only_in_the_months_that_have_one(db: Database) -> None:
    """February 2028 has 29 days: its 29th is the only fifth Tuesday from January to April."""
    now = at("2028-01-15")
    rule(db, now, weekday=TUESDAY, nth=5)
    assert ensure(db, now) == 1
    assert days(db) == [date(2028, 2, 29)]


def test_a_rule_with_no_day_in_the_window_is_refused(db: Database) -> None:
    """No fifth Friday from February to the start of May 2026 (February has 28 days)."""
    with pytest.raises(MeetingError) as refused:
        rule(db, at("2026-02-01"), weekday=FRIDAY, nth=5)
    assert refused.value.code == "rule_no_day"
    with db.transaction() as session:
        assert session.exec(select(MeetingRule)).all() == []


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"weekday": 7}, "bad_weekday"),
        ({"nth": 0}, "bad_nth"),
        ({"nth": 6}, "bad_nth"),
        ({"nth": "first"}, "bad_nth"),
        ({"start": "9 pagi"}, "bad_time"),
        ({"start": "24:00"}, "bad_time"),
        ({"end": "08:00"}, "end_before_start"),
        ({"title": "  "}, "empty_title"),
        ({"kind": "arisan"}, "bad_kind"),
    ],
)
def test_bad_rules_are_refused_with_a_code(
    db: Database, kwargs: dict[str, object], code: str
) -> None:
    with pytest.raises(MeetingError) as refused:
        rule(db, at("2026-01-05"), **kwargs)
    assert refused.value.code == code


def test_a_holiday_is_flagged_with_a_suggestion_never_moved(db: Database) -> None:
    """Christmas 2026 is the last Friday of December."""
    now = at("2026-12-01")
    rule(db, now, weekday=FRIDAY, nth=LAST)
    ensure(db, now)
    with db.transaction() as session:
        meetings = session.exec(select(Meeting).order_by(col(Meeting.starts_at))).all()
        christmas = meetings[0]
        assert christmas.occurrence == date(2026, 12, 25)
        assert christmas.starts_at.replace(tzinfo=UTC) == at("2026-12-25", 9)  # kept
        assert christmas.holiday == holiday_name(date(2026, 12, 25))
        assert christmas.holiday
        suggested = christmas.suggested_date
        assert suggested is not None and suggested != date(2026, 12, 25)
        assert holiday_name(suggested) is None
        for other in meetings[1:]:
            assert other.occurrence is not None
            assert (other.holiday is None) == (holiday_name(other.occurrence) is None)


def test_each_occurrence_is_made_once_and_a_cancelled_one_never_again(db: Database) -> None:
    now = at("2026-01-05")
    rule(db, now)
    assert ensure(db, now) == 3
    assert ensure(db, now) == 0  # a restart, a second run: nothing twice
    with db.transaction() as session:
        february = session.exec(
            select(Meeting).where(Meeting.occurrence == date(2026, 2, 14))
        ).one()
        cancel_meeting(session, february, now=now)
    assert ensure(db, now + timedelta(hours=1)) == 0
    with db.transaction() as session:
        again = session.exec(select(Meeting).where(Meeting.occurrence == date(2026, 2, 14))).all()
        assert [m.status for m in again] == [MeetingStatus.CANCELLED]
    # A month later the window has moved on by one month.
    assert ensure(db, at("2026-02-05")) == 1
    assert days(db)[-1] == date(2026, 4, 11)


def test_inactive_rules_make_nothing_and_months_is_the_window(db: Database) -> None:
    now = at("2026-01-05")
    first = rule(db, now)
    rule(db, now, weekday=FRIDAY, nth=1, title="Pelatihan", kind="pelatihan")
    with db.transaction() as session:
        stored = session.get(MeetingRule, first)
        assert stored is not None
        stored.active = False
        session.add(stored)
    assert ensure(db, now, months=2) == 1  # up to 5 March: the first Friday of February
    with db.transaction() as session:
        [made] = session.exec(select(Meeting)).all()
        assert (made.title, made.kind) == ("Pelatihan", "pelatihan")
        assert made.occurrence == date(2026, 2, 6)


def test_the_rule_keeps_place_and_kelurahan(db: Database) -> None:
    now = at("2026-01-05")
    rule_id = rule(db, now, place="Balai  23 Ilir", kelurahan=["23 Ilir", "23 ilir", "24 Ilir"])
    with db.transaction() as session:
        stored = session.get(MeetingRule, rule_id)
        assert stored is not None
        made = ensure_rule_occurrences(session, stored, now=now, months=3, zone=ZONE)
        assert [m.place for m in made] == ["Balai 23 Ilir"] * 3
        assert all(m.kelurahan == ["23 Ilir", "24 Ilir"] for m in made)
        assert [o.day for o in occurrences(stored, now=now, months=3, zone=ZONE)] == [
            m.occurrence for m in made
        ]


def test_two_schedulers_make_each_meeting_once(db: Database) -> None:
    """On PostgreSQL two planners run at once: the second waits on the unique key, then makes
    nothing."""
    if db.is_sqlite:
        pytest.skip("one writer at a time on SQLite")
    now = at("2026-01-05")
    rule(db, now)
    second: list[int] = []

    def other() -> None:
        second.append(ensure(db, now))

    with db.transaction() as session:
        assert ensure_occurrences(session, now=now, months=3, zone=ZONE) == 3
        thread = threading.Thread(target=other)
        thread.start()
        clock.sleep(0.5)  # the other planner is waiting on our uncommitted rows
    thread.join(timeout=30)
    assert second == [0]
    assert len(days(db)) == 3


def test_the_notice_jobs_call_needs_no_zone(db: Database, clean_env: None) -> None:
    """The notice job calls ensure_occurrences(session, now=..., months=...): WLCC_TIMEZONE
    (Asia/Jakarta by default) is the rules' zone."""
    now = at("2026-01-05")
    rule(db, now)
    with db.transaction() as session:
        assert ensure_occurrences(session, now=now, months=1) == 1
    with db.transaction() as session:
        [meeting] = session.exec(select(Meeting)).all()
        assert meeting.starts_at.replace(tzinfo=UTC) == at("2026-01-10", 9)
