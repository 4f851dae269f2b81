"""The ``wlcc`` console command."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import console, err, fail, settings_or_exit
from cli.complaints import complaints_app
from cli.console import console_app
from cli.inbox import inbox_app
from cli.ledger import ledger_app
from cli.loans import loans_app
from cli.meetings import meetings_app
from cli.members import members_app
from cli.notices import notices_app
from cli.outbox import outbox_app
from wlcc.settings import Settings

if TYPE_CHECKING:
    from storage.db import Database

app = typer.Typer(
    help="WLCC bot: chat service of the Women's Led Community Center.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
telegram_app = typer.Typer(help="Telegram set-up.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(telegram_app, name="telegram")
app.add_typer(members_app, name="members")
app.add_typer(meetings_app, name="meetings")
app.add_typer(ledger_app, name="ledger")
app.add_typer(loans_app, name="loans")
app.add_typer(inbox_app, name="inbox")
app.add_typer(notices_app, name="notices")
app.add_typer(complaints_app, name="complaints")
app.add_typer(console_app, name="console")
app.add_typer(outbox_app)  # wlcc worker, wlcc broadcast

# Who `wlcc chat` writes as by default: a number no demo member has (a guest).
GUEST_PHONE = "+6281200000001"


def _upgrade(settings: Settings) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import redact_url
    from storage.migrate import upgrade

    try:
        upgrade(settings.database_url)
    except SQLAlchemyError as exc:
        raise fail(
            f"Cannot migrate {redact_url(settings.database_url)}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or update the tables (safe to run again)."""
    from storage.db import redact_url

    settings = settings_or_exit()
    _upgrade(settings)
    console.print(f"Database {redact_url(settings.database_url)} is up to date.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    migrate: Annotated[bool, typer.Option(help="Run `db upgrade` first.")] = True,
) -> None:
    """Serve the webhooks (migrates the database first)."""
    import uvicorn

    settings = settings_or_exit()
    if migrate:
        _upgrade(settings)
    uvicorn.run("app:app", host=host, port=port, proxy_headers=True, log_config=None)


def _wlcc_command() -> str:
    """How to run this same ``wlcc`` again from here: its name when PATH finds it (an image),
    else its path, relative to the working directory when it is under it (``.venv/bin/wlcc``)."""
    me = Path(sys.argv[0]).absolute()
    found = shutil.which("wlcc")
    if found and me.exists() and os.path.samefile(found, me):
        return "wlcc"
    try:
        return shlex.quote(str(me.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(me))


@app.command()
def demo(
    make: Annotated[
        bool, typer.Option("--make", hidden=True, help="Started by `make demo`: hint at make.")
    ] = False,
    meetings: Annotated[
        bool,
        typer.Option(
            help="Also a monthly meeting rule (second Saturday) and a training five days from "
            "now, whose announcement arrives at once."
        ),
    ] = True,
) -> None:
    """Prepare the embedded database with demo data to try the bot."""
    from storage.db import Database
    from storage.demo import DEMO_MEMBERS, seed_demo

    settings = settings_or_exit()
    _upgrade(settings)
    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            counts = seed_demo(session, meetings=meetings)
    finally:
        db.dispose()

    run = (
        'make demo CHAT_ARGS="--phone NUMBER"' if make else f"{_wlcc_command()} chat --phone NUMBER"
    )
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    console.print(f"Demo data ready ({summary}).")
    console.print(f"Chat as one of these people: {run}", highlight=False, soft_wrap=True)
    console.print(f"  {GUEST_PHONE}  a guest, not a member yet (the default)", highlight=False)
    by_phone: dict[str, list[str]] = {}
    for name, phone, kelurahan, role in DEMO_MEMBERS:
        console.print(f"  {phone}  {name}, {role}, {kelurahan}", highlight=False)
        by_phone.setdefault(phone, []).append(name)
    for names in by_phone.values():
        if len(names) > 1:
            console.print(f"{' and '.join(names)} share a family phone on purpose.")
    console.print(
        "Staff console (/console/): log in with a staff member's phone, e.g. the coordinator "
        "+6281200000002 or the treasurer +6281200000005; the code arrives in her chat "
        "(in the browser simulator, or `/sebagai Rina` in the terminal).",
        highlight=False,
        soft_wrap=True,
    )


SWITCH_COMMANDS = ("/sebagai", "/as")  # "/sebagai Siti", "/as 0812-0000-0003"
QUIT_COMMANDS = ("/keluar", "/quit", "/exit")


def _deliver_due(db: Database, settings: Settings) -> None:
    """Plan the notices due now (what the app's scheduler does every few minutes), then run the
    outbox sender (the configured channels and the simulated chats) until nothing is due now;
    retries planned for later wait for the next line."""
    from bot.sender import build_sender
    from bot.telegram import TelegramChannel
    from bot.whatsapp import WhatsAppChannel
    from storage.meetings_notices import plan_all
    from wlcc.formatting import utcnow

    with db.transaction() as session:
        plan_all(session, now=utcnow(), settings=settings)

    async def run() -> None:
        telegram = TelegramChannel(settings) if settings.telegram_enabled else None
        whatsapp = WhatsAppChannel(settings) if settings.whatsapp_enabled else None
        started = []
        try:
            for channel in (telegram, whatsapp):
                if channel is not None:
                    await channel.start()
                    started.append(channel)
            await build_sender(db, settings, telegram=telegram, whatsapp=whatsapp).send_due()
        finally:
            for channel in started:
                await channel.close()

    asyncio.run(run())


def _person(db: Database, query: str) -> tuple[str, str | None] | str:
    """Whom ``/sebagai`` or ``/as`` means: (phone, name), or why nobody."""
    from storage.identities import default_community
    from storage.members import find_by_name, members_on_phone
    from wlcc.phones import to_e164

    query = query.strip()
    if not query:
        return "Write a name or a phone: /sebagai Siti, /as 0812-0000-0003."
    with db.transaction() as session:
        community = default_community(session)
        assert community.id is not None
        if any(c.isdigit() for c in query):
            number = to_e164(query)
            if number is None:
                return f"Not a phone number: {query!r}."
            names = [m.name for m in members_on_phone(session, community.id, number)]
            return number, names[0] if len(names) == 1 else None
        found = [m for m in find_by_name(session, community.id, query) if m.phone]
        phones = {m.phone for m in found}
        if not found:
            return f"No member is called {query!r}."
        if len(phones) > 1:
            return f"{query!r} may be " + ", ".join(f"{m.name} ({m.phone})" for m in found) + "."
        member = found[0]
        assert member.phone is not None
        return member.phone, member.name if len(found) == 1 else None


@app.command()
def chat(
    phone: Annotated[str, typer.Option(help="The phone number you write from.")] = GUEST_PHONE,
    name: Annotated[str, typer.Option(help="Your name as the platform would show it.")] = "Tamu",
) -> None:
    """Chat with the bot in this terminal, as if from WhatsApp (no phone needed).

    With WLCC_SIMULATOR (on in `make demo`) what the bot sends on its own arrives here too, in
    the chat of the person it is for: /sebagai NAME or /as PHONE switches person.
    """

    from rich.text import Text

    from bot.simulator import PROMPT, Simulator, arrived, wrap_reply
    from handlers.router import Router, RouterConfig
    from storage.db import Database
    from storage.migrate import pending
    from wlcc.phones import to_e164

    settings = settings_or_exit()
    number = to_e164(phone)
    if number is None:
        raise fail(f"Not a valid phone number: {phone}", 2)
    db = Database(settings.database_url)
    if pending(db.engine, settings.database_url):
        _upgrade(settings)
    router = Router(
        db,
        RouterConfig.from_settings(settings),
    )
    sim = Simulator(router, number, name)
    simulated = settings.wlcc_simulator
    interactive = sys.stdin.isatty()
    # With no platform configured every notice lands in a simulated chat and wakes nobody, so
    # the quiet hours do not hold them back: a newcomer trying the demo at night sees them.
    planning = settings
    if simulated and not (settings.telegram_enabled or settings.whatsapp_enabled):
        planning = settings.model_copy(update={"wlcc_quiet_hours": ""})

    def show(replies: list[str]) -> None:
        for reply in replies:
            # Wrapped here at word boundaries to the terminal's width (rich would break the
            # words after the prompt: it does not know where the prompt left the cursor).
            for text in wrap_reply(reply, console.width):
                styled = Text(text)
                if text.startswith(PROMPT):
                    styled.stylize("bold cyan", 0, len(PROMPT) - 1)
                console.print(styled, highlight=False, soft_wrap=True)

    def note(text: str) -> None:
        console.print(Text(f"[{text}]", style="dim"), highlight=False, soft_wrap=True)

    if interactive:
        console.print(
            f"[dim]Chatting as {number}. Type MENU to start, /keluar to quit, "
            "/lokasi LAT LON to share a location, /sebagai NAME or /as PHONE to write as "
            "someone else.[/dim]"
        )
        if not simulated:
            console.print(
                "[dim]WLCC_SIMULATOR is off: what the bot sends on its own (broadcasts, "
                "notices) is not delivered here (`make demo` turns it on).[/dim]"
            )
    try:
        while True:
            try:
                line = console.input("[bold green]Anda>[/bold green] ") if interactive else input()
            except EOFError:
                break
            if line.strip() in QUIT_COMMANDS:
                break
            if not interactive:
                console.print(f"Anda> {line}", highlight=False, markup=False)
            command, _, rest = line.strip().partition(" ")
            if command.casefold() in SWITCH_COMMANDS:
                person = _person(db, rest)
                if isinstance(person, str):
                    note(person)
                    continue
                # The platform shows her name; a family phone or a stranger has none here.
                sim = Simulator(router, person[0], person[1])
                who = f"{person[1]}, {person[0]}" if person[1] else person[0]
                note(f"Now writing as {who}")
            else:
                show(sim.send(line))
            if simulated:
                _deliver_due(db, planning)
                show(arrived(db, sim.phone))
    except KeyboardInterrupt:
        pass
    finally:
        db.dispose()


@telegram_app.command("set-webhook")
def telegram_set_webhook(
    url: Annotated[
        str | None, typer.Argument(help="Webhook URL; default PUBLIC_BASE_URL/webhooks/telegram")
    ] = None,
) -> None:
    """Tell Telegram where to deliver updates, with the secret token."""
    settings = settings_or_exit()
    if not settings.telegram_enabled:
        raise fail("TELEGRAM_BOT_TOKEN is not set.", 2)
    if url is None:
        if not settings.public_base_url:
            raise fail("Give the URL or set PUBLIC_BASE_URL.", 2)
        url = settings.public_base_url.rstrip("/") + "/webhooks/telegram"
    if not url.startswith("https://"):
        err.print("[yellow]Telegram only delivers webhooks to https:// URLs.[/yellow]")

    async def run() -> bool:
        from telegram import Bot
        from telegram.error import TelegramError

        assert settings.telegram_bot_token is not None
        assert settings.telegram_webhook_secret is not None
        bot = Bot(
            settings.telegram_bot_token.get_secret_value(),
            base_url=settings.telegram_api_base_url,
        )
        try:
            async with bot:
                return await bot.set_webhook(
                    url,
                    secret_token=settings.telegram_webhook_secret.get_secret_value(),
                    allowed_updates=["message", "callback_query"],
                    drop_pending_updates=False,
                )
        except TelegramError as exc:
            raise fail(f"Telegram refused: {exc}") from None

    if not asyncio.run(run()):
        raise fail("Telegram did not accept the webhook.")
    console.print(f"Telegram webhook set to {url}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
