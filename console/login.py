"""Logging in and out: phone + one-time code sent to the linked chat, or phone + password.

Whatever the outcome, a login attempt is counted (storage/console.py's rate limit) and written
to the audit log. A number that is not active staff gets the same answer whether it belongs to
a member or to nobody: the console is not a way to find out who is a member.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.deps import DatabaseDep
from console.security import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    ConsoleError,
    Form,
    Staff,
    audit,
    client_of,
    field,
    login_csrf,
    read_form,
    secure_cookies,
    translator,
)
from console.templating import render
from storage.console import (
    CODE_KIND,
    CODE_LIFETIME,
    SESSION_LIFETIME,
    check_password,
    csrf_matches,
    end_session,
    locked_out,
    new_code,
    open_session,
    record_attempt,
    staff_on_phone,
    use_code,
)
from storage.db import Database
from storage.models import Member, OutboxPriority
from storage.outbox import enqueue
from wlcc.formatting import utcnow
from wlcc.i18n import Translator
from wlcc.phones import to_e164

router = APIRouter()


def _safe_next(raw: str | None) -> str:
    """Where to go after logging in: a console page, never another site."""
    if raw and raw.startswith("/console/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console/"


def _login_page(
    request: Request,
    t: Translator,
    *,
    status_code: int = 200,
    step: str = "phone",
    phone: str = "",
    error: str | None = None,
    notice: str | None = None,
    next_url: str = "/console/",
) -> HTMLResponse:
    token = login_csrf(request)
    response = render(
        request,
        "login.html",
        t,
        status_code=status_code,
        step=step,
        phone=phone,
        error=error,
        notice=notice,
        login_token=token,
        next_url=next_url,
        code_minutes=int(CODE_LIFETIME.total_seconds() // 60),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/console/",
    )
    return response


@router.get("/console/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, translator(request), next_url=_safe_next(next))


async def _login_form(request: Request) -> tuple[Translator, dict[str, str]]:
    """The posted login form, after its double-submit token was checked."""
    t = translator(request)
    form = await read_form(request, max_bytes=10_000)
    values = {name: field(form, name, 300) for name in ("token", "phone", "code", "password")}
    values["next"] = _safe_next(field(form, "next", 300))
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), values["token"]):
        raise ConsoleError(403, "console.error.csrf")
    return t, values


def _staff_for(
    db: Database, request: Request, t: Translator, values: dict[str, str], step: str
) -> tuple[str, list[Member]] | HTMLResponse:
    """The phone typed and its staff members, or the page that says why not."""
    raw = values["phone"]
    phone = to_e164(raw) if raw else None
    if phone is None:
        return _login_page(
            request,
            t,
            status_code=422,
            phone=raw,
            error="console.login.bad_phone",
            next_url=values["next"],
        )
    now = utcnow()
    with db.transaction() as session:
        if locked_out(session, phone=phone, client=client_of(request), now=now):
            blocked = True
            members: list[Member] = []
        else:
            blocked = False
            members = staff_on_phone(session, phone)
            if not members:
                record_attempt(session, phone=phone, client=client_of(request), ok=False, now=now)
    if blocked:
        return _login_page(
            request,
            t,
            status_code=429,
            step=step,
            phone=raw,
            error="console.login.locked",
            next_url=values["next"],
        )
    if not members:
        audit(db, None, "console.login", allowed=False, target=phone, detail={"why": "not_staff"})
        return _login_page(
            request,
            t,
            status_code=403,
            phone=raw,
            error="console.login.not_staff",
            next_url=values["next"],
        )
    return phone, members


# The login routes read the form on the event loop, then do the database work and the hashing
# (argon2 takes a good fraction of a second of CPU) in a worker thread, so the webhooks are not
# held up meanwhile.


@router.post("/console/login/code-request", response_class=HTMLResponse)
async def send_code(request: Request, db: DatabaseDep) -> HTMLResponse:
    t, values = await _login_form(request)
    return await run_in_threadpool(_send_code, request, db, t, values)


def _send_code(
    request: Request, db: Database, t: Translator, values: dict[str, str]
) -> HTMLResponse:
    found = _staff_for(db, request, t, values, "phone")
    if isinstance(found, HTMLResponse):
        return found
    phone, members = found
    now = utcnow()
    with db.transaction() as session:
        for member in members:
            assert member.id is not None
            code = new_code(session, member, now)
            mt = Translator(member.language)
            enqueue(
                session,
                key=f"console-code:{member.id}:{now.isoformat()}",
                kind=CODE_KIND,
                community_id=member.community_id,
                member_id=member.id,
                text=mt(
                    "console.code.message",
                    code=code,
                    minutes=int(CODE_LIFETIME.total_seconds() // 60),
                ),
                template_vars={"1": code},
                priority=OutboxPriority.URGENT,
            )
    for member in members:
        audit(db, None, "console.code_sent", target=phone, community_id=member.community_id)
    return _login_page(
        request,
        t,
        step="code",
        phone=values["phone"],
        notice="console.login.code_sent",
        next_url=values["next"],
    )


def _logged_in(
    request: Request, db: Database, member: Member, method: str, next_url: str
) -> Response:
    now = utcnow()
    with db.transaction() as session:
        token = open_session(session, member, method, now)
        record_attempt(session, phone=member.phone, client=client_of(request), ok=True, now=now)
    audit(
        db,
        None,
        "console.login",
        target=member.phone,
        detail={"method": method, "member_id": member.id},
        community_id=member.community_id,
    )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/console/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/")
    return response


def _refused(
    request: Request, db: Database, t: Translator, values: dict[str, str], phone: str, step: str
) -> HTMLResponse:
    with db.transaction() as session:
        record_attempt(session, phone=phone, client=client_of(request), ok=False, now=utcnow())
    audit(db, None, "console.login", allowed=False, target=phone, detail={"why": step})
    return _login_page(
        request,
        t,
        status_code=401,
        step=step,
        phone=values["phone"],
        error="console.login.wrong_code" if step == "code" else "console.login.wrong_password",
        next_url=values["next"],
    )


@router.post("/console/login/code")
async def login_with_code(request: Request, db: DatabaseDep) -> Response:
    t, values = await _login_form(request)
    return await run_in_threadpool(_with_code, request, db, t, values)


def _with_code(request: Request, db: Database, t: Translator, values: dict[str, str]) -> Response:
    found = _staff_for(db, request, t, values, "code")
    if isinstance(found, HTMLResponse):
        return found
    phone, members = found
    with db.transaction() as session:
        member = use_code(session, members, values["code"], utcnow())
    if member is None:
        return _refused(request, db, t, values, phone, "code")
    return _logged_in(request, db, member, "code", values["next"])


@router.post("/console/login/password")
async def login_with_password(request: Request, db: DatabaseDep) -> Response:
    t, values = await _login_form(request)
    return await run_in_threadpool(_with_password, request, db, t, values)


def _with_password(
    request: Request, db: Database, t: Translator, values: dict[str, str]
) -> Response:
    found = _staff_for(db, request, t, values, "password")
    if isinstance(found, HTMLResponse):
        return found
    phone, members = found
    with db.transaction() as session:
        member = check_password(session, members, values["password"])
    if member is None:
        return _refused(request, db, t, values, phone, "password")
    return _logged_in(request, db, member, "password", values["next"])


@router.post("/console/logout")
def logout(
    posted: Annotated[tuple[Staff, FormData], Depends(Form(None))], db: DatabaseDep
) -> Response:
    staff, _ = posted
    with db.transaction() as session:
        end_session(session, staff.session_id, utcnow())
    audit(db, staff, "console.logout")
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console/")
    return response


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?next={quote(target, safe='/')}", status_code=303)
