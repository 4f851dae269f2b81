"""``wlcc complaints``: the coordinators' side of the complaint tickets from a terminal.

``list`` the open tickets by age and kelurahan, ``show`` one, change its ``status`` (every
reporter is told, through the storage's own ``change_status``), ``publish`` its description on
Open311 (or take it back), and ``export`` them as CSV or GeoJSON for the city and the
contractor (what an export holds and never holds: ``storage/complaints_export.py``).
Registered in ``cli/main.py`` as ``app.add_typer(complaints_app, name="complaints")``.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import console, fail, settings_or_exit
from cli.meetings import CommunityOption, _community_id, _session

if TYPE_CHECKING:
    from sqlmodel import Session

    from storage.complaints import Complaint

complaints_app = typer.Typer(
    help="Complaint tickets: list, show, status, publish, export (CSV, GeoJSON).",
    no_args_is_help=True,
)

STATUSES = "received, verified, forwarded, in_progress, resolved, rejected, duplicate"
CATEGORIES = "leak, excavation, dirty, smell, other"


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} takes a day as YYYY-MM-DD, not {text!r}.", 2) from None


def _split(values: list[str] | None) -> list[str]:
    """``--status a --status b,c`` -> [a, b, c], lower case, no blanks."""
    return [p.strip().lower() for v in values or [] for p in v.split(",") if p.strip()]


def _ticket(session: Session, community_id: int, code: str) -> Complaint:
    from storage.complaints import get_by_code, normalize_code

    if normalize_code(code) is None:
        raise fail(f"{code!r} is not a ticket code (two letters and five characters: AL-7K3Q9).")
    found = get_by_code(session, community_id, code)
    if found is None:
        raise fail(f"No ticket {normalize_code(code)}.")
    return found


@complaints_app.command("list")
def list_(
    kelurahan: Annotated[str | None, typer.Option(help="Only this kelurahan.")] = None,
    category: Annotated[
        list[str] | None, typer.Option(help=f"Only these categories ({CATEGORIES}).")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(help=f"Only these statuses (default: the open ones). {STATUSES}."),
    ] = None,
    overdue: Annotated[bool, typer.Option(help="Only tickets past a time limit.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many tickets.")] = 500,
    community: CommunityOption = None,
) -> None:
    """The open tickets, oldest first, with their age, kelurahan and time limit; a count per
    kelurahan first. A limit passed shows as OVERDUE (with its last day)."""
    from storage.complaints import Status
    from storage.complaints_escalation import deadline
    from storage.complaints_export import Filters, tickets
    from wlcc.formatting import local_today

    settings = settings_or_exit()
    today = local_today(settings.timezone)
    with _session(settings) as session:
        filters = Filters(
            community_id=_community_id(session, community),
            statuses=_split(status) or list(Status.OPEN),
            kelurahan=kelurahan,
            categories=_split(category),
        )
        try:
            found = tickets(session, filters, settings)
        except ValueError as exc:
            raise fail(f"{exc}.", 2) from None
        rows = []
        for complaint in found:
            limit_ = deadline(complaint, settings)
            late = limit_ is not None and limit_.overdue(today)
            if overdue and not late:
                continue
            received = complaint.created_at.astimezone(settings.timezone).date()
            rows.append(
                (
                    complaint.code,
                    (today - received).days,
                    received.isoformat(),
                    complaint.kelurahan or "-",
                    complaint.category,
                    complaint.status,
                    complaint.reporter_count,
                    ""
                    if limit_ is None
                    else ("OVERDUE " if late else "by ") + limit_.due.isoformat(),
                )
            )
    rows = rows[:limit]
    if not rows:
        console.print("No tickets.")
        return
    per_place: dict[str, list[int]] = {}
    for row in rows:
        per_place.setdefault(row[3], []).append(row[1])
    console.print("Per kelurahan (tickets, oldest in days):", highlight=False)
    for place, ages in sorted(per_place.items()):
        console.print(f"  {place:20s} {len(ages):5d}  {max(ages):5d}", highlight=False)
    console.print()
    header = ("code", "days", "received", "kelurahan", "category", "status", "reporters", "limit")
    console.print(
        f"{header[0]:9s} {header[1]:>4s} {header[2]:10s} {header[3]:14s} {header[4]:10s} "
        f"{header[5]:11s} {header[6]:>9s} {header[7]}",
        highlight=False,
    )
    for code, age, received_on, place, cat, st, count, due in rows:
        console.print(
            f"{code:9s} {age:4d} {received_on:10s} {place[:14]:14s} {cat:10s} {st:11s} "
            f"{count:9d} {due}",
            highlight=False,
        )
    console.print(f"\n{len(rows)} tickets.", highlight=False)


@complaints_app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="The ticket code, any case, spaces or dashes.")],
    community: CommunityOption = None,
) -> None:
    """One ticket with its history, internal notes included (for coordinators). Reporters
    are counted, never named; the viewing is audited."""
    from storage.audit import record_audit
    from storage.complaints import events, photos
    from storage.complaints_escalation import deadline
    from wlcc.formatting import local_today

    settings = settings_or_exit()
    zone = settings.timezone
    today = local_today(zone)

    def when(moment: datetime | None) -> str:
        return "-" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    with _session(settings) as session:
        complaint = _ticket(session, _community_id(session, community), code)
        limit = deadline(complaint, settings)
        lines = [
            f"{complaint.code}  {complaint.category}  {complaint.status}",
            f"received     {when(complaint.created_at)}",
            f"kelurahan    {complaint.kelurahan or '-'}   RT/RW {complaint.rt_rw or '-'}",
            f"address      {complaint.address or '-'}",
            "pin          "
            + (
                f"{complaint.latitude:.6f}, {complaint.longitude:.6f}"
                if complaint.latitude is not None and complaint.longitude is not None
                else "-"
            )
            + ("  (outside Palembang)" if complaint.outside_palembang else ""),
            f"description  {complaint.description or '-'}"
            + ("  [public on Open311]" if complaint.public_description else ""),
            f"voice note   {'yes' if complaint.voice_media_id is not None else 'no'}   "
            f"photos {len(photos(session, complaint))}   reporters {complaint.reporter_count}   "
            f"may be contacted {'yes' if complaint.contact_ok else 'no'}",
            f"forwarded to {complaint.forwarded_to or '-'}",
        ]
        if limit is not None:
            state = "OVERDUE" if limit.overdue(today) else "running"
            lines.append(f"time limit   {limit.stage} by {limit.due.isoformat()} ({state})")
        lines.append("history:")
        for event in events(session, complaint):
            what = (
                f"{event.from_status or '-'} -> {event.to_status}"
                if event.to_status
                else ("internal note" if event.internal else "note")
            )
            lines.append(f"  {when(event.created_at)}  {what}  {event.note or ''}".rstrip())
        record_audit(
            session,
            action="complaint.view",
            allowed=True,
            community_id=complaint.community_id,
            actor_member_id=None,
            actor_identity_id=None,
            channel="cli",
            target=complaint.code,
        )
    for line in lines:
        console.print(line, highlight=False, markup=False)


REFUSALS = {
    "unknown_status": "unknown status {status!r}; one of " + STATUSES,
    "same_status": "{code} is already {status}",
    "impossible": "{code} is {status}: it can go to {allowed}",
    "closed": "{code} is {status}: nothing follows",
    "need_forwarded_to": "forwarded needs --to (the organisation; it is published on Open311)",
    "need_duplicate_of": "duplicate needs --of (the open ticket it duplicates)",
    "bad_duplicate_of": "--of must name another open or resolved ticket of the community",
    "not_resolved": "{code} is not resolved",
    "empty_note": "the note is empty",
}


@complaints_app.command("status")
def status(
    code: Annotated[str, typer.Argument(help="The ticket code.")],
    new_status: Annotated[str, typer.Argument(metavar="STATUS", help=STATUSES)],
    note: Annotated[
        str | None, typer.Option(help="Sent to every reporter (and public on Open311).")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="forwarded: to whom (an organisation, not a person: it is public)."),
    ] = None,
    of: Annotated[str | None, typer.Option(help="duplicate: the code of the open ticket.")] = None,
    community: CommunityOption = None,
) -> None:
    """Change a ticket's status; every reporter is told in her language. An impossible change
    is refused with the reason (exit 1)."""
    from storage.complaints import ComplaintRefused, change_status, status_label
    from wlcc.i18n import Translator

    settings = settings_or_exit()
    wanted = new_status.strip().lower().replace("-", "_").replace(" ", "_")
    with _session(settings) as session:
        community_id = _community_id(session, community)
        complaint = _ticket(session, community_id, code)
        duplicate_of = _ticket(session, community_id, of) if of else None
        before = complaint.status
        try:
            change_status(
                session,
                complaint,
                wanted,
                note=note,
                actor_label="cli",
                channel="cli",
                forwarded_to=to,
                duplicate_of=duplicate_of,
            )
        except ComplaintRefused as exc:
            details = {"code": complaint.code, "status": wanted, **exc.details}
            details["allowed"] = ", ".join(details.get("allowed") or ()) or "nothing"
            message = REFUSALS.get(exc.reason, exc.reason).format(**details)
            raise fail(f"Refused: {message}.") from None
        told = complaint.reporter_count
        label = status_label(Translator("id"), wanted)
    console.print(
        f"{complaint.code}: {before} -> {wanted} ({label}); its reporters are told "
        f"({told} reported it).",
        highlight=False,
    )


@complaints_app.command("publish")
def publish(
    code: Annotated[str, typer.Argument(help="The ticket code.")],
    off: Annotated[bool, typer.Option("--off", help="Take the description back.")] = False,
    community: CommunityOption = None,
) -> None:
    """Publish a ticket's description on Open311 (after reading it: no names, no phones), or
    take it back with --off. Nothing else of the ticket changes."""
    from storage.complaints import set_public_description

    settings = settings_or_exit()
    with _session(settings) as session:
        complaint = _ticket(session, _community_id(session, community), code)
        set_public_description(session, complaint, not off, actor_member_id=None, channel="cli")
        done = complaint.code
    console.print(
        f"{done}: description {'private again' if off else 'public on Open311'}.", highlight=False
    )


@complaints_app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv or geojson.")] = "csv",
    since: Annotated[
        str | None, typer.Option("--from", help="Received on or after YYYY-MM-DD.")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="Received up to YYYY-MM-DD.")] = None,
    status: Annotated[
        list[str] | None, typer.Option(help=f"Only these statuses (default all). {STATUSES}.")
    ] = None,
    kelurahan: Annotated[str | None, typer.Option(help="Only this kelurahan.")] = None,
    category: Annotated[
        list[str] | None, typer.Option(help=f"Only these categories ({CATEGORIES}).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default: stdout).")
    ] = None,
    community: CommunityOption = None,
) -> None:
    """The tickets as CSV or GeoJSON (RFC 7946) for the city and the contractor: place,
    category, status and dates, description, counts; never a reporter's name, phone, photo or
    voice note, nor an internal note, nor any request for help. Dates are local."""
    from storage.audit import record_audit
    from storage.complaints_export import Filters
    from storage.complaints_export import export as make_export
    from wlcc.formatting import local_today

    settings = settings_or_exit()
    fmt = fmt.strip().lower()
    if fmt not in ("csv", "geojson"):
        raise fail(f"--format is csv or geojson, not {fmt!r}.", 2)
    with _session(settings) as session:
        community_id = _community_id(session, community)
        filters = Filters(
            community_id=community_id,
            since=_day(since, "--from"),
            until=_day(until, "--to"),
            statuses=_split(status),
            kelurahan=kelurahan,
            categories=_split(category),
        )
        try:
            text, count = make_export(
                session, filters, settings, fmt=fmt, today=local_today(settings.timezone)
            )
        except ValueError as exc:
            raise fail(f"{exc}.", 2) from None
        record_audit(
            session,
            action="complaint.export",
            allowed=True,
            community_id=community_id,
            actor_member_id=None,
            actor_identity_id=None,
            channel="cli",
            detail={"format": fmt, "tickets": count},
        )
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise fail(f"Cannot write {output}: {exc.strerror or exc}.") from None
        console.print(f"{count} tickets written to {output} ({fmt}).", highlight=False)
