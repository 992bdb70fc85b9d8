"""Decisions the admin records (--hotfixed, --decisions, --exit-zero), counts that agree across views and formats,
and outputs that can never overwrite an input."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.support.cli_runner import REPO, run_sidtool

FOREST = str(REPO / "examples" / "corp-forest.ldif")
STORE = [str(REPO / "examples" / "corp-forest-pfdavadmin.txt"), "--directory", FOREST]
CSV = [str(REPO / "examples" / "corp-forest-permissions.csv"), "--directory", FOREST]
SALES_SID = "S-1-5-21-1004336348-1177238915-682003330-1111"  # CORP\Sales in the example forest
EXAMPLES = [
    [FOREST],
    [FOREST, "--all"],
    [FOREST, "--baseline", "2003"],
    STORE,
    [*STORE, "--all"],
    CSV,
    [*CSV, "--hotfixed", "EX2003A", "--hotfixed", "EX2000"],
    [str(REPO / "tests" / "data" / "exports" / "ldapsearch_default.ldif")],
]
FOOTER = {  # the footer's words for each count of the summary
    "folders_scanned": r"(\d+) folders scanned",
    "entries_checked": r"(\d+) entries checked",
    "entries_at_risk": r"(\d+) at risk \(high",
    "risk_high": r"\(high (\d+),",
    "risk_medium": r"medium (\d+)\)",
    "risk_low": r"(\d+) low",
    "entries_accepted": r"(\d+) accepted\.",
    "senders_at_risk": r"Senders: (\d+) at risk",
    "senders_with_route": r"(\d+) with a route",
}


def _footer_counts(table: str) -> dict[str, int]:
    footer = " ".join(table.rstrip().split("\n\n")[-1].split())
    counts = {key: int(re.search(pattern, footer).group(1)) for key, pattern in FOOTER.items()}
    hidden = re.search(r"\((\d+) hidden;", footer)
    counts["entries_hidden"] = int(hidden.group(1)) if hidden else 0
    incomplete = re.search(r"INCOMPLETE: (\d+) item", footer)
    counts["unchecked"] = int(incomplete.group(1)) if incomplete else 0
    return counts


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda args: " ".join(a.rsplit("/", 1)[-1] for a in args))
def test_the_counts_agree_in_every_view_and_format(example):
    document = json.loads(run_sidtool("report", *example, "--format", "json").stdout)
    summary = document["summary"]
    table = run_sidtool("report", *example).stdout
    assert _footer_counts(table) == {key: value for key, value in summary.items() if key != "entries_shown"}
    shown = run_sidtool("report", *example, "--view", "summary").stdout
    rows = dict(re.findall(r"^(\w+)\s+(\d+)$", shown, re.M))
    assert {key: int(value) for key, value in rows.items()} == summary
    csv = run_sidtool("report", *example, "--view", "summary", "--format", "csv").stdout
    assert {line.split(",")[0]: int(line.split(",")[1]) for line in csv.splitlines()[1:]} == summary
    # and the numbers are those of the document itself
    assert summary["entries_shown"] == len(document["findings"])
    assert summary["senders_with_route"] == len(document["senders"])
    assert summary["unchecked"] == len(document["unchecked"])
    assert summary["entries_accepted"] == len(document["accepted"])
    risks = [f["risk"] for f in document["findings"] + document["accepted"]]
    assert summary["risk_medium"] == risks.count("medium") and summary["risk_high"] == risks.count("high")
    assert summary["entries_at_risk"] == sum(1 for f in document["findings"] if f["risk"] != "low")
    rows_in_table = [line for line in table.splitlines() if re.match(r"(high|medium|low)  ", line)]
    assert len(rows_in_table) == summary["entries_shown"]


def test_a_wrong_fail_on_names_the_allowed_values():
    result = run_sidtool("report", FOREST, "--fail-on", "severe")
    assert result.returncode == 2
    assert "unknown risk level 'severe'; expected none, low, medium or high" in result.stderr


def test_exit_zero_keeps_findings_from_failing_but_not_a_partial_input(tmp_path: Path):
    assert run_sidtool("report", FOREST).returncode == 1
    assert run_sidtool("report", FOREST, "--exit-zero").returncode == 0
    damaged = tmp_path / "partial.ldif"
    text = Path(FOREST).read_text(encoding="utf-8")
    damaged.write_text(text.replace("member: CN=Terminal Access,", "member;range=0-0: CN=Terminal Access,", 1))
    assert run_sidtool("report", str(damaged), "--exit-zero").returncode == 3


def test_hotfixed_servers_count_as_fixed_and_the_report_says_so():
    result = run_sidtool("report", *STORE, "--hotfixed", "EX2003A=6.5.7232.35", "--hotfixed", "ex2000", "--all")
    assert result.returncode == 0, result.stderr  # every exposed server now has the fix: all low
    assert "hotfix recorded: EX2003A, EX2000" in " ".join(result.stdout.split())
    document = json.loads(run_sidtool("report", *STORE, "--hotfixed", "EX2003A", "--format", "json").stdout)
    servers = {server["server"]: server for server in document["servers"]}
    assert servers["EX2003A"]["verdict"] == "hotfixed" and servers["EX2003A"]["vulnerable"] is False
    assert servers["EX2000"]["verdict"] == "hotfix-needed" and servers["EX2000"]["vulnerable"] is True
    assert {f["risk"] for f in document["findings"]} == {"high", "medium"}  # EX2000 still exposes them
    assert document["plan"]["patches"] == [{"servers": ["EX2000"], "fixes": 11}]


def test_a_hotfix_build_older_than_the_fix_leaves_the_server_exposed():
    document = json.loads(run_sidtool("report", *STORE, "--hotfixed", "EX2003A=6.5.7200.1", "--format", "json").stdout)
    server = next(s for s in document["servers"] if s["server"] == "EX2003A")
    assert (server["verdict"], server["vulnerable"], server["recorded_store_build"]) == (
        "hotfix-too-old", True, "6.5.7200.1")  # fmt: skip
    assert "older than the fix (6.5.7232.35)" in server["evidence"]


@pytest.mark.parametrize(("value", "message"), [("EX9999", "hotfixed server 'EX9999' is not in the directory data"),
                                                ("EX2003A=banana", "is not a Store.exe version")])  # fmt: skip
def test_a_hotfixed_server_that_is_not_there_or_a_bad_build_is_a_usage_error(value, message, tmp_path: Path):
    output = tmp_path / "out.txt"
    result = run_sidtool("report", *STORE, "--hotfixed", value, "-o", str(output))
    assert result.returncode == 2 and message in result.stderr
    assert not output.exists() and "Traceback" not in result.stderr


def _decisions(tmp_path: Path, text: str) -> str:
    path = tmp_path / "decisions.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="--decisions reads TOML with tomllib (Python 3.11+)")
def test_accepted_findings_are_counted_apart_and_do_not_fail(tmp_path: Path):
    decisions = _decisions(
        tmp_path,
        f"""\
[[accepted]]
folder = "\\\\IPM_SUBTREE\\\\Sales Orders"
trustee_sid = "{SALES_SID}"
reason = "reviewed: only the sales team posts there"
expires = 2999-12-31

[[accepted]]
folder = "/Sales Orders"
trustee_sid = "S-1-1-0"
reason = "an old decision"
expires = 2001-01-01
""",
    )
    result = run_sidtool("report", FOREST, "--decisions", decisions, "--format", "json")
    assert result.returncode == 1  # the other findings still fail
    assert f"{decisions}:7: the acceptance of /Sales Orders expired; the finding counts again" in result.stderr
    document = json.loads(result.stdout)
    (accepted,) = document["accepted"]
    assert (accepted["folder"], accepted["trustee_sid"]) == ("Sales Orders", SALES_SID)
    assert accepted["accepted"] == {"reason": "reviewed: only the sales team posts there", "expires": "2999-12-31",
                                    "location": f"{decisions}:1"}  # fmt: skip
    assert SALES_SID not in {f["trustee_sid"] for f in document["findings"]}
    assert document["summary"]["entries_accepted"] == 1 and document["summary"]["entries_at_risk"] == 4
    table = run_sidtool("report", FOREST, "--decisions", decisions).stdout
    assert "Accepted (1), not counted at risk:" in table
    assert "reviewed: only the sales team posts there until 2999-12-31" in " ".join(table.split())


@pytest.mark.skipif(sys.version_info < (3, 11), reason="--decisions reads TOML with tomllib (Python 3.11+)")
def test_accepting_every_finding_passes_fail_on(tmp_path: Path):
    document = json.loads(run_sidtool("report", FOREST, "--format", "json").stdout)
    tables = "".join(
        f'[[accepted]]\nfolder = "{f["folder"]}"\ntrustee_sid = "{f["trustee_sid"]}"\nreason = "reviewed"\n\n'
        for f in document["findings"]
    )
    result = run_sidtool("report", FOREST, "--decisions", _decisions(tmp_path, tables))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No entry at risk.\n1 low-risk entries hidden (--all shows them); 5 accepted")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="--decisions reads TOML with tomllib (Python 3.11+)")
def test_a_decision_that_cannot_be_used_is_named_with_its_line_and_the_rest_is_used(tmp_path: Path):
    decisions = _decisions(
        tmp_path,
        """\
[[hotfixed]]
server = "EX2003A"

[[accepted]]
folder = "/Sales Orders"
trustee = "CORP\\\\Sales"
reason = "by name"

[[hotfixed]]
server = "EX2000"
store_build = "6.0.6617.6"
""",
    )
    result = run_sidtool("report", FOREST, "--decisions", decisions, "--all")
    assert result.returncode == 3
    assert f"{decisions}:line 4: [[accepted]]: name the trustee by SID (trustee_sid): names are never matched" in (
        result.stderr
    )
    assert "hotfix recorded: EX2003A, EX2000" in " ".join(result.stdout.split())  # the other decisions were used


@pytest.mark.skipif(sys.version_info < (3, 11), reason="--decisions reads TOML with tomllib (Python 3.11+)")
def test_a_decisions_file_that_is_not_toml_or_too_large_is_one_line_exit_2(tmp_path: Path):
    broken = run_sidtool("report", FOREST, "--decisions", _decisions(tmp_path, "[[accepted]\nfolder = 1\n"))
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1 and "not TOML" in broken.stderr
    assert "line 1" in broken.stderr
    huge = tmp_path / "huge.toml"
    huge.write_text("# padding\n" * 120_000)
    result = run_sidtool("report", FOREST, "--decisions", str(huge))
    assert result.returncode == 2 and "at most 1048576 bytes" in result.stderr


@pytest.mark.parametrize("option", ["-o", "--remediation"])
@pytest.mark.parametrize("which", ["input", "directory", "symlink"])
def test_an_output_that_is_an_input_is_refused_and_nothing_is_written(tmp_path: Path, option, which):
    forest = tmp_path / "forest.ldif"
    forest.write_text(Path(FOREST).read_text(encoding="utf-8"), encoding="utf-8")
    pfdavadmin = tmp_path / "perms.txt"
    pfdavadmin.write_bytes((REPO / "examples" / "corp-forest-pfdavadmin.txt").read_bytes())
    before = forest.read_bytes(), pfdavadmin.read_bytes()
    target = {"input": pfdavadmin, "directory": forest, "symlink": tmp_path / "link.ldif"}[which]
    if which == "symlink":
        target.symlink_to(forest)
    output = [option, str(target)] if option == "-o" else ["--remediation", "ldif", str(target)]
    result = run_sidtool("report", str(pfdavadmin), "--directory", str(forest), *output)
    assert result.returncode == 2, result.stderr
    assert "that is an input of this report; nothing was written" in result.stderr
    assert (forest.read_bytes(), pfdavadmin.read_bytes()) == before
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_report_and_remediation_into_one_file_is_refused(tmp_path: Path):
    same = str(tmp_path / "out.txt")
    result = run_sidtool("report", FOREST, "-o", same, "--remediation", "ldif", same)
    assert result.returncode == 2 and "name the same file" in result.stderr
    assert not Path(same).exists()


def test_csv_written_to_a_file_opens_in_excel_and_stdout_stays_plain(tmp_path: Path):
    output = tmp_path / "findings.csv"
    result = run_sidtool("report", FOREST, "--format", "csv", "-o", str(output))
    assert result.returncode == 1
    data = output.read_bytes()
    assert data.startswith(b"\xef\xbb\xbffolder,") and "Müller".encode() not in data[:3]
    piped = run_sidtool("report", FOREST, "--format", "csv").stdout
    assert piped.startswith("folder,") and data.decode("utf-8-sig") == piped
    table = tmp_path / "table.txt"
    run_sidtool("report", FOREST, "-o", str(table))
    assert table.read_text(encoding="utf-8") == run_sidtool("report", FOREST).stdout  # -o writes what stdout shows


@pytest.mark.skipif(sys.version_info < (3, 11), reason="--decisions reads TOML with tomllib (Python 3.11+)")
def test_expired_acceptances_are_named_twenty_at_most_then_counted(tmp_path: Path):
    table = '[[accepted]]\nfolder = "/X"\ntrustee_sid = "S-1-1-0"\nreason = "old"\nexpires = 2001-01-01\n\n'
    result = run_sidtool("report", FOREST, "--decisions", _decisions(tmp_path, table * 25))
    lines = result.stderr.splitlines()
    assert sum("expired; the finding counts again" in line for line in lines) == 20
    assert "sidtool: 5 more acceptances expired" in lines
