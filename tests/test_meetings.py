"""Meetings, the ground (storage/meetings.py): creating, answers with a training's seats and
waiting list, headcounts, the check-in code of the day, moving and cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from storage.db import Database
from storage.meetings import (
    Answer,
    Meeting,
    MeetingError,
    MeetingKind,
    MeetingRole,
    MeetingRoleName,
    MeetingStatus,
    RoleStatus,
    Rsvp,
    answer_rsvp,
    attendance_of,
    cancel_meeting,
    check_in,
    create_meeting,
    finish_past_meetings,
    get_meeting,
    headcount,
    move_meeting,
    next_meeting,
    normalize_code,
    record_attendance,
    rsvp_choices,
    upcoming_meetings,
    waiting_position,
)
from storage.models import Member, OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.i18n import Translator

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 08.00 WIB
SATURDAY = datetime(2026, 12, 12, 9, 0, tzinfo=WIB)


def _members(session: Session) -> dict[str, Member]:
    people = {
        "Siti": add_member(session, "Siti", phone(1), kelurahan="19 Ilir"),
        "Ani": add_member(session, "Ani", phone(2), kelurahan="23 Ilir", language="en"),
        "Dewi": add_member(session, "Dewi", phone(3), kelurahan="23 Ilir"),
    }
    session.flush()
    return people


def _meeting(session: Session, **extra: object) -> Meeting:
    values: dict[str, object] = {
        "community_id": COMMUNITY,
        "title": "Pertemuan bulanan",
        "starts_at": SATURDAY,
        "ends_at": SATURDAY + timedelta(hours=3),
        "place": "Balai RW 05",
        "now": NOW,
    }
    values.update(extra)
    return create_meeting(session, **values)  # type: ignore[arg-type]


def _notices(session: Session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"starts_at": NOW - timedelta(minutes=1)}, "past"),
        ({"ends_at": SATURDAY - timedelta(hours=1)}, "end_before_start"),
        ({"title": "   "}, "empty_title"),
        ({"kind": "arisan"}, "bad_kind"),
        ({"seats": 10}, "bad_seats"),  # seats are for trainings
        ({"kind": MeetingKind.TRAINING, "seats": 0}, "bad_seats"),
    ],
)
def test_a_meeting_that_cannot_be_is_refused(
    db: Database, extra: dict[str, object], code: str
) -> None:
    with db.transaction() as session, pytest.raises(MeetingError) as caught:
        _meeting(session, **extra)
    assert caught.value.code == code


def test_upcoming_meetings_follow_the_audience_and_the_clock(db: Database) -> None:
    with db.transaction() as session:
        people = _members(session)
        everyone = _meeting(session)
        only_23 = _meeting(
            session, title="Pelatihan sabun", starts_at=SATURDAY - timedelta(days=2),
            kind=MeetingKind.TRAINING, kelurahan=["23 ilir "],
        )  # fmt: skip
        assert only_23.kelurahan == ["23 ilir"]
        assert [m.id for m in upcoming_meetings(session, COMMUNITY, NOW)] == [
            only_23.id,
            everyone.id,
        ]
        # Siti lives in 19 Ilir: the training of 23 Ilir is not hers.
        assert next_meeting(session, COMMUNITY, NOW, people["Siti"]) == everyone
        assert next_meeting(session, COMMUNITY, NOW, people["Ani"]) == only_23
        later = SATURDAY + timedelta(hours=1)
        assert next_meeting(session, COMMUNITY, later, people["Ani"]) is None
        with pytest.raises(MeetingError) as caught:
            answer_rsvp(session, only_23, people["Siti"], Answer.YES, now=NOW)
        assert caught.value.code == "not_invited"
        assert get_meeting(session, COMMUNITY + 1, everyone.id or 0) is None


def test_an_answer_can_change_until_the_start(db: Database) -> None:
    with db.transaction() as session:
        siti = _members(session)["Siti"]
        meeting = _meeting(session)
        first = answer_rsvp(session, meeting, siti, Answer.MAYBE, now=NOW, channel="whatsapp")
        assert (first.previous, first.answer, first.unchanged) == (None, "maybe", False)
        again = answer_rsvp(session, meeting, siti, Answer.MAYBE, now=NOW + timedelta(hours=1))
        assert again.unchanged
        changed = answer_rsvp(session, meeting, siti, Answer.YES, now=NOW + timedelta(hours=2))
        assert (changed.previous, changed.answer) == ("maybe", "yes")
        rows = session.exec(select(Rsvp)).all()
        assert [(r.answer, r.member_id) for r in rows] == [("yes", siti.id)]
        with pytest.raises(MeetingError) as caught:
            answer_rsvp(session, meeting, siti, Answer.NO, now=SATURDAY.astimezone(UTC))
        assert caught.value.code == "started"
        with pytest.raises(MeetingError) as caught:
            answer_rsvp(session, meeting, siti, "perhaps", now=NOW)
        assert caught.value.code == "bad_answer"


def test_a_training_fills_its_seats_then_the_waiting_list_moves_up(db: Database) -> None:
    with db.transaction() as session:
        people = _members(session)
        training = _meeting(session, kind=MeetingKind.TRAINING, seats=1, title="Pelatihan")
        siti = answer_rsvp(session, training, people["Siti"], Answer.YES, now=NOW)
        ani = answer_rsvp(session, training, people["Ani"], Answer.YES, now=NOW + timedelta(1))
        dewi = answer_rsvp(session, training, people["Dewi"], Answer.YES, now=NOW + timedelta(2))
        assert (siti.waiting, ani.waiting, ani.position, dewi.position) == (False, True, 1, 2)
        # A second "yes" from one who waits keeps her place.
        again = answer_rsvp(session, training, people["Ani"], Answer.YES, now=NOW + timedelta(3))
        assert (again.unchanged, again.position) == (True, 1)
        gave_up = answer_rsvp(session, training, people["Siti"], Answer.NO, now=NOW)
        assert [m.name for m in gave_up.promoted] == ["Ani"]
        assert waiting_position(session, training.id or 0, people["Dewi"].id or 0) == 1
        (notice,) = _notices(session)
        assert notice.member_id == people["Ani"].id and notice.kind == "meeting"
        assert notice.text.startswith("Good news: a seat has become free for you")
        assert notice.text.endswith("reply NOT ATTENDING.")
        count = headcount(session, training)
        assert (count.yes, count.no, count.waiting, count.none) == (2, 1, 1, 0)


def test_headcount_counts_who_has_not_answered_per_kelurahan(db: Database) -> None:
    with db.transaction() as session:
        people = _members(session)
        meeting = _meeting(session)
        answer_rsvp(session, meeting, people["Ani"], Answer.YES, now=NOW)
        answer_rsvp(session, meeting, people["Dewi"], Answer.MAYBE, now=NOW)
        count = headcount(session, meeting)
        assert (count.yes, count.maybe, count.no, count.none, count.invited) == (1, 1, 0, 1, 3)
        assert count.by_kelurahan == {
            "19 Ilir": {"yes": 0, "maybe": 0, "no": 0, "none": 1},
            "23 Ilir": {"yes": 1, "maybe": 1, "no": 0, "none": 0},
        }


def test_the_code_word_of_the_day_records_attendance_once(db: Database) -> None:
    with db.transaction() as session:
        siti = _members(session)["Siti"]
        meeting = _meeting(session)
        code = meeting.checkin_code or ""
        assert len(code) >= 4 and code[-1].isdigit()
        during = SATURDAY.astimezone(UTC) + timedelta(minutes=30)
        assert check_in(session, siti, code, now=NOW, zone=WIB).status == "no_meeting"
        wrong = check_in(session, siti, "SALAH9", now=during, zone=WIB)
        assert wrong.status == "wrong_code" and attendance_of(session, meeting.id or 0) == {}
        typed = f" {code[:-1].lower()} {code[-1]} "  # spaces and lower case forgiven
        assert normalize_code(typed) == code
        assert check_in(session, siti, typed, now=during, zone=WIB).status == "recorded"
        assert check_in(session, siti, code, now=during, zone=WIB).status == "already"
        assert (
            record_attendance(
                session, meeting, [siti.id or 0, siti.id or 0], method="marked", now=during
            )
            == 0
        )
        assert attendance_of(session, meeting.id or 0)[siti.id or 0].method == "code"


def test_moving_tells_who_answered_with_the_old_and_new_time(db: Database) -> None:
    with db.transaction() as session:
        people = _members(session)
        meeting = _meeting(session)
        answer_rsvp(session, meeting, people["Siti"], Answer.YES, now=NOW)
        answer_rsvp(session, meeting, people["Ani"], Answer.NO, now=NOW)
        told = move_meeting(session, meeting, starts_at=SATURDAY + timedelta(days=1), now=NOW)
        assert told == 2
        assert (meeting.status, meeting.revision) == (MeetingStatus.MOVED, 1)
        assert meeting.ends_at == (SATURDAY + timedelta(days=1, hours=3)).astimezone(UTC)
        siti_notice, ani_notice = _notices(session)
        assert siti_notice.text == (
            'Perubahan jadwal: "Pertemuan bulanan" pindah dari Sabtu, 12 Desember 2026 pukul '
            "09.00 WIB ke Minggu, 13 Desember 2026 pukul 09.00 WIB. Jawaban Ibu tetap "
            "tercatat. Kalau jadi tidak bisa, balas TIDAK."
        )
        assert "moves from Saturday, 12 December 2026 at 09:00 WIB" in ani_notice.text
        with pytest.raises(MeetingError):
            move_meeting(session, meeting, starts_at=NOW - timedelta(days=1), now=NOW)
        # Cancelling tells them again; a cancelled meeting takes no answers and no changes.
        assert cancel_meeting(session, meeting, now=NOW) == 2
        assert "CANCELLED" in _notices(session)[-1].text
        for change in (
            lambda: answer_rsvp(session, meeting, people["Dewi"], Answer.YES, now=NOW),
            lambda: cancel_meeting(session, meeting, now=NOW),
        ):
            with pytest.raises(MeetingError) as caught:
                change()
            assert caught.value.code == "not_open"
        assert upcoming_meetings(session, COMMUNITY, NOW) == []


def test_moving_and_cancelling_tell_who_holds_or_was_asked_for_a_role(db: Database) -> None:
    """Dewi, asked to be MC, has not answered the invitation: she is told all the same, once."""
    with db.transaction() as session:
        people = _members(session)
        meeting = _meeting(session)
        answer_rsvp(session, meeting, people["Siti"], Answer.YES, now=NOW)
        for name, role, status in (
            ("Dewi", MeetingRoleName.MC, RoleStatus.ASKED),
            ("Siti", MeetingRoleName.SPEAKER, RoleStatus.ACCEPTED),
            ("Ani", MeetingRoleName.FACILITATOR, RoleStatus.DECLINED),
        ):
            member_id = people[name].id
            assert meeting.id is not None and member_id is not None
            session.add(
                MeetingRole(meeting_id=meeting.id, role=role, member_id=member_id, status=status)
            )
        session.flush()
        assert move_meeting(session, meeting, starts_at=SATURDAY + timedelta(days=1), now=NOW) == 2
        assert cancel_meeting(session, meeting, now=NOW) == 2
        told = {(n.member_id, ":cancelled:" in n.key) for n in _notices(session)}
        assert told == {(people[p].id, c) for p in ("Siti", "Dewi") for c in (False, True)}


def test_meetings_that_ended_are_done(db: Database) -> None:
    with db.transaction() as session:
        meeting = _meeting(session)
        assert finish_past_meetings(session, SATURDAY.astimezone(UTC)) == 0  # under way
        assert finish_past_meetings(session, SATURDAY.astimezone(UTC) + timedelta(hours=3)) == 1
        assert meeting.status == MeetingStatus.DONE


def test_answer_choices_carry_the_meeting() -> None:
    assert rsvp_choices(Translator("id"), 12) == [
        ("HADIR #12", "Hadir"),
        ("TIDAK #12", "Tidak bisa"),
        ("MUNGKIN #12", "Mungkin"),
    ]
