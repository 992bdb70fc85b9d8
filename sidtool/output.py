"""Rendering records for people (table, Markdown) and machines (JSON, CSV).

Records are dicts with stable keys. JSON and CSV carry every key; the table
and Markdown views show the chosen columns. Table and Markdown cells are
neutralised for terminals (:func:`sidtool.terminal.printable`). A CSV cell that
a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) gets a leading single quote, as OWASP's "CSV Injection"
page recommends; :data:`RAW_CSV` (``--csv-raw``) writes the values as they are.
Markdown cells escape ``|`` and the HTML characters ``<``, ``>`` and ``&``, so a
value can neither end a cell nor become markup where the Markdown is rendered.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import tabulate as tabulate_module
from tabulate import tabulate

from sidtool.terminal import printable

FORMATS = ("table", "json", "csv", "markdown")
RAW_CSV = "csv-raw"  # CSV without the formula guard: what --csv-raw selects (not a --format choice of its own)
# What a spreadsheet takes as the start of a formula (OWASP, "CSV Injection"): such a cell gets a leading "'".
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN_ESCAPES = str.maketrans({"|": "\\|", "&": "&amp;", "<": "&lt;", ">": "&gt;"})


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: the record key, its header, how to show the value, and where to wrap."""

    key: str
    header: str
    show: Callable[[Any], str] | None = None
    width: int = 60


# A column is a Column, or the short forms (key, header) and (key, header, show).
Columns = Sequence[Column | tuple[str, str] | tuple[str, str, Callable[[Any], str]]]


def render(records: list[dict[str, Any]], columns: Columns, fmt: str) -> str:
    """Render ``records`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt in ("csv", RAW_CSV):
        return _csv(records, guarded=fmt == "csv")
    if fmt not in ("table", "markdown"):
        raise ValueError(f"unknown format {fmt!r}")
    specs = [column if isinstance(column, Column) else Column(*column) for column in columns]
    headers = [column.header for column in specs]
    rows = [[_cell(record.get(column.key), column.show) for column in specs] for record in records]
    if fmt == "markdown":
        rows = [[cell.translate(_MARKDOWN_ESCAPES) for cell in row] for row in rows]
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


def _csv(records: list[dict[str, Any]], guarded: bool = True) -> str:
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for record in records:
        values = (_csv_value(record.get(key)) for key in keys)
        writer.writerow((_defused(value) for value in values) if guarded else values)
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "|".join(str(item) for item in value)
    return str(value)


def _defused(value: str) -> str:
    """A CSV cell a spreadsheet would run as a formula, with a leading single quote so that it shows as text."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
