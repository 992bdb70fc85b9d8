"""What the user sees of an assessment: the findings table, other views, and the JSON for scripts.

The JSON document (``"format": "sidtool-report"``, ``"version": 2``) is a stable
interface: scripts rely on its keys. It is normalised so that its size grows
with the input, not with findings times senders: each sender at risk is
described once, with its route, in ``senders``; each trustee of a finding once,
with the senders it lets in, in ``trustees`` (a "Default" entry sits on almost
every folder, and names every sender); a finding names its trustee by SID and
its servers by name (``servers`` describes them). It is written as a stream,
one finding at a time; ``trustees`` follows the findings, as they are met.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import wellknown
from sidtool.dn import domain_dns_name
from sidtool.membership import Membership
from sidtool.output import Column, Columns, render
from sidtool.remediation import options
from sidtool.risk import Assessment, Finding, RiskLevel, Unchecked
from sidtool.terminal import printable

VIEWS = ("entries", "senders", "servers", "summary")
REPORT_FORMAT = "sidtool-report"
REPORT_VERSION = 2
_LIST_IN_TABLE = 2  # how many senders or built-ins a table cell names before "+N more"

ENTRY_COLUMNS = (
    ("risk", "Risk"),
    ("folder", "Folder"),
    ("acl_source", "ACL"),
    ("trustee", "Trustee"),
    Column("builtin_names", "At-risk built-ins", lambda names: _shorten(names), width=36),
    Column("affected_names", "Senders", lambda names: f"{len(names)}: {_shorten(names)}", width=30),
    Column("reason", "Why", width=48),
)
SENDER_COLUMNS = (
    ("sender", "Sender"),
    ("sid", "SID"),
    Column("groups", "At-risk built-ins", lambda names: ", ".join(names), width=44),
    ("path", "Route", lambda path: " → ".join(path)),
)
SERVER_COLUMNS = (
    ("server", "Server"),
    ("build", "Build"),
    ("vulnerable", "Exposed", lambda value: {True: "yes, unless hotfix", False: "no", None: "unknown"}[value]),
    ("hotfix", "Store.exe with the fix"),
    ("evidence", "Evidence"),
)
SUMMARY_COLUMNS = (("item", "Item"), ("value", "Value"))


def visible(assessment: Assessment, show_all: bool) -> list[Finding]:
    """Findings to show: low ones only with ``--all``; none-rated ones never."""
    floor = RiskLevel.LOW if show_all else RiskLevel.MEDIUM
    return [f for f in assessment.findings if f.risk >= floor]


def finding_record(finding: Finding) -> dict[str, Any]:
    """One finding as a JSON-ready record (its senders through its trustee, its servers by name)."""
    entry = finding.entry
    return {
        "folder": entry.folder,
        "folder_dn": entry.folder_dn,
        "acl_source": entry.acl_source.value,
        "trustee_sid": str(entry.trustee_sid) if entry.trustee_sid else None,
        "trustee": entry.trustee,
        "trustee_name": _sid_name(entry.trustee_sid),
        "rights": entry.rights,
        "risk": str(finding.risk),
        "builtin_sids": [str(sid) for sid in finding.builtin_sids],
        "builtin_names": [_sid_name(sid) or str(sid) for sid in finding.builtin_sids],
        "affected_count": len(finding.affected),
        "server_names": [s.server.name for s in finding.servers],
        "exposed_servers": [s.server.name for s in finding.servers if s.vulnerable],
        "reason": finding.reason,
        "remediation": list(options(finding)),
        "location": entry.location,
    }


def sender_record(membership: Membership) -> dict[str, Any]:
    """One sender at risk, once: its at-risk built-in groups and one shortest route into them."""
    principal = membership.principal
    return {
        "sid": str(principal.sid),
        "name": principal.label,
        "dn": principal.dn,
        "groups": [{"sid": str(g.sid), "name": g.label, "dn": g.dn} for g in membership.groups],
        "path": [{"sid": str(p.sid), "name": p.label, "dn": p.dn} for p in membership.path],
    }


def trustee_record(finding: Finding) -> dict[str, Any]:
    """A finding's trustee, once for all its findings: the senders at risk it lets in."""
    sid = finding.entry.trustee_sid
    return {
        "sid": str(sid) if sid else None,
        "name": _sid_name(sid) or finding.entry.trustee,
        "affected_count": len(finding.affected),
        "affected_sids": [str(m.principal.sid) for m in finding.affected],
    }


def unchecked_record(item: Unchecked) -> dict[str, Any]:
    """Something the assessment could not check, for scripts."""
    return {"kind": item.kind.value, "subject": item.subject, "detail": item.detail, "location": item.location}


def assessment_json(assessment: Assessment, findings: list[Finding]) -> Iterator[str]:
    """The JSON document, in pieces as they are made: indented, but each finding on one line of its own.

    One line a finding keeps the document readable and greppable, and lets the C encoder write it
    (``json.dumps`` with ``indent`` runs in Python: a third of the time of a 10^6-entry report).
    """
    head = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "baseline": assessment.baseline,
        "conditions": [{"name": c.name, "holds": c.holds, "evidence": c.evidence} for c in assessment.conditions],
        "servers": [_server(s) for s in assessment.servers],
        "senders": [sender_record(m) for m in assessment.senders_at_risk],
    }
    text = _dumps(head)
    yield text[: text.rindex("\n}")] + ',\n  "findings": ['
    trustees: dict[Any, Finding] = {}  # trustee SID -> its first finding (all of a SID's findings share senders)
    for number, finding in enumerate(findings):
        trustees.setdefault(finding.entry.trustee_sid, finding)
        yield ("," if number else "") + "\n    " + json.dumps(finding_record(finding), ensure_ascii=False)
    tail = {
        "trustees": [trustee_record(finding) for finding in trustees.values()],
        "summary": dict(summary_items(assessment, findings)),
        "unchecked": [unchecked_record(item) for item in assessment.unchecked],
        "notes": list(assessment.notes),
    }
    yield ("\n  ]," if findings else "],") + _dumps(tail)[1:] + "\n"


def render_view(assessment: Assessment, findings: list[Finding], view: str, fmt: str) -> Iterator[str]:
    """One view of the assessment in a table, CSV, Markdown or JSON, in pieces."""
    if fmt == "json" and view == "entries":
        yield from assessment_json(assessment, findings)
        return
    columns: Columns
    if view == "entries":
        records, columns = [_entry_row(f) for f in findings], ENTRY_COLUMNS
    elif view == "senders":
        records, columns = _sender_records(findings), SENDER_COLUMNS
    elif view == "servers":
        records, columns = [_server(s) for s in assessment.servers], SERVER_COLUMNS
    else:
        records = [{"item": item, "value": value} for item, value in summary_items(assessment, findings)]
        columns = SUMMARY_COLUMNS
    body = render(records, columns, fmt)
    if fmt != "table" or view == "summary":
        yield body
        return
    if not records:
        body = "No findings.\n" if assessment.complete else "No findings among what could be checked.\n"
    yield _header(assessment) + "\n" + body + _unchecked_section(assessment) + "\n" + _footer(assessment, findings)


def summary_items(assessment: Assessment, findings: list[Finding]) -> list[tuple[str, Any]]:
    counts = {str(level): sum(1 for f in findings if f.risk is level) for level in reversed(RiskLevel)}
    return [
        ("folders_scanned", assessment.folders_scanned),
        ("entries_checked", assessment.entries_checked),
        ("entries_at_risk", len(findings)),
        *((f"risk_{level}", count) for level, count in counts.items() if level != "none"),
        ("senders_at_risk", len(assessment.senders_at_risk)),
        ("unchecked", len(assessment.unchecked)),
    ]


def _header(assessment: Assessment) -> str:
    lines = [f"KB 870585 conditions (baseline: built-ins introduced after Windows {assessment.baseline}):"]
    for condition in assessment.conditions:
        state = {True: "yes", False: "no", None: "unknown"}[condition.holds]
        lines.append(f"  {condition.name:<14} {state:<8} {printable(condition.evidence)}")
    exposed = [printable(s.server.name) for s in assessment.servers if s.vulnerable]
    unknown = [printable(s.server.name) for s in assessment.servers if s.vulnerable is None]
    servers = f"{len(assessment.servers)} Exchange server(s); pre-SP2: {', '.join(exposed) or 'none'}"
    if unknown:
        servers += f"; build unknown: {', '.join(unknown)}"
    lines.append(f"  {'servers':<14} {'yes' if exposed else 'unknown' if unknown else 'no':<8} {servers}")
    return "\n".join(lines) + "\n"


def _footer(assessment: Assessment, findings: list[Finding]) -> str:
    items = dict(summary_items(assessment, findings))
    hidden = len(assessment.findings) - len(findings)
    text = (
        f"{items['folders_scanned']} folders scanned, {items['entries_checked']} entries checked, "
        f"{items['entries_at_risk']} at risk, {items['senders_at_risk']} senders at risk"
    )
    if hidden:
        text += f" ({hidden} low-risk entries hidden; --all shows them)"
    if assessment.unchecked:
        text += f"; INCOMPLETE: {len(assessment.unchecked)} item(s) could not be checked"
    return text + "\n"


_UNCHECKED_SHOWN = 20  # the table lists this many; the JSON lists every one


def _unchecked_section(assessment: Assessment) -> str:
    """What could not be checked, under the findings: the report is silent about these, and says so."""
    if not assessment.unchecked:
        return ""
    lines = ["", f"Could not check ({len(assessment.unchecked)}); findings may be missing for:"]
    for item in assessment.unchecked[:_UNCHECKED_SHOWN]:
        where = f" [{item.location}]" if item.location else ""
        detail = f": {item.detail}" if item.detail else ""
        lines.append(printable(f"  {item.kind.value}: {item.subject}{detail}{where}"))
    if len(assessment.unchecked) > _UNCHECKED_SHOWN:
        lines.append(f"  ... {len(assessment.unchecked) - _UNCHECKED_SHOWN} more (--format json lists them all)")
    return "\n".join(lines) + "\n"


def _sender_records(findings: list[Finding]) -> list[dict[str, Any]]:
    senders: dict[str, Membership] = {}
    for finding in findings:
        for membership in finding.affected:
            senders.setdefault(membership.principal.dn, membership)
    return [
        {
            "sender": m.principal.label,
            "sid": str(m.principal.sid),
            "dn": m.principal.dn,
            "groups": [f"{g.label} ({domain_dns_name(g.domain_dn) if g.domain_dn else '?'})" for g in m.groups],
            "path": [p.label for p in m.path],
        }
        for m in sorted(senders.values(), key=lambda m: m.principal.label.casefold())
    ]


def _server(status) -> dict[str, Any]:
    return {
        "server": status.server.name,
        "dn": status.server.dn,
        "serial_number": status.server.serial_number,
        "build": str(status.build) if status.build else None,
        "vulnerable": status.vulnerable,
        "hotfix": status.hotfix,
        "evidence": status.evidence,
    }


def _entry_row(finding: Finding) -> dict[str, Any]:
    """A finding for people (table, Markdown, CSV): its senders listed in it, by SID and by name."""
    return {
        **finding_record(finding),
        "affected_sids": [str(m.principal.sid) for m in finding.affected],
        "affected_names": [m.principal.label for m in finding.affected],
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@lru_cache(maxsize=4096)
def _sid_name(sid) -> str | None:
    if sid is None:
        return None
    entry = wellknown.lookup(str(sid))
    return entry.name if entry else None


def _shorten(names: list[str]) -> str:
    shown = ", ".join(names[:_LIST_IN_TABLE])
    return shown + (f" +{len(names) - _LIST_IN_TABLE} more" if len(names) > _LIST_IN_TABLE else "")
