"""Themes by need (storage/meetings_themes.py, conversations/meetings_themes.py), through the
real router and storage: suggesting (and the bad inputs), the list, opening a vote (at most 9),
voting and changing it, closing by time (the notice job's close_due_polls) and by hand, the
result to coordinators once, and using the winner as a meeting's title."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from handlers.router import Router
from storage.conversations import offer_choices
from storage.db import Database
from storage.meetings import Meeting, ThemePoll, ThemeSuggestion, ThemeVote, create_meeting
from storage.meetings_themes import (
    MAX_OPTIONS,
    RESULT_KIND,
    VOTE_KIND,
    PollStatus,
    ThemeError,
    close_due_polls,
    open_poll,
    open_themes,
    suggest,
    vote,
)
from storage.models import AuditLog, Identity, Member, MemberStatus, OutboxMessage
from tests.outbox_support import COMMUNITY, Chat, add_member, phone
from wlcc.formatting import utcnow

COORDINATOR = phone(1)
ADMIN = phone(2)
SITI = phone(3)
ANI = phone(4)  # reads English
DEWI = phone(5)
OPTED_OUT = phone(6)
INACTIVE = phone(7)
RESIDENT = phone(8)  # not a member


@pytest.fixture
def router(db: Database) -> Router:
    with db.transaction() as session:
        add_member(session, "Rina", COORDINATOR, role="coordinator", whatsapp=True)
        add_member(session, "Yuni", ADMIN, role="admin", whatsapp=True, language="en")
        add_member(session, "Siti", SITI, whatsapp=True)
        add_member(session, "Ani", ANI, whatsapp=True, language="en")
        add_member(session, "Dewi", DEWI, whatsapp=True)
        add_member(session, "Lina", OPTED_OUT, whatsapp=True, opted_out=True)
        add_member(session, "Tuti", INACTIVE, whatsapp=True, status=MemberStatus.INACTIVE)
    return Router(db)


def chat(router: Router, number: str) -> Chat:
    return Chat(router, "whatsapp", number, number)


def member(session: Session, number: str) -> Member:
    found = session.exec(select(Member).where(Member.phone == number)).first()
    assert found is not None
    return found


def suggestions(db: Database) -> list[ThemeSuggestion]:
    with db.transaction() as session:
        return list(session.exec(select(ThemeSuggestion).order_by(col(ThemeSuggestion.id))))


def outbox(db: Database, kind: str) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.kind == kind)
                .order_by(col(OutboxMessage.id))
            )
        )


def polls(db: Database) -> list[ThemePoll]:
    with db.transaction() as session:
        return list(session.exec(select(ThemePoll).order_by(col(ThemePoll.id))))


def seed(db: Database, texts: list[str], *, by: str = SITI) -> list[int]:
    """Suggestions made through storage (one member), returning the theme ids."""
    with db.transaction() as session:
        who = member(session, by)
        return [suggest(session, who, text, now=utcnow()).theme.id for text in texts]


# --- suggesting ---


def test_suggest_asks_and_refuses_bad_input_keeping_the_dialog(router: Router, db: Database):
    siti = chat(router, SITI)
    [ask] = siti.send("usul")
    assert ask.text.startswith("Tema apa yang Ibu butuhkan") and ask.cancel
    [empty] = siti.texts("   ")
    assert empty.startswith("Usulannya masih kosong.")
    [digits] = siti.texts("12345")
    assert digits.startswith("Usulannya perlu kata-kata")
    [long] = siti.texts("kompos " * 40)
    assert long.startswith("Maaf, usulannya terlalu panjang (279 huruf, paling banyak 200)")
    assert suggestions(db) == []  # nothing stored, still asking
    [thanks] = siti.texts("cara membuat kompos")
    assert thanks.startswith('Terima kasih, Bu Siti! Usulan tema Ibu sudah dicatat: "Cara membuat')
    assert "divoting" in thanks  # what happens next
    [row] = suggestions(db)
    assert row.text == "Cara membuat kompos" and row.used_meeting_id is None
    # The dialog is over: a number now is not a theme.
    assert not siti.texts("2")[0].startswith("Terima kasih")


def test_a_theme_already_suggested_counts_as_support(router: Router, db: Database):
    chat(router, SITI).send("USUL Cara membuat kompos")
    [again] = chat(router, SITI).texts("usul  cara MEMBUAT kompos!")
    assert again.startswith('Ibu sudah mengusulkan tema "Cara membuat kompos"')
    assert len(suggestions(db)) == 1  # her own again adds nothing
    [support] = chat(router, DEWI).texts("usul cara membuat komposs")  # a typo: the same theme
    assert "sudah diusulkan anggota lain" in support and "sekarang 2 anggota" in support
    [english] = chat(router, ANI).texts("suggest Cara membuat kompos")
    assert english.startswith("Thank you, Ani!") and "3 members" in english
    rows = suggestions(db)
    assert [r.text for r in rows] == ["Cara membuat kompos"] * 3  # one wording per theme
    with db.transaction() as session:
        [theme] = open_themes(session, COMMUNITY)
    assert theme.count == 3 and theme.id == rows[0].id
    # A different theme is a new one.
    chat(router, DEWI).send("usul Cara membuat pupuk cair")
    assert len(suggestions(db)) == 4


def test_only_members_suggest_and_vote(router: Router, db: Database):
    resident = chat(router, RESIDENT)
    resident.send("halo")
    [refused] = resident.texts("usul taman bacaan")
    assert refused.startswith("Maaf, ini khusus untuk anggota")
    assert suggestions(db) == []
    assert chat(router, RESIDENT).texts("pilih 1")[0].startswith("Maaf, ini khusus untuk anggota")


# --- the list and opening a vote ---


def test_coordinators_list_themes_newest_first_members_do_not(router: Router, db: Database):
    chat(router, SITI).send("usul Menjahit")
    chat(router, SITI).send("usul Kompos")
    chat(router, DEWI).send("usul kompos")
    [listing] = chat(router, COORDINATOR).send("tema")
    assert listing.text.splitlines()[1:] == ["1. Kompos (2 usulan)", "2. Menjahit (1 usulan)"]
    assert [c.payload for c in listing.choices] == ["VOTING TEMA"]
    [member_view] = chat(router, SITI).texts("tema")
    assert member_view.startswith("Belum ada voting tema")
    assert "Kompos" not in member_view
    [denied] = chat(router, SITI).texts("voting tema")
    assert denied.startswith("Maaf, perintah itu hanya untuk pengurus")


def test_a_vote_offers_at_most_nine_and_tells_every_member(router: Router, db: Database):
    texts = [f"Topik nomor {word}" for word in "abcdefghijk"]  # 11 themes
    seed(db, texts)
    chat(router, DEWI).send("usul Topik nomor a")  # the oldest gets a second supporter
    rina = chat(router, COORDINATOR)
    [which] = rina.send("voting tema")
    assert which.text.startswith("Ada 11 usulan tema")
    assert [c.label for c in which.choices] == [
        "9 tema yang paling banyak diusulkan",
        "Pilih sendiri (paling banyak 9)",
    ]
    [pick] = rina.texts("2")
    assert pick.splitlines()[1] == "1. Topik nomor k (1 usulan)"  # newest first
    assert rina.texts("1 2 3 4 5 6 7 8 9 10")[0].startswith("Itu 10 tema; paling banyak 9.")
    assert rina.texts("1 12")[0].startswith("Nomor 12 tidak ada di daftar. Pilih 1 sampai 11")
    assert rina.texts("semua")[0].startswith("Maaf, kirim nomornya saja")
    [confirm] = rina.send("11, 1 dan 2")
    assert confirm.text.splitlines()[1:4] == [
        "1) Topik nomor a",
        "2) Topik nomor k",
        "3) Topik nomor j",
    ]
    assert "5 anggota" in confirm.text  # active and not opted out
    assert polls(db) == []  # nothing before she confirms
    [opened] = rina.texts("1")
    assert opened.startswith("Voting dibuka dengan 3 tema. Pesan untuk 5 anggota")
    [poll] = polls(db)
    assert poll.status == PollStatus.OPEN and len(poll.options) == 3
    notices = outbox(db, VOTE_KIND)
    with db.transaction() as session:
        names = [session.get(Member, n.member_id).name for n in notices]  # type: ignore[union-attr]
        audit = session.exec(select(AuditLog).where(AuditLog.action == "meeting.themes")).all()
    assert names == ["Rina", "Yuni", "Siti", "Ani", "Dewi"]  # not Lina (opted out) nor Tuti
    assert [n.key for n in notices][2] == f"theme_poll:{poll.id}:member:{notices[2].member_id}"
    assert notices[2].choices[0] == [f"PILIH TEMA {poll.id} {poll.options[0]}", "Topik nomor a"]
    assert notices[2].text.startswith("Halo Ibu! Pengurus WLCC mengajak memilih")
    assert notices[3].text.startswith("Hello! The WLCC coordinators")  # Ani reads English
    assert [a.target for a in audit] == [f"theme_poll:{poll.id}"]
    # One vote at a time.
    assert rina.texts("voting tema")[0].startswith("Masih ada voting tema yang berjalan")


def test_the_most_supported_nine(router: Router, db: Database):
    seed(db, [f"Topik nomor {word}" for word in "abcdefghijk"])
    chat(router, DEWI).send("usul Topik nomor a")
    rina = chat(router, COORDINATOR)
    rina.send("voting tema")
    [confirm] = rina.send("1")
    lines = confirm.text.splitlines()[1 : 1 + MAX_OPTIONS + 1]
    # The supported oldest one, then the 8 newest (k back to d); b and c stay out.
    assert lines[:2] == ["1) Topik nomor k", "2) Topik nomor j"]
    assert "9) Topik nomor a" in lines and not any("nomor b" in x or "nomor c" in x for x in lines)
    rina.send("1")
    [poll] = polls(db)
    assert len(poll.options) == MAX_OPTIONS


def test_storage_refuses_more_than_nine_and_unknown_themes(router: Router, db: Database):
    ids = seed(db, [f"Tema {i} yang lain" for i in range(10)])
    with db.transaction() as session:
        for wrong, code in ((ids, "too_many"), ([], "no_themes"), ([999], "bad_theme")):
            with pytest.raises(ThemeError) as error:
                open_poll(session, COMMUNITY, wrong, now=utcnow(), days=7)
            assert error.value.code == code


# --- voting ---


def _open(router: Router, db: Database, texts: list[str]) -> ThemePoll:
    seed(db, texts)
    rina = chat(router, COORDINATOR)
    rina.send("voting tema")
    rina.send("1")
    rina.send("1")
    [poll] = polls(db)
    return poll


def _delivered(db: Database, number: str) -> None:
    """What the sender does when it has sent her notice: the notice's choices become what a
    number she types answers (storage.conversations.offer_choices, called by the outbox)."""
    with db.transaction() as session:
        notice = next(
            n
            for n in session.exec(select(OutboxMessage).where(OutboxMessage.kind == VOTE_KIND))
            if n.member_id == member(session, number).id
        )
        identity = session.exec(select(Identity).where(Identity.address == number)).one()
        assert offer_choices(session, identity, notice.choices, utcnow())


def test_vote_by_number_button_and_words_changeable(router: Router, db: Database):
    poll = _open(router, db, ["Menjahit", "Kompos", "Keuangan keluarga"])
    # Shown newest first: 1 Keuangan keluarga, 2 Kompos, 3 Menjahit.
    siti = chat(router, SITI)
    _delivered(db, SITI)
    [recorded] = siti.texts("2")
    assert recorded.startswith('Terima kasih! Pilihan Ibu tercatat: nomor 2, "Kompos"')
    [changed] = siti.texts(f"PILIH TEMA {poll.id} {poll.options[0]}")  # the button
    assert changed.startswith('Pilihan Ibu sudah diganti: sekarang nomor 1, "Keuangan keluarga"')
    assert '(sebelumnya "Kompos")' in changed
    [same] = siti.texts("pilih 1")
    assert same.startswith("Pilihan Ibu sudah tercatat: nomor 1")
    not_there = siti.send("pilih 7")
    assert not_there[0].text == "Nomor 7 tidak ada di voting ini. Pilih 1 sampai 3."
    assert len(not_there[1].choices) == 3  # the vote again
    # A typed number beyond the notice's list: the router says which numbers exist.
    _delivered(db, DEWI)
    [beyond] = chat(router, DEWI).texts("5")
    assert beyond == "Angka 5 tidak ada di menu. Pilih 1 sampai 3."
    [english] = chat(router, ANI).texts("vote 3")
    assert english.startswith('Thank you! Your vote is recorded: number 3, "Menjahit"')
    with db.transaction() as session:
        votes = session.exec(select(ThemeVote).where(ThemeVote.poll_id == poll.id)).all()
    assert sorted(v.suggestion_id for v in votes) == sorted([poll.options[0], poll.options[2]])
    # An option of no vote of this poll.
    wrong = siti.texts(f"PILIH TEMA {poll.id} 999")[0]
    assert wrong.startswith("Nomor 999 tidak ada di voting ini")


def test_closing_by_hand_result_once_and_votes_refused_after(router: Router, db: Database):
    poll = _open(router, db, ["Menjahit", "Kompos"])
    chat(router, SITI).send("pilih 1")
    chat(router, DEWI).send("pilih 1")
    chat(router, ANI).send("pilih 2")
    rina = chat(router, COORDINATOR)
    [result] = rina.send("tutup voting")
    assert result.text.startswith("Voting sudah ditutup. Hasilnya juga dikirim ke 1 pengurus lain.")
    assert "1) Kompos: 2" in result.text and "2) Menjahit: 1" in result.text
    assert 'Terbanyak: "Kompos"' in result.text
    assert [c.payload for c in result.choices] == [f"PAKAI TEMA {poll.id} {poll.options[0]}"]
    [sent] = outbox(db, RESULT_KIND)  # to Yuni, in English; Rina read it in her chat
    assert sent.text.startswith("Result of the theme vote (votes: 3)")
    assert sent.key == f"theme_poll:{poll.id}:result:member:{sent.member_id}"
    [closed] = polls(db)
    assert closed.status == PollStatus.CLOSED and closed.closed_at is not None
    [late] = chat(router, SITI).texts("pilih 2")
    assert late.startswith("Maaf, voting tema ini sudah ditutup")
    assert rina.texts("tutup voting") == ["Tidak ada voting tema yang sedang berjalan."]
    with db.transaction() as session:
        assert close_due_polls(session, now=utcnow() + timedelta(days=30)) == 0
    assert len(outbox(db, RESULT_KIND)) == 1


# --- closing by time (the notice job) ---

OPENED = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_close_due_polls_at_closing_time_once(router: Router, db: Database):
    ids = seed(db, ["Menjahit", "Kompos"])
    with db.transaction() as session:
        poll = open_poll(session, COMMUNITY, ids, now=OPENED, days=7).poll
        assert poll.id is not None
        poll_id = poll.id
        for number, theme in ((SITI, ids[0]), (DEWI, ids[1]), (ANI, ids[1])):
            vote(session, member(session, number), poll, theme, now=OPENED + timedelta(days=1))
    with db.transaction() as session:
        assert close_due_polls(session, now=OPENED + timedelta(days=7, seconds=-1)) == 0
        still = session.get(ThemePoll, poll_id)
        assert still is not None and still.status == PollStatus.OPEN
        # Past its time but before the job ran: no vote is taken any more.
        with pytest.raises(ThemeError, match="closed"):
            vote(session, member(session, SITI), still, ids[1], now=OPENED + timedelta(days=7))
    assert outbox(db, RESULT_KIND) == []
    with db.transaction() as session:
        assert close_due_polls(session, now=OPENED + timedelta(days=7)) == 1
    with db.transaction() as session:
        assert close_due_polls(session, now=OPENED + timedelta(days=8)) == 0  # the second run
    results = outbox(db, RESULT_KIND)
    with db.transaction() as session:
        people = [session.get(Member, r.member_id).name for r in results]  # type: ignore[union-attr]
    assert people == ["Rina", "Yuni"]  # coordinators and admins, once each
    assert results[0].text.splitlines()[1:3] == ["1) Menjahit: 1", "2) Kompos: 2"]
    assert results[1].text.startswith("Result of the theme vote (votes: 3)")
    assert results[0].choices == [[f"PAKAI TEMA {poll_id} {ids[1]}", 'Pakai "Kompos"']]
    [closed] = polls(db)
    assert closed.status == PollStatus.CLOSED


def test_a_tie_is_told_and_each_tied_theme_offered(router: Router, db: Database):
    ids = seed(db, ["Menjahit", "Kompos", "Keuangan"])
    with db.transaction() as session:
        poll = open_poll(session, COMMUNITY, ids, now=OPENED, days=7).poll
        vote(session, member(session, SITI), poll, ids[0], now=OPENED)
        vote(session, member(session, DEWI), poll, ids[2], now=OPENED)
    with db.transaction() as session:
        assert close_due_polls(session, now=OPENED + timedelta(days=7)) == 1
    first = outbox(db, RESULT_KIND)[0]
    assert 'Hasilnya seri: "Menjahit", "Keuangan"' in first.text
    assert [label for _, label in first.choices] == ['Pakai "Menjahit"', 'Pakai "Keuangan"']


def test_no_votes_offers_nothing(router: Router, db: Database):
    ids = seed(db, ["Menjahit"])
    with db.transaction() as session:
        open_poll(session, COMMUNITY, ids, now=OPENED, days=7)
        assert close_due_polls(session, now=OPENED + timedelta(days=7)) == 1
    first = outbox(db, RESULT_KIND)[0]
    assert "Tidak ada suara yang masuk." in first.text and first.choices == []


# --- using the winner ---


def _meeting(db: Database, title: str, days: int) -> int:
    with db.transaction() as session:
        meeting = create_meeting(
            session,
            community_id=COMMUNITY,
            title=title,
            starts_at=utcnow() + timedelta(days=days),
            now=utcnow(),
        )
        assert meeting.id is not None
        return meeting.id


def test_use_the_winner_as_the_next_meeting_title(router: Router, db: Database):
    rina = chat(router, COORDINATOR)
    assert rina.texts("pakai tema") == [
        "Belum ada voting tema yang sudah ditutup. Ketik TEMA untuk melihat usulan dan voting."
    ]
    poll = _open(router, db, ["Menjahit", "Kompos"])
    chat(router, DEWI).send("usul kompos")  # a second suggestion of the same theme
    chat(router, SITI).send("pilih 1")  # Kompos (newest first)
    [result] = rina.send("tutup voting")
    use = result.choices[0].payload
    [nothing] = rina.texts(use)
    assert nothing.startswith("Belum ada pertemuan yang direncanakan")
    meeting_id = _meeting(db, "Pertemuan bulanan", 5)
    assert chat(router, SITI).texts(use) == [
        "Maaf, perintah itu hanya untuk pengurus. Ketik MENU untuk melihat pilihan Anda."
    ]
    [again] = rina.send("pakai tema")  # the last result again, with its choice
    assert again.text.startswith("Hasil voting tema (1 suara)") and poll.id is not None
    [done] = rina.texts("1")  # the result's choice, by its number
    assert done.startswith('Sudah: "Kompos" sekarang menjadi tema acara')
    assert '(sebelumnya "Pertemuan bulanan")' in done
    with db.transaction() as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None and meeting.title == "Kompos"
        used = session.exec(
            select(ThemeSuggestion).where(ThemeSuggestion.used_meeting_id == meeting_id)
        ).all()
        audit = session.exec(
            select(AuditLog).where(AuditLog.target == f"meeting:{meeting_id}")
        ).all()
        assert [th.text for th in open_themes(session, COMMUNITY)] == ["Menjahit"]
    assert [s.text for s in used] == ["Kompos", "Kompos"]  # both suggestions of it
    assert [a.detail["old_title"] for a in audit] == ["Pertemuan bulanan"]
    assert rina.texts(use)[0].startswith('Tema "Kompos" sudah dipakai untuk Pertemuan')


def test_several_meetings_coming_asks_which(router: Router, db: Database):
    first = _meeting(db, "Pertemuan Desember", 5)
    second = _meeting(db, "Pelatihan menjahit", 9)
    poll = _open(router, db, ["Kompos"])
    chat(router, SITI).send("pilih 1")
    rina = chat(router, COORDINATOR)
    [result] = rina.send("tutup voting")
    [which] = rina.send(result.choices[0].payload)
    assert which.text == 'Pakai "Kompos" untuk acara yang mana?'
    assert [c.payload for c in which.choices] == [
        f"PAKAI TEMA {poll.id} {poll.options[0]} {first}",
        f"PAKAI TEMA {poll.id} {poll.options[0]} {second}",
    ]
    rina.send("2")
    with db.transaction() as session:
        titles = {m.id: m.title for m in session.exec(select(Meeting))}
    assert titles == {first: "Pertemuan Desember", second: "Kompos"}
