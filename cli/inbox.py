"""``wlcc inbox``: the messages set aside because answering them kept failing.

A message whose answer fails ``WLCC_ANSWER_ATTEMPTS`` times (a bug, a value the database
refuses) is set aside with its error instead of failing again at every start; ``/healthz``
counts them. Once the cause is fixed, ``wlcc inbox retry`` puts them back to be answered.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, fail, settings_or_exit
from cli.outbox import _database

inbox_app = typer.Typer(help="Messages that could not be answered.", no_args_is_help=True)


@inbox_app.command("failed")
def inbox_failed(
    limit: Annotated[int, typer.Option(help="Show at most this many, newest first.")] = 50,
) -> None:
    """List the messages set aside, with their errors (no message text: it is personal)."""
    from storage.inbound import count_failed, failed_messages
    from wlcc.formatting import utcnow

    db = _database(settings_or_exit())
    try:
        with db.transaction() as session:
            total = count_failed(session)
            rows = failed_messages(session, limit=limit)
            table = Table("id", "channel", "received", "attempts", "error")
            for row in rows:
                age = utcnow() - row.received_at.replace(tzinfo=utcnow().tzinfo)
                table.add_row(
                    str(row.id),
                    row.channel,
                    f"{age.days} d ago" if age.days else f"{age.seconds // 3600} h ago",
                    str(row.attempts),
                    (row.error or "")[:120],
                )
    finally:
        db.dispose()
    if not total:
        console.print("No message is set aside: every one was answered.")
        return
    console.print(table)
    console.print(
        f"{total} message(s) set aside. After fixing the cause: `wlcc inbox retry` (all) "
        "or `wlcc inbox retry ID`."
    )


@inbox_app.command("retry")
def inbox_retry(
    message_id: Annotated[
        int | None, typer.Argument(help="One message's id (from `wlcc inbox failed`).")
    ] = None,
) -> None:
    """Put set-aside messages back: the running bot answers them at its next start (the
    ``wlcc worker`` of WLCC_INBOX_WORKER within seconds)."""
    from storage.inbound import retry_failed

    db = _database(settings_or_exit())
    try:
        with db.transaction() as session:
            count = retry_failed(session, message_id)
    finally:
        db.dispose()
    if message_id is not None and not count:
        raise fail(f"No set-aside message has the id {message_id}.")
    console.print(f"{count} message(s) put back to be answered.")
