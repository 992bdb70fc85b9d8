"""Progress on stderr for long work: a bar with an ETA where the total is known, a counter otherwise.

It draws only when stderr is a terminal (never into a pipe or a log file), redraws at most
five times a second so that its cost stays small, and nothing of it goes to stdout. A line is
never wider than the terminal less one column (a wider one would wrap, and the carriage return
that redraws it would leave the wrapped part behind); the rate and the ETA appear once a second
of data has been read (before that they are noise); after reading, :meth:`Progress.phase` names
what is being done ("analysing: ...", "writing").
"""

from __future__ import annotations

import io
import os
import sys
import time
from typing import TextIO

from sidtool.layout import clipped, display_width
from sidtool.terminal import printable

_INTERVAL = 0.2  # seconds between redraws
_WIDTH = 30  # characters of the bar, at most
_RATE_AFTER = 1.0  # seconds of data before a rate and an ETA are shown
_FALLBACK_COLUMNS = 80  # when the terminal's width cannot be read


class Progress:
    """One line on a terminal, redrawn in place."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        if self.stream is None:  # started with standard error closed
            enabled = False
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._last_draw = 0.0
        self._shown = False

    def bar(self, label: str, done: int, total: int | None, started: float, *, force: bool = False) -> None:
        """Draw ``label`` with ``done`` of ``total`` bytes, the rate and the time left."""
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last_draw < _INTERVAL):
            return
        self._last_draw = now
        elapsed = now - started
        rate = done / elapsed if elapsed >= _RATE_AFTER else None
        columns = self.columns() - 1
        label = printable(label)
        if total:
            share = min(done / total, 1.0)
            left = f" ETA {_clock((total - done) / rate)}" if rate else ""
            numbers = f" {share:4.0%} {_size(done)}/{_size(total)}" + (f" {_size(rate)}/s" if rate else "") + left
            label = clipped(label, max(columns - len(numbers), 10))  # the numbers stay in sight
            bar_width = max(0, min(_WIDTH, columns - display_width(label) - len(numbers) - 3))
            filled = int(share * bar_width)
            bar = f" [{'#' * filled}{'.' * (bar_width - filled)}]" if bar_width >= 5 else ""
            text = f"{label}{bar}{numbers}"
        else:
            text = f"{label} {_size(done)}" + (f" {_size(rate)}/s" if rate else "")
        self._draw(clipped(text, columns))

    def phase(self, label: str) -> None:
        """Say what is being done now that reading is over ("analysing: membership", "writing")."""
        if self.enabled:
            self._draw(clipped(printable(label) + "…", self.columns() - 1))

    def columns(self) -> int:
        """The terminal's width (read at each draw: the window may be resized)."""
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
            return _FALLBACK_COLUMNS
        return max(columns, 20) if columns else _FALLBACK_COLUMNS  # 0: a terminal that does not say

    def _draw(self, text: str) -> None:
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        """Clear the line, so that what follows starts on a clean one."""
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


class CountingReader(io.RawIOBase):
    """A binary stream that reports how many bytes have been read through it."""

    def __init__(self, raw: io.RawIOBase, label: str, total: int | None, progress: Progress) -> None:
        self._raw = raw
        self._label = label
        self._total = total
        self._progress = progress
        self._count = 0
        self._started = time.monotonic()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = self._raw.readinto(buffer)
        self._count += count or 0
        self._progress.bar(self._label, self._count, self._total, self._started)
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def _size(value: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"
