"""The console's pages on the app: routers, static files and the error pages.

``install(app)`` is called by app.py. Each feature's pages are one module here (members.py,
meetings.py, ledger.py, complaints.py, broadcasts.py, help_requests.py, audit.py) with its
templates under templates/<feature>/; this module only puts them together.
"""

from __future__ import annotations

import inspect
import threading
import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.deps import DatabaseDep, SettingsDep
from console import (
    audit,
    broadcasts,
    complaints,
    help_requests,
    ledger,
    login,
    meetings,
    members,
    simulator,
)
from console.charts import (
    Chart,
    attendance_chart,
    complaints_kelurahan_chart,
    complaints_status_chart,
    loans_chart,
    savings_chart,
)
from console.menu import menu_for
from console.security import LANG_COOKIE, ConsoleError, Home, LoginRequired, Staff, translator
from console.templating import STATIC, render
from storage import stats
from storage.db import Database
from storage.stats import Period, default_period
from wlcc.i18n import LANGUAGES
from wlcc.settings import Settings

router = APIRouter()


# The home page's pictures are kept this long (per database, community, role and language):
# twelve months of aggregates over every complaint event take a while on a large database, and
# a picture a minute old is as good as a new one.
DASHBOARD_SECONDS = 60.0
_dashboards: dict[tuple[str, int, str, str, str], tuple[float, list[Chart]]] = {}
_dashboards_lock = threading.Lock()


def dashboard(db: Database, settings: Settings, staff: Staff) -> list[Chart]:
    """The pictures of the home page, each only for the roles that may see its figures."""
    period = default_period(settings)
    key = (str(db.engine.url), staff.community_id, staff.role, staff.t.lang, str(period.last_day))
    now = time.monotonic()
    with _dashboards_lock:
        kept = _dashboards.get(key)
    if kept is not None and now - kept[0] < DASHBOARD_SECONDS:
        return kept[1]
    charts = _draw_dashboard(db, period, staff)
    with _dashboards_lock:
        if len(_dashboards) > 100:  # roles x languages x communities: a handful in practice
            _dashboards.clear()
        _dashboards[key] = (now, charts)
    return charts


def _draw_dashboard(db: Database, period: Period, staff: Staff) -> list[Chart]:
    t, community = staff.t, staff.community_id
    charts: list[Chart] = []
    with db.transaction() as session:
        if staff.can("meeting.attendees"):
            charts.append(attendance_chart(stats.attendance(session, community, period), t, period))
        if staff.can("ledger.view"):
            charts.append(savings_chart(stats.savings(session, community, period), t, period))
            charts.append(loans_chart(stats.loans(session, community, period), t, period))
        if staff.can("complaint.triage"):
            by_status = stats.complaints_by_status(session, community, period)
            by_place = stats.complaints_by_kelurahan(session, community, period)
            charts.append(complaints_status_chart(by_status, t, period))
            charts.append(complaints_kelurahan_chart(by_place, t, period))
    return charts


@router.get("/console/", response_class=HTMLResponse)
def home(request: Request, staff: Home, db: DatabaseDep, settings: SettingsDep) -> HTMLResponse:
    return render(
        request,
        "home.html",
        staff.t,
        sections=menu_for(staff),
        charts=dashboard(db, settings, staff),
    )


@router.get("/console", include_in_schema=False)
def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/lang/{lang}", include_in_schema=False)
def choose_language(request: Request, lang: str, next: str | None = None) -> Response:
    if lang not in LANGUAGES:
        raise ConsoleError(404, "console.error.not_found")
    target = next if next and next.startswith("/console/") and "//" not in next else "/console/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/console/"
    )
    return response


def _is_console(request: Request) -> bool:
    return request.url.path.startswith(("/console", "/simulator"))


def error_page(request: Request, status: int, message: str, **params: object) -> Response:
    t = translator(request)
    return render(
        request,
        "error.html",
        t,
        status_code=status,
        status=status,
        message=message,
        params=params,
        sections=menu_for(getattr(request.state, "console_staff", None)),
    )


def install(app: FastAPI) -> None:
    """Add the console's routes, its static files and its HTML error pages to ``app``."""
    app.include_router(login.router)
    app.include_router(router)
    for module_router in feature_routers():
        app.include_router(module_router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(ConsoleError)
    async def _console_error(request: Request, exc: ConsoleError) -> Response:
        if isinstance(exc, LoginRequired) and request.method in ("GET", "HEAD"):
            return login.login_redirect(request)
        return error_page(request, exc.status, exc.message, **exc.params)

    previous_validation = app.exception_handlers.get(RequestValidationError)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _is_console(request):
            return error_page(request, 422, "console.error.invalid")
        if previous_validation is not None:
            answer = previous_validation(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        return JSONResponse({"detail": "invalid request"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_console(request):
            key = {404: "console.error.not_found", 405: "console.error.not_found"}.get(
                exc.status_code, "console.error.invalid"
            )
            return error_page(request, exc.status_code, key)
        return await http_exception_handler(request, exc)  # FastAPI's own, elsewhere


def feature_routers() -> list[APIRouter]:
    """The feature pages' routers (their menu sections are in console/menu.py)."""
    return [
        members.router,
        meetings.router,
        ledger.router,
        complaints.router,
        broadcasts.router,
        help_requests.router,
        audit.router,
        simulator.router,  # /simulator: no menu section, served only in the demo
    ]
