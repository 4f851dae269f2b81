"""The coordinators' side of meetings through the real router: RAPAT BARU, PESERTA, KEHADIRAN."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from handlers.router import Router
from storage.db import Database
from storage.meetings import (
    Answer,
    Attendance,
    Meeting,
    MeetingStatus,
    answer_rsvp,
    attendance_of,
    cancel_meeting,
    create_meeting,
    record_attendance,
)
from storage.models import AuditLog, Member, OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.messages import Inbound, Location, Outbound

ZONE = ZoneInfo("Asia/Jakarta")
COORDINATOR = phone(99)
START = datetime(2026, 12, 7, 8, 0, tzinfo=ZONE).astimezone(UTC)  # Monday 7 December, 08.00


class ClockChat:
    """One person writing to the router on WhatsApp, at a clock the test moves."""

    _ids = itertools.count(1)

    def __init__(self, router: Router, number: str, now: datetime = START) -> None:
        self.router = router
        self.number = number
        self.now = now

    def send(self, text: str = "", *, location: Location | None = None) -> list[Outbound]:
        self.now += timedelta(seconds=10)
        inbound = Inbound(
            channel="whatsapp",
            address=self.number,
            sender_id=self.number,
            platform_id=f"coord-{next(self._ids)}",
            received_at=self.now,
            text=text,
            location=location,
            sender_name="Rina",
            phone=self.number,
        )
        replies = self.router.handle(inbound)
        assert replies is not None
        return list(replies)

    def texts(self, *args: Any, **kwargs: Any) -> list[str]:
        return [reply.text for reply in self.send(*args, **kwargs)]

    def last(self, *args: Any, **kwargs: Any) -> Outbound:
        return self.send(*args, **kwargs)[-1]


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    ids: dict[str, int] = {}
    with db.transaction() as session:
        for name, number, kelurahan, role in (
            ("Rina", COORDINATOR, "23 Ilir", "coordinator"),
            ("Siti", phone(1), "19 Ilir", "member"),
            ("Ani", phone(2), "19 Ilir", "member"),
            ("Dewi", phone(3), "23 Ilir", "treasurer"),
            ("Fatimah", phone(4), "24 Ilir", "member"),
        ):
            member = add_member(
                session, name, number, kelurahan=kelurahan, role=role, whatsapp=True
            )
            assert member.id is not None
            ids[name] = member.id
    return ids


@pytest.fixture
def rina(db: Database, people: dict[str, int]) -> ClockChat:
    return ClockChat(Router(db), COORDINATOR)


def meetings(db: Database) -> list[Meeting]:
    with db.transaction() as session:
        return list(session.exec(select(Meeting).order_by(col(Meeting.id))))


def local(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(ZONE)


def plan(db: Database, title: str, start: datetime, **kwargs: Any) -> int:
    with db.transaction() as session:
        meeting = create_meeting(
            session,
            community_id=COMMUNITY,
            title=title,
            starts_at=start,
            now=start - timedelta(days=30),
            **kwargs,
        )
        assert meeting.id is not None
        return meeting.id


def answer(db: Database, meeting_id: int, member_id: int, value: str, now: datetime) -> None:
    with db.transaction() as session:
        meeting = session.get(Meeting, meeting_id)
        member = session.get(Member, member_id)
        assert meeting is not None and member is not None
        answer_rsvp(session, meeting, member, value, now=now)


# --- RAPAT BARU ---


def test_a_meeting_in_free_text_is_saved_after_the_summary(
    db: Database, rina: ClockChat, people: dict[str, int]
) -> None:
    kind = rina.last("rapat baru")
    assert kind.text == "Acara apa yang mau dibuat?"
    assert [c.label for c in kind.choices] == ["Pertemuan bulanan", "Pelatihan"]
    assert rina.texts("1") == ["Apa judul atau temanya? Misalnya: Mengatur uang keluarga"]
    when = rina.last("Mengatur uang keluarga")
    assert when.text.startswith("Kapan acaranya? Pilih nomor, atau tulis hari, tanggal dan jam")
    assert "12/12 09.00" in when.text and "besok jam 3 sore" in when.text
    assert [c.label for c in when.choices] == [
        "Sabtu, 12 Desember 2026 pukul 09.00 WIB",
        "Sabtu, 19 Desember 2026 pukul 09.00 WIB",
        "Sabtu, 26 Desember 2026 pukul 09.00 WIB",
    ]
    place = rina.last("12/12 09.00-12.00")
    assert place.text.startswith("Di mana tempatnya?")
    assert [c.label for c in place.choices] == ["Lewati (tempat menyusul)"]
    audience = rina.last("Balai Kelurahan 23 Ilir")
    assert [c.label for c in audience.choices] == [
        "Semua anggota (5)",
        "Kelurahan 19 Ilir (2)",
        "Kelurahan 23 Ilir (2)",
        "Kelurahan 24 Ilir (1)",
    ]
    summary = rina.last("1")
    assert summary.text == (
        "Periksa dulu, ya:\n"
        "Jenis: Pertemuan bulanan\n"
        "Tema: Mengatur uang keluarga\n"
        "Waktu: Sabtu, 12 Desember 2026 pukul 09.00 WIB sampai 12.00\n"
        "Tempat: Balai Kelurahan 23 Ilir\n"
        "Untuk: semua anggota (5 orang)"
    )
    assert [c.label for c in summary.choices] == ["Simpan", "Ubah", "Batal"]
    assert meetings(db) == []  # nothing before "Simpan"
    [saved] = rina.texts("1")
    [meeting] = meetings(db)
    assert saved.startswith(f'Tersimpan: acara #{meeting.id} "Mengatur uang keluarga", Sabtu, ')
    assert "dikirim otomatis ke anggota 7 hari sebelum acara" in saved
    assert (meeting.kind, meeting.title, meeting.place) == (
        "pertemuan",
        "Mengatur uang keluarga",
        "Balai Kelurahan 23 Ilir",
    )
    assert local(meeting.starts_at) == datetime(2026, 12, 12, 9, 0, tzinfo=ZONE)
    assert meeting.ends_at is not None
    assert local(meeting.ends_at) == datetime(2026, 12, 12, 12, 0, tzinfo=ZONE)
    assert meeting.kelurahan == [] and meeting.seats is None
    assert meeting.created_by_member_id == people["Rina"]
    with db.transaction() as session:
        [audit] = session.exec(
            select(AuditLog).where(AuditLog.target == f"meeting:{meeting.id}")
        ).all()
        assert audit.action == "meeting.create" and audit.allowed
    # "Simpan" again later saves nothing twice.
    rina.send("1")
    assert len(meetings(db)) == 1


def test_a_saturday_by_its_number_and_a_kelurahan(db: Database, rina: ClockChat) -> None:
    rina.send("RAPAT BARU")
    rina.send("1")
    rina.send("Kesehatan ibu dan anak")
    rina.send("2")  # Saturday 19 December, 09.00
    rina.send("1")  # no place yet
    summary = rina.last("3")  # 23 Ilir
    assert "Waktu: Sabtu, 19 Desember 2026 pukul 09.00 WIB\n" in summary.text
    assert "Tempat: belum ditentukan\n" in summary.text
    assert summary.text.endswith("Untuk: anggota kelurahan 23 Ilir (2 orang)")
    rina.send("simpan")
    [meeting] = meetings(db)
    assert meeting.kelurahan == ["23 Ilir"] and meeting.place is None
    assert local(meeting.starts_at) == datetime(2026, 12, 19, 9, 0, tzinfo=ZONE)


@pytest.mark.parametrize(
    "typed, problem",
    [
        ("kapan-kapan saja", "Maaf, tanggalnya belum bisa saya baca."),
        ("31 Februari jam 9", "Tanggal itu tidak ada di kalender (misalnya 31 Februari)."),
        ("1/12/2026 09.00", "Waktu itu sudah lewat."),
        ("12/12 12.00-09.00", "Jamnya belum benar"),
        ("Jumat 12 Desember jam 9", "Hari dan tanggalnya tidak cocok"),
        ("12/12", "Jamnya belum ada."),
    ],
)
def test_a_bad_date_is_asked_again_with_examples(
    db: Database, rina: ClockChat, typed: str, problem: str
) -> None:
    rina.send("rapat baru")
    rina.send("1")
    rina.send("Tema")
    again = rina.last(typed)
    assert again.text.startswith(problem)
    assert "Kapan acaranya? Pilih nomor, atau tulis" in again.text
    assert len(again.choices) == 3  # the Saturdays again
    place = rina.last("12/12 09.00")  # nothing was lost: the next answer goes on
    assert place.text.startswith("Di mana tempatnya?")


def test_a_training_with_seats_and_a_map_pin(db: Database, rina: ClockChat) -> None:
    rina.send("rapat baru")
    rina.send("pelatihan")  # the label works as well as the number
    rina.send("Menjahit masker")
    rina.send("14/12 13.00")
    audience = rina.last(location=Location(-2.9761, 104.7754, "Jl. Merdeka 5"))
    assert audience.text == "Untuk siapa acaranya?"
    limit = rina.last("1")
    assert limit.text == "Apakah jumlah peserta pelatihan dibatasi?"
    assert rina.texts("2") == ["Berapa kursi? Tulis angkanya saja, misalnya: 20"]
    [again] = rina.texts("banyak")
    assert again.startswith("Tulis jumlah kursi dengan angka, dari 1 sampai 1000")
    summary = rina.last("15")
    assert "Jenis: Pelatihan\n" in summary.text
    assert "Tempat: Jl. Merdeka 5 (dengan pin peta)\n" in summary.text
    assert summary.text.endswith("Kursi: 15")
    rina.send("1")
    [meeting] = meetings(db)
    assert (meeting.kind, meeting.seats) == ("pelatihan", 15)
    assert (meeting.latitude, meeting.longitude) == (-2.9761, 104.7754)
    assert meeting.place == "Jl. Merdeka 5"


def test_a_holiday_is_said_with_a_suggested_day_and_one_number_takes_it(
    db: Database, rina: ClockChat
) -> None:
    rina.send("rapat baru")
    rina.send("1")
    rina.send("Syukuran akhir tahun")
    rina.send("25/12 09.00-11.00")
    rina.send("1")
    summary = rina.last("1")
    assert "Perhatian: hari itu libur nasional (" in summary.text
    assert "Usul hari lain: " in summary.text and "Ibu yang memutuskan." in summary.text
    labels = [c.label for c in summary.choices]
    assert labels[0] == "Simpan" and labels[1].startswith("Pindah ke ")
    moved = rina.last("2")
    assert "libur nasional" not in moved.text
    rina.send("1")
    [meeting] = meetings(db)
    day = local(meeting.starts_at)
    assert day.date() != date(2026, 12, 25) and (day.hour, day.minute) == (9, 0)
    assert meeting.ends_at is not None and local(meeting.ends_at).hour == 11
    assert meeting.holiday is None


def test_a_holiday_kept_is_recorded_as_such(db: Database, rina: ClockChat) -> None:
    for text in ("rapat baru", "1", "Natal bersama", "25/12 09.00", "1", "1"):
        rina.send(text)
    rina.send("1")  # Simpan, on the holiday: her decision
    [meeting] = meetings(db)
    assert meeting.holiday and meeting.suggested_date is not None
    assert local(meeting.starts_at).date() == date(2026, 12, 25)


def test_change_one_answer_from_the_summary(db: Database, rina: ClockChat) -> None:
    for text in ("rapat baru", "1", "Tema lama", "12/12 09.00", "Balai", "1"):
        rina.send(text)
    change = rina.last("2")  # Ubah
    assert change.text == "Apa yang mau diubah?"
    assert [c.label for c in change.choices] == [
        "Jenis acara",
        "Tema",
        "Waktu",
        "Tempat",
        "Untuk siapa",
    ]
    rina.send("2")
    summary = rina.last("Tema baru")  # straight back to the summary
    assert "Tema: Tema baru\n" in summary.text and "Tempat: Balai\n" in summary.text
    rina.send("2")  # Ubah
    assert rina.last("1").text == "Acara apa yang mau dibuat?"  # the kind
    limit = rina.last("2")  # a training now: its seats are asked, then the summary
    assert limit.text == "Apakah jumlah peserta pelatihan dibatasi?"
    summary = rina.last("1")
    assert "Jenis: Pelatihan\n" in summary.text and summary.text.endswith("Kursi: tanpa batas")
    rina.send("1")
    [meeting] = meetings(db)
    assert (meeting.title, meeting.kind, meeting.place) == ("Tema baru", "pelatihan", "Balai")


def test_cancel_midway_and_zero_keep_nothing(db: Database, rina: ClockChat) -> None:
    rina.send("rapat baru")
    rina.send("1")
    rina.send("Tema")
    assert rina.texts("BATAL") == ["Sudah dibatalkan. Ketik MENU untuk melihat pilihan."]
    rina.send("rapat baru")
    rina.send("2")
    assert rina.texts("0")[0].startswith("Sudah dibatalkan")
    for text in ("rapat baru", "1", "Tema", "12/12 09.00", "1", "1"):
        rina.send(text)
    assert rina.texts("3") == ["Sudah dibatalkan. Ketik MENU untuk melihat pilihan."]  # Batal
    assert meetings(db) == []


def test_members_cannot_create_meetings_and_are_audited(db: Database, people) -> None:
    siti = ClockChat(Router(db), phone(1))
    [refused] = siti.texts("rapat baru")
    assert refused.startswith("Maaf")
    with db.transaction() as session:
        [audit] = session.exec(select(AuditLog).where(AuditLog.action == "meeting.create")).all()
        assert not audit.allowed
    [menu] = siti.send("menu")
    assert "Buat pertemuan baru" not in [c.label for c in menu.choices]


def test_the_coordinators_menu_lists_both(rina: ClockChat) -> None:
    [menu] = rina.send("menu")
    labels = [c.label for c in menu.choices]
    assert "Buat pertemuan baru" in labels


def test_in_english(db: Database, people) -> None:
    with db.transaction() as session:
        rina = session.get(Member, people["Rina"])
        assert rina is not None
        rina.language = "en"
        session.add(rina)
    chat = ClockChat(Router(db), COORDINATOR)
    assert chat.texts("new meeting") == ["What would you like to create?"]
    chat.send("2")
    chat.send("Sewing")
    chat.send("12/12 09.00")
    chat.send("1")
    chat.send("1")
    summary = chat.last("1")  # no seat limit
    assert summary.text.startswith("Please check:\nKind: Training\nTheme: Sewing\n")
    assert summary.text.endswith("Seats: no limit")
    [saved] = chat.texts("save")
    assert saved.startswith("Saved: event #")


# --- PESERTA ---


@pytest.fixture
def saturday(db: Database, people: dict[str, int]) -> int:
    """Saturday 12 December 09.00, for everyone; Siti yes, Ani no, Dewi maybe."""
    meeting_id = plan(db, "Pertemuan bulanan", datetime(2026, 12, 12, 9, tzinfo=ZONE))
    answer(db, meeting_id, people["Siti"], Answer.YES, START)
    answer(db, meeting_id, people["Ani"], Answer.NO, START)
    answer(db, meeting_id, people["Dewi"], Answer.MAYBE, START)
    return meeting_id


def test_no_meeting_planned(rina: ClockChat) -> None:
    assert rina.texts("peserta") == [
        "Belum ada pertemuan yang direncanakan. Ketik RAPAT BARU untuk membuatnya."
    ]


def test_the_headcount_per_kelurahan_then_the_names(rina: ClockChat, saturday: int) -> None:
    count = rina.last("peserta")
    assert count.text == (
        'Peserta "Pertemuan bulanan", Sabtu, 12 Desember 2026 pukul 09.00 WIB:\n'
        "Hadir: 1\n"
        "Mungkin: 1\n"
        "Tidak bisa: 1\n"
        "Belum menjawab: 2\n"
        "Per kelurahan (hadir / mungkin / tidak / belum):\n"
        "- 19 Ilir: 1 / 0 / 1 / 0\n"
        "- 23 Ilir: 0 / 1 / 0 / 1\n"
        "- 24 Ilir: 0 / 0 / 0 / 1\n"
        "Pilih yang mau dilihat:"
    )
    # Not the meeting's day yet: marking who came is not offered.
    assert [c.label for c in count.choices] == [
        "Lihat nama-nama",
        "Kata kode hadir",
        "Rekap kehadiran",
    ]
    assert rina.texts("1") == [
        'Nama peserta "Pertemuan bulanan", Sabtu, 12 Desember 2026 pukul 09.00 WIB:\n'
        "Hadir (1): Siti\n"
        "Mungkin (1): Dewi\n"
        "Tidak bisa (1): Ani\n"
        "Belum menjawab (2): Fatimah, Rina\n"
        "Ketik PESERTA untuk pilihan lain."
    ]


def test_a_training_shows_its_seats_and_waiting_list(
    db: Database, rina: ClockChat, people: dict[str, int]
) -> None:
    training = plan(
        db, "Menjahit", datetime(2026, 12, 10, 13, tzinfo=ZONE), kind="pelatihan", seats=1
    )
    answer(db, training, people["Siti"], Answer.YES, START)
    answer(db, training, people["Ani"], Answer.YES, START + timedelta(minutes=1))
    count = rina.last("peserta")
    assert "Hadir: 1 dari 1 kursi\nDaftar tunggu: 1\n" in count.text
    [names] = rina.texts("1")
    assert "Hadir (1): Siti\nDaftar tunggu (1): Ani\n" in names


def test_the_code_word_of_the_day(db: Database, rina: ClockChat, saturday: int) -> None:
    with db.transaction() as session:
        meeting = session.get(Meeting, saturday)
        assert meeting is not None and meeting.checkin_code
        code = meeting.checkin_code
    rina.send("peserta")
    [text] = rina.texts("2")
    assert text == (
        f'Kata kode hadir untuk "Pertemuan bulanan", Sabtu, 12 Desember 2026 pukul 09.00 WIB: '
        f"{code}\nBacakan di tempat acara. Anggota yang datang membalas: HADIR {code}\n"
        "Kode ini berlaku hanya pada hari acara (Sabtu, 12 Desember 2026). "
        "Sudah tercatat datang: 0."
    )


def test_marking_who_came_on_the_day(
    db: Database, rina: ClockChat, saturday: int, people: dict[str, int]
) -> None:
    rina.now = datetime(2026, 12, 12, 10, 30, tzinfo=ZONE).astimezone(UTC)  # during it
    with db.transaction() as session:
        meeting = session.get(Meeting, saturday)
        assert meeting is not None
        record_attendance(session, meeting, [people["Siti"]], method="code", now=rina.now)
    menu = rina.last("peserta")  # today's meeting, although it has started
    assert menu.text.startswith('Peserta "Pertemuan bulanan"')
    assert "Sudah tercatat datang: 1\n" in menu.text
    assert [c.label for c in menu.choices][2] == "Tandai yang hadir"
    listing = rina.last("3")
    assert listing.text == (
        'Siapa yang datang ke "Pertemuan bulanan", Sabtu, 12 Desember 2026 pukul 09.00 WIB? '
        "Balas dengan nomornya, boleh beberapa sekaligus, misalnya: 1 3 5 (atau 2-6).\n"
        "1. Ani (jawab tidak bisa)\n"
        "2. Dewi (jawab mungkin)\n"
        "3. Fatimah (belum menjawab)\n"
        "4. Rina (belum menjawab)\n"
        "5. Siti (sudah datang ✓)"
    )
    assert listing.choices == () and listing.cancel  # "0. Batal"
    [again] = rina.texts("7")
    assert again.startswith("Maaf, balas dengan nomor dari daftar (1 sampai 5)")
    [again] = rina.texts("Ani dan Dewi")
    assert again.startswith("Maaf, balas dengan nomor dari daftar")
    assert rina.texts("2, 3 5") == [
        "Tercatat datang: Dewi, Fatimah, Siti. Baru ditandai: 2. Jumlah yang datang sekarang: 3."
    ]
    with db.transaction() as session:
        rows = {a.member_id: a for a in session.exec(select(Attendance))}
        assert rows[people["Dewi"]].method == "marked"
        assert rows[people["Dewi"]].recorded_by_member_id == people["Rina"]
        assert rows[people["Siti"]].method == "code"  # kept as it was
        [audit] = session.exec(
            select(AuditLog).where(AuditLog.action == "meeting.attendance")
        ).all()
        assert audit.target == f"meeting:{saturday}" and audit.detail["new"] == 2
    rina.send("peserta")
    rina.send("3")
    assert rina.texts("1-2") == [
        "Tercatat datang: Ani, Dewi. Baru ditandai: 1. Jumlah yang datang sekarang: 4."
    ]


def test_a_past_meeting_by_its_number_and_unknown_numbers(
    db: Database, rina: ClockChat, saturday: int, people: dict[str, int]
) -> None:
    rina.now = datetime(2026, 12, 20, 9, tzinfo=ZONE).astimezone(UTC)
    assert rina.texts("peserta")[0].startswith("Belum ada pertemuan")
    menu = rina.last(f"PESERTA {saturday}")
    assert "Tandai yang hadir" in [c.label for c in menu.choices]
    rina.send("3")
    rina.send("5")
    with db.transaction() as session:
        assert set(attendance_of(session, saturday)) == {people["Siti"]}
    assert rina.texts("peserta 999") == [
        "Tidak ada acara dengan nomor itu. Ketik PESERTA saja untuk pertemuan berikutnya."
    ]


def test_attendance_of_the_last_meetings(
    db: Database, rina: ClockChat, people: dict[str, int]
) -> None:
    october = plan(db, "Oktober", datetime(2026, 10, 10, 9, tzinfo=ZONE))
    november = plan(db, "November", datetime(2026, 11, 14, 9, tzinfo=ZONE))
    extra = plan(db, "Pelatihan", datetime(2026, 11, 21, 9, tzinfo=ZONE), kind="pelatihan")
    gone = plan(db, "Batal", datetime(2026, 11, 28, 9, tzinfo=ZONE))
    with db.transaction() as session:
        for meeting_id, names in (
            (october, ("Siti", "Ani", "Dewi")),
            (november, ("Siti", "Dewi")),
            (extra, ("Siti",)),
        ):
            meeting = session.get(Meeting, meeting_id)
            assert meeting is not None
            ids = [people[n] for n in names]
            record_attendance(session, meeting, ids, method="marked", now=START)
        cancelled = session.get(Meeting, gone)
        assert cancelled is not None
        cancel_meeting(session, cancelled, now=cancelled.starts_at - timedelta(days=1))
        assert cancelled.status == MeetingStatus.CANCELLED
    [text] = rina.texts("kehadiran")
    assert text == (
        "Kehadiran 3 acara terakhir:\n"
        f'#{october} Sabtu, 10 Oktober 2026, "Oktober": 3 datang\n'
        f'#{november} Sabtu, 14 November 2026, "November": 2 datang\n'
        f'#{extra} Sabtu, 21 November 2026, "Pelatihan": 1 datang\n'
        "Per bulan:\n"
        "- Oktober 2026: 1 acara, 3 kehadiran\n"
        "- November 2026: 2 acara, 3 kehadiran\n"
        "Per anggota (berapa kali datang dari 3 acara):\n"
        "- Siti: 3 dari 3\n"
        "- Dewi: 2 dari 3\n"
        "- Ani: 1 dari 3\n"
        "- Fatimah: 0 dari 3\n"
        "- Rina: 0 dari 3\n"
        "Untuk menandai yang datang ke acara yang sudah lewat, ketik PESERTA dan nomornya, "
        "misalnya PESERTA 12."
    )
    rina.send("peserta")  # nothing coming: the summary is KEHADIRAN's
    assert rina.texts("attendance")[0].startswith("Kehadiran 3 acara terakhir")


def test_members_cannot_see_attendees(db: Database, people, saturday: int) -> None:
    siti = ClockChat(Router(db), phone(1))
    assert siti.texts("peserta")[0].startswith("Maaf")
    assert siti.texts("kehadiran")[0].startswith("Maaf")
    with db.transaction() as session:
        audits = session.exec(select(AuditLog).where(AuditLog.action == "meeting.attendees")).all()
        assert [a.allowed for a in audits] == [False, False]


# --- RAPAT UBAH and RAPAT BATAL ---


def test_move_a_meeting_tells_who_answered(
    db: Database, rina: ClockChat, saturday: int, people: dict[str, int]
) -> None:
    other = plan(db, "Pelatihan", datetime(2026, 12, 19, 9, tzinfo=ZONE))
    pick = rina.last("rapat ubah")
    assert pick.text == "Acara yang mana?"
    assert [c.payload for c in pick.choices] == [f"pick:{saturday}", f"pick:{other}"]
    action = rina.last("1")
    assert [c.label for c in action.choices] == ["Pindah hari atau jam", "Batalkan acara"]
    when = rina.last("1")
    assert when.text.startswith("Dipindah ke hari dan jam berapa?")
    [again] = rina.texts("31 Februari jam 9")
    assert again.startswith("Tanggal itu tidak ada di kalender")
    confirm = rina.last("Sabtu 19 Desember jam 10")
    assert confirm.text == (
        'Pindahkan "Pertemuan bulanan", Sabtu, 12 Desember 2026 pukul 09.00 WIB ke Sabtu, '
        "19 Desember 2026 pukul 10.00 WIB? 3 orang yang sudah menjawab akan diberi tahu waktu "
        "lama dan barunya."
    )
    [moved] = rina.texts("1")
    assert moved.startswith('"Pertemuan bulanan" sudah dipindah ke Sabtu, 19 Desember 2026')
    with db.transaction() as session:
        meeting = session.get(Meeting, saturday)
        assert meeting is not None and meeting.status == MeetingStatus.MOVED
        assert local(meeting.starts_at) == datetime(2026, 12, 19, 10, tzinfo=ZONE)
        told = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "meeting")).all()
        assert {row.member_id for row in told} == {people[n] for n in ("Siti", "Ani", "Dewi")}
        assert [a.action for a in session.exec(select(AuditLog))][-1] == "meeting.move"


def test_cancel_a_meeting_or_keep_it(
    db: Database, rina: ClockChat, saturday: int, people: dict[str, int]
) -> None:
    confirm = rina.last("rapat batal")  # one coming meeting: no list
    assert confirm.text.startswith('Batalkan "Pertemuan bulanan", Sabtu, 12 Desember 2026')
    assert [c.label for c in confirm.choices] == [
        "Ya, batalkan acaranya",
        "Jangan, biarkan seperti semula",
    ]
    assert rina.texts("2") == ["Baik, acaranya tidak diubah."]
    rina.send(f"rapat batal {saturday}")
    assert rina.texts("1") == [
        '"Pertemuan bulanan" sudah dibatalkan. 3 orang yang sudah menjawab akan diberi tahu.'
    ]
    with db.transaction() as session:
        meeting = session.get(Meeting, saturday)
        assert meeting is not None and meeting.status == MeetingStatus.CANCELLED
    assert rina.texts("rapat ubah") == [
        "Tidak ada acara yang akan datang untuk diubah. Ketik RAPAT BARU untuk membuatnya."
    ]
    assert rina.texts("rapat batal 999")[0].startswith("Tidak ada acara yang akan datang")


def test_members_cannot_move_or_cancel(db: Database, people, saturday: int) -> None:
    siti = ClockChat(Router(db), phone(1))
    assert siti.texts("rapat batal")[0].startswith("Maaf")
    assert siti.texts("rapat ubah")[0].startswith("Maaf")
    with db.transaction() as session:
        meeting = session.get(Meeting, saturday)
        assert meeting is not None and meeting.status == MeetingStatus.PLANNED


def test_a_pin_alone_is_the_place(db: Database, rina: ClockChat) -> None:
    for text in ("rapat baru", "1", "Tema", "12/12 09.00"):
        rina.send(text)
    rina.send(location=Location(-2.9761, 104.7754))
    summary = rina.last("1")
    assert "Tempat: lokasi di peta (pin)\n" in summary.text
    rina.send("1")
    [meeting] = meetings(db)
    assert (meeting.place, meeting.latitude, meeting.longitude) == (None, -2.9761, 104.7754)
