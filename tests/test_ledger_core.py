"""The ledger's ground (storage/ledger.py, migration 0008): entries are append-only on both
databases, balances move with each entry and never below zero, a used key writes nothing, and a
refusal leaves the caller's transaction usable."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from storage.db import Database
from storage.ledger import (
    EntryAction,
    LedgerChannel,
    LedgerEntry,
    LedgerKind,
    LedgerRefused,
    Refusal,
    Written,
    append_entry,
    balances,
    derived_balances,
    last_entries,
)
from tests.outbox_support import COMMUNITY, add_member, phone


def _member(db: Database) -> int:
    with db.transaction() as session:
        member = add_member(session, "Siti", phone(1))
        session.flush()
        assert member.id is not None
        return member.id


def _entry(
    session: Session, member_id: int, kind: str, amount: int, key: str | None = None
) -> Written:
    return append_entry(
        session,
        community_id=COMMUNITY,
        member_id=member_id,
        kind=kind,
        action=EntryAction.DEPOSIT if amount > 0 else EntryAction.WITHDRAWAL,
        amount=amount,
        channel=LedgerChannel.CLI,
        key=key,
    )


def test_entries_move_balances_and_are_listed_newest_first(db: Database) -> None:
    siti = _member(db)
    with db.transaction() as session:
        assert _entry(session, siti, LedgerKind.WAJIB, 50_000).balance == 50_000
        assert _entry(session, siti, LedgerKind.WAJIB, 50_000).balance == 100_000
        assert _entry(session, siti, LedgerKind.SUKARELA, 25_000).balance == 25_000
        assert _entry(session, siti, LedgerKind.SUKARELA, -5_000).balance == 20_000
    with db.transaction() as session:
        found = balances(session, siti)
        assert found[LedgerKind.WAJIB] == 100_000 and found[LedgerKind.SUKARELA] == 20_000
        assert found[LedgerKind.POKOK] == 0
        assert [e.amount for e in last_entries(session, siti, limit=2)] == [-5_000, 25_000]
        assert derived_balances(session) == {
            (siti, LedgerKind.WAJIB): 100_000,
            (siti, LedgerKind.SUKARELA): 20_000,
        }


def test_below_zero_zero_and_a_used_key_write_nothing(db: Database) -> None:
    siti = _member(db)
    with db.transaction() as session:
        _entry(session, siti, LedgerKind.SUKARELA, 10_000, key="once")
        with pytest.raises(LedgerRefused) as below:
            _entry(session, siti, LedgerKind.SUKARELA, -10_001)
        assert below.value.reason == Refusal.BELOW_ZERO
        with pytest.raises(LedgerRefused) as zero:
            _entry(session, siti, LedgerKind.SUKARELA, 0)
        assert zero.value.reason == Refusal.ZERO
        with pytest.raises(LedgerRefused) as again:
            _entry(session, siti, LedgerKind.SUKARELA, 10_000, key="once")
        assert again.value.reason == Refusal.DUPLICATE
        # The transaction goes on after the refusals, and commits only the first entry.
        _entry(session, siti, LedgerKind.SUKARELA, 1)
    with db.transaction() as session:
        assert balances(session, siti)[LedgerKind.SUKARELA] == 10_001
        assert len(session.exec(select(LedgerEntry)).all()) == 2
    with pytest.raises(TypeError), db.transaction() as session:
        _entry(session, siti, LedgerKind.SUKARELA, 1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_entry SET amount = amount * 10", "DELETE FROM ledger_entry"]
)
def test_the_database_refuses_to_change_or_delete_an_entry(db: Database, statement: str) -> None:
    siti = _member(db)
    with db.transaction() as session:
        _entry(session, siti, LedgerKind.WAJIB, 50_000)
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
        session.execute(text(statement))
    with db.transaction() as session:
        assert [e.amount for e in session.exec(select(LedgerEntry)).all()] == [50_000]
