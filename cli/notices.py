"""``wlcc notices plan``: the scheduler's notice job, run once from a terminal.

Registered in ``cli/main.py`` with ``app.add_typer(notices_app, name="notices")``. Like the other
commands, everything heavy is imported inside the functions.
"""

from __future__ import annotations

import typer

from cli.common import console, settings_or_exit

notices_app = typer.Typer(
    help="Notices about meetings, loan installments and overdue complaints, put in the outbox.",
    no_args_is_help=True,
)

# How plan_all's counts read to an operator, in the order printed.
LABELS = {
    "announcement": "announcements",
    "reminder": "reminders (days before)",
    "morning": "morning-of reminders",
    "holiday": "holiday flags to coordinators",
    "finished": "meetings marked done",
    "occurrences": "meetings made from rules",
    "roles": "role requests",
    "polls": "theme polls closed",
    "statements": "monthly savings statements",
    "installment_reminder": "loan installment reminders (days before)",
    "installment_missed": "missed loan installment notices",
    "complaint_overdue": "complaints flagged overdue",
    "complaint_digest": "overdue complaint digests to coordinators",
}


@notices_app.command("plan")
def plan() -> None:
    """Plan every notice due now into the outbox, once (what the scheduler's job does).

    Announcements, the day-before and morning-of reminders, holiday flags to coordinators, and
    the other planning of meetings (past ones done, a rule's coming meetings, role requests,
    theme polls), the loans' installment reminders and missed-installment notices, and the
    complaints past their time limits (flagged, one digest a day per coordinator). Each
    notice is planned at most once, however often this runs; the sender (the app, or `wlcc
    worker`) sends them. Prints how many of each kind were planned.
    """
    from cli.outbox import _database
    from storage.meetings_notices import plan_all
    from wlcc.formatting import utcnow

    settings = settings_or_exit()
    db = _database(settings)
    try:
        with db.transaction() as session:
            counts = plan_all(session, now=utcnow(), settings=settings)
    finally:
        db.dispose()
    console.print("Planned:")
    for name, label in LABELS.items():
        if name in counts:
            console.print(f"  {counts[name]:6d}  {label}", highlight=False)
    for name in sorted(set(counts) - set(LABELS)):
        console.print(f"  {counts[name]:6d}  {name}", highlight=False)
