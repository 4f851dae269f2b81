"""The console's meetings pages as a coordinator uses them: the lists, planning a meeting or a
monthly rule, moving and cancelling one (the members' notices in the outbox), a meeting's answers,
attendance (and its CSV), roles and themes; and every way it must refuse, with nothing changed."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli_app
from storage.db import Database
from storage.meetings import (
    Answer,
    Attendance,
    Meeting,
    MeetingKind,
    MeetingRole,
    MeetingRule,
    MeetingStatus,
    RoleStatus,
    ThemeSuggestion,
    answer_rsvp,
    create_meeting,
    get_meeting,
    headcount,
    new_checkin_code,
    record_attendance,
)
from storage.meetings_lists import attendance_csv, counts_of
from storage.meetings_notices import plan_all
from storage.meetings_themes import open_poll, suggest, vote
from storage.models import AuditLog, Member, OutboxMessage
from tests.console_support import Console, add_staff
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.formatting import utcnow
from wlcc.settings import Settings

ZONE = ZoneInfo("Asia/Jakarta")
PAGES = ("/console/meetings", "/console/meetings/new")


# --- helpers ---


def local_day(days: int) -> date:
    return (datetime.now(ZONE) + timedelta(days=days)).date()


def at(days: int, hour: int = 9) -> datetime:
    """09.00 local, ``days`` from today, in UTC."""
    return (
        datetime.combine(local_day(days), datetime.min.time(), ZONE)
        .replace(hour=hour)
        .astimezone(UTC)
    )


def members(db: Database) -> list[int]:
    """Three members: Siti (yes), Ani (English, no answer yet), Budi (kelurahan 24 Ilir)."""
    with db.transaction() as session:
        people = [
            add_member(session, "Siti Aminah", phone(11), kelurahan="23 Ilir", telegram="9011"),
            add_member(session, "Ani Lestari", phone(12), kelurahan="23 Ilir", language="en"),
            add_member(session, "Budi Santoso", phone(13), kelurahan="24 Ilir", telegram="9013"),
        ]
        return [m.id for m in people if m.id is not None]


def meeting(db: Database, days: int = 10, **fields: Any) -> int:
    with db.transaction() as session:
        values: dict[str, Any] = {"title": "Pertemuan bulanan", "place": "Balai RW 03"}
        values.update(fields)
        made = create_meeting(
            session, community_id=COMMUNITY, starts_at=at(days), now=utcnow(), **values
        )
        assert made.id is not None
        return made.id


def past_meeting(db: Database, hours_ago: int = 2, **fields: Any) -> int:
    """A meeting that started ``hours_ago`` (create_meeting refuses the past)."""
    with db.transaction() as session:
        start = utcnow() - timedelta(hours=hours_ago)
        row = Meeting(
            community_id=COMMUNITY,
            title=fields.pop("title", "Pertemuan lalu"),
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            checkin_code=new_checkin_code(),
            **fields,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def answer(db: Database, meeting_id: int, member_id: int, what: str) -> None:
    with db.transaction() as session:
        found = session.get(Meeting, meeting_id)
        person = session.get(Member, member_id)
        assert found is not None and person is not None
        answer_rsvp(session, found, person, what, now=utcnow())


def coordinator(db: Database, client: TestClient) -> Console:
    add_staff(db, "coordinator")
    return Console(client).login(db, "coordinator")


def audits(db: Database, action: str) -> list[AuditLog]:
    with db.transaction() as session:
        return list(
            session.exec(
                select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id))
            )
        )


def outbox(db: Database, prefix: str) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.key).startswith(prefix))
                .order_by(col(OutboxMessage.member_id))
            )
        )


def count(db: Database, table: Any) -> int:
    with db.transaction() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def new_form(**overrides: str) -> dict[str, Any]:
    form: dict[str, Any] = {
        "kind": "pertemuan",
        "title": "Pertemuan Maret",
        "date": local_day(12).isoformat(),
        "start": "09:00",
        "end": "12:00",
        "place": "Balai RW 03",
        "seats": "",
    }
    form.update(overrides)
    return form


# --- the list ---


def test_the_list_shows_coming_and_past_meetings_with_their_counts(
    db: Database, client: TestClient
) -> None:
    console = coordinator(db, client)
    siti, ani, budi = members(db)
    coming = meeting(db, 10, title="Pertemuan April")
    answer(db, coming, siti, Answer.YES)
    answer(db, coming, budi, Answer.MAYBE)
    gone = past_meeting(db, 48, title="Pertemuan Februari")
    with db.transaction() as session:
        found = session.get(Meeting, gone)
        assert found is not None
        record_attendance(session, found, [siti, ani], method="marked", now=utcnow())
    page = console.get("/console/meetings")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Acara yang akan datang" in text and "Acara yang sudah lewat" in text
    assert f'href="/console/meetings/{coming}"' in text and "Pertemuan April" in text
    assert "Pertemuan Februari" in text and "WIB" in text
    assert "Pertemuan bulanan" in text  # its kind
    coming_row = re.search(r"Pertemuan April.*?</tr>", text, re.S)
    assert coming_row is not None
    # yes 1, no 0, maybe 1, no answer: Ani and the coordinator herself (a member too)
    assert re.findall(r'<td class="num">(\d+)</td>', coming_row.group(0)) == ["1", "0", "1", "2"]
    past_row = re.search(r"Pertemuan Februari.*?</tr>", text, re.S)
    assert past_row is not None
    assert re.findall(r'<td class="num">(\d+)</td>', past_row.group(0))[-1] == "2"  # came
    assert 'href="/console/meetings/new"' in text


def test_the_counts_are_the_headcount(db: Database) -> None:
    """counts_of groups in SQL what storage.meetings.headcount counts member by member."""
    siti, ani, budi = members(db)
    one = meeting(db, 5)
    other = meeting(db, 6, kelurahan=["24 Ilir"], title="Untuk 24 Ilir")
    answer(db, one, siti, Answer.YES)
    answer(db, one, ani, Answer.NO)
    answer(db, other, budi, Answer.MAYBE)
    with db.transaction() as session:
        rows = [session.get(Meeting, i) for i in (one, other)]
        found = [m for m in rows if m is not None]
        counted = counts_of(session, found)
        for m in found:
            truth = headcount(session, m)
            mine = counted[m.id or 0]
            assert (mine.yes, mine.no, mine.maybe, mine.none, mine.waiting) == (
                truth.yes,
                truth.no,
                truth.maybe,
                truth.none,
                truth.waiting,
            )


def test_the_list_pages(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    for day in range(25):
        meeting(db, day + 2, title=f"Acara {day:02d}")
    first = console.get("/console/meetings")
    assert "Acara 00" in first.text and "Acara 24" not in first.text
    assert 'href="?past=1&amp;page=2"' in first.text
    second = console.get("/console/meetings?page=2")
    assert second.status_code == 200
    assert "Acara 24" in second.text and "Acara 00" not in second.text
    for wrong in ("?page=3", "?page=0", "?page=abc", "?past=2"):
        answer_page = console.get("/console/meetings" + wrong)
        assert answer_page.status_code == 404, wrong
        assert "di luar jangkauan" in answer_page.text


# --- planning ---


def test_a_coordinator_plans_a_meeting(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    members(db)
    form = console.get("/console/meetings/new")
    assert form.status_code == 200
    assert 'name="csrf"' in form.text and '<label for="one-title">' in form.text
    assert "23 Ilir (2)" in form.text  # the kelurahan to choose from
    day = local_day(12)
    answer_page = console.post("/console/meetings", {**new_form(), "kelurahan": ["23 Ilir"]})
    assert answer_page.status_code == 303, answer_page.text
    location = answer_page.headers["location"]
    meeting_id = int(re.search(r"/console/meetings/(\d+)\?done=created", location).group(1))  # type: ignore[union-attr]
    with db.transaction() as session:
        made = session.get(Meeting, meeting_id)
        assert made is not None
        assert made.title == "Pertemuan Maret" and made.kind == MeetingKind.MEETING
        assert made.starts_at.replace(tzinfo=UTC) == datetime.combine(
            day, datetime.min.time().replace(hour=9), ZONE
        ).astimezone(UTC)
        assert made.ends_at is not None and made.place == "Balai RW 03"
        assert made.kelurahan == ["23 Ilir"] and made.created_by_member_id is not None
    [entry] = audits(db, "meeting.create")
    assert entry.target == f"meeting:{meeting_id}" and entry.channel == "console"
    page = console.get(location)
    assert page.status_code == 200
    assert "Tersimpan. Pengumuman dikirim otomatis" in page.text


def test_a_training_with_seats(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    answer_page = console.post(
        "/console/meetings", new_form(kind="pelatihan", title="Pelatihan menjahit", seats="12")
    )
    assert answer_page.status_code == 303
    with db.transaction() as session:
        made = session.exec(select(Meeting)).one()
        assert made.kind == MeetingKind.TRAINING and made.seats == 12


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date": "2026-02-31"}, "Tanggalnya tidak bisa dibaca"),
        ({"date": "12/12/2026"}, "Tanggalnya tidak bisa dibaca"),
        ({"date": (date.today() - timedelta(days=3)).isoformat()}, "Waktu itu sudah lewat"),
        ({"start": "25:00"}, "Jamnya ditulis seperti 09.00"),
        ({"end": "08:00"}, "Jam selesai harus sesudah jam mulai"),
        ({"title": "   "}, "Judul atau tema tidak boleh kosong"),
        ({"title": "x" * 201}, "Judulnya terlalu panjang: 201 huruf"),
        ({"seats": "10"}, "Jumlah kursi hanya untuk pelatihan"),
        ({"kind": "pelatihan", "seats": "nol"}, "Jumlah kursi harus angka 1 sampai 1000"),
        ({"kind": "arisan"}, "Jenisnya harus pertemuan atau pelatihan"),
        ({"place": "p" * 301}, "Nama tempatnya terlalu panjang"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(
    db: Database, client: TestClient, overrides: dict[str, str], message: str
) -> None:
    console = coordinator(db, client)
    form = new_form(title="Tema yang diketik", **{"place": "Balai"}) | overrides
    page = console.post("/console/meetings", form)
    assert page.status_code == 422, page.text
    assert "Belum ada yang disimpan" in page.text
    assert message in page.text, page.text
    if "title" not in overrides:
        assert 'value="Tema yang diketik"' in page.text  # what she typed is kept
    assert 'aria-invalid="true"' in page.text
    assert count(db, Meeting) == 0
    assert not audits(db, "meeting.create")


def test_planning_in_the_console_plans_the_announcement_the_cli_would(
    db: Database,
    client: TestClient,
    settings: Settings,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    console = coordinator(db, client)
    members(db)
    day = local_day(3)  # within WLCC_ANNOUNCE_DAYS_BEFORE: announced at once
    web = console.post("/console/meetings", new_form(date=day.isoformat(), title="Kompos"))
    assert web.status_code == 303
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli_app,
        [
            "meetings",
            "add",
            "--title",
            "Kompos",
            "--start",
            f"{day.isoformat()} 09:00",
            "--end",
            "12:00",
            "--place",
            "Balai RW 03",
        ],
    )
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        web_id, cli_id = [m.id for m in session.exec(select(Meeting).order_by(col(Meeting.id)))]
        planned = plan_all(session, now=utcnow(), settings=settings)
    assert planned["announcement"] == 8  # four members each

    def announced(meeting_id: int | None) -> list[tuple[Any, ...]]:
        return [
            (
                row.kind,
                row.member_id,
                row.text,
                [[word.replace(f"#{meeting_id}", "#ID"), label] for word, label in row.choices],
                row.template_vars,
                row.next_attempt_at,
            )
            for row in outbox(db, f"meeting:{meeting_id}:rev:0:announcement:")
        ]

    assert announced(web_id) == announced(cli_id)
    assert len(announced(web_id)) == 4
    english = [row for row in announced(web_id) if row[2].startswith("Invitation to the")]
    assert len(english) == 1  # Ani's, in English


def test_a_monthly_rule_makes_the_coming_meetings(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    form = {
        "kind": "pertemuan",
        "title": "Pertemuan bulanan",
        "weekday": "5",
        "nth": "2",
        "start": "09:00",
        "end": "12:00",
        "place": "Balai",
    }
    answer_page = console.post("/console/meetings/rules", form)
    assert answer_page.status_code == 303, answer_page.text
    with db.transaction() as session:
        rule = session.exec(select(MeetingRule)).one()
        made = list(session.exec(select(Meeting).where(Meeting.rule_id == rule.id)))
    assert (rule.weekday, rule.nth, rule.start_time, rule.end_time) == (5, 2, "09:00", "12:00")
    assert 2 <= len(made) <= 3
    for m in made:
        local = m.starts_at.replace(tzinfo=UTC).astimezone(ZONE)
        assert local.weekday() == 5 and 8 <= local.day <= 14 and local.hour == 9
    assert answer_page.headers["location"] == f"/console/meetings?rule={rule.id}"
    page = console.get(answer_page.headers["location"])
    assert "Aturan bulanan tersimpan" in page.text and "hari Sabtu kedua setiap bulan" in page.text
    assert f"{len(made)} acara untuk 3 bulan" in page.text
    [entry] = audits(db, "meeting.rule")
    assert entry.target == f"meeting_rule:{rule.id}"
    last = console.post("/console/meetings/rules", {**form, "nth": "last", "weekday": "4"})
    assert last.status_code == 303
    for wrong in ("999", "x", "9" * 30):
        missing = console.get(f"/console/meetings?rule={wrong}")
        assert missing.status_code == 404 and "Aturan bulanan ini tidak ada" in missing.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"weekday": "7"}, "Harinya tidak dikenal"),
        ({"nth": "6"}, "Urutan minggunya harus 1 sampai 5"),
        ({"start": "pagi"}, "Jamnya ditulis seperti 09.00"),
        ({"end": "08:00"}, "Jam selesai harus sesudah jam mulai"),
        ({"title": ""}, "Judul atau tema tidak boleh kosong"),
    ],
)
def test_a_bad_rule_is_shown_on_its_form(
    db: Database, client: TestClient, overrides: dict[str, str], message: str
) -> None:
    console = coordinator(db, client)
    form = {"kind": "pertemuan", "title": "Rapat", "weekday": "5", "nth": "2", "start": "09:00"}
    page = console.post("/console/meetings/rules", form | overrides)
    assert page.status_code == 422
    assert message in page.text, page.text
    assert count(db, MeetingRule) == 0 and count(db, Meeting) == 0


# --- one meeting ---


def test_a_meetings_page_lists_who_answered_what(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    siti, _, budi = members(db)
    meeting_id = meeting(db, 10)
    answer(db, meeting_id, siti, Answer.YES)
    answer(db, meeting_id, budi, Answer.NO)
    page = console.get(f"/console/meetings/{meeting_id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "<h1>Pertemuan bulanan</h1>" in text and "Balai RW 03" in text
    assert "Kata kode hadir" in text
    siti_row = re.search(r"Siti Aminah</th>.*?</tr>", text, re.S)
    assert siti_row is not None and "<td>Hadir</td>" in siti_row.group(0)
    assert re.search(r"Ani Lestari</th>.*?<td>Belum menjawab</td>", text, re.S)
    assert re.search(r"Budi Santoso</th>.*?<td>Tidak bisa</td>", text, re.S)
    # Only those who said no:
    only_no = console.get(f"/console/meetings/{meeting_id}?answer=no")
    assert "Budi Santoso</th>" in only_no.text and "Siti Aminah</th>" not in only_no.text
    assert console.get(f"/console/meetings/{meeting_id}?answer=banyak").status_code == 404
    # Its day has not come: nobody can be ticked yet.
    assert 'name="member"' not in text
    assert "Kehadiran bisa dicatat mulai hari acara" in text
    # English
    client.cookies.set("wlcc_console_lang", "en")
    english = console.get(f"/console/meetings/{meeting_id}")
    assert "The members&#39; answers" in english.text and "No answer" in english.text


@pytest.mark.parametrize("wrong", ["999", "abc", "99999999999999999999", "-1", "1.5"])
def test_an_unknown_meeting_is_a_404_page(db: Database, client: TestClient, wrong: str) -> None:
    console = coordinator(db, client)
    meeting(db)
    for path in (f"/console/meetings/{wrong}", f"/console/meetings/{wrong}/attendance.csv"):
        page = console.get(path)
        assert page.status_code == 404, path
        assert "Acara ini tidak ada" in page.text
    for action in ("attendance", "cancel", "move", "roles", "theme"):
        page = console.post(f"/console/meetings/{wrong}/{action}", {"confirm": "yes"})
        assert page.status_code in (404, 422), action
        assert page.status_code == 404 or "Tidak ada yang diubah" in page.text


def test_marking_who_came(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    siti, ani, budi = members(db)
    meeting_id = past_meeting(db, 1)
    with db.transaction() as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None
        record_attendance(session, found, [budi], method="code", now=utcnow())
    page = console.get(f"/console/meetings/{meeting_id}")
    assert f'id="came-{siti}"' in page.text and f'id="came-{budi}"' not in page.text
    assert "Datang (lewat kata kode)" in page.text
    done = console.post(f"/console/meetings/{meeting_id}/attendance", {"member": [siti, ani]})
    assert done.status_code == 303, done.text
    with db.transaction() as session:
        rows = {a.member_id: a for a in session.exec(select(Attendance))}
    assert set(rows) == {siti, ani, budi}
    assert rows[siti].method == "marked" and rows[siti].recorded_by_member_id is not None
    [entry] = audits(db, "meeting.attendance")
    assert entry.detail == {"marked": [siti, ani], "new": 2}
    after = console.get(done.headers["location"])
    assert "2 orang baru dicatat" in after.text
    # Again: nothing new, nothing twice.
    console.post(f"/console/meetings/{meeting_id}/attendance", {"member": [siti]})
    assert count(db, Attendance) == 3
    # Nobody ticked, or someone who is not on the list: refused.
    nobody = console.post(f"/console/meetings/{meeting_id}/attendance", {})
    assert nobody.status_code == 422 and "Centang dulu siapa yang datang" in nobody.text
    stranger = console.post(f"/console/meetings/{meeting_id}/attendance", {"member": "99999"})
    assert stranger.status_code == 422
    assert count(db, Attendance) == 3


def test_attendance_cannot_be_marked_before_the_day_or_when_cancelled(
    db: Database, client: TestClient
) -> None:
    console = coordinator(db, client)
    siti, _, _ = members(db)
    coming = meeting(db, 5)
    cancelled = past_meeting(db, 1, status=MeetingStatus.CANCELLED)
    for meeting_id in (coming, cancelled):
        page = console.post(f"/console/meetings/{meeting_id}/attendance", {"member": siti})
        assert page.status_code == 422
        assert "Kehadiran belum bisa dicatat" in page.text
    assert count(db, Attendance) == 0


def test_the_attendance_csv_is_the_clis(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    siti, _, _ = members(db)
    with db.transaction() as session:
        add_member(session, "=HYPERLINK(1)", phone(14), kelurahan="23 Ilir")
    meeting_id = past_meeting(db, 1)
    with db.transaction() as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None
        record_attendance(session, found, [siti], method="marked", now=utcnow())
    answer_file = console.get(f"/console/meetings/{meeting_id}/attendance.csv")
    assert answer_file.status_code == 200
    assert answer_file.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer_file.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer_file.text)))
    assert rows[0] == ["name", "phone", "kelurahan", "answer", "attended", "method"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Siti Aminah"][3:] == ["", "yes", "marked"]
    assert by_name["Ani Lestari"][1] == phone(12)  # a phone number is kept as it is
    assert "'=HYPERLINK(1)" in by_name  # never run as a formula
    with db.transaction() as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None
        assert answer_file.text == attendance_csv(session, found)
    assert audits(db, "meeting.attendance_export")


def test_cancelling_tells_who_answered(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    siti, ani, _ = members(db)
    meeting_id = meeting(db, 10)
    answer(db, meeting_id, siti, Answer.YES)
    answer(db, meeting_id, ani, Answer.MAYBE)
    page = console.get(f"/console/meetings/{meeting_id}")
    assert "2 anggota yang sudah menjawab akan diberi tahu" in page.text
    unconfirmed = console.post(f"/console/meetings/{meeting_id}/cancel", {})
    assert unconfirmed.status_code == 422 and "Acara belum dibatalkan" in unconfirmed.text
    done = console.post(f"/console/meetings/{meeting_id}/cancel", {"confirm": "yes"})
    assert done.status_code == 303
    with db.transaction() as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None and found.status == MeetingStatus.CANCELLED
    told = outbox(db, f"meeting:{meeting_id}:cancelled:")
    assert [row.member_id for row in told] == [siti, ani]
    # each in her language
    assert "dibatalkan" in told[0].text.lower() and "cancelled" in told[1].text.lower()
    [entry] = audits(db, "meeting.cancel")
    assert entry.detail["told"] == 2
    after = console.get(done.headers["location"])
    assert "Acara dibatalkan. 2 anggota akan diberi tahu" in after.text
    assert "Tidak bisa dipindah atau dibatalkan lagi" in after.text
    again = console.post(f"/console/meetings/{meeting_id}/cancel", {"confirm": "yes"})
    assert again.status_code == 422
    assert len(audits(db, "meeting.cancel")) == 1


def test_moving_tells_who_answered_the_new_time(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    siti, _, _ = members(db)
    meeting_id = meeting(db, 10, ends_at=at(10, 12))
    answer(db, meeting_id, siti, Answer.YES)
    new_day = local_day(17)
    done = console.post(
        f"/console/meetings/{meeting_id}/move", {"date": new_day.isoformat(), "start": "10:00"}
    )
    assert done.status_code == 303, done.text
    with db.transaction() as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None and found.status == MeetingStatus.MOVED
        local = found.starts_at.replace(tzinfo=UTC).astimezone(ZONE)
        assert (local.date(), local.hour) == (new_day, 10)
        assert found.ends_at is not None
        assert found.ends_at - found.starts_at == timedelta(hours=3)  # the same length
        assert found.revision == 1
    [told] = outbox(db, f"meeting:{meeting_id}:moved:1:")
    assert told.member_id == siti
    assert audits(db, "meeting.move")[0].detail["told"] == 1
    assert "Waktunya sudah dipindah. 1 anggota" in console.get(done.headers["location"]).text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"date": "2026-13-01", "start": "09:00"}, "Tanggalnya tidak bisa dibaca"),
        ({"date": "2020-01-04", "start": "09:00"}, "Waktu itu sudah lewat"),
        ({"date": "", "start": "09:00"}, "Tanggalnya tidak bisa dibaca"),
        ({"start": "09:00", "end": "08:00"}, "Jam selesai harus sesudah jam mulai"),
    ],
)
def test_a_bad_move_is_a_422_page_and_changes_nothing(
    db: Database, client: TestClient, form: dict[str, str], message: str
) -> None:
    console = coordinator(db, client)
    meeting_id = meeting(db, 10)
    form = {"date": local_day(14).isoformat(), **form}
    page = console.post(f"/console/meetings/{meeting_id}/move", form)
    assert page.status_code == 422
    assert message in page.text
    assert f'value="{form["date"]}"' in page.text  # kept as typed
    with db.transaction() as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None and found.status == MeetingStatus.PLANNED
    assert not audits(db, "meeting.move")


def test_the_roles_show_the_next_fair_pick_and_ask_on_request(
    db: Database, client: TestClient
) -> None:
    console = coordinator(db, client)
    members(db)
    meeting_id = meeting(db, 20)
    page = console.get(f"/console/meetings/{meeting_id}")
    assert page.text.count("Giliran adil berikutnya:") == 3
    assert count(db, MeetingRole) == 0  # only worked out, nothing asked
    assert not outbox(db, f"meeting_role:{meeting_id}:")
    done = console.post(f"/console/meetings/{meeting_id}/roles", {})
    assert done.status_code == 303
    with db.transaction() as session:
        asked = list(session.exec(select(MeetingRole).where(MeetingRole.meeting_id == meeting_id)))
    assert sorted(r.role for r in asked) == ["facilitator", "mc", "speaker"]
    assert all(r.status == RoleStatus.ASKED for r in asked)
    asks = outbox(db, f"meeting_role:{meeting_id}:")
    assert len(asks) == 3 and all(row.kind == "meeting_role" for row in asks)
    assert audits(db, "meeting.roles")[0].detail == {"asked": 3}
    after = console.get(done.headers["location"])
    assert "3 anggota diminta mengambil peran" in after.text
    assert after.text.count("diminta, menunggu jawaban") == 3
    # A training has no rotating roles.
    training = meeting(db, 21, kind="pelatihan", title="Pelatihan")
    assert "Pelatihan punya pelatihnya sendiri" in console.get(f"/console/meetings/{training}").text
    refused = console.post(f"/console/meetings/{training}/roles", {})
    assert refused.status_code == 422


def test_theme_suggestions_with_their_votes_and_using_one(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    siti, ani, budi = members(db)
    meeting_id = meeting(db, 10)
    with db.transaction() as session:
        people = {i: session.get(Member, i) for i in (siti, ani, budi)}
        kompos = suggest(session, people[siti], "Membuat kompos", now=utcnow()).theme  # type: ignore[arg-type]
        suggest(session, people[ani], "membuat kompos!", now=utcnow())  # type: ignore[arg-type]
        jahit = suggest(session, people[budi], "Menjahit", now=utcnow()).theme  # type: ignore[arg-type]
        suggest(session, people[budi], "Gizi anak", now=utcnow())  # type: ignore[arg-type]
        poll = open_poll(session, COMMUNITY, [kompos.id, jahit.id], now=utcnow(), days=7).poll
        vote(session, people[siti], poll, kompos.id, now=utcnow())  # type: ignore[arg-type]
        vote(session, people[ani], poll, kompos.id, now=utcnow())  # type: ignore[arg-type]
        vote(session, people[budi], poll, jahit.id, now=utcnow())  # type: ignore[arg-type]
        poll_id = poll.id
    page = console.get(f"/console/meetings/{meeting_id}")
    text = page.text
    assert "Pemungutan suara tema masih dibuka" in text and "Sudah 3 suara" in text
    kompos_row = re.search(r"Membuat kompos.*?</tr>", text, re.S)
    assert kompos_row is not None
    assert "terbanyak" in kompos_row.group(0) and '<td class="num">2</td>' in kompos_row.group(0)
    assert re.search(r"Gizi anak</th><td class=\"num\">1</td>", text)
    assert re.search(r"Membuat kompos</th><td class=\"num\">2</td>", text)  # two suggested it
    done = console.post(
        f"/console/meetings/{meeting_id}/theme", {"poll": poll_id, "suggestion": kompos.id}
    )
    assert done.status_code == 303
    with db.transaction() as session:
        found = get_meeting(session, COMMUNITY, meeting_id)
        assert found is not None and found.title == "Membuat kompos"
        used = session.exec(
            select(ThemeSuggestion).where(col(ThemeSuggestion.used_meeting_id) == meeting_id)
        ).all()
        assert len(used) == 2
    [entry] = audits(db, "meeting.themes")
    assert entry.detail == {"theme": kompos.id, "poll": poll_id, "old_title": "Pertemuan bulanan"}
    # Used up: not again, and a theme of no poll is refused.
    again = console.post(
        f"/console/meetings/{meeting_id}/theme", {"poll": poll_id, "suggestion": kompos.id}
    )
    assert again.status_code == 422 and "sudah dipakai" in again.text
    other = console.post(
        f"/console/meetings/{meeting_id}/theme", {"poll": poll_id, "suggestion": 9999}
    )
    assert other.status_code == 422
    assert len(audits(db, "meeting.themes")) == 1


# --- who may, and forged forms ---

POSTS = ("/console/meetings", "/console/meetings/rules")
MEETING_POSTS = ("attendance", "cancel", "move", "roles", "theme")


@pytest.mark.parametrize("role", ["treasurer", "protection_officer"])
def test_other_staff_may_not_open_the_meetings_pages(
    db: Database, client: TestClient, role: str
) -> None:
    add_staff(db, role)
    console = Console(client).login(db, role)
    meeting_id = meeting(db)
    home = console.get("/console/")
    assert 'href="/console/meetings"' not in home.text  # not in her menu
    one = f"/console/meetings/{meeting_id}"
    gets = [*PAGES, one, f"{one}/attendance.csv"]
    for path in gets:
        page = console.get(path)
        assert page.status_code == 403, path
        assert "bukan untuk peran Anda" in page.text
    for path in [*POSTS, *(f"/console/meetings/{meeting_id}/{a}" for a in MEETING_POSTS)]:
        page = console.post(path, {**new_form(), "confirm": "yes", "member": "1"})
        assert page.status_code == 403, path
    assert count(db, Meeting) == 1
    with db.transaction() as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None and found.status == MeetingStatus.PLANNED
    refused = [a for a in audits(db, "meeting.attendees") + audits(db, "meeting.create")]
    assert refused and not any(a.allowed for a in refused)


def test_a_form_without_its_token_changes_nothing(db: Database, client: TestClient) -> None:
    console = coordinator(db, client)
    meeting_id = meeting(db)
    for csrf in ("", "forged-token-forged-token"):
        for path in [*POSTS, *(f"/console/meetings/{meeting_id}/{a}" for a in MEETING_POSTS)]:
            page = console.post(path, {**new_form(), "confirm": "yes"}, csrf=csrf)
            assert page.status_code == 403, path
    assert count(db, Meeting) == 1
    with db.transaction() as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None and found.status == MeetingStatus.PLANNED


def test_logged_out_the_pages_ask_to_log_in(db: Database, client: TestClient) -> None:
    meeting_id = meeting(db)
    console = Console(client)
    for path in (*PAGES, f"/console/meetings/{meeting_id}"):
        page = console.get(path)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/console/login?next=")
    assert console.post("/console/meetings", new_form(), csrf="x").status_code == 401
