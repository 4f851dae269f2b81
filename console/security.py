"""Who is at the console and what she may do: the session cookie, CSRF and the permission
rules of storage/permissions.py, as FastAPI dependencies.

Every console route declares its action with :class:`Require` (``Depends(Require("member.list"))``
or the ready-made ``Annotated`` aliases); tests/test_console_permissions.py fails for a route that
declares none. A refusal is audited, like a refused chat command.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.deps import DatabaseDep
from storage.audit import record_audit
from storage.console import csrf_matches, find_session
from storage.db import Database
from storage.models import Member
from storage.permissions import can
from wlcc.formatting import utcnow
from wlcc.i18n import LANGUAGES, Translator

COOKIE = "wlcc_console"  # the session token
LANG_COOKIE = "wlcc_console_lang"
LOGIN_CSRF_COOKIE = "wlcc_console_login"  # double-submit token of the login forms
CHANNEL = "console"  # the audit log's channel for what is done here
MAX_FORM_BYTES = 2 * 1024 * 1024  # a CSV of some thousand members fits easily


class ConsoleError(Exception):
    """A page that says what went wrong, with its status code; nothing was changed."""

    def __init__(self, status: int, message: str, **params: object) -> None:
        super().__init__(message)
        self.status = status
        self.message = message  # a catalog key
        self.params = params


class LoginRequired(ConsoleError):
    def __init__(self) -> None:
        super().__init__(401, "console.error.login_required")


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member of one request."""

    member: Member
    session_id: int
    csrf: str
    t: Translator

    @property
    def member_id(self) -> int:
        assert self.member.id is not None
        return self.member.id

    @property
    def community_id(self) -> int:
        return self.member.community_id

    @property
    def role(self) -> str:
        return self.member.role

    def can(self, action: str) -> bool:
        return can(self.member.role, action)


def language_of(request: Request, member: Member | None = None) -> str:
    """The console's language: the visitor's choice (a cookie), else the member's, else id."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    if member is not None and member.language in LANGUAGES:
        return str(member.language)
    return "id"


def translator(request: Request) -> Translator:
    staff: Staff | None = getattr(request.state, "console_staff", None)
    return staff.t if staff is not None else Translator(language_of(request))


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure when the page came over HTTPS: directly, or from a reverse proxy that
    uvicorn trusts (``--forwarded-allow-ips``; its X-Forwarded-Proto sets the scheme). A console
    opened over plain HTTP on a local network still works, without the Secure flag."""
    return request.url.scheme == "https"


def client_of(request: Request) -> str | None:
    return request.client.host[:64] if request.client is not None else None


def audit(
    db: Database,
    staff: Staff | None,
    action: str,
    *,
    allowed: bool = True,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    community_id: int | None = None,
) -> None:
    """One line in the audit log for something done (or refused) at the console."""
    with db.transaction() as session:
        record_audit(
            session,
            action=action,
            allowed=allowed,
            community_id=staff.community_id if staff is not None else community_id,
            actor_member_id=staff.member_id if staff is not None else None,
            actor_identity_id=None,
            channel=CHANNEL,
            target=target,
            detail=detail,
        )


def _staff(request: Request, db: Database) -> Staff:
    cached: Staff | None = getattr(request.state, "console_staff", None)
    if cached is not None:
        return cached
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired()
    with db.transaction() as session:
        active = find_session(session, token, utcnow())
    if active is None:
        raise LoginRequired()
    staff = Staff(
        active.member, active.id, active.csrf_token, Translator(language_of(request, active.member))
    )
    request.state.console_staff = staff
    request.state.console_csrf = staff.csrf
    return staff


class Require:
    """A dependency: the logged-in staff member, refused (403, audited) unless her role may do
    ``action``. ``None``: any logged-in staff member (the console's home)."""

    def __init__(self, action: str | None) -> None:
        self.action = action

    def __repr__(self) -> str:
        return f"Require({self.action!r})"

    async def __call__(self, request: Request, db: DatabaseDep) -> Staff:
        # The session lookup is a database query: in a worker thread, off the event loop.
        return await run_in_threadpool(self.check, request, db)

    def check(self, request: Request, db: Database) -> Staff:
        staff = _staff(request, db)
        if self.action is not None and not staff.can(self.action):
            audit(db, staff, self.action, allowed=False, target=request.url.path[:128])
            raise ConsoleError(403, "console.error.forbidden")
        return staff


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> FormData:
    """The posted form, refused (422) when it is too big or not a form."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        raise ConsoleError(422, "console.error.too_big")
    kind = request.headers.get("content-type", "")
    if not kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        raise ConsoleError(422, "console.error.not_a_form")
    try:
        return await request.form(max_files=2, max_fields=200)
    except Exception as exc:  # malformed multipart body: starlette raises several kinds
        raise ConsoleError(422, "console.error.not_a_form") from exc


class Form:
    """A dependency for a staff member's POST: the form, after its CSRF token was checked (403
    when it is missing or forged), and the staff member allowed to post it."""

    def __init__(self, action: str | None) -> None:
        self.require = Require(action)

    def __repr__(self) -> str:
        return f"Form({self.require.action!r})"

    async def __call__(self, request: Request, db: DatabaseDep) -> tuple[Staff, FormData]:
        staff = await self.require(request, db)
        form = await read_form(request)
        given = form.get("csrf")
        if not csrf_matches(staff.csrf, given if isinstance(given, str) else None):
            await run_in_threadpool(
                audit, db, staff, "console.csrf", allowed=False, target=request.url.path[:128]
            )
            raise ConsoleError(403, "console.error.csrf")
        return staff, form


def login_csrf(request: Request) -> str:
    """The login forms' token: the cookie's value, or a new one (set by the page)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    return token if token and 20 <= len(token) <= 64 else secrets.token_urlsafe(24)


def field(form: FormData, name: str, limit: int = 2000) -> str:
    """A text field of a form, stripped ("" when missing); 422 when longer than ``limit``."""
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConsoleError(422, "console.error.not_a_form")
    if len(value) > limit:
        raise ConsoleError(422, "console.error.too_long")
    return value.strip()


def pages_for(total: int, per_page: int) -> int:
    """How many pages ``total`` rows fill, ``per_page`` a page: at least one (an empty list)."""
    return max(1, -(-total // per_page))


def page_number(raw: str | None, pages: int) -> int:
    """A ?page= value: 1 when absent, 404 when not a number or past the last page."""
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= max(pages, 1):
        raise ConsoleError(404, "console.error.no_such_page")
    return int(raw)


Home = Annotated[Staff, Depends(Require(None))]
