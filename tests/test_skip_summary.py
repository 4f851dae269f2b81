"""`make test` without PostgreSQL: the skipped PostgreSQL runs make one line, not one each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_skips_are_summed_up_in_one_line_per_reason() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    # pytest itself, on one of our test files whose tests all take the database
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_smoke_db.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    skipped = [line for line in lines if line.startswith("SKIPPED")]
    [summary] = skipped
    count = int(summary.split(":")[0].removeprefix("SKIPPED "))
    assert count > 1 and summary.endswith(": TEST_DATABASE_URL is not set")
    assert f"{count} skipped" in lines[-1]
