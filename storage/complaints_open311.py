"""Open data: the complaint tickets as Open311 GeoReport v2 reads them (read-only), for the
routes of ``bot/open311.py``.

**What is published, and what never is.** A ticket is published with the specification's
field names and nothing that identifies a person:

* ``service_request_id``: the ticket's number (its database id), never its code: the code is
  what a reporter holds to follow her ticket (``STATUS AL-7K3Q9``), hard to guess on purpose;
* ``status`` ``open`` (received, verified, forwarded, in progress) or ``closed`` (resolved,
  rejected, duplicate);
* ``status_notes``: the note of the public change that gave the ticket its status (the note
  every reporter was sent); internal notes never;
* ``service_code`` / ``service_name``: the category;
* ``description``: only once a coordinator made it public (``wlcc complaints publish``),
  else ``null``; a voice note never;
* ``agency_responsible``: to whom it was forwarded (coordinators name an organisation);
* ``requested_datetime``, ``updated_datetime`` (for a closed ticket: when it was closed), in
  W3C format with the offset of ``WLCC_TIMEZONE``;
* ``address``: RT/RW and kelurahan and the city only, never the typed street address (it can
  name a house or a person); ``lat`` / ``long`` rounded to 3 decimals (about 110 m), so a pin
  on a house points at the neighbourhood;
* ``expected_datetime``, ``service_notice``, ``address_id``, ``zipcode``, ``media_url``:
  ``null`` (no photo is ever published).

No name, phone, chat, photo, voice note, internal note or request for help (that is another
table, which nothing here reads) is published.

**Filters** (GET requests): ``service_request_id`` (comma list, at most :data:`MAX_IDS`;
overrides the others), ``service_code`` (comma list), ``start_date`` / ``end_date`` (W3C
datetimes with their zone, on ``requested_datetime``; at most 90 days apart; the default is
the last 90 days, and one alone takes 90 days from or up to it), ``status`` (``open``,
``closed``, comma list), and two extensions for paging: ``page`` (from 1) and ``page_size``
(1 to 1000; default ``WLCC_OPEN311_PAGE_SIZE``, 100). Newest first. ``jurisdiction_id`` is the
community's slug, needed only when the deployment hosts several. An empty parameter counts as
absent (the specification's rule); a bad one is an :class:`Open311Error` (HTTP 400, or 404 for
an unknown jurisdiction), worded for the client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select as select_columns
from sqlalchemy import union_all
from sqlmodel import Session, col, select

from storage.complaints import Category, Complaint, ComplaintEvent, Status, category_label
from storage.models import Community
from wlcc.i18n import Translator
from wlcc.settings import Settings

OPEN = "open"
CLOSED = "closed"
SPAN = timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_IDS = 100
PLACES = 3  # decimals of a published position: about 110 m
FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
SERVICE_FIELDS = (
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
)


class Open311Error(Exception):
    """A request the API refuses: ``status`` the HTTP code, ``description`` for the client."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def open311_status(status: str) -> str:
    return OPEN if status in Status.OPEN else CLOSED


def _statuses(wanted: Sequence[str]) -> list[str]:
    found: list[str] = []
    for value in wanted:
        found += list(Status.OPEN) if value == OPEN else [Status.RESOLVED, *Status.FINAL]
    return found


# --- services ---


def services(settings: Settings) -> list[dict[str, Any]]:
    """The complaint categories as GeoReport services, in the deployment's language."""
    t = Translator(settings.wlcc_default_language)
    return [
        {
            "service_code": code,
            "service_name": category_label(t, code),
            "description": t(f"open311.service.{code}"),
            "metadata": False,
            "type": "realtime",
            "keywords": t(f"open311.keywords.{code}"),
            "group": t("open311.group"),
        }
        for code in Category.ALL
    ]


# --- the query ---


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[int, ...] | None
    service_codes: tuple[str, ...]
    start: datetime
    end: datetime
    statuses: tuple[str, ...]
    page: int
    page_size: int


def _given(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return value.strip() if value is not None and value.strip() else None


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_w3c(text: str, name: str) -> datetime:
    """A W3C datetime with its zone (``2026-12-01T00:00:00Z``, ``...+07:00``), as aware UTC."""
    problem = Open311Error(
        400,
        f"{name} must be a W3C datetime with its time zone, e.g. 2026-12-01T00:00:00Z "
        f"or 2026-12-01T07:00:00+07:00; got {text[:40]!r}",
    )
    if "T" not in text.upper():
        raise problem
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise problem from None
    if moment.tzinfo is None:
        raise problem
    return moment.astimezone(UTC)


def _number(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = _given(params, name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise Open311Error(400, f"{name} must be a whole number from {low} to {high}")
    return int(text)


def parse_query(params: Mapping[str, str], *, now: datetime, page_size: int) -> RequestQuery:
    """Read GET requests' parameters; an :class:`Open311Error` (400) naming the bad one."""
    ids: tuple[int, ...] | None = None
    ids_text = _given(params, "service_request_id")
    if ids_text is not None:
        parts = _list(ids_text)
        if not parts or not all(p.isdigit() and len(p) <= 18 for p in parts):
            raise Open311Error(400, "service_request_id must be ticket numbers, comma separated")
        if len(parts) > MAX_IDS:
            raise Open311Error(400, f"at most {MAX_IDS} service_request_id at once")
        ids = tuple(dict.fromkeys(int(p) for p in parts))
    codes = tuple(_list(_given(params, "service_code") or ""))
    unknown = [c for c in codes if c not in Category.ALL]
    if unknown:
        raise Open311Error(
            400, f"unknown service_code {unknown[0][:40]!r}; one of {', '.join(Category.ALL)}"
        )
    statuses = tuple(s.lower() for s in _list(_given(params, "status") or ""))
    if any(s not in (OPEN, CLOSED) for s in statuses):
        raise Open311Error(400, "status must be open or closed (comma separated for both)")
    start_text, end_text = _given(params, "start_date"), _given(params, "end_date")
    start = parse_w3c(start_text, "start_date") if start_text else None
    end = parse_w3c(end_text, "end_date") if end_text else None
    if start is None and end is None:
        end = now.astimezone(UTC)
        start = end - SPAN
    elif start is None:
        assert end is not None
        start = end - SPAN
    elif end is None:
        end = start + SPAN
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > SPAN:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return RequestQuery(
        ids=ids,
        service_codes=codes,
        start=start,
        end=end,
        statuses=tuple(dict.fromkeys(statuses)),
        page=_number(params, "page", 1, 1, 1_000_000),
        page_size=_number(params, "page_size", page_size, 1, MAX_PAGE_SIZE),
    )


def jurisdiction(session: Session, jurisdiction_id: str | None) -> int:
    """The community a request is about: by slug; optional while there is one community."""
    wanted = (jurisdiction_id or "").strip()
    if wanted:
        found = session.exec(select(Community.id).where(Community.slug == wanted)).first()
        if found is None:
            raise Open311Error(404, f"jurisdiction_id {wanted[:60]!r} not found")
        return int(found)
    ids = session.exec(select(Community.id).order_by(col(Community.id)).limit(2)).all()
    if len(ids) != 1 or ids[0] is None:
        raise Open311Error(400, "jurisdiction_id was not provided (this server hosts several)")
    return int(ids[0])


# --- the records ---

_COLUMNS = (
    col(Complaint.id),
    col(Complaint.status),
    col(Complaint.category),
    col(Complaint.description),
    col(Complaint.public_description),
    col(Complaint.forwarded_to),
    col(Complaint.created_at),
    col(Complaint.updated_at),
    col(Complaint.resolved_at),
    col(Complaint.closed_at),
    col(Complaint.rt_rw),
    col(Complaint.kelurahan),
    col(Complaint.latitude),
    col(Complaint.longitude),
)


def _w3c(moment: datetime | None, settings: Settings) -> str | None:
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(settings.timezone).replace(microsecond=0).isoformat()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, PLACES)


def _address(t: Translator, rt_rw: str | None, kelurahan: str | None) -> str | None:
    if not kelurahan and not rt_rw:
        return None
    parts = []
    if rt_rw:
        rt, _, rw = rt_rw.partition("/")
        parts.append(t("open311.address.rt_rw", rt=rt, rw=rw))
    if kelurahan:
        parts.append(t("open311.address.kelurahan", kelurahan=kelurahan))
    parts.append(t("open311.address.city"))
    return ", ".join(parts)


def _notes(session: Session, rows: Sequence[Any]) -> dict[int, str | None]:
    """Each ticket's status_notes: the note of the public change to its current status."""
    ids = [row[0] for row in rows]
    if not ids:
        return {}
    current = {row[0]: row[1] for row in rows}
    found: dict[int, str | None] = {}
    events = session.exec(
        select(ComplaintEvent.complaint_id, ComplaintEvent.to_status, ComplaintEvent.note)
        .where(
            col(ComplaintEvent.complaint_id).in_(ids),
            col(ComplaintEvent.internal).is_(False),
            col(ComplaintEvent.to_status).is_not(None),
        )
        .order_by(col(ComplaintEvent.id))
    ).all()
    for complaint_id, to_status, note in events:
        if to_status == current.get(complaint_id):
            found[complaint_id] = note or None
    return found


def _record(row: Any, note: str | None, t: Translator, settings: Settings) -> dict[str, Any]:
    (
        ticket_id,
        status,
        category,
        description,
        public,
        forwarded_to,
        created_at,
        updated_at,
        resolved_at,
        closed_at,
        rt_rw,
        kelurahan,
        latitude,
        longitude,
    ) = row
    state = open311_status(status)
    updated = (closed_at or resolved_at or updated_at) if state == CLOSED else updated_at
    return {
        "service_request_id": str(ticket_id),
        "status": state,
        "status_notes": note,
        "service_name": category_label(t, category),
        "service_code": category,
        "description": description if public and description else None,
        "agency_responsible": forwarded_to or None,
        "service_notice": None,
        "requested_datetime": _w3c(created_at, settings),
        "updated_datetime": _w3c(updated, settings),
        "expected_datetime": None,
        "address": _address(t, rt_rw, kelurahan),
        "address_id": None,
        "zipcode": None,
        "lat": _round(latitude),
        "long": _round(longitude),
        "media_url": None,
    }


def _window_page(community_id: int, query: RequestQuery, offset: int, *, union: bool) -> Any:
    """The ids of one page of a time window, newest first. A 90-day window holds thousands of
    tickets and no index orders them all by time, but the (community, status, created_at)
    index orders each status's. On PostgreSQL (``union``) each status gives its newest
    ``offset + page_size`` and the page is cut from their union: a few hundred index entries
    read instead of the whole window (the default page's query: 0.5 ms instead of about 20).
    SQLite reads the window's ids from the index, which covers them, and sorts them in
    process faster than it runs the union (measured: bench/complaints.py)."""
    statuses = _statuses(query.statuses or (OPEN, CLOSED))
    if not union:
        page = select_columns(col(Complaint.id)).where(
            col(Complaint.community_id) == community_id,
            col(Complaint.status).in_(statuses),
            col(Complaint.created_at) >= query.start,
            col(Complaint.created_at) <= query.end,
        )
        if query.service_codes:
            page = page.where(col(Complaint.category).in_(query.service_codes))
        return (
            page.order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
            .offset(offset)
            .limit(query.page_size)
        )
    wanted = offset + query.page_size
    parts = []
    for status in statuses:
        part = select_columns(col(Complaint.id), col(Complaint.created_at)).where(
            col(Complaint.community_id) == community_id,
            col(Complaint.status) == status,
            col(Complaint.created_at) >= query.start,
            col(Complaint.created_at) <= query.end,
        )
        if query.service_codes:
            part = part.where(col(Complaint.category).in_(query.service_codes))
        part = part.order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
        parts.append(select_columns(part.limit(wanted).subquery()))
    newest = union_all(*parts).subquery()
    return (
        select_columns(newest.c.id)
        .order_by(newest.c.created_at.desc(), newest.c.id.desc())
        .offset(offset)
        .limit(query.page_size)
    )


def requests(
    session: Session, community_id: int, query: RequestQuery, settings: Settings
) -> list[dict[str, Any]]:
    """One page of tickets matching ``query``, newest first, as GeoReport records."""
    newest = (col(Complaint.created_at).desc(), col(Complaint.id).desc())
    offset = (query.page - 1) * query.page_size
    if query.ids is not None:
        page: Any = (
            select_columns(col(Complaint.id))
            .where(col(Complaint.community_id) == community_id, col(Complaint.id).in_(query.ids))
            .order_by(*newest)
            .offset(offset)
            .limit(query.page_size)
        )
    else:
        union = session.get_bind().dialect.name == "postgresql"
        page = _window_page(community_id, query, offset, union=union)
    stmt = select_columns(*_COLUMNS).where(col(Complaint.id).in_(page.scalar_subquery()))
    stmt = stmt.order_by(*newest)
    rows = session.execute(stmt).all()
    notes = _notes(session, rows)
    t = Translator(settings.wlcc_default_language)
    return [_record(row, notes.get(row[0]), t, settings) for row in rows]


def request(
    session: Session, community_id: int, ticket: str, settings: Settings
) -> dict[str, Any] | None:
    """One ticket by its number, or None (unknown, another community's, not a number)."""
    if not ticket.isdigit() or len(ticket) > 18:
        return None
    row = session.execute(
        select_columns(*_COLUMNS).where(
            col(Complaint.id) == int(ticket), col(Complaint.community_id) == community_id
        )
    ).first()
    if row is None:
        return None
    notes = _notes(session, [row])
    return _record(row, notes.get(row[0]), Translator(settings.wlcc_default_language), settings)
