"""Rendering: tables wrapped as tabulate wraps them, cells that cannot break a line, CSV and Markdown made safe."""

from __future__ import annotations

import csv
import io
import random

import pytest
from tabulate import tabulate

from sidtool.layout import cell_text
from sidtool.output import RAW_CSV, Column, render
from tests.support.cli_runner import REPO, run_sidtool

PIECES = ["S-1-5-21-1004336348-1177238915-682003330-1107", "Remote Desktop Users", "CORP\\Sales", " ", "  ", "-",
          "é", "Müller, Jürgen", "\u4e2d\u6587", "a" * 70, "x\ty", "line\nbreak", "", "→", "0x1F", "42"]  # fmt: skip


def test_tables_equal_tabulates_own_wrapping_of_every_cell():
    rng = random.Random("tables")
    columns = (Column("a", "A", width=12), Column("b", "B", width=30), Column("c", "C", width=60))
    for _ in range(300):
        records = [{key: "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4))) for key in "abc"}
                   for _ in range(rng.randint(1, 6))]  # fmt: skip
        ours = render(records, columns, "table")
        # the same cell texts, wrapped by tabulate
        rows = [[cell_text(record[key]) for key in "abc"] for record in records]
        theirs = tabulate(rows, ["A", "B", "C"], tablefmt="simple", disable_numparse=True, maxcolwidths=[12, 30, 60])
        assert ours == theirs + "\n", records


def test_a_line_separator_does_not_split_a_table_cell():
    table = render([{"a": "one\u2028two", "b": "x\u2029y"}], (("a", "A"), ("b", "B")), "table")
    assert len(table.splitlines()) == 3  # header, rule, one row
    assert "one\\u2028two" in table and "x\\u2029y" in table


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_quote(start):
    value = f'{start}HYPERLINK("http://attacker.example/","x")'
    records = [{"name": value, "plain": "Sales", "count": 3}]
    guarded = list(csv.reader(io.StringIO(render(records, (), "csv"))))
    assert guarded == [["name", "plain", "count"], ["'" + value, "Sales", "3"]]
    raw = list(csv.reader(io.StringIO(render(records, (), RAW_CSV))))
    assert raw[1] == [value, "Sales", "3"]


def test_csv_raw_is_an_option_of_the_commands_that_write_csv():
    guarded = run_sidtool("lookup", "=1+2", "--format", "csv")
    raw = run_sidtool("lookup", "=1+2", "--format", "csv", "--csv-raw")
    assert guarded.returncode == raw.returncode == 1  # the query matches nothing, and is echoed in the CSV
    assert guarded.stdout.splitlines()[1].startswith("'=1+2,false,")
    assert raw.stdout.splitlines()[1].startswith("=1+2,false,")
    assert run_sidtool("catalog", "--format", "csv", "--csv-raw").returncode == 0
    report = run_sidtool("report", str(REPO / "examples" / "corp-forest.ldif"), "--format", "csv", "--csv-raw")
    assert report.returncode == 1 and report.stdout.startswith("folder,")


def test_markdown_escapes_html_and_pipes():
    records = [{"a": "<img src=x onerror=alert(1)> & | done"}]
    text = render(records, (("a", "A"),), "markdown")
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; \\| done" in text
    assert "<img" not in text
    linked = render([{"a": "[click](javascript:alert(2)) ![i](x) `code` *em* a_b"}], (("a", "A"),), "markdown")
    assert "\\[click\\](javascript:alert(2)) !\\[i\\](x) \\`code\\` \\*em\\* a\\_b" in linked


def test_pieces_for_a_file_go_out_in_few_writes_and_for_a_terminal_as_they_come(monkeypatch):
    """cli._emit joins a report's pieces (one per finding in JSON) for a file or pipe: with PYTHONUNBUFFERED each
    write would be a system call. A terminal gets each piece as it is made. The text is the same either way."""
    import sys

    from sidtool import cli

    class Stream(io.StringIO):
        def __init__(self, terminal: bool) -> None:
            super().__init__()
            self.terminal = terminal
            self.writes = 0

        def isatty(self) -> bool:
            return self.terminal

        def write(self, text: str) -> int:
            self.writes += 1
            return super().write(text)

    pieces = [f"line {number}\n" for number in range(100_000)]
    for terminal in (False, True):
        stream = Stream(terminal)
        monkeypatch.setattr(sys, "stdout", stream)
        cli._emit(iter(pieces))
        assert stream.getvalue() == "".join(pieces)
        size = sum(map(len, pieces))
        assert stream.writes == (len(pieces) if terminal else -(-size // cli._EMIT_BATCH))
