"""What the browser tests need on the machine, and the accessibility check they run.

Chromium is Debian's (``/usr/bin/chromium``, driven by Playwright through ``executable_path``:
Playwright's own browser downloads are never used). axe-core comes from the npm registry:
``make install`` copies ``node_modules/axe-core/axe.min.js`` to ``tests/browser/vendor/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

HERE = Path(__file__).resolve().parent
# CHROMIUM_PATH points the tests at another Chromium build (e.g. on a developer's machine).
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")
AXE_JS = HERE / "vendor" / "axe.min.js"

NO_CHROMIUM = (
    f"no browser: install Debian's chromium (apt-get install chromium) to run the browser "
    f"tests; {CHROMIUM} is missing"
)
NO_AXE = (
    "no browser: the accessibility check needs axe-core; run `make install` (npm ci copies it "
    "to tests/browser/vendor/axe.min.js)"
)

# What counts as a failure of the accessibility check (axe's impacts: minor, moderate,
# serious, critical).
SERIOUS = ("serious", "critical")


def missing_chromium() -> str | None:
    """Why the browser cannot be started, or None when it can."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return NO_CHROMIUM


def missing_axe() -> str | None:
    return None if AXE_JS.is_file() else NO_AXE


def in_ci() -> bool:
    """CI sets CI=true: there a missing browser is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def axe_violations(
    page: Page,
    *,
    impacts: Iterable[str] = SERIOUS,
    options: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; its violations of the given impacts.

    axe is injected through the DevTools protocol (not a ``<script>`` tag), so a page's
    Content-Security-Policy does not stop it. ``options`` go to ``axe.run`` (e.g.
    ``{"runOnly": ["wcag2a", "wcag2aa"]}``).
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    results = page.evaluate(
        "async (options) => await window.axe.run(document, options)", options or {}
    )
    wanted = set(impacts)
    return [v for v in results["violations"] if v.get("impact") in wanted]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One line per violation and per element, for an assertion's message."""
    lines = []
    for violation in violations:
        impact, rule, what = violation["impact"], violation["id"], violation["help"]
        lines.append(f"{impact}: {rule}: {what} ({violation['helpUrl']})")
        for node in violation.get("nodes", []):
            lines.append(f"    {' '.join(map(str, node.get('target', [])))}: {node.get('html')}")
    return "\n".join(lines)
