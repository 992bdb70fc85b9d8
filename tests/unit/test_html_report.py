"""The HTML report: sections in the reader's order, the same words and counts as the other views, routes drawn,
nothing fetched from anywhere, and directory text that can never become markup or script."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest

from sidtool import html_report
from sidtool.html_report import SECTIONS, render_html
from sidtool.provenance import InputFile, RunInfo
from sidtool.report import build, footer, verdict_lines
from sidtool.risk import assess
from sidtool.sources import read_inputs
from sidtool.terminal import printable
from tests.support.cli_runner import REPO
from tests.support.hostile_names import BIDI, BREAKOUT, SCRIPT, SINGLE, hostile_directory

EXAMPLE = [str(REPO / "examples" / "corp-forest-pfdavadmin.txt")]
EXAMPLE_DIRECTORY = [str(REPO / "examples" / "corp-forest.ldif")]
RUN = RunInfo(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "0.1.0", (InputFile("perms.txt", "input", 3, "ab"),))


class Elements(HTMLParser):
    """Every element and attribute of a document, the ids of its sections in order, and its script and style."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.sections: list[str] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._inside: str | None = None
        self.feed(document)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "section":
            self.sections.append(attributes.get("id") or "")
        if tag in self.raw:
            self._inside = tag
            self.raw[tag].append("")

    def handle_endtag(self, tag):
        self._inside = None

    def handle_data(self, data):
        if self._inside:
            self.raw[self._inside][-1] += data

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attributes for name, attributes in self.tags if name == tag]


def _example_report(show_all: bool = False):
    directory = read_inputs(EXAMPLE, on_problem=[].append, directories=EXAMPLE_DIRECTORY)
    return build(assess(directory), show_all)


def _document(report, run: RunInfo = RUN) -> str:
    return "".join(render_html(report, run))


def test_sections_come_in_the_order_a_reader_needs_them():
    document = _document(_example_report())
    elements = Elements(document)
    assert elements.sections == list(SECTIONS)
    assert SECTIONS == ("verdict", "conditions", "actions", "findings", "routes", "servers", "unchecked", "inputs")
    assert document.startswith("<!DOCTYPE html>\n") and document.endswith("</html>\n")


def test_the_html_says_what_the_table_says_and_counts_the_same():
    report = _example_report()
    document = _document(report)
    for line in verdict_lines(report):  # the verdict and the actions' words, as the terminal shows them
        if not line.startswith("  ") and line != "What to do first:":
            assert html.escape(line) in document
    assert html.escape(footer(report.counts)) in document
    elements = Elements(document)
    folders = {finding.entry.folder for finding in report.shown}
    assert [a for a in elements.named("h3") if a] == []  # headings carry no attributes
    assert len(re.findall(r'<tr class="filterable"><td class="risk', document)) == len(report.shown)
    for folder in folders:
        assert f"<h3>{html.escape(folder)}</h3>" in document
    # each step of the plan, with its reach; each membership to remove, with the senders it reaches
    assert "Reach: fixes 11 of 11 entries." in document
    assert f"these {len(report.plan.removals)} membership(s)" in document
    assert "EX2003A" in document and "6.5.7232.35" in document


def test_each_sender_at_risk_has_its_route_drawn():
    report = _example_report()
    document = _document(report)
    elements = Elements(document)
    figures = [a for a in elements.named("figure") if "route" in (a.get("class") or "")]
    assert len(figures) == report.counts.senders_at_risk == 6
    labels = [a["aria-label"] for a in elements.named("svg")]
    assert "carol.jones → Sales Managers → Terminal Access → Remote Desktop Users" in labels
    # Domain Users reaches its members through primaryGroupID: the step says so
    assert document.count(">primary group</text>") == 3


def test_a_step_into_another_domain_is_drawn_dashed_and_named():
    report = build(assess(hostile_directory()))
    svg = [part for part in _document(report).split("<svg")[1:] if "other domain" in part]
    assert len(svg) == 1
    assert 'class="edge cross"' in svg[0] and 'class="step cross"' in svg[0]


def test_the_file_needs_nothing_from_outside():
    document = _document(_example_report())
    assert not re.search(r"https?:", document, re.I)
    assert not re.search(r"@import|url\(|//[a-z]", document, re.I)
    elements = Elements(document)
    for tag, attributes in elements.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed", "base", "form")
        assert not {"src", "href", "srcset", "action"} & set(attributes) or (
            tag == "a" and (attributes.get("href") or "").startswith("#")
        )
    assert len(elements.raw["script"]) == len(elements.raw["style"]) == 1


def test_the_policy_allows_exactly_the_page_s_own_script_and_style():
    elements = Elements(_document(_example_report()))
    policy = next(a["content"] for a in elements.named("meta") if a.get("http-equiv") == "Content-Security-Policy")
    assert policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
    for kind in ("script", "style"):
        digest = base64.b64encode(hashlib.sha256(elements.raw[kind][0].encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}'" in policy


def test_hostile_names_cannot_make_markup_or_script():
    report = build(assess(hostile_directory()))
    run = RunInfo(RUN.started, "0.1.0", (InputFile(f"{BREAKOUT}.ldif", "input", None, None, SCRIPT),))
    document = _document(report, run)
    elements = Elements(document)
    allowed = set(
        [
            "html",
            "head",
            "meta",
            "title",
            "style",
            "body",
            "h1",
            "h2",
            "h3",
            "nav",
            "a",
            "section",
            "p",
            "div",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "span",
            "br",
            "strong",
            "code",
            "ol",
            "ul",
            "li",
            "input",
            "figure",
            "figcaption",
            "svg",
            "g",
            "rect",
            "text",
            "line",
            "path",
            "footer",
            "script",
        ]
    )
    assert {tag for tag, _ in elements.tags} <= allowed
    assert not [name for _, attributes in elements.tags for name in attributes if name.startswith("on")]
    assert len(elements.named("script")) == 1 and document.count("<script") == 1
    assert "<img" not in document and "\u202e" not in document
    # the names are all there, shown: escaped as text, bidi overrides as a visible escape
    for name in (SCRIPT, BREAKOUT, SINGLE, BIDI):
        assert html.escape(printable(name)) in document
    assert "invoice\\u202egnp.exe" in document
    # an attribute keeps the hostile text inside its quotes, whole
    labels = [a["aria-label"] for a in elements.named("svg")]
    assert f"{SCRIPT} → {BREAKOUT} → Remote Desktop Users" in labels
    assert report.assessment.unchecked and "not read" in document


def test_hostile_names_are_in_every_section_they_can_reach():
    document = _document(build(assess(hostile_directory())))
    sections = dict(re.findall(r'<section id="(\w+)"[^>]*>(.*?)</section>', document, re.S))
    escaped = html.escape(SCRIPT)
    for name in ("findings", "routes", "servers", "unchecked", "actions"):
        assert escaped in sections[name], name


def test_bounds_say_how_many_more(monkeypatch):
    report = _example_report()
    monkeypatch.setattr(html_report, "ROUTES_DRAWN", 2)
    monkeypatch.setattr(html_report, "FINDINGS_SHOWN", 3)
    monkeypatch.setattr(html_report, "ITEMS_SHOWN", 1)
    document = _document(report)
    elements = Elements(document)
    assert len([a for a in elements.named("figure") if "route" in (a.get("class") or "")]) == 2
    assert "… 4 more senders" in document
    assert len(re.findall(r'<tr class="filterable"><td class="risk', document)) == 3
    assert f"… {len(report.shown) - 3} more findings" in document
    assert f"… {len(report.plan.removals) - 1} more memberships" in document


def test_no_findings_is_a_complete_page_that_says_so():
    directory = read_inputs(EXAMPLE_DIRECTORY, on_problem=[].append)
    report = build(assess(directory, "2003"))
    document = _document(report)
    assert Elements(document).sections == list(SECTIONS)
    assert "No entry at risk." in document and "Nothing to do: no entry is at risk." in document
    assert "<figure" not in document


@pytest.mark.parametrize("show_all", [False, True])
def test_the_inputs_and_the_time_of_the_run_close_the_page(show_all):
    document = _document(_example_report(show_all))
    inputs = document.split('<section id="inputs">', 1)[1]
    assert "2026-01-02T03:04:05Z" in inputs and "perms.txt" in inputs and ">ab<" in inputs
