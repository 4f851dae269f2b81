"""Open311 GeoReport v2, read-only: the complaint categories and the tickets as open data.

``GET /open311/v2/services.{json,xml}``, ``GET /open311/v2/requests.{json,xml}`` (filters
``service_request_id``, ``service_code``, ``start_date``, ``end_date``, ``status``; the
extensions ``page`` and ``page_size``; ``jurisdiction_id`` when the server hosts several
communities) and ``GET /open311/v2/requests/{id}.{json,xml}``. What is published and what
never is, and the filters' rules: ``storage/complaints_open311.py``.

Answers follow the specification: JSON (``application/json; charset=utf-8``) is an array of
objects; XML (``text/xml; charset=utf-8``, with its declaration) is ``<services><service>``
or ``<service_requests><request>``, a ``null`` as an empty element. A bad filter is a 400 and
an unknown ticket or format a 404, each with the specification's error body (an array of
``{"code", "description"}``, or ``<errors><error>``); never a 500. No API key: it is read-only
public data.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.deps import DatabaseDep, SettingsDep
from storage.complaints_open311 import (
    FIELDS,
    SERVICE_FIELDS,
    Open311Error,
    jurisdiction,
    parse_query,
    request,
    requests,
    services,
)
from wlcc.formatting import utcnow

router = APIRouter(prefix="/open311/v2")

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml(root: str, item: str, records: list[dict[str, Any]], fields: tuple[str, ...]) -> bytes:
    top = ElementTree.Element(root)
    for record in records:
        element = ElementTree.SubElement(top, item)
        for name in fields:
            ElementTree.SubElement(element, name).text = _xml_text(record.get(name))
    body = ElementTree.tostring(top, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'.encode()


def _answer(
    fmt: str, root: str, item: str, records: list[dict[str, Any]], fields: tuple[str, ...]
) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, records, fields), media_type=FORMATS["xml"])
    return Response(_json(records), media_type=FORMATS["json"])


def _error(fmt: str, status: int, description: str) -> Response:
    errors = [{"code": status, "description": description}]
    if fmt == "xml":
        body = _xml("errors", "error", errors, ("code", "description"))
        return Response(body, status_code=status, media_type=FORMATS["xml"])
    return Response(_json(errors), status_code=status, media_type=FORMATS["json"])


def _format(fmt: str) -> str | None:
    fmt = fmt.lower()
    return fmt if fmt in FORMATS else None


def _unknown_format(fmt: str) -> Response:
    return _error("json", 404, f"no such format {fmt[:20]!r}: use .json or .xml")


@router.get("/services.{fmt}")
def get_services(fmt: str, request_: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    """The complaint categories (metadata false, type realtime)."""
    chosen = _format(fmt)
    if chosen is None:
        return _unknown_format(fmt)
    try:
        with db.transaction() as session:
            jurisdiction(session, request_.query_params.get("jurisdiction_id"))
    except Open311Error as exc:
        return _error(chosen, exc.status, exc.description)
    return _answer(chosen, "services", "service", services(settings), SERVICE_FIELDS)


@router.get("/requests.{fmt}")
def get_requests(fmt: str, request_: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    """A page of tickets, newest first (default: the last 90 days)."""
    chosen = _format(fmt)
    if chosen is None:
        return _unknown_format(fmt)
    params = request_.query_params
    try:
        query = parse_query(params, now=utcnow(), page_size=settings.wlcc_open311_page_size)
        with db.transaction() as session:
            community_id = jurisdiction(session, params.get("jurisdiction_id"))
            found = requests(session, community_id, query, settings)
    except Open311Error as exc:
        return _error(chosen, exc.status, exc.description)
    return _answer(chosen, "service_requests", "request", found, FIELDS)


@router.get("/requests/{ticket}.{fmt}")
def get_request(
    ticket: str, fmt: str, request_: Request, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """One ticket by its number (an array of one, as the specification has it)."""
    chosen = _format(fmt)
    if chosen is None:
        return _unknown_format(fmt)
    try:
        with db.transaction() as session:
            community_id = jurisdiction(session, request_.query_params.get("jurisdiction_id"))
            found = request(session, community_id, ticket, settings)
    except Open311Error as exc:
        return _error(chosen, exc.status, exc.description)
    if found is None:
        return _error(chosen, 404, f"service_request_id {ticket[:20]!r} not found")
    return _answer(chosen, "service_requests", "request", [found], FIELDS)
