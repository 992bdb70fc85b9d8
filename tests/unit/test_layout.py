"""Tables fitted to a width: no line wider, words whole where they fit, columns left out by priority."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sidtool.layout import MAX_WIDTH, MIN_WIDTH, PIPE_WIDTH, Field, display_width, fit_table, output_width, wrap

WORDS = st.text(alphabet=st.sampled_from("abcdefghij→éü中文\\-_.:"), min_size=1, max_size=70)
CELLS = st.lists(WORDS, min_size=0, max_size=8).map(" ".join)
FIELDS = (
    Field("risk", "Risk", priority=0),
    Field("folder", "Folder", priority=1, widest=40),
    Field("trustee", "Trustee", priority=2),
    Field("why", "Why", priority=5, below=True, least=30),
    Field("extra", "Extra column", priority=4),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({f.key: CELLS for f in FIELDS}), max_size=6), st.integers(20, 220))
def test_no_line_is_wider_than_the_width(records, width):
    text = fit_table(records, FIELDS, width)
    assert all(display_width(line) <= max(width, 1) for line in text.splitlines()), text


@settings(max_examples=300, deadline=None)
@given(CELLS, st.integers(2, 120))
def test_wrap_breaks_only_at_spaces_unless_a_word_is_wider_than_the_line(text, width):
    lines = wrap(text, width)
    assert all(display_width(line) <= width for line in lines)
    words = text.split()
    if all(display_width(word) <= width for word in words):
        assert " ".join(lines).split() == words  # every word whole, in order
    assert "".join("".join(lines).split()) == "".join(words)  # nothing lost, even when a word is split


def test_display_width_counts_wide_characters_twice_and_combining_marks_not_at_all():
    assert display_width("abc") == 3 and display_width("中文") == 4 and display_width("e\u0301") == 1
    assert display_width("\u0645\u06cc\u200c\u062e") == 3  # a joiner (Persian ZWNJ) takes no column
    assert display_width("\u2764\ufe0f") == 1  # nor does a variation selector


def test_clipped_cuts_at_a_column_count_with_an_ellipsis():
    from sidtool.layout import clipped

    assert clipped("abcdef", 6) == "abcdef" and clipped("abcdef", 4) == "abc…"
    assert clipped("中文中文", 5) == "中文…" and display_width(clipped("中文中文", 4)) <= 4


def test_the_least_important_columns_go_first_and_an_explanation_moves_under_its_row():
    why = "Authenticated Users includes all 6 senders in at-risk built-in groups"
    record = {"risk": "medium", "folder": "Company Announcements", "trustee": "Authenticated Users", "why": why,
              "extra": "x" * 25}  # fmt: skip
    wide = fit_table([record], FIELDS, 200)
    assert wide.splitlines()[0].split() == ["Risk", "Folder", "Trustee", "Why", "Extra", "column"]
    narrow = fit_table([record], FIELDS, 60)
    assert narrow.splitlines()[0].split() == ["Risk", "Folder", "Trustee"]
    assert "    Why: Authenticated Users includes all 6 senders" in narrow
    assert " ".join(narrow.split()).endswith("(not shown at 60 columns: Extra column; a wider terminal or --format csv "
                                            "shows them)")  # fmt: skip


def test_the_width_comes_from_columns_else_the_terminal_else_the_pipe_width(monkeypatch):
    class Pipe:
        def isatty(self) -> bool:
            return False

    monkeypatch.delenv("COLUMNS", raising=False)
    assert output_width(Pipe()) == PIPE_WIDTH
    for columns, expected in (("132", 132), ("10", MIN_WIDTH), ("100000", MAX_WIDTH), ("wide", PIPE_WIDTH)):
        monkeypatch.setenv("COLUMNS", columns)
        assert output_width(Pipe()) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(range(6)), max_size=30), st.lists(CELLS, min_size=6, max_size=6),
       st.integers(20, 220))  # fmt: skip
def test_cells_seen_before_are_laid_out_as_when_worked_out_afresh(picks, texts, width):
    """fit_table remembers each column's texts (and the text of a list given again, by identity): with the memos
    off (no text remembered), the same table."""
    import sidtool.layout as layout

    lists = [text.split() for text in texts]  # the same list objects on many rows, as a trustee's senders are
    fields = (*FIELDS, Field("names", "Names", lambda names: f"{len(names)}: {', '.join(names)}", priority=3))
    records = [{"risk": "high", "folder": f"/F{n}", "trustee": texts[pick], "why": texts[-1 - pick],
                "extra": "x", "names": lists[pick]} for n, pick in enumerate(picks)]  # fmt: skip
    remembered = fit_table(records, fields, width)
    kept = layout._CELLS_KEPT
    try:
        layout._CELLS_KEPT = 0
        assert fit_table(records, fields, width) == remembered
    finally:
        layout._CELLS_KEPT = kept


def test_a_long_table_comes_in_pieces_of_whole_lines(monkeypatch):
    import sidtool.layout as layout

    monkeypatch.setattr(layout, "_LINES_A_PIECE", 10)
    records = [{"risk": "high", "folder": f"/Folder {n}", "trustee": "CORP\\Sales", "why": "", "extra": ""}
               for n in range(50)]  # fmt: skip
    pieces = list(layout.fit_table_pieces(iter(records), FIELDS, 80))
    assert len(pieces) > 4 and all(piece.endswith("\n") for piece in pieces)
    assert "".join(pieces) == fit_table(records, FIELDS, 80)
    assert "".join(pieces).count("/Folder ") == 50
