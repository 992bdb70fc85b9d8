"""End to end: ``sidtool lookup`` and ``sidtool catalog`` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests.support.cli_runner import REPO, run_sidtool


def test_lookup_the_done_when_example():
    result = run_sidtool(
        "lookup", "S-1-5-32-555", "S-1-5-32-544", "Windows Authorization Access Group", "S-1-5-21-1-2-3-512",
        "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = json.loads(result.stdout)
    assert [(r["sid"], r["name"], r["known_to_legacy_store"]) for r in rows] == [
        ("S-1-5-32-555", "Remote Desktop Users", False),
        ("S-1-5-32-544", "Administrators", True),
        ("S-1-5-32-560", "Windows Authorization Access Group", False),
        ("S-1-5-21-1-2-3-512", "Domain Admins", True),
    ]
    for row in rows:
        assert {"sid", "name", "scope", "introduced", "aliases", "known_to_legacy_store"} <= row.keys()
        assert isinstance(row["aliases"], list)
    assert rows[0]["introduced"] == "2003" and rows[0]["scope"] == "builtin" and rows[0]["sddl"] == "RD"
    assert rows[3]["scope"] == "domain"


def test_lookup_table_is_the_default():
    result = run_sidtool("lookup", "RD", "BUILTIN\\Performance Monitor Users")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["SID", "Name"]
    rows = {line.split()[0]: line for line in lines[2:] if line.startswith("S-")}
    assert list(rows) == ["S-1-5-32-555", "S-1-5-32-558"]
    assert "Remote Desktop Users" in rows["S-1-5-32-555"] and " no " in rows["S-1-5-32-555"]
    assert "Performance Monitor Users" in rows["S-1-5-32-558"] and " 2003 " in rows["S-1-5-32-558"]


def test_lookup_not_found_exits_1_and_still_prints_the_other_rows():
    result = run_sidtool("lookup", "S-1-5-32-544", "No Such Group", "S-1-5-32-999", "--format", "json")
    assert result.returncode == 1
    rows = json.loads(result.stdout)
    assert [(r["query"], r["found"]) for r in rows] == [
        ("S-1-5-32-544", True),
        ("No Such Group", False),
        ("S-1-5-32-999", False),
    ]
    assert rows[2]["scope"] == "builtin" and rows[2]["known_to_legacy_store"] is False
    assert "no well-known SID matches 'No Such Group'" in result.stderr
    assert "no well-known SID matches S-1-5-32-999" in result.stderr


def test_lookup_malformed_sid_is_an_input_error_without_traceback():
    result = run_sidtool("lookup", "S-1-5-x", "S-1-5-32-555")
    assert result.returncode == 2
    assert result.stderr.strip() == "sidtool: 'S-1-5-x': sub-authority 1 'x' is not a decimal number"
    assert "S-1-5-32-555" in result.stdout


def test_lookup_csv_and_markdown():
    result = run_sidtool("lookup", "S-1-5-32-555", "--format", "csv")
    assert result.returncode == 0
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert row["sid"] == "S-1-5-32-555" and row["known_to_legacy_store"] == "false"
    assert "BUILTIN\\Remote Desktop Users" in row["aliases"].split("|")
    result = run_sidtool("lookup", "S-1-5-32-555", "--format", "markdown")
    assert result.stdout.startswith("| SID")
    assert "| S-1-5-32-555 " in result.stdout


def test_usage_errors_exit_2():
    assert run_sidtool().returncode == 2
    assert run_sidtool("lookup").returncode == 2
    assert run_sidtool("lookup", "RD", "--format", "yaml").returncode == 2
    result = run_sidtool("catalog", "--introduced-after", "Windows 95")
    assert result.returncode == 2 and "unknown Windows release" in result.stderr


def test_help_has_examples():
    for command in ("lookup", "catalog"):
        result = run_sidtool(command, "--help")
        assert result.returncode == 0
        assert "examples:" in result.stdout and f"sidtool {command}" in result.stdout


@pytest.mark.parametrize("command", [(), ("lookup",), ("catalog",), ("report",), ("collect",), ("sd", "decode")])
@pytest.mark.parametrize("columns", [60, 80])
def test_help_fits_the_terminal_but_for_words_that_cannot_break(command, columns):
    """Descriptions are wrapped to the width; examples are kept as written, and written to fit 80 columns (with
    shell line continuations), but for a token no line can break (a base64 descriptor, a list of choices)."""
    result = run_sidtool(*command, "--help", env={"COLUMNS": str(columns)})
    assert result.returncode == 0
    usage, _, rest = result.stdout.partition("\n\n")  # (argparse aligns the usage under itself: not checked)
    wrapped, _, examples = rest.partition("\nexamples:\n")
    assert usage.startswith("usage: sidtool")
    for text, width in ((wrapped, columns), (examples, 80)):
        for line in text.splitlines():
            assert len(line) <= width or max(map(len, line.split())) > 40, line


def test_catalog_filters():
    result = run_sidtool("catalog", "--introduced-after", "2000", "--scope", "builtin", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    sids = {row["sid"] for row in rows}
    assert {"S-1-5-32-555", "S-1-5-32-560", "S-1-5-32-562", "S-1-5-32-580"} <= sids
    assert "S-1-5-32-544" not in sids and "S-1-5-32-554" not in sids
    assert all(row["scope"] == "builtin" and row["known_to_legacy_store"] is False for row in rows)
    assert all(row["sources"] for row in rows)


def test_catalog_full_listing_table():
    result = run_sidtool("catalog")
    assert result.returncode == 0
    assert result.stdout.count("\n") >= 112  # header, rule, and at least 110 entries
    assert "S-1-5-21-*-*-*-519" in result.stdout


def test_catalog_release_names_are_case_insensitive():
    result = run_sidtool("catalog", "--introduced-after", "2003 sp1", "--format", "json")
    assert result.returncode == 0
    assert "S-1-5-32-562" not in {row["sid"] for row in json.loads(result.stdout)}


def test_output_piped_into_a_closed_reader_is_quiet():
    # 2,000 rows are far more than a pipe buffer holds, so the writer really meets a closed pipe.
    queries = " ".join(["S-1-5-32-544"] * 2000)
    pipeline = subprocess.run(
        f"{sys.executable} -m sidtool lookup {queries} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": os.environ["PATH"]},
    )
    assert pipeline.stdout.startswith("SID")
    assert pipeline.stderr == ""
