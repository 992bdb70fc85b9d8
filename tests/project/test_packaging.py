"""The installed package works on its own: console script, both packages, the catalog inside the wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest


def installed_script() -> Path | None:
    try:
        metadata.distribution("sidtool")
    except metadata.PackageNotFoundError:
        return None
    script = Path(sys.executable).parent / "sidtool"
    return script if script.exists() else None


def editable_install() -> bool:
    """True under ``pip install -e``: the packages are then the checkout's, not the wheel's (pip leaves
    an ``__editable__`` hook for the distribution in site-packages)."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    return any(site_packages.glob("__editable__*sidtool*"))


@pytest.mark.skipif(
    not os.environ.get("CI") and (installed_script() is None or editable_install()),  # under CI it must run
    reason="sidtool is not installed from a wheel in this environment (pip install ., not -e)",
)
def test_console_script_runs_from_the_installed_wheel(tmp_path):
    script = installed_script()
    assert script is not None, "pip install . must install the sidtool console script"
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # From an empty folder, so nothing can come from the checkout: the catalog must be inside the package.
    result = subprocess.run(
        [str(script), "catalog", "--format", "json"], cwd=tmp_path, capture_output=True, text=True, env=environment
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) >= 110
    module = subprocess.run(
        [sys.executable, "-c", "import sidtool, wellknown; print(sidtool.__file__, wellknown.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, env=environment,
    )  # fmt: skip
    assert "site-packages" in module.stdout, module.stdout + module.stderr
