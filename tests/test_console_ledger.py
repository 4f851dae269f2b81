"""The console's savings-and-loans pages: every page and form as the treasurer and the admin,
none of them (and no amount anywhere) for a coordinator or a protection officer, and each
recording step as the chat does it: the summary with the balance before and after, then one
entry (never two) with the member's receipt in the outbox."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from console.ledger import router
from storage.db import Database
from storage.ledger import (
    RECEIPT_KIND,
    LedgerBalance,
    LedgerChannel,
    LedgerEntry,
    LedgerKind,
    balances,
    deposit,
)
from storage.loans import Loan, LoanInstallment, open_loan, schedule
from storage.models import AuditLog, Member, OutboxMessage
from tests.console_support import Console, add_staff
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.formatting import to_local, utcnow
from wlcc.settings import Settings

SITI = "Siti Aminah"
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def add_siti(db: Database, *, status: str = "active") -> int:
    with db.transaction() as session:
        member = add_member(
            session, SITI, phone(11), kelurahan="19 Ilir", telegram="5011", status=status
        )
        assert member.id is not None
        return member.id


def give_savings(db: Database, member_id: int, kind: str, amount: int) -> int:
    with db.transaction() as session:
        receipt = deposit(
            session,
            community_id=COMMUNITY,
            member_id=member_id,
            kind=kind,
            amount=amount,
            channel=LedgerChannel.CLI,
        )
        assert receipt.entry.id is not None
        return receipt.entry.id


def give_loan(db: Database, member_id: int, settings: Settings, start: date | None = None) -> int:
    with db.transaction() as session:
        loan = open_loan(
            session,
            community_id=COMMUNITY,
            member_id=member_id,
            principal=1_000_000,
            rate="1.5",
            months=10,
            start=start,
            channel=LedgerChannel.CLI,
            settings=settings,
        )
        assert loan.id is not None
        return loan.id


def entries(db: Database) -> list[LedgerEntry]:
    with db.transaction() as session:
        return list(session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id))))


def receipts(db: Database, member_id: int) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(
            session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.kind == RECEIPT_KIND, OutboxMessage.member_id == member_id
                )
            )
        )


def form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form that posts to ``action``."""
    start = page.index(f'action="{action}"')
    end = page.index("</form>", start)
    return {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page[start:end]
        )
    }


def token_of(page: str) -> str:
    match = TOKEN.search(page)
    assert match is not None, page
    return match.group(1)


def text_of(page: str) -> str:
    """The page's words, tags removed and spaces tidied, for reading sentences in it."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def staff_console(db: Database, client: TestClient, role: str) -> tuple[Console, int]:
    staff_id = add_staff(db, role)
    return Console(client).login(db, role), staff_id


def record(
    console: Console, member_id: int, what: str, data: dict[str, str]
) -> tuple[Any, dict[str, str]]:
    """Open the form, send it; the summary page and its confirmation fields."""
    form = console.get(f"/console/ledger/members/{member_id}/{what}")
    assert form.status_code == 200, form.text
    csrf = console.csrf(f"/console/ledger/members/{member_id}/{what}")
    summary = console.post(
        f"/console/ledger/members/{member_id}/{what}",
        {"token": token_of(form.text), **data},
        csrf=csrf,
    )
    fields = (
        form_fields(summary.text, f"/console/ledger/members/{member_id}/{what}/confirm")
        if summary.status_code == 200
        else {}
    )
    return summary, fields


# --- who may see it ---


def _urls(member_id: int, entry_id: int, loan_id: int) -> list[tuple[str, str]]:
    """Every route of console/ledger.py with real ids: (method, path)."""
    found = []
    for route in router.routes:
        path = getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", set())):
            found.append(
                (
                    method,
                    path.replace("{member_id}", str(member_id)).replace(
                        "{entry_id}", str(entry_id)
                    ),
                )
            )
    assert len(found) >= 20
    return found


@pytest.mark.parametrize("role", ["coordinator", "protection_officer"])
def test_no_ledger_page_and_no_amount_for_other_staff(
    db: Database, client: TestClient, settings: Settings, role: str
) -> None:
    member_id = add_siti(db)
    entry_id = give_savings(db, member_id, LedgerKind.WAJIB, 50_000)
    loan_id = give_loan(db, member_id, settings)
    console, _ = staff_console(db, client, role)
    home = console.get("/console/")
    assert home.status_code == 200
    assert "Rp" not in home.text
    assert "/console/ledger" not in home.text
    before = len(entries(db))
    for method, path in _urls(member_id, entry_id, loan_id):
        if method == "GET":
            answer = console.get(path)
        else:
            answer = console.post(
                path, {"kind": "sukarela", "amount": "50rb", "token": "x" * 24, "reason": "x"}
            )
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert "Rp" not in answer.text, path
        assert "Siti" not in answer.text, path
    assert len(entries(db)) == before
    with db.transaction() as session:
        refused = session.exec(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.allowed == False, col(AuditLog.action).like("ledger.%"))  # noqa: E712
        ).one()
    assert refused >= 10


@pytest.mark.parametrize("role", ["treasurer", "admin"])
def test_every_page_for_the_treasurer_and_the_admin(
    db: Database, client: TestClient, settings: Settings, role: str
) -> None:
    member_id = add_siti(db)
    entry_id = give_savings(db, member_id, LedgerKind.WAJIB, 50_000)
    give_savings(db, member_id, LedgerKind.SUKARELA, 20_000)
    # A loan opened 40 days ago: its first installment is late.
    today = to_local(utcnow(), settings.timezone).date()
    give_loan(db, member_id, settings, start=today - timedelta(days=40))
    console, _ = staff_console(db, client, role)
    home = console.get("/console/")
    assert 'href="/console/ledger"' in home.text

    overview = text_of(console.get("/console/ledger").text)
    assert "Simpanan wajib Rp50.000" in overview
    assert "Jumlah simpanan Rp70.000" in overview
    assert "Sisa pokok pinjaman (1 pinjaman berjalan) Rp1.000.000" in overview
    assert "Angsuran yang terlambat Rp115.000" in overview
    assert f"{SITI} Rp115.000" in overview  # the overdue list
    assert "Cocok" in overview

    report = console.get("/console/ledger/report.csv")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    lines = report.text.splitlines()
    assert lines[0].startswith("row,member_id,name,phone")
    assert any(line.startswith(f"member,{member_id},{SITI},") for line in lines)
    period = console.get(f"/console/ledger/report.csv?from={today.replace(day=1)}&to={today}")
    assert period.status_code == 200

    by_name = console.get("/console/ledger/members?q=siti")
    assert by_name.status_code == 200
    assert f'href="/console/ledger/members/{member_id}"' in by_name.text
    by_phone = console.get("/console/ledger/members?q=0812-0000-0011")
    assert f'href="/console/ledger/members/{member_id}"' in by_phone.text
    assert "Rp" not in by_name.text  # a search shows who, not how much

    page = console.get(f"/console/ledger/members/{member_id}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Simpanan wajib Rp50.000" in words
    assert "Simpanan sukarela Rp20.000" in words
    assert "Sisa pinjaman Rp1.000.000" in words
    assert "terlambat" in words
    assert "Jadwal angsuran pinjaman no." in words
    assert f'href="/console/ledger/entries/{entry_id}"' in page.text
    for what in ("deposit", "withdraw", "repay", "loan", "statement"):
        assert f"/console/ledger/members/{member_id}/{what}" in page.text

    statement = console.get(f"/console/ledger/members/{member_id}/statement")
    assert statement.status_code == 200
    assert "Rekening koran" in statement.text
    pdf = console.get(f"/console/ledger/members/{member_id}/statement.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    earlier = console.get(f"/console/ledger/members/{member_id}/statement?month=2020-01")
    assert earlier.status_code == 200

    entry_page = console.get(f"/console/ledger/entries/{entry_id}")
    assert entry_page.status_code == 200
    assert "Setoran simpanan wajib" in entry_page.text
    assert f"/console/ledger/entries/{entry_id}/reverse" in entry_page.text

    for what in ("deposit", "withdraw", "repay", "loan"):
        form = console.get(f"/console/ledger/members/{member_id}/{what}")
        assert form.status_code == 200, what
        assert 'name="csrf"' in form.text
        assert 'name="token"' in form.text
    reverse = console.get(f"/console/ledger/entries/{entry_id}/reverse")
    assert reverse.status_code == 200
    assert 'name="reason"' in reverse.text

    with db.transaction() as session:
        views = session.exec(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "ledger.view", AuditLog.channel == "console")
        ).one()
        downloads = session.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "ledger.report")
        ).one()
    assert views >= 3
    assert downloads == 2


def test_the_pages_speak_english(db: Database, client: TestClient) -> None:
    member_id = add_siti(db)
    console, _ = staff_console(db, client, "treasurer")
    console.get("/console/lang/en")
    page = console.get(f"/console/ledger/members/{member_id}")
    assert "Balances of Siti Aminah today" in page.text
    assert "Record a deposit" in page.text


# --- a deposit, a withdrawal ---


def test_a_deposit_is_confirmed_then_recorded_once_with_her_receipt(
    db: Database, client: TestClient
) -> None:
    member_id = add_siti(db)
    console, staff_id = staff_console(db, client, "treasurer")
    summary, fields = record(
        console,
        member_id,
        "deposit",
        {"kind": "sukarela", "amount": "Rp 50.000", "note": "arisan"},
    )
    assert summary.status_code == 200
    words = text_of(summary.text)
    assert "Saldo simpanan sukarela: Rp0 menjadi Rp50.000" in words
    assert "Jumlah: Rp50.000" in words
    assert "Belum ada yang dicatat" in words
    assert entries(db) == []  # nothing before "Simpan"
    assert fields["amount"] == "50000"

    done = console.post(f"/console/ledger/members/{member_id}/deposit/confirm", fields)
    assert done.status_code == 200
    [entry] = entries(db)
    words = text_of(done.text)
    assert f"Tersimpan (catatan no. {entry.id})" in words
    assert f"Kuitansi untuk {SITI} sudah masuk antrean kirim" in words
    assert entry.amount == 50_000
    assert entry.kind == LedgerKind.SUKARELA
    assert entry.channel == LedgerChannel.CONSOLE
    assert entry.recorded_by_member_id == staff_id
    assert entry.note == "arisan"
    [receipt] = receipts(db, member_id)
    assert "Setoran simpanan sukarela Rp50.000 diterima" in receipt.text
    with db.transaction() as session:
        [audited] = session.exec(
            select(AuditLog).where(AuditLog.action == "ledger.deposit", AuditLog.allowed == True)  # noqa: E712
        ).all()
    assert audited.actor_member_id == staff_id
    assert audited.channel == "console"

    # A double click, a reload of the result, or back and "Simpan" again: still one entry.
    again = console.post(f"/console/ledger/members/{member_id}/deposit/confirm", fields)
    assert again.status_code == 200
    assert f"dicatat sebagai catatan no. {entry.id}" in text_of(again.text)
    back = console.post(
        f"/console/ledger/members/{member_id}/deposit",
        {k: v for k, v in fields.items() if k != "csrf"},
    )
    assert back.status_code == 200
    resent = form_fields(back.text, f"/console/ledger/members/{member_id}/deposit/confirm")
    assert resent["token"] == fields["token"]
    assert console.post(f"/console/ledger/members/{member_id}/deposit/confirm", resent)
    assert len(entries(db)) == 1
    assert len(receipts(db, member_id)) == 1


def test_a_post_without_its_csrf_token_records_nothing(db: Database, client: TestClient) -> None:
    member_id = add_siti(db)
    console, _ = staff_console(db, client, "treasurer")
    _, fields = record(console, member_id, "deposit", {"kind": "wajib", "amount": "50rb"})
    path = f"/console/ledger/members/{member_id}/deposit/confirm"
    without = {k: v for k, v in fields.items() if k != "csrf"}
    missing = console.client.post(path, data=without, follow_redirects=False)
    assert missing.status_code == 403
    forged = console.client.post(path, data={**without, "csrf": "x" * 40}, follow_redirects=False)
    assert forged.status_code == 403
    assert entries(db) == []
    assert receipts(db, member_id) == []


def test_a_change_keeps_the_form_and_its_token(db: Database, client: TestClient) -> None:
    member_id = add_siti(db)
    console, _ = staff_console(db, client, "treasurer")
    _, fields = record(console, member_id, "deposit", {"kind": "wajib", "amount": "50rb"})
    path = f"/console/ledger/members/{member_id}/deposit"
    change = console.post(path, {**fields, "step": "change"})
    assert change.status_code == 200
    assert 'value="50000"' in change.text
    assert token_of(change.text) == fields["token"]
    assert entries(db) == []


@pytest.mark.parametrize(
    ("kind", "amount", "words"),
    [
        ("sukarela", "lima puluh", "tidak bisa dibaca"),
        ("sukarela", "1.000,5", "tidak jelas"),
        ("sukarela", "0", "nol"),
        ("sukarela", "-5000", "minus"),
        ("sukarela", "", "belum ditulis"),
        ("sukarela", "2 miliar", "tidak bisa dibaca"),
        ("sukarela", "2000000000", "terlalu besar"),
        ("pinjaman", "50rb", "Pilih jenis simpanan"),
        ("", "50rb", "Pilih jenis simpanan"),
    ],
)
def test_a_bad_amount_or_kind_is_a_422_with_the_form(
    db: Database, client: TestClient, kind: str, amount: str, words: str
) -> None:
    member_id = add_siti(db)
    console, _ = staff_console(db, client, "treasurer")
    summary, _ = record(console, member_id, "deposit", {"kind": kind, "amount": amount})
    assert summary.status_code == 422
    assert words in text_of(summary.text)
    assert 'name="amount"' in summary.text
    assert 'role="alert"' in summary.text
    assert entries(db) == []


def test_withdrawals_are_refused_as_the_chat_refuses_them(db: Database, client: TestClient) -> None:
    member_id = add_siti(db)
    give_savings(db, member_id, LedgerKind.SUKARELA, 30_000)
    give_savings(db, member_id, LedgerKind.POKOK, 100_000)
    console, _ = staff_console(db, client, "treasurer")
    form = console.get(f"/console/ledger/members/{member_id}/withdraw")
    assert 'value="wajib"' not in form.text  # only sukarela comes out while she is a member
    too_much, _ = record(console, member_id, "withdraw", {"kind": "sukarela", "amount": "50rb"})
    assert too_much.status_code == 422
    assert f"Saldo simpanan sukarela {SITI} Rp30.000: penarikan Rp50.000 tidak bisa" in text_of(
        too_much.text
    )
    locked, _ = record(console, member_id, "withdraw", {"kind": "wajib", "amount": "10rb"})
    assert locked.status_code == 422
    assert "tidak bisa ditarik selama" in text_of(locked.text)
    pokok, _ = record(console, member_id, "deposit", {"kind": "pokok", "amount": "100rb"})
    assert pokok.status_code == 422
    assert "simpanan pokok dibayar sekali saja" in text_of(pokok.text)
    assert len(entries(db)) == 2

    ok, fields = record(console, member_id, "withdraw", {"kind": "sukarela", "amount": "30.000"})
    assert "Saldo simpanan sukarela: Rp30.000 menjadi Rp0" in text_of(ok.text)
    done = console.post(f"/console/ledger/members/{member_id}/withdraw/confirm", fields)
    assert done.status_code == 200
    assert "penarikan simpanan sukarela Rp30.000" in text_of(done.text)
    with db.transaction() as session:
        assert balances(session, member_id)[LedgerKind.SUKARELA] == 0
    # The money went out meanwhile: the same summary sent again is refused, nothing written.
    form = console.get(f"/console/ledger/members/{member_id}/withdraw")
    stale = {**fields, "token": token_of(form.text)}
    late = console.post(f"/console/ledger/members/{member_id}/withdraw/confirm", stale)
    assert late.status_code == 422
    assert len(entries(db)) == 3


def test_unknown_ids_pages_and_filters(db: Database, client: TestClient) -> None:
    member_id = add_siti(db)
    console, _ = staff_console(db, client, "treasurer")
    for path in (
        "/console/ledger/members/999",
        "/console/ledger/members/99999999999",
        "/console/ledger/members/999/deposit",
        "/console/ledger/members/999/statement",
        "/console/ledger/entries/999",
        "/console/ledger/entries/999/reverse",
        f"/console/ledger/members/{member_id}?page=2",
        f"/console/ledger/members/{member_id}?page=x",
        f"/console/ledger/members/{member_id}/repay?loan=999",
        f"/console/ledger/members/{member_id}/statement?month=2999-01",
    ):
        answer = console.get(path)
        assert answer.status_code == 404, path
        assert "Rp" not in answer.text
    for path in (
        "/console/ledger/members/abc",
        f"/console/ledger/members/{member_id}/statement?month=2026-13",
        "/console/ledger/report.csv?from=31-12-2026",
        "/console/ledger/report.csv?from=2026-02-01&to=2026-01-01",
        "/console/ledger/members?q=0812",
    ):
        assert console.get(path).status_code == 422, path
    confirm = console.post(
        f"/console/ledger/members/{member_id}/deposit/confirm",
        {"kind": "wajib", "amount": "50000", "token": "short"},
    )
    assert confirm.status_code == 422
    missing = console.post(
        "/console/ledger/members/999/deposit/confirm",
        {"kind": "wajib", "amount": "50000", "token": "t" * 24},
    )
    assert missing.status_code == 404
    assert entries(db) == []


# --- a reversal ---


def test_a_reversal_is_confirmed_recorded_once_and_not_reversed_again(
    db: Database, client: TestClient
) -> None:
    member_id = add_siti(db)
    entry_id = give_savings(db, member_id, LedgerKind.WAJIB, 50_000)
    console, staff_id = staff_console(db, client, "treasurer")
    path = f"/console/ledger/entries/{entry_id}/reverse"
    empty = console.post(path, {"reason": "  "})
    assert empty.status_code == 422
    assert "Tulis alasan" in text_of(empty.text)
    summary = console.post(path, {"reason": "salah ketik"})
    assert summary.status_code == 200
    words = text_of(summary.text)
    assert "Saldo simpanan wajib: Rp50.000 menjadi Rp0" in words
    assert "Alasan: salah ketik" in words
    fields = form_fields(summary.text, f"{path}/confirm")
    done = console.post(f"{path}/confirm", fields)
    assert done.status_code == 200
    assert f"koreksi catatan no. {entry_id}" in text_of(done.text)
    assert "sudah masuk antrean kirim" in text_of(done.text)
    _, reversal = entries(db)
    assert reversal.reverses_id == entry_id
    assert reversal.amount == -50_000
    assert reversal.recorded_by_member_id == staff_id
    assert reversal.channel == LedgerChannel.CONSOLE
    assert reversal.note == "salah ketik"
    assert len(receipts(db, member_id)) == 2  # the deposit's and the reversal's
    again = console.post(f"{path}/confirm", fields)
    assert again.status_code == 200
    assert len(entries(db)) == 2
    refused = console.get(path)
    assert refused.status_code == 422
    assert "sudah dikoreksi" in text_of(refused.text)
    of_reversal = console.get(f"/console/ledger/entries/{reversal.id}/reverse")
    assert of_reversal.status_code == 422
    assert "sendiri sebuah koreksi" in text_of(of_reversal.text)
    page = console.get(f"/console/ledger/entries/{entry_id}")
    assert f'href="/console/ledger/entries/{reversal.id}"' in page.text


# --- loans ---


def test_a_repayment_is_shared_confirmed_and_recorded_once(
    db: Database, client: TestClient, settings: Settings
) -> None:
    member_id = add_siti(db)
    loan_id = give_loan(db, member_id, settings)
    console, staff_id = staff_console(db, client, "treasurer")
    form = console.get(f"/console/ledger/members/{member_id}/repay")
    assert "Angsuran ke-1 dari 10: Rp115.000" in text_of(form.text)
    overpaid, _ = record(console, member_id, "repay", {"loan": str(loan_id), "amount": "2jt"})
    assert overpaid.status_code == 422
    assert "lebih dari semua yang masih harus dibayar (Rp1.150.000)" in text_of(overpaid.text)
    summary, fields = record(console, member_id, "repay", {"loan": str(loan_id), "amount": "115rb"})
    assert summary.status_code == 200
    words = text_of(summary.text)
    assert "Untuk bunga Rp15.000 dan pokok Rp100.000 (angsuran ke-1)" in words
    assert "Sisa pokok pinjaman sesudahnya: Rp900.000" in words
    done = console.post(f"/console/ledger/members/{member_id}/repay/confirm", fields)
    assert done.status_code == 200
    assert "Tersimpan: angsuran Rp115.000" in text_of(done.text)
    again = console.post(f"/console/ledger/members/{member_id}/repay/confirm", fields)
    assert again.status_code == 200
    assert "Sudah tersimpan" in again.text
    repaid = [e for e in entries(db) if e.action == "repayment"]
    assert sorted(e.amount for e in repaid) == [-100_000, 15_000]
    assert all(e.recorded_by_member_id == staff_id for e in repaid)
    with db.transaction() as session:
        first = schedule(session, loan_id)[0]
    assert first.is_paid
    assert len(receipts(db, member_id)) == 2  # the loan's and the repayment's


def test_a_loan_is_opened_with_its_schedule_once(
    db: Database, client: TestClient, settings: Settings
) -> None:
    member_id = add_siti(db)
    console, staff_id = staff_console(db, client, "admin")
    bad, _ = record(console, member_id, "loan", {"principal": "1jt", "months": "99"})
    assert bad.status_code == 422
    assert "1 sampai 60" in text_of(bad.text)
    bad_rate, _ = record(
        console, member_id, "loan", {"principal": "1jt", "months": "10", "rate": "abc"}
    )
    assert bad_rate.status_code == 422
    summary, _ = record(
        console, member_id, "loan", {"principal": "1jt", "months": "10", "rate": "1,5"}
    )
    assert summary.status_code == 200
    words = text_of(summary.text)
    assert "Pinjaman baru Rp1.000.000" in words
    assert "Diangsur 10 kali, bunga 1,5% per bulan (Rp15.000 per bulan)" in words
    assert "Jadwal angsuran" in words
    fields = form_fields(summary.text, f"/console/ledger/members/{member_id}/loan/confirm")
    done = console.post(f"/console/ledger/members/{member_id}/loan/confirm", fields)
    assert done.status_code == 200
    assert "Tersimpan: pinjaman no." in text_of(done.text)
    again = console.post(f"/console/ledger/members/{member_id}/loan/confirm", fields)
    assert again.status_code == 200
    with db.transaction() as session:
        [loan] = session.exec(select(Loan)).all()
        installments = session.exec(select(func.count()).select_from(LoanInstallment)).one()
    assert loan.recorded_by_member_id == staff_id
    assert loan.channel == LedgerChannel.CONSOLE
    assert loan.rate_bp == 150
    assert installments == 10
    assert len(receipts(db, member_id)) == 1


def test_no_new_loan_with_an_overdue_installment_without_a_reason(
    db: Database, client: TestClient, settings: Settings
) -> None:
    member_id = add_siti(db)
    today = to_local(utcnow(), settings.timezone).date()
    give_loan(db, member_id, settings, start=today - timedelta(days=40))
    console, _ = staff_console(db, client, "treasurer")
    form = console.get(f"/console/ledger/members/{member_id}/loan")
    assert 'name="override"' in form.text
    refused, _ = record(console, member_id, "loan", {"principal": "500rb", "months": "5"})
    assert refused.status_code == 422
    assert "angsuran terlambat" in text_of(refused.text)
    summary, fields = record(
        console,
        member_id,
        "loan",
        {"principal": "500rb", "months": "5", "override": "biaya sekolah"},
    )
    assert summary.status_code == 200
    assert "Alasan: biaya sekolah" in text_of(summary.text)
    done = console.post(f"/console/ledger/members/{member_id}/loan/confirm", fields)
    assert done.status_code == 200
    with db.transaction() as session:
        loans = session.exec(select(Loan).order_by(col(Loan.id))).all()
    assert loans[-1].override == "biaya sekolah"


def test_a_former_member_can_take_out_her_locked_savings(db: Database, client: TestClient) -> None:
    member_id = add_siti(db)
    give_savings(db, member_id, LedgerKind.WAJIB, 40_000)
    with db.transaction() as session:
        member = session.get(Member, member_id)
        assert member is not None
        member.status = "inactive"
        session.add(member)
    console, _ = staff_console(db, client, "treasurer")
    form = console.get(f"/console/ledger/members/{member_id}/withdraw")
    assert 'value="wajib"' in form.text
    summary, fields = record(console, member_id, "withdraw", {"kind": "wajib", "amount": "40rb"})
    assert summary.status_code == 200
    assert "Saldo simpanan wajib: Rp40.000 menjadi Rp0" in text_of(summary.text)
    assert console.post(
        f"/console/ledger/members/{member_id}/withdraw/confirm", fields
    ).status_code == (200)
    assert console.get(f"/console/ledger/members/{member_id}/loan").status_code == 422


def test_the_check_shows_a_balance_that_disagrees_with_its_entries(
    db: Database, client: TestClient
) -> None:
    member_id = add_siti(db)
    give_savings(db, member_id, LedgerKind.WAJIB, 50_000)
    with db.transaction() as session:
        cached = session.get(LedgerBalance, (member_id, LedgerKind.WAJIB))
        assert cached is not None
        cached.balance = 70_000
        session.add(cached)
    console, _ = staff_console(db, client, "treasurer")
    words = text_of(console.get("/console/ledger").text)
    assert "Tidak cocok: 1 masalah" in words
    assert f"{SITI} (no. {member_id}), Simpanan wajib: saldo tersimpan Rp70.000" in words


def test_the_report_keeps_a_name_from_running_as_a_formula(
    db: Database, client: TestClient
) -> None:
    with db.transaction() as session:
        member = add_member(session, '=HYPERLINK("http://x","Siti")', phone(12))
        assert member.id is not None
        member_id = member.id
    give_savings(db, member_id, LedgerKind.WAJIB, 50_000)
    console, _ = staff_console(db, client, "treasurer")
    report = console.get("/console/ledger/report.csv")
    assert f"member,{member_id},\"'=HYPERLINK(" in report.text
