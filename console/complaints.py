"""The console's complaint pages (``complaint.triage``: coordinators and admins): the list of
tickets with its filters and pages, the exports, the map, and one ticket with its photos and
voice note, its history, its internal notes, the status change and the Open311 choice.

Everything goes through the same storage as KELUHAN (conversations/complaints.py) and
``wlcc complaints`` (cli/complaints.py): ``change_status`` (every reporter is told through the
outbox), ``add_note`` (internal: never sent, never on Open311 nor in STATUS),
``set_public_description`` (whether Open311 shows the description), each of which writes its
audit line in the same transaction (channel ``console``, the staff member as the actor); a
refused change, a ticket opened and an export are audited here. The list, its count and the
map's pins are filtered, ordered and paged in SQL (storage/complaints_export.py), so the pages
stay fast with 100,000 tickets; the map's pins are capped at :data:`MAP_LIMIT`, the table
beside it pages like the list.

Photos and voice notes are served here, to staff who may triage, from the bytes the bot kept
(``/console/complaints/<code>/media/<id>``, only a media of that ticket): never the public
``/media/<token>`` link of bot/media.py, whose unguessable token is the only thing that
protects it (Twilio fetches it), so that link never reaches a page.

Requests for help (the help path) are another table, which nothing here reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from bot.deps import DatabaseDep, SettingsDep
from bot.media import PHOTO_KINDS, VOICE_KINDS
from console.menu import menu_for
from console.security import (
    CHANNEL,
    ConsoleError,
    Form,
    Require,
    Staff,
    audit,
    page_number,
    pages_for,
)
from console.security import field as form_field
from console.templating import download, render
from storage.complaints import (
    MAX_DESCRIPTION,
    Category,
    Complaint,
    ComplaintPhoto,
    ComplaintRefused,
    Refusal,
    Status,
    add_note,
    allowed_next,
    change_status,
    events,
    get_by_code,
    normalize_code,
    normalize_kelurahan,
    set_public_description,
    status_label,
)
from storage.complaints_escalation import ESCALATION_LABEL, Deadline, deadline
from storage.complaints_export import (
    Filters,
    code_part,
    count,
    export,
    kelurahan_names,
    pins,
    tickets,
)
from storage.db import Database
from storage.models import MediaFile, Member
from wlcc.formatting import local_today, to_local
from wlcc.i18n import Translator
from wlcc.settings import Settings

router = APIRouter()

TRIAGE = "complaint.triage"
Triage = Annotated[Staff, Depends(Require(TRIAGE))]
Posted = Annotated[tuple[Staff, FormData], Depends(Form(TRIAGE))]

PAGE_SIZE = 50
MAP_LIMIT = 1000  # pins in map.json; the table beside the map pages through all of them
OPEN, ALL = "open", "all"
STATUS_CHOICES = (OPEN, ALL, *Status.ALL)
OVERDUE, ESCALATED = "overdue", "escalated"
LATE_CHOICES = ("", OVERDUE, ESCALATED)
OLDEST, NEWEST = "oldest", "newest"
ORDERS = (OLDEST, NEWEST)
DONE = ("status", "note", "public", "private")  # ?done= after a change: its notice
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}
MAX_FIELD = 200


# ---------------------------------------------------------------------------------------------
# The filters (the same on the list, the map, map.json and the exports)


@dataclass(frozen=True)
class Query:
    """The list's filters as the page's query string gives them, checked."""

    status: str = OPEN
    category: str = ""
    kelurahan: str = ""
    since: date | None = None
    until: date | None = None
    late: str = ""
    code: str = ""
    order: str = OLDEST
    page_raw: str | None = None

    def filters(self, community_id: int, today: date, **page: Any) -> Filters:
        statuses: tuple[str, ...] = ()
        if self.status == OPEN:
            statuses = Status.OPEN
        elif self.status != ALL:
            statuses = (self.status,)
        return Filters(
            community_id=community_id,
            since=self.since,
            until=self.until,
            statuses=statuses,
            kelurahan=self.kelurahan or None,
            categories=(self.category,) if self.category else (),
            code=self.code or None,
            overdue_on=today if self.late == OVERDUE else None,
            escalated=self.late == ESCALATED,
            newest_first=self.order == NEWEST,
            **page,
        )

    def params(self, **changes: str) -> dict[str, str]:
        """The query string's values that differ from the defaults (and ``changes``)."""
        values = {
            "status": self.status if self.status != OPEN else "",
            "category": self.category,
            "kelurahan": self.kelurahan,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
            "late": self.late,
            "code": self.code,
            "order": self.order if self.order != OLDEST else "",
            **changes,
        }
        return {k: v for k, v in values.items() if v}

    def link(self, path: str, **changes: str) -> str:
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path


def _choice(params: Any, name: str, choices: tuple[str, ...], default: str) -> str:
    value = (params.get(name) or "").strip()
    if not value:
        return default
    if value not in choices:
        raise ConsoleError(422, "console.complaints.error.bad_filter")
    return value


def _day(params: Any, name: str) -> date | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConsoleError(422, "console.complaints.error.bad_date") from None


def read_query(params: Any, known_kelurahan: list[str]) -> Query:
    """The filters of a request, or a 422 page naming what is wrong (an unknown status,
    category, kelurahan or order, a day that is not one, days reversed, a code that cannot
    be part of one)."""
    kelurahan = (params.get("kelurahan") or "").strip()
    if kelurahan:
        if len(kelurahan) > 64 or normalize_kelurahan(kelurahan) not in known_kelurahan:
            raise ConsoleError(422, "console.complaints.error.bad_filter")
        kelurahan = normalize_kelurahan(kelurahan) or ""
    code = (params.get("code") or "").strip()
    if code:
        try:
            code_part(code)
        except ValueError:
            raise ConsoleError(422, "console.complaints.error.bad_code") from None
    since, until = _day(params, "from"), _day(params, "to")
    if since and until and until < since:
        raise ConsoleError(422, "console.complaints.error.dates_reversed")
    return Query(
        status=_choice(params, "status", STATUS_CHOICES, OPEN),
        category=_choice(params, "category", Category.ALL, ""),
        kelurahan=kelurahan,
        since=since,
        until=until,
        late=_choice(params, "late", LATE_CHOICES, ""),
        code=code[:20],
        order=_choice(params, "order", ORDERS, OLDEST),
        page_raw=params.get("page"),
    )


@dataclass(frozen=True)
class Row:
    """One ticket in the list."""

    complaint: Complaint
    received: date
    limit: Deadline | None
    overdue: bool


@dataclass
class Listing:
    query: Query
    kelurahan: list[str]
    total: int
    page: int
    pages: int
    rows: list[Row] = field(default_factory=list)


def _listing(
    session: Session, staff: Staff, settings: Settings, params: Any, today: date
) -> Listing:
    known = kelurahan_names(session, staff.community_id)
    query = read_query(params, known)
    total = count(session, query.filters(staff.community_id, today), settings)
    pages = pages_for(total, PAGE_SIZE)
    page = page_number(query.page_raw, pages)
    found = tickets(
        session,
        query.filters(staff.community_id, today, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        settings,
    )
    rows = []
    for complaint in found:
        limit = deadline(complaint, settings)
        rows.append(
            Row(
                complaint,
                to_local(complaint.created_at, settings.timezone).date(),
                limit,
                limit is not None and limit.overdue(today),
            )
        )
    return Listing(query, known, total, page, pages, rows)


def _list_context(staff: Staff, listing: Listing, path: str) -> dict[str, Any]:
    query = listing.query
    return {
        "sections": menu_for(staff),
        "listing": listing,
        "query": query,
        "path": path,
        "statuses": STATUS_CHOICES,
        "categories": Category.ALL,
        "lates": LATE_CHOICES,
        "orders": ORDERS,
        "previous": query.link(path, page=str(listing.page - 1)) if listing.page > 1 else None,
        "next": query.link(path, page=str(listing.page + 1))
        if listing.page < listing.pages
        else None,
        "csv": query.link("/console/complaints/export", format="csv"),
        "geojson": query.link("/console/complaints/export", format="geojson"),
        "map_link": query.link("/console/complaints/map"),
        "list_link": query.link("/console/complaints"),
        "points": query.link("/console/complaints/map.json"),
    }


# ---------------------------------------------------------------------------------------------
# The list, the exports, the map


@router.get("/console/complaints", response_class=HTMLResponse)
def complaint_list(
    request: Request, staff: Triage, db: DatabaseDep, settings: SettingsDep
) -> HTMLResponse:
    today = local_today(settings.timezone)
    with db.transaction() as session:
        listing = _listing(session, staff, settings, request.query_params, today)
    context = _list_context(staff, listing, "/console/complaints")
    return render(request, "complaints/list.html", staff.t, **context)


@router.get("/console/complaints/export")
def complaint_export(
    request: Request, staff: Triage, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """The listed tickets (every page) as CSV or GeoJSON: what ``wlcc complaints export``
    writes (storage/complaints_export.py says what a file holds and never holds)."""
    fmt = (request.query_params.get("format") or "").strip().lower()
    if fmt not in EXPORT_TYPES:
        raise ConsoleError(422, "console.complaints.error.bad_format")
    today = local_today(settings.timezone)
    with db.transaction() as session:
        query = read_query(request.query_params, kelurahan_names(session, staff.community_id))
        text, found = export(
            session, query.filters(staff.community_id, today), settings, fmt=fmt, today=today
        )
    audit(db, staff, "complaint.export", detail={"format": fmt, "tickets": found})
    name = f"keluhan-{today.isoformat()}.{fmt}"
    return download(text, name, EXPORT_TYPES[fmt])


@router.get("/console/complaints/map", response_class=HTMLResponse)
def complaint_map(
    request: Request, staff: Triage, db: DatabaseDep, settings: SettingsDep
) -> HTMLResponse:
    """The listed tickets' pins on a map (loaded by complaints_map.js from map.json), and the
    same tickets in a table beside it: for screen readers, and when the tiles cannot load."""
    today = local_today(settings.timezone)
    with db.transaction() as session:
        listing = _listing(session, staff, settings, request.query_params, today)
    context = _list_context(staff, listing, "/console/complaints/map")
    return render(request, "complaints/map.html", staff.t, map_limit=MAP_LIMIT, **context)


@router.get("/console/complaints/map.json")
def complaint_map_points(
    request: Request, staff: Triage, db: DatabaseDep, settings: SettingsDep
) -> JSONResponse:
    """The pins of the listed tickets, at most :data:`MAP_LIMIT` (in the list's order): the
    code, category, status and position; no description, address or reporter."""
    today = local_today(settings.timezone)
    t = staff.t
    with db.transaction() as session:
        query = read_query(request.query_params, kelurahan_names(session, staff.community_id))
        found = pins(session, query.filters(staff.community_id, today, limit=MAP_LIMIT), settings)
    points = [
        {
            "code": pin.code,
            "category": pin.category,
            "category_label": t(f"complaints.category.{pin.category}"),
            "status": pin.status,
            "status_label": status_label(t, pin.status),
            "lat": round(pin.latitude, 6),
            "lon": round(pin.longitude, 6),
            "url": f"/console/complaints/{pin.code}",
        }
        for pin in found
    ]
    return JSONResponse(
        {
            "shown": len(points),
            "limit": MAP_LIMIT,
            "capped": len(points) >= MAP_LIMIT,
            "points": points,
        },
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


# ---------------------------------------------------------------------------------------------
# One ticket


def _find(session: Session, staff: Staff, code: str, *, for_update: bool = False) -> Complaint:
    """The ticket of the staff member's community with this code, or a 404 page."""
    wanted = normalize_code(code)
    if wanted is None:
        raise ConsoleError(404, "console.complaints.error.no_ticket")
    if not for_update:
        found = get_by_code(session, staff.community_id, wanted)
    else:  # two coordinators changing it at once: the second waits and sees the first's change
        found = session.exec(
            select(Complaint)
            .where(Complaint.code == wanted, Complaint.community_id == staff.community_id)
            .with_for_update()
        ).first()
    if found is None:
        raise ConsoleError(404, "console.complaints.error.no_ticket")
    return found


@dataclass(frozen=True)
class MediaItem:
    """A photo or the voice note of a ticket, as the page shows it (never its bytes)."""

    id: int
    position: int
    kept: bool  # its bytes are stored, checked by their content
    pending: bool  # still to be fetched from the platform
    url: str


def _media(session: Session, complaint: Complaint) -> tuple[list[MediaItem], MediaItem | None]:
    photo_rows = session.exec(
        select(ComplaintPhoto.media_id, ComplaintPhoto.position)
        .where(ComplaintPhoto.complaint_id == complaint.id)
        .order_by(col(ComplaintPhoto.position))
    ).all()
    ids = [int(m) for m, _ in photo_rows]
    if complaint.voice_media_id is not None:
        ids.append(complaint.voice_media_id)
    state: dict[int, tuple[bool, bool, str]] = {}
    if ids:
        # Not the bytes: whether they are there, and their type.
        for media_id, size, pending, kind in session.exec(
            select(
                MediaFile.id, MediaFile.size, MediaFile.pending_fetch, MediaFile.content_type
            ).where(col(MediaFile.id).in_(ids))
        ).all():
            state[int(media_id or 0)] = (size is not None, bool(pending), kind)

    def item(media_id: int, position: int, kinds: frozenset[str]) -> MediaItem:
        kept, pending, kind = state.get(media_id, (False, False, ""))
        return MediaItem(
            media_id,
            position,
            kept and kind in kinds,
            pending,
            f"/console/complaints/{complaint.code}/media/{media_id}",
        )

    photos = [item(int(m), int(p), PHOTO_KINDS) for m, p in photo_rows]
    voice = (
        item(complaint.voice_media_id, 0, VOICE_KINDS)
        if complaint.voice_media_id is not None
        else None
    )
    return photos, voice


def _author(t: Translator, names: dict[int, str], member_id: int | None, label: str | None) -> str:
    if label == "reporter":  # reporters are counted, never named (as in wlcc complaints show)
        return t("console.complaints.by_reporter")
    if member_id is not None and member_id in names:
        return names[member_id]
    if label and label.startswith(ESCALATION_LABEL):
        return t("console.complaints.by_escalation")
    if label == "cli":
        return t("console.complaints.by_cli")
    return t("console.complaints.by_unknown")


def _ticket_page(
    request: Request,
    staff: Staff,
    db: Database,
    settings: Settings,
    code: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    t = staff.t
    today = local_today(settings.timezone)
    with db.transaction() as session:
        complaint = _find(session, staff, code)
        photos, voice = _media(session, complaint)
        history = list(events(session, complaint))
        ids = {
            e.actor_member_id
            for e in history
            if e.actor_member_id is not None and e.actor_label != "reporter"
        }
        names = {}
        if ids:
            names = {
                int(m.id or 0): m.name
                for m in session.exec(select(Member).where(col(Member.id).in_(ids))).all()
            }
        duplicate_code = None
        if complaint.duplicate_of is not None:
            target = session.get(Complaint, complaint.duplicate_of)
            duplicate_code = target.code if target is not None else None
    changes = [
        (e, _author(t, names, e.actor_member_id, e.actor_label))
        for e in history
        if not e.internal and e.to_status is not None
    ]
    notes = [
        (e, _author(t, names, e.actor_member_id, e.actor_label)) for e in history if e.internal
    ]
    limit = deadline(complaint, settings)
    done = request.query_params.get("done")
    return render(
        request,
        "complaints/ticket.html",
        t,
        status_code=status_code,
        sections=menu_for(staff),
        complaint=complaint,
        received=to_local(complaint.created_at, settings.timezone),
        zone=settings.timezone,
        photos=photos,
        voice=voice,
        changes=changes,
        notes=notes,
        limit=limit,
        overdue=limit is not None and limit.overdue(today),
        duplicate_code=duplicate_code,
        next_statuses=allowed_next(complaint.status),
        has_pin=complaint.latitude is not None and complaint.longitude is not None,
        error=error,
        values=values or {},
        done=done if done in DONE and error is None else None,
        max_note=MAX_DESCRIPTION,
        max_field=MAX_FIELD,
    )


@router.get("/console/complaints/{code}", response_class=HTMLResponse)
def complaint_ticket(
    request: Request, code: str, staff: Triage, db: DatabaseDep, settings: SettingsDep
) -> HTMLResponse:
    page = _ticket_page(request, staff, db, settings, code)
    audit(db, staff, "complaint.view", target=normalize_code(code))
    return page


@router.get("/console/complaints/{code}/media/{media_id}")
def complaint_media(code: str, media_id: str, staff: Triage, db: DatabaseDep) -> Response:
    """A photo or the voice note of this ticket, from the bytes the bot kept (checked by their
    content when they were fetched); 404 for any other media, or one not (yet) kept."""
    if not media_id.isdigit() or len(media_id) > 18:
        raise ConsoleError(404, "console.error.not_found")
    wanted = int(media_id)
    with db.transaction() as session:
        complaint = _find(session, staff, code)
        photo_ids = set(
            session.exec(
                select(ComplaintPhoto.media_id).where(ComplaintPhoto.complaint_id == complaint.id)
            ).all()
        )
        if wanted in photo_ids:
            kinds = PHOTO_KINDS
        elif wanted == complaint.voice_media_id:
            kinds = VOICE_KINDS
        else:
            raise ConsoleError(404, "console.error.not_found")
        media = session.get(MediaFile, wanted)
        if (
            media is None
            or media.community_id != complaint.community_id
            or media.data is None
            or media.content_type not in kinds
        ):
            raise ConsoleError(404, "console.complaints.error.no_media")
        data, kind = bytes(media.data), media.content_type
    return Response(
        data,
        media_type=kind,
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": "inline",
        },
    )


def _done(code: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"/console/complaints/{code}?done={what}", status_code=303)


def _refusal_text(t: Translator, refused: ComplaintRefused) -> str:
    if refused.reason == Refusal.IMPOSSIBLE:
        return t(
            "complaints.refused.impossible",
            status=status_label(t, str(refused.details.get("status") or "")),
        )
    return t(f"complaints.refused.{refused.reason}")


@router.post("/console/complaints/{code}/status", response_class=HTMLResponse)
def complaint_status(
    request: Request, code: str, posted: Posted, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """A status change with its note: ``change_status``, as KELUHAN and ``wlcc complaints
    status`` do (every reporter is told through the outbox); a refusal changes nothing."""
    staff, form = posted
    values = {
        "to": form_field(form, "to", 32),
        "note": form_field(form, "note", MAX_DESCRIPTION),
        "forwarded_to": form_field(form, "forwarded_to", MAX_FIELD),
        "duplicate_of": form_field(form, "duplicate_of", 32),
    }
    to = values["to"]
    problem: str | None = None
    reason = ""
    try:
        with db.transaction() as session:
            complaint = _find(session, staff, code, for_update=True)
            ticket = complaint.code
            duplicate_of = None
            if to == Status.DUPLICATE and values["duplicate_of"]:
                duplicate_of = get_by_code(session, staff.community_id, values["duplicate_of"])
                if duplicate_of is None:
                    raise ComplaintRefused(Refusal.BAD_DUPLICATE_OF)
            change_status(
                session,
                complaint,
                to,
                note=values["note"] or None,
                actor_member_id=staff.member_id,
                channel=CHANNEL,
                forwarded_to=values["forwarded_to"] if to == Status.FORWARDED else None,
                duplicate_of=duplicate_of,
            )
    except ComplaintRefused as refused:
        problem, reason = _refusal_text(staff.t, refused), refused.reason
    if problem is not None:
        audit(
            db,
            staff,
            "complaint.status",
            allowed=False,
            target=normalize_code(code),
            detail={"to": to[:32], "reason": reason},
        )
        return _ticket_page(
            request, staff, db, settings, code, status_code=422, error=problem, values=values
        )
    return _done(ticket, "status")


@router.post("/console/complaints/{code}/notes", response_class=HTMLResponse)
def complaint_note(
    request: Request, code: str, posted: Posted, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """An internal note: kept for staff, never sent to a reporter, never on Open311."""
    staff, form = posted
    text = form_field(form, "note", MAX_DESCRIPTION)
    if not text:
        return _ticket_page(
            request,
            staff,
            db,
            settings,
            code,
            status_code=422,
            error=staff.t("console.complaints.error.empty_note"),
        )
    with db.transaction() as session:
        complaint = _find(session, staff, code, for_update=True)
        add_note(session, complaint, text, actor_member_id=staff.member_id, channel=CHANNEL)
        ticket = complaint.code
    return _done(ticket, "note")


@router.post("/console/complaints/{code}/public", response_class=HTMLResponse)
def complaint_public(
    request: Request, code: str, posted: Posted, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """Whether Open311 shows the typed description (after a coordinator read it)."""
    staff, form = posted
    choice = form_field(form, "public", 8)
    if choice not in ("yes", "no"):
        return _ticket_page(
            request,
            staff,
            db,
            settings,
            code,
            status_code=422,
            error=staff.t("console.complaints.error.choose_public"),
        )
    public = choice == "yes"
    with db.transaction() as session:
        complaint = _find(session, staff, code, for_update=True)
        if complaint.public_description != public:
            set_public_description(
                session, complaint, public, actor_member_id=staff.member_id, channel=CHANNEL
            )
        ticket = complaint.code
    return _done(ticket, "public" if public else "private")
