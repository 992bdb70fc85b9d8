"""The report fits the terminal: every view of every example, lookup and catalog, at 80, 120 and 200 columns,
on a real pseudo-terminal; the first screen says what to do; piped output keeps one layout."""

from __future__ import annotations

import pytest

from sidtool.layout import PIPE_WIDTH, display_width
from tests.support.cli_runner import REPO, run_sidtool
from tests.support.terminal_runner import run_on_terminal

FOREST = str(REPO / "examples" / "corp-forest.ldif")
STORE = [str(REPO / "examples" / "corp-forest-pfdavadmin.txt"), "--directory", FOREST]
COMMANDS = [
    ["report", FOREST],
    ["report", FOREST, "--all", "--explain"],
    ["report", *STORE],
    ["report", *STORE, "--view", "senders"],
    ["report", *STORE, "--view", "servers"],
    ["report", *STORE, "--view", "summary"],
    ["report", str(REPO / "examples" / "corp-forest-permissions.csv"), "--directory", FOREST, "--all"],
    ["lookup", "S-1-5-32-555", "S-1-5-32-544", "Windows Authorization Access Group", "S-1-5-21-1-2-3-512", "nothing"],
    ["catalog"],
]


def _too_wide(text: str, width: int) -> list[str]:
    return [line for line in text.splitlines() if display_width(line) > width]


@pytest.mark.parametrize("columns", [80, 120, 200])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(c.rsplit("/", 1)[-1] for c in command))
def test_no_line_exceeds_the_terminal(command, columns):
    code, text, stderr = run_on_terminal(*command, columns=columns)
    assert code in (0, 1), stderr
    assert text.strip() and "Traceback" not in stderr
    assert _too_wide(text, columns) == []


@pytest.mark.parametrize("columns", [80, 120])
def test_the_first_screen_says_what_to_do(columns):
    _, text, _ = run_on_terminal("report", *STORE, columns=columns)
    first_screen = text.splitlines()[:24]
    assert first_screen[0].startswith("At risk: 11 entries on 4 folder(s) (6 high, 5 medium)")
    assert "What to do first:" in first_screen
    assert any("Store.exe ≥ 6.5.7232.35" in line and "EX2003A" in text for line in first_screen)
    assert any(line.lstrip().startswith("2. Or remove these") for line in first_screen)


def test_words_wrap_at_spaces_and_a_narrow_terminal_moves_the_explanation_under_the_row():
    _, narrow, _ = run_on_terminal("report", FOREST, columns=80)
    _, wide, _ = run_on_terminal("report", FOREST, columns=200)
    assert "Why" not in narrow.split("------", 1)[0].splitlines()[-1]  # not a column at 80
    assert "    Why: CORP\\Sales contains 1 sender(s)" in narrow
    assert "Why" in wide.split("------", 1)[0].splitlines()[-1] and "    Why:" not in wide
    for text in (narrow, wide):
        assert "Rem\n" not in text and "Desk\n" not in text  # "Remote Desktop Users" is never broken mid-word


def test_piped_output_has_one_layout_whatever_the_terminal():
    piped = run_sidtool("report", *STORE)
    assert _too_wide(piped.stdout, PIPE_WIDTH) == []
    assert run_sidtool("report", *STORE).stdout == piped.stdout
    narrow = run_sidtool("report", *STORE, env={"COLUMNS": "80"})  # COLUMNS is the user's choice
    assert _too_wide(narrow.stdout, 80) == [] and narrow.stdout != piped.stdout


def test_incomplete_stays_on_the_first_line_at_every_width(tmp_path):
    text = (REPO / "examples" / "corp-forest.ldif").read_text(encoding="utf-8")
    damaged = tmp_path / "partial.ldif"
    damaged.write_text(text.replace("member: CN=Terminal Access,", "member;range=0-0: CN=Terminal Access,", 1))
    for columns in (80, 120, 200):
        code, screen, _ = run_on_terminal("report", str(damaged), columns=columns)
        assert code == 3
        assert screen.startswith("INCOMPLETE: 1 item(s) could not be checked")
        assert _too_wide(screen, columns) == []
