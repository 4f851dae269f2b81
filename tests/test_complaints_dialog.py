"""The complaint dialogs' edges that transcripts show poorly: a 10,000-character description
(cut, and said), residents refused KELUHAN, a stranger's BELUM BERES refused, and the nearby
query using its index (so that 100,000 tickets stay fast)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from handlers.router import Router
from storage.complaints import (
    FIXED_NO,
    MAX_DESCRIPTION,
    Category,
    Complaint,
    Intake,
    Status,
    change_status,
    create_complaint,
)
from storage.db import Database
from tests.outbox_support import COMMUNITY, Chat, add_member, phone
from wlcc.i18n import gettext

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def test_a_very_long_description_is_cut_and_she_is_told(db: Database) -> None:
    chat = Chat(Router(db), "whatsapp", phone(7), phone(7))
    chat.send("LAPOR")
    chat.send("1")
    replies = chat.send("pipa bocor " * 1000)  # 11,000 characters
    assert replies[0].text == (
        f"Ceritanya sangat panjang. Kami simpan {MAX_DESCRIPTION} huruf pertama saja."
    )
    assert replies[-1].text.startswith("Di mana tempatnya?")
    chat.send("Jl. Mawar 3, RT 3 RW 5, 23 Ilir")
    chat.send("lewati")
    chat.send("2")
    chat.send("1")
    with db.transaction() as session:
        complaint = session.exec(select(Complaint)).one()
        assert complaint.description is not None
        assert len(complaint.description) == MAX_DESCRIPTION


def test_residents_and_members_cannot_open_keluhan(db: Database) -> None:
    with db.transaction() as session:
        add_member(session, "Siti", phone(8), whatsapp=True)
    router = Router(db)
    resident = Chat(router, "whatsapp", phone(7), phone(7))
    resident.send("halo")
    [refused] = resident.send("KELUHAN")
    assert refused.text == gettext("id", "permission.denied")
    member = Chat(router, "whatsapp", phone(8), phone(8))
    member.send("halo")
    member.send("1")  # consent
    replies = member.send("KELUHAN")
    assert [r.text for r in replies] == [gettext("id", "permission.denied")]


def test_only_a_reporter_can_say_it_is_not_fixed(db: Database) -> None:
    with db.transaction() as session:
        complaint = create_complaint(
            session,
            community_id=COMMUNITY,
            intake=Intake(category=Category.LEAK, description="bocor", address="Jl. Mawar 3"),
            identity_id=None,
            member_id=None,
            channel="cli",
            now=NOW,
        )
        change_status(session, complaint, Status.VERIFIED, now=NOW)
        change_status(session, complaint, Status.RESOLVED, now=NOW)
        code = complaint.code
    stranger = Chat(Router(db), "whatsapp", phone(9), phone(9))
    stranger.send("halo")
    [answer] = stranger.send(f"{FIXED_NO} {code.lower()}")
    assert answer.text == f"Hanya pelapor {code} yang bisa menjawab ini."
    with db.transaction() as session:
        assert session.exec(select(Complaint)).one().status == Status.RESOLVED


def test_the_nearby_search_uses_its_index(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("the plan's wording is SQLite's; PostgreSQL picks by its statistics")
    with db.transaction() as session:
        plan = session.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT id FROM complaint WHERE community_id = 1 "
                "AND category = 'leak' AND status IN ('received', 'verified') "
                "AND latitude BETWEEN -2.99 AND -2.98 AND longitude BETWEEN 104.75 AND 104.76"
            )
        ).all()
    assert any("ix_complaint_near" in str(row) for row in plan), plan


def test_the_words_after_lapor_are_the_description(db: Database) -> None:
    chat = Chat(Router(db), "whatsapp", phone(7), phone(7))
    chat.send("lapor pipa bocor depan musala")
    [where] = chat.send("1")
    assert where.text.startswith("Di mana tempatnya?")
    chat.send("Jl. Mawar 3, RT 3 RW 5, 23 Ilir")
    chat.send("lewati")
    [summary] = chat.send("2")
    assert "Cerita: pipa bocor depan musala" in summary.text
