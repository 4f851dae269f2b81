"""``wlcc console``: the staff web console's passwords."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from cli.common import console, err, fail, settings_or_exit

console_app = typer.Typer(help="The staff web console.", no_args_is_help=True)


def _interactive() -> bool:
    """Whether the password can be asked for (hidden, twice) rather than read from stdin."""
    return sys.stdin.isatty()


def _read_password() -> str:
    if _interactive():
        entered: str = typer.prompt(
            "New console password", hide_input=True, confirmation_prompt=True, err=True
        )
        return entered
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


@console_app.command("password")
def password(
    phone: Annotated[str, typer.Argument(help="The staff member's phone, e.g. 0812-3456-7890.")],
    name: Annotated[
        str | None,
        typer.Option(help="Her name, when several staff members share the phone."),
    ] = None,
) -> None:
    """Set a staff member's console password (read from a prompt or stdin)."""
    from storage.audit import record_audit
    from storage.console import password_problem, set_password, staff_on_phone
    from storage.db import Database
    from storage.members import name_key
    from storage.migrate import pending, upgrade
    from wlcc.formatting import utcnow
    from wlcc.i18n import gettext
    from wlcc.phones import to_e164

    settings = settings_or_exit()
    number = to_e164(phone)
    if number is None:
        raise fail(f"Not a phone number: {phone!r} (e.g. 0812-3456-7890).", 2)
    db = Database(settings.database_url)
    try:
        if pending(db.engine, settings.database_url):
            upgrade(settings.database_url)
        with db.transaction() as session:
            found = staff_on_phone(session, number)
        if not found:
            raise fail(
                f"No active staff member (coordinator, treasurer, admin or protection officer) "
                f"has the phone {number}; the console is for staff only. Nothing was changed."
            )
        if name is not None:
            wanted = name_key(name)
            found = [m for m in found if m.name_key == wanted] or [
                m for m in found if m.name_key.startswith(wanted)
            ]
            if not found:
                raise fail(f"No staff member called {name!r} has the phone {number}.")
        if len(found) > 1:
            names = ", ".join(repr(m.name) for m in found)
            raise fail(f"Several staff members share the phone {number}: {names}. Add --name.")
        [member] = found
        try:
            secret = _read_password()
        except typer.Abort:
            raise fail("Cancelled; nothing was changed.") from None
        problem = password_problem(secret)
        if problem is not None:
            raise fail(f"{gettext('en', problem)} Nothing was changed.", 2)
        with db.transaction() as session:
            set_password(session, member, secret, utcnow())
            record_audit(
                session,
                action="console.password",
                allowed=True,
                community_id=member.community_id,
                actor_member_id=None,
                actor_identity_id=None,
                channel="cli",
                target=f"member:{member.id}",
                detail={"by": getpass.getuser(), "phone": number},
            )
    finally:
        db.dispose()
    console.print(
        f"Console password set for {member.name} ({member.role}, {number}).", highlight=False
    )
    err.print("She logs in at /console/login with her phone and this password.", highlight=False)
