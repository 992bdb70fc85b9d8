"""Rendering records for people (table, Markdown) and machines (JSON, CSV).

Records are dicts with stable keys. JSON and CSV carry every key; the table
and Markdown views show the chosen columns. Given a ``width``, a table fits it
(:mod:`sidtool.layout`: columns by priority, cells wrapped at spaces); without
one, each column wraps at its own width. Table and Markdown cells are
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
from functools import cache
from typing import Any

from sidtool.layout import Field, cell_text, fit_table

FORMATS = ("table", "json", "csv", "markdown")
RAW_CSV = "csv-raw"  # CSV without the formula guard: what --csv-raw selects (not a --format choice of its own)
# What a spreadsheet takes as the start of a formula (OWASP, "CSV Injection"): such a cell gets a leading "'".
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Markdown from data shows as text: no HTML (< >), no table cell break (|), no emphasis (* _), no link or image
# ([text](url), ![..](..)) and no code span (`), whatever a name holds (CommonMark 0.31: backslash escapes).
MARKDOWN_ESCAPES = str.maketrans({"|": "\\|", "&": "&amp;", "<": "&lt;", ">": "&gt;", "*": "\\*", "_": "\\_",
                                  "[": "\\[", "]": "\\]", "`": "\\`"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: the record key, its header, how to show the value, and where to wrap."""

    key: str
    header: str
    show: Callable[[Any], str] | None = None
    width: int = 60


# A column is a Field (it fits a width), a Column, or the short forms (key, header) and (key, header, show).
Columns = Sequence[Field | Column | tuple[str, str] | tuple[str, str, Callable[[Any], str]]]


def render(records: list[dict[str, Any]], columns: Columns, fmt: str, width: int | None = None) -> str:
    """Render ``records`` in format ``fmt`` (one of :data:`FORMATS`); a table fits ``width`` when given."""
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt in ("csv", RAW_CSV):
        return _csv(records, guarded=fmt == "csv")
    if fmt not in ("table", "markdown"):
        raise ValueError(f"unknown format {fmt!r}")
    if fmt == "table" and width is not None:
        return fit_table(records, fields(columns), width)
    specs = [_column(column) for column in columns]
    headers = [column.header for column in specs]
    rows = [[cell_text(record.get(column.key), column.show) for column in specs] for record in records]
    tabulate, wrap_class = _tabulate()
    if fmt == "markdown":
        rows = [[cell.translate(MARKDOWN_ESCAPES) for cell in row] for row in rows]
        return tabulate(rows, headers, tablefmt="github", disable_numparse=True) + "\n"
    widths = [column.width for column in specs]
    if wrap_class is None:  # a tabulate without its wrapper class: let it wrap every cell itself
        return tabulate(rows, headers, tablefmt="simple", disable_numparse=True, maxcolwidths=widths) + "\n"
    wrappers = [wrap_class(width=width, break_long_words=True, break_on_hyphens=True) for width in widths]
    rows = [[_wrapped(cell, wrapper) for cell, wrapper in zip(row, wrappers, strict=True)] for row in rows]
    return tabulate(rows, headers, tablefmt="simple", disable_numparse=True) + "\n"


@cache
def _tabulate() -> tuple[Callable[..., str], type[textwrap.TextWrapper] | None]:
    """tabulate, and its own wrapper (it counts display width, and breaks long words at the width: cells wrapped
    with it come out as ``maxcolwidths`` would wrap them). Imported when a table is first made with it: its
    import (which reads package metadata) is a fifth of sidtool's start, and JSON and fitted tables never use it."""
    import tabulate as module

    return module.tabulate, getattr(module, "_CustomTextWrap", None)


def _wrapped(cell: str, wrapper: textwrap.TextWrapper) -> str:
    """A cell wrapped to its column's width, line by line, exactly as tabulate's ``maxcolwidths`` does it.

    tabulate wraps every cell of every row, which cost two thirds of a 6,000-row table; most cells fit,
    and a cell of printable ASCII that fits, is not blank and has no outer whitespace comes out of the
    wrapping as it went in, so only the others are wrapped.
    """
    if cell and len(cell) <= wrapper.width and cell.isascii() and cell.isprintable() and cell == cell.strip():
        return cell
    return "\n".join("\n".join(wrapper.wrap(line)) for line in cell.splitlines() if line.strip() != "")


def fields(columns: Columns) -> list[Field]:
    """The columns as :class:`Field` values; a short form or Column ranks below the columns before it."""
    return [_field(column, number) for number, column in enumerate(columns)]


def _field(column: Field | Column | tuple, number: int) -> Field:
    if isinstance(column, Field):
        return column
    if isinstance(column, Column):
        return Field(column.key, column.header, column.show, priority=number, widest=column.width)
    show = column[2] if len(column) > 2 else None
    return Field(column[0], column[1], show, priority=number)


def _column(column: Field | Column | tuple) -> Column:
    if isinstance(column, Column):
        return column
    if isinstance(column, Field):
        return Column(column.key, column.header, column.show, column.widest)
    return Column(*column)


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
