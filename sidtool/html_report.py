"""The report as one self-contained HTML file to hand over (``--format html``), with each sender's route drawn.

One document holds every view, in the order a reader needs it: the verdict and the KB 870585 conditions,
the actions, the findings grouped by folder, the senders at risk with their shortest routes drawn as small
inline SVG graphs, the servers, what could not be checked, and the inputs with their SHA-256 hashes and
the time of the run. Its words and numbers are those of the other views (:mod:`sidtool.report`: the
verdict, the plan, the one set of counts, the unchecked list), so the file agrees with the terminal.

Self-contained: inline CSS and SVG, no URL to fetch, no external script, style or font. A few lines of
inline JavaScript sort and filter the tables; the page is complete without them. A Content-Security-Policy
allows only that script and that style (by their SHA-256, CSP Level 2 hash sources) and nothing from any
network, so even markup that slipped through could neither load nor run anything.

Every piece of directory or file text passes through :func:`sidtool.terminal.printable` (controls and bidi
overrides shown as visible escapes, CVE-2021-42574) and then :func:`html.escape` (``&``, ``<``, ``>`` and
both quotes), in text and in attributes alike.

Bounds, so that a huge forest gives a file a browser can open: at most :data:`FINDINGS_SHOWN` findings,
:data:`ROUTES_DRAWN` routes, :data:`ITEMS_SHOWN` unchecked items, accepted findings, notes and removals;
past each, the page says how many more there are and that ``--format json`` lists them all. The document
is written in pieces, a folder or a route at a time.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable, Iterator
from itertools import pairwise

from sidtool.dn import dn_key, domain_dns_name
from sidtool.membership import Membership
from sidtool.model import Principal
from sidtool.provenance import RunInfo
from sidtool.report import (
    Report,
    action_lines,
    conditions_rows,
    footer,
    reason,
    risk_note,
    server_evidence,
    server_fix,
    unchecked_detail,
    verdict_lines,
)
from sidtool.risk import Finding, RiskLevel
from sidtool.terminal import printable

__all__ = ["FINDINGS_SHOWN", "HTML_FORMAT", "ITEMS_SHOWN", "ROUTES_DRAWN", "SECTIONS", "render_html"]

HTML_FORMAT = "html"  # the report's --format choice (the other commands have no HTML)

FINDINGS_SHOWN = 5000  # finding rows; a browser still sorts and filters this many at once
ROUTES_DRAWN = 500  # senders whose route is drawn
ITEMS_SHOWN = 1000  # unchecked items, accepted findings, notes, memberships to remove
# The sections, in the order of the document (their element ids).
SECTIONS = ("verdict", "conditions", "actions", "findings", "routes", "servers", "unchecked", "inputs")
_LABEL_CHARS = 34  # a node's label is cut to this many characters in the drawing (the caption has it whole)

STYLE = """
:root { color-scheme: light; --high: #b3261e; --medium: #b35c00; --low: #5f6368; --ok: #1e7b34; --line: #d0d4da; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f2328;
  margin: 0 auto; max-width: 1120px; padding: 16px; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 8px; }
h2 { font-size: 1.2em; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 1em; margin: 16px 0 6px; }
nav { font-size: .9em; margin-bottom: 12px; }
nav a { margin-right: 10px; }
.verdict { border-left: 6px solid var(--ok); background: #eef7f0; padding: 10px 14px; }
.verdict.at-risk { border-color: var(--high); background: #fbeeed; }
.verdict.incomplete { border-color: var(--medium); background: #fdf3e6; }
.verdict p { margin: 4px 0; }
.verdict .first { font-weight: 600; font-size: 1.1em; }
.counts { color: #444; font-size: .92em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .92em; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { background: #f3f4f6; white-space: nowrap; }
th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 0; cursor: pointer; }
th[aria-sort=ascending] button::after { content: " \\25B2"; }
th[aria-sort=descending] button::after { content: " \\25BC"; }
td.wrap { overflow-wrap: break-word; }
table.findings { table-layout: fixed; min-width: 640px; }
table.findings th:nth-child(1) { width: 5.5em; } table.findings th:nth-child(2) { width: 21%; }
table.findings th:nth-child(3) { width: 18%; } table.findings th:nth-child(4) { width: 17%; }
.sid, .where, .small { color: #555; font-size: .85em; overflow-wrap: anywhere; }
.risk { font-weight: 700; text-transform: uppercase; font-size: .82em; }
.risk-high { color: var(--high); } .risk-medium { color: var(--medium); } .risk-low { color: var(--low); }
.state-yes { color: var(--high); font-weight: 600; } .state-no { color: var(--ok); font-weight: 600; }
.state-unknown { color: var(--medium); font-weight: 600; }
ol.actions li { margin: 6px 0; }
.reach { color: #444; }
input.filter { font: inherit; padding: 4px 8px; margin: 4px 0 8px; width: min(100%, 360px); }
.routes { display: grid; grid-template-columns: repeat(auto-fill, minmax(290px, 1fr)); gap: 12px; }
figure.route { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; break-inside: avoid; }
figure.route svg { display: block; width: 100%; max-width: 320px; height: auto; margin: 0 auto; }
figure.route figcaption { font-size: .85em; color: #333; overflow-wrap: anywhere; }
svg .node rect { fill: #f3f4f6; stroke: #8a9099; }
svg .sender rect { fill: #e8f0fe; stroke: #1a56c4; }
svg .builtin rect { fill: #fbeeed; stroke: var(--high); stroke-width: 2; }
svg text { font: 12px system-ui, "DejaVu Sans", sans-serif; fill: #1f2328; }
svg text.domain { font-size: 10px; fill: #555; }
svg .edge { stroke: #555; stroke-width: 1.5; fill: none; }
svg .edge.cross { stroke: var(--medium); stroke-dasharray: 5 3; }
svg .head { fill: #555; } svg .head.cross { fill: var(--medium); }
svg text.step { font-size: 10px; fill: #555; } svg text.step.cross { fill: var(--medium); }
footer { margin-top: 28px; font-size: .85em; color: #555; }
@media (max-width: 600px) { body { padding: 8px; font-size: 14px; } th, td { padding: 4px 5px; } }
@media print {
  body { max-width: none; font-size: 11px; } nav, input.filter { display: none; }
  h2 { break-after: avoid; } tr, figure.route { break-inside: avoid; }
  .verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

SCRIPT = """
"use strict";
(function () {
  function key(cell) {
    var text = cell.getAttribute("data-sort") || cell.textContent.trim().toLowerCase();
    var number = Number(text);
    return text !== "" && !isNaN(number) ? number : text;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[column]), y = key(b.cells[column]);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    var scope = document.getElementById(input.getAttribute("data-scope"));
    input.hidden = false;
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
      scope.querySelectorAll(".filterable").forEach(function (item) {
        var text = item.textContent.toLowerCase();
        item.hidden = !words.every(function (word) { return text.indexOf(word) >= 0; });
      });
      scope.querySelectorAll(".group").forEach(function (group) {
        group.hidden = !group.querySelector(".filterable:not([hidden])");
      });
    });
  });
  document.documentElement.setAttribute("data-script", "ran");
})();
"""


def _hash_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# Nothing from anywhere; only this style and this script, by hash (the page has no other).
POLICY = (
    f"default-src 'none'; style-src {_hash_source(STYLE)}; script-src {_hash_source(SCRIPT)}; "
    "img-src 'none'; base-uri 'none'; form-action 'none'"
)


def text(value: object) -> str:
    """Directory or file text for HTML: controls and bidi overrides as visible escapes, then HTML-escaped."""
    return html.escape(printable(str(value)), quote=True)


def render_html(report: Report, run: RunInfo) -> Iterator[str]:
    """The whole HTML document, in pieces as they are made."""
    assessment = report.assessment
    yield (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>KB 870585 report: {text(_headline(report))}</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n"
        "<h1>Public folders at risk of NDR 5.2.1 (Microsoft KB 870585)</h1>\n<nav>"
        + "".join(f'<a href="#{name}">{_TITLES[name]}</a>' for name in SECTIONS)
        + "</nav>\n"
    )
    yield _verdict(report)
    yield _conditions(report)
    yield _actions(report)
    yield from _findings(report)
    yield from _routes(report)
    yield _servers(report)
    yield _unchecked(report)
    yield _inputs(report, run)
    yield (
        f"<footer>Made by sidtool {text(run.version)} on {text(_time(run))}; baseline: built-ins introduced "
        f"after Windows {text(assessment.baseline)}.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


_TITLES = {
    "verdict": "Verdict",
    "conditions": "Conditions",
    "actions": "What to do",
    "findings": "Findings",
    "routes": "Senders and routes",
    "servers": "Servers",
    "unchecked": "Could not check",
    "inputs": "Inputs",
}


def _headline(report: Report) -> str:
    counts = report.counts
    state = f"{counts.entries_at_risk} entries at risk" if counts.entries_at_risk else "no entry at risk"
    return state + (", incomplete" if counts.unchecked else "")


def _time(run: RunInfo) -> str:
    return run.started.isoformat(timespec="seconds").replace("+00:00", "Z")


def _section(name: str, body: str, count: int | None = None) -> str:
    title = _TITLES[name] + (f" ({count})" if count is not None else "")
    return f'<section id="{name}">\n<h2>{title}</h2>\n{body}</section>\n'


def _more(left: int, what: str) -> str:
    return f'<p class="small">… {left} more {what} (--format json lists them all).</p>\n' if left > 0 else ""


def _verdict(report: Report) -> str:
    counts = report.counts
    lines = verdict_lines(report)
    lines = lines[: len(lines) - len(action_lines(report.plan))]  # the actions have a section of their own
    kind = "incomplete" if counts.unchecked else "at-risk" if counts.entries_at_risk else "clear"
    body = "".join(
        f'<p class="{"first" if number == 0 else "line"}">{text(line)}</p>\n' for number, line in enumerate(lines)
    )
    body += f'<p class="counts">{text(footer(counts))}</p>\n'
    return f'<section id="verdict" class="verdict {kind}">\n<h2>{_TITLES["verdict"]}</h2>\n{body}</section>\n'


def _conditions(report: Report) -> str:
    rows = "".join(
        f'<tr><td>{text(name)}</td><td class="state-{text(state)}">{text(state)}</td>'
        f'<td class="wrap">{text(evidence)}</td></tr>\n'
        for name, state, evidence in conditions_rows(report.assessment)
    )
    intro = (
        "<p>Exchange 2000 and Exchange 2003 before SP2 refuse a post when every condition holds "
        f"(baseline: built-ins introduced after Windows {text(report.assessment.baseline)}).</p>\n"
    )
    table = f"<table><thead><tr><th>Condition</th><th>Holds</th><th>Evidence</th></tr></thead>\n<tbody>{rows}</tbody>"
    return _section("conditions", intro + f'<div class="scroll">{table}</table></div>\n')


def _actions(report: Report) -> str:
    plan = report.plan
    if not plan.entries:
        return _section("actions", "<p>Nothing to do: no entry is at risk.</p>\n")
    items = []
    for number, step in enumerate(plan.patches):
        before = " (with the steps above)" if number else ""
        fixes = "; and ".join(server_fix(status) for status in step.servers)
        items.append(
            f"Install {text(fixes)}. "
            f'<span class="reach">Reach: fixes {step.fixes} of {plan.entries} entries{before}.</span>'
        )
    if plan.builds_unknown:
        names = ", ".join(status.server.name for status in plan.builds_unknown)
        items.append(
            f"Confirm that {text(names)} run Exchange 2003 SP2 (build 6.5.7638) or later, or have the Store.exe "
            f'hotfix (--hotfixed SERVER). <span class="reach">Reach: {plan.unknown_entries} entries depend on '
            "them.</span>"
        )
    if plan.removals:
        reach = _removal_reach(report.shown)
        rows = "".join(
            f'<tr class="filterable"><td>{_principal(member)}</td><td>{_principal(group)}</td>'
            f'<td data-sort="{len(reach.get(_edge(group, member), ()))}">'
            f"{len(reach.get(_edge(group, member), ()))}</td></tr>\n"
            for group, member in plan.removals[:ITEMS_SHOWN]
        )
        items.append(
            f"{'Or remove' if items else 'Remove'} these {len(plan.removals)} membership(s) "
            f'<span class="reach">(reach: {plan.senders} sender(s) at risk in all)</span>; '
            "<code>--remediation ldif FILE</code> writes them for review.\n"
            '<div class="scroll"><table class="sortable"><thead><tr><th>Member</th><th>Leaves the built-in group'
            f"</th><th>Senders whose shortest route takes it</th></tr></thead>\n<tbody>{rows}</tbody></table></div>"
            + _more(len(plan.removals) - ITEMS_SHOWN, "memberships")
        )
    body = '<ol class="actions">\n' + "".join(f"<li>{item}</li>\n" for item in items) + "</ol>\n"
    return _section("actions", body)


def _edge(group: Principal, member: Principal) -> tuple[str, str]:
    return dn_key(group.dn), dn_key(member.dn)


def _removal_reach(findings: Iterable[Finding]) -> dict[tuple[str, str], set[str]]:
    """(group, member) -> the senders at risk whose shortest route takes that membership (as the LDIF's comments)."""
    reach: dict[tuple[str, str], set[str]] = {}
    seen: set[int] = set()
    for finding in findings:
        if finding.risk < RiskLevel.MEDIUM or id(finding.affected) in seen:
            continue
        seen.add(id(finding.affected))  # a trustee's findings share one tuple of senders
        for membership in finding.affected:
            for lower, upper in pairwise(membership.path):
                reach.setdefault(_edge(upper, lower), set()).add(dn_key(membership.principal.dn))
    return reach


def _principal(principal: Principal) -> str:
    domain = domain_dns_name(principal.domain_dn) if principal.domain_dn else None
    where = f" ({text(domain)})" if domain else ""
    return f'{text(principal.label)}{where}<br><span class="sid">{text(principal.sid)}</span>'


def _findings(report: Report) -> Iterator[str]:
    baseline = report.assessment.baseline
    shown = report.shown[:FINDINGS_SHOWN]
    by_folder: dict[str, list[Finding]] = {}
    for finding in shown:
        by_folder.setdefault(finding.entry.folder, []).append(finding)
    yield (
        f'<section id="findings">\n<h2>{_TITLES["findings"]} ({len(report.shown)})</h2>\n'
        f"<p>{len(by_folder)} folder(s). {text(_hidden(report))}</p>\n"
        '<input class="filter" type="search" data-scope="findings" placeholder="Filter findings" '
        'aria-label="Filter findings" hidden>\n'
    )
    if not shown:
        yield "<p>No findings" + ("." if report.assessment.complete else " among what could be checked.") + "</p>\n"
    for folder, findings in by_folder.items():
        rows = "".join(_finding_row(finding, baseline) for finding in findings)
        yield (
            f'<div class="group">\n<h3>{text(folder)}</h3>\n<div class="scroll"><table class="sortable findings">'
            "<thead><tr><th>Risk</th><th>Trustee</th><th>Rights</th><th>Senders</th><th>Why</th></tr></thead>\n"
            f"<tbody>{rows}</tbody></table></div>\n</div>\n"
        )
    yield _more(len(report.shown) - len(shown), "findings")
    if report.accepted:
        rows = "".join(
            f'<tr><td class="risk risk-{finding.risk}">{finding.risk}</td><td class="wrap">{text(finding.entry.folder)}'
            f'</td><td class="wrap">{text(finding.entry.trustee)}</td><td class="wrap">{text(acceptance.reason)}</td>'
            f"<td>{text(acceptance.expires.isoformat()) if acceptance.expires else ''}</td>"
            f'<td class="where">{text(acceptance.location)}</td></tr>\n'
            for finding, acceptance in report.accepted[:ITEMS_SHOWN]
        )
        yield (
            f"<h3>Accepted ({len(report.accepted)}), not counted at risk</h3>\n"
            '<div class="scroll"><table class="sortable"><thead><tr><th>Risk</th><th>Folder</th><th>Trustee</th>'
            f"<th>Reason</th><th>Until</th><th>Decided in</th></tr></thead>\n<tbody>{rows}</tbody></table></div>\n"
            + _more(len(report.accepted) - ITEMS_SHOWN, "accepted findings")
        )
    yield "</section>\n"


def _hidden(report: Report) -> str:
    counts = report.counts
    return f"{counts.entries_hidden} low-risk entries hidden (--all shows them)." if counts.entries_hidden else ""


def _finding_row(finding: Finding, baseline: str) -> str:
    entry = finding.entry
    names = [m.principal.label for m in finding.affected]
    senders = ", ".join(names[:5]) + (f" +{len(names) - 5} more" if len(names) > 5 else "")
    sid = f'<br><span class="sid">{text(entry.trustee_sid)}</span>' if entry.trustee_sid else ""
    where = f'<br><span class="where">{text(entry.location)}</span>' if entry.location else ""
    note = risk_note(finding)
    return (
        f'<tr class="filterable"><td class="risk risk-{finding.risk}" data-sort="{int(finding.risk)}">{finding.risk}'
        f'</td><td class="wrap">{text(entry.trustee)}{sid}</td>'
        f'<td class="wrap">{text(entry.acl_source.value)}: {text(entry.rights or "unknown")}</td>'
        f'<td class="wrap" data-sort="{len(names)}">{len(names)}: {text(senders)}</td>'
        f'<td class="wrap">{text(reason(finding, baseline))}. {text(note[0].upper() + note[1:])}.{where}</td></tr>\n'
    )


def _senders(report: Report) -> list[Membership]:
    """The senders the findings shown let in, each once, by name (as ``--view senders``)."""
    senders: dict[str, Membership] = {}
    seen: set[int] = set()
    for finding in report.shown:
        if id(finding.affected) in seen:
            continue
        seen.add(id(finding.affected))
        for membership in finding.affected:
            senders.setdefault(dn_key(membership.principal.dn), membership)
    return sorted(senders.values(), key=lambda m: m.principal.label.casefold())


def _routes(report: Report) -> Iterator[str]:
    senders = _senders(report)
    yield (
        f'<section id="routes">\n<h2>{_TITLES["routes"]} ({len(senders)})</h2>\n'
        "<p>Each sender the findings let in, with one shortest route into a built-in group the pre-SP2 store "
        "does not know. A dashed step crosses into another domain.</p>\n"
        '<input class="filter" type="search" data-scope="routes" placeholder="Filter senders" '
        'aria-label="Filter senders" hidden>\n<div class="routes">\n'
    )
    if not senders:
        others = report.counts.senders_with_route
        yield "<p>No sender at risk" + (
            f": {others} sender(s) have a route into the new built-ins, but no entry shown lets them in.</p>\n"
            if others
            else ".</p>\n"
        )
    for membership in senders[:ROUTES_DRAWN]:
        yield _route_figure(membership)
    yield "</div>\n" + _more(len(senders) - ROUTES_DRAWN, "senders") + "</section>\n"


def _route_figure(membership: Membership) -> str:
    path = membership.path
    caption = " → ".join(_named(p) for p in path)
    groups = ", ".join(_named(g) for g in membership.groups)
    return (
        f'<figure class="route filterable">{route_svg(path)}<figcaption><strong>{text(membership.principal.label)}'
        f'</strong> <span class="sid">{text(membership.principal.sid)}</span><br>Route: {text(caption)}<br>'
        f"At-risk built-ins: {text(groups)}</figcaption></figure>\n"
    )


def _named(principal: Principal) -> str:
    domain = domain_dns_name(principal.domain_dn) if principal.domain_dn else None
    return f"{principal.label} ({domain})" if domain else principal.label


_NODE_WIDTH, _NODE_HEIGHT, _GAP, _MARGIN = 260, 38, 30, 4


def route_svg(path: tuple[Principal, ...]) -> str:
    """A route drawn top to bottom: the sender, the groups, the built-in group; a step into another domain dashed."""
    height = len(path) * _NODE_HEIGHT + (len(path) - 1) * _GAP + 2 * _MARGIN
    width = _NODE_WIDTH + 2 * _MARGIN + 80  # room for the label of a cross-domain step
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{text(" → ".join(p.label for p in path))}">'
    ]
    for number, principal in enumerate(path):
        top = _MARGIN + number * (_NODE_HEIGHT + _GAP)
        kind = "sender" if number == 0 else "builtin" if number == len(path) - 1 else "group"
        label = principal.label if len(principal.label) <= _LABEL_CHARS else principal.label[: _LABEL_CHARS - 1] + "…"
        domain = domain_dns_name(principal.domain_dn) if principal.domain_dn else None
        parts.append(
            f'<g class="node {kind}"><title>{text(_named(principal))} {text(principal.sid)}</title>'
            f'<rect x="{_MARGIN}" y="{top}" width="{_NODE_WIDTH}" height="{_NODE_HEIGHT}" rx="6"/>'
            f'<text x="{_MARGIN + 8}" y="{top + 16}">{text(label)}</text>'
            f'<text class="domain" x="{_MARGIN + 8}" y="{top + 31}">{text(domain or str(principal.sid))}</text></g>'
        )
    for number, (lower, upper) in enumerate(pairwise(path)):
        start = _MARGIN + number * (_NODE_HEIGHT + _GAP) + _NODE_HEIGHT
        end = start + _GAP
        middle = _MARGIN + _NODE_WIDTH // 2
        cross = _crosses_domains(lower, upper)
        style = " cross" if cross else ""
        parts.append(
            f'<line class="edge{style}" x1="{middle}" y1="{start}" x2="{middle}" y2="{end - 6}"/>'
            f'<path class="head{style}" d="M{middle - 5} {end - 7} L{middle + 5} {end - 7} L{middle} {end} Z"/>'
        )
        step = "other domain" if cross else "primary group" if _primary_group(lower, upper) else ""
        if step:
            parts.append(f'<text class="step{style}" x="{middle + 10}" y="{start + _GAP // 2 + 4}">{step}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _crosses_domains(lower: Principal, upper: Principal) -> bool:
    return bool(lower.domain_dn and upper.domain_dn) and dn_key(lower.domain_dn or "") != dn_key(upper.domain_dn or "")


def _primary_group(lower: Principal, upper: Principal) -> bool:
    """Is ``upper`` the primary group of ``lower`` (a route ``member`` never lists)?"""
    return (
        lower.primary_group_id is not None
        and upper.sid.rid == lower.primary_group_id
        and (lower.sid.domain == upper.sid.domain)
    )


def _servers(report: Report) -> str:
    statuses = report.assessment.servers
    if not statuses:
        return _section("servers", "<p>No Exchange server was read: server builds unknown.</p>\n", 0)
    exposed = {True: "yes, unless hotfixed", False: "no", None: "unknown"}
    rows = "".join(
        f'<tr class="filterable"><td>{text(s.server.name)}</td><td class="state-{_state(s.vulnerable)}">'
        f"{exposed[s.vulnerable]}</td><td>{text(s.hotfix or '')}</td><td>{text(s.build or '')}</td>"
        f'<td class="wrap">{text(server_evidence(s))}</td></tr>\n'
        for s in statuses
    )
    table = (
        '<div class="scroll"><table class="sortable"><thead><tr><th>Server</th><th>Exposed</th>'
        f"<th>Store.exe with the fix</th><th>Build</th><th>Evidence</th></tr></thead>\n<tbody>{rows}</tbody>"
        "</table></div>\n"
    )
    return _section("servers", table, len(statuses))


def _state(vulnerable: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[vulnerable]


def _unchecked(report: Report) -> str:
    assessment = report.assessment
    items = assessment.unchecked
    if not items and not assessment.notes:
        return _section("unchecked", "<p>Everything that was read was checked.</p>\n", 0)
    body = ""
    if items:
        rows = "".join(
            f'<tr class="filterable"><td>{text(item.kind.value)}</td><td class="wrap">{text(item.subject)}</td>'
            f'<td class="wrap">{text(unchecked_detail(item))}</td><td class="where">{text(item.location or "")}</td>'
            "</tr>\n"
            for item in items[:ITEMS_SHOWN]
        )
        body += (
            "<p>The findings may be missing entries for these: the report covers only what could be checked.</p>\n"
            '<div class="scroll"><table class="sortable"><thead><tr><th>Kind</th><th>What</th><th>Why, and what to '
            f"do</th><th>Where</th></tr></thead>\n<tbody>{rows}</tbody></table></div>\n"
            + _more(len(items) - ITEMS_SHOWN, "items")
        )
    if assessment.notes:
        notes = "".join(f"<li>{text(note)}</li>\n" for note in assessment.notes[:ITEMS_SHOWN])
        body += f"<h3>Notes ({len(assessment.notes)})</h3>\n<ul>\n{notes}</ul>\n"
        body += _more(len(assessment.notes) - ITEMS_SHOWN, "notes")
    return _section("unchecked", body, len(items))


def _inputs(report: Report, run: RunInfo) -> str:
    rows = "".join(
        f'<tr><td>{text(item.role)}</td><td class="wrap">{text(item.name)}</td>'
        f'<td data-sort="{item.size if item.size is not None else -1}">{"" if item.size is None else item.size}</td>'
        f'<td class="sid">{text(item.sha256 or "")}{text(item.note or "")}</td></tr>\n'
        for item in run.inputs
    )
    body = (
        f"<p>Run at {text(_time(run))} by sidtool {text(run.version)}.</p>\n"
        '<div class="scroll"><table class="sortable"><thead><tr><th>Role</th><th>File</th><th>Bytes</th>'
        f"<th>SHA-256</th></tr></thead>\n<tbody>{rows}</tbody></table></div>\n"
    )
    return _section("inputs", body, len(run.inputs))
