"""The browser tests seen from outside, by running pytest on them in a subprocess.

Without Chromium they say so: skipped with the reason in the summary at the end of the run (as
`make test` prints it), and failed under CI, never passed silently (CHROMIUM_PATH points
nowhere). And the tests that follow them can still run an event loop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.browser.tools import missing_chromium

ROOT = Path(__file__).resolve().parents[2]
REASON = "no browser: install Debian's chromium (apt-get install chromium)"


def _pytest_without_chromium(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if k not in {"CI", "TEST_DATABASE_URL", "CHROMIUM_PATH"}
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/browser/test_smoke.py"],
        cwd=ROOT,
        env={**base, "CHROMIUM_PATH": str(tmp_path / "no-chromium"), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_without_chromium_the_summary_says_what_to_install(tmp_path: Path) -> None:
    result = _pytest_without_chromium(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    [summary] = [line for line in lines if REASON in line]
    assert summary.startswith("SKIPPED ")
    assert "skipped" in lines[-1] and "passed" not in lines[-1]


def test_without_chromium_ci_fails(tmp_path: Path) -> None:
    result = _pytest_without_chromium(tmp_path, CI="true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert REASON in result.stdout
    assert "CI=true: the browser tests must run" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]


AFTER = """
import asyncio


def test_asyncio_run_works_after_a_browser_module() -> None:
    assert asyncio.run(asyncio.sleep(0, result=42)) == 42
"""


def test_tests_after_a_browser_module_can_run_an_event_loop(tmp_path: Path) -> None:
    """Playwright's event loop counts as running in the main thread while it is open: the
    browser is closed after each module, so the CLI and sender tests that follow still work."""
    after = tmp_path / "test_after_browser.py"
    after.write_text(AFTER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL"}}
    result = subprocess.run(  # noqa: S603 (this interpreter running pytest)
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-v",
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            "tests/browser/test_smoke.py::test_a_phone_sized_page",
            str(after),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_a_phone_sized_page[phone] PASSED" in result.stdout or missing_chromium()
    assert "test_asyncio_run_works_after_a_browser_module PASSED" in result.stdout
