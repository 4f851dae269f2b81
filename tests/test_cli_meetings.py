"""``wlcc meetings``: add, recur, list, cancel, move, attendance (CSV), as an operator runs them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner, Result

from cli.main import app
from storage.db import Database
from storage.meetings import (
    Answer,
    Meeting,
    MeetingRule,
    MeetingStatus,
    answer_rsvp,
    get_meeting,
    record_attendance,
)
from storage.models import OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.formatting import utcnow

ZONE = ZoneInfo("Asia/Jakarta")
runner = CliRunner()


@pytest.fixture
def env(database_url: str, clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return database_url


def wlcc(*args: str) -> Result:
    return runner.invoke(app, ["meetings", *args])


def local_day(days: int) -> date:
    return (datetime.now(ZONE) + timedelta(days=days)).date()


def meeting_ids(db: Database) -> list[int]:
    with db.transaction() as session:
        return [m.id for m in session.exec(select(Meeting).order_by(col(Meeting.id))) if m.id]


def test_add_prints_the_id_and_stores_local_time_as_utc(env, db: Database) -> None:
    day = local_day(10)
    result = wlcc(
        "add",
        "--title",
        "Pertemuan bulanan",
        "--start",
        f"{day} 09:00",
        "--end",
        "12:00",
        "--place",
        "Balai 23 Ilir",
        "--kelurahan",
        "23 Ilir",
        "--kelurahan",
        "24 Ilir",
    )
    assert result.exit_code == 0, result.output
    [meeting_id] = meeting_ids(db)
    assert result.output.startswith(f"Created meeting {meeting_id}: #{meeting_id} | ")
    assert "09:00-12:00 WIB | pertemuan | Pertemuan bulanan | Balai 23 Ilir" in result.output
    assert "23 Ilir, 24 Ilir" in result.output
    with db.transaction() as session:
        meeting = get_meeting(session, COMMUNITY, meeting_id)
        assert meeting is not None
        start = datetime.combine(day, datetime.min.time().replace(hour=9), ZONE)
        assert meeting.starts_at.replace(tzinfo=UTC) == start.astimezone(UTC)
        assert meeting.ends_at is not None
        assert meeting.ends_at.replace(tzinfo=UTC) == (start + timedelta(hours=3)).astimezone(UTC)
        assert meeting.kelurahan == ["23 Ilir", "24 Ilir"]
        assert meeting.checkin_code


def test_add_a_training_with_seats(env, db: Database) -> None:
    result = wlcc(
        "add",
        "--title",
        "Pelatihan menjahit",
        "--start",
        f"{local_day(5)} 13:00",
        "--kind",
        "pelatihan",
        "--seats",
        "12",
    )
    assert result.exit_code == 0, result.output
    assert "pelatihan | Pelatihan menjahit | everyone | 12 seat(s)" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--start", "2020-01-04 09:00"], "Refused: that time has already passed"),
        (["--start", "2027-02-31 09:00"], "Not a date and time: '2027-02-31 09:00'"),
        (["--start", "Sabtu jam 9"], "Write it as YYYY-MM-DD HH:MM"),
        (["--start", "{day} 09:00", "--end", "08:00"], "the end must be after the start"),
        (["--start", "{day} 09:00", "--end", "25:00"], "Not a time: '25:00'"),
        (["--start", "{day} 09:00", "--seats", "5"], "seats are for a training"),
        (["--start", "{day} 09:00", "--kind", "arisan"], "the kind must be pertemuan"),
    ],
)
def test_add_refuses_bad_input_clearly(env, db: Database, args: list[str], message: str) -> None:
    args = [a.replace("{day}", str(local_day(3))) for a in args]
    result = wlcc("add", "--title", "Rapat", *args)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert meeting_ids(db) == []


def test_add_on_a_public_holiday_flags_it_with_a_suggestion(env, db: Database) -> None:
    year = datetime.now(ZONE).year + 1
    result = wlcc("add", "--title", "Rapat", "--start", f"{year}-08-17 09:00")
    assert result.exit_code == 0, result.output
    assert "a public holiday: " in result.output
    assert "suggested instead: " in result.output
    with db.transaction() as session:
        [meeting] = session.exec(select(Meeting)).all()
        assert meeting.holiday and meeting.suggested_date is not None
        assert meeting.suggested_date != date(year, 8, 17)
        assert meeting.starts_at.replace(tzinfo=UTC).astimezone(ZONE).date() == date(
            year, 8, 17
        )  # kept: the coordinators decide


def test_list_cancel_and_move_tell_who_answered(env, db: Database) -> None:
    wlcc("add", "--title", "Pertemuan A", "--start", f"{local_day(4)} 09:00", "--end", "11:00")
    wlcc("add", "--title", "Pertemuan B", "--start", f"{local_day(2)} 15:00")
    first, second = meeting_ids(db)
    with db.transaction() as session:
        siti = add_member(session, "Siti", phone(1), kelurahan="19 Ilir")
        ani = add_member(session, "Ani", phone(2), kelurahan="19 Ilir", language="en")
        meeting = get_meeting(session, COMMUNITY, first)
        assert meeting is not None
        answer_rsvp(session, meeting, siti, Answer.YES, now=utcnow())
        answer_rsvp(session, meeting, ani, Answer.MAYBE, now=utcnow())
    listed = wlcc("list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert [line.split(" | ")[0] for line in lines] == [f"#{second}", f"#{first}"]  # soonest first
    assert lines[1].endswith("| planned | yes 1, maybe 1, no 0, no answer 0")

    new_day = local_day(6)
    moved = wlcc("move", str(first), "--start", f"{new_day} 10:00")
    assert moved.exit_code == 0, moved.output
    assert f"Moved meeting {first} to " in moved.output
    assert "10:00-12:00 WIB; 2 member(s) who answered will be told." in moved.output
    with db.transaction() as session:
        meeting = get_meeting(session, COMMUNITY, first)
        assert meeting is not None and meeting.status == MeetingStatus.MOVED
        notices = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        assert len(notices) == 2
        english = next(n for n in notices if n.member_id == ani.id)
        assert english.text.startswith('Schedule change: "Pertemuan A"') or "Pertemuan A" in (
            english.text
        )

    cancelled = wlcc("cancel", str(first))
    assert cancelled.exit_code == 0, cancelled.output
    assert f"Cancelled meeting {first} (Pertemuan A); 2 member(s)" in cancelled.output
    again = wlcc("cancel", str(first))
    assert again.exit_code == 1
    assert "Refused: it is already cancelled or done." in again.output
    assert wlcc("list").output.count(" | ") > 0
    assert f"#{first}" not in wlcc("list").output
    assert f"#{first}" in wlcc("list", "--all").output


@pytest.mark.parametrize("command", [["cancel", "999"], ["move", "999", "--start", "{day} 09:00"]])
def test_an_unknown_id_is_refused(env, db: Database, command: list[str]) -> None:
    result = wlcc(*[a.replace("{day}", str(local_day(3))) for a in command])
    assert result.exit_code == 1
    assert "No meeting 999: `wlcc meetings list` shows their ids." in result.output


def test_move_to_the_past_or_an_impossible_day_is_refused(env, db: Database) -> None:
    wlcc("add", "--title", "Rapat", "--start", f"{local_day(4)} 09:00")
    [meeting_id] = meeting_ids(db)
    past = wlcc("move", str(meeting_id), "--start", "2020-01-01 09:00")
    assert past.exit_code == 1 and "already passed" in past.output
    impossible = wlcc("move", str(meeting_id), "--start", "2027-02-30 09:00")
    assert impossible.exit_code == 2 and "the day must exist" in impossible.output
    with db.transaction() as session:
        meeting = get_meeting(session, COMMUNITY, meeting_id)
        assert meeting is not None and meeting.status == MeetingStatus.PLANNED


def test_attendance_as_csv_to_stdout_and_to_a_file(env, db: Database, tmp_path: Path) -> None:
    wlcc("add", "--title", "Rapat", "--start", f"{local_day(1)} 09:00", "--kelurahan", "19 Ilir")
    [meeting_id] = meeting_ids(db)
    with db.transaction() as session:
        meeting = get_meeting(session, COMMUNITY, meeting_id)
        assert meeting is not None
        siti = add_member(session, "Siti Aminah", phone(1), kelurahan="19 Ilir")
        ani = add_member(session, "Ani", phone(2), kelurahan="19 Ilir")
        add_member(session, "Dewi", phone(3), kelurahan="19 Ilir")
        yuni = add_member(session, "Yuni", phone(4), kelurahan="24 Ilir")  # not invited
        answer_rsvp(session, meeting, siti, Answer.YES, now=utcnow())
        answer_rsvp(session, meeting, ani, Answer.NO, now=utcnow())
        record_attendance(session, meeting, [siti.id or 0], method="code", now=utcnow())
        record_attendance(session, meeting, [yuni.id or 0], method="marked", now=utcnow())
    result = wlcc("attendance", str(meeting_id))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [
        ["name", "phone", "kelurahan", "answer", "attended", "method"],
        ["Ani", phone(2), "19 Ilir", "no", "no", ""],
        ["Dewi", phone(3), "19 Ilir", "", "no", ""],
        ["Siti Aminah", phone(1), "19 Ilir", "yes", "yes", "code"],
        ["Yuni", phone(4), "24 Ilir", "", "yes", "marked"],
    ]
    out = tmp_path / "hadir.csv"
    written = wlcc("attendance", str(meeting_id), "-o", str(out))
    assert written.exit_code == 0, written.output
    assert f"Wrote 4 row(s) to {out}" in " ".join(written.output.split())
    assert out.read_text(encoding="utf-8") == result.stdout
    assert wlcc("attendance", "999").exit_code == 1


def test_recur_makes_the_coming_months_and_flags_holidays(env, db: Database) -> None:
    result = wlcc(
        "recur",
        "--title",
        "Pertemuan bulanan",
        "--weekday",
        "saturday",
        "--nth",
        "2",
        "--start",
        "09:00",
        "--end",
        "12:00",
        "--place",
        "Balai",
    )
    assert result.exit_code == 0, result.output
    assert "the #2 saturday of every month, 09:00-12:00" in result.output
    with db.transaction() as session:
        [rule] = session.exec(select(MeetingRule)).all()
        meetings = session.exec(select(Meeting).order_by(col(Meeting.starts_at))).all()
    assert (rule.weekday, rule.nth, rule.start_time, rule.end_time) == (5, 2, "09:00", "12:00")
    assert 3 <= len(meetings) <= 4
    for meeting in meetings:
        day = meeting.starts_at.replace(tzinfo=UTC).astimezone(ZONE)
        assert day.weekday() == 5 and 8 <= day.day <= 14 and day.hour == 9
        assert f"#{meeting.id} | " in result.output
    # Again: the same days are not made twice.
    wlcc("recur", "--title", "Lain", "--weekday", "sabtu", "--nth", "last", "--start", "10:00")
    with db.transaction() as session:
        assert len(session.exec(select(MeetingRule)).all()) == 2
        last = session.exec(select(Meeting).where(Meeting.title == "Lain")).all()
        assert all(
            (m.starts_at.replace(tzinfo=UTC).astimezone(ZONE) + timedelta(days=7)).month
            != m.starts_at.replace(tzinfo=UTC).astimezone(ZONE).month
            for m in last
        )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--weekday", "caturday", "--nth", "2"], "Unknown weekday 'caturday'"),
        (["--weekday", "saturday", "--nth", "6"], "Unknown --nth '6'"),
        (["--weekday", "saturday", "--nth", "2", "--start", "9 pagi"], "times are HH:MM"),
    ],
)
def test_recur_refuses_bad_input(env, db: Database, args: list[str], message: str) -> None:
    if "--start" not in args:
        args = [*args, "--start", "09:00"]
    result = wlcc("recur", "--title", "Rapat", *args)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    with db.transaction() as session:
        assert session.exec(select(MeetingRule)).all() == []


def test_every_command_has_help(env) -> None:
    for command in ("add", "recur", "list", "cancel", "move", "attendance"):
        result = wlcc(command, "--help")
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_an_unmigrated_database_is_named(clean_env, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.chdir(tmp_path)
    result = wlcc("list")
    assert result.exit_code == 1
    assert "is not migrated: run `wlcc db upgrade` first." in " ".join(result.output.split())
