"""The coordinators' view of the complaint tickets: the list by age and kelurahan, and the
exports (CSV and GeoJSON) they hand to the city and the contractor (``wlcc complaints``).

**What an export holds, and what it never holds.** It is for coordinators and the parties who
must find and fix the problem, so it carries what that takes: the code, category, status and
its dates, the place (the pin as reported, to six decimals; the typed address, RT/RW,
kelurahan), the description as reported (with ``description_public`` saying whether a
coordinator published it on Open311), to whom it was forwarded, how many people reported it,
how many photos it has, and whether a time limit has passed. It holds nothing that identifies
a reporter: no names, phone numbers, chat ids, photos or voice notes themselves (a count and a
yes/no only), no internal notes, and never a request for help (those are another table
altogether, which no query here reads). A description or a typed address may still carry what
a reporter wrote about herself ("depan rumah Bu ..."): read it before you pass the file on;
the public surface is Open311 (``storage/complaints_open311.py``), which publishes far less.

Dates in the files are local (``WLCC_TIMEZONE``) ISO 8601 with their offset. GeoJSON follows
RFC 7946 (``wlcc/geojson.py``): ``[longitude, latitude]``, a ``null`` geometry for a ticket
without a pin.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, text
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from storage.complaints import (
    Category,
    Complaint,
    ComplaintEvent,
    ComplaintPhoto,
    Status,
    normalize_code,
    normalize_kelurahan,
)
from storage.complaints_escalation import (
    ESCALATION_LABEL,
    STAGES,
    Deadline,
    deadline,
    overdue_clause,
)
from wlcc.geojson import dumps, feature, feature_collection, point
from wlcc.settings import Settings

CSV_COLUMNS = (
    "code",
    "received",
    "category",
    "status",
    "kelurahan",
    "rt_rw",
    "address",
    "latitude",
    "longitude",
    "outside_palembang",
    "description",
    "description_public",
    "voice_note",
    "photos",
    "reporters",
    "forwarded_to",
    "verified",
    "forwarded",
    "resolved",
    "closed",
    "updated",
    "overdue",
)
FORMATS = ("csv", "geojson")


@dataclass(frozen=True)
class Filters:
    """Which tickets: all of a community unless narrowed. Days are local and inclusive.

    The console's list narrows further: ``code`` (a part of the ticket code, any case),
    ``overdue_on`` (past a time limit on that local day: ``complaints_escalation``),
    ``escalated`` (flagged by the escalation at least once), newest first, and a page
    (``offset`` and ``limit``)."""

    community_id: int
    since: date | None = None
    until: date | None = None
    statuses: Sequence[str] = ()
    kelurahan: str | None = None
    categories: Sequence[str] = field(default_factory=tuple)
    limit: int | None = None
    code: str | None = None
    overdue_on: date | None = None
    escalated: bool = False
    newest_first: bool = False
    offset: int = 0


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_filters(filters: Filters) -> None:
    """A ValueError naming what is wrong (an unknown status or category, days reversed)."""
    unknown = [s for s in filters.statuses if s not in Status.ALL]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r} (one of {', '.join(Status.ALL)})")
    unknown = [c for c in filters.categories if c not in Category.ALL]
    if unknown:
        raise ValueError(f"unknown category {unknown[0]!r} (one of {', '.join(Category.ALL)})")
    if filters.since and filters.until and filters.until < filters.since:
        raise ValueError("--to is before --from")


def code_part(text: str) -> str:
    """What a code search looks for: the whole code when it is one (``al 7k3q9`` ->
    ``AL-7K3Q9``), else its letters and digits (``al-7k`` -> ``AL7K``), matched anywhere in
    a code without its dash; a ValueError for anything else."""
    whole = normalize_code(text)
    if whole is not None:
        return whole
    cleaned = re.sub(r"[\s\-_.#]+", "", text).upper()
    if not cleaned or len(cleaned) > 7 or not cleaned.isascii() or not cleaned.isalnum():
        raise ValueError(f"{text[:20]!r} is not a part of a ticket code")
    return cleaned


def _where(query: Any, filters: Filters, settings: Settings) -> Any:
    """``query`` narrowed to the tickets the filters name (no order, no page)."""
    check_filters(filters)
    zone = settings.timezone
    query = query.where(col(Complaint.community_id) == filters.community_id)
    if filters.since is not None:
        start = datetime.combine(filters.since, time(0), zone).astimezone(UTC)
        query = query.where(col(Complaint.created_at) >= start)
    if filters.until is not None:
        end = datetime.combine(filters.until + timedelta(days=1), time(0), zone).astimezone(UTC)
        query = query.where(col(Complaint.created_at) < end)
    if filters.statuses:
        query = query.where(col(Complaint.status).in_(list(filters.statuses)))
    if filters.kelurahan:
        query = query.where(col(Complaint.kelurahan) == normalize_kelurahan(filters.kelurahan))
    if filters.categories:
        query = query.where(col(Complaint.category).in_(list(filters.categories)))
    if filters.code:
        part = code_part(filters.code)
        if "-" in part:
            query = query.where(col(Complaint.code) == part)
        else:
            # Read from the code's own (unique) index, which holds every code: no table rows.
            matching = select(Complaint.id).where(
                func.replace(col(Complaint.code), "-", "").contains(part)
            )
            query = query.where(col(Complaint.id).in_(matching))
    if filters.overdue_on is not None:
        query = query.where(overdue_clause(filters.overdue_on, settings))
    if filters.escalated:
        flagged = select(ComplaintEvent.complaint_id).where(
            col(ComplaintEvent.actor_label).in_([ESCALATION_LABEL + s for s in STAGES])
        )
        query = query.where(col(Complaint.id).in_(flagged))
    return query


def _ordered(query: Any, filters: Filters) -> Any:
    if filters.newest_first:
        query = query.order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
    else:
        query = query.order_by(col(Complaint.created_at), col(Complaint.id))
    if filters.offset:
        query = query.offset(filters.offset)
    if filters.limit is not None:
        query = query.limit(filters.limit)
    return query


def tickets(session: Session, filters: Filters, settings: Settings) -> list[Complaint]:
    """The tickets the filters name, oldest first (newest first when asked), one page when
    ``limit`` (and ``offset``) are given."""
    query = _ordered(_where(select(Complaint), filters, settings), filters)
    return list(session.exec(query))


def count(session: Session, filters: Filters, settings: Settings) -> int:
    """How many tickets the filters name (whatever the page)."""
    query = _where(select(func.count()).select_from(Complaint), filters, settings)
    return int(session.exec(query).one())


@dataclass(frozen=True, slots=True)
class Pin:
    """A ticket on a map: no description, no address, nothing about a reporter."""

    code: str
    category: str
    status: str
    latitude: float
    longitude: float


def pins(session: Session, filters: Filters, settings: Settings) -> list[Pin]:
    """The pins of the tickets the filters name (those with one), in the filters' order, at
    most ``limit``."""
    query = select_columns(
        col(Complaint.code),
        col(Complaint.category),
        col(Complaint.status),
        col(Complaint.latitude),
        col(Complaint.longitude),
    ).where(col(Complaint.latitude).is_not(None), col(Complaint.longitude).is_not(None))
    rows = session.execute(_ordered(_where(query, filters, settings), filters)).all()
    return [Pin(code, cat, st, float(lat), float(lon)) for code, cat, st, lat, lon in rows]


def kelurahan_names(session: Session, community_id: int) -> list[str]:
    """The kelurahan the community's tickets name, in order (the list's filter choices): one
    index lookup per kelurahan (the next name after the last), not a scan of every ticket."""
    rows = session.execute(
        text(
            "WITH RECURSIVE k(name) AS ("
            " SELECT min(kelurahan) FROM complaint WHERE community_id = :c"
            " UNION ALL"
            " SELECT (SELECT min(kelurahan) FROM complaint"
            "         WHERE community_id = :c AND kelurahan > k.name)"
            " FROM k WHERE k.name IS NOT NULL"
            ") SELECT name FROM k WHERE name IS NOT NULL"
        ),
        {"c": community_id},
    ).all()
    return [str(name) for (name,) in rows]


def photo_counts(session: Session, ids: Iterable[int]) -> dict[int, int]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.exec(
        select(ComplaintPhoto.complaint_id, func.count())
        .where(col(ComplaintPhoto.complaint_id).in_(wanted))
        .group_by(col(ComplaintPhoto.complaint_id))
    ).all()
    return {int(cid): int(n) for cid, n in rows}


def _local(moment: datetime | None, settings: Settings) -> str:
    aware = _aware(moment)
    if aware is None:
        return ""
    return aware.astimezone(settings.timezone).replace(microsecond=0).isoformat()


def overdue_text(limit: Deadline | None, today: date) -> str:
    """``verify:2026-12-30`` (which limit passed, and its last day), or empty."""
    if limit is None or not limit.overdue(today):
        return ""
    return f"{limit.stage}:{limit.due.isoformat()}"


def _record(complaint: Complaint, photos: int, settings: Settings, today: date) -> dict[str, Any]:
    return {
        "code": complaint.code,
        "received": _local(complaint.created_at, settings),
        "category": complaint.category,
        "status": complaint.status,
        "kelurahan": complaint.kelurahan or "",
        "rt_rw": complaint.rt_rw or "",
        "address": complaint.address or "",
        "latitude": complaint.latitude,
        "longitude": complaint.longitude,
        "outside_palembang": complaint.outside_palembang,
        "description": complaint.description or "",
        "description_public": complaint.public_description,
        "voice_note": complaint.voice_media_id is not None,
        "photos": photos,
        "reporters": complaint.reporter_count,
        "forwarded_to": complaint.forwarded_to or "",
        "verified": _local(complaint.verified_at, settings),
        "forwarded": _local(complaint.forwarded_at, settings),
        "resolved": _local(complaint.resolved_at, settings),
        "closed": _local(complaint.closed_at, settings),
        "updated": _local(complaint.updated_at, settings),
        "overdue": overdue_text(deadline(complaint, settings), today),
    }


def records(
    session: Session, filters: Filters, settings: Settings, *, today: date
) -> list[dict[str, Any]]:
    found = tickets(session, filters, settings)
    counts = photo_counts(session, (c.id for c in found if c.id is not None))
    return [_record(c, counts.get(c.id or 0, 0), settings, today) for c in found]


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """UTF-8 CSV with a header line; booleans as ``yes``/``no``, no pin as empty cells."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: ("yes" if v else "no") if isinstance(v, bool) else ("" if v is None else v)
                for k, v in row.items()
            }
        )
    return out.getvalue()


def to_geojson(rows: Sequence[dict[str, Any]]) -> str:
    """A FeatureCollection: one Feature per ticket, its code as the id, the pin as a Point
    (``[longitude, latitude]``) or a null geometry."""
    features = []
    for row in rows:
        lat, lon = row["latitude"], row["longitude"]
        geometry = point(lon, lat) if lat is not None and lon is not None else None
        properties = {k: v for k, v in row.items() if k not in ("latitude", "longitude")}
        features.append(feature(geometry, properties, id=row["code"]))
    return dumps(feature_collection(features))


def export(
    session: Session, filters: Filters, settings: Settings, *, fmt: str, today: date
) -> tuple[str, int]:
    """(the file's text, how many tickets) in ``fmt`` (``csv`` or ``geojson``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (csv or geojson)")
    rows = records(session, filters, settings, today=today)
    return (to_csv(rows) if fmt == "csv" else to_geojson(rows)), len(rows)
