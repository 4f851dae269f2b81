"""``wlcc worker`` (the outbox sender on its own) and ``wlcc broadcast`` (announce from a terminal).

Registered in ``cli/main.py`` with ``app.add_typer(outbox_app)`` (no name: the commands sit at
the top level). Like the other commands, everything heavy is imported inside the functions.
"""

from __future__ import annotations

import asyncio
import getpass
import signal
import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.common import console, fail, settings_or_exit
from wlcc.settings import Settings

if TYPE_CHECKING:
    from bot.telegram import TelegramChannel
    from bot.whatsapp import WhatsAppChannel
    from storage.db import Database

outbox_app = typer.Typer()


NO_SENDER_WARNING = 30.0  # seconds without progress before suggesting --send


def _database(settings: Settings) -> Database:
    from storage.db import Database, redact_url
    from storage.migrate import pending

    db = Database(settings.database_url)
    try:
        behind = pending(db.engine, settings.database_url)
    except Exception as exc:
        db.dispose()
        raise fail(
            f"Cannot open {redact_url(settings.database_url)}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    if behind:
        db.dispose()
        raise fail(
            f"The database {redact_url(settings.database_url)} is not migrated: "
            "run `wlcc db upgrade` first."
        )
    return db


# --- wlcc worker ---


@outbox_app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Send what is due (with its retries), then exit.")
    ] = False,
) -> None:
    """Run the outbox sender alone (without the web app): sends every proactive message.

    Stop it with Ctrl-C or SIGTERM: it finishes the sends in flight and gives the rest back.
    """
    from bot.sender import build_sender
    from bot.telegram import TelegramChannel
    from bot.whatsapp import WhatsAppChannel
    from wlcc.logging import configure_logging

    settings = settings_or_exit()
    secrets = [
        s.get_secret_value()
        for s in (settings.telegram_bot_token, settings.twilio_auth_token)
        if s is not None
    ]
    configure_logging(settings.wlcc_log_level, secrets)
    if not settings.telegram_enabled and not settings.whatsapp_enabled:
        raise fail(
            "Neither Telegram (TELEGRAM_BOT_TOKEN) nor WhatsApp (TWILIO_*) is configured: "
            "there is nothing to send with.",
            2,
        )
    db = _database(settings)

    async def main() -> None:
        telegram = TelegramChannel(settings) if settings.telegram_enabled else None
        whatsapp = WhatsAppChannel(settings) if settings.whatsapp_enabled else None
        for channel in (telegram, whatsapp):
            if channel is not None:
                await channel.start()
        sender = build_sender(db, settings, telegram=telegram, whatsapp=whatsapp)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()

        def stop() -> None:
            sender.stop()
            stopping.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        channels = ", ".join(sender.outlets) or "none"
        console.print(f"Outbox sender {sender.name} running ({channels}). Ctrl-C stops it.")
        inbox = None
        if settings.wlcc_inbox_worker and not once:
            inbox = asyncio.create_task(
                _answer_inbox(db, settings, telegram, whatsapp, stopping, sender.wake)
            )
            console.print("Answering inbound messages too (WLCC_INBOX_WORKER).")
        try:
            stats = await (sender.drain() if once else sender.run())
        finally:
            if inbox is not None:
                stopping.set()  # also when the sender stopped on an error
                await inbox
            for channel in (telegram, whatsapp):
                if channel is not None:
                    await channel.close()
        console.print(
            f"Sender stopped: {stats.sent} sent, {stats.failed} failed, "
            f"{stats.skipped} skipped, {stats.retried} to retry."
        )

    try:
        asyncio.run(main())
    finally:
        db.dispose()


async def _answer_inbox(
    db: Any,
    settings: Any,
    telegram: Any,
    whatsapp: Any,
    stop: asyncio.Event,
    wake_outbox: Any = None,
) -> None:
    """The inbox half of ``wlcc worker``: answers what the app's webhooks recorded."""

    from handlers.dispatch import Dispatcher
    from handlers.router import Router, RouterConfig

    router = Router(
        db,
        RouterConfig.from_settings(settings),
    )
    dispatcher = Dispatcher(router)
    channels = {"telegram": telegram, "whatsapp": whatsapp}
    await dispatcher.start(
        {n: c.send_replies for n, c in channels.items() if c is not None}, wake_outbox
    )
    await dispatcher.run_worker(stop)


# --- wlcc broadcast ---


def _parse_audience(kelurahan: str | None, role: str | None) -> tuple[str, str | None]:
    from storage.members import InvalidValue, parse_role

    if kelurahan and role:
        raise fail("Choose one audience: --kelurahan or --role, not both.", 2)
    if kelurahan:
        return "kelurahan", " ".join(kelurahan.split())
    if role:
        try:
            return "role", parse_role(role)
        except InvalidValue:
            raise fail(
                f"Unknown role {role!r}: use member, coordinator, treasurer, admin or "
                "protection_officer.",
                2,
            ) from None
    return "all", None


@outbox_app.command()
def broadcast(
    text: Annotated[
        str | None, typer.Argument(help="The announcement, as members will read it.")
    ] = None,
    kelurahan: Annotated[
        str | None, typer.Option(help="Only members of this kelurahan (e.g. '23 Ilir').")
    ] = None,
    role: Annotated[
        str | None, typer.Option(help="Only members with this role (e.g. bendahara).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Send without asking.")] = False,
    send: Annotated[
        bool | None,
        typer.Option(
            "--send/--no-send",
            help="Send from this terminal too (default: only when no server or worker is running).",
        ),
    ] = None,
    status: Annotated[
        bool, typer.Option("--status", help="Show the latest broadcast's figures.")
    ] = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the broadcasts being sent.")] = False,
) -> None:
    """Send an announcement to members (all, one kelurahan or one role), with a progress bar.

    A text longer than one message allows (1,600 characters) is refused, not split.
    """
    from storage.audit import record_audit
    from storage.broadcasts import (
        Audience,
        broadcast_counts,
        content_problem,
        count_audience,
        create_broadcast,
        latest_broadcast,
        running_broadcasts,
        stop_broadcast,
        summary_text,
        text_length,
    )
    from storage.identities import default_community
    from storage.models import Broadcast
    from wlcc.formatting import utcnow
    from wlcc.i18n import Translator

    settings = settings_or_exit()
    t = Translator(settings.wlcc_default_language)
    if status or stop:
        if text is not None:
            raise fail("--status and --stop take no text.", 2)
        db = _database(settings)
        try:
            with db.transaction() as session:
                community = default_community(session)
                assert community.id is not None
                if stop:
                    running = running_broadcasts(session, community.id)
                    for item in running:
                        skipped = stop_broadcast(session, item, utcnow())
                        record_audit(
                            session,
                            action="broadcast.stop",
                            allowed=True,
                            community_id=community.id,
                            actor_member_id=None,
                            actor_identity_id=None,
                            channel="cli",
                            target=f"broadcast:{item.id}",
                            detail={"by": getpass.getuser(), "skipped": skipped},
                        )
                        console.print(t("broadcast.stopped", id=item.id, skipped=skipped))
                    if not running:
                        console.print(t("broadcast.stop_none"))
                    return
                last = latest_broadcast(session, community.id)
                if last is None or last.id is None:
                    console.print(t("broadcast.none_yet"))
                    return
                console.print(summary_text(t, last, broadcast_counts(session, last.id)))
        finally:
            db.dispose()
        return

    if text is None:
        raise fail('Give the announcement\'s text: wlcc broadcast "Rapat Sabtu jam 9"', 2)
    text = text.strip()
    problem = content_problem(text, has_photo=False)
    if problem is not None:
        code, limit = problem
        if code == "empty":
            raise fail("An empty announcement cannot be sent.", 2)
        raise fail(
            f"The announcement has {text_length(text)} characters; one message takes at most "
            f"{limit}. It is refused, not split: shorten it.",
            2,
        )
    kind, value = _parse_audience(kelurahan, role)
    audience = Audience(kind, value)
    db = _database(settings)
    try:
        with db.transaction() as session:
            community = default_community(session)
            assert community.id is not None
            community_id = community.id
            count = count_audience(session, community_id, audience)
        if count.reachable == 0:
            raise fail("No member would receive it (check --kelurahan / --role).")
        who = {"all": "all members", "kelurahan": f"kelurahan {value}", "role": f"role {value}"}
        console.print(Panel(text, title="Members will read", expand=False), highlight=False)
        console.print(
            f"Recipients: {count.reachable} ({who[kind]}); {count.opted_out} more opted out "
            "and will be skipped.",
            highlight=False,
        )
        if not yes:
            if not sys.stdin.isatty():
                raise fail("Not a terminal: add --yes to send without asking.", 2)
            if not typer.confirm("Send it now?", default=False):
                console.print("Cancelled; nothing was sent.")
                return
        with db.transaction() as session:
            item = create_broadcast(
                session,
                community_id=community_id,
                text=text,
                audience=audience,
                now=utcnow(),
                author_label=f"cli:{getpass.getuser()}"[:100],
            )
            record_audit(
                session,
                action="broadcast.send",
                allowed=True,
                community_id=community_id,
                actor_member_id=None,
                actor_identity_id=None,
                channel="cli",
                target=f"broadcast:{item.id}",
                detail={
                    "by": getpass.getuser(),
                    "recipients": item.total,
                    "audience": audience.as_json(),
                },
            )
            broadcast_id = item.id
            total = item.total
        assert broadcast_id is not None
        console.print(f"Broadcast #{broadcast_id} planned for {total} members.")
        inline = send if send is not None else not _someone_sends(db)
        asyncio.run(_follow(db, settings, broadcast_id, total, inline))
        with db.transaction() as session:
            done = session.get(Broadcast, broadcast_id)
            if done is not None:
                console.print(summary_text(t, done, broadcast_counts(session, broadcast_id)))
    finally:
        db.dispose()


def _someone_sends(db: Database) -> bool:
    from datetime import timedelta

    from storage.outbox import active_workers
    from wlcc.formatting import utcnow

    with db.transaction() as session:
        return bool(active_workers(session, utcnow(), timedelta(seconds=30)))


async def _follow(
    db: Database, settings: Settings, broadcast_id: int, total: int, inline: bool
) -> None:
    """The progress bar, and (``inline``) a sender of our own until the broadcast is over."""
    from anyio import to_thread

    from storage.broadcasts import BroadcastCounts, broadcast_counts
    from storage.models import Broadcast

    def counts() -> BroadcastCounts:
        with db.transaction() as session:
            return broadcast_counts(session, broadcast_id)

    def over() -> bool:
        """Every message settled and the broadcast closed (a sender does that after the last)."""
        with db.transaction() as session:
            found = session.get(Broadcast, broadcast_id)
            return found is None or found.finished_at is not None

    sender = None
    channels: list[TelegramChannel | WhatsAppChannel] = []
    task: asyncio.Task[object] | None = None
    if inline:
        from bot.sender import build_sender
        from bot.telegram import TelegramChannel
        from bot.whatsapp import WhatsAppChannel

        telegram = TelegramChannel(settings) if settings.telegram_enabled else None
        whatsapp = WhatsAppChannel(settings) if settings.whatsapp_enabled else None
        for channel in (telegram, whatsapp):
            if channel is not None:
                await channel.start()
                channels.append(channel)
        sender = build_sender(db, settings, telegram=telegram, whatsapp=whatsapp)
        task = asyncio.create_task(sender.run(until=over), name="cli-sender")
    else:
        console.print("[dim]A running server or `wlcc worker` delivers it.[/dim]")
    columns = (
        TextColumn("[bold]#{task.fields[id]}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    last_done, last_change = -1, time.monotonic()
    warned = False
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            row = bar.add_task("broadcast", total=total, id=broadcast_id, detail="")
            while True:
                now = await to_thread.run_sync(counts)
                detail = f"sent {now.sent}  failed {now.failed}  skipped {now.skipped}"
                bar.update(row, completed=now.done, detail=detail)
                if now.waiting == 0 and await to_thread.run_sync(over):
                    break
                if now.done != last_done:
                    last_done, last_change = now.done, time.monotonic()
                elif (
                    not warned and not inline and time.monotonic() - last_change > NO_SENDER_WARNING
                ):
                    warned = True
                    bar.console.print(
                        "[yellow]No progress for 30 s: is `wlcc serve` or `wlcc worker` "
                        "running? Or run again with --send.[/yellow]"
                    )
                if task is not None and task.done():
                    break
                await asyncio.sleep(0.25)
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("Stopped watching: the broadcast goes on (`wlcc broadcast --stop` stops it).")
    finally:
        if sender is not None and task is not None:
            if not task.done():
                sender.stop()
            await asyncio.gather(task, return_exceptions=True)
        for channel in channels:
            await channel.close()
