"""Rendering records for people (table, Markdown) and machines (JSON, CSV).

Records are dicts with stable keys. JSON and CSV carry every key; the table
and Markdown views show the chosen columns. Text bound for a terminal is
neutralised: control characters and bidirectional overrides found in data
(a displayName can hold them) are shown as escapes, never interpreted.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tabulate as tabulate_module
from tabulate import tabulate

from sidtool.errors import InputError

FORMATS = ("table", "json", "csv", "markdown")


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: the record key, its header, how to show the value, and where to wrap."""

    key: str
    header: str
    show: Callable[[Any], str] | None = None
    width: int = 60


# A column is a Column, or the short forms (key, header) and (key, header, show).
Columns = Sequence[Column | tuple[str, str] | tuple[str, str, Callable[[Any], str]]]

# C0 and C1 controls, DEL, and the Unicode bidi embedding/override/isolate marks.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control or bidi character replaced by a visible escape."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def render(records: list[dict[str, Any]], columns: Columns, fmt: str) -> str:
    """Render ``records`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv(records)
    if fmt not in ("table", "markdown"):
        raise ValueError(f"unknown format {fmt!r}")
    specs = [column if isinstance(column, Column) else Column(*column) for column in columns]
    headers = [column.header for column in specs]
    rows = [[_cell(record.get(column.key), column.show) for column in specs] for record in records]
    if fmt == "markdown":
        rows = [[cell.replace("|", "\\|") for cell in row] for row in rows]
        return tabulate(rows, headers, tablefmt="github", disable_numparse=True) + "\n"
    widths = [column.width for column in specs]
    if _TabulateWrap is None:  # a tabulate without its wrapper class: let it wrap every cell itself
        return tabulate(rows, headers, tablefmt="simple", disable_numparse=True, maxcolwidths=widths) + "\n"
    wrappers = [_TabulateWrap(width=width, break_long_words=True, break_on_hyphens=True) for width in widths]
    rows = [[_wrapped(cell, wrapper) for cell, wrapper in zip(row, wrappers, strict=True)] for row in rows]
    return tabulate(rows, headers, tablefmt="simple", disable_numparse=True) + "\n"


# tabulate's own wrapper (it counts display width, and breaks long words at the width): cells wrapped with it
# come out as ``maxcolwidths`` would wrap them.
_TabulateWrap = getattr(tabulate_module, "_CustomTextWrap", None)


def _wrapped(cell: str, wrapper: textwrap.TextWrapper) -> str:
    """A cell wrapped to its column's width, line by line, exactly as tabulate's ``maxcolwidths`` does it.

    tabulate wraps every cell of every row, which cost two thirds of a 6,000-row table; most cells fit,
    and a cell of printable ASCII that fits, is not blank and has no outer whitespace comes out of the
    wrapping as it went in, so only the others are wrapped.
    """
    if cell and len(cell) <= wrapper.width and cell.isascii() and cell.isprintable() and cell == cell.strip():
        return cell
    return "\n".join("\n".join(wrapper.wrap(line)) for line in cell.splitlines() if line.strip() != "")


def _cell(value: Any, formatter: Callable[[Any], str] | None = None) -> str:
    if formatter is not None:
        return printable(formatter(value))
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(printable(str(item)) for item in value)
    return printable(str(value))


def _csv(records: list[dict[str, Any]]) -> str:
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for record in records:
        writer.writerow(_csv_value(record.get(key)) for key in keys)
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "|".join(str(item) for item in value)
    return str(value)


def write_atomic(path: str, text: str | Iterable[str]) -> None:
    """Write ``text`` (UTF-8; one string, or pieces as they are made) to ``path`` atomically."""
    pieces = [text] if isinstance(text, str) else text
    write_atomic_bytes(path, (piece.encode("utf-8") for piece in pieces))


def write_atomic_bytes(path: str, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or pieces of it) to ``path`` through a temporary file in the same folder and a rename.

    A reader never sees a half-written file, and an earlier file stays intact when
    writing fails (a full disk, a permission error). Pieces are written as they come,
    so a large report need not be held in memory whole.
    """
    target = Path(path)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", source=path) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for piece in [data] if isinstance(data, bytes) else data:
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write: {error.strerror or error}", source=path) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)  # an error while the pieces were made: no temp file left behind
        raise
