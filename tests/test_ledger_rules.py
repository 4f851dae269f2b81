"""The ledger's recording operations (storage/ledger.py): deposit, withdraw and reverse by the
rules, each with its audit row (never an amount) and the member's receipt in her language
(discreet on a shared phone or with a PIN); check proves the cache and finds tampering; the
report's totals; many treasurers at once on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from storage.db import Database
from storage.ledger import (
    RECEIPT_KIND,
    EntryAction,
    LedgerAccess,
    LedgerBalance,
    LedgerChannel,
    LedgerEntry,
    LedgerKind,
    LedgerRefused,
    Receipt,
    Refusal,
    append_entry,
    balances,
    check,
    deposit,
    report,
    reverse,
    withdraw,
)
from storage.models import AuditLog, Member, MemberStatus, OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone

# Thursday 3 December 2026, 10.15 WIB.
NOW = datetime(2026, 12, 3, 3, 15, tzinfo=UTC)


def member(db: Database, name: str = "Siti Aminah", n: int = 1, **kwargs: object) -> int:
    with db.transaction() as session:
        found = add_member(session, name, phone(n), **kwargs)  # type: ignore[arg-type]
        assert found.id is not None
        return found.id


def put(session: Session, member_id: int, kind: str, amount: int, **kwargs: object) -> Receipt:
    return deposit(
        session,
        community_id=COMMUNITY,
        member_id=member_id,
        kind=kind,
        amount=amount,
        channel=LedgerChannel.CLI,
        now=kwargs.pop("now", NOW),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def take(session: Session, member_id: int, kind: str, amount: int) -> Receipt:
    return withdraw(
        session,
        community_id=COMMUNITY,
        member_id=member_id,
        kind=kind,
        amount=amount,
        channel=LedgerChannel.CLI,
        now=NOW,
    )


def undo(session: Session, entry_id: int, reason: str = "salah catat") -> Receipt:
    return reverse(
        session,
        community_id=COMMUNITY,
        entry_id=entry_id,
        reason=reason,
        channel=LedgerChannel.CLI,
        now=NOW,
    )


def refusal(call: object) -> str:
    assert callable(call)
    with pytest.raises(LedgerRefused) as refused:
        call()
    return refused.value.reason


def receipts(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.kind == RECEIPT_KIND)
                .order_by(col(OutboxMessage.id))
            )
        )


# --- deposits and withdrawals ---


def test_a_deposit_moves_her_balance_and_queues_her_receipt(db: Database) -> None:
    siti = member(db)
    with db.transaction() as session:
        put(session, siti, LedgerKind.WAJIB, 550_000)
        receipt = put(session, siti, LedgerKind.WAJIB, 50_000, note="  iuran   Desember ")
    assert receipt.balance == 600_000
    assert receipt.entry.amount == 50_000 and receipt.entry.action == EntryAction.DEPOSIT
    assert receipt.entry.note == "iuran Desember"
    assert receipt.entry.occurred_on == date(2026, 12, 3)
    last = receipts(db)[-1]
    assert receipt.outbox_id == last.id
    assert last.member_id == siti and last.key == f"ledger:receipt:entry:{receipt.entry.id}"
    assert last.text == (
        "Setoran simpanan wajib Rp50.000 diterima pada Kamis, 3 Desember 2026 pukul 10.15 WIB. "
        "Saldo wajib: Rp600.000."
    )
    assert last.template_vars == {
        "1": "Setoran simpanan wajib Rp50.000 diterima",
        "2": "Kamis, 3 Desember 2026 pukul 10.15 WIB",
        "3": "Saldo wajib: Rp600.000.",
    }


def test_the_receipt_is_in_her_language(db: Database) -> None:
    ani = member(db, "Ani", language="en")
    with db.transaction() as session:
        put(session, ani, LedgerKind.SUKARELA, 100_000)
        entry = take(session, ani, LedgerKind.SUKARELA, 20_000).entry
        assert entry.id is not None
        undo(session, entry.id, reason="typed twice")
    texts = [r.text for r in receipts(db)]
    assert texts == [
        "Deposit of Rp100.000 to voluntary savings (simpanan sukarela) received on Thursday, "
        "3 December 2026 at 10:15 WIB. Sukarela balance: Rp100.000.",
        "Withdrawal of Rp20.000 from voluntary savings (simpanan sukarela) paid out on "
        "Thursday, 3 December 2026 at 10:15 WIB. Sukarela balance: Rp80.000.",
        "Correction: the withdrawal from voluntary savings (simpanan sukarela) of Thursday, "
        "3 December 2026, Rp20.000, was cancelled (reason: typed twice) on Thursday, "
        "3 December 2026 at 10:15 WIB. Sukarela balance: Rp100.000.",
    ]


def test_a_reversal_receipt_in_indonesian(db: Database) -> None:
    siti = member(db)
    with db.transaction() as session:
        first = put(
            session, siti, LedgerKind.WAJIB, 50_000, now=datetime(2026, 12, 1, 2, tzinfo=UTC)
        )
        assert first.entry.id is not None
        receipt = undo(session, first.entry.id)
    assert receipt.entry.amount == -50_000 and receipt.balance == 0
    assert receipt.entry.reverses_id == first.entry.id
    assert receipt.entry.action == EntryAction.REVERSAL and receipt.entry.note == "salah catat"
    assert receipts(db)[-1].text == (
        "Koreksi: setoran simpanan wajib tanggal Selasa, 1 Desember 2026 sebesar Rp50.000 "
        "dibatalkan (alasan: salah catat) pada Kamis, 3 Desember 2026 pukul 10.15 WIB. "
        "Saldo wajib: Rp0."
    )


def test_on_a_shared_phone_or_with_a_pin_the_receipt_shows_no_money(db: Database) -> None:
    ani = member(db, "Ani Lestari", n=2)
    member(db, "Budi", n=2)  # her husband's name on the same family phone
    rina = member(db, "Rina", n=3, language="en")
    with db.transaction() as session:
        session.add(LedgerAccess(member_id=rina, community_id=COMMUNITY, pin_hash="$argon2id$x"))
        put(session, ani, LedgerKind.SUKARELA, 75_000)
        put(session, rina, LedgerKind.SUKARELA, 75_000)
    shared, guarded = receipts(db)
    assert shared.text == (
        "Setoran simpanan sukarela untuk Bu Ani diterima pada Kamis, 3 Desember 2026 pukul "
        "10.15 WIB. Ketik SALDO untuk melihat jumlah dan saldonya."
    )
    assert guarded.text == (
        "A deposit to voluntary savings (simpanan sukarela) for Rina received on Thursday, "
        "3 December 2026 at 10:15 WIB. Type BALANCE to see the amount and your balance."
    )
    for row in (shared, guarded):
        assert "75" not in row.text and "75" not in "".join(row.template_vars.values())


def test_pokok_is_paid_once_and_locked_kinds_are_not_withdrawn(db: Database) -> None:
    siti = member(db)
    with db.transaction() as session:
        put(session, siti, LedgerKind.POKOK, 100_000)
        put(session, siti, LedgerKind.WAJIB, 50_000)
        assert refusal(lambda: put(session, siti, LedgerKind.POKOK, 100_000)) == Refusal.POKOK_PAID
        assert refusal(lambda: take(session, siti, LedgerKind.POKOK, 1)) == Refusal.LOCKED
        assert refusal(lambda: take(session, siti, LedgerKind.WAJIB, 1)) == Refusal.LOCKED
    with db.transaction() as session:
        assert balances(session, siti)[LedgerKind.POKOK] == 100_000
        assert len(session.exec(select(LedgerEntry)).all()) == 2


def test_a_reversed_pokok_can_be_paid_again_and_one_who_left_is_paid_back(db: Database) -> None:
    siti = member(db)
    with db.transaction() as session:
        wrong = put(session, siti, LedgerKind.POKOK, 10_000)  # should have been 100.000
        assert wrong.entry.id is not None
        undo(session, wrong.entry.id)
        put(session, siti, LedgerKind.POKOK, 100_000)
        put(session, siti, LedgerKind.WAJIB, 50_000)
    with db.transaction() as session:
        left = session.get(Member, siti)
        assert left is not None
        left.status = MemberStatus.INACTIVE
        session.add(left)
    with db.transaction() as session:
        assert take(session, siti, LedgerKind.POKOK, 100_000).balance == 0
        assert take(session, siti, LedgerKind.WAJIB, 50_000).balance == 0


def test_refusals_say_why_and_write_no_entry_no_receipt(db: Database) -> None:
    siti = member(db)
    with db.transaction() as session:
        put(session, siti, LedgerKind.SUKARELA, 10_000, key="turn:1")
        assert refusal(lambda: take(session, siti, LedgerKind.SUKARELA, 10_001)) == (
            Refusal.BELOW_ZERO
        )
        assert refusal(lambda: put(session, siti, LedgerKind.SUKARELA, 0)) == Refusal.ZERO
        assert refusal(lambda: put(session, siti, LedgerKind.SUKARELA, -5)) == Refusal.NEGATIVE
        assert refusal(lambda: put(session, siti, LedgerKind.PINJAMAN, 5)) == Refusal.NOT_SAVINGS
        assert refusal(lambda: put(session, siti, "arisan", 5)) == Refusal.UNKNOWN_KIND
        assert refusal(lambda: put(session, 999, LedgerKind.SUKARELA, 5)) == (
            Refusal.UNKNOWN_MEMBER
        )
        assert refusal(lambda: put(session, siti, LedgerKind.SUKARELA, 10_000, key="turn:1")) == (
            Refusal.DUPLICATE
        )
    with db.transaction() as session:
        assert balances(session, siti)[LedgerKind.SUKARELA] == 10_000
        assert len(session.exec(select(LedgerEntry)).all()) == 1
    assert len(receipts(db)) == 1
    with pytest.raises(TypeError), db.transaction() as session:
        put(session, siti, LedgerKind.SUKARELA, 1.5)  # type: ignore[arg-type]


def test_reversal_rules(db: Database) -> None:
    siti = member(db)
    other = member(db, "Ani", n=2)
    with db.transaction() as session:
        paid = put(session, siti, LedgerKind.SUKARELA, 30_000).entry
        assert paid.id is not None
        take(session, siti, LedgerKind.SUKARELA, 20_000)
        # Reversing the deposit would take her below zero: the money was withdrawn since.
        assert refusal(lambda: undo(session, paid.id)) == Refusal.BELOW_ZERO
        kept = put(session, other, LedgerKind.WAJIB, 50_000).entry
        assert kept.id is not None
        correction = undo(session, kept.id).entry
        assert correction.id is not None
        assert refusal(lambda: undo(session, kept.id)) == Refusal.ALREADY_REVERSED
        assert refusal(lambda: undo(session, correction.id)) == Refusal.IS_REVERSAL
        assert refusal(lambda: undo(session, 10_000)) == Refusal.UNKNOWN_ENTRY
        assert refusal(lambda: undo(session, kept.id, reason="  ")) == Refusal.EMPTY_REASON
        loan = append_entry(
            session,
            community_id=COMMUNITY,
            member_id=other,
            kind=LedgerKind.PINJAMAN,
            action=EntryAction.LOAN,
            amount=1_000_000,
            channel=LedgerChannel.CLI,
        ).entry
        assert loan.id is not None
        assert refusal(lambda: undo(session, loan.id)) == Refusal.LOAN_ENTRY
    with db.transaction() as session:
        assert balances(session, siti)[LedgerKind.SUKARELA] == 10_000
        assert balances(session, other)[LedgerKind.WAJIB] == 0
        assert check(session).ok


# --- the audit log ---


def test_every_entry_and_refusal_is_audited_without_an_amount(db: Database) -> None:
    siti = member(db)
    treasurer = member(db, "Bendahara", n=9, role="treasurer")
    with db.transaction() as session:
        first = deposit(
            session,
            community_id=COMMUNITY,
            member_id=siti,
            kind=LedgerKind.SUKARELA,
            amount=123_457,
            channel=LedgerChannel.TELEGRAM,
            recorded_by_member_id=treasurer,
            now=NOW,
        ).entry
        assert first.id is not None
        assert refusal(lambda: take(session, siti, LedgerKind.SUKARELA, 987_654)) == (
            Refusal.BELOW_ZERO
        )
        undo(session, first.id)
    with db.transaction() as session:
        rows = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
    assert [(r.action, r.allowed, r.channel) for r in rows] == [
        ("ledger.deposit", True, "telegram"),
        ("ledger.withdrawal", False, "cli"),
        ("ledger.reversal", True, "cli"),
    ]
    assert rows[0].actor_member_id == treasurer and rows[0].target == f"ledger_entry:{first.id}"
    assert rows[0].detail == {
        "entry_id": first.id,
        "member_id": siti,
        "kind": "sukarela",
        "reverses_id": None,
    }
    assert rows[1].detail["reason"] == "below_zero"
    for row in rows:
        words = f"{row.action} {row.target} {row.detail}"
        for figure in ("123457", "123.457", "987654", "987.654"):
            assert figure not in words


# --- check ---


def test_check_finds_a_tampered_cache_and_a_bad_reversal(db: Database) -> None:
    siti = member(db)
    ani = member(db, "Ani", n=2)
    dewi = member(db, "Dewi", n=3)
    with db.transaction() as session:
        put(session, siti, LedgerKind.WAJIB, 50_000)
        put(session, ani, LedgerKind.SUKARELA, 40_000)
        put(session, dewi, LedgerKind.SUKARELA, 15_000)
        result = check(session)
    assert result.ok and result.entries == 3 and result.balances == 3
    with db.transaction() as session:
        session.execute(
            text("UPDATE ledger_balance SET balance = balance + 1 WHERE member_id = :m"),
            {"m": siti},
        )
        result = check(session)
    assert not result.ok
    [wrong] = result.mismatches
    assert (wrong.member_id, wrong.kind, wrong.cached, wrong.derived) == (
        siti,
        "wajib",
        50_001,
        50_000,
    )
    with db.transaction() as session:
        # A cache row with no entries behind it, and one that goes missing.
        session.add(
            LedgerBalance(
                member_id=siti, kind="pokok", community_id=COMMUNITY, balance=7, entries=1
            )
        )
        for gone in (ani, dewi):
            session.execute(text("DELETE FROM ledger_balance WHERE member_id = :m"), {"m": gone})
        # A "reversal" of another member's entry with the wrong amount.
        [entry_id] = session.exec(select(LedgerEntry.id).where(LedgerEntry.member_id == siti))
        append_entry(
            session,
            community_id=COMMUNITY,
            member_id=ani,
            kind=LedgerKind.SUKARELA,
            action=EntryAction.REVERSAL,
            amount=5_000,
            channel=LedgerChannel.CLI,
            reverses_id=entry_id,
        )
        result = check(session)
    found = {(m.member_id, m.kind): (m.cached, m.derived) for m in result.mismatches}
    assert found == {
        (siti, "wajib"): (50_001, 50_000),
        (siti, "pokok"): (7, None),
        # The deleted row came back with the "reversal" alone in it.
        (ani, "sukarela"): (5_000, 45_000),
        (dewi, "sukarela"): (None, 15_000),
    }
    assert [(r.reverses_id, r.why) for r in result.bad_reversals] == [(entry_id, "other_member")]


def test_check_finds_a_balance_below_zero_in_the_entries(db: Database) -> None:
    siti = member(db)
    with db.transaction() as session:
        put(session, siti, LedgerKind.SUKARELA, 10_000)
        # Only a bypass of append_entry can do this: a raw row, and the cache made to match.
        session.execute(
            text(
                "INSERT INTO ledger_entry (community_id, member_id, kind, action, amount, "
                "occurred_on, channel, created_at) VALUES (1, :m, 'sukarela', 'withdrawal', "
                "-30000, '2026-12-03', 'cli', '2026-12-03 03:15:00')"
            ),
            {"m": siti},
        )
        session.execute(
            text("UPDATE ledger_balance SET balance = -20000, entries = 2 WHERE member_id = :m"),
            {"m": siti},
        )
        result = check(session)
    assert not result.mismatches
    assert [(n.member_id, n.kind, n.balance) for n in result.negatives] == [
        (siti, "sukarela", -20_000)
    ]
    assert not result.ok


# --- the report ---


def test_the_report_of_a_period(db: Database) -> None:
    siti = member(db)
    ani = member(db, "Ani", n=2)
    gone = member(db, "Tanpa Transaksi", n=3, status=MemberStatus.INACTIVE)

    def on(day: str) -> datetime:
        return datetime.fromisoformat(f"{day}T03:00:00+00:00")

    with db.transaction() as session:
        put(session, siti, LedgerKind.POKOK, 100_000, now=on("2026-01-10"))
        put(session, siti, LedgerKind.WAJIB, 50_000, now=on("2026-02-10"))
        put(session, ani, LedgerKind.SUKARELA, 80_000, now=on("2026-03-10"))
        for kind, amount in ((LedgerKind.PINJAMAN, 1_000_000), (LedgerKind.BUNGA, 20_000)):
            append_entry(
                session,
                community_id=COMMUNITY,
                member_id=ani,
                kind=kind,
                action=EntryAction.LOAN if kind == LedgerKind.PINJAMAN else EntryAction.REPAYMENT,
                amount=amount,
                channel=LedgerChannel.CLI,
                now=on("2026-03-15"),
            )
        withdraw(
            session,
            community_id=COMMUNITY,
            member_id=ani,
            kind=LedgerKind.SUKARELA,
            amount=30_000,
            channel=LedgerChannel.CLI,
            now=on("2026-04-10"),
        )
        found = report(
            session, community_id=COMMUNITY, start=date(2026, 2, 1), end=date(2026, 3, 31)
        )
        everything = report(session, community_id=COMMUNITY)
    assert found.opening["pokok"] == 100_000 and found.opening["wajib"] == 0
    assert found.incoming["wajib"] == 50_000 and found.incoming["sukarela"] == 80_000
    assert found.outgoing["sukarela"] == 0  # the withdrawal came after the period
    assert found.closing["sukarela"] == 80_000 and found.savings_closing == 230_000
    assert found.loans_outstanding == 1_000_000 and found.interest_received == 20_000
    assert [(m.member_id, m.balances["sukarela"]) for m in found.members] == [
        (siti, 0),
        (ani, 80_000),
    ]
    assert gone not in [m.member_id for m in found.members]
    assert everything.closing["sukarela"] == 50_000 and everything.outgoing["sukarela"] == -30_000


# --- several treasurers at once (PostgreSQL) ---


def test_100_concurrent_deposits_give_the_exact_sum(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("one writer at a time on SQLite")
    siti = member(db)
    start = threading.Barrier(100)
    failures: list[BaseException] = []

    def one(n: int) -> None:
        try:
            start.wait()
            with db.transaction() as session:
                put(session, siti, LedgerKind.SUKARELA, 1_000 + n, now=None)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    expected = sum(1_000 + n for n in range(100))
    with db.transaction() as session:
        assert balances(session, siti)[LedgerKind.SUKARELA] == expected
        assert len(session.exec(select(LedgerEntry)).all()) == 100
        result = check(session)
    assert result.ok
    assert len(receipts(db)) == 100


def test_two_pokok_deposits_at_once_record_one(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("one writer at a time on SQLite")
    siti = member(db)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def one() -> None:
        start.wait()
        try:
            with db.transaction() as session:
                put(session, siti, LedgerKind.POKOK, 100_000, now=None)
            outcomes.append("recorded")
        except LedgerRefused as refused:
            outcomes.append(refused.reason)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["pokok_paid", "recorded"]
    with db.transaction() as session:
        assert balances(session, siti)[LedgerKind.POKOK] == 100_000
        assert check(session).ok
