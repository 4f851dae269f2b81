"""What every ``wlcc`` subcommand shares: the consoles, reading settings, failing clearly."""

from __future__ import annotations

import typer
from rich.console import Console

from wlcc.settings import Settings, SettingsError, load_settings

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
