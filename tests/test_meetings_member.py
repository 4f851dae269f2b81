"""The member's side of meetings (conversations/meetings.py) through the real router: who may,
the "#<id>" payload surviving normalisation, a cancelled meeting, a moved one, the .ics file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from conversations.meetings import meeting_ics, when_text
from handlers.matching import match_keyword
from handlers.router import Router
from storage.db import Database
from storage.meetings import cancel_meeting, create_meeting, get_meeting, move_meeting, rsvp_of
from storage.models import Member, MemberStatus
from tests.outbox_support import COMMUNITY, Chat, add_member, phone, rows
from wlcc.formatting import to_local, utcnow
from wlcc.i18n import Translator

# 09.00 WIB, some day well ahead (a fixed hour: the end is on the same local day).
START = datetime(utcnow().year + 1, 3, 6, 2, 0, tzinfo=UTC)


def _meeting(db: Database, **extra: object) -> int:
    with db.transaction() as session:
        meeting = create_meeting(
            session,
            community_id=COMMUNITY,
            title="Pertemuan bulanan",
            starts_at=START,
            now=utcnow(),
            **extra,  # type: ignore[arg-type]
        )
        assert meeting.id is not None
        return meeting.id


@pytest.mark.parametrize("word", ["HADIR", "TIDAK", "MUNGKIN"])
def test_the_meeting_id_survives_normalisation(word: str) -> None:
    found = match_keyword(f"{word} #12", [word, "TIDAK BISA", "MUNGKIN HADIR"])
    assert found is not None and (found.keyword, found.args, found.exact) == (word, "#12", True)


def test_a_cancelled_meeting_cannot_be_answered(db: Database) -> None:
    with db.transaction() as session:
        member = add_member(session, "Siti", phone(1), whatsapp=True)
        member_id = member.id
    meeting_id = _meeting(db)
    with db.transaction() as session:
        meeting = get_meeting(session, COMMUNITY, meeting_id)
        assert meeting is not None
        cancel_meeting(session, meeting, now=utcnow())
    chat = Chat(Router(db), "whatsapp", phone(1), phone(1))
    assert chat.texts(payload=f"HADIR #{meeting_id}") == [
        "Acara ini sudah dibatalkan atau sudah selesai."
    ]
    # HADIR alone: the cancelled one is not the next meeting any more.
    assert chat.texts("hadir") == [
        "Belum ada pertemuan yang bisa dijawab. Kami kabari kalau sudah ada jadwalnya."
    ]
    with db.transaction() as session:
        assert member_id is not None and rsvp_of(session, meeting_id, member_id) is None


def test_only_members_answer(db: Database) -> None:
    meeting_id = _meeting(db)
    with db.transaction() as session:
        add_member(session, "Yati", phone(3), whatsapp=True, status=MemberStatus.PENDING)
    resident = Chat(Router(db), "whatsapp", phone(2), phone(2))
    [*_, said] = resident.texts(payload=f"HADIR #{meeting_id}")
    assert "hanya untuk anggota" in said and "DAFTAR" in said
    pending = Chat(Router(db), "whatsapp", phone(3), phone(3))
    [*_, said] = pending.texts("jadwal")
    assert "menunggu persetujuan" in said
    unlinked = Chat(Router(db), "telegram", "7000009")
    [*_, said] = unlinked.texts("kalender")
    assert "HUBUNGKAN" in said


def test_a_moved_meeting_shows_both_times_and_a_new_sequence(db: Database) -> None:
    with db.transaction() as session:
        add_member(session, "Siti", phone(1), whatsapp=True)
    meeting_id = _meeting(db, ends_at=START + timedelta(hours=2), place="Balai")
    with db.transaction() as session:
        meeting = get_meeting(session, COMMUNITY, meeting_id)
        assert meeting is not None
        before = meeting_ics(meeting, Translator("id"), "x")
        move_meeting(session, meeting, starts_at=START + timedelta(days=1), now=utcnow())
        after = meeting_ics(meeting, Translator("id"), "x")
    old, new = (Calendar.from_ical(b).walk("VEVENT")[0] for b in (before, after))
    assert old["uid"] == new["uid"]
    assert (old.decoded("sequence"), new.decoded("sequence")) == (0, 1)
    assert new.decoded("dtstart") == (START + timedelta(days=1)).astimezone(UTC)
    [schedule] = Chat(Router(db), "whatsapp", phone(1), phone(1)).texts("jadwal")
    assert "(dipindah, sebelumnya " in schedule


def test_when_text_joins_the_end_time(db: Database) -> None:
    meeting_id = _meeting(db, ends_at=START + timedelta(hours=3))
    with db.transaction() as session:
        meeting = get_meeting(session, COMMUNITY, meeting_id)
        assert meeting is not None
        local = to_local(START)
        text = when_text(meeting, Translator("id"))
        english = when_text(meeting, Translator("en"))
    end = to_local(START + timedelta(hours=3))
    assert text.endswith(f" pukul {local:%H.%M}-{end:%H.%M} WIB")
    assert english.endswith(f" at {local:%H:%M}-{end:%H:%M} WIB")


def test_kalender_on_whatsapp_is_text_and_plans_no_file(db: Database) -> None:
    with db.transaction() as session:
        add_member(session, "Siti", phone(1), whatsapp=True)
    _meeting(db, place="Balai Kelurahan")
    [said] = Chat(Router(db), "whatsapp", phone(1), phone(1)).texts("kalender")
    assert said.startswith("Berkas kalender tidak bisa dikirim lewat WhatsApp")
    assert "Tempat: Balai Kelurahan" in said
    assert rows(db) == []


def test_tidak_still_answers_the_question_shown(db: Database) -> None:
    """TIDAK is an RSVP keyword, but typed under a question with a "Tidak ..." choice it picks
    that choice (here: refusing the privacy notice), as it did before the keyword existed."""
    _meeting(db)
    with db.transaction() as session:
        member = add_member(session, "Siti", phone(1), whatsapp=True)
        member.consent_at = member.consent_asked_at = None
        session.add(member)
        member_id = member.id
    chat = Chat(Router(db), "whatsapp", phone(1), phone(1))
    [*_, question] = chat.texts("halo")
    assert question.endswith("Apakah Ibu setuju data Ibu disimpan dan dipakai seperti itu?")
    refused = "\n".join(chat.texts("tidak"))
    assert "Belum ada" not in refused and "Tercatat" not in refused
    with db.transaction() as session:
        stored = session.get(Member, member_id)
        assert stored is not None and stored.consent_at is None and stored.consent_asked_at
    # Outside any question, TIDAK is her answer.
    assert chat.texts("tidak")[0].startswith("Tercatat: Ibu TIDAK HADIR di Pertemuan bulanan")
