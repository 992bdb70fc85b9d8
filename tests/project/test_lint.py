"""ruff and mypy stay clean: the lint gate runs with the suite, so CI enforces it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.cli_runner import REPO


@pytest.mark.skipif(
    shutil.which("ruff") is None and not os.environ.get("CI"), reason="ruff is not installed (pip install '.[test]')"
)
def test_ruff_is_clean():
    result = subprocess.run(["ruff", "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    shutil.which("mypy") is None and not os.environ.get("CI"), reason="mypy is not installed (pip install '.[test]')"
)
def test_mypy_is_clean():
    result = subprocess.run(["mypy", "--no-incremental"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
