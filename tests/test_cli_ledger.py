"""``wlcc ledger``: deposit, withdraw, reverse, balance, check, report and import, as the
treasurer runs them (the real command, on the test database)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select
from typer.testing import CliRunner, Result

from cli.main import app
from storage.db import Database
from storage.ledger import RECEIPT_KIND, LedgerEntry, LedgerKind, balances
from storage.models import AuditLog, OutboxMessage
from tests.outbox_support import add_member, phone
from wlcc.formatting import to_local, utcnow

runner = CliRunner()


@pytest.fixture
def env(database_url: str, clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return database_url


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        found = {
            "siti": add_member(session, "Siti Aminah", phone(1)),
            "ani": add_member(session, "Ani Lestari", phone(2)),
            "budi": add_member(session, "Budi", phone(2)),
        }
        session.flush()
        return {name: m.id for name, m in found.items() if m.id is not None}


def wlcc(*args: str) -> Result:
    return runner.invoke(app, ["ledger", *args])


def said(result: Result) -> str:
    return " ".join(result.output.split())


def test_deposit_records_prints_and_queues_her_receipt(env, db: Database, people) -> None:
    result = wlcc("deposit", "0812-0000-0001", "wajib", "Rp 50.000", "--note", "Desember")
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        [entry] = session.exec(select(LedgerEntry)).all()
        [receipt] = session.exec(select(OutboxMessage)).all()
    assert said(result) == (
        f"Deposit #{entry.id} recorded: Siti Aminah (#{people['siti']}, +6281200000001), "
        "simpanan wajib Rp50.000; wajib balance now Rp50.000. Her receipt is queued "
        f"(outbox #{receipt.id})."
    )
    assert entry.channel == "cli" and entry.note == "Desember" and entry.amount == 50_000
    assert receipt.kind == RECEIPT_KIND and receipt.member_id == people["siti"]
    assert receipt.text.startswith("Setoran simpanan wajib Rp50.000 diterima pada ")


@pytest.mark.parametrize("amount", ["50000", "50.000", "50rb", "50 ribu", "Rp50.000,-"])
def test_amounts_as_indonesians_type_them(env, db: Database, people, amount: str) -> None:
    assert wlcc("deposit", "+62 812 0000 0001", "sukarela", amount).exit_code == 0
    with db.transaction() as session:
        assert balances(session, people["siti"])[LedgerKind.SUKARELA] == 50_000


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["deposit", "0812-0000-0001", "wajib", "1.000,5"], 2, "Not an amount: '1.000,5'"),
        (["deposit", "0812-0000-0001", "wajib", "0"], 2, "(it is zero)"),
        (["deposit", "0812-0000-0001", "wajib", "999999999999"], 2, "larger than"),
        (["deposit", "0812-0000-0001", "arisan", "5000"], 2, "Unknown kind 'arisan'"),
        (["deposit", "12", "wajib", "5000"], 2, "Not a phone number: '12'"),
        (["deposit", "0812-9999-9999", "wajib", "5000"], 1, "No member has the phone"),
        (
            ["deposit", "0812-0000-0002", "wajib", "5000"],
            1,
            "Several members share the phone +6281200000002: 'Ani Lestari', 'Budi'. Say which "
            "with --name.",
        ),
        (["deposit", "0812-0000-0002", "wajib", "5000", "--name", "Dewi"], 1, "Nobody called"),
        (["withdraw", "0812-0000-0001", "wajib", "5000"], 1, "not withdrawn while she is a member"),
        (["withdraw", "0812-0000-0001", "sukarela", "5000"], 1, "would go below zero"),
        (["reverse", "77", "--reason", "salah"], 1, "no such entry"),
    ],
)
def test_what_is_refused_says_why_and_records_nothing(
    env, db: Database, people, args: list[str], code: int, message: str
) -> None:
    result = wlcc(*args)
    assert result.exit_code == code, result.output
    assert message in said(result)
    with db.transaction() as session:
        assert session.exec(select(LedgerEntry)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []


def test_a_refusal_is_audited(env, db: Database, people) -> None:
    assert wlcc("withdraw", "0812-0000-0001", "pokok", "5000").exit_code == 1
    with db.transaction() as session:
        [row] = session.exec(select(AuditLog)).all()
    assert (row.action, row.allowed, row.detail["reason"]) == ("ledger.withdrawal", False, "locked")


def test_name_chooses_on_a_family_phone(env, db: Database, people) -> None:
    result = wlcc("deposit", "081200000002", "sukarela", "10rb", "--name", "budi")
    assert result.exit_code == 0, result.output
    assert "Budi (#" in result.output
    with db.transaction() as session:
        assert balances(session, people["budi"])[LedgerKind.SUKARELA] == 10_000
        [receipt] = session.exec(select(OutboxMessage)).all()
    assert "Rp10.000" not in receipt.text  # a shared phone: the receipt shows no money


def test_withdraw_and_reverse(env, db: Database, people) -> None:
    assert wlcc("deposit", "081200000001", "sukarela", "100rb").exit_code == 0
    taken = wlcc("withdraw", "081200000001", "sukarela", "30.000")
    assert taken.exit_code == 0, taken.output
    assert "sukarela balance now Rp70.000" in said(taken)
    with db.transaction() as session:
        withdrawal = session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id).desc())).first()
    assert withdrawal is not None and withdrawal.amount == -30_000
    undone = wlcc("reverse", str(withdrawal.id), "--reason", "salah catat")
    assert undone.exit_code == 0, undone.output
    assert f"of entry #{withdrawal.id} recorded" in said(undone)
    assert "sukarela balance now Rp100.000" in said(undone)
    again = wlcc("reverse", str(withdrawal.id), "--reason", "lagi")
    assert again.exit_code == 1 and "reversed already" in said(again)
    with db.transaction() as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 3


def test_balance_shows_each_kind_and_the_total(env, db: Database, people) -> None:
    wlcc("deposit", "081200000001", "pokok", "100rb")
    wlcc("deposit", "081200000001", "wajib", "50rb")
    result = wlcc("balance", "0812 0000 0001")
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert lines == [
        f"Siti Aminah (#{people['siti']}, +6281200000001), active:",
        "simpanan pokok Rp100.000",
        "simpanan wajib Rp50.000",
        "simpanan sukarela Rp0",
        "savings total Rp150.000",
        "loan owed Rp0",
        "interest paid Rp0",
    ]
    with db.transaction() as session:
        viewed = session.exec(select(AuditLog).where(AuditLog.action == "ledger.balance")).all()
    assert [v.target for v in viewed] == [f"member:{people['siti']}"]


def test_check_passes_then_fails_on_a_tampered_cache(env, db: Database, people) -> None:
    wlcc("deposit", "081200000001", "wajib", "50rb")
    good = wlcc("check")
    assert good.exit_code == 0, good.output
    assert "The ledger is consistent: 1 entries, 1 cached balances" in said(good)
    with db.transaction() as session:
        session.execute(text("UPDATE ledger_balance SET balance = 1"))
    bad = wlcc("check")
    assert bad.exit_code == 1
    assert f"member #{people['siti']} wajib: cached 1, entries sum to 50000" in said(bad)
    assert "NOT consistent: 1 problem(s)" in said(bad)


def test_report_is_csv_of_the_period(env, db: Database, people) -> None:
    wlcc("deposit", "081200000001", "wajib", "50rb")
    wlcc("deposit", "081200000002", "sukarela", "20rb", "--name", "Ani")
    result = runner.invoke(app, ["ledger", "report", "--from", "2026-01-01"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == [
        "row",
        "member_id",
        "name",
        "phone",
        "status",
        "pokok",
        "wajib",
        "sukarela",
        "savings",
        "pinjaman",
        "bunga",
        "overdue",
    ]
    assert rows[1] == ["opening", "", "", "", "", "0", "0", "0", "0", "0", "0", ""]
    assert rows[4] == ["closing", "", "", "", "", "0", "50000", "20000", "70000", "0", "0", "0"]
    assert [r[2] for r in rows[5:]] == ["Siti Aminah", "Ani Lestari", "Budi"]
    assert rows[5][5:] == ["0", "50000", "0", "50000", "0", "0", "0"]
    before = wlcc("report", "--to", "2020-01-01")
    assert list(csv.reader(io.StringIO(before.stdout)))[4][5:] == ["0"] * 7
    assert wlcc("report", "--from", "2026-13-01").exit_code == 2
    assert wlcc("report", "--from", "2026-02-01", "--to", "2026-01-01").exit_code == 2


def test_import_all_or_nothing_then_not_twice(env, db: Database, people, tmp_path: Path) -> None:
    paper = tmp_path / "buku kas.csv"
    paper.write_text(
        "date,phone,kind,amount,note\n"
        "2026-01-05,0812-0000-0001,wajib,50.000,Januari\n"
        "2026-01-05,0812-0000-0002,wajib,50.000,family phone without a name\n"
        "2026-01-06,0812-0000-0001,sukarela,-5.000,below zero\n",
        encoding="utf-8",
    )
    bad = wlcc("import", str(paper))
    assert bad.exit_code == 1
    assert "line 3: several members share the phone" in said(bad)
    assert "line 4: Siti Aminah: this withdrawal would take simpanan sukarela below zero" in said(
        bad
    )
    assert "2 bad row(s); nothing was imported" in said(bad)
    with db.transaction() as session:
        assert session.exec(select(LedgerEntry)).all() == []
    paper.write_text(
        "date,phone,kind,amount,note\n2026-01-05,0812-0000-0001,wajib,50.000,Januari\n",
        encoding="utf-8",
    )
    good = wlcc("import", str(paper))
    assert good.exit_code == 0, good.output
    assert "Imported 1 entry. No receipts are sent for an import." in said(good)
    again = wlcc("import", str(paper))
    assert again.exit_code == 0
    assert "Imported 0 entries; 1 row(s) were imported before" in said(again)
    with db.transaction() as session:
        assert len(session.exec(select(LedgerEntry)).all()) == 1
        assert session.exec(select(OutboxMessage)).all() == []
        assert balances(session, people["siti"])[LedgerKind.WAJIB] == 50_000
    assert wlcc("import", str(tmp_path / "missing.csv")).exit_code == 1
    paper.write_bytes(b"date,phone,kind,amount,note\n2026-01-05,\xff\n")
    assert "is not UTF-8" in said(wlcc("import", str(paper)))


def test_help_lists_the_commands(env) -> None:
    result = wlcc("--help")
    assert result.exit_code == 0
    for command in ("deposit", "withdraw", "reverse", "balance", "check", "report", "import"):
        assert command in result.output


def test_report_says_what_is_overdue_on_loans_today(env, db: Database, people) -> None:
    """Siti's loan of Rp1.000.000 (10 months at 1.5 %) was paid out 70 days ago: two
    installments of Rp115.000 are late; the RAT sees them beside her balances."""
    start = (to_local(utcnow()) - timedelta(days=70)).date().isoformat()
    terms = ["--principal", "1jt", "--rate", "1.5", "--months", "10", "--start", start]
    opened = runner.invoke(app, ["loans", "open", "081200000001", *terms])
    assert opened.exit_code == 0, opened.output
    result = runner.invoke(app, ["ledger", "report"])
    assert result.exit_code == 0, result.output
    rows = {r[2] or r[0]: r for r in csv.reader(io.StringIO(result.stdout))}
    assert rows["Siti Aminah"][-1] == "230000"
    assert rows["Ani Lestari"][-1] == "0"
    assert rows["closing"][-1] == "230000"
    assert "overdue today Rp230.000" in said(result)
