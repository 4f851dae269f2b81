"""``wlcc ledger``: the credit union's ledger from a terminal (the treasurer's desk).

``deposit`` and ``withdraw`` record one entry by the rules of ``storage/ledger.py`` (the member
gets her receipt through the outbox), ``reverse`` corrects one, ``balance`` shows a member's,
``check`` proves the cached balances against the entries (exit 1 when they disagree),
``report`` writes the figures for a period as CSV, ``import`` reads a paper ledger (CSV
``date,phone,kind,amount,note``; all or nothing). PHONE in any Indonesian form; on a family
phone ``--name`` says which member. Registered in ``cli/main.py`` as
``app.add_typer(ledger_app, name="ledger")``.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import amount_arg, console, err, fail, member_by_phone, settings_or_exit
from cli.meetings import _community_id, _session

if TYPE_CHECKING:
    from storage.ledger import LedgerRefused, Receipt
    from storage.models import Member

ledger_app = typer.Typer(
    help="The credit union's ledger: deposit, withdraw, reverse, balance, check, report, import.",
    no_args_is_help=True,
)

KINDS = ("pokok", "wajib", "sukarela")

CommunityOption = Annotated[str | None, typer.Option(help="Community slug (default: the first).")]
NameOption = Annotated[
    str | None, typer.Option("--name", help="Which member, on a phone several members share.")
]
NoteOption = Annotated[str | None, typer.Option("--note", help="A note kept with the entry.")]

_REFUSALS = {
    "below_zero": "the balance would go below zero",
    "duplicate": "this entry was recorded already",
    "zero": "an amount of zero",
    "negative": "give the amount as a positive number",
    "unknown_kind": "the kind must be pokok, wajib or sukarela",
    "not_savings": "pinjaman and bunga are recorded through `wlcc loans`",
    "locked": "simpanan pokok and wajib are not withdrawn while she is a member",
    "pokok_paid": "simpanan pokok is paid once, and she has paid it",
    "unknown_member": "no such member",
    "unknown_entry": "no such entry in this community",
    "already_reversed": "that entry was reversed already",
    "is_reversal": "that entry is itself a reversal: record the right entry anew instead",
    "loan_entry": "a loan's entries are corrected through `wlcc loans`",
    "empty_reason": "say why (--reason)",
}


def _refused(exc: LedgerRefused) -> typer.Exit:
    return fail(f"Refused: {_REFUSALS.get(exc.reason, exc.reason)}. Nothing was recorded.", 1)


def _kind(text: str) -> str:
    kind = " ".join(text.casefold().split()).removeprefix("simpanan ")
    if kind not in KINDS:
        raise fail(f"Unknown kind {text!r}: use pokok, wajib or sukarela.", 2)
    return kind


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        if len(text.strip()) != 10:
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"{option} {text!r} is not a day: write it as YYYY-MM-DD.", 2) from None


def _who(member: Member) -> str:
    return f"{member.name} (#{member.id}, {member.phone})"


def _receipt_line(receipt: Receipt) -> str:
    if receipt.outbox_id is None:
        return "No receipt (the member is anonymised)."
    return f"Her receipt is queued (outbox #{receipt.outbox_id})."


def _record(
    operation: str,
    phone: str,
    kind: str,
    amount: str,
    note: str | None,
    name: str | None,
    slug: str | None,
) -> None:
    from storage.ledger import LedgerChannel, LedgerRefused, deposit, withdraw
    from wlcc.formatting import format_money

    settings = settings_or_exit()
    kind = _kind(kind)
    rupiah = amount_arg(amount)
    record = deposit if operation == "deposit" else withdraw
    refused: LedgerRefused | None = None
    with _session(settings) as session:
        community = _community_id(session, slug)
        member = member_by_phone(session, community, phone, name)
        assert member.id is not None
        try:
            receipt = record(
                session,
                community_id=community,
                member_id=member.id,
                kind=kind,
                amount=rupiah,
                channel=LedgerChannel.CLI,
                note=note,
            )
        except LedgerRefused as exc:
            refused = exc  # its audit row is committed; then exit non-zero
        else:
            what = "Deposit" if operation == "deposit" else "Withdrawal"
            console.print(
                f"{what} #{receipt.entry.id} recorded: {_who(member)}, simpanan {kind} "
                f"{format_money(rupiah)}; {kind} balance now {format_money(receipt.balance)}. "
                + _receipt_line(receipt),
                highlight=False,
                soft_wrap=True,
            )
    if refused is not None:
        raise _refused(refused)


@ledger_app.command("deposit")
def deposit_command(
    phone: Annotated[str, typer.Argument(metavar="PHONE", help="Her phone, any Indonesian form.")],
    kind: Annotated[str, typer.Argument(metavar="KIND", help="pokok, wajib or sukarela.")],
    amount: Annotated[
        str,
        typer.Argument(metavar="AMOUNT", help='Whole rupiah: 50000, 50.000, "Rp 50.000", 50rb.'),
    ],
    note: NoteOption = None,
    name: NameOption = None,
    community: CommunityOption = None,
) -> None:
    """Record a deposit (setoran); the member gets a receipt."""
    _record("deposit", phone, kind, amount, note, name, community)


@ledger_app.command("withdraw")
def withdraw_command(
    phone: Annotated[str, typer.Argument(metavar="PHONE", help="Her phone, any Indonesian form.")],
    kind: Annotated[
        str, typer.Argument(metavar="KIND", help="sukarela (pokok and wajib once she has left).")
    ],
    amount: Annotated[
        str,
        typer.Argument(metavar="AMOUNT", help='Whole rupiah: 50000, 50.000, "Rp 50.000", 50rb.'),
    ],
    note: NoteOption = None,
    name: NameOption = None,
    community: CommunityOption = None,
) -> None:
    """Record a withdrawal (penarikan); refused below zero and for locked kinds."""
    _record("withdraw", phone, kind, amount, note, name, community)


@ledger_app.command("reverse")
def reverse_command(
    entry_id: Annotated[int, typer.Argument(metavar="ENTRY_ID", help="The entry to correct.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the reversal).")],
    community: CommunityOption = None,
) -> None:
    """Correct an entry with a reversal of the opposite amount; the member gets a receipt."""
    from storage.ledger import LedgerChannel, LedgerRefused, reverse
    from storage.models import Member
    from wlcc.formatting import format_money

    settings = settings_or_exit()
    refused: LedgerRefused | None = None
    with _session(settings) as session:
        community_id = _community_id(session, community)
        try:
            receipt = reverse(
                session,
                community_id=community_id,
                entry_id=entry_id,
                reason=reason,
                channel=LedgerChannel.CLI,
            )
        except LedgerRefused as exc:
            refused = exc
        else:
            entry = receipt.entry
            member = session.get(Member, entry.member_id)
            assert member is not None
            console.print(
                f"Reversal #{entry.id} of entry #{entry_id} recorded: {_who(member)}, "
                f"simpanan {entry.kind} {format_money(entry.amount)}; {entry.kind} balance now "
                f"{format_money(receipt.balance)}. " + _receipt_line(receipt),
                highlight=False,
                soft_wrap=True,
            )
    if refused is not None:
        raise _refused(refused)


@ledger_app.command("balance")
def balance_command(
    phone: Annotated[str, typer.Argument(metavar="PHONE", help="Her phone, any Indonesian form.")],
    name: NameOption = None,
    community: CommunityOption = None,
) -> None:
    """A member's balances: each savings kind, their total, the loan owed, interest paid."""
    from storage.audit import record_audit
    from storage.ledger import LedgerChannel, balances, savings_total
    from wlcc.formatting import format_money

    settings = settings_or_exit()
    with _session(settings) as session:
        community_id = _community_id(session, community)
        member = member_by_phone(session, community_id, phone, name)
        assert member.id is not None
        found = balances(session, member.id)
        record_audit(  # who looked at whose figures (never the figures)
            session,
            action="ledger.balance",
            allowed=True,
            community_id=community_id,
            actor_member_id=None,
            actor_identity_id=None,
            channel=LedgerChannel.CLI,
            target=f"member:{member.id}",
        )
        console.print(f"{_who(member)}, {member.status}:", highlight=False)
        for kind in KINDS:
            console.print(f"  simpanan {kind:<9} {format_money(found[kind]):>16}", highlight=False)
        console.print(
            f"  {'savings total':<18} {format_money(savings_total(found)):>16}", highlight=False
        )
        console.print(f"  {'loan owed':<18} {format_money(found['pinjaman']):>16}", highlight=False)
        console.print(
            f"  {'interest paid':<18} {format_money(found['bunga']):>16}", highlight=False
        )


@ledger_app.command("check")
def check_command() -> None:
    """Prove the cached balances against the entries; exit 1 and list what disagrees."""
    from storage.ledger import check

    settings = settings_or_exit()
    with _session(settings) as session:
        result = check(session)
    if result.ok:
        console.print(
            f"The ledger is consistent: {result.entries} entries, {result.balances} cached "
            "balances agree with them, none below zero, every reversal matches its entry.",
            highlight=False,
        )
        return
    for m in result.mismatches:
        cached = "no cached balance" if m.cached is None else f"cached {m.cached}"
        derived = "no entries" if m.derived is None else f"entries sum to {m.derived}"
        counts = f" (entries cached {m.cached_entries}, counted {m.derived_entries})"
        err.print(
            f"member #{m.member_id} {m.kind}: {cached}, {derived}{counts}",
            highlight=False,
            markup=False,
        )
    for n in result.negatives:
        err.print(
            f"member #{n.member_id} {n.kind}: below zero ({n.balance})",
            highlight=False,
            markup=False,
        )
    for r in result.bad_reversals:
        err.print(
            f"entry #{r.entry_id} (reverses #{r.reverses_id}): bad reversal ({r.why})",
            highlight=False,
            markup=False,
        )
    problems = len(result.mismatches) + len(result.negatives) + len(result.bad_reversals)
    raise fail(
        f"The ledger is NOT consistent: {problems} problem(s) in {result.entries} entries and "
        f"{result.balances} cached balances.",
        1,
    )


@ledger_app.command("report")
def report_command(
    start: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: the start).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    community: CommunityOption = None,
) -> None:
    """The figures for the treasurer and the RAT as CSV: per kind the balance before the
    period, what came in and went out within it, the balance at its end (pinjaman: the loans
    outstanding; bunga: the interest received; overdue: what is late on loans today), then
    every member's balances."""
    from storage.audit import record_audit
    from storage.ledger import LedgerChannel, report, report_csv
    from storage.loans import overdue_by_member
    from wlcc.formatting import format_money, to_local, utcnow

    settings = settings_or_exit()
    first, last = _day(start, "--from"), _day(end, "--to")
    if first is not None and last is not None and first > last:
        raise fail("--from must not be after --to.", 2)
    with _session(settings) as session:
        community_id = _community_id(session, community)
        found = report(session, community_id=community_id, start=first, end=last)
        overdue = overdue_by_member(session, community_id, to_local(utcnow()).date())
        record_audit(
            session,
            action="ledger.report",
            allowed=True,
            community_id=community_id,
            actor_member_id=None,
            actor_identity_id=None,
            channel=LedgerChannel.CLI,
            target="ledger",
            detail={"from": str(first or ""), "to": str(last or ""), "members": len(found.members)},
        )
    text = report_csv(found, overdue)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise fail(f"Cannot write {output}: {exc.strerror}") from None
    err.print(
        f"Period {first or 'the start'} to {last or 'today'}: savings "
        f"{format_money(found.savings_closing)}, loans outstanding "
        f"{format_money(found.loans_outstanding)}, interest received "
        f"{format_money(found.interest_received)}, overdue today "
        f"{format_money(sum(overdue.values()))}; {len(found.members)} member(s)"
        + (f"; written to {output}." if output else "."),
        highlight=False,
        markup=False,
    )


@ledger_app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE.csv", help="CSV: date,phone,kind,amount,note[,name].")
    ],
    community: CommunityOption = None,
) -> None:
    """Import a paper ledger: all or nothing, bad rows reported by line, rows imported before
    are not written again; no receipts (the members had theirs on paper)."""
    from storage.ledger import ImportFileError, import_csv

    settings = settings_or_exit()
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise fail(f"Cannot read {file}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise fail(
            f"{file} is not UTF-8 (byte {exc.start}); in the spreadsheet choose 'Save as CSV "
            "UTF-8'. Nothing was imported."
        ) from None
    with _session(settings) as session:
        try:
            result = import_csv(session, text, community_id=_community_id(session, community))
        except ImportFileError as exc:
            raise fail(f"{file}: {exc}. Nothing was imported.") from None
    for error in result.errors:
        err.print(f"line {error.line}: {error.message}", markup=False, highlight=False)
    if not result.ok:
        raise fail(
            f"{len(result.errors)} bad row(s); nothing was imported. Fix them and run again."
        )
    already = result.already_imported
    console.print(
        f"Imported {result.imported} entr{'y' if result.imported == 1 else 'ies'}"
        + (
            f"; {len(already)} row(s) were imported before and are not written again "
            f"(line(s) {', '.join(map(str, already[:20]))}{'...' if len(already) > 20 else ''})"
            if already
            else ""
        )
        + ". No receipts are sent for an import.",
        highlight=False,
        soft_wrap=True,
    )
