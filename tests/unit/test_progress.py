"""Progress: a bar with an ETA on a terminal, nothing at all elsewhere, never on stdout."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import time

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
    assert "reading f.ldif [" in screen.getvalue() and " 50% " in screen.getvalue()
    assert "/s" not in screen.getvalue() and "ETA" not in screen.getvalue()  # no rate within the first second
    progress.bar("reading f.ldif", 5000, 10000, time.monotonic() - 2.0, force=True)  # two seconds of data
    assert screen.getvalue().endswith("50% 5.0 kB/10.0 kB 2.5 kB/s ETA 0:02")
    progress.done()
    assert screen.getvalue().endswith("\r\x1b[K")


def test_a_line_never_exceeds_the_terminal_and_phases_are_named():
    screen = Terminal()
    progress = Progress(screen)
    progress.columns = lambda: 60  # type: ignore[method-assign]
    long_name = "reading " + "a-very-long-export-file-name" * 3 + ".txt"
    progress.bar(long_name, 5000, 10000, time.monotonic() - 5.0, force=True)
    progress.bar("reading f.ldif", 5000, None, time.monotonic() - 5.0, force=True)
    progress.phase("analysing: membership and risk, a phase with a long name")
    drawn = [line for line in screen.getvalue().split("\r\x1b[K") if line]
    assert len(drawn) == 3 and all(len(line) <= 59 for line in drawn), drawn
    assert drawn[0].endswith("50% 5.0 kB/10.0 kB 1000 B/s ETA 0:05")  # the file name gave way, not the numbers
    assert drawn[-1].startswith("analysing: membership")


def test_wide_characters_in_a_file_name_are_measured_in_columns():
    from sidtool.layout import display_width

    screen = Terminal()
    progress = Progress(screen)
    progress.columns = lambda: 60  # type: ignore[method-assign]
    progress.bar("reading " + "漢字" * 20 + ".ldif", 5000, 10000, time.monotonic() - 5.0, force=True)
    progress.bar("reading " + "漢字" * 40 + ".ldif", 5000, None, time.monotonic() - 5.0, force=True)
    progress.phase("analysing " + "漢字" * 40)
    drawn = [line for line in screen.getvalue().split("\r\x1b[K") if line]
    assert len(drawn) == 3 and all(display_width(line) <= 59 for line in drawn), drawn
    assert drawn[0].endswith("50% 5.0 kB/10.0 kB 1000 B/s ETA 0:05")


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
    assert "analysing: membership and risk…" in terminal and "writing…" in terminal  # the phases after reading
    assert "reading" not in stdout and stdout.lstrip().startswith("{")
    _, quiet = run("-q")
    assert "reading" not in quiet
