"""The rotating roles of a meeting (storage/meetings_roles.py, conversations/meetings_roles.py):
who is proposed, the planning (asks, expiry, the next member, the coordinators told once), the
answers, pauses, and a member answering through the router after the sender delivered the ask.
On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from handlers.router import Router
from storage.db import Database
from storage.meetings import (
    Meeting,
    MeetingKind,
    MeetingRole,
    RolePause,
    RoleStatus,
    cancel_meeting,
    create_meeting,
    lineup,
)
from storage.meetings_roles import (
    ANSWER_CLOSES_BEFORE_START,
    NOTICE_KIND,
    AnswerStatus,
    answer_role,
    months_later,
    pause_roles,
    plan_roles,
    propose,
    resume_roles,
)
from storage.models import Member, OutboxMessage
from tests.outbox_support import COMMUNITY, FAST, Chat, add_member, drain, phone
from wlcc.formatting import utcnow
from wlcc.settings import Settings

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 08.00 WIB
SATURDAY = datetime(2026, 12, 12, 9, 0, tzinfo=WIB)
SETTINGS = Settings(_env_file=None)
HOURS = timedelta(hours=SETTINGS.wlcc_role_answer_hours)


def _meeting(session: Session, starts_at: datetime = SATURDAY, **extra: object) -> Meeting:
    values: dict[str, object] = {
        "community_id": COMMUNITY,
        "title": "Pertemuan bulanan",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=3),
        "place": "Balai RW 05",
        "now": extra.pop("now", NOW),
    }
    values.update(extra)
    return create_meeting(session, **values)  # type: ignore[arg-type]


def _people(session: Session, count: int, **extra: object) -> list[Member]:
    return [add_member(session, f"M{i}", phone(i), **extra) for i in range(count)]  # type: ignore[arg-type]


def _held(session: Session, meeting: Meeting, role: str, member: Member) -> None:
    """She took ``role`` at ``meeting`` (a past turn)."""
    assert meeting.id is not None and member.id is not None
    session.add(
        MeetingRole(
            meeting_id=meeting.id,
            role=role,
            member_id=member.id,
            status=RoleStatus.ACCEPTED,
            asked_at=NOW,
            answered_at=NOW,
        )
    )
    session.flush()


def _asks(session: Session, meeting: Meeting) -> list[MeetingRole]:
    return list(
        session.exec(
            select(MeetingRole)
            .where(MeetingRole.meeting_id == meeting.id)
            .order_by(col(MeetingRole.id))
        )
    )


def _outbox(session: Session, kind: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(col(OutboxMessage.id))
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(session.exec(query))


def _earlier(session: Session, days: int) -> Meeting:
    """A meeting ``days`` before SATURDAY (created back then)."""
    start = SATURDAY - timedelta(days=days)
    return _meeting(session, start, now=start - timedelta(days=1))


# --- who is proposed ---


def test_the_fewest_turns_then_the_longest_wait_then_the_id(db: Database) -> None:
    with db.transaction() as session:
        a, b, c, _ = _people(session, 4)
        long_ago, lately = _earlier(session, 63), _earlier(session, 28)
        _held(session, long_ago, "facilitator", a)
        _held(session, lately, "mc", a)  # two turns
        _held(session, lately, "facilitator", b)  # one turn, a month ago
        _held(session, long_ago, "speaker", c)  # one turn, two months ago
        meeting = _meeting(session)
        order = []
        for _ in range(4):
            member = propose(session, meeting, "speaker", NOW)
            assert member is not None and member.id is not None
            order.append(member.name)
            session.add(
                MeetingRole(
                    meeting_id=meeting.id or 0,
                    role="speaker",
                    member_id=member.id,
                    status=RoleStatus.DECLINED,
                )
            )
            session.flush()
        assert order == ["M3", "M2", "M1", "M0"]  # d never had one; c waited longest
        assert propose(session, meeting, "speaker", NOW) is None  # all declined this role


def test_nobody_takes_the_same_role_twice_in_a_row(db: Database) -> None:
    with db.transaction() as session:
        a, b = _people(session, 2)
        before = _earlier(session, 28)
        _held(session, before, "mc", a)
        _held(session, before, "speaker", a)
        _held(session, before, "facilitator", b)
        _held(session, _earlier(session, 56), "facilitator", b)  # b: more turns than a
        meeting = _meeting(session)
        mc = propose(session, meeting, "mc", NOW)
        assert mc is not None and mc.name == "M1"  # a was MC last time
        facilitator = propose(session, meeting, "facilitator", NOW)
        assert facilitator is not None and facilitator.name == "M0"  # b was last time
        # A meeting already planned after this one counts as "in a row" too.
        after = _meeting(session, SATURDAY + timedelta(days=28))
        _held(session, after, "mc", b)
        assert propose(session, meeting, "mc", NOW) is None


def test_who_is_never_proposed(db: Database) -> None:
    with db.transaction() as session:
        ok = add_member(session, "Boleh", phone(1), kelurahan="23 Ilir")
        add_member(session, "Berhenti", phone(2), kelurahan="23 Ilir", opted_out=True)
        add_member(session, "Keluar", phone(3), kelurahan="23 Ilir", status="inactive")
        add_member(session, "Lain", phone(4), kelurahan="19 Ilir")
        paused = add_member(session, "Cuti", phone(5), kelurahan="23 Ilir")
        back = add_member(session, "Kembali", phone(6), kelurahan="23 Ilir")
        session.add(RolePause(member_id=paused.id or 0, until=None))
        session.add(RolePause(member_id=back.id or 0, until=NOW - timedelta(days=1)))  # over
        meeting = _meeting(session, kelurahan=["23 Ilir"])
        first = propose(session, meeting, "mc", NOW)
        assert first is not None and first.name == "Boleh"
        assert plan_roles(session, now=NOW, settings=SETTINGS) == 2
        asked = {session.get(Member, r.member_id).name for r in _asks(session, meeting)}  # type: ignore[union-attr]
        assert asked == {"Boleh", "Kembali"}
        assert ok.id is not None


# --- planning ---


def test_planning_asks_each_role_once_in_her_language(db: Database) -> None:
    with db.transaction() as session:
        _people(session, 2)
        add_member(session, "Mary", phone(9), language="en")
        meeting = _meeting(session)
        assert plan_roles(session, now=NOW, settings=SETTINGS) == 3
        assert plan_roles(session, now=NOW + timedelta(hours=1), settings=SETTINGS) == 0
        asks = _asks(session, meeting)
        assert [(r.role, r.status) for r in asks] == [
            ("mc", "asked"),
            ("facilitator", "asked"),
            ("speaker", "asked"),
        ]
        assert all(r.answer_by is not None and r.answer_by == NOW + HOURS for r in asks)
        notices = _outbox(session, NOTICE_KIND)
        assert [n.key for n in notices] == [
            f"meeting_role:{meeting.id}:{r.role}:member:{r.member_id}" for r in asks
        ]
        assert notices[0].choices == [
            [f"PERAN TERIMA {asks[0].id}", "Terima"],
            [f"PERAN TOLAK {asks[0].id}", "Tolak"],
        ]
        assert notices[2].text.startswith("Mary, it is your turn to be the speaker")
        assert notices[2].choices[0] == [f"PERAN TERIMA {asks[2].id}", "Accept"]


def test_which_meetings_are_planned(db: Database) -> None:
    with db.transaction() as session:
        _people(session, 3)
        window = SETTINGS.wlcc_announce_days_before + 7
        far = _meeting(session, NOW + timedelta(days=window, hours=1))
        training = _meeting(session, kind=MeetingKind.TRAINING)
        cancelled = _meeting(session, SATURDAY + timedelta(days=1))
        cancel_meeting(session, cancelled, now=NOW)
        assert plan_roles(session, now=NOW, settings=SETTINGS) == 0
        assert not _asks(session, far) and not _asks(session, training)
        # A day later the far one is within the window.
        assert plan_roles(session, now=NOW + timedelta(days=1), settings=SETTINGS) == 3


def test_close_to_the_start_the_time_to_answer_is_shorter_then_nobody_is_asked(
    db: Database,
) -> None:
    with db.transaction() as session:
        _people(session, 4)
        add_member(session, "Rina", phone(20), role="coordinator")
        soon = _meeting(session, NOW + timedelta(hours=30))
        assert plan_roles(session, now=NOW, settings=SETTINGS) == 3
        assert {r.answer_by for r in _asks(session, soon)} == {
            soon.starts_at - ANSWER_CLOSES_BEFORE_START
        }
        # Nobody answers; 20 hours later it is too late to ask anyone else.
        later = NOW + timedelta(hours=20)
        assert plan_roles(session, now=later, settings=SETTINGS) == 0
        assert {r.status for r in _asks(session, soon)} == {RoleStatus.EXPIRED}
        told = [n for n in _outbox(session) if ":unfilled:" in n.key]
        assert len(told) == 3 and all(n.text.startswith("Tugas ") for n in told)
        assert plan_roles(session, now=later + timedelta(hours=1), settings=SETTINGS) == 0
        assert len([n for n in _outbox(session) if ":unfilled:" in n.key]) == 3


def test_no_answer_in_time_moves_to_the_next(db: Database) -> None:
    with db.transaction() as session:
        _people(session, 5)
        meeting = _meeting(session)
        plan_roles(session, now=NOW, settings=SETTINGS)
        mc = _asks(session, meeting)[0]
        for r in _asks(session, meeting)[1:]:
            answer_role(session, r, session.get(Member, r.member_id), accept=True, now=NOW)  # type: ignore[arg-type]
        assert plan_roles(session, now=NOW + HOURS - timedelta(minutes=1), settings=SETTINGS) == 0
        assert plan_roles(session, now=NOW + HOURS, settings=SETTINGS) == 1
        session.refresh(mc)
        assert mc.status == RoleStatus.EXPIRED
        new = _asks(session, meeting)[-1]
        assert (new.role, new.status, new.member_id) == ("mc", "asked", mc.member_id + 3)


def test_a_decline_asks_the_next_at_once_and_the_line_up_is_told_once(db: Database) -> None:
    with db.transaction() as session:
        people = _people(session, 4)
        rina = add_member(session, "Rina", phone(20), role="coordinator")
        add_member(session, "Admin", phone(21), role="admin", language="en")
        add_member(session, "Bendahara", phone(22), role="treasurer")
        meeting = _meeting(session)
        # Rina, Admin and Bendahara are members too: they take turns, after the others (ids).
        plan_roles(session, now=NOW, settings=SETTINGS)
        mc, facilitator, speaker = _asks(session, meeting)
        assert [mc.member_id, facilitator.member_id, speaker.member_id] == [
            p.id for p in people[:3]
        ]
        later = NOW + timedelta(hours=5)
        result = answer_role(session, speaker, people[2], accept=False, now=later)
        assert result.status == AnswerStatus.DECLINED
        assert result.next_member is not None and result.next_member.id == people[3].id
        new = _asks(session, meeting)[-1]
        assert (new.role, new.status, new.answer_by) == ("speaker", "asked", later + HOURS)
        for row, member in ((mc, people[0]), (facilitator, people[1]), (new, people[3])):
            assert answer_role(session, row, member, accept=True, now=later).status == "accepted"
        assert {r: m.name for r, m in lineup(session, meeting.id or 0).items()} == {
            "mc": "M0",
            "facilitator": "M1",
            "speaker": "M3",
        }
        told = [n for n in _outbox(session) if ":lineup:" in n.key]
        assert [(n.member_id, n.text.split("\n")[0][:9]) for n in told] == [
            (rina.id, 'Petugas "'),
            ((rina.id or 0) + 1, "The roles"),  # the admin, in English
        ]
        assert "Pemateri: M3" in told[0].text
        plan_roles(session, now=later + timedelta(hours=1), settings=SETTINGS)
        assert len([n for n in _outbox(session) if ":lineup:" in n.key]) == 2
        # Answering again changes nothing.
        again = answer_role(session, mc, people[0], accept=False, now=later)
        assert again.status == AnswerStatus.ALREADY_ACCEPTED
        assert answer_role(session, speaker, people[2], accept=True, now=later).status == (
            AnswerStatus.ALREADY_DECLINED
        )
        assert answer_role(session, mc.id or 0, people[1], accept=True, now=later).status == (
            AnswerStatus.NOT_FOUND
        )


def test_nobody_left_for_a_role_tells_the_coordinators_once(db: Database) -> None:
    with db.transaction() as session:
        a, b = _people(session, 2)
        add_member(session, "Rina", phone(20), role="coordinator", opted_out=True)
        meeting = _meeting(session)
        assert plan_roles(session, now=NOW, settings=SETTINGS) == 2
        told = [n for n in _outbox(session) if ":unfilled:" in n.key]
        assert [n.key for n in told] == [f"meeting_role:{meeting.id}:speaker:unfilled:staff:3"]
        assert "pemateri" in told[0].text
        mc = _asks(session, meeting)[0]
        answer_role(session, mc, a, accept=False, now=NOW)  # nobody left for MC either
        assert len([n for n in _outbox(session) if ":unfilled:" in n.key]) == 2
        plan_roles(session, now=NOW + timedelta(hours=1), settings=SETTINGS)
        assert len([n for n in _outbox(session) if ":unfilled:" in n.key]) == 2
        assert b.id is not None


def test_a_cancelled_meeting_withdraws_its_asks(db: Database) -> None:
    with db.transaction() as session:
        people = _people(session, 3)
        meeting = _meeting(session)
        plan_roles(session, now=NOW, settings=SETTINGS)
        cancel_meeting(session, meeting, now=NOW)
        assert {r.status for r in _asks(session, meeting)} == {RoleStatus.WITHDRAWN}
        first = _asks(session, meeting)[0]
        assert answer_role(session, first, people[0], accept=True, now=NOW).status == "closed"
        assert plan_roles(session, now=NOW + timedelta(hours=1), settings=SETTINGS) == 0


def test_a_pause_skips_her_and_gives_her_ask_to_the_next(db: Database) -> None:
    with db.transaction() as session:
        people = _people(session, 5)
        meeting = _meeting(session)
        plan_roles(session, now=NOW, settings=SETTINGS)
        until = months_later(NOW, 1)
        assert until == datetime(2027, 1, 7, tzinfo=WIB)
        released = pause_roles(session, people[0], until=until, now=NOW)
        assert [(r.row.role, r.next_member.name if r.next_member else None) for r in released] == [
            ("mc", "M3")
        ]
        session.refresh(released[0].row)
        assert released[0].row.status == RoleStatus.DECLINED
        assert resume_roles(session, people[1], NOW) is False  # she was not paused
        assert resume_roles(session, people[0], NOW) is True
        assert session.get(RolePause, people[0].id) is None
        assert meeting.id is not None


def test_months_later_keeps_the_day_or_takes_the_last_of_the_month() -> None:
    jan31 = datetime(2027, 1, 31, 10, 0, tzinfo=WIB)
    assert months_later(jan31, 1) == datetime(2027, 2, 28, tzinfo=WIB)
    assert months_later(jan31, 3) == datetime(2027, 4, 30, tzinfo=WIB)
    assert months_later(datetime(2026, 11, 30, 20, 0, tzinfo=UTC), 3) == datetime(
        2027, 3, 1, tzinfo=WIB
    )  # 1 December 03.00 WIB + 3 months


# --- through the router ---


def test_members_answer_through_the_router(db: Database, settings: Settings) -> None:
    """The sender delivers the asks on WhatsApp; one member answers "1", one types TERIMA,
    one types TOLAK (the next is asked at once); a coordinator's bare TOLAK stays hers."""
    now = utcnow()
    with db.transaction() as session:
        for i in range(4):
            add_member(session, f"M{i}", phone(i), whatsapp=True)
        add_member(session, "Rina", phone(20), role="coordinator", whatsapp=True)
        meeting = _meeting(session, now + timedelta(days=5), now=now)
        assert plan_roles(session, now=now, settings=settings) == 3
    drain(db, settings, **FAST)
    router = Router(db)

    [reply] = Chat(router, "whatsapp", phone(0), phone(0)).send("1")
    assert reply.text.startswith("Terima kasih, Bu M0! Ibu tercatat sebagai MC (pembawa acara)")
    [reply] = Chat(router, "whatsapp", phone(1), phone(1)).send("TERIMA")
    assert reply.text.startswith("Terima kasih, Bu M1! Ibu tercatat sebagai fasilitator")
    [reply] = Chat(router, "whatsapp", phone(2), phone(2)).send("tolak")
    assert reply.text.startswith("Baik, Bu M2, tidak apa-apa. Ibu tidak menjadi pemateri")
    [reply] = Chat(router, "whatsapp", phone(2), phone(2)).send("tolak")
    assert reply.text.startswith("Saat ini tidak ada permintaan tugas")
    [reply] = Chat(router, "whatsapp", phone(20), phone(20)).send("TOLAK")
    assert reply.text == "Tulis nomor pendaftar, misalnya: SETUJUI 12 atau TOLAK 12"
    with db.transaction() as session:
        asks = _asks(session, session.get(Meeting, meeting.id))  # type: ignore[arg-type]
        assert [(r.role, r.status, r.member_id) for r in asks] == [
            ("mc", "accepted", 1),
            ("facilitator", "accepted", 2),
            ("speaker", "declined", 3),
            ("speaker", "asked", 4),
        ]
        next_ask = asks[-1].id
    drain(db, settings, **FAST)
    # M3 answers with the Telegram-style payload of the button (the same on every channel).
    [reply] = Chat(router, "whatsapp", phone(3), phone(3)).send(payload=f"PERAN TERIMA {next_ask}")
    assert reply.text.startswith("Terima kasih, Bu M3! Ibu tercatat sebagai pemateri")
    with db.transaction() as session:
        told = [n for n in _outbox(session) if ":lineup:" in n.key]
        assert len(told) == 1 and "Pemateri: M3" in told[0].text


def test_several_asks_waiting_are_a_numbered_choice(db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        add_member(session, "Siti", phone(1), whatsapp=True)
        first = _meeting(session, now + timedelta(days=3), now=now, title="Pertemuan 19 Ilir")
        second = _meeting(session, now + timedelta(days=4), now=now, title="Pertemuan 23 Ilir")
        plan_roles(session, now=now, settings=SETTINGS)  # she is the MC of both (the only one)
        assert [len(_asks(session, m)) for m in (first, second)] == [1, 1]
    chat = Chat(Router(db), "whatsapp", phone(1), phone(1))
    [which] = chat.send("TERIMA")
    assert which.text == "Ibu diminta untuk 2 tugas. Tugas mana yang Ibu terima?"
    assert [c.label.split(",")[:2] for c in which.choices] == [
        ["MC (pembawa acara)", " Pertemuan 19 Ilir"],
        ["MC (pembawa acara)", " Pertemuan 23 Ilir"],
    ]
    [reply] = chat.send("2")
    assert reply.text.startswith("Terima kasih, Bu Siti! Ibu tercatat sebagai MC (pembawa acara)")
    assert "Pertemuan 23 Ilir" in reply.text
    [reply] = chat.send("tolak")  # one left: answered at once
    assert 'Ibu tidak menjadi MC (pembawa acara) di "Pertemuan 19 Ilir"' in reply.text


@pytest.mark.parametrize("text", ["terima kasih", "tolak ukur", "terima surat dari lurah"])
def test_everyday_words_are_no_answer(db: Database, text: str) -> None:
    now = utcnow()
    with db.transaction() as session:
        add_member(session, "Siti", phone(1), whatsapp=True)
        meeting = _meeting(session, now + timedelta(days=3), now=now)
        plan_roles(session, now=now, settings=SETTINGS)
    Chat(Router(db), "whatsapp", phone(1), phone(1)).send(text)
    with db.transaction() as session:
        assert [r.status for r in _asks(session, meeting)] == ["asked"]


def test_a_resident_cannot_pause_roles(db: Database) -> None:
    chat = Chat(Router(db), "whatsapp", phone(7), phone(7))
    chat.send("halo")
    assert chat.texts("CUTI PERAN") == [
        "Tugas MC, fasilitator dan pemateri hanya untuk anggota WLCC. Ketik MENU untuk melihat"
        " pilihan Anda."
    ]
    assert chat.texts("TERIMA") == [
        "Saat ini tidak ada permintaan tugas (MC, fasilitator, pemateri) yang menunggu jawaban Ibu."
    ]


def test_two_planners_at_once_ask_each_role_once(db: Database) -> None:
    """Two notice jobs (two app instances) plan at the same moment: on PostgreSQL the meeting's
    row lock makes the second see the first's asks."""
    with db.transaction() as session:
        _people(session, 6)
        meeting = _meeting(session)
    barrier = threading.Barrier(2)

    def plan() -> int:
        barrier.wait()
        with db.transaction() as session:
            return plan_roles(session, now=NOW, settings=SETTINGS)

    with ThreadPoolExecutor(2) as pool:
        made = sorted(pool.map(lambda _: plan(), range(2)))
    assert made == [0, 3]
    with db.transaction() as session:
        assert len(_asks(session, meeting)) == 3
        assert len(_outbox(session, NOTICE_KIND)) == 3
