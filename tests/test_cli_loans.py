"""``wlcc loans``: open, repay, schedule, as the treasurer runs them (the real command on the
test database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner, Result

from cli.main import app
from storage.db import Database
from storage.ledger import RECEIPT_KIND, LedgerKind, balances
from storage.loans import Loan, schedule
from storage.models import AuditLog, OutboxMessage
from tests.outbox_support import add_member

ZONE = ZoneInfo("Asia/Jakarta")
runner = CliRunner()


@pytest.fixture
def env(database_url: str, clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return database_url


@pytest.fixture
def people(env: str, db: Database) -> dict[str, int]:
    with db.transaction() as session:
        found = {
            "Siti": add_member(session, "Siti Aminah", "+6281200000011"),
            # A family phone.
            "Dewi": add_member(session, "Dewi", "+6281200000012"),
            "Ratna": add_member(session, "Ratna", "+6281200000012"),
        }
        session.flush()
        return {name: m.id for name, m in found.items() if m.id is not None}


def wlcc(*args: str) -> Result:
    return runner.invoke(app, ["loans", *args])


def said(result: Result) -> str:
    return " ".join(result.output.split())


def today() -> date:
    return datetime.now(ZONE).date()


def test_open_prints_the_loan_and_its_first_installment(people, db: Database) -> None:
    start = today()
    result = wlcc(
        "open", "0812-0000-0011", "--principal", "1 jt", "--rate", "1,5", "--months", "10"
    )
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        [loan] = session.exec(select(Loan)).all()
        assert (loan.member_id, loan.principal, loan.rate_bp, loan.months, loan.start_on) == (
            people["Siti"],
            1_000_000,
            150,
            10,
            start,
        )
        assert loan.channel == "cli"
        first = schedule(session, loan.id)[0]  # type: ignore[arg-type]
        receipts = [r for r in session.exec(select(OutboxMessage)) if r.kind == RECEIPT_KIND]
        [audit] = session.exec(select(AuditLog)).all()
    text = said(result)
    assert text.startswith(
        f"Opened loan {loan.id} for Siti Aminah (+6281200000011): Rp1.000.000 at 1.5% a month, "
        "10 installment(s) from "
    )
    assert "First installment: Rp115.000 (principal Rp100.000, interest Rp15.000), due" in text
    assert first.total == 115_000
    assert "Her receipt is queued." in text
    assert len(receipts) == 1 and receipts[0].member_id == people["Siti"]
    assert audit.action == "loan.open" and audit.channel == "cli"


def test_the_rate_defaults_to_the_setting(people, db: Database, monkeypatch) -> None:
    monkeypatch.setenv("WLCC_LOAN_RATE_PERCENT", "2")
    result = wlcc("open", "+62 812-0000-0011", "--principal", "500000", "--months", "5")
    assert result.exit_code == 0, result.output
    assert "at 2% a month" in said(result)


def test_repay_prints_where_the_money_went_and_schedule_shows_it(people, db: Database) -> None:
    start = today() - timedelta(days=70)  # two installments are due by now
    opened = wlcc(
        "open",
        "6281200000011",
        "--principal",
        "1.000.000",
        "--rate",
        "1.5",
        "--months",
        "10",
        "--start",
        start.isoformat(),
    )
    assert opened.exit_code == 0, opened.output
    result = wlcc("repay", "0812 0000 0011", "150rb")
    assert result.exit_code == 0, result.output
    text = said(result)
    assert "Recorded a repayment of Rp150.000 from Siti Aminah on loan 1: interest Rp30.000, " in (
        text
    )
    assert "principal Rp120.000; installment(s) 1, 2 (part)." in text
    assert "Principal still owed: Rp880.000. Next installment (2 of 10): Rp80.000, due" in text
    with db.transaction() as session:
        found = balances(session, people["Siti"])
    assert found[LedgerKind.PINJAMAN] == 880_000 and found[LedgerKind.BUNGA] == 30_000

    shown = wlcc("schedule", "0812-0000-0011")
    assert shown.exit_code == 0, shown.output
    rows = {cells[0]: cells[1:] for cells in _table(shown.output)}
    with db.transaction() as session:
        due = [i.due_on.isoformat() for i in schedule(session, 1)]
    assert rows["1"] == [due[0], "Rp100.000", "Rp15.000", "Rp115.000", "Rp115.000", "paid"]
    assert rows["2"] == [due[1], "Rp100.000", "Rp15.000", "Rp115.000", "Rp35.000", "late"]
    assert rows["3"] == [due[2], "Rp100.000", "Rp15.000", "Rp115.000", "Rp0", ""]
    assert rows[""] == ["total", "Rp1.000.000", "Rp150.000", "Rp1.150.000", "Rp150.000", ""]
    assert "Loan 1 of Siti Aminah: Rp1.000.000 at 1.5% a month" in shown.output


def _table(output: str) -> list[list[str]]:
    """The body rows of a rich table, as their cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def test_a_second_loan_over_an_overdue_one_needs_an_override(people, db: Database) -> None:
    start = (today() - timedelta(days=70)).isoformat()
    wlcc("open", "081200000011", "--principal", "1jt", "--months", "10", "--start", start)
    refused = wlcc("open", "081200000011", "--principal", "500rb", "--months", "5")
    assert refused.exit_code == 1
    text = said(refused)
    assert "Refused: she has 2 overdue installment(s), Rp230.000, since" in text
    assert "--override REASON" in text
    allowed = wlcc(
        "open",
        "081200000011",
        "--principal",
        "500rb",
        "--months",
        "5",
        "--override",
        "Disetujui rapat pengurus",
    )
    assert allowed.exit_code == 0, allowed.output
    assert "Allowed despite an overdue installment: Disetujui rapat pengurus" in said(allowed)
    with db.transaction() as session:
        assert len(session.exec(select(Loan)).all()) == 2


def test_overpayment_is_refused_with_what_is_owed(people, db: Database) -> None:
    wlcc("open", "081200000011", "--principal", "300rb", "--rate", "1.5", "--months", "3")
    result = wlcc("repay", "081200000011", "313.501")
    assert result.exit_code == 1
    assert "more than everything still owed on the loan (Rp313.500" in said(result)
    with db.transaction() as session:
        assert balances(session, people["Siti"])[LedgerKind.BUNGA] == 0
    paid = wlcc("repay", "081200000011", "313.500")
    assert paid.exit_code == 0, paid.output
    assert "The loan is fully repaid." in said(paid)


def test_a_family_phone_needs_a_name(people, db: Database) -> None:
    unclear = wlcc("open", "081200000012", "--principal", "300rb", "--months", "3")
    assert unclear.exit_code == 1
    assert (
        "Several members share the phone +6281200000012: 'Dewi', 'Ratna'. Say which with --name."
        in said(unclear)
    )
    wrong = wlcc("open", "081200000012", "--principal", "300rb", "--months", "3", "--name", "Ani")
    assert wrong.exit_code == 1
    assert "Nobody called 'Ani' on +6281200000012: 'Dewi', 'Ratna'." in said(wrong)
    chosen = wlcc(
        "open", "081200000012", "--principal", "300rb", "--months", "3", "--name", "ratna"
    )
    assert chosen.exit_code == 0, chosen.output
    with db.transaction() as session:
        [loan] = session.exec(select(Loan)).all()
        assert loan.member_id == people["Ratna"]
    assert wlcc("schedule", "081200000012", "--name", "Dewi").output.strip() == "Dewi has no loan."


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["open", "12345", "--principal", "1jt", "--months", "3"], 2, "Not a phone number"),
        (["open", "081299999999", "--principal", "1jt", "--months", "3"], 1, "No member has"),
        (["open", "081200000011", "--principal", "1.000,5", "--months", "3"], 2, "separators"),
        (["open", "081200000011", "--principal", "0", "--months", "3"], 2, "it is zero"),
        (["open", "081200000011", "--principal", "999999999999", "--months", "3"], 2, "larger"),
        (["open", "081200000011", "--principal", "1jt", "--months", "0"], 1, "--months must"),
        (["open", "081200000011", "--principal", "1jt", "--months", "61"], 1, "1 to 60"),
        (
            ["open", "081200000011", "--principal", "1jt", "--months", "3", "--rate", "12"],
            1,
            "0 to 10",
        ),
        (
            ["open", "081200000011", "--principal", "1jt", "--months", "3", "--rate", "x"],
            1,
            "--rate",
        ),
        (
            [
                "open",
                "081200000011",
                "--principal",
                "1jt",
                "--months",
                "3",
                "--start",
                "2026-02-31",
            ],
            2,
            "YYYY-MM-DD",
        ),
        (["repay", "081200000011", "50rb"], 1, "she has no open loan"),
        (["repay", "081200000011", "lima puluh"], 2, "letters"),
        (["repay", "081200000011", "--", "-5000"], 2, "negative"),
    ],
)
def test_bad_input_is_refused_clearly_and_writes_nothing(
    people, db: Database, args: list[str], code: int, message: str
) -> None:
    result = wlcc(*args)
    assert result.exit_code == code, result.output
    assert message in said(result)
    with db.transaction() as session:
        assert session.exec(select(Loan)).all() == []
        assert session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all() == []


def test_the_commands_explain_themselves(env: str) -> None:
    result = runner.invoke(app, ["loans", "--help"])
    assert result.exit_code == 0
    assert all(word in result.output for word in ("open", "repay", "schedule"))
    for command in ("open", "repay", "schedule"):
        shown = runner.invoke(app, ["loans", command, "--help"])
        assert shown.exit_code == 0 and "PHONE" in shown.output
