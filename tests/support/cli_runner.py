"""Run the sidtool command line as a user would: a separate process, real stdout/stderr/exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def run_sidtool(*args: str, input: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None):
    """Run ``python -m sidtool ARGS`` on this checkout; return the CompletedProcess (text mode)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in ("SIDTOOL_DEBUG", "COLUMNS", "LINES"):  # tables are laid out for a pipe unless a test asks otherwise
        environment.pop(name, None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sidtool", *args],
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environment,
        cwd=cwd or REPO,
        timeout=120,
    )
