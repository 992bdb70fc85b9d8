"""Tables that fit the terminal: columns chosen by priority, cells wrapped on word boundaries.

A table is laid out for a width (:func:`output_width`): the terminal's columns (``COLUMNS``, else the
terminal stdout is on), or :data:`PIPE_WIDTH` when stdout is a pipe or a file, so that piped output
keeps one stable layout. The width is clamped to :data:`MIN_WIDTH`..:data:`MAX_WIDTH`.

Each :class:`Field` has a priority. When the columns do not fit at their narrowest (each as wide as its
longest word), the least important column goes: onto a line of its own under each row when it is an
explanation (``below``), else out of the table (JSON and CSV still carry it, and a note says which
columns were left out). Then the least important columns give up width, down to their narrowest, until the
table fits. Cells wrap at
spaces; only a word wider than its whole column (a long path) is split across lines, so that no line exceeds
the width and nothing is lost.
Widths are display columns: East Asian wide characters count two, combining marks none.
"""

from __future__ import annotations

import os
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sidtool.terminal import printable

__all__ = [
    "MAX_WIDTH",
    "MIN_WIDTH",
    "PIPE_WIDTH",
    "Field",
    "display_width",
    "fit_table",
    "fit_table_pieces",
    "output_width",
    "wrap",
]

PIPE_WIDTH = 100  # the layout when stdout is no terminal and COLUMNS is not set
MIN_WIDTH = 40  # narrower terminals get this layout (lines then exceed them)
MAX_WIDTH = 1000  # wider ones are laid out for this width
_GAP = "  "  # between columns
_COMFORTABLE = 20  # columns give up width down to this first, the least important first; then to their narrowest
_NARROWEST = 6  # a column is never made narrower than this (or its header's longest word), when it can be avoided


@dataclass(frozen=True, slots=True)
class Field:
    """A column: record key, header, how to show the value, its priority (0 first) and how it may shrink."""

    key: str
    header: str
    show: Callable[[Any], str] | None = None
    priority: int = 0  # the highest number goes first when the table does not fit
    widest: int = 60  # never wider than this, even when there is room
    below: bool = False  # when it does not fit: on a line of its own under each row, not dropped
    least: int = 0  # narrower than this, the column is left out (or moved below) rather than squeezed


def output_width(stream: Any = None) -> int:
    """The width to lay tables out for: ``COLUMNS``, else the terminal's, else :data:`PIPE_WIDTH` (see module)."""
    stream = stream if stream is not None else sys.stdout
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        width = int(columns)
    else:
        try:
            is_terminal = stream.isatty()
        except (AttributeError, ValueError):
            is_terminal = False
        width = shutil.get_terminal_size((PIPE_WIDTH, 24)).columns if is_terminal else PIPE_WIDTH
    return max(MIN_WIDTH, min(width, MAX_WIDTH))


def display_width(text: str) -> int:
    """How many terminal columns ``text`` takes (wide characters two, combining marks none)."""
    if text.isascii():
        return len(text)
    width = 0
    for character in text:
        if unicodedata.combining(character) or unicodedata.category(character) in _ZERO_WIDTH:
            continue
        width += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
    return width


_ZERO_WIDTH = frozenset(("Mn", "Me", "Cf"))  # marks (a variation selector too) and format characters: no column


def clipped(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` (at least 1) terminal columns, ending in "…" when it is cut."""
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for character in text:
        used += display_width(character)
        if used > width - 1:
            break
        kept.append(character)
    return "".join(kept) + "…"


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken at spaces; a longer word is split across lines."""
    width = max(width, 2)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            if display_width(word) > width:  # a path or DN wider than the line: split, never cut (nothing is lost)
                if line:
                    lines.append(line)
                *pieces, word = _split(word, width)
                lines.extend(pieces)
                line = word
                continue
            candidate = f"{line} {word}" if line else word
            if display_width(candidate) <= width:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines or [""]


def fit_table(records: Iterable[dict[str, Any]], fields: Sequence[Field], width: int) -> str:
    """``records`` as a table of at most ``width`` columns (see the module docstring); text ends with a newline.

    The records are read once, as their cells are made: they may come one at a time."""
    return "".join(fit_table_pieces(records, fields, width))


def fit_table_pieces(records: Iterable[dict[str, Any]], fields: Sequence[Field], width: int) -> Iterator[str]:
    """:func:`fit_table`'s text in pieces of whole lines (each ending with a newline), made as they are written:
    a table of 10^5 rows is never held as one text. The cells are kept (the widths depend on all of them); a
    column's cell text seen before is measured and wrapped once (:class:`_Cells`)."""
    columns = [_Cells() for _ in fields]
    cells = [
        [column.text(record.get(field.key), field.show) for field, column in zip(fields, columns, strict=True)]
        for record in records
    ]
    natural = [
        min(field.widest, max([display_width(field.header), *(column.longest_line(row[i]) for row in cells)]))
        for i, (field, column) in enumerate(zip(fields, columns, strict=True))
    ]
    narrowest = [
        min(
            natural[i],
            max(_NARROWEST, field.least, _longest_word(field.header), *(column.longest_word(row[i]) for row in cells)),
        )
        for i, (field, column) in enumerate(zip(fields, columns, strict=True))
    ]  # each column at least as wide as its longest word: words are cut only when nothing else fits
    shown = list(range(len(fields)))
    least_first = sorted(shown, key=lambda i: (-fields[i].priority, -i))
    for index in least_first:
        if sum(narrowest[i] for i in shown) + len(_GAP) * (len(shown) - 1) <= width or len(shown) == 1:
            break
        shown.remove(index)
    while True:  # at most once more per column that may move below its row
        widths = {i: natural[i] for i in shown}
        excess = sum(widths.values()) + len(_GAP) * (len(shown) - 1) - width
        excess = _narrowed(widths, [i for i in least_first if i in shown], excess, natural, narrowest, comfortable=True)
        movable = [i for i in least_first if i in shown and fields[i].below]
        if excess <= 0 or not movable or len(shown) == 1:
            break
        shown.remove(movable[0])  # rather than squeeze the other columns below a comfortable width
    excess = _narrowed(widths, [i for i in least_first if i in shown], excess, natural, narrowest, comfortable=False)
    if excess > 0:  # even the narrowest columns are too wide: every column gives (long words are split)
        share = -(-excess // len(shown))  # excess / columns, rounded up
        for i in shown:
            widths[i] = max(2, widths[i] - share)
    below = [i for i in range(len(fields)) if i not in shown and fields[i].below]
    dropped = [fields[i].header for i in range(len(fields)) if i not in shown and not fields[i].below]
    lines = _row_lines([wrap(fields[i].header, widths[i]) for i in shown], [widths[i] for i in shown])
    lines.append(_GAP.join("-" * widths[i] for i in shown))
    shown_widths = [widths[i] for i in shown]
    for row in cells:
        lines.extend(_row_lines([columns[i].wrapped(row[i], widths[i]) for i in shown], shown_widths))
        for i in below:
            if row[i] not in ("", "-"):
                lines.extend("    " + line for line in wrap(f"{fields[i].header}: {row[i]}", width - 4))
        if len(lines) >= _LINES_A_PIECE:
            yield "\n".join(line.rstrip() for line in lines) + "\n"
            lines = []
    if dropped:
        note = f"(not shown at {width} columns: {', '.join(dropped)}; a wider terminal or --format csv shows them)"
        lines.extend(wrap(note, width))
    if lines:
        yield "\n".join(line.rstrip() for line in lines) + "\n"


_LINES_A_PIECE = 4096  # lines of a table handed out together


class _Cells:
    """One column's cells: each text made, measured and wrapped once however many rows show it (a trustee's
    senders and explanation repeat on each of its rows). At most :data:`_CELLS_KEPT` texts are remembered, each at
    most :data:`_CELL_KEPT_LENGTH` characters; others are worked out each time, with the same result."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}  # id of a list value -> (the list, its text)
        self._measures: dict[str, tuple[int, int]] = {}
        self._wrapped: dict[tuple[str, int], list[str]] = {}

    def text(self, value: Any, formatter: Callable[[Any], str] | None) -> str:
        """:func:`cell_text`; a list value given again (the same object, held here meanwhile) made once."""
        if not isinstance(value, list):
            return cell_text(value, formatter)
        known = self._texts.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        text = cell_text(value, formatter)
        if len(self._texts) < _CELLS_KEPT:
            self._texts[id(value)] = (value, text)
        return text

    def _measured(self, text: str) -> tuple[int, int]:
        found = self._measures.get(text)
        if found is None:
            found = (_longest_line(text), _longest_word(text))
            if len(self._measures) < _CELLS_KEPT and len(text) <= _CELL_KEPT_LENGTH:
                self._measures[text] = found
        return found

    def longest_line(self, text: str) -> int:
        return self._measured(text)[0]

    def longest_word(self, text: str) -> int:
        return self._measured(text)[1]

    def wrapped(self, text: str, width: int) -> list[str]:
        """``wrap(text, width)`` (the list shared: read it, never change it)."""
        found = self._wrapped.get((text, width))
        if found is None:
            found = wrap(text, width)
            if len(self._wrapped) < _CELLS_KEPT and len(text) <= _CELL_KEPT_LENGTH:
                self._wrapped[(text, width)] = found
        return found


_CELLS_KEPT = 4096  # texts remembered per column of a table
_CELL_KEPT_LENGTH = 4096  # characters of a text remembered


def _narrowed(
    widths: dict[int, int], order: list[int], excess: int, natural: list[int], narrowest: list[int], comfortable: bool
) -> int:
    """Take ``excess`` columns of width from ``order`` (the least important first), each down to a comfortable
    width (``comfortable``) or to its narrowest; return what is still in excess."""
    for i in order:
        floor = max(narrowest[i], min(natural[i], _COMFORTABLE)) if comfortable else narrowest[i]
        give = min(max(excess, 0), max(widths[i] - floor, 0))
        widths[i] -= give
        excess -= give
    return excess


def _row_lines(wrapped: list[list[str]], widths: list[int]) -> list[str]:
    """The lines of one row, its cells already wrapped to their widths."""
    height = max(len(lines) for lines in wrapped)
    return [
        _GAP.join(_pad(lines[n] if n < len(lines) else "", width) for lines, width in zip(wrapped, widths, strict=True))
        for n in range(height)
    ]


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _split(word: str, width: int) -> list[str]:
    pieces = [""]
    for character in word:
        if display_width(pieces[-1] + character) > width:
            pieces.append("")
        pieces[-1] += character
    return pieces


def _longest_line(text: str) -> int:
    return max(display_width(line) for line in text.split("\n"))


def _longest_word(text: str) -> int:
    return max((display_width(word) for word in text.split()), default=0)


def cell_text(value: Any, formatter: Callable[[Any], str] | None = None) -> str:
    """A record's value as a table cell shows it (the one rule for every table): escaped for terminals."""
    if formatter is not None:
        return printable(formatter(value))
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(printable(str(item)) for item in value)
    return printable(str(value))
