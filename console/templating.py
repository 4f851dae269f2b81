"""Jinja templates for the console: every word comes from the message catalog through ``t``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from wlcc.formatting import format_date, format_datetime, format_money
from wlcc.i18n import Translator

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html",), default=True),
    undefined=StrictUndefined,  # a name missing from the context is a bug, not an empty string
    trim_blocks=True,
    lstrip_blocks=True,
)


def _money(amount: int | None, lang: str = "id") -> str:
    return "" if amount is None else format_money(amount, lang)


def _when(moment: datetime | date | None, lang: str = "id") -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return format_datetime(moment, lang)
    return format_date(moment, lang)


env.filters["money"] = _money
env.filters["when"] = _when


def render(
    request: Request,
    template: str,
    t: Translator,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page: ``template`` with ``t``, the request and the staff member (if logged in)."""
    context.setdefault("staff", getattr(request.state, "console_staff", None))
    context.setdefault("csrf", getattr(request.state, "console_csrf", ""))
    html = env.get_template(template).render(request=request, t=t, lang=t.lang, **context)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    # Pages show personal data: never stored by a browser or proxy cache, never framed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: https://*.tile.openstreetmap.org; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    )
    return response


def download(
    content: str | bytes, filename: str, media_type: str = "text/csv; charset=utf-8"
) -> Response:
    """A file to save (a CSV, a PDF): never cached, its type as given."""
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
