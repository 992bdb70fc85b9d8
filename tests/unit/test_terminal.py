"""Text for terminals: escapes, line breaks and reordering marks in data are shown, never obeyed.

Tables were escaped before; the report's header lines (a DC's ``operatingSystem``, server names) and
every stderr message (notes naming member DNs, problems quoting file text) now pass through the same
:func:`sidtool.terminal.printable`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sidtool import cli
from sidtool.sources import read_inputs, snapshot
from sidtool.terminal import printable
from tests.support.cli_runner import REPO, run_sidtool

FOREST = Path(REPO / "examples" / "corp-forest.ldif")
HOSTILE = "\x1b]0;owned\x07\x1b[2J\u202eevil\u2028forged line\x9b31m"
ESCAPED = "\\x1b]0;owned\\x07\\x1b[2J\\u202eevil\\u2028forged line\\x9b31m"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mred", "\\x1b[31mred"),  # ECMA-48 CSI introduced by ESC [
        ("\x9b31m", "\\x9b31m"),  # the 8-bit CSI
        ("a\nb\rc\x0bd\x0ce\x1cf\x85g", "a\\x0ab\\x0dc\\x0bd\\x0ce\\x1cf\\x85g"),  # every str.splitlines boundary
        ("one\u2028two\u2029three", "one\\u2028two\\u2029three"),  # LINE and PARAGRAPH SEPARATOR
        ("\u202eabc\u202c", "\\u202eabc\\u202c"),  # right-to-left override and its pop
        ("\u2066x\u2069\u061cy\u200ez\u200f", "\\u2066x\\u2069\\u061cy\\u200ez\\u200f"),  # isolates, ALM, LRM, RLM
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),  # JSON can spell it; UTF-8 cannot encode it
        ("Müller, Jürgen 中文 →", "Müller, Jürgen 中文 →"),  # ordinary text is left alone
        ("\u200d\u200c", "\u200d\u200c"),  # joiners shape scripts and emoji; they reorder nothing
        ("CORP\\Sa\u200bles", "CORP\\Sa\\u200bles"),  # invisible: it would read as CORP\Sales
        (
            "a\xadb\u2060c\ufeffd\u180ee\ufff9",
            "a\\xadb\\u2060c\\ufeffd\\u180ee\\ufff9",
        ),  # soft hyphen, word joiner, ...
    ],
)
def test_printable_escapes_controls_separators_and_reordering_marks(text, shown):
    assert printable(text) == shown


def test_printable_leaves_no_line_break_python_knows():
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    assert len(printable(every).splitlines()) == 1


def test_every_stderr_message_is_escaped(capsys):
    cli._warn(f"server says: {HOSTILE}")
    err = capsys.readouterr().err
    assert err == f"sidtool: server says: {ESCAPED}\n"


def test_header_lines_and_notes_show_hostile_directory_data_escaped(tmp_path):
    text = FOREST.read_text(encoding="utf-8")
    system = base64.b64encode(f"Windows Server 2003{HOSTILE}".encode()).decode()
    ghost = base64.b64encode(f"CN=ghost{HOSTILE},CN=Users,DC=corp,DC=example,DC=com".encode()).decode()
    damaged = text.replace("operatingSystem: Windows Server 2003\n", f"operatingSystem:: {system}\n")
    damaged = damaged.replace(
        "member: CN=Terminal Access,CN=Users,DC=corp,DC=example,DC=com\n",
        f"member: CN=Terminal Access,CN=Users,DC=corp,DC=example,DC=com\nmember:: {ghost}\n",
    )
    assert damaged.count(system) == 2 and ghost in damaged
    path = tmp_path / "hostile.ldif"
    path.write_text(damaged, encoding="utf-8")
    result = run_sidtool("report", str(path))
    assert result.returncode == 3, result.stderr  # the ghost, a member of an at-risk group, was not read
    for stream in (result.stdout, result.stderr):
        assert not any(mark in stream for mark in ("\x1b", "\x07", "\x9b", "\u202e", "\u2028"))
    header = result.stdout.split("KB 870585 conditions", 1)[1].split("\n\n", 1)[0]
    assert " ".join(f"Windows Server 2003{ESCAPED}".split()) in " ".join(header.split())  # wrapped at spaces
    assert f"members not in the data: CN=ghost{ESCAPED},CN=Users" in " ".join(result.stdout.split())
    assert len(result.stderr.splitlines()) == result.stderr.count("sidtool: ")  # no forged lines


@pytest.mark.parametrize("fmt", ["json", "csv", "table", "markdown"])
def test_a_lone_surrogate_in_a_snapshot_is_written_as_an_escape_not_an_internal_error(tmp_path, fmt):
    """JSON can spell U+D800, which UTF-8 cannot encode: it is written as its escape, in JSON one that reads back."""
    document = snapshot.to_document(read_inputs([str(FOREST)], on_problem=pytest.fail))
    for principal in document["principals"]:
        principal["name"] = f"{principal['name']}\ud800"
    path = tmp_path / "surrogates.json"
    path.write_text(json.dumps(document))  # ASCII: json.dumps escapes the surrogate
    for output in ([], ["-o", str(tmp_path / f"out.{fmt}")]):
        result = run_sidtool("report", str(path), "--format", fmt, "--all", *output)
        assert result.returncode == 1, result.stderr
        text = result.stdout if not output else Path(output[1]).read_text(encoding="utf-8")
        assert "\\ud800" in text
        if fmt == "json":
            assert all(sender["name"].endswith("\ud800") for sender in json.loads(text)["senders"])


def test_every_format_character_but_the_joiners_is_escaped():
    """The list in terminal.py is Unicode's category Cf (as this Python knows it), less U+200C and U+200D."""
    import sys
    import unicodedata

    for code in range(sys.maxunicode + 1):
        character = chr(code)
        if unicodedata.category(character) == "Cf" and code not in (0x200C, 0x200D):
            assert printable(character) != character, hex(code)
    assert printable("CORP\\Sales\U000e0041\U000e0042") == "CORP\\Sales\\U000e0041\\U000e0042"  # tag characters


def test_output_for_a_terminal_keeps_json_readable_as_the_same_text():
    import json

    from sidtool.terminal import for_terminal

    document = json.dumps({"name": "a\x9bb\u202ec\U000e0041\ud800d\tü\n"}, ensure_ascii=False)
    shown = for_terminal(document)
    assert shown.isascii() or "ü" in shown
    assert not any(char in shown for char in "\x9b\u202e\U000e0041\ud800")
    assert json.loads(shown) == json.loads(document)
