"""Property: any sequence of deposits, withdrawals and reversals (valid or not, a member leaving
on the way) keeps the cached balances equal to a simple model in Python and to the balances
summed from the entries, never below zero; a refused operation writes no entry and queues no
receipt; ``check`` finds the ledger consistent after every sequence. Derandomized (the same
examples every run); on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, select

from storage.db import Database
from storage.ledger import (
    RECEIPT_KIND,
    LedgerChannel,
    LedgerEntry,
    LedgerKind,
    LedgerRefused,
    Refusal,
    balances,
    check,
    deposit,
    derived_balances,
    reverse,
    withdraw,
)
from storage.models import Member, MemberStatus, OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

amounts = st.one_of(
    st.integers(min_value=1, max_value=200_000),
    st.sampled_from([0, -1, 1, 50_000, 100_000]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.sampled_from(LedgerKind.SAVINGS), amounts),
        st.tuples(st.just("withdraw"), st.sampled_from(LedgerKind.SAVINGS), amounts),
        st.tuples(st.just("reverse"), st.just(""), st.integers(min_value=0, max_value=30)),
        st.tuples(st.just("leave"), st.just(""), st.just(0)),
    ),
    max_size=25,
)


@dataclass
class Model:
    """What the ledger should say, the simple way."""

    balance: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LedgerKind.SAVINGS, 0))
    # (entry id, kind, amount, is a reversal, reversed)
    entries: list[list[object]] = field(default_factory=list)
    member: bool = True

    def deposit(self, kind: str, amount: int) -> str | None:
        if amount == 0:
            return Refusal.ZERO
        if amount < 0:
            return Refusal.NEGATIVE
        if kind == LedgerKind.POKOK and self.balance[kind] != 0:
            return Refusal.POKOK_PAID
        return None

    def withdraw(self, kind: str, amount: int) -> str | None:
        if amount == 0:
            return Refusal.ZERO
        if amount < 0:
            return Refusal.NEGATIVE
        if kind in LedgerKind.LOCKED and self.member:
            return Refusal.LOCKED
        if self.balance[kind] - amount < 0:
            return Refusal.BELOW_ZERO
        return None

    def reverse(self, index: int) -> str | None:
        if index >= len(self.entries):
            return Refusal.UNKNOWN_ENTRY
        _, kind, amount, is_reversal, reversed_ = self.entries[index]
        if is_reversal:
            return Refusal.IS_REVERSAL
        if reversed_:
            return Refusal.ALREADY_REVERSED
        assert isinstance(kind, str) and isinstance(amount, int)
        if self.balance[kind] - amount < 0:
            return Refusal.BELOW_ZERO
        return None


def _counts(session: Session, member_id: int) -> tuple[int, int]:
    entries = session.exec(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.member_id == member_id)
    ).one()
    receipts = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.member_id == member_id, OutboxMessage.kind == RECEIPT_KIND)
    ).one()
    return int(entries), int(receipts)


def test_any_sequence_keeps_the_cache_equal_to_the_model(db: Database) -> None:
    numbers = itertools.count(1)

    @PROPERTY
    @given(operations)
    def run(steps: list[tuple[str, str, int]]) -> None:
        model = Model()
        with db.transaction() as session:
            member = add_member(session, "Siti", phone(next(numbers)))
            assert member.id is not None
            siti = member.id
            for action, kind, value in steps:
                before = _counts(session, siti)
                expected: str | None
                try:
                    if action == "leave":
                        member.status = MemberStatus.INACTIVE
                        session.add(member)
                        session.flush()
                        model.member = False
                        continue
                    if action == "reverse":
                        expected = model.reverse(value)
                        target = model.entries[value][0] if value < len(model.entries) else 10**9
                        assert isinstance(target, int)
                        receipt = reverse(
                            session,
                            community_id=COMMUNITY,
                            entry_id=target,
                            reason="koreksi",
                            channel=LedgerChannel.CLI,
                        )
                    else:
                        expected = getattr(model, action)(kind, value)
                        operation = deposit if action == "deposit" else withdraw
                        receipt = operation(
                            session,
                            community_id=COMMUNITY,
                            member_id=siti,
                            kind=kind,
                            amount=value,
                            channel=LedgerChannel.CLI,
                        )
                except LedgerRefused as refused:
                    assert refused.reason == expected, (action, kind, value)
                    assert _counts(session, siti) == before  # nothing written, nothing queued
                else:
                    assert expected is None, (action, kind, value, expected)
                    entry = receipt.entry
                    model.balance[entry.kind] += entry.amount
                    if action == "reverse":
                        model.entries[value][4] = True
                    model.entries.append(
                        [entry.id, entry.kind, entry.amount, action == "reverse", False]
                    )
                    assert receipt.balance == model.balance[entry.kind]
                    assert receipt.outbox_id is not None
                    assert _counts(session, siti) == (before[0] + 1, before[1] + 1)
                found = balances(session, siti)
                assert {k: found[k] for k in LedgerKind.SAVINGS} == model.balance
                assert all(found[k] >= 0 for k in LedgerKind.ALL)
            derived = derived_balances(session, [siti])
            assert {k: derived.get((siti, k), 0) for k in LedgerKind.SAVINGS} == model.balance
            assert session.get(Member, siti) is not None
        with db.transaction() as session:
            assert check(session).ok

    run()
