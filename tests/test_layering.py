"""The one-way floors of docs/ARCHITECTURE.md, checked on the imports (with ast).

From the top: the entry points (app.py, scheduler.py, the console command in cli/) -> the
staff console's pages (console/) -> the channels (bot/) -> handlers/ -> conversations/ ->
storage/ -> the foundations (wlcc/). A floor may import the floors below it, never one
above. Only bot/ imports the platforms' libraries. Imports inside functions and
``if TYPE_CHECKING:`` blocks count too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).absolute().parent.parent
SKIP_DIRS = {".venv", "venv", "tests", "bench", "build", "dist", "node_modules"}
PLATFORM_LIBRARIES = {"telegram", "twilio"}

# The floors, top first. Top-level modules (app.py, scheduler.py) are entry points too.
FLOORS = ("cli", "console", "bot", "handlers", "conversations", "storage", "wlcc")
ENTRY_MODULES = ("app", "scheduler")

# Known exceptions, each with its reason. Keep this short.
ALLOWED: set[tuple[str, str]] = {
    # `wlcc telegram set-webhook` talks to the Bot API directly; an entry point like app.py.
    ("cli/main.py", "telegram"),
}


@dataclass(frozen=True)
class Import:
    path: str  # relative to the project root, with /
    module: str  # what is imported, absolute and dotted: "wlcc.messages.Inbound"
    line: int


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    rel = path.relative_to(root)
    package = list(rel.parent.parts)  # a module's package; for __init__.py the package itself
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = rel.as_posix()
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(where, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # `from bot import messages` imports wlcc.messages; `from x import y` counts as x.y.
            found += [
                Import(
                    where, target if alias.name == "*" else f"{target}.{alias.name}", node.lineno
                )
                for alias in node.names
            ]
    return found


def source_files(root: Path = ROOT) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(part in SKIP_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        files.append(path)
    return files


def all_imports(root: Path = ROOT) -> list[Import]:
    return [imp for path in source_files(root) for imp in imports_of(path, root)]


def _is(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def floor_of_path(path: str) -> int:
    """A file's floor: 0 for the entry points (top-level modules, cli/), then FLOORS' order."""
    top = path.split("/")[0] if "/" in path else ""
    return FLOORS.index(top) if top in FLOORS else 0


def floor_of_module(module: str) -> int | None:
    """An imported module's floor; None for what is not the project's (libraries)."""
    top = module.split(".")[0]
    if top in ENTRY_MODULES:
        return 0
    return FLOORS.index(top) if top in FLOORS else None


def _allowed(imp: Import) -> bool:
    return any(imp.path == path and _is(imp.module, module) for path, module in ALLOWED)


def _why(imp: Import) -> str | None:
    layer = imp.path.split("/")[0] if "/" in imp.path else ""
    top = imp.module.split(".")[0]
    if top in PLATFORM_LIBRARIES and layer != "bot":
        return f"only bot/ may import {top}"
    target = floor_of_module(imp.module)
    here = floor_of_path(imp.path)
    if target is not None and target < here:
        return f"{layer or imp.path}/ must not import {top} (a floor above it)"
    return None


def check(root: Path = ROOT) -> list[str]:
    """Every import that breaks a layering rule, as 'path:line: ...'."""
    problems = set()
    for imp in all_imports(root):
        why = _why(imp)
        if why and not _allowed(imp):
            problems.add(f"{imp.path}:{imp.line}: imports {imp.module}: {why}")
    return sorted(problems)


# --- the project ---


def test_the_layers_exist() -> None:
    for package in FLOORS:
        assert (ROOT / package / "__init__.py").exists()


def test_the_scan_sees_the_imports() -> None:
    imports = all_imports()
    router = {imp.module for imp in imports if imp.path == "handlers/router.py"}
    assert "wlcc.messages.Inbound" in router
    assert "storage.db.Database" in router
    telegram = {imp.module for imp in imports if imp.path == "bot/telegram.py"}
    assert any(_is(m, "telegram") for m in telegram)


def test_layering() -> None:
    problems = check()
    assert not problems, "layering broken:\n" + "\n".join(problems)


def test_allow_list_is_current() -> None:
    imports = all_imports()
    stale = {
        (path, module)
        for path, module in ALLOWED
        if not any(imp.path == path and _is(imp.module, module) for imp in imports)
    }
    assert not stale, f"remove from ALLOWED, no longer imported: {sorted(stale)}"


# --- the checker itself ---


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in FLOORS:
        init = tmp_path / package / "__init__.py"
        init.parent.mkdir(parents=True, exist_ok=True)
        init.touch()
    return tmp_path


@pytest.mark.parametrize(
    "path, source, why",
    [
        ("handlers/x.py", "import telegram\n", "only bot/ may import telegram"),
        ("storage/x.py", "from twilio.rest import Client\n", "only bot/ may import twilio"),
        ("app.py", "import telegram\n", "only bot/ may import telegram"),
        ("handlers/x.py", "from bot.render import numbered_text\n", "must not import bot"),
        ("handlers/x.py", "from bot import telegram\n", "must not import bot"),
        ("handlers/x.py", "import bot\n", "must not import bot"),
        ("handlers/x.py", "from bot import *\n", "must not import bot"),
        ("handlers/x.py", "from cli.main import app\n", "must not import cli"),
        ("bot/x.py", "import app\n", "must not import app"),
        ("bot/x.py", "from cli.common import console\n", "must not import cli"),
        ("conversations/x.py", "from handlers.router import Router\n", "must not import handlers"),
        ("conversations/x.py", "from bot.simulator import Simulator\n", "must not import bot"),
        ("storage/x.py", "from conversations.engine import Context\n", "must not import conv"),
        ("storage/x.py", "def f():\n    from handlers import router\n", "must not import handlers"),
        ("storage/x.py", "from bot.render import numbered_text\n", "must not import bot"),
        ("storage/x.py", "import scheduler\n", "must not import scheduler"),
        ("wlcc/x.py", "from storage.db import Database\n", "wlcc/ must not import storage"),
        ("wlcc/messages.py", "from cli.main import app\n", "wlcc/ must not import cli"),
        (
            "wlcc/x.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot\n",
            "bot",
        ),
        ("conversations/sub/x.py", "from ...handlers import router\n", "must not import handlers"),
    ],
)
def test_checker_finds_violations(tmp_path: Path, path: str, source: str, why: str) -> None:
    root = _tree(tmp_path, {path: source})
    problems = check(root)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:")
    assert why in problems[0]


@pytest.mark.parametrize(
    "path, source",
    [
        ("bot/x.py", "import telegram\nfrom twilio.rest import Client\nimport handlers.router\n"),
        ("bot/x.py", "from storage.outbox import claim\nfrom wlcc.messages import Outbound\n"),
        ("handlers/x.py", "from wlcc.messages import Inbound\nfrom wlcc import messages\n"),
        ("handlers/x.py", "from conversations.engine import Context\nimport storage.db\n"),
        ("conversations/x.py", "from wlcc.messages import Choice\nfrom storage import models\n"),
        ("conversations/x.py", "from . import engine\nfrom .engine import Dialog\n"),
        ("storage/x.py", "from wlcc.formatting import utcnow\nfrom storage.models import X\n"),
        ("cli/main.py", "from storage.db import Database\nfrom bot.simulator import Simulator\n"),
        ("cli/members.py", "from storage.db import Database\nimport app\n"),
        ("app.py", "from bot import telegram\nfrom cli.common import console\n"),
        ("wlcc/x.py", "from wlcc.i18n import gettext\nimport babel\n"),
    ],
)
def test_checker_accepts_the_allowed_directions(tmp_path: Path, path: str, source: str) -> None:
    assert check(_tree(tmp_path, {path: source})) == []
