"""Progress: a bar with an ETA on a terminal, nothing at all elsewhere, never on stdout."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from sidtool.progress import CountingReader, Progress
from tests.support.cli_runner import REPO


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_counts_bytes_and_shows_an_eta():
    screen = Terminal()
    progress = Progress(screen)
    reader = io.BufferedReader(CountingReader(io.BytesIO(b"x" * 5000), "reading f.ldif", 10000, progress), 1000)
    assert reader.read() == b"x" * 5000
    assert "reading f.ldif [" in screen.getvalue() and "ETA " in screen.getvalue()
    progress.done()
    assert screen.getvalue().endswith("\r\x1b[K")


def test_silent_when_not_a_terminal():
    log = io.StringIO()
    progress = Progress(log)
    progress.bar("reading", 10, 100, 0.0, force=True)
    assert not progress.enabled and log.getvalue() == ""


def test_report_draws_on_a_terminal_stderr_only_and_q_silences_it():
    def run(*extra: str) -> tuple[str, str]:
        leader, follower = pty.openpty()
        result = subprocess.run(
            [sys.executable, "-m", "sidtool", "report", "examples/corp-forest.ldif", "--format", "json", *extra],
            cwd=REPO, stdout=subprocess.PIPE, stderr=follower, env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=60,
        )  # fmt: skip
        os.close(follower)
        drawn = b""
        try:
            while chunk := os.read(leader, 65536):
                drawn += chunk
        except OSError:  # the terminal's other end is closed: all was read
            pass
        os.close(leader)
        return result.stdout.decode(), drawn.decode(errors="replace")

    stdout, terminal = run()
    assert "reading corp-forest.ldif [" in terminal
    assert "reading" not in stdout and stdout.lstrip().startswith("{")
    _, quiet = run("-q")
    assert "reading" not in quiet
