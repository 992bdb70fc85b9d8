"""Table rendering: sidtool wraps only the cells that need it, and the table is the one tabulate's wrapping gives."""

from __future__ import annotations

import random

from tabulate import tabulate

from sidtool.output import Column, _cell, render

PIECES = ["S-1-5-21-1004336348-1177238915-682003330-1107", "Remote Desktop Users", "CORP\\Sales", " ", "  ", "-",
          "é", "Müller, Jürgen", "\u4e2d\u6587", "a" * 70, "x\ty", "line\nbreak", "", "→", "0x1F", "42"]  # fmt: skip


def test_tables_equal_tabulates_own_wrapping_of_every_cell():
    rng = random.Random("tables")
    columns = (Column("a", "A", width=12), Column("b", "B", width=30), Column("c", "C", width=60))
    for _ in range(300):
        records = [{key: "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4))) for key in "abc"}
                   for _ in range(rng.randint(1, 6))]  # fmt: skip
        ours = render(records, columns, "table")
        rows = [[_cell(record[key]) for key in "abc"] for record in records]  # the same cell texts, wrapped by tabulate
        theirs = tabulate(rows, ["A", "B", "C"], tablefmt="simple", disable_numparse=True, maxcolwidths=[12, 30, 60])
        assert ours == theirs + "\n", records
