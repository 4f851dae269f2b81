"""Without Chromium the browser tests say so: skipped with the reason in the summary at the end
of the run (as `make test` prints it), and failed under CI, never passed silently. These tests
need no browser: they run pytest on the smoke tests with CHROMIUM_PATH pointing nowhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
