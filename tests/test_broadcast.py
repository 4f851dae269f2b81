"""Broadcasts: audiences, the UMUMKAN dialog, stopping, progress and the summary."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from handlers.router import Router
from storage.broadcasts import (
    AUDIENCES,
    Audience,
    broadcast_counts,
    count_audience,
    create_broadcast,
    kelurahan_options,
    progress_tick,
    register_audience,
    role_options,
    stop_broadcast,
    summary_text,
)
from storage.db import Database
from storage.meetings import Answer, answer_rsvp, create_meeting
from storage.models import (
    AuditLog,
    Broadcast,
    BroadcastStatus,
    Member,
    MemberStatus,
    OutboxMessage,
)
from storage.outbox import Reason
from tests.outbox_support import COMMUNITY, Chat, add_member, phone, rows
from wlcc.formatting import utcnow
from wlcc.i18n import Translator
from wlcc.messages import Media

COORDINATOR = phone(99)


def community(db: Database) -> dict[str, int]:
    """A coordinator (WhatsApp and Telegram) and members in three kelurahan."""
    ids: dict[str, int] = {}
    with db.transaction() as session:
        people = [
            ("Rina", COORDINATOR, "23 Ilir", "coordinator", False),
            ("Siti", phone(1), "19 Ilir", "member", False),
            ("Ani", phone(2), "19 Ilir", "member", True),  # said BERHENTI
            ("Dewi", phone(3), "23 Ilir", "treasurer", False),
            ("Fatimah", phone(4), "24 Ilir", "member", False),
        ]
        for name, number, kelurahan, role, out in people:
            member = add_member(
                session,
                name,
                number,
                kelurahan=kelurahan,
                role=role,
                opted_out=out,
                whatsapp=True,
                telegram="7000099" if name == "Rina" else None,
            )
            assert member.id is not None
            ids[name] = member.id
        pending = add_member(
            session,
            "Baru",
            phone(5),
            kelurahan="19 Ilir",
            status=MemberStatus.PENDING,
            whatsapp=True,
        )
        assert pending.id is not None
        ids["Baru"] = pending.id
    return ids


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    return community(db)


@pytest.fixture
def rina(db: Database, people) -> Chat:
    return Chat(Router(db), "whatsapp", COORDINATOR, COORDINATOR)


# --- audiences ---


def test_audiences_count_active_members_and_opt_outs(db: Database, people) -> None:
    with db.transaction() as session:
        assert count_audience(session, COMMUNITY, Audience("all")).total == 5
        everyone = count_audience(session, COMMUNITY, Audience("all"))
        assert (everyone.opted_out, everyone.reachable) == (1, 4)
        kel = count_audience(session, COMMUNITY, Audience("kelurahan", "19 ilir "))
        assert (kel.total, kel.reachable) == (2, 1)  # case and spaces forgiven; pending not
        assert count_audience(session, COMMUNITY, Audience("role", "treasurer")).total == 1
        assert kelurahan_options(session, COMMUNITY) == [
            ("19 Ilir", 2),
            ("23 Ilir", 2),
            ("24 Ilir", 1),
        ]
        assert role_options(session, COMMUNITY) == [
            ("member", 3),
            ("coordinator", 1),
            ("treasurer", 1),
        ]


def test_a_new_kind_of_audience_is_one_function(db: Database, people) -> None:
    """How RSVP audiences will come: a filter registered by the meetings module."""
    from storage.models import Member

    register_audience("name", lambda query, value: query.where(Member.name == value))
    try:
        with db.transaction() as session:
            assert count_audience(session, COMMUNITY, Audience("name", "Siti")).total == 1
    finally:
        del AUDIENCES["name"]


def test_create_broadcast_plans_one_keyed_row_per_member(db: Database, people) -> None:
    with db.transaction() as session:
        broadcast = create_broadcast(
            session,
            community_id=COMMUNITY,
            text="Rapat",
            audience=Audience("all"),
            now=utcnow(),
            author_member_id=people["Rina"],
        )
    assert broadcast.total == 5
    planned = rows(db, broadcast_id=broadcast.id)
    assert {r.key for r in planned} == {
        f"broadcast:{broadcast.id}:member:{people[name]}"
        for name in ("Rina", "Siti", "Ani", "Dewi", "Fatimah")
    }
    assert {(r.kind, r.text, r.priority) for r in planned} == {("broadcast", "Rapat", -10)}


# --- progress and summary ---


def test_progress_then_one_summary(db: Database, people) -> None:
    now = utcnow()
    with db.transaction() as session:
        broadcast = create_broadcast(
            session,
            community_id=COMMUNITY,
            text="Rapat",
            audience=Audience("all"),
            now=now,
            author_member_id=people["Rina"],
            author_identity_id=None,
        )
        broadcast_id = broadcast.id
        assert progress_tick(session, now + timedelta(seconds=10), timedelta(seconds=60)) == []
        assert progress_tick(session, now + timedelta(seconds=61), timedelta(seconds=60)) == []
        assert progress_tick(session, now + timedelta(seconds=70), timedelta(seconds=60)) == []
    reports = rows(db, kind="broadcast_report")
    assert [r.key for r in reports] == [f"broadcast:{broadcast_id}:progress:1"]
    assert reports[0].member_id == people["Rina"] and reports[0].priority == 10
    assert "0 dari 5" in reports[0].text
    assert reports[0].choices == [["HENTIKAN UMUMKAN", "Hentikan pengumuman"]]
    # Everything settles: the summary comes once.
    with db.transaction() as session:
        for row in session.exec(
            select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id)
        ):
            row.status = "skipped" if row.member_id == people["Ani"] else "delivered"
            row.reason = Reason.OPTED_OUT if row.member_id == people["Ani"] else None
            session.add(row)
    for _ in range(2):
        with db.transaction() as session:
            progress_tick(session, now + timedelta(seconds=90), timedelta(seconds=60))
    summary = rows(db, key=f"broadcast:{broadcast_id}:summary")
    assert len(summary) == 1
    assert summary[0].text.splitlines() == [
        f"Pengumuman #{broadcast_id} selesai.",
        "Terkirim: 4 dari 5.",
        "Sudah sampai: 4, sudah dibaca: 0 (laporan dari WhatsApp saja).",
        "Gagal: 0.",
        "Tidak dikirim: 1.",
        "• sudah minta berhenti (BERHENTI): 1",
    ]
    with db.transaction() as session:
        done = session.get(Broadcast, broadcast_id)
        assert done is not None and done.status == BroadcastStatus.DONE


def test_a_broadcast_from_the_terminal_reports_to_nobody(db: Database, people) -> None:
    now = utcnow()
    with db.transaction() as session:
        broadcast = create_broadcast(
            session,
            community_id=COMMUNITY,
            text="x",
            audience=Audience("all"),
            now=now,
            author_label="cli:x",
        )
        stop_broadcast(session, broadcast, now)
        assert progress_tick(session, now, timedelta(seconds=1)) == [broadcast.id]
    assert rows(db, kind="broadcast_report") == []


def test_summary_in_english_names_reasons(db: Database, people) -> None:
    with db.transaction() as session:
        broadcast = create_broadcast(
            session, community_id=COMMUNITY, text="x", audience=Audience("all"), now=utcnow()
        )
        for n, row in enumerate(session.exec(select(OutboxMessage))):
            row.status, row.reason = [
                ("failed", Reason.UNREACHABLE),
                ("skipped", Reason.WINDOW),
                ("sent", None),
                ("read", None),
                ("pending", None),
            ][n]
            session.add(row)
        session.flush()
        assert broadcast.id is not None
        text = summary_text(Translator("en"), broadcast, broadcast_counts(session, broadcast.id))
    assert text.splitlines() == [
        f"Announcement #{broadcast.id} is still being sent.",
        "Sent: 2 of 5.",
        "Delivered: 1, read: 1 (only WhatsApp reports these).",
        "Still waiting: 1.",
        "Failed: 1.",
        "• cannot be reached (blocked the bot or number not active): 1",
        "Not sent: 1.",
        "• has not written on WhatsApp in the last 24 hours, and WhatsApp does not let us write"
        " first: 1",
    ]


# --- the dialog ---


def test_members_cannot_broadcast_and_the_refusal_is_audited(db: Database, people) -> None:
    siti = Chat(Router(db), "whatsapp", phone(1), phone(1))
    assert siti.texts("umumkan") == [
        "Maaf, perintah itu hanya untuk pengurus. Ketik MENU untuk melihat pilihan Anda."
    ]
    assert siti.texts("hentikan umumkan")[0].startswith("Maaf, perintah itu hanya untuk")
    with db.transaction() as session:
        refusals = session.exec(select(AuditLog).where(AuditLog.allowed == False)).all()  # noqa: E712
        assert {r.action for r in refusals} == {"broadcast.send"}
        assert all(r.actor_member_id == people["Siti"] for r in refusals)
        from storage.models import Member

        siti_member = session.get(Member, people["Siti"])
        assert siti_member is not None and not siti_member.opted_out  # not the opt-out word


def test_compose_refuses_empty_and_too_long_then_previews(db: Database, rina: Chat) -> None:
    assert rina.texts("UMUMKAN") == [
        "Tulis isi pengumuman. Bisa juga kirim satu foto dengan keterangan."
    ]
    [empty] = rina.texts("")
    assert empty.startswith("Maaf, pengumuman tidak boleh kosong. Tulis isinya, misalnya: ")
    assert rina.texts("a" * 1601) == [
        "Pengumuman terlalu panjang: 1601 huruf. Paling banyak 1600 huruf dalam satu pesan. "
        "Tolong dipendekkan, lalu kirim lagi."
    ]
    [ask] = rina.send("Rapat bulanan Sabtu jam 09.00.")
    assert ask.text == "Kirim ke siapa?"
    assert [c.label for c in ask.choices] == [
        "Semua anggota (5)",
        "Anggota satu kelurahan",
        "Anggota dengan peran tertentu",
    ]
    intro, preview, confirm = rina.send("1")
    assert intro.text == "Begini pesan yang akan diterima anggota:"
    assert (preview.text, preview.choices, preview.media) == (
        "Rapat bulanan Sabtu jam 09.00.",
        (),
        (),
    )
    assert confirm.text == (
        "Kirim ke 4 anggota (semua anggota)?\n"
        "1 anggota lain sudah minta berhenti menerima pesan. Mereka tidak akan dikirimi."
    )
    assert [c.label for c in confirm.choices] == ["Kirim", "Batal"]
    assert rina.texts("2") == ["Sudah dibatalkan. Ketik MENU untuk melihat pilihan."]
    with db.transaction() as session:
        assert session.exec(select(Broadcast)).all() == []
    assert rows(db) == []


def test_send_to_a_kelurahan_records_author_audit_and_rows(
    db: Database, rina: Chat, people
) -> None:
    rina.send("umumkan")
    rina.send("Kerja bakti Minggu pagi.")
    [ask] = rina.send("2")
    assert ask.text == "Pilih kelurahan:"
    assert [c.label for c in ask.choices] == ["19 Ilir (2)", "23 Ilir (2)", "24 Ilir (1)"]
    *_, confirm = rina.send("2")
    assert confirm.text == "Kirim ke 2 anggota (kelurahan 23 Ilir)?"
    [started] = rina.texts("kirim")  # the label works as well as the number
    with db.transaction() as session:
        [broadcast] = session.exec(select(Broadcast)).all()
        assert broadcast.author_member_id == people["Rina"]
        assert broadcast.author_identity_id is not None
        assert broadcast.audience == {"kind": "kelurahan", "value": "23 Ilir"}
        [audit] = session.exec(
            select(AuditLog).where(AuditLog.target == f"broadcast:{broadcast.id}")
        ).all()
        assert audit.action == "broadcast.send" and audit.detail["recipients"] == 2
    assert started == (
        f"Pengumuman #{broadcast.id} sedang dikirim ke 2 anggota. Kami akan mengabari berapa "
        "yang sudah terkirim. Ketik UMUMKAN HENTIKAN untuk menghentikannya."
    )
    assert {r.member_id for r in rows(db)} == {people["Rina"], people["Dewi"]}
    # Pressing "Kirim" again sends nothing twice.
    rina.send("1")
    with db.transaction() as session:
        assert len(session.exec(select(Broadcast)).all()) == 1


def test_send_to_a_role(db: Database, rina: Chat, people) -> None:
    rina.send("umumkan")
    rina.send("Laporan kas bulan ini.")
    [ask] = rina.send("3")
    assert [c.label for c in ask.choices] == ["Anggota (3)", "Pengurus (1)", "Bendahara (1)"]
    *_, confirm = rina.send("3")
    assert confirm.text == "Kirim ke 1 anggota (peran Bendahara)?"
    rina.send("1")
    assert [r.member_id for r in rows(db)] == [people["Dewi"]]


def test_an_audience_of_nobody_is_refused(db: Database, rina: Chat) -> None:
    with db.transaction() as session:
        add_member(session, "Yuni", phone(7), kelurahan="Seberang Ulu", opted_out=True)
    rina.send("umumkan")
    rina.send("Halo")
    [ask] = rina.send("2")
    assert ask.choices[-1].label == "Seberang Ulu (1)"
    no_one, again = rina.send(str(len(ask.choices)))
    assert no_one.text == (
        "Tidak ada anggota yang bisa menerima pengumuman ini. Pilih kelompok lain."
    )
    assert again.text == "Kirim ke siapa?"


def test_a_photo_with_a_caption(db: Database, people) -> None:
    rina = Chat(Router(db), "telegram", "7000099")
    # Her Telegram chat is linked to her phone (she shared her contact).
    rina.send("umumkan")
    photo = (Media("AgACAgFakePhoto", "image/jpeg"),)
    assert rina.texts("x" * 1025, media=photo)[0].startswith(
        "Pengumuman terlalu panjang: 1025 huruf. Paling banyak 1024"
    )
    doc = (Media("BQACAgFakeDoc", "application/pdf"),)
    [refused] = rina.texts("Dokumen", media=doc)
    assert refused.startswith("Maaf, hanya foto yang bisa dikirim.")
    rina.send("Foto kerja bakti", media=photo)
    _, preview, _ = rina.send("aud:all", payload="aud:all")
    assert preview.text == "Foto kerja bakti"
    assert preview.media == photo
    rina.send(payload="bc:send")
    with db.transaction() as session:
        [broadcast] = session.exec(select(Broadcast)).all()
        assert broadcast.media_id is not None
    assert {tuple(r.media) for r in rows(db)} == {(f"media:{broadcast.media_id}",)}


def test_stop_skips_what_is_not_sent_yet(db: Database, rina: Chat, people) -> None:
    assert rina.texts("hentikan umumkan") == ["Tidak ada pengumuman yang sedang dikirim."]
    rina.send("umumkan")
    rina.send("Rapat batal.")
    rina.send("1")
    rina.send("1")
    with db.transaction() as session:  # one of them is already out
        first = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).first()
        assert first is not None
        first.status = "sent"
        session.add(first)
    # The button under a progress message (Telegram) carries the keyword itself.
    [stopped] = Chat(Router(db), "telegram", "7000099").texts(payload="HENTIKAN UMUMKAN")
    broadcast_id = rows(db)[0].broadcast_id
    assert stopped == (
        f"Pengumuman #{broadcast_id} dihentikan. 4 pesan tidak jadi dikirim. "
        "Pesan yang sudah terkirim tidak bisa ditarik."
    )
    statuses = sorted((r.status, r.reason or "") for r in rows(db))
    assert statuses == [("sent", "")] + [("skipped", Reason.STOPPED)] * 4
    [status] = rina.texts("umumkan status")
    assert status.splitlines()[:2] == [
        f"Pengumuman #{broadcast_id} dihentikan.",
        "Terkirim: 1 dari 5.",
    ]


def test_status_without_any_broadcast(db: Database, rina: Chat) -> None:
    assert rina.texts("umumkan status") == ["Belum ada pengumuman."]


def test_the_opt_out_word_still_opts_out(db: Database, people) -> None:
    siti = Chat(Router(db), "whatsapp", phone(1), phone(1))
    siti.send("BERHENTI")
    from storage.models import Member

    with db.transaction() as session:
        member = session.get(Member, people["Siti"])
        assert member is not None and member.opted_out


def test_send_to_those_who_answered_the_next_meeting(db: Database, rina: Chat, people) -> None:
    """An audience by answer: "who said they come", "who has not answered yet"."""
    with db.transaction() as session:
        meeting = create_meeting(
            session,
            community_id=COMMUNITY,
            title="Pertemuan bulanan",
            starts_at=utcnow() + timedelta(days=5),
            kelurahan=["19 Ilir", "23 Ilir"],
            now=utcnow(),
        )
        yuni = add_member(session, "Yuni", phone(8), kelurahan="23 Ilir", whatsapp=True)
        for name, answer in (("Siti", Answer.YES), ("Dewi", Answer.YES), ("Rina", Answer.NO)):
            member = session.get(Member, people[name])
            assert member is not None
            answer_rsvp(session, meeting, member, answer, now=utcnow())
    rina.send("umumkan")
    [ask] = rina.send("Besok bawa gelas sendiri ya.")
    assert ask.choices[-1].label == "Menurut jawaban untuk Pertemuan bulanan"
    [which] = rina.send("4")
    assert which.text == "Kirim ke anggota yang menjawab:"
    # Fatimah lives in 24 Ilir, which is not invited; Ani (BERHENTI) and Yuni have not answered.
    assert [c.label for c in which.choices] == ["Hadir (2)", "Tidak bisa (1)", "Belum menjawab (2)"]
    *_, confirm = rina.send("1")
    assert confirm.text == "Kirim ke 2 anggota (yang akan hadir di Pertemuan bulanan)?"
    rina.send("1")
    assert {r.member_id for r in rows(db)} == {people["Siti"], people["Dewi"]}
    rina.send("umumkan")
    rina.send("Mohon dijawab ya, Bu.")
    rina.send("4")
    *_, confirm = rina.send("3")
    assert "(yang belum menjawab untuk Pertemuan bulanan)" in confirm.text
    rina.send("1")
    with db.transaction() as session:
        last = session.exec(select(Broadcast).order_by(col(Broadcast.id).desc())).first()
        assert last is not None and last.total == 2  # Ani, who opted out, is skipped in sending
    assert {r.member_id for r in rows(db) if r.broadcast_id == last.id} == {people["Ani"], yuni.id}
