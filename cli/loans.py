"""``wlcc loans``: the treasurer's loans from a terminal.

``open`` a loan (its schedule is made and the member gets a receipt), ``repay`` an amount (to
the oldest unpaid installment, interest first; the member gets a receipt), and ``schedule``
(her loans' installments as a table). PHONE in any Indonesian form; on a family phone
``--name`` chooses the member. Amounts as Indonesians type them (``wlcc.money.parse_amount``:
``1.000.000``, ``1 jt``, ``150rb``). Registered in ``cli/main.py`` as
``app.add_typer(loans_app, name="loans")``. The rules (rounding, order, overpayment) are in
storage/loans.py.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import amount_arg, console, fail, member_by_phone, settings_or_exit
from cli.meetings import CommunityOption, _community_id, _session

if TYPE_CHECKING:
    from storage.loans import Due

loans_app = typer.Typer(
    help="Loans of the credit union: open, repay, schedule.", no_args_is_help=True
)

PhoneArgument = Annotated[
    str, typer.Argument(metavar="PHONE", help="Her phone, any Indonesian form.")
]
NameOption = Annotated[
    str | None, typer.Option(help="Her name, when several members share the phone.")
]


def _money(amount: int) -> str:
    from wlcc.formatting import format_money

    return format_money(amount)


def _day(day: date) -> str:
    from wlcc.formatting import format_date

    return format_date(day, "en")


def _refused(exc: Exception) -> typer.Exit:
    """A refusal of storage.loans or storage.ledger in plain English."""
    reason = getattr(exc, "reason", str(exc))
    details: dict[str, object] = getattr(exc, "details", {})
    words = {
        "unknown_member": "she is not an active member",
        "bad_principal": (
            f"the principal must be at least Rp1 per installment and at most "
            f"{_money(int(str(details.get('most', 0))))}"
        ),
        "bad_months": f"--months must be 1 to {details.get('most', 60)}",
        "bad_rate": "--rate must be 0 to 10 (percent a month, at most two decimals, e.g. 1.5)",
        "no_loan": "she has no open loan (`wlcc loans schedule PHONE` shows her loans)",
        "bad_amount": "the amount must be more than zero",
        "duplicate": "this was recorded already",
        "below_zero": "it would take a balance below zero",
    }
    if reason == "overdue":
        since = details.get("since")
        when = _day(since) if isinstance(since, date) else "?"
        return fail(
            f"Refused: she has {details.get('count')} overdue installment(s), "
            f"{_money(int(str(details.get('amount', 0))))}, since {when}. If the treasurer "
            "allows the loan anyway, give the reason with --override REASON.",
            1,
        )
    if reason == "overpaid":
        owed = _money(int(str(details.get("owed", 0))))
        return fail(
            f"Refused: that is more than everything still owed on the loan ({owed}, principal "
            "and interest). Record at most that; any excess is not taken for the loan (record "
            "a sukarela deposit separately if she wants to save it).",
            1,
        )
    return fail(f"Refused: {words.get(reason, reason)}.", 1)


def _next(due: Due | None) -> str:
    if due is None:
        return "The loan is fully repaid."
    which = f"{due.number} of {due.months}"
    return f"Next installment ({which}): {_money(due.owed)}, due {_day(due.due_on)}."


# --- the commands ---


@loans_app.command("open")
def open_command(
    phone: PhoneArgument,
    principal: Annotated[str, typer.Option(help="The amount lent, e.g. 1.000.000 or 1jt.")],
    months: Annotated[int, typer.Option(help="Number of monthly installments (1 to 60).")],
    rate: Annotated[
        str | None,
        typer.Option(
            help="Flat interest, percent of the principal a month, e.g. 1.5 "
            "(default WLCC_LOAN_RATE_PERCENT)."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="The day it is paid out, YYYY-MM-DD (default today); "
            "the first installment is due a month later."
        ),
    ] = None,
    override: Annotated[
        str | None,
        typer.Option(
            help="The treasurer's reason to lend although she has an overdue installment."
        ),
    ] = None,
    name: NameOption = None,
    community: CommunityOption = None,
) -> None:
    """Open a loan: its schedule, the ledger entry, a receipt to her."""
    from storage.ledger import LedgerChannel, LedgerRefused
    from storage.loans import format_rate, open_loan, schedule

    settings = settings_or_exit()
    amount = amount_arg(principal, "--principal")
    day: date | None = None
    if start is not None:
        try:
            day = date.fromisoformat(start.strip())
        except ValueError:
            raise fail(
                f"Not a day: {start!r}. Write it as YYYY-MM-DD, e.g. 2026-12-03.", 2
            ) from None
    with _session(settings) as session:
        community_id = _community_id(session, community)
        member = member_by_phone(session, community_id, phone, name)
        assert member.id is not None
        try:
            loan = open_loan(
                session,
                community_id=community_id,
                member_id=member.id,
                principal=amount,
                rate=rate,
                months=months,
                start=day,
                channel=LedgerChannel.CLI,
                override=override,
                settings=settings,
            )
        except LedgerRefused as exc:
            raise _refused(exc) from None
        assert loan.id is not None
        first = schedule(session, loan.id)[0]
        console.print(
            f"Opened loan {loan.id} for {member.name} ({member.phone}): {_money(loan.principal)} "
            f"at {format_rate(loan.rate_bp, 'en')} a month, {loan.months} installment(s) from "
            f"{_day(loan.start_on)}.",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"First installment: {_money(first.total)} (principal {_money(first.principal)}, "
            f"interest {_money(first.interest)}), due {_day(first.due_on)}.",
            highlight=False,
            soft_wrap=True,
        )
        if loan.override:
            console.print(
                f"Allowed despite an overdue installment: {loan.override}", highlight=False
            )
        console.print("Her receipt is queued.", highlight=False)


@loans_app.command("repay")
def repay_command(
    phone: PhoneArgument,
    amount: Annotated[str, typer.Argument(metavar="AMOUNT", help="e.g. 115.000 or 115rb.")],
    loan: Annotated[
        int | None,
        typer.Option(help="The loan's id (default: the one with her oldest unpaid installment)."),
    ] = None,
    name: NameOption = None,
    community: CommunityOption = None,
) -> None:
    """Record a repayment: to the oldest unpaid installment, its interest first, then its
    principal; more than she owes is refused. She gets a receipt."""
    from storage.ledger import LedgerChannel, LedgerRefused
    from storage.loans import repay

    settings = settings_or_exit()
    paid = amount_arg(amount, "AMOUNT")
    with _session(settings) as session:
        community_id = _community_id(session, community)
        member = member_by_phone(session, community_id, phone, name)
        assert member.id is not None
        try:
            done = repay(
                session,
                community_id=community_id,
                member_id=member.id,
                amount=paid,
                channel=LedgerChannel.CLI,
                loan_id=loan,
                settings=settings,
            )
        except LedgerRefused as exc:
            raise _refused(exc) from None
        numbers = ", ".join(f"{p.number}{'' if p.settled else ' (part)'}" for p in done.parts)
        console.print(
            f"Recorded a repayment of {_money(done.amount)} from {member.name} on loan "
            f"{done.loan.id}: interest {_money(done.interest)}, principal "
            f"{_money(done.principal)}; installment(s) {numbers}.",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"Principal still owed: {_money(done.principal_owed)}. {_next(done.next)}",
            highlight=False,
            soft_wrap=True,
        )
        console.print("Her receipt is queued.", highlight=False)


@loans_app.command("schedule")
def schedule_command(
    phone: PhoneArgument,
    name: NameOption = None,
    community: CommunityOption = None,
) -> None:
    """Her loans' schedules: due day, principal, interest, total and what is paid."""
    from rich.table import Table

    from storage.loans import format_rate, loans_of, schedule
    from wlcc.formatting import local_today

    settings = settings_or_exit()
    today = local_today(settings.timezone)
    with _session(settings) as session:
        community_id = _community_id(session, community)
        member = member_by_phone(session, community_id, phone, name)
        assert member.id is not None
        loans = loans_of(session, member.id)
        if not loans:
            console.print(f"{member.name} has no loan.", highlight=False)
            return
        for loan in loans:
            assert loan.id is not None
            items = schedule(session, loan.id)
            table = Table(
                title=(
                    f"Loan {loan.id} of {member.name}: {_money(loan.principal)} at "
                    f"{format_rate(loan.rate_bp, 'en')} a month from {loan.start_on}, {loan.status}"
                ),
                title_justify="left",
            )
            for column in ("#", "due", "principal", "interest", "total", "paid", ""):
                table.add_column(column, justify="left" if column in ("due", "") else "right")
            for item in items:
                paid = item.paid_principal + item.paid_interest
                state = (
                    "paid"
                    if item.is_paid
                    else "late"
                    if item.due_on < today
                    else "part"
                    if paid
                    else ""
                )
                table.add_row(
                    str(item.number),
                    item.due_on.isoformat(),
                    _money(item.principal),
                    _money(item.interest),
                    _money(item.total),
                    _money(paid),
                    state,
                )
            table.add_row(
                "",
                "total",
                _money(sum(i.principal for i in items)),
                _money(sum(i.interest for i in items)),
                _money(sum(i.total for i in items)),
                _money(sum(i.paid_principal + i.paid_interest for i in items)),
                "",
            )
            console.print(table)
            if loan.override:
                console.print(f"Override: {loan.override}", highlight=False)
