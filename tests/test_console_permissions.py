"""Every console route, for every role: a table-driven check of storage/permissions.py.

Each route under /console declares the action it needs (console/security.py's ``Require`` or
``Form``); this test fails for a route that declares none, unless it is one of the few public
ones below. Then every role (and nobody) opens every route: a role the rules refuse gets 403 and
an audit line, a role they allow never gets 403, nobody gets sent to the login page (GET) or a
401 (POST), and no answer is ever a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlmodel import select
from starlette.testclient import TestClient

from app import create_app
from console.security import Form, Require
from storage.db import Database
from storage.models import AuditLog
from storage.permissions import can
from tests.console_support import ROLES, Console, add_staff

# Routes anyone may open: logging in, choosing a language, the simulator (which has its own
# switch, WLCC_SIMULATOR), and the redirect to the console's home.
PUBLIC = re.compile(
    r"^/console$|^/console/login(/.*)?$|^/console/lang/\{lang\}$|^/simulator(/.*)?$"
)


def _requirement(route: APIRoute) -> Require | None:
    def walk(dependant: Any) -> Iterator[Any]:
        for dep in dependant.dependencies:
            yield dep.call
            yield from walk(dep)

    for call in walk(route.dependant):
        if isinstance(call, Require):
            return call
        if isinstance(call, Form):
            return call.require
    return None


def _api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute with its full path (FastAPI keeps included routers as they are)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            inner = prefix + (route.include_context.prefix or "")
            yield from _api_routes(route.original_router.routes, inner)


def console_routes() -> list[tuple[str, str, Require | None]]:
    app = create_app(scheduler=False)
    found = []
    for path, route in _api_routes(app.routes):
        if not path.startswith(("/console", "/simulator")):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, path, _requirement(route)))
    return found


ROUTES = console_routes()
GUARDED = [(m, p, r) for m, p, r in ROUTES if not PUBLIC.match(p)]


def test_every_console_route_declares_its_action() -> None:
    assert ("GET", "/console/", Require(None).__class__) in {(m, p, type(r)) for m, p, r in GUARDED}
    missing = [f"{m} {p}" for m, p, r in GUARDED if r is None]
    assert not missing, f"console routes without Require/Form (add one): {missing}"


def test_the_public_routes_are_only_the_expected_ones() -> None:
    public = {p for _, p, _ in ROUTES if PUBLIC.match(p) and not p.startswith("/simulator")}
    assert public == {
        "/console",
        "/console/login",
        "/console/login/code-request",
        "/console/login/code",
        "/console/login/password",
        "/console/lang/{lang}",
    }


def _concrete(path: str) -> str:
    """A path with its parameters filled in: ids that exist nowhere."""
    return re.sub(r"\{[^}]+\}", "999999", path)


@pytest.fixture
def consoles(db: Database, client: TestClient) -> dict[str, Console]:
    logged_in = {}
    for role in ROLES:
        add_staff(db, role)
        logged_in[role] = Console(TestClient(client.app)).login(db, role)
    return logged_in


def _call(console: Console, method: str, path: str, csrf: str | None) -> Any:
    if method == "GET":
        return console.get(path)
    return console.post(path, {}, csrf=csrf)


def test_every_role_on_every_route(
    db: Database, client: TestClient, consoles: dict[str, Console]
) -> None:
    tokens = {role: console.csrf() for role, console in consoles.items()}
    problems = []
    for method, path, requirement in GUARDED:
        assert requirement is not None
        url = _concrete(path)
        for role, console in consoles.items():
            answer = _call(console, method, url, tokens[role])
            allowed = requirement.action is None or can(role, requirement.action)
            if answer.status_code >= 500:
                problems.append(f"{role} {method} {url}: {answer.status_code}")
            elif allowed and answer.status_code == 403:
                problems.append(f"{role} {method} {url}: 403 although allowed")
            elif not allowed and answer.status_code != 403:
                problems.append(f"{role} {method} {url}: {answer.status_code}, not 403")
        nobody = Console(TestClient(client.app))
        answer = nobody.get(url) if method == "GET" else nobody.post(url, {}, csrf="x")
        if answer.status_code != (303 if method == "GET" else 401):
            problems.append(f"nobody {method} {url}: {answer.status_code}")
        elif method == "GET":
            assert answer.headers["location"].startswith("/console/login?next=")
    assert not problems, "\n".join(problems)
    with db.transaction() as session:
        refused = session.exec(select(AuditLog).where(AuditLog.allowed == False)).all()  # noqa: E712
    expected = sum(
        1
        for _, _, r in GUARDED
        for role in ROLES
        if r is not None and r.action is not None and not can(role, r.action)
    )
    assert len(refused) == expected


def test_posts_without_the_csrf_token_are_refused(consoles: dict[str, Console]) -> None:
    admin = consoles["admin"]
    for method, path, requirement in GUARDED:
        if method != "POST" or requirement is None:
            continue
        if requirement.action is not None and not can("admin", requirement.action):
            continue
        for token in ("", "forged"):
            answer = admin.post(_concrete(path), {}, csrf=token)
            assert answer.status_code == 403, f"POST {path} with csrf={token!r}"
