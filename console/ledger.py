"""The console's savings-and-loans pages (simpan pinjam), for the treasurer and the admin.

Reading (``ledger.view``): the totals, the loans outstanding and overdue, ``wlcc ledger
check``'s proof, the report as CSV (``wlcc ledger report``), a member's balances, entries,
loans with their schedules, and her monthly statement (the page, and the PDF the chat's
STATEMEN sends). A coordinator or a protection officer sees none of it: every page here is
refused to her (403) and the menu does not show it.

Writing (``ledger.record``): a deposit or a withdrawal (SETOR, TARIK), a reversal (``wlcc
ledger reverse``), a loan repayment (ANGSURAN) and a new loan (``wlcc loans open``). Each is
three steps, as in the chat: the form; a summary to check (the balance before and after it,
"Saldo simpanan sukarela: Rp0 menjadi Rp50.000"); then "Simpan" records it through the same
storage functions, which apply the rules, write the audit row (channel ``console``, the staff
member as the one who recorded it) and queue the member's receipt in the outbox.

The form carries a one-time token from the moment it is opened to the confirmation; it becomes
the entry's idempotency key (``console:<token>``), so a double click, a reload of the result or
going back and sending the summary again records once and shows what was recorded. A
reversal needs no token: an entry is reversed at most once (storage/ledger.py).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, func, select
from starlette.datastructures import FormData

from bot.deps import DatabaseDep, SettingsDep
from console.charts import loans_chart, savings_chart
from console.menu import menu_for
from console.security import (
    ConsoleError,
    Form,
    Require,
    Staff,
    audit,
    field,
    page_number,
    pages_for,
)
from console.templating import download, render
from conversations.ledger import statement_document
from storage import stats
from storage.ledger import (
    EntryAction,
    LedgerChannel,
    LedgerEntry,
    LedgerKind,
    LedgerRefused,
    Receipt,
    Refusal,
    balances,
    check,
    count_entries,
    deposit,
    entry,
    is_member,
    last_entries,
    ledger_members_on_phone,
    report,
    report_csv,
    reverse,
    savings_total,
    withdraw,
)
from storage.ledger_access import (
    Statement,
    build_statement,
    entry_word,
    kind_word,
    month_name,
    month_of,
    short_date,
    signed,
)
from storage.loans import (
    MAX_MONTHS,
    Loan,
    LoanInstallment,
    LoanRefused,
    LoanStatus,
    Part,
    Scheduled,
    allocate,
    check_loans,
    default_rate_bp,
    format_rate,
    get_loan,
    loan_status,
    loans_of,
    open_loan,
    overdue_by_member,
    plan_schedule,
    rate_basis_points,
    repay,
    schedule,
)
from storage.members import find_by_name, get_member
from storage.models import Member, MemberStatus
from storage.stats import default_period
from wlcc.formatting import (
    format_date,
    format_datetime,
    format_money,
    local_today,
    utcnow,
)
from wlcc.i18n import Translator
from wlcc.money import AmountError, parse_amount
from wlcc.phones import to_e164
from wlcc.settings import Settings

router = APIRouter()

VIEW = "ledger.view"
RECORD = "ledger.record"
View = Annotated[Staff, Depends(Require(VIEW))]
Recorder = Annotated[Staff, Depends(Require(RECORD))]
Posted = Annotated[tuple[Staff, FormData], Depends(Form(RECORD))]

PER_PAGE = 20  # entries on a member's page, members in a search
MAX_ID = 2**31  # ids are 32-bit: anything larger is no id (and never reaches the database)
KEY_PREFIX = "console:"  # the idempotency key of an entry recorded here: console:<token>
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


# --- small helpers ---


def _page(
    request: Request, staff: Staff, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(
        request,
        f"ledger/{template}",
        staff.t,
        status_code=status,
        sections=menu_for(staff),
        **context,
    )


def _member(session: Session, staff: Staff, member_id: int) -> Member:
    """A member of her community, or the 404 page."""
    member = get_member(session, member_id, staff.community_id) if 0 < member_id < MAX_ID else None
    if member is None:
        raise ConsoleError(404, "console.ledger.no_member")
    return member


def _recordable(session: Session, staff: Staff, member_id: int) -> Member:
    """A member whose money can still be recorded (not anonymised), or the 404 page."""
    member = _member(session, staff, member_id)
    if member.anonymised_at is not None:
        raise ConsoleError(404, "console.ledger.no_member")
    return member


def _entry(session: Session, staff: Staff, entry_id: int) -> LedgerEntry:
    found = entry(session, staff.community_id, entry_id) if 0 < entry_id < MAX_ID else None
    if found is None:
        raise ConsoleError(404, "console.ledger.no_entry")
    return found


def _token(raw: str) -> str:
    """The form's one-time token, as the form was given it (422 when it is not one)."""
    if not _TOKEN.match(raw):
        raise ConsoleError(422, "console.ledger.bad_token")
    return raw


def _new_token() -> str:
    return secrets.token_urlsafe(18)


def _by_key(session: Session, community_id: int, *keys: str) -> LedgerEntry | None:
    """The entry an earlier post of the same form recorded, if any."""
    return session.exec(
        select(LedgerEntry)
        .where(col(LedgerEntry.key).in_(list(keys)), LedgerEntry.community_id == community_id)
        .order_by(col(LedgerEntry.id))
    ).first()


def _reversal_of(session: Session, entry_id: int) -> LedgerEntry | None:
    return session.exec(select(LedgerEntry).where(LedgerEntry.reverses_id == entry_id)).first()


def _day(raw: str | None, *, key: str = "console.ledger.bad_day") -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if not _DAY.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ConsoleError(422, key) from None


def _label(t: Translator, member: Member) -> str:
    """``Siti Aminah (19 Ilir, HP +62812...)``: enough to tell two Sitis apart."""
    return t(
        "ledger.rec.member_label",
        name=member.name,
        place=member.kelurahan or t("ledger.rec.no_kelurahan"),
        phone=member.phone or t("ledger.rec.no_phone"),
    )


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        int(i): str(n)
        for i, n in session.exec(select(Member.id, Member.name).where(col(Member.id).in_(ids)))
        if i is not None
    }


@dataclass(frozen=True)
class EntryRow:
    """An entry as a table row shows it."""

    id: int
    day: str
    what: str
    amount: str
    by: str
    channel: str
    note: str
    reverses_id: int | None


def _rows(session: Session, t: Translator, entries: Sequence[LedgerEntry]) -> list[EntryRow]:
    names = _names(session, {e.recorded_by_member_id for e in entries if e.recorded_by_member_id})
    return [
        EntryRow(
            id=e.id or 0,
            day=short_date(e.occurred_on, t.lang),
            what=entry_word(t, e),
            amount=signed(e.amount, t.lang),
            by=names.get(e.recorded_by_member_id or 0, ""),
            channel=t(f"console.ledger.channel.{e.channel}"),
            note=e.note or "",
            reverses_id=e.reverses_id,
        )
        for e in entries
    ]


# --- the overview ---


@dataclass(frozen=True)
class Late:
    member_id: int
    name: str
    amount: int


def _check_lines(session: Session, t: Translator, community_id: int) -> tuple[list[str], int, int]:
    """``wlcc ledger check`` (and the loans' schedules against their entries) for this
    community: the problems in words, and the entries and cached balances counted."""
    result = check(session)
    loans = check_loans(session)
    here = {
        int(i)
        for i in session.exec(select(Member.id).where(Member.community_id == community_id))
        if i is not None
    }
    named = {m.member_id for m in result.mismatches} | {n.member_id for n in result.negatives}
    names = _names(session, here & named)
    lines: list[str] = []
    for m in result.mismatches:
        if m.member_id not in here:
            continue
        lines.append(
            t(
                "console.ledger.check.mismatch",
                member=names.get(m.member_id, str(m.member_id)),
                id=m.member_id,
                kind=kind_word(t, m.kind),
                cached=t("console.ledger.check.nothing")
                if m.cached is None
                else format_money(m.cached),
                derived=t("console.ledger.check.nothing")
                if m.derived is None
                else format_money(m.derived),
            )
        )
    for n in result.negatives:
        if n.member_id in here:
            lines.append(
                t(
                    "console.ledger.check.negative",
                    member=names.get(n.member_id, str(n.member_id)),
                    id=n.member_id,
                    kind=kind_word(t, n.kind),
                    balance=format_money(n.balance),
                )
            )
    for r in result.bad_reversals:
        if entry(session, community_id, r.entry_id) is not None:
            lines.append(
                t(
                    "console.ledger.check.reversal",
                    id=r.entry_id,
                    reverses=r.reverses_id or "-",
                    why=t(f"console.ledger.check.why.{r.why}"),
                )
            )
    for loan in loans:
        if get_loan(session, community_id, loan.loan_id) is not None:
            lines.append(
                t(
                    "console.ledger.check.loan",
                    id=loan.loan_id,
                    schedule=format_money(loan.principal_paid_by_schedule),
                    ledger=format_money(loan.principal_paid_by_ledger),
                    schedule_interest=format_money(loan.interest_paid_by_schedule),
                    ledger_interest=format_money(loan.interest_paid_by_ledger),
                )
            )
    return lines, result.entries, result.balances


@router.get("/console/ledger", response_class=HTMLResponse)
def overview(request: Request, staff: View, db: DatabaseDep, settings: SettingsDep) -> HTMLResponse:
    t = staff.t
    today = local_today(settings.timezone)
    with db.transaction() as session:
        found = report(session, community_id=staff.community_id)
        overdue = overdue_by_member(session, staff.community_id, today)
        names = _names(session, set(overdue))
        open_loans = int(
            session.exec(
                select(func.count())
                .select_from(Loan)
                .where(Loan.community_id == staff.community_id, Loan.status == LoanStatus.OPEN)
            ).one()
        )
        problems, entries, cached = _check_lines(session, t, staff.community_id)
        period = default_period(settings)
        charts = [
            savings_chart(stats.savings(session, staff.community_id, period), t, period),
            loans_chart(stats.loans(session, staff.community_id, period), t, period),
        ]
    late = sorted(
        (Late(m, names.get(m, str(m)), amount) for m, amount in overdue.items()),
        key=lambda row: (-row.amount, row.name),
    )
    audit(db, staff, VIEW, target="ledger")
    return _page(
        request,
        staff,
        "overview.html",
        totals=[(kind_word(t, k), found.closing[k]) for k in LedgerKind.SAVINGS],
        savings=found.savings_closing,
        outstanding=found.loans_outstanding,
        interest=found.interest_received,
        open_loans=open_loans,
        late=late,
        late_total=sum(overdue.values()),
        problems=problems,
        entries=entries,
        cached=cached,
        today=today.isoformat(),
        charts=charts,
    )


@router.get("/console/ledger/report.csv")
def report_download(
    staff: View,
    db: DatabaseDep,
    settings: SettingsDep,
    start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
) -> Response:
    """``wlcc ledger report`` as a download: the same CSV, audited the same way."""
    first, last = _day(start), _day(end)
    if first is not None and last is not None and first > last:
        raise ConsoleError(422, "console.ledger.bad_period")
    today = local_today(settings.timezone)
    with db.transaction() as session:
        found = report(session, community_id=staff.community_id, start=first, end=last)
        overdue = overdue_by_member(session, staff.community_id, today)
    audit(
        db,
        staff,
        "ledger.report",
        target="ledger",
        detail={"from": str(first or ""), "to": str(last or ""), "members": len(found.members)},
    )
    name = f"wlcc-simpan-pinjam-{first or 'awal'}-{last or today}.csv"
    return download(report_csv(found, overdue), name)


# --- finding a member ---


@router.get("/console/ledger/members", response_class=HTMLResponse)
def member_search(
    request: Request,
    staff: View,
    db: DatabaseDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    t = staff.t
    query = " ".join((q or "").split())
    found: list[Member] = []
    error: str | None = None
    if query:
        with db.transaction() as session:
            if any(c.isdigit() for c in query):
                phone = to_e164(query)
                if phone is None:
                    error = t("console.ledger.search.bad_phone", query=query)
                else:
                    found = ledger_members_on_phone(session, staff.community_id, phone)
            else:
                found = find_by_name(session, staff.community_id, query)
    pages = pages_for(len(found), PER_PAGE)
    number = page_number(page, pages)
    shown = found[(number - 1) * PER_PAGE : number * PER_PAGE]

    def link(n: int) -> str:
        return "/console/ledger/members?" + urlencode({"q": query, "page": n})

    return _page(
        request,
        staff,
        "members.html",
        status=422 if error else 200,
        query=query,
        error=error,
        searched=bool(query) and error is None,
        members=shown,
        count=len(found),
        number=number,
        pages=pages,
        previous_url=link(number - 1) if number > 1 else None,
        next_url=link(number + 1) if number < pages else None,
    )


# --- a member's money ---


@dataclass(frozen=True)
class InstallmentRow:
    number: int
    due: str
    principal: int
    interest: int
    total: int
    paid: int
    state: str  # paid, late, part, open


@dataclass(frozen=True)
class LoanView:
    loan: Loan
    label: str
    rows: list[InstallmentRow]
    owed: int  # principal and interest still to pay on it
    late: int  # of which overdue
    late_count: int


def _state(item: LoanInstallment, today: date) -> str:
    """As ``wlcc loans schedule`` says it: paid, late, part (partly paid), open."""
    if item.is_paid:
        return "paid"
    if item.due_on < today:
        return "late"
    return "part" if item.paid_principal + item.paid_interest else "open"


def _loan_label(t: Translator, loan: Loan) -> str:
    return t(
        "loans.rep.loan_label",
        principal=format_money(loan.principal),
        day=format_date(loan.start_on, t.lang),
        months=loan.months,
        rate=format_rate(loan.rate_bp, t.lang),
    )


def _loan_view(session: Session, t: Translator, loan: Loan, today: date) -> LoanView:
    assert loan.id is not None
    items = schedule(session, loan.id)
    rows = [
        InstallmentRow(
            i.number,
            short_date(i.due_on, t.lang),
            i.principal,
            i.interest,
            i.total,
            i.paid_principal + i.paid_interest,
            _state(i, today),
        )
        for i in items
    ]
    late = [i for i in items if _state(i, today) == "late"]
    return LoanView(
        loan,
        _loan_label(t, loan),
        rows,
        sum(i.owed for i in items),
        sum(i.owed for i in late),
        len(late),
    )


@router.get("/console/ledger/members/{member_id}", response_class=HTMLResponse)
def member_page(
    request: Request,
    member_id: int,
    staff: View,
    db: DatabaseDep,
    settings: SettingsDep,
    page: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    t = staff.t
    today = local_today(settings.timezone)
    with db.transaction() as session:
        member = _member(session, staff, member_id)
        assert member.id is not None
        found = balances(session, member.id)
        pages = pages_for(count_entries(session, member.id), PER_PAGE)
        number = page_number(page, pages)
        rows = _rows(
            session, t, last_entries(session, member.id, PER_PAGE, (number - 1) * PER_PAGE)
        )
        loans = [_loan_view(session, t, loan, today) for loan in loans_of(session, member.id)]
        status = loan_status(session, member.id, today)
    audit(db, staff, VIEW, target=f"member:{member.id}")
    base = f"/console/ledger/members/{member.id}"
    return _page(
        request,
        staff,
        "member.html",
        member=member,
        label=_label(t, member),
        balances=[(kind_word(t, k), found[k]) for k in LedgerKind.ALL],
        savings=savings_total(found),
        rows=rows,
        number=number,
        pages=pages,
        previous_url=f"{base}?page={number - 1}" if number > 1 else None,
        next_url=f"{base}?page={number + 1}" if number < pages else None,
        loans=loans,
        standing=status,
        next_day=format_date(status.next.due_on, t.lang) if status.next else "",
        can_record=staff.can(RECORD) and member.anonymised_at is None,
        can_lend=staff.can(RECORD) and member.status == MemberStatus.ACTIVE,
        has_open_loan=any(v.loan.status == LoanStatus.OPEN for v in loans),
        this_month=f"{today:%Y-%m}",
    )


def _month(raw: str | None, today: date) -> tuple[date, date]:
    """The days of ``YYYY-MM`` (this month by default; up to today), 422 when it is no month
    or 404 when it is still to come."""
    text = (raw or "").strip()
    if not text:
        first, _ = month_of(today)
        return first, today
    found = _MONTH.match(text)
    if found is None or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1900:
        raise ConsoleError(422, "console.ledger.bad_month")
    first, last = month_of(date(int(found[1]), int(found[2]), 1))
    if first > today:
        raise ConsoleError(404, "console.error.no_such_page")
    return first, min(last, today)


def _statement(
    db: DatabaseDep, staff: Staff, member_id: int, month: str | None, settings: Settings
) -> tuple[Member, Statement]:
    with db.transaction() as session:
        member = _member(session, staff, member_id)
        assert member.id is not None
        first, last = _month(month, local_today(settings.timezone))
        return member, build_statement(session, member.id, first, last)


@router.get("/console/ledger/members/{member_id}/statement", response_class=HTMLResponse)
def statement_page(
    request: Request,
    member_id: int,
    staff: View,
    db: DatabaseDep,
    settings: SettingsDep,
    month: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    t = staff.t
    member, statement = _statement(db, staff, member_id, month, settings)
    with db.transaction() as session:
        rows = _rows(session, t, statement.entries)
    audit(db, staff, "ledger.statement", target=f"member:{member.id}")
    first = statement.first
    previous = month_of(date.fromordinal(first.toordinal() - 1))[0]
    following = month_of(date.fromordinal(month_of(first)[1].toordinal() + 1))[0]
    base = f"/console/ledger/members/{member.id}/statement"
    return _page(
        request,
        staff,
        "statement.html",
        member=member,
        month=month_name(first, t.lang),
        period=t(
            "ledger.member.statement_period",
            first=short_date(statement.first, t.lang),
            last=short_date(statement.last, t.lang),
        ),
        kinds=[
            (kind_word(t, k), statement.opening[k], statement.closing[k])
            for k in statement.shown_kinds()
        ],
        rows=rows,
        pdf_url=f"{base}.pdf?month={first:%Y-%m}",
        previous_url=f"{base}?month={previous:%Y-%m}",
        next_url=f"{base}?month={following:%Y-%m}"
        if following <= local_today(settings.timezone)
        else None,
    )


@router.get("/console/ledger/members/{member_id}/statement.pdf")
def statement_download(
    member_id: int,
    staff: View,
    db: DatabaseDep,
    settings: SettingsDep,
    month: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The PDF the chat's STATEMEN sends her, in her language (it is printed for her)."""
    member, statement = _statement(db, staff, member_id, month, settings)
    data = statement_document(statement, member, Translator(member.language), utcnow())
    audit(db, staff, "ledger.statement", target=f"member:{member.id}", detail={"pdf": True})
    name = f"statement-{member.id}-{statement.first:%Y-%m}.pdf"
    return download(data, name, "application/pdf")


@router.get("/console/ledger/entries/{entry_id}", response_class=HTMLResponse)
def entry_page(
    request: Request, entry_id: int, staff: View, db: DatabaseDep, settings: SettingsDep
) -> HTMLResponse:
    t = staff.t
    with db.transaction() as session:
        found = _entry(session, staff, entry_id)
        member = _member(session, staff, found.member_id)
        [row] = _rows(session, t, [found])
        reversal = _reversal_of(session, entry_id)
        problem = _reversal_problem(session, t, found, member)
    audit(db, staff, VIEW, target=f"ledger_entry:{entry_id}")
    return _page(
        request,
        staff,
        "entry.html",
        entry=found,
        row=row,
        member=member,
        kind=kind_word(t, found.kind),
        recorded=format_datetime(found.created_at, t.lang, settings.timezone),
        reversal=reversal,
        can_reverse=staff.can(RECORD) and problem is None,
    )


# --- deposits and withdrawals: SETOR and TARIK ---


@dataclass(frozen=True)
class Plan:
    """A deposit or withdrawal checked by the chat's rules, ready to be confirmed."""

    kind: str
    amount: int
    before: int
    after: int


def _plan_record(
    session: Session,
    t: Translator,
    member: Member,
    withdrawing: bool,
    kind: str,
    raw_amount: str,
) -> Plan | str:
    """The entry to confirm, or why not (in words), by the steps of SETOR and TARIK: the kind
    (pokok and wajib stay while she is a member; pokok is paid once), the amount as typed, and
    no withdrawal beyond the balance. storage/ledger.py checks them all again when it records."""
    if kind not in LedgerKind.SAVINGS:
        return t("console.ledger.bad_kind")
    words = t(f"ledger.kind.{kind}")
    if withdrawing and kind in LedgerKind.LOCKED and is_member(member):
        return t("console.ledger.refused.locked", kind=words, member=member.name)
    assert member.id is not None
    found = balances(session, member.id)
    if not withdrawing and kind == LedgerKind.POKOK and found[LedgerKind.POKOK] > 0:
        return t(
            "ledger.rec.pokok_paid",
            member=member.name,
            amount=format_money(found[LedgerKind.POKOK]),
        )
    try:
        amount = parse_amount(raw_amount)
    except AmountError as error:
        return t(f"console.ledger.amount.{error.reason}")
    before = found[kind]
    after = before - amount if withdrawing else before + amount
    if after < 0:
        return t(
            "ledger.rec.withdraw.too_much",
            member=member.name,
            kind=words,
            balance=format_money(before),
            amount=format_money(amount),
        )
    return Plan(kind, amount, before, after)


def _what(withdrawing: bool) -> str:
    return "withdraw" if withdrawing else "deposit"


def _record_form(
    request: Request,
    staff: Staff,
    session: Session,
    member: Member,
    withdrawing: bool,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    t = staff.t
    assert member.id is not None
    found = balances(session, member.id)
    kinds = [LedgerKind.SUKARELA] if withdrawing and is_member(member) else list(LedgerKind.SAVINGS)
    given = values or {}
    chosen = given.get("kind") or (kinds[0] if len(kinds) == 1 else "")
    return _page(
        request,
        staff,
        "record_form.html",
        status=422 if error else 200,
        title=t("console.ledger.withdraw.title" if withdrawing else "console.ledger.deposit.title"),
        member=member,
        label=_label(t, member),
        balances=[(kind_word(t, k), found[k]) for k in LedgerKind.SAVINGS],
        kinds=[(k, t(f"ledger.rec.kind.{k}")) for k in kinds],
        locked_note=withdrawing and is_member(member),
        chosen=chosen,
        amount=given.get("amount", ""),
        note=given.get("note", ""),
        token=given.get("token") or _new_token(),
        error=error,
        action=f"/console/ledger/members/{member.id}/{_what(withdrawing)}",
    )


def _record_values(form: FormData) -> dict[str, str]:
    return {
        "kind": field(form, "kind", 20),
        "amount": field(form, "amount", 60),
        "note": field(form, "note", 500),
        "token": _token(field(form, "token", 100)),
    }


def _record_get(
    request: Request, staff: Staff, db: DatabaseDep, member_id: int, withdrawing: bool
) -> HTMLResponse:
    with db.transaction() as session:
        member = _recordable(session, staff, member_id)
        return _record_form(request, staff, session, member, withdrawing)


def _record_check(
    request: Request,
    posted: tuple[Staff, FormData],
    db: DatabaseDep,
    member_id: int,
    withdrawing: bool,
) -> HTMLResponse:
    """The summary to confirm (or the form again, with what is wrong)."""
    staff, form = posted
    t = staff.t
    values = _record_values(form)
    with db.transaction() as session:
        member = _recordable(session, staff, member_id)
        if field(form, "step", 20) == "change":
            return _record_form(request, staff, session, member, withdrawing, values=values)
        plan = _plan_record(session, t, member, withdrawing, values["kind"], values["amount"])
        if isinstance(plan, str):
            return _record_form(
                request, staff, session, member, withdrawing, values=values, error=plan
            )
    audit(db, staff, VIEW, target=f"member:{member.id}", detail={"kind": plan.kind})
    kind = t(f"ledger.kind.{plan.kind}")
    lines = [
        t(
            "ledger.rec.withdraw.summary_what"
            if withdrawing
            else "ledger.rec.deposit.summary_what",
            kind=kind,
        ),
        t("ledger.rec.summary_member", member=_label(t, member)),
        t("ledger.rec.summary_amount", amount=format_money(plan.amount)),
        t(
            "ledger.rec.summary_balance",
            kind=kind,
            before=format_money(plan.before),
            after=format_money(plan.after),
        ),
    ]
    if values["note"]:
        lines.append(t("console.ledger.summary_note", note=values["note"]))
    base = f"/console/ledger/members/{member.id}/{_what(withdrawing)}"
    return _page(
        request,
        staff,
        "confirm.html",
        title=t(
            "console.ledger.withdraw.confirm_title"
            if withdrawing
            else "console.ledger.deposit.confirm_title"
        ),
        lines=lines,
        fields={**values, "amount": str(plan.amount), "kind": plan.kind},
        action=f"{base}/confirm",
        change_action=base,
        member=member,
        schedule=[],
    )


def _done(
    request: Request,
    staff: Staff,
    member: Member,
    lines: list[str],
    *,
    title: str,
    entry_ids: Sequence[int],
    already: bool = False,
) -> HTMLResponse:
    return _page(
        request,
        staff,
        "done.html",
        title=title,
        lines=lines,
        member=member,
        entry_ids=list(entry_ids),
        already=already,
    )


def _receipt_line(t: Translator, member: Member, queued: bool) -> str:
    return t(
        "ledger.rec.receipt_queued" if queued else "ledger.rec.receipt_none", member=member.name
    )


def _already(
    request: Request, staff: Staff, session: Session, earlier: LedgerEntry
) -> HTMLResponse:
    """What an earlier post of this very form recorded: shown, not recorded again."""
    t = staff.t
    member = _member(session, staff, earlier.member_id)
    assert earlier.id is not None
    return _done(
        request,
        staff,
        member,
        [
            t("console.ledger.already", id=earlier.id),
            t(
                "console.ledger.entry_line",
                id=earlier.id,
                what=entry_word(t, earlier),
                amount=signed(earlier.amount, t.lang),
                member=member.name,
            ),
        ],
        title=t("console.ledger.already_title"),
        entry_ids=[earlier.id],
        already=True,
    )


def _record_confirm(
    request: Request,
    posted: tuple[Staff, FormData],
    db: DatabaseDep,
    member_id: int,
    withdrawing: bool,
) -> HTMLResponse:
    staff, form = posted
    t = staff.t
    values = _record_values(form)
    key = f"{KEY_PREFIX}{values['token']}"
    receipt: Receipt | None = None
    refused: LedgerRefused | None = None
    with db.transaction() as session:
        member = _recordable(session, staff, member_id)
        assert member.id is not None
        earlier = _by_key(session, staff.community_id, key)
        if earlier is not None:
            return _already(request, staff, session, earlier)
        plan = _plan_record(session, t, member, withdrawing, values["kind"], values["amount"])
        if isinstance(plan, str):
            return _record_form(
                request, staff, session, member, withdrawing, values=values, error=plan
            )
        try:
            receipt = (withdraw if withdrawing else deposit)(
                session,
                community_id=staff.community_id,
                member_id=member.id,
                kind=plan.kind,
                amount=plan.amount,
                channel=LedgerChannel.CONSOLE,
                recorded_by_member_id=staff.member_id,
                note=values["note"] or None,
                key=key,
            )
        except LedgerRefused as exc:
            refused = exc  # its audit row (allowed: no) is committed with this transaction
    if refused is not None:
        with db.transaction() as session:
            earlier = _by_key(session, staff.community_id, key)
            if earlier is not None:  # the same form, posted twice at the same moment
                return _already(request, staff, session, earlier)
            error = t(
                f"console.ledger.refused.{refused.reason}",
                member=member.name,
                kind=t(f"ledger.kind.{plan.kind}"),
            )
            return _record_form(
                request, staff, session, member, withdrawing, values=values, error=error
            )
    assert receipt is not None and receipt.entry.id is not None
    kind = t(f"ledger.kind.{plan.kind}")
    return _done(
        request,
        staff,
        member,
        [
            t(
                "ledger.rec.withdraw.saved" if withdrawing else "ledger.rec.deposit.saved",
                id=receipt.entry.id,
                kind=kind,
                amount=format_money(plan.amount),
                member=member.name,
                balance=format_money(receipt.balance),
            ),
            _receipt_line(t, member, receipt.outbox_id is not None),
        ],
        title=t(
            "console.ledger.withdraw.done_title"
            if withdrawing
            else "console.ledger.deposit.done_title"
        ),
        entry_ids=[receipt.entry.id],
    )


@router.get("/console/ledger/members/{member_id}/deposit", response_class=HTMLResponse)
def deposit_form(
    request: Request, member_id: int, staff: Recorder, db: DatabaseDep
) -> HTMLResponse:
    return _record_get(request, staff, db, member_id, withdrawing=False)


@router.post("/console/ledger/members/{member_id}/deposit", response_class=HTMLResponse)
def deposit_check(
    request: Request, member_id: int, posted: Posted, db: DatabaseDep
) -> HTMLResponse:
    return _record_check(request, posted, db, member_id, withdrawing=False)


@router.post("/console/ledger/members/{member_id}/deposit/confirm", response_class=HTMLResponse)
def deposit_confirm(
    request: Request, member_id: int, posted: Posted, db: DatabaseDep
) -> HTMLResponse:
    return _record_confirm(request, posted, db, member_id, withdrawing=False)


@router.get("/console/ledger/members/{member_id}/withdraw", response_class=HTMLResponse)
def withdraw_form(
    request: Request, member_id: int, staff: Recorder, db: DatabaseDep
) -> HTMLResponse:
    return _record_get(request, staff, db, member_id, withdrawing=True)


@router.post("/console/ledger/members/{member_id}/withdraw", response_class=HTMLResponse)
def withdraw_check(
    request: Request, member_id: int, posted: Posted, db: DatabaseDep
) -> HTMLResponse:
    return _record_check(request, posted, db, member_id, withdrawing=True)


@router.post("/console/ledger/members/{member_id}/withdraw/confirm", response_class=HTMLResponse)
def withdraw_confirm(
    request: Request, member_id: int, posted: Posted, db: DatabaseDep
) -> HTMLResponse:
    return _record_confirm(request, posted, db, member_id, withdrawing=True)


# --- reversals: wlcc ledger reverse ---


def _reversal_problem(
    session: Session, t: Translator, original: LedgerEntry, member: Member
) -> str | None:
    """Why this entry cannot be reversed (in words), by the rules of storage/ledger.py's
    ``reverse`` (which checks them again when it records)."""
    if original.reverses_id is not None or original.action == EntryAction.REVERSAL:
        reason = Refusal.IS_REVERSAL
    elif original.kind not in LedgerKind.SAVINGS:
        reason = Refusal.LOAN_ENTRY
    elif original.id is not None and _reversal_of(session, original.id) is not None:
        reason = Refusal.ALREADY_REVERSED
    elif member.anonymised_at is not None:
        reason = Refusal.UNKNOWN_MEMBER
    elif balances(session, original.member_id)[original.kind] - original.amount < 0:
        reason = Refusal.BELOW_ZERO
    else:
        return None
    return t(
        f"console.ledger.refused.{reason}",
        member=member.name,
        kind=t(f"ledger.kind.{original.kind}") if original.kind in LedgerKind.SAVINGS else "",
    )


def _reverse_form(
    request: Request,
    staff: Staff,
    session: Session,
    original: LedgerEntry,
    member: Member,
    *,
    reason: str = "",
    error: str | None = None,
    problem: str | None = None,
) -> HTMLResponse:
    t = staff.t
    return _page(
        request,
        staff,
        "reverse_form.html",
        status=422 if (error or problem) else 200,
        entry=original,
        line=t(
            "console.ledger.entry_line",
            id=original.id,
            what=entry_word(t, original),
            amount=signed(original.amount, t.lang),
            member=member.name,
        ),
        day=short_date(original.occurred_on, t.lang),
        member=member,
        reason=reason,
        error=error,
        problem=problem,
    )


@router.get("/console/ledger/entries/{entry_id}/reverse", response_class=HTMLResponse)
def reverse_form(request: Request, entry_id: int, staff: Recorder, db: DatabaseDep) -> HTMLResponse:
    with db.transaction() as session:
        original = _entry(session, staff, entry_id)
        member = _member(session, staff, original.member_id)
        problem = _reversal_problem(session, staff.t, original, member)
        return _reverse_form(request, staff, session, original, member, problem=problem)


@router.post("/console/ledger/entries/{entry_id}/reverse", response_class=HTMLResponse)
def reverse_check(request: Request, entry_id: int, posted: Posted, db: DatabaseDep) -> HTMLResponse:
    staff, form = posted
    t = staff.t
    reason = " ".join(field(form, "reason", 500).split())
    with db.transaction() as session:
        original = _entry(session, staff, entry_id)
        member = _member(session, staff, original.member_id)
        problem = _reversal_problem(session, t, original, member)
        if problem is not None or not reason or field(form, "step", 20) == "change":
            return _reverse_form(
                request,
                staff,
                session,
                original,
                member,
                reason=reason,
                problem=problem,
                error=None
                if problem or field(form, "step", 20) == "change"
                else t("console.ledger.refused.empty_reason"),
            )
        before = balances(session, original.member_id)[original.kind]
    audit(db, staff, VIEW, target=f"member:{member.id}", detail={"entry_id": entry_id})
    kind = t(f"ledger.kind.{original.kind}")
    return _page(
        request,
        staff,
        "confirm.html",
        title=t("console.ledger.reverse.confirm_title"),
        lines=[
            t(
                "console.ledger.reverse.summary_what",
                id=entry_id,
                what=entry_word(t, original),
                day=short_date(original.occurred_on, t.lang),
                amount=signed(original.amount, t.lang),
            ),
            t("ledger.rec.summary_member", member=_label(t, member)),
            t(
                "ledger.rec.summary_balance",
                kind=kind,
                before=format_money(before),
                after=format_money(before - original.amount),
            ),
            t("console.ledger.reverse.summary_reason", reason=reason),
        ],
        fields={"reason": reason},
        action=f"/console/ledger/entries/{entry_id}/reverse/confirm",
        change_action=f"/console/ledger/entries/{entry_id}/reverse",
        member=member,
        schedule=[],
    )


@router.post("/console/ledger/entries/{entry_id}/reverse/confirm", response_class=HTMLResponse)
def reverse_confirm(
    request: Request, entry_id: int, posted: Posted, db: DatabaseDep
) -> HTMLResponse:
    staff, form = posted
    t = staff.t
    reason = " ".join(field(form, "reason", 500).split())
    receipt: Receipt | None = None
    refused: LedgerRefused | None = None
    with db.transaction() as session:
        original = _entry(session, staff, entry_id)
        member = _member(session, staff, original.member_id)
        earlier = _reversal_of(session, entry_id)
        if earlier is not None:
            return _already(request, staff, session, earlier)
        try:
            receipt = reverse(
                session,
                community_id=staff.community_id,
                entry_id=entry_id,
                reason=reason,
                channel=LedgerChannel.CONSOLE,
                recorded_by_member_id=staff.member_id,
            )
        except LedgerRefused as exc:
            refused = exc  # audited by storage, committed with this transaction
    if refused is not None:
        with db.transaction() as session:
            earlier = _reversal_of(session, entry_id)
            if earlier is not None:
                return _already(request, staff, session, earlier)
            error = t(
                f"console.ledger.refused.{refused.reason}",
                member=member.name,
                kind=t(f"ledger.kind.{original.kind}")
                if original.kind in LedgerKind.SAVINGS
                else "",
            )
            return _reverse_form(
                request, staff, session, original, member, reason=reason, error=error
            )
    assert receipt is not None and receipt.entry.id is not None
    return _done(
        request,
        staff,
        member,
        [
            t(
                "console.ledger.reverse.saved",
                id=receipt.entry.id,
                original=entry_id,
                kind=t(f"ledger.kind.{original.kind}"),
                amount=signed(receipt.entry.amount, t.lang),
                member=member.name,
                balance=format_money(receipt.balance),
            ),
            _receipt_line(t, member, receipt.outbox_id is not None),
        ],
        title=t("console.ledger.reverse.done_title"),
        entry_ids=[receipt.entry.id],
    )


# --- loan repayments: ANGSURAN ---


def _owed(items: list[LoanInstallment]) -> list[tuple[int, int, int]]:
    """(number, interest owed, principal owed) of the installments, oldest first: what
    storage.loans.allocate shares a payment over."""
    return [(i.number, i.interest - i.paid_interest, i.principal - i.paid_principal) for i in items]


def _numbers(t: Translator, numbers: list[int]) -> str:
    """``3``, ``3, 4`` or ``3 sampai 10``, as ANGSURAN says them."""
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return t("loans.rep.range", first=numbers[0], last=numbers[-1])
    return ", ".join(str(n) for n in numbers)


def _open_loan_of(session: Session, staff: Staff, member: Member, raw: str) -> Loan:
    """One of her open loans, by the id the form gave (404 when it is not one)."""
    loan = (
        get_loan(session, staff.community_id, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    )
    if loan is None or loan.member_id != member.id or loan.status != LoanStatus.OPEN:
        raise ConsoleError(404, "console.ledger.no_loan")
    return loan


def _standing(t: Translator, session: Session, loan: Loan, today: date) -> list[str]:
    """What the loan stands at, as ANGSURAN says it before asking the amount."""
    assert loan.id is not None
    items = schedule(session, loan.id)
    owed = _owed(items)
    unpaid = [i for i in items if not i.is_paid]
    late = [i for i in unpaid if i.due_on < today]
    lines = [
        t(
            "loans.rep.owed",
            amount=format_money(sum(i + p for _, i, p in owed)),
            count=sum(1 for _, i, p in owed if i + p),
        )
    ]
    if unpaid:
        lines.append(
            t(
                "loans.rep.next",
                number=unpaid[0].number,
                months=loan.months,
                amount=format_money(unpaid[0].owed),
                day=format_date(unpaid[0].due_on, t.lang),
            )
        )
    if late:
        lines.append(
            t("loans.rep.late", count=len(late), amount=format_money(sum(i.owed for i in late)))
        )
    return lines


def _repay_form(
    request: Request,
    staff: Staff,
    session: Session,
    member: Member,
    today: date,
    *,
    loan: Loan | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    t = staff.t
    assert member.id is not None
    open_loans = loans_of(session, member.id, open_only=True)
    if loan is None and len(open_loans) == 1:
        loan = open_loans[0]
    given = values or {}
    return _page(
        request,
        staff,
        "repay_form.html",
        status=422 if error else 200,
        member=member,
        label=_label(t, member),
        no_loan=t("loans.rep.no_loan", member=member.name) if not open_loans else None,
        choices=[(other.id, _loan_label(t, other)) for other in open_loans] if loan is None else [],
        loan=loan,
        loan_label=_loan_label(t, loan) if loan else "",
        standing=_standing(t, session, loan, today) if loan else [],
        amount=given.get("amount", ""),
        token=given.get("token") or _new_token(),
        error=error,
        action=f"/console/ledger/members/{member.id}/repay",
    )


@dataclass(frozen=True)
class RepayPlan:
    amount: int
    parts: list[Part]
    owed: list[tuple[int, int, int]]


def _plan_repay(session: Session, t: Translator, loan: Loan, raw_amount: str) -> RepayPlan | str:
    try:
        amount = parse_amount(raw_amount)
    except AmountError as error:
        return t(f"console.ledger.amount.{error.reason}")
    assert loan.id is not None
    owed = _owed(schedule(session, loan.id))
    parts, left = allocate(owed, amount)
    if left:
        return t(
            "console.ledger.repay.overpaid",
            amount=format_money(amount),
            owed=format_money(amount - left),
        )
    return RepayPlan(amount, parts, owed)


def _repay_values(form: FormData) -> dict[str, str]:
    return {
        "loan": field(form, "loan", 12),
        "amount": field(form, "amount", 60),
        "token": _token(field(form, "token", 100)),
    }


@router.get("/console/ledger/members/{member_id}/repay", response_class=HTMLResponse)
def repay_form(
    request: Request,
    member_id: int,
    staff: Recorder,
    db: DatabaseDep,
    settings: SettingsDep,
    loan: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    with db.transaction() as session:
        member = _recordable(session, staff, member_id)
        chosen = _open_loan_of(session, staff, member, loan) if loan else None
        return _repay_form(
            request, staff, session, member, local_today(settings.timezone), loan=chosen
        )


@router.post("/console/ledger/members/{member_id}/repay", response_class=HTMLResponse)
def repay_check(
    request: Request, member_id: int, posted: Posted, db: DatabaseDep, settings: SettingsDep
) -> HTMLResponse:
    staff, form = posted
    t = staff.t
    values = _repay_values(form)
    today = local_today(settings.timezone)
    with db.transaction() as session:
        member = _recordable(session, staff, member_id)
        loan = _open_loan_of(session, staff, member, values["loan"])
        if field(form, "step", 20) == "change":
            return _repay_form(request, staff, session, member, today, loan=loan, values=values)
        plan = _plan_repay(session, t, loan, values["amount"])
        if isinstance(plan, str):
            return _repay_form(
                request, staff, session, member, today, loan=loan, values=values, error=plan
            )
    audit(db, staff, VIEW, target=f"member:{member.id}", detail={"loan": loan.id})
    principal = sum(p.principal for p in plan.parts)
    base = f"/console/ledger/members/{member.id}/repay"
    return _page(
        request,
        staff,
        "confirm.html",
        title=t("console.ledger.repay.confirm_title"),
        lines=[
            t("loans.rep.summary_what", amount=format_money(plan.amount)),
            t("ledger.rec.summary_member", member=_label(t, member)),
            t("console.ledger.repay.summary_loan", loan=_loan_label(t, loan)),
            t(
                "loans.rep.summary_shared",
                interest=format_money(sum(p.interest for p in plan.parts)),
                principal=format_money(principal),
                numbers=_numbers(t, [p.number for p in plan.parts]),
            ),
            t(
                "loans.rep.summary_after",
                owed=format_money(sum(p for _, _, p in plan.owed) - principal),
            ),
        ],
        fields={**values, "amount": str(plan.amount)},
        action=f"{base}/confirm",
        change_action=base,
        member=member,
        schedule=[],
    )


@router.post("/console/ledger/members/{member_id}/repay/confirm", response_class=HTMLResponse)
def repay_confirm(
    request: Request, member_id: int, posted: Posted, db: DatabaseDep, settings: SettingsDep
) -> HTMLResponse:
    staff, form = posted
    t = staff.t
    values = _repay_values(form)
    key = f"{KEY_PREFIX}{values['token']}"
    keys = (f"{key}:{LedgerKind.BUNGA}", f"{key}:{LedgerKind.PINJAMAN}")  # as repay() makes them
    today = local_today(settings.timezone)
    refused: LedgerRefused | None = None
    with db.transaction() as session:
        member = _recordable(session, staff, member_id)
        assert member.id is not None
        earlier = _by_key(session, staff.community_id, *keys)
        if earlier is not None:
            return _already(request, staff, session, earlier)
        loan = _open_loan_of(session, staff, member, values["loan"])
        plan = _plan_repay(session, t, loan, values["amount"])
        if isinstance(plan, str):
            return _repay_form(
                request, staff, session, member, today, loan=loan, values=values, error=plan
            )
        try:
            done = repay(
                session,
                community_id=staff.community_id,
                member_id=member.id,
                amount=plan.amount,
                channel=LedgerChannel.CONSOLE,
                recorded_by_member_id=staff.member_id,
                loan_id=loan.id,
                key=key,
                settings=settings,
            )
        except LedgerRefused as exc:
            refused = exc
    if refused is not None:
        audit(
            db,
            staff,
            "loan.repay",
            allowed=False,
            target=f"loan:{loan.id}",
            detail={"reason": refused.reason, "member_id": member.id},
        )
        with db.transaction() as session:
            earlier = _by_key(session, staff.community_id, *keys)
            if earlier is not None:
                return _already(request, staff, session, earlier)
            error = t(f"console.ledger.refused.{refused.reason}", member=member.name, kind="")
            return _repay_form(
                request, staff, session, member, today, loan=None, values=values, error=error
            )
    lines = [
        t(
            "loans.rep.saved",
            amount=format_money(done.amount),
            member=member.name,
            interest=format_money(done.interest),
            principal=format_money(done.principal),
        ),
        t("loans.rep.paid_off", member=member.name)
        if done.paid_off
        else t("loans.rep.left", owed=format_money(done.principal_owed)),
    ]
    if done.next is not None:
        lines.append(
            t(
                "loans.rep.next_after",
                amount=format_money(done.next.owed),
                day=format_date(done.next.due_on, t.lang),
            )
        )
    lines.append(_receipt_line(t, member, done.receipt_id is not None))
    return _done(
        request,
        staff,
        member,
        lines,
        title=t("console.ledger.repay.done_title"),
        entry_ids=[e.id for e in done.entries if e.id is not None],
    )


# --- a new loan: wlcc loans open ---


@dataclass(frozen=True)
class LoanPlan:
    principal: int
    months: int
    rate_bp: int
    start: date
    override: str | None
    planned: list[Scheduled]


def _loan_values(form: FormData) -> dict[str, str]:
    return {
        "principal": field(form, "principal", 60),
        "months": field(form, "months", 10),
        "rate": field(form, "rate", 20),
        "start": field(form, "start", 20),
        "override": " ".join(field(form, "override", 500).split()),
        "token": _token(field(form, "token", 100)),
    }


def _plan_loan(
    session: Session,
    t: Translator,
    member: Member,
    values: dict[str, str],
    today: date,
    settings: Settings,
) -> LoanPlan | str:
    """The loan to confirm, or why not (in words): the terms ``open_loan`` accepts, and no new
    loan to a member with an overdue installment unless a reason is given."""
    try:
        principal = parse_amount(values["principal"])
    except AmountError as error:
        return t(f"console.ledger.amount.{error.reason}")
    months_text = values["months"]
    if not months_text.isdigit() or not 1 <= int(months_text) <= MAX_MONTHS:
        return t("console.ledger.loan.bad_months", most=MAX_MONTHS)
    months = int(months_text)
    if principal < months:
        return t("console.ledger.loan.bad_principal", least=format_money(months))
    try:
        rate_bp = rate_basis_points(values["rate"]) if values["rate"] else default_rate_bp(settings)
    except LoanRefused:
        return t("console.ledger.loan.bad_rate")
    try:
        start = _day(values["start"]) or today
    except ConsoleError:
        return t("console.ledger.bad_day")
    assert member.id is not None
    late = loan_status(session, member.id, today).overdue
    override = values["override"] or None
    if late and override is None:
        return t(
            "console.ledger.loan.overdue",
            member=member.name,
            count=len(late),
            amount=format_money(sum(d.owed for d in late)),
            day=format_date(late[0].due_on, t.lang),
        )
    return LoanPlan(
        principal,
        months,
        rate_bp,
        start,
        override if late else None,
        plan_schedule(principal, rate_bp, months, start),
    )


def _lendable(session: Session, staff: Staff, member_id: int) -> Member:
    member = _recordable(session, staff, member_id)
    if member.status != MemberStatus.ACTIVE:
        raise ConsoleError(422, "console.ledger.loan.not_active", member=member.name)
    return member


def _loan_form(
    request: Request,
    staff: Staff,
    session: Session,
    member: Member,
    today: date,
    settings: Settings,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    t = staff.t
    assert member.id is not None
    late = loan_status(session, member.id, today).overdue
    given = values or {}
    return _page(
        request,
        staff,
        "loan_form.html",
        status=422 if error else 200,
        member=member,
        label=_label(t, member),
        late=t(
            "console.ledger.loan.overdue",
            member=member.name,
            count=len(late),
            amount=format_money(sum(d.owed for d in late)),
            day=format_date(late[0].due_on, t.lang),
        )
        if late
        else None,
        default_rate=format_rate(default_rate_bp(settings), t.lang),
        most_months=MAX_MONTHS,
        values={
            "principal": given.get("principal", ""),
            "months": given.get("months", ""),
            "rate": given.get("rate", ""),
            "start": given.get("start", "") or today.isoformat(),
            "override": given.get("override", ""),
        },
        token=given.get("token") or _new_token(),
        error=error,
        action=f"/console/ledger/members/{member.id}/loan",
    )


@router.get("/console/ledger/members/{member_id}/loan", response_class=HTMLResponse)
def loan_form(
    request: Request, member_id: int, staff: Recorder, db: DatabaseDep, settings: SettingsDep
) -> HTMLResponse:
    with db.transaction() as session:
        member = _lendable(session, staff, member_id)
        return _loan_form(request, staff, session, member, local_today(settings.timezone), settings)


@router.post("/console/ledger/members/{member_id}/loan", response_class=HTMLResponse)
def loan_check(
    request: Request, member_id: int, posted: Posted, db: DatabaseDep, settings: SettingsDep
) -> HTMLResponse:
    staff, form = posted
    t = staff.t
    values = _loan_values(form)
    today = local_today(settings.timezone)
    with db.transaction() as session:
        member = _lendable(session, staff, member_id)
        if field(form, "step", 20) == "change":
            return _loan_form(request, staff, session, member, today, settings, values=values)
        plan = _plan_loan(session, t, member, values, today, settings)
        if isinstance(plan, str):
            return _loan_form(
                request, staff, session, member, today, settings, values=values, error=plan
            )
    first = plan.planned[0]
    lines = [
        t("console.ledger.loan.summary_what", principal=format_money(plan.principal)),
        t("ledger.rec.summary_member", member=_label(t, member)),
        t(
            "loans.receipt.terms",
            months=plan.months,
            rate=format_rate(plan.rate_bp, t.lang),
            interest=format_money(first.interest),
        ),
        t("console.ledger.loan.summary_start", day=format_date(plan.start, t.lang)),
        t(
            "loans.receipt.first",
            amount=format_money(first.total),
            day=format_date(first.due_on, t.lang),
        ),
    ]
    if plan.override:
        lines.append(t("console.ledger.loan.summary_override", reason=plan.override))
    base = f"/console/ledger/members/{member.id}/loan"
    return _page(
        request,
        staff,
        "confirm.html",
        title=t("console.ledger.loan.confirm_title"),
        lines=lines,
        fields=values,
        action=f"{base}/confirm",
        change_action=base,
        member=member,
        schedule=[
            InstallmentRow(
                p.number, short_date(p.due_on, t.lang), p.principal, p.interest, p.total, 0, "open"
            )
            for p in plan.planned
        ],
    )


@router.post("/console/ledger/members/{member_id}/loan/confirm", response_class=HTMLResponse)
def loan_confirm(
    request: Request, member_id: int, posted: Posted, db: DatabaseDep, settings: SettingsDep
) -> HTMLResponse:
    staff, form = posted
    t = staff.t
    values = _loan_values(form)
    key = f"{KEY_PREFIX}{values['token']}"
    today = local_today(settings.timezone)
    refused: LedgerRefused | None = None
    with db.transaction() as session:
        member = _lendable(session, staff, member_id)
        assert member.id is not None
        earlier = _by_key(session, staff.community_id, key)
        if earlier is not None:
            return _already(request, staff, session, earlier)
        plan = _plan_loan(session, t, member, values, today, settings)
        if isinstance(plan, str):
            return _loan_form(
                request, staff, session, member, today, settings, values=values, error=plan
            )
        try:
            loan = open_loan(
                session,
                community_id=staff.community_id,
                member_id=member.id,
                principal=plan.principal,
                rate=values["rate"] or None,
                months=plan.months,
                start=plan.start,
                channel=LedgerChannel.CONSOLE,
                recorded_by_member_id=staff.member_id,
                override=plan.override,
                key=key,
                settings=settings,
            )
        except LedgerRefused as exc:
            refused = exc
        else:
            made = _by_key(session, staff.community_id, key)
    if refused is not None:
        audit(
            db,
            staff,
            "loan.open",
            allowed=False,
            target=f"member:{member.id}",
            detail={"reason": refused.reason},
        )
        with db.transaction() as session:
            earlier = _by_key(session, staff.community_id, key)
            if earlier is not None:
                return _already(request, staff, session, earlier)
            error = t(f"console.ledger.refused.{refused.reason}", member=member.name, kind="")
            return _loan_form(
                request, staff, session, member, today, settings, values=values, error=error
            )
    return _done(
        request,
        staff,
        member,
        [
            t(
                "console.ledger.loan.saved",
                id=loan.id,
                principal=format_money(loan.principal),
                member=member.name,
                months=loan.months,
            ),
            _receipt_line(t, member, True),
        ],
        title=t("console.ledger.loan.done_title"),
        entry_ids=[made.id] if made is not None and made.id is not None else [],
    )
