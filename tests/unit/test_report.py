"""The report's JSON document: written in pieces, a line per finding, each sender and trustee once."""

from __future__ import annotations

import json
from dataclasses import replace

from sidtool.report import assessment_json, build, footer, verdict_lines
from sidtool.risk import assess
from sidtool.sources import read_inputs
from tests.support.cli_runner import REPO

FOREST = str(REPO / "examples" / "corp-forest.ldif")


def _assessment(*names: str):
    problems = []
    directory = read_inputs(list(names), on_problem=problems.append)
    assert problems == []
    return assess(directory)


def test_streamed_document_is_one_json_document_with_a_line_per_finding():
    assessment = _assessment(FOREST)
    for show_all in (False, True):
        report = build(assessment, show_all)
        findings = report.shown
        pieces = list(assessment_json(report))
        assert len(pieces) == len(findings) + 2  # head, one piece per finding, tail
        text = "".join(pieces)
        document = json.loads(text)
        assert len(document["findings"]) == len(findings)
        lines = text.splitlines()
        start = lines.index('  "findings": [')
        for number, record in enumerate(document["findings"], start + 1):  # each finding whole on its line
            assert json.loads(lines[number].strip().rstrip(",")) == record


def test_no_findings_is_still_one_valid_document():
    directory = read_inputs([FOREST], on_problem=[].append)
    report = build(assess(directory, "2003"))  # every at-risk alias of the example came with Windows Server 2003
    text = "".join(assessment_json(report))
    document = json.loads(text)
    assert document["findings"] == [] and document["trustees"] == [] and document["summary"]["entries_at_risk"] == 0
    assert text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"  # nothing between the brackets


def test_each_sender_and_each_trustee_is_described_once_and_findings_refer_to_them():
    assessment = _assessment(FOREST)
    document = json.loads("".join(assessment_json(build(assessment, True))))
    sids = [sender["sid"] for sender in document["senders"]]
    assert len(sids) == len(set(sids)) == document["summary"]["senders_with_route"]
    referred = {sid for trustee in document["trustees"] for sid in trustee["affected_sids"]}
    assert referred and referred <= set(sids)
    trustees = [trustee["sid"] for trustee in document["trustees"]]
    assert len(trustees) == len(set(trustees)) == len({f["trustee_sid"] for f in document["findings"]})
    for sender in document["senders"]:
        assert sender["path"][0]["sid"] == sender["sid"]
        assert sender["path"][-1]["sid"] in {group["sid"] for group in sender["groups"]}


def test_a_single_domain_forest_says_no_entry_at_risk_and_why_in_the_verdict_and_the_counts():
    directory = read_inputs([FOREST], on_problem=[].append)
    root = [domain for domain in directory.domains if not domain.parent_dns_name]
    # (one domain: the child's principals are taken as the root's, or their naming context shows a second domain)
    principals = tuple(replace(p, domain_dn=root[0].dn) for p in directory.principals)
    report = build(assess(replace(directory, domains=tuple(root), principals=principals)))
    assert report.shown == () and report.counts.entries_at_risk == 0 and report.counts.senders_at_risk == 0
    assert report.counts.risk_low == len(report.assessment.findings) > 0  # hidden, and counted
    assert verdict_lines(report)[0] == (
        "No entry at risk: 6 sender(s) have a route into the new built-in groups, but a condition of KB 870585 "
        "is false (multi-domain)."
    )
    assert f"0 at risk (high 0, medium 0), {report.counts.risk_low} low" in footer(report.counts)
    assert "Senders: 0 at risk, 6 with a route into the new built-ins." in footer(report.counts)


def test_the_json_words_stay_as_documented_while_the_analysis_returns_data():
    report = build(_assessment(FOREST), True)
    document = json.loads("".join(assessment_json(report)))
    sales = next(f for f in document["findings"] if f["trustee"] == "CORP\\Sales")
    assert (
        sales["reason"]
        == "CORP\\Sales contains 1 sender(s) in at-risk built-in groups; pre-SP2 store on EX2003A, EX2000"
    )
    assert (sales["reason_kind"], sales["false_conditions"], sales["unknown_conditions"]) == ("group", [], [])
    assert sales["risk_note"].startswith("medium, not high: only the folder's directory rights name the trustee")
    phoenix = next(f for f in document["findings"] if f["folder"] == "Project Phoenix")
    assert phoenix["reason"].endswith("; every server concerned has the fix")
    assert phoenix["risk_note"] == "low, not higher: a condition is false (servers)"
    conditions = {c["name"]: c for c in document["conditions"]}
    assert conditions["multi-domain"]["evidence"] == "child domains: emea.corp.example.com"
    assert (conditions["multi-domain"]["basis"], conditions["multi-domain"]["values"]) == (
        "child-domains", ["emea.corp.example.com"])  # fmt: skip
    servers = {s["server"]: s for s in document["servers"]}
    assert servers["EX2003A"]["evidence"] == (
        "Exchange 2003 SP1 (build 6.5.7226.6): vulnerable unless Store.exe is at least 6.5.7232.35 (hotfix, KB 870585)"
    )
    assert servers["EX2003B"]["verdict"] == "fixed" and servers["EX2003A"]["verdict"] == "hotfix-needed"


def test_a_nul_in_a_name_is_shown_and_wraps_like_any_other_character():
    """No character of a line marks where its continuation hangs (a Hanging line says so): a NUL from the directory
    is data, shown escaped, never taken for a marker."""
    from sidtool.report import Hanging, _wrapped

    line = "  2. Or remove these 5 membership(s): Terminal\x00Access from Remote Desktop Users (corp.example.com)"
    lines = _wrapped([line, Hanging("  windows-2003   yes      ", "domain controllers run Windows\x00Server 2003")], 60)
    assert all(len(text) <= 60 for text in lines), lines
    assert "Terminal\\x00Access" in " ".join(lines) and "\x00" not in "".join(lines)
    assert lines[1].startswith("     ") and lines[-1].startswith(" " * 25)  # under the text after "2. " / the state
    narrow = _wrapped([Hanging("  windows-2003   yes      ", "domain controllers run Windows\x00Server 2003")], 40)
    assert "".join(narrow).replace(" ", "").endswith("Windows\\x00Server2003")  # a word split is not broken apart
