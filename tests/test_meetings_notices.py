"""The notices about meetings (storage/meetings_notices.py): when the announcement, the reminder
and the morning-of reminder fall due and to whom, quiet hours, holidays flagged to the
coordinators, and that every notice is planned once: again, after a crash, by two schedulers at
the same time, after a move (anew, for the new time). The clock is the ``now`` passed in."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from storage.db import Database
from storage.meetings import (
    NOTICE_KIND,
    Answer,
    Meeting,
    MeetingKind,
    answer_rsvp,
    cancel_meeting,
    create_meeting,
    move_meeting,
    rsvp_choices,
)
from storage.meetings_notices import moments, plan_all
from storage.meetings_rules import create_rule
from storage.members import set_opt_out
from storage.models import Member, MemberStatus, OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.dates import holiday_name
from wlcc.i18n import Translator
from wlcc.settings import Settings, load_settings

WIB = ZoneInfo("Asia/Jakarta")
CREATED = datetime(2026, 12, 1, 8, 0, tzinfo=WIB)  # when the meetings are made
SATURDAY = datetime(2026, 12, 12, 9, 0, tzinfo=WIB)  # the meeting (2 UTC)
ANNOUNCE = datetime(2026, 12, 5, 9, 0, tzinfo=WIB)  # 7 days before
REMIND = datetime(2026, 12, 11, 9, 0, tzinfo=WIB)  # 1 day before
MORNING = datetime(2026, 12, 12, 6, 30, tzinfo=WIB)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def make(clean_env: None) -> Callable[..., Settings]:
    """Settings with the defaults (none from the environment), fields overridden by name."""

    def build(**overrides: object) -> Settings:
        return load_settings(_env_file=None, **overrides)

    return build


@pytest.fixture
def settings(make: Callable[..., Settings]) -> Settings:
    return make()


def _people(session: Session) -> dict[str, Member]:
    people = {
        "Siti": add_member(session, "Siti", phone(1), kelurahan="19 Ilir"),
        "Ani": add_member(session, "Ani", phone(2), kelurahan="23 Ilir", language="en"),
        "Dewi": add_member(session, "Dewi", phone(3), kelurahan="23 Ilir"),
        "Wati": add_member(session, "Wati", phone(4), kelurahan="24 Ilir"),
        # Never planned for: opted out, not active yet.
        "Rina": add_member(session, "Rina", phone(5), kelurahan="23 Ilir", opted_out=True),
        "Lina": add_member(session, "Lina", phone(6), status=MemberStatus.PENDING),
    }
    session.flush()
    return people


def _meeting(session: Session, **extra: object) -> Meeting:
    values: dict[str, object] = {
        "community_id": COMMUNITY,
        "title": "Pertemuan bulanan: sanitasi",
        "starts_at": SATURDAY,
        "place": "Balai RW 05",
        "now": CREATED,
    }
    values.update(extra)
    if "ends_at" not in values:
        values["ends_at"] = values["starts_at"] + timedelta(hours=3)  # type: ignore[operator]
    return create_meeting(session, **values)  # type: ignore[arg-type]


def _plan(db: Database, at: datetime, settings: Settings) -> dict[str, int]:
    with db.transaction() as session:
        return plan_all(session, now=at, settings=settings)


def _notices(db: Database, stage: str | None = None) -> list[OutboxMessage]:
    with db.transaction() as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        rows = [r for r in session.exec(query) if r.kind == NOTICE_KIND]
    if stage is not None:
        rows = [r for r in rows if f":{stage}:" in r.key]
    return rows


def _names(db: Database, rows: list[OutboxMessage]) -> list[str]:
    with db.transaction() as session:
        return [session.get(Member, r.member_id).name for r in rows]  # type: ignore[union-attr]


def _setup(db: Database, **extra: object) -> tuple[dict[str, Member], int]:
    with db.transaction() as session:
        people = _people(session)
        meeting = _meeting(session, **extra)
        assert meeting.id is not None
        return people, meeting.id


def _answer(db: Database, meeting_id: int, who: Member, answer: str, at: datetime) -> None:
    with db.transaction() as session:
        meeting = session.get(Meeting, meeting_id)
        member = session.get(Member, who.id)
        assert meeting is not None and member is not None
        answer_rsvp(session, meeting, member, answer, now=at)


def _counts(result: dict[str, int]) -> dict[str, int]:
    return {k: result[k] for k in ("announcement", "reminder", "morning", "holiday")}


# --- when and to whom ---


def test_the_announcement_goes_out_seven_days_before_to_every_invited_member(
    db: Database, settings: Settings
) -> None:
    people, meeting_id = _setup(db)
    assert _plan(db, ANNOUNCE - MINUTE, settings)["announcement"] == 0
    assert _notices(db) == []

    assert _counts(_plan(db, ANNOUNCE, settings)) == {
        "announcement": 4, "reminder": 0, "morning": 0, "holiday": 0,
    }  # fmt: skip
    rows = _notices(db)
    # Not Rina (opted out) nor Lina (not a member yet).
    assert _names(db, rows) == ["Siti", "Ani", "Dewi", "Wati"]
    siti, ani = rows[0], rows[1]
    assert siti.key == f"meeting:{meeting_id}:rev:0:announcement:member:{people['Siti'].id}"
    assert siti.text == (
        'Undangan pertemuan bulanan: "Pertemuan bulanan: sanitasi"\n'
        "Waktu: Sabtu, 12 Desember 2026 pukul 09.00 WIB\n"
        "Tempat: Balai RW 05\n"
        "\n"
        "Apakah Ibu bisa hadir?"
    )
    assert siti.choices == [list(c) for c in rsvp_choices(Translator("id"), meeting_id)]
    assert siti.choices[0] == [f"HADIR #{meeting_id}", "Hadir"]
    assert siti.template_vars == {
        "1": "Pertemuan bulanan: sanitasi",
        "2": "Sabtu, 12 Desember 2026 pukul 09.00 WIB",
        "3": "Balai RW 05",
    }
    assert siti.next_attempt_at.replace(tzinfo=UTC) == ANNOUNCE  # not held back
    # Ani reads English.
    assert ani.text.splitlines()[:2] == [
        'Invitation to the monthly meeting: "Pertemuan bulanan: sanitasi"',
        "When: Saturday, 12 December 2026 at 09:00 WIB",
    ]
    assert ani.choices[0] == [f"HADIR #{meeting_id}", "I will come"]
    # Every few minutes again: nothing new.
    assert _plan(db, ANNOUNCE + 5 * MINUTE, settings)["announcement"] == 0
    assert _plan(db, REMIND - MINUTE, settings)["announcement"] == 0
    assert len(_notices(db)) == 4


def test_a_meeting_for_some_kelurahan_is_announced_to_them_only(
    db: Database, settings: Settings
) -> None:
    _setup(db, kelurahan=["23 Ilir"])
    _plan(db, ANNOUNCE, settings)
    assert _names(db, _notices(db)) == ["Ani", "Dewi"]


def test_a_training_says_its_seats(db: Database, settings: Settings) -> None:
    people, meeting_id = _setup(db, kind=MeetingKind.TRAINING, seats=2, title="Membuat sabun")
    _answer(db, meeting_id, people["Dewi"], Answer.YES, CREATED)
    _plan(db, ANNOUNCE, settings)
    siti = _notices(db)[0]
    assert siti.text.splitlines()[0] == 'Undangan pelatihan: "Membuat sabun"'
    assert "Kursi terbatas: 2 orang, masih ada 1 kursi kosong." in siti.text
    _answer(db, meeting_id, people["Wati"], Answer.YES, ANNOUNCE)
    with db.transaction() as session:
        set_opt_out(session, session.get(Member, people["Rina"].id), False, ANNOUNCE)  # type: ignore[arg-type]
    _plan(db, ANNOUNCE + MINUTE, settings)  # Rina is back: she is told, the seats are full
    (rina,) = _notices(db)[4:]
    assert "sudah penuh" in rina.text and "daftar tunggu" in rina.text


def test_the_reminder_goes_to_yes_maybe_and_no_answer_but_not_to_no(
    db: Database, settings: Settings
) -> None:
    people, meeting_id = _setup(db)
    _plan(db, ANNOUNCE, settings)
    _answer(db, meeting_id, people["Siti"], Answer.YES, ANNOUNCE + MINUTE)
    _answer(db, meeting_id, people["Ani"], Answer.MAYBE, ANNOUNCE + MINUTE)
    _answer(db, meeting_id, people["Dewi"], Answer.NO, ANNOUNCE + MINUTE)
    assert _plan(db, REMIND - MINUTE, settings)["reminder"] == 0
    assert _plan(db, REMIND, settings)["reminder"] == 3
    rows = _notices(db, "reminder")
    assert _names(db, rows) == ["Siti", "Ani", "Wati"]
    siti, ani, wati = rows
    assert siti.text == (
        'Pengingat: "Pertemuan bulanan: sanitasi"\n'
        "Waktu: Sabtu, 12 Desember 2026 pukul 09.00 WIB\n"
        "Tempat: Balai RW 05\n"
        "\n"
        "Ibu sudah menjawab HADIR. Sampai jumpa!"
    )
    assert siti.choices == []  # she said yes: nothing to answer
    assert ani.text.endswith("You answered MAYBE. Can you come?")
    assert ani.choices == [list(c) for c in rsvp_choices(Translator("en"), meeting_id)]
    assert wati.text.endswith("Ibu belum menjawab. Apakah Ibu bisa hadir?")
    assert wati.choices[0] == [f"HADIR #{meeting_id}", "Hadir"]
    assert _plan(db, REMIND + 5 * MINUTE, settings)["reminder"] == 0


def test_the_morning_of_reminder_goes_to_those_who_said_yes(
    db: Database, settings: Settings
) -> None:
    people, meeting_id = _setup(db)
    _plan(db, ANNOUNCE, settings)
    _answer(db, meeting_id, people["Siti"], Answer.YES, ANNOUNCE + MINUTE)
    _answer(db, meeting_id, people["Ani"], Answer.YES, ANNOUNCE + MINUTE)
    _answer(db, meeting_id, people["Dewi"], Answer.MAYBE, ANNOUNCE + MINUTE)
    _plan(db, REMIND, settings)
    _answer(db, meeting_id, people["Ani"], Answer.NO, REMIND + MINUTE)  # changed her mind
    assert _plan(db, MORNING - MINUTE, settings)["morning"] == 0
    assert _plan(db, MORNING, settings)["morning"] == 1
    (siti,) = _notices(db, "morning")
    assert _names(db, [siti]) == ["Siti"]
    assert siti.text == (
        'Selamat pagi, Ibu! Hari ini ada "Pertemuan bulanan: sanitasi".\n'
        "Waktu: Sabtu, 12 Desember 2026 pukul 09.00 WIB\n"
        "Tempat: Balai RW 05\n"
        "\n"
        "Sampai jumpa nanti!"
    )
    assert siti.choices == []
    # After the start nothing more (and the meeting becomes done after its end).
    result = _plan(db, SATURDAY + timedelta(hours=4), settings)
    assert _counts(result) == {"announcement": 0, "reminder": 0, "morning": 0, "holiday": 0}
    assert result["finished"] == 1


def test_a_meeting_before_the_morning_reminder_time_gets_none(
    db: Database, settings: Settings
) -> None:
    early = datetime(2026, 12, 12, 6, 15, tzinfo=WIB)
    people, meeting_id = _setup(db, starts_at=early, ends_at=None)
    _answer(db, meeting_id, people["Siti"], Answer.YES, CREATED)
    assert moments(_get(db, meeting_id), settings).morning is None
    for at in (ANNOUNCE, early - timedelta(days=1), early - MINUTE):
        _plan(db, at, settings)
    assert _notices(db, "morning") == []
    assert len(_notices(db, "reminder")) == 4  # Siti said yes, the others did not answer


def _get(db: Database, meeting_id: int) -> Meeting:
    with db.transaction() as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        return meeting


@pytest.mark.parametrize(
    ("start", "announce", "remind", "morning"),
    [
        # A month's end: the reminder on the last day of the year before.
        ("2027-01-01T09:00", "2026-12-25T09:00", "2026-12-31T09:00", "2027-01-01T06:30"),
        # February: 28 days in 2027, 29 in 2028.
        ("2027-03-01T09:00", "2027-02-22T09:00", "2027-02-28T09:00", "2027-03-01T06:30"),
        ("2028-03-01T09:00", "2028-02-23T09:00", "2028-02-29T09:00", "2028-03-01T06:30"),
        # 07.00 WIB is midnight UTC: the morning of her day, not of the UTC day.
        ("2027-03-01T07:00", "2027-02-22T07:00", "2027-02-28T07:00", "2027-03-01T06:30"),
        # The fifth Saturday of January 2027 (ensure_occurrences makes no such rule's day in
        # months without one; a meeting on it is announced like any other).
        ("2027-01-30T09:00", "2027-01-23T09:00", "2027-01-29T09:00", "2027-01-30T06:30"),
        # The last day of a 31-day month.
        ("2027-01-31T09:00", "2027-01-24T09:00", "2027-01-30T09:00", "2027-01-31T06:30"),
    ],
)
def test_the_notices_fall_due_on_the_right_days(
    db: Database, settings: Settings, start: str, announce: str, remind: str, morning: str
) -> None:
    def wib(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=WIB)

    with db.transaction() as session:
        siti = add_member(session, "Siti", phone(1))
        meeting = _meeting(
            session, starts_at=wib(start), ends_at=None, now=wib(announce) - timedelta(days=30)
        )
        meeting_id = meeting.id
        answer_rsvp(session, meeting, siti, Answer.YES, now=wib(announce) - timedelta(days=30))
    assert meeting_id is not None
    for stage, due in (("announcement", announce), ("reminder", remind), ("morning", morning)):
        assert _plan(db, wib(due) - MINUTE, settings)[stage] == 0, stage
        assert _plan(db, wib(due), settings)[stage] == 1, stage
        assert _plan(db, wib(due) + MINUTE, settings)[stage] == 0, stage


def test_days_before_and_the_morning_time_are_settings(
    db: Database, make: Callable[..., Settings]
) -> None:
    settings = make(
        wlcc_announce_days_before=14,
        wlcc_reminder_days_before=2,
        wlcc_morning_reminder_time="07:15",
    )
    people, meeting_id = _setup(db)
    _answer(db, meeting_id, people["Siti"], Answer.YES, CREATED)
    assert _plan(db, SATURDAY - timedelta(days=14), settings)["announcement"] == 4
    assert _plan(db, SATURDAY - timedelta(days=2) - MINUTE, settings)["reminder"] == 0
    assert _plan(db, SATURDAY - timedelta(days=2), settings)["reminder"] == 4
    morning = datetime(2026, 12, 12, 7, 15, tzinfo=WIB)
    assert _plan(db, morning - MINUTE, settings)["morning"] == 0
    assert _plan(db, morning, settings)["morning"] == 1


# --- quiet hours and notices that came too late ---


def test_a_notice_due_in_the_quiet_hours_waits_for_the_morning(
    db: Database, make: Callable[..., Settings]
) -> None:
    evening = datetime(2026, 12, 12, 22, 0, tzinfo=WIB)  # a meeting at 22.00: due at 22.00
    _setup(db, starts_at=evening, ends_at=None)
    settings = make()
    _plan(db, evening - timedelta(days=7), settings)  # Saturday 5 December, 22.00
    rows = _notices(db)
    assert len(rows) == 4
    six = datetime(2026, 12, 6, 6, 0, tzinfo=WIB)
    assert {r.next_attempt_at.replace(tzinfo=UTC) for r in rows} == {six}
    # Other quiet hours, or none.
    assert (
        _plan(db, evening - timedelta(days=1), make(wlcc_quiet_hours="20:00-07:30"))["reminder"]
        == 4
    )
    later = {r.next_attempt_at.replace(tzinfo=UTC) for r in _notices(db, "reminder")}
    assert later == {datetime(2026, 12, 12, 7, 30, tzinfo=WIB)}


def test_no_quiet_hours_when_the_setting_is_empty(
    db: Database, make: Callable[..., Settings]
) -> None:
    evening = datetime(2026, 12, 12, 22, 0, tzinfo=WIB)
    _setup(db, starts_at=evening, ends_at=None)
    _plan(db, evening - timedelta(days=7), make(wlcc_quiet_hours=""))
    assert {r.next_attempt_at.replace(tzinfo=UTC) for r in _notices(db)} == {
        evening - timedelta(days=7)
    }


def test_a_meeting_made_late_is_announced_at_once_and_not_reminded_twice(
    db: Database, settings: Settings
) -> None:
    made = datetime(2026, 12, 11, 19, 0, tzinfo=WIB)  # the evening before: reminder was due
    people, meeting_id = _setup(db, now=made)
    assert _counts(_plan(db, made, settings)) == {
        "announcement": 4, "reminder": 0, "morning": 0, "holiday": 0,
    }  # fmt: skip
    _answer(db, meeting_id, people["Siti"], Answer.YES, made + MINUTE)
    # She was told when the reminder was already due: no reminder, but the morning-of one.
    assert _plan(db, made + 5 * MINUTE, settings)["reminder"] == 0
    assert _plan(db, MORNING, settings)["morning"] == 1


def test_a_meeting_made_at_night_is_announced_in_the_morning(
    db: Database, settings: Settings
) -> None:
    night = datetime(2026, 12, 11, 23, 0, tzinfo=WIB)
    _setup(db, now=night)
    assert _plan(db, night, settings)["announcement"] == 4
    six = datetime(2026, 12, 12, 6, 0, tzinfo=WIB)
    assert {r.next_attempt_at.replace(tzinfo=UTC) for r in _notices(db)} == {six}


def test_a_notice_that_would_come_after_the_start_is_not_planned(
    db: Database, settings: Settings
) -> None:
    dawn = datetime(2026, 12, 12, 5, 30, tzinfo=WIB)  # before the quiet hours end
    _setup(db, starts_at=dawn, ends_at=None, now=datetime(2026, 12, 12, 1, 0, tzinfo=WIB))
    assert _plan(db, datetime(2026, 12, 12, 1, 5, tzinfo=WIB), settings)["announcement"] == 0
    assert _notices(db) == []


def test_a_scheduler_that_was_down_sends_one_notice_not_three(
    db: Database, settings: Settings
) -> None:
    """Down from before the announcement until the morning of the day: the announcement goes
    out once, and neither reminder follows it (she has just been told)."""
    people, meeting_id = _setup(db)
    _answer(db, meeting_id, people["Siti"], Answer.YES, CREATED)  # through JADWAL, early
    result = _counts(_plan(db, MORNING + timedelta(minutes=10), settings))
    # Siti answered long ago: the morning-of reminder is hers (instead of the day-before one).
    assert result == {"announcement": 4, "reminder": 0, "morning": 1, "holiday": 0}
    assert _counts(_plan(db, MORNING + timedelta(minutes=15), settings))["reminder"] == 0


# --- opt-out, cancelled, moved ---


def test_an_opted_out_member_gets_nothing_and_is_told_once_back(
    db: Database, settings: Settings
) -> None:
    people, _ = _setup(db)
    with db.transaction() as session:
        set_opt_out(session, session.get(Member, people["Siti"].id), True, CREATED)  # type: ignore[arg-type]
    _plan(db, ANNOUNCE, settings)
    assert "Siti" not in _names(db, _notices(db))
    with db.transaction() as session:  # MULAI: the meeting is still to come
        set_opt_out(session, session.get(Member, people["Siti"].id), False, ANNOUNCE + MINUTE)  # type: ignore[arg-type]
    assert _plan(db, ANNOUNCE + 5 * MINUTE, settings)["announcement"] == 1
    assert _names(db, _notices(db))[-1] == "Siti"


def test_a_cancelled_meeting_gets_no_more_notices(db: Database, settings: Settings) -> None:
    people, meeting_id = _setup(db)
    _plan(db, ANNOUNCE, settings)
    _answer(db, meeting_id, people["Siti"], Answer.YES, ANNOUNCE + MINUTE)
    with db.transaction() as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        # Siti, who answered, and the members asked to take its roles are told.
        assert cancel_meeting(session, meeting, now=ANNOUNCE + 2 * MINUTE) == 3
    before = len(_notices(db))
    for at in (REMIND, MORNING):
        assert _counts(_plan(db, at, settings)) == {
            "announcement": 0, "reminder": 0, "morning": 0, "holiday": 0,
        }  # fmt: skip
    assert len(_notices(db)) == before


def test_a_moved_meeting_gets_its_notices_anew_for_the_new_time(
    db: Database, settings: Settings
) -> None:
    people, meeting_id = _setup(db)
    _plan(db, ANNOUNCE, settings)
    _answer(db, meeting_id, people["Siti"], Answer.YES, ANNOUNCE + MINUTE)
    new = SATURDAY + timedelta(days=7)
    with db.transaction() as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        # Siti, who answered, and the members asked to take its roles are told.
        assert move_meeting(session, meeting, starts_at=new, now=ANNOUNCE + 2 * MINUTE) == 3
    # The old time's reminder is not planned.
    assert _plan(db, REMIND, settings)["reminder"] == 0
    # The new time is announced 7 days before it, to those who have not answered (Siti was
    # told of the move by move_meeting), with keys of revision 1.
    assert _plan(db, new - timedelta(days=7) - MINUTE, settings)["announcement"] == 0
    assert _plan(db, new - timedelta(days=7), settings)["announcement"] == 3
    fresh = [r for r in _notices(db, "announcement") if ":rev:1:" in r.key]
    assert _names(db, fresh) == ["Ani", "Dewi", "Wati"]
    assert "Sabtu, 19 Desember 2026 pukul 09.00 WIB" in fresh[1].text
    assert _plan(db, new - timedelta(days=1), settings)["reminder"] == 4
    assert _plan(db, new - timedelta(hours=2, minutes=30), settings)["morning"] == 1
    keys = [r.key for r in _notices(db)]
    assert len(keys) == len(set(keys))


# --- holidays ---


def test_a_meeting_on_a_public_holiday_is_flagged_to_the_coordinators(
    db: Database, settings: Settings
) -> None:
    independence = datetime(2027, 8, 17, 9, 0, tzinfo=WIB)
    holiday = holiday_name(independence.date())
    assert holiday
    with db.transaction() as session:
        add_member(session, "Siti", phone(1))
        add_member(session, "Rina", phone(2), role="coordinator")
        add_member(session, "Ani", phone(3), role="admin", language="en")
        add_member(session, "Tuti", phone(4), role="coordinator", opted_out=True)
        add_member(session, "Bu Ida", phone(5), role="treasurer")
        meeting = _meeting(session, starts_at=independence, ends_at=None, now=CREATED)
        meeting_id = meeting.id
    # Planned months ahead: flagged at once (not only 3 weeks before).
    assert _plan(db, CREATED + MINUTE, settings)["holiday"] == 2
    rows = _notices(db, "holiday")
    assert _names(db, rows) == ["Rina", "Ani"]
    rina, ani = rows
    assert rina.key == f"meeting:{meeting_id}:rev:0:holiday:member:{rows[0].member_id}"
    suggested = _get(db, meeting_id or 0).suggested_date
    assert suggested is not None and holiday_name(suggested) is None
    assert _get(db, meeting_id or 0).holiday == holiday
    assert rina.text == (
        'Untuk pengurus: "Pertemuan bulanan: sanitasi" (Selasa, 17 Agustus 2027 pukul 09.00 '
        f"WIB) jatuh pada hari libur: {holiday}.\n"
        f"Usul tanggal pengganti: {_local_day(suggested, 'id')}.\n"
        f"Jadwal TIDAK diubah otomatis. Silakan putuskan: tetap, atau pindahkan (nomor acara "
        f"{meeting_id})."
    )
    assert ani.text.startswith('For the coordinators: "Pertemuan bulanan: sanitasi"')
    # Never twice, and the meeting is neither moved nor kept silently: it stays as it was.
    assert _plan(db, CREATED + timedelta(days=30), settings)["holiday"] == 0
    assert _get(db, meeting_id or 0).starts_at.replace(tzinfo=UTC) == independence
    # Moved to another holiday: flagged again, for the new day.
    christmas = datetime(2027, 12, 25, 9, 0, tzinfo=WIB)
    with db.transaction() as session:
        moved = session.get(Meeting, meeting_id)
        assert moved is not None
        move_meeting(session, moved, starts_at=christmas, now=CREATED + timedelta(days=31))
    assert _plan(db, CREATED + timedelta(days=31), settings)["holiday"] == 2
    rina_again, ani_again = _notices(db, "holiday")[-2:]
    assert f": {holiday_name(christmas.date())}." in rina_again.text
    assert f": {holiday_name(christmas.date(), 'en')}." in ani_again.text  # in her language
    assert holiday_name(christmas.date(), "en") != holiday_name(christmas.date())


def _local_day(day: date, lang: str) -> str:
    from wlcc.formatting import format_date

    return format_date(day, lang)


def test_a_rule_meeting_keeps_its_holiday_and_suggestion(db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        add_member(session, "Rina", phone(2), role="coordinator")
        meeting = _meeting(
            session,
            starts_at=datetime(2027, 3, 13, 9, 0, tzinfo=WIB),
            holiday="Hari Raya Contoh",
            suggested_date=date(2027, 3, 20),
        )
        assert meeting.id is not None
    assert _plan(db, CREATED, settings)["holiday"] == 1
    (rina,) = _notices(db, "holiday")
    assert "Hari Raya Contoh" in rina.text
    assert "Sabtu, 20 Maret 2027" in rina.text


def test_an_ordinary_day_is_not_flagged(db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        add_member(session, "Rina", phone(2), role="coordinator")
        _meeting(session)
    assert holiday_name(SATURDAY.date()) is None
    assert _plan(db, CREATED, settings)["holiday"] == 0


# --- once, whatever happens ---


def test_a_crash_before_the_commit_plans_nothing_and_the_next_run_everything(
    db: Database, settings: Settings
) -> None:
    _setup(db)

    class Crash(Exception):
        pass

    with pytest.raises(Crash), db.transaction() as session:
        assert plan_all(session, now=ANNOUNCE, settings=settings)["announcement"] == 4
        raise Crash  # the process died before the commit
    assert _notices(db) == []
    assert _plan(db, ANNOUNCE + MINUTE, settings)["announcement"] == 4


def test_a_restart_mid_way_plans_only_what_is_missing(
    database_url: str, settings: Settings
) -> None:
    """Half the members were planned by a scheduler that then stopped (the others joined
    after it ran); a new process plans the rest, and nothing twice."""
    first = Database(database_url)
    _, meeting_id = _setup(first)
    assert _plan(first, ANNOUNCE, settings)["announcement"] == 4
    with first.transaction() as session:
        for i in range(10, 14):
            add_member(session, f"Baru {i}", phone(i))
    first.dispose()
    second = Database(database_url)  # a restarted process
    try:
        assert _plan(second, ANNOUNCE + 5 * MINUTE, settings)["announcement"] == 4
        assert _plan(second, ANNOUNCE + 10 * MINUTE, settings)["announcement"] == 0
        keys = [r.key for r in _notices(second)]
        assert len(keys) == len(set(keys)) == 8
        assert all(k.startswith(f"meeting:{meeting_id}:rev:0:announcement:") for k in keys)
    finally:
        second.dispose()


def test_two_schedulers_at_the_same_time_plan_each_notice_once(
    database_url: str, settings: Settings
) -> None:
    """Two processes (each its own engine and session) plan at the same moment, many meetings
    and members: each notice exists exactly once, and together they report each once."""
    setup = Database(database_url)
    with setup.transaction() as session:
        for i in range(40):
            add_member(session, f"Anggota {i}", phone(100 + i), kelurahan="23 Ilir")
        rina = add_member(session, "Rina", phone(99), role="coordinator")
        for day in range(3):
            _meeting(session, starts_at=SATURDAY + timedelta(days=day))
        _meeting(session, starts_at=datetime(2027, 8, 17, 9, 0, tzinfo=WIB))  # a holiday
        assert rina.id is not None
    setup.dispose()
    start = threading.Barrier(2)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def scheduler() -> None:
        db = Database(database_url)
        try:
            start.wait()
            results.append(_plan(db, ANNOUNCE + timedelta(days=2), settings))
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(r["announcement"] for r in results) == 3 * 41
    assert sum(r["holiday"] for r in results) == 1
    check = Database(database_url)
    try:
        keys = Counter(r.key for r in _notices(check))
        assert len(keys) == 3 * 41 + 1
        assert set(keys.values()) == {1}
    finally:
        check.dispose()


def test_a_fifth_saturday_rule_is_made_and_announced_by_the_planning(
    db: Database, settings: Settings
) -> None:
    """The recurrence's part of the planning (storage.meetings_rules): a
    rule for the fifth Saturday makes January 2027's only (February to April have none), and
    the same planning announces it when due."""
    made = datetime(2027, 1, 2, 8, 0, tzinfo=WIB)
    with db.transaction() as session:
        add_member(session, "Siti", phone(1))
        create_rule(
            session,
            community_id=COMMUNITY,
            title="Pertemuan bulanan",
            weekday=5,
            nth=5,
            start="09:00",
            now=made,
            zone=WIB,
        )
    assert _plan(db, made, settings)["occurrences"] == 1
    fifth = datetime(2027, 1, 30, 9, 0, tzinfo=WIB)
    with db.transaction() as session:
        starts = [aware_utc(m.starts_at) for m in session.exec(select(Meeting))]
    assert starts == [fifth]
    result = _plan(db, fifth - timedelta(days=7), settings)
    assert result["announcement"] == 1
    assert result["occurrences"] == 0


def aware_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
