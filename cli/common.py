"""What every ``wlcc`` subcommand shares: the consoles, reading settings, failing clearly."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

from wlcc.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from storage.models import Member

console = Console()
err = Console(stderr=True)


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with what is wrong in them."""
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` in red on stderr; ``raise fail(...)`` exits with ``code``."""
    err.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(code)


# Why an amount was refused (wlcc.money.AmountError's reasons), for an operator.
AMOUNT_REASONS = {
    "empty": "it is empty",
    "letters": "it has letters that are not an amount (50000, 50.000, 50rb, 1,5 juta)",
    "separators": "its separators cannot be read surely (e.g. 1.000,5)",
    "fraction": "it has a fraction of a rupiah",
    "zero": "it is zero",
    "negative": "it is negative",
    "too_large": "it is larger than Rp1.000.000.000 (a typo?)",
}


def amount_arg(text: str, what: str = "") -> int:
    """Whole rupiah from an argument as Indonesians type it, or exit 2 with why not."""
    from wlcc.money import AmountError, parse_amount

    try:
        return parse_amount(text)
    except AmountError as exc:
        words = AMOUNT_REASONS.get(exc.reason, exc.reason)
        where = f" for {what}" if what else ""
        raise fail(f"Not an amount{where}: {text!r} ({words}).", 2) from None


def member_by_phone(session: Session, community_id: int, phone: str, name: str | None) -> Member:
    """The member PHONE (and ``--name`` on a family phone) means, members who have left
    included (their money is paid back), or exit with who is there."""
    from storage.ledger import choose_by_name, ledger_members_on_phone
    from wlcc.phones import to_e164

    number = to_e164(phone)
    if number is None:
        raise fail(f"Not a phone number: {phone!r} (e.g. 0812-3456-7890).", 2)
    found = ledger_members_on_phone(session, community_id, number)
    if not found:
        raise fail(f"No member has the phone {number}.", 1)
    names = ", ".join(repr(m.name) for m in found)
    if name is not None:
        chosen = choose_by_name(found, name)
        if not chosen:
            raise fail(f"Nobody called {name!r} on {number}: {names}.", 1)
        found = chosen
    if len(found) > 1:
        raise fail(f"Several members share the phone {number}: {names}. Say which with --name.", 1)
    return found[0]
