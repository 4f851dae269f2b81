"""Importing a paper ledger (storage/ledger.py import_csv): every bad row reported by line and
nothing written unless all are good; the rules in the file's order; two identical rows are two
entries, and importing the same file again writes nothing; no receipts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlmodel import col, select

from storage.db import Database
from storage.ledger import (
    ImportFileError,
    ImportResult,
    LedgerChannel,
    LedgerEntry,
    LedgerKind,
    balances,
    check,
    deposit,
    import_csv,
)
from storage.models import AuditLog, OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone

NOW = datetime(2026, 12, 3, 3, 15, tzinfo=UTC)


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        found = {
            "siti": add_member(session, "Siti Aminah", phone(1)),
            "ani": add_member(session, "Ani Lestari", phone(2)),
            "budi": add_member(session, "Budi", phone(2)),  # Ani's family phone
        }
        session.flush()
        return {name: m.id for name, m in found.items() if m.id is not None}


def run(db: Database, text: str) -> ImportResult:
    with db.transaction() as session:
        return import_csv(session, text, community_id=COMMUNITY, now=NOW)


def entries(db: Database) -> list[LedgerEntry]:
    with db.transaction() as session:
        return list(session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id))))


GOOD = """date,phone,kind,amount,note,name
2026-01-05,0812-0000-0001,pokok,100.000,uang pangkal,
2026-01-05,0812-0000-0001,wajib,Rp 50.000,Januari,
2026-01-05,0812-0000-0001,wajib,Rp 50.000,Januari,
2026-02-05,+62 812 0000 0002,sukarela,1.5jt,,ani
2026-03-05,6281200000002,sukarela,-250rb,ambil,Ani Lestari
"""


def test_a_clean_file_is_imported_with_its_days_and_no_receipts(
    db: Database, people: dict[str, int]
) -> None:
    result = run(db, GOOD)
    assert result.ok and result.imported == 5 and result.already_imported == ()
    found = entries(db)
    assert [(e.member_id, e.kind, e.amount, e.occurred_on) for e in found] == [
        (people["siti"], "pokok", 100_000, date(2026, 1, 5)),
        (people["siti"], "wajib", 50_000, date(2026, 1, 5)),
        (people["siti"], "wajib", 50_000, date(2026, 1, 5)),  # two identical rows: two entries
        (people["ani"], "sukarela", 1_500_000, date(2026, 2, 5)),
        (people["ani"], "sukarela", -250_000, date(2026, 3, 5)),
    ]
    assert [e.action for e in found][-2:] == ["deposit", "withdrawal"]
    assert {e.channel for e in found} == {LedgerChannel.IMPORT}
    assert all(e.key and e.key.startswith("import:") for e in found)
    assert found[1].key != found[2].key
    assert found[0].note == "uang pangkal" and found[3].note is None
    with db.transaction() as session:
        assert balances(session, people["siti"])[LedgerKind.WAJIB] == 100_000
        assert balances(session, people["ani"])[LedgerKind.SUKARELA] == 1_250_000
        assert session.exec(select(OutboxMessage)).all() == []
        [audit] = session.exec(select(AuditLog)).all()
        assert check(session).ok
    assert audit.action == "ledger.import" and audit.detail == {
        "entries": 5,
        "already_imported": 0,
    }


def test_the_same_file_again_writes_nothing(db: Database, people: dict[str, int]) -> None:
    run(db, GOOD)
    again = run(db, GOOD)
    assert again.ok and again.imported == 0
    assert again.already_imported == (2, 3, 4, 5, 6)
    assert len(entries(db)) == 5
    # The file with one more month added: only the new row is written.
    more = run(db, GOOD + "2026-04-05,081200000001,wajib,50000,April,\n")
    assert more.imported == 1 and more.already_imported == (2, 3, 4, 5, 6)
    # A third identical January row is a new entry: it is the third of its kind in the file.
    third = run(db, GOOD + "2026-01-05,0812-0000-0001,wajib,Rp 50.000,Januari,\n")
    assert third.imported == 1 and len(entries(db)) == 7


def test_bad_rows_are_reported_by_line_and_nothing_is_written(
    db: Database, people: dict[str, int]
) -> None:
    text = """date,phone,kind,amount,note
2026-01-05,0812-0000-0001,wajib,50.000,ok
2026-02-31,0812-0000-0001,wajib,50.000,no such day
05/01/2026,0812-0000-0001,wajib,50.000,wrong form
2026-01-05,0812-9999-9999,wajib,50.000,nobody
2026-01-05,12,wajib,50.000,not a phone
2026-01-05,0812-0000-0002,wajib,50.000,family phone
2026-01-05,0812-0000-0001,arisan,50.000,unknown kind
2026-01-05,0812-0000-0001,wajib,"1.000,5",two separators
2026-01-05,0812-0000-0001,wajib,0,zero
2026-01-05,0812-0000-0001,sukarela,lima puluh,letters
2027-01-05,0812-0000-0001,wajib,50.000,future
2026-01-05,0812-0000-0001,sukarela,-1,below zero
2026-01-05,0812-0000-0001,wajib,-50.000,locked
2026-01-05,0812-0000-0001,pokok,100.000,
2026-01-06,0812-0000-0001,pokok,100.000,twice
"""
    result = run(db, text)
    assert not result.ok and result.imported == 0
    lines = {error.line: error.message for error in result.errors}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16]
    assert "'2026-02-31' is not a day written YYYY-MM-DD" in lines[3]
    assert "not a day" in lines[4]
    assert "no member has the phone 0812-9999-9999" in lines[5]
    assert "'12' is not a valid phone number" in lines[6]
    assert "several members share the phone" in lines[7] and "Ani Lestari, Budi" in lines[7]
    assert "not one of pokok, wajib, sukarela" in lines[8]
    assert "(separators:" in lines[9]
    assert "(zero:" in lines[10]
    assert "(letters:" in lines[11]
    assert "in the future" in lines[12]
    assert "below zero" in lines[13]
    assert "not withdrawn while she is a member" in lines[14]
    assert "paid once" in lines[16]
    assert entries(db) == []


def test_a_name_column_that_names_nobody_on_the_phone(db: Database, people: dict[str, int]) -> None:
    result = run(db, "date,phone,kind,amount,note,name\n2026-01-05,081200000002,wajib,1000,,Dewi\n")
    assert [e.message for e in result.errors] == [
        "nobody called 'Dewi' on the phone 081200000002 (Ani Lestari, Budi)"
    ]


def test_the_rules_start_from_her_balances_now(db: Database, people: dict[str, int]) -> None:
    with db.transaction() as session:
        deposit(
            session,
            community_id=COMMUNITY,
            member_id=people["siti"],
            kind=LedgerKind.SUKARELA,
            amount=40_000,
            channel=LedgerChannel.CLI,
        )
    text = "date,phone,kind,amount,note\n2026-01-05,081200000001,sukarela,-40.000,\n"
    assert run(db, text).imported == 1
    again = "date,phone,kind,amount,note\n2026-01-06,081200000001,sukarela,-1,\n"
    assert "below zero" in run(db, again).errors[0].message


def test_semicolons_and_a_spreadsheet_bom(db: Database, people: dict[str, int]) -> None:
    text = "\ufeffDate;Phone;Kind;Amount;Note\n2026-01-05;0812-0000-0001;Simpanan Wajib;50.000,-;\n"
    result = run(db, text.removeprefix("\ufeff"))
    assert result.imported == 1
    assert [e.amount for e in entries(db)] == [50_000]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ("date,phone,amount\n2026-01-05,0812,1\n", "lacks column(s) kind, note"),
    ],
)
def test_a_file_that_cannot_be_read(
    db: Database, people: dict[str, int], text: str, message: str
) -> None:
    with pytest.raises(ImportFileError, match=re.escape(message)):
        run(db, text)
