"""The synthetic forest generator: reproducible, and its planted ground truth is what ``sidtool report`` finds.

A small forest, end to end as the scale benchmark runs it (benchmarks/report_scale.py runs the
same check at 10^4 to 10^6 entries): every store permission entry the generator planted at risk
is reported with the planted risk, and nothing else is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from benchmarks.gen_forest import Options, generate, write_snapshot
from sidtool.report import _ONE_LINE, build, finding_lines, finding_record
from sidtool.risk import assess
from sidtool.sources import read_inputs
from tests.support.cli_runner import run_sidtool

FILES = ("forest.ldif", "pfdavadmin.txt", "truth.json")


def options(seed: int = 7, servers: tuple[str, ...] = ("2003sp2", "2003sp1", "2000sp3")) -> Options:
    return Options(
        domains=3, users=900, groups=120, depth=3, fanout=8, at_risk_share=0.02,
        routes={"direct": 1.0, "nested": 2.0, "primary": 1.0, "foreign": 1.0}, servers=list(servers),
        folders=150, entries_per_folder=12, mail_enabled_share=0.2, default_post_share=0.05, seed=seed,
    )  # fmt: skip


def digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


@pytest.fixture(scope="module")
def forest(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("forest")
    generate(options(), folder)
    return folder


def store_findings(document: dict) -> set[tuple[str, str, str]]:
    return {(f["folder"], f["trustee_sid"], f["risk"]) for f in document["findings"] if f["acl_source"] == "store"}


def planted(folder: Path, show_all: bool) -> tuple[set[tuple[str, str, str]], dict]:
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    entries = {
        (e["folder"], e["trustee_sid"], e["risk"]) for e in truth["store_entries"] if show_all or e["risk"] != "low"
    }
    return entries, truth


def test_same_seed_same_files_other_seed_other_files(forest, tmp_path):
    generate(options(), tmp_path / "again")
    assert digests(tmp_path / "again") == digests(forest)
    generate(options(seed=8), tmp_path / "other")
    assert digests(tmp_path / "other")["forest.ldif"] != digests(forest)["forest.ldif"]


@pytest.mark.parametrize("show_all", [False, True])
def test_report_finds_exactly_the_planted_entries(forest, show_all):
    arguments = ["--all"] if show_all else []
    result = run_sidtool("report", str(forest / "pfdavadmin.txt"), "--directory", str(forest / "forest.ldif"),
                         "--format", "json", *arguments)  # fmt: skip
    assert result.returncode == 1, result.stderr  # findings, and every record read
    document = json.loads(result.stdout)
    expected, truth = planted(forest, show_all)
    assert expected  # the generator did plant entries at risk
    assert store_findings(document) == expected
    assert document["summary"]["senders_at_risk"] == truth["senders_at_risk"]
    assert all(count > 0 for count in truth["routes"].values())  # every route was planted


def test_only_fixed_servers_make_every_planted_entry_low(tmp_path):
    generate(options(servers=("2003sp2",)), tmp_path)
    result = run_sidtool("report", str(tmp_path / "pfdavadmin.txt"), "--directory", str(tmp_path / "forest.ldif"),
                         "--format", "json", "--all")  # fmt: skip
    assert result.returncode == 0, result.stderr  # low findings only: below --fail-on medium
    expected, _ = planted(tmp_path, True)
    assert expected and {risk for _, _, risk in expected} == {"low"}
    assert store_findings(json.loads(result.stdout)) == expected


def test_snapshot_of_the_forest_reports_the_same(forest):
    snapshot = write_snapshot(forest)
    result = run_sidtool("report", str(snapshot), "--format", "json", "--all")
    assert result.returncode == 1, result.stderr
    expected, _ = planted(forest, True)
    assert store_findings(json.loads(result.stdout)) == expected


def test_default_on_every_folder_names_each_sender_once_not_once_per_folder(tmp_path):
    """The report's size grows with the data, not with findings times senders (JSON version 2)."""
    settings = options()
    settings.default_post_share = 1.0  # Default may post on every folder: every folder has a finding for everyone
    generate(settings, tmp_path)
    result = run_sidtool("report", str(tmp_path / "pfdavadmin.txt"), "--directory", str(tmp_path / "forest.ldif"),
                         "--format", "json")  # fmt: skip
    document = json.loads(result.stdout)
    everyone = [f for f in document["findings"] if f["trustee_sid"] == "S-1-1-0"]
    assert len(everyone) >= settings.folders // 2 and everyone[0]["affected_count"] == len(document["senders"]) > 5
    findings = json.dumps(document["findings"])
    for sender in document["senders"]:  # findings name a sender only where it is itself the trustee
        own = sum(1 for f in document["findings"] if f["trustee_sid"] == sender["sid"])
        assert findings.count(f'"{sender["sid"]}"') == own
        lists = [t for t in document["trustees"] if sender["sid"] in t["affected_sids"]]
        assert "S-1-1-0" in {t["sid"] for t in lists}  # once in Everyone's list, for all its folders


def test_finding_records_that_share_their_trustees_fields_are_still_each_findings_own(forest):
    """The JSON works out the fields a trustee's findings share once (report.finding_record's memo)."""
    directory = read_inputs([str(forest / "pfdavadmin.txt")], directories=[str(forest / "forest.ldif")],
                            on_problem=[].append)  # fmt: skip
    assessment = assess(directory)
    report = build(assessment, True)
    memo: dict = {}
    records = [finding_record(finding, assessment.baseline, memo) for finding in report.shown]
    assert records == [finding_record(finding, assessment.baseline) for finding in report.shown]
    assert len(report.shown) > 2 * len(memo) > 2  # findings shared their fields, and not all of them one set
    lines = list(finding_lines(report.shown, assessment.baseline))  # the JSON's lines: shared fields encoded once
    assert lines == [_ONE_LINE.encode(record) for record in records]
