"""``wlcc members``: import and export the member list."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from cli.common import console, err, settings_or_exit

members_app = typer.Typer(help="Members: CSV import and export.", no_args_is_help=True)


def _community_id(session: object, slug: str | None) -> int:
    from sqlmodel import Session, select

    from storage.identities import default_community
    from storage.models import Community

    assert isinstance(session, Session)
    community = (
        session.exec(select(Community).where(Community.slug == slug)).first()
        if slug
        else default_community(session)
    )
    if community is None or community.id is None:
        err.print(f"[red]No community {slug!r}.[/red]")
        raise typer.Exit(2)
    return community.id


@members_app.command("import")
def import_members(
    file: Annotated[Path, typer.Argument(help="CSV with columns name,phone,kelurahan,role.")],
    only_valid: Annotated[
        bool, typer.Option("--only-valid", help="Import the good rows even if others are bad.")
    ] = False,
    community: Annotated[
        str | None, typer.Option(help="Community slug (default: the first).")
    ] = None,
) -> None:
    """Import members; bad rows are reported by line and nothing is imported until clean."""
    from storage.db import Database
    from storage.member_import import ImportFileError, apply_import, parse_members_csv
    from storage.migrate import pending, upgrade

    settings = settings_or_exit()
    try:
        data = file.read_bytes()
    except OSError as exc:
        err.print(f"[red]Cannot read {file}: {exc.strerror}[/red]")
        raise typer.Exit(1) from None
    try:
        plan = parse_members_csv(data)
    except ImportFileError as exc:
        err.print(f"[red]{file}: {exc}. Nothing was imported.[/red]")
        raise typer.Exit(1) from None
    for error in plan.errors:
        err.print(f"line {error.line}: {error.message}", markup=False, highlight=False)
    if plan.errors and not only_valid:
        err.print(
            f"[red]{len(plan.errors)} bad row(s); nothing was imported. Fix them, or use "
            "--only-valid to import the good rows only.[/red]"
        )
        raise typer.Exit(1)
    db = Database(settings.database_url)
    try:
        if pending(db.engine, settings.database_url):
            upgrade(settings.database_url)
        with (
            db.transaction() as session,
            Progress(
                TextColumn("Importing"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err,
                disable=not sys.stderr.isatty(),
            ) as bar,
        ):
            task = bar.add_task("import", total=len(plan.rows))
            result = apply_import(
                session,
                _community_id(session, community),
                plan.rows,
                progress=lambda: bar.advance(task),
            )
    finally:
        db.dispose()
    console.print(
        f"Imported {result.created} new, {result.updated} updated, "
        f"{result.unchanged} unchanged member(s)"
        + (f"; skipped {len(plan.errors)} bad row(s)." if plan.errors else ".")
    )
    for phone, names in plan.shared_phones.items():
        console.print(
            f"Shared family phone …{phone[-4:]}: {', '.join(names)} (the bot will ask who is "
            "speaking).",
            highlight=False,
        )


@members_app.command("export")
def export_members(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    community: Annotated[
        str | None, typer.Option(help="Community slug (default: the first).")
    ] = None,
) -> None:
    """Export members as CSV (name,phone,kelurahan,role,status)."""
    from storage.db import Database
    from storage.member_import import export_members_csv

    settings = settings_or_exit()
    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            text = export_members_csv(session, _community_id(session, community))
    finally:
        db.dispose()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {text.count(chr(10)) - 1} member(s) to {output}")
