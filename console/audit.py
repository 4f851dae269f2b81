"""The audit log for admins (``audit.view``): who did what, allowed or refused, newest first,
with filters (action, allowed or refused, who, a range of days) and pages.

It shows this community's lines and those tied to no community (failed logins of numbers the
bot does not know). Days are the community's calendar days (WIB, as every time on the console).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from bot.deps import DatabaseDep
from console.menu import menu_for
from console.security import Require, Staff, page_number, pages_for
from console.templating import render
from storage.models import AuditLog, Member
from wlcc.formatting import DEFAULT_ZONE

router = APIRouter()

AuditStaff = Annotated[Staff, Depends(Require("audit.view"))]

PER_PAGE = 50
RESULTS = ("yes", "no")  # the "allowed" filter: allowed, refused


@dataclass
class Filters:
    action: str = ""
    allowed: str = ""
    actor: str = ""
    start: str = ""  # YYYY-MM-DD, as an <input type="date"> sends it
    end: str = ""

    def query(self, page: int | None = None) -> str:
        pairs = [
            (name, value)
            for name, value in (
                ("action", self.action),
                ("allowed", self.allowed),
                ("actor", self.actor),
                ("from", self.start),
                ("to", self.end),
            )
            if value
        ]
        if page is not None:
            pairs.append(("page", str(page)))
        return urlencode(pairs)


class BadFilter(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _visible(community_id: int) -> ColumnElement[bool]:
    return or_(col(AuditLog.community_id) == community_id, col(AuditLog.community_id).is_(None))


def _actions(session: Session, community_id: int) -> list[str]:
    rows = session.exec(
        select(AuditLog.action).where(_visible(community_id)).distinct().order_by(AuditLog.action)
    )
    return [str(a) for a in rows]


def _actors(session: Session, community_id: int) -> list[tuple[int, str]]:
    rows = session.exec(
        select(Member.id, Member.name)
        .where(
            col(Member.id).in_(
                select(AuditLog.actor_member_id)
                .where(_visible(community_id), col(AuditLog.actor_member_id).is_not(None))
                .distinct()
            )
        )
        .order_by(col(Member.name), col(Member.id))
    )
    return [(int(i), str(n)) for i, n in rows if i is not None]


def _day(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadFilter("console.audit.error_date") from None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=DEFAULT_ZONE).astimezone(UTC)


def _conditions(
    filters: Filters, actions: list[str], actors: list[tuple[int, str]]
) -> list[ColumnElement[bool]]:
    """The filters as conditions; BadFilter for a value the form cannot have sent."""
    where: list[ColumnElement[bool]] = []
    if filters.action:
        if filters.action not in actions:
            raise BadFilter("console.audit.error_action")
        where.append(col(AuditLog.action) == filters.action)
    if filters.allowed:
        if filters.allowed not in RESULTS:
            raise BadFilter("console.audit.error_allowed")
        where.append(col(AuditLog.allowed) == (filters.allowed == "yes"))
    if filters.actor:
        if not filters.actor.isdigit() or int(filters.actor) not in {i for i, _ in actors}:
            raise BadFilter("console.audit.error_actor")
        where.append(col(AuditLog.actor_member_id) == int(filters.actor))
    start, end = _day(filters.start), _day(filters.end)
    if start is not None and end is not None and start > end:
        raise BadFilter("console.audit.error_range")
    if start is not None:
        where.append(col(AuditLog.created_at) >= _local_midnight(start))
    if end is not None:
        where.append(col(AuditLog.created_at) < _local_midnight(end + timedelta(days=1)))
    return where


def _detail(detail: dict[str, Any] | None) -> str:
    if not detail:
        return ""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)


@router.get("/console/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    staff: AuditStaff,
    db: DatabaseDep,
    action: str = "",
    allowed: str = "",
    actor: str = "",
    page: str | None = None,
) -> HTMLResponse:
    params = request.query_params
    filters = Filters(
        action=action.strip()[:64],
        allowed=allowed.strip()[:8],
        actor=actor.strip()[:12],
        start=(params.get("from") or "").strip()[:10],
        end=(params.get("to") or "").strip()[:10],
    )
    error: str | None = None
    entries: list[dict[str, Any]] = []
    number, pages, total = 1, 1, 0
    with db.transaction() as session:
        actions = _actions(session, staff.community_id)
        actors = _actors(session, staff.community_id)
        try:
            where = [_visible(staff.community_id), *_conditions(filters, actions, actors)]
        except BadFilter as bad:
            error = bad.key
        if error is None:
            total = int(
                session.exec(select(func.count()).select_from(AuditLog).where(*where)).one()
            )
            pages = pages_for(total, PER_PAGE)
            number = page_number(page, pages)
            names = dict(actors)
            rows = session.exec(
                select(AuditLog)
                .where(*where)
                .order_by(col(AuditLog.created_at).desc(), col(AuditLog.id).desc())
                .offset((number - 1) * PER_PAGE)
                .limit(PER_PAGE)
            )
            entries = [
                {
                    "entry": row,
                    "actor": names.get(row.actor_member_id or 0),
                    "detail": _detail(row.detail),
                }
                for row in rows
            ]
    return render(
        request,
        "audit/list.html",
        staff.t,
        status_code=422 if error else 200,
        sections=menu_for(staff),
        filters=filters,
        actions=actions,
        actors=actors,
        entries=entries,
        error=error,
        page=number,
        pages=pages,
        total=total,
    )
