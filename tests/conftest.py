"""Shared pytest fixtures: ``test_dc``, the session's Samba AD DC (see tests/support/dc.py, docs/test-dc.md).

Set SIDTOOL_TEST_DC_DIR to the folder of a DC started by hand (tests/dc/run-dc start DIR) to reuse it;
it is then left running.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dc import TestDomainController, controller_from, running_dc


@pytest.fixture(scope="session")
def test_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDomainController]:
    """A running Samba AD DC loaded with the fixture (see docs/test-dc.md)."""
    reused = os.environ.get("SIDTOOL_TEST_DC_DIR")
    if reused:
        yield controller_from(Path(reused).resolve())
        return
    with running_dc(tmp_path_factory, "dc") as directory:
        yield controller_from(directory)
