"""What the user sees of an assessment: the verdict and what to do first, the tables, and the JSON for scripts.

The analysis (:mod:`sidtool.risk`, :mod:`sidtool.exchange`) returns data; this module words it. A table
view opens with the verdict (what is at risk, and "INCOMPLETE" when something could not be checked) and
the actions in order of reach, then the KB 870585 conditions, the table (fitted to the terminal's width,
:mod:`sidtool.layout`), what could not be checked, the accepted findings, and one line of counts.

The counts (:class:`Counts`) are one set, the same in every view and format: the footer, ``--view
summary`` and the JSON's ``summary`` are made from it.

The JSON document (``"format": "sidtool-report"``, ``"version": 2``) is a stable interface: scripts rely on
its keys, and keys are only ever added. It has one shape whatever ``--view`` says (the view chooses what a
table shows). It is normalised so that its size grows with the input, not with findings times senders:
each sender at risk is described once, with its route, in ``senders``; each trustee of a finding once, with
the senders it lets in, in ``trustees`` (a "Default" entry sits on almost every folder, and names every
sender); a finding names its trustee by SID and its servers by name (``servers`` describes them). It is
written as a stream, one finding at a time; ``trustees`` follows the findings, as they are met.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import wellknown
from sidtool.decisions import Acceptance
from sidtool.dn import domain_dns_name
from sidtool.exchange import ServerStatus, ServerVerdict
from sidtool.layout import Field, fit_table_pieces, wrap
from sidtool.membership import Membership
from sidtool.model import AclSource, Principal
from sidtool.output import MARKDOWN_ESCAPES, render
from sidtool.remediation import Plan, options, plan
from sidtool.risk import (
    Assessment,
    Condition,
    ConditionBasis,
    Finding,
    RiskLevel,
    TrusteeRiskKind,
    Unchecked,
    UncheckedKind,
)
from sidtool.security.sid import Sid
from sidtool.terminal import printable

__all__ = ["REPORT_FORMAT", "REPORT_VERSION", "VIEWS", "Counts", "Report", "build", "render_view", "visible"]

VIEWS = ("entries", "senders", "servers", "summary")
REPORT_FORMAT = "sidtool-report"
REPORT_VERSION = 2
_LIST_IN_TABLE = 2  # how many senders or built-ins a table cell names before "+N more"
_REMOVALS_NAMED = 3  # how many memberships the actions name before "+N more"
_UNCHECKED_SHOWN = 20  # the table lists this many; the JSON lists every one
_ACCEPTED_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Counts:
    """The one set of counts of a report (the footer, ``--view summary`` and the JSON ``summary``)."""

    folders_scanned: int  # real folders: a store export's folder and its directory object count once
    entries_checked: int  # permission entries that grant access
    entries_at_risk: int  # medium and high, less the accepted ones
    risk_high: int  # every finding by level, shown or hidden, accepted or not
    risk_medium: int
    risk_low: int
    entries_shown: int  # the rows of the entries table
    entries_hidden: int  # low findings not shown (without --all)
    entries_accepted: int  # findings the decisions accept (listed apart)
    senders_at_risk: int  # senders that the entries at risk let in: under the conditions that hold
    senders_with_route: int  # senders with a membership route into an at-risk built-in, whatever the conditions
    unchecked: int  # items that could not be checked

    def items(self) -> list[tuple[str, int]]:
        return [(name, getattr(self, name)) for name in self.__slots__]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Report:
    """An assessment, and what the report makes of it: the findings shown, those accepted, counts, the plan."""

    assessment: Assessment
    shown: tuple[Finding, ...]
    accepted: tuple[tuple[Finding, Acceptance], ...]
    counts: Counts
    plan: Plan


def visible(assessment: Assessment, show_all: bool) -> list[Finding]:
    """Findings to show: low ones only with ``--all``; none-rated ones never."""
    floor = RiskLevel.LOW if show_all else RiskLevel.MEDIUM
    return [f for f in assessment.findings if f.risk >= floor]


def build(
    assessment: Assessment, show_all: bool = False, accept: Callable[[Finding], Acceptance | None] | None = None
) -> Report:
    """The report of ``assessment``: ``accept`` says which findings the administrator accepted."""
    accepted: list[tuple[Finding, Acceptance]] = []
    open_findings: list[Finding] = []
    for finding in assessment.findings:
        acceptance = accept(finding) if accept else None
        if acceptance is None:
            open_findings.append(finding)
        else:
            accepted.append((finding, acceptance))
    floor = RiskLevel.LOW if show_all else RiskLevel.MEDIUM
    shown = tuple(f for f in open_findings if f.risk >= floor)
    at_risk = [f for f in open_findings if f.risk >= RiskLevel.MEDIUM]
    levels = {level: sum(1 for f in assessment.findings if f.risk is level) for level in RiskLevel}
    counts = Counts(
        folders_scanned=assessment.folders_scanned,
        entries_checked=assessment.entries_checked,
        entries_at_risk=len(at_risk),
        risk_high=levels[RiskLevel.HIGH],
        risk_medium=levels[RiskLevel.MEDIUM],
        risk_low=levels[RiskLevel.LOW],
        entries_shown=len(shown),
        entries_hidden=sum(1 for f in open_findings if f.risk < floor),
        entries_accepted=len(accepted),
        senders_at_risk=len({m.principal.dn for affected in _distinct_affected(at_risk) for m in affected}),
        senders_with_route=len(assessment.senders_at_risk),
        unchecked=len(assessment.unchecked),
    )
    return Report(assessment, shown, tuple(accepted), counts, plan(at_risk))


# -- words for the analysis's data -------------------------------------------------------------------------


def condition_evidence(condition: Condition) -> str:
    """What a condition's state rests on, in words (the JSON's ``evidence``)."""
    values = ", ".join(condition.values)
    return {
        ConditionBasis.DC_SYSTEMS: f"domain controllers run {values}",
        ConditionBasis.FUNCTIONAL_LEVEL: f"domain functional level {values} (Windows Server 2003 or later)",
        ConditionBasis.BUILTINS_PRESENT: "the Windows Server 2003 built-in groups exist in the directory",
        ConditionBasis.ALL_DCS_2000: f"every domain controller runs {values}",
        ConditionBasis.NOTHING_READ: "no domain controller, functional level or 2003 built-in group was read",
        ConditionBasis.CHILD_DOMAINS: f"child domains: {values}",
        ConditionBasis.ONE_DOMAIN: f"one domain: {values}",
        ConditionBasis.DOMAINS_UNLISTED: f"only {values} was read; the forest's list of domains (its crossRefs, in "
        "the Configuration partition) was not: export it too",
        ConditionBasis.DOMAIN_COUNT: f"{values} domains in the forest",
        ConditionBasis.NAMING_CONTEXTS: f"principals were read in the domains {values}",
        ConditionBasis.NO_DOMAINS: "no domain information was read",
    }[condition.basis]


def server_evidence(status: ServerStatus) -> str:
    """What a server's build says about the fix, in words (the JSON's ``evidence``)."""
    build = status.build
    recorded = f"Store.exe {status.recorded_store_build}" if status.recorded_store_build else "the hotfix"
    return {
        ServerVerdict.NO_SERIAL: "no serialNumber",
        ServerVerdict.SERIAL_NOT_UNDERSTOOD: f"serialNumber {status.server.serial_number!r} not understood",
        ServerVerdict.FIXED: f"{build}: fixed (Exchange 2003 SP2 or later)",
        ServerVerdict.HOTFIX_NEEDED: f"{build}: vulnerable unless Store.exe is at least {status.hotfix} "
        "(hotfix, KB 870585)",
        ServerVerdict.NOT_COVERED: f"{build}: not an Exchange release KB 870585 covers",
        ServerVerdict.HOTFIXED: f"{build}: fixed, {recorded} recorded by the administrator (KB 870585)",
        ServerVerdict.HOTFIX_TOO_OLD: f"{build}: {recorded} recorded, older than the fix ({status.hotfix}): "
        "still vulnerable",
    }[status.verdict]


def reason(finding: Finding, baseline: str) -> str:
    """Why the trustee lets senders at risk in, and the state of the servers and conditions (JSON ``reason``)."""
    trustee = finding.entry.trustee
    count = len(finding.affected)
    why = {
        TrusteeRiskKind.UNKNOWN_BUILTIN: f"{trustee} is a built-in group that Windows {baseline} does not define",
        TrusteeRiskKind.BROAD: f"{trustee} includes all {count} sender(s) in at-risk built-in groups",
        TrusteeRiskKind.MEMBER: f"{trustee} is itself in at-risk built-in groups",
        TrusteeRiskKind.GROUP: f"{trustee} contains {count} sender(s) in at-risk built-in groups",
    }[finding.trustee_kind]
    exposed = [s.server.name for s in finding.exposed_servers]
    if exposed:
        parts = [f"pre-SP2 store on {', '.join(exposed)}"]
    elif finding.servers_fixed:
        parts = ["every server concerned has the fix"]
    else:
        parts = ["server builds unknown"]
    if finding.false_conditions:
        parts.append(f"not applicable: {', '.join(finding.false_conditions)}")
    if finding.unknown_conditions:
        parts.append(f"unknown: {', '.join(finding.unknown_conditions)}")
    return why + "; " + "; ".join(parts)


def risk_note(finding: Finding) -> str:
    """One line on why an entry is rated as it is, rather than a level higher (JSON ``risk_note``)."""
    if finding.risk is RiskLevel.HIGH:
        return "high: every condition of KB 870585 holds"
    if finding.risk is RiskLevel.LOW:
        false = list(finding.false_conditions) + (["servers"] if finding.servers_fixed else [])
        return f"low, not higher: a condition is false ({', '.join(false)})"
    causes = []
    if finding.unknown_conditions:
        causes.append(f"unknown: {', '.join(finding.unknown_conditions)}")
    if not finding.exposed_servers:
        causes.append("server builds unknown")
    if finding.entry.acl_source is AclSource.DIRECTORY:
        causes.append("only the folder's directory rights name the trustee (the store's client permissions decide)")
    return "medium, not high: " + "; ".join(causes)


def unchecked_detail(item: Unchecked) -> str:
    """Why an item could not be checked, and what to do (the JSON's ``detail``; empty for a reader's gap)."""
    return {
        UncheckedKind.NOT_COLLECTED: "",
        UncheckedKind.DOMAIN_NOT_READ: "the forest names this domain, but none of its objects were read: "
        "its users and groups could not be checked",
        UncheckedKind.MEMBERS_PARTIAL: "only part of its member list was read: senders through it could not be checked",
        UncheckedKind.DESCRIPTOR_UNREADABLE: f"nTSecurityDescriptor not readable: {item.error}",
        UncheckedKind.DESCRIPTOR_MISSING: "read without its nTSecurityDescriptor: its permissions could not be "
        "checked (read it as an administrator, with the SD-flags control 1.2.840.113556.1.4.801, or with "
        "'sidtool collect')",
        UncheckedKind.DACL_MISSING: "its nTSecurityDescriptor holds no DACL (exported with the owner and group "
        "only?): its permissions could not be checked (export it with the DACL, SD-flags 4, or use 'sidtool collect')",
        UncheckedKind.MEMBER_NOT_FOUND: f"members not in the data: {item.error}; whether they let senders into the "
        "new built-in groups could not be checked (export them, contacts too: (objectClass=contact); or use "
        "'sidtool collect')",
        UncheckedKind.REFERENCE_NOT_READ: "an export refers to this naming context (ldapsearch's ref:) and no input "
        "holds it: if it is a child domain, its users and groups could not be checked (export it, and the forest's "
        "crossRefs, or use 'sidtool collect')",
        UncheckedKind.BUILTINS_NOT_READ: "none of this domain's built-in groups (CN=Builtin) were read: who is in "
        "the new ones could not be checked (export CN=Builtin too)",
        UncheckedKind.RIGHTS_UNKNOWN: "the export does not say what this entry allows ('Custom' without rights); "
        f"the trustee lets in {item.senders} sender(s) at risk if it allows posting",
        UncheckedKind.RECORD_SKIPPED: f"could not be read and was skipped: {item.error}",
    }[item.kind]


def server_fix(status: ServerStatus) -> str:
    """What to install on one exposed server."""
    if status.build is not None and (status.build.major, status.build.minor) == (6, 0):
        return f"Store.exe ≥ {status.hotfix} (KB 870585) or an upgrade to Exchange 2003 SP2 on {status.server.name}"
    return f"Exchange 2003 SP2 or Store.exe ≥ {status.hotfix} (KB 870585) on {status.server.name}"


def _group(principal: Principal) -> str:
    domain = domain_dns_name(principal.domain_dn) if principal.domain_dn else None
    return f"{principal.label} ({domain})" if domain else principal.label


# -- the table view -----------------------------------------------------------------------------------------


def verdict_lines(report: Report) -> list[str]:
    """The first lines of a report: INCOMPLETE when it is, what is at risk, and what to do, widest reach first."""
    counts, assessment = report.counts, report.assessment
    lines = []
    if assessment.unchecked:
        lines.append(
            f"INCOMPLETE: {counts.unchecked} item(s) could not be checked; findings may be missing "
            "(see 'Could not check' below)."
        )
    levels = ", ".join(
        f"{count} {name}" for name, count in (("high", counts.risk_high), ("medium", counts.risk_medium)) if count
    )
    folders = len({f.entry.folder for f in report.shown if f.risk >= RiskLevel.MEDIUM})
    if counts.entries_at_risk:
        lines.append(
            f"At risk: {counts.entries_at_risk} entries on {folders} folder(s) ({levels}), "
            f"letting {counts.senders_at_risk} sender(s) in."
        )
    elif counts.senders_with_route and counts.risk_low and not counts.risk_high + counts.risk_medium:
        false = sorted({name for f in assessment.findings for name in f.false_conditions}) or ["servers fixed"]
        lines.append(
            f"No entry at risk: {counts.senders_with_route} sender(s) have a route into the new built-in groups, "
            f"but a condition of KB 870585 is false ({', '.join(false)})."
        )
    else:
        lines.append("No entry at risk" + (" among what could be checked." if assessment.unchecked else "."))
    extra = []
    if counts.entries_hidden:
        extra.append(f"{counts.entries_hidden} low-risk entries hidden (--all shows them)")
    if counts.entries_accepted:
        extra.append(f"{counts.entries_accepted} accepted (listed below)")
    if extra:
        text = "; ".join(extra)
        lines.append(text[0].upper() + text[1:] + ".")
    lines.extend(action_lines(report.plan))
    return lines


def action_lines(plan: Plan) -> list[str]:
    """What to do about the entries at risk, widest reach first (empty when nothing is at risk)."""
    if not plan.entries:
        return []
    lines = ["What to do first:"]
    number = 0
    for step in plan.patches:
        number += 1
        before = " (with the steps above)" if number > 1 else ""
        fixes = f"fixes {step.fixes} of {plan.entries} entries{before}"
        lines.append(f"  {number}. Install {'; and '.join(server_fix(s) for s in step.servers)}: {fixes}.")
    if plan.builds_unknown:
        number += 1
        names = ", ".join(s.server.name for s in plan.builds_unknown)
        lines.append(
            f"  {number}. Confirm that {names} run Exchange 2003 SP2 (build 6.5.7638) or later, or have the "
            f"Store.exe hotfix (--hotfixed SERVER): {plan.unknown_entries} entries depend on them."
        )
    if plan.removals:
        number += 1
        named = "; ".join(f"{member.label} from {_group(group)}" for group, member in plan.removals[:_REMOVALS_NAMED])
        more = f" +{len(plan.removals) - _REMOVALS_NAMED} more" if len(plan.removals) > _REMOVALS_NAMED else ""
        lines.append(
            f"  {number}. {'Or r' if number > 1 else 'R'}emove these {len(plan.removals)} membership(s) "
            f"(affects {plan.senders} sender(s)): {named}{more}; --remediation ldif FILE writes them for review."
        )
    return lines


def conditions_lines(assessment: Assessment) -> list[str | Hanging]:
    lines: list[str | Hanging] = [
        f"KB 870585 conditions (baseline: built-ins introduced after Windows {assessment.baseline}):"
    ]
    for name, state, evidence in conditions_rows(assessment):
        lines.append(Hanging(f"  {name:<14} {state:<8} ", evidence))
    return lines


class Hanging(NamedTuple):
    """A line to wrap whose continuation lines start under ``text``, not under ``prefix`` (no character in the
    text marks the place: a name from the directory may hold any)."""

    prefix: str
    text: str


def conditions_rows(assessment: Assessment) -> list[tuple[str, str, str]]:
    """The KB 870585 conditions and the servers' state: (name, "yes"/"no"/"unknown", evidence) each."""
    rows = []
    for condition in assessment.conditions:
        state = {True: "yes", False: "no", None: "unknown"}[condition.holds]
        rows.append((condition.name, state, condition_evidence(condition)))
    exposed = [s.server.name for s in assessment.servers if s.vulnerable]
    unknown = [s.server.name for s in assessment.servers if s.vulnerable is None]
    hotfixed = [s.server.name for s in assessment.servers if s.verdict is ServerVerdict.HOTFIXED]
    if assessment.servers:
        servers = f"{len(assessment.servers)} Exchange server(s); pre-SP2: {', '.join(exposed) or 'none'}"
    else:
        servers = "no Exchange server was read: server builds unknown"
    if hotfixed:
        servers += f"; hotfix recorded: {', '.join(hotfixed)}"
    if unknown:
        servers += f"; build unknown: {', '.join(unknown)}"
    state = "yes" if exposed else "unknown" if unknown or not assessment.servers else "no"
    rows.append(("servers", state, servers))
    return rows


def footer(counts: Counts) -> str:
    """The counts in one line (the same numbers as ``--view summary`` and the JSON's ``summary``)."""
    text = (
        f"{counts.folders_scanned} folders scanned, {counts.entries_checked} entries checked: "
        f"{counts.entries_at_risk} at risk (high {counts.risk_high}, medium {counts.risk_medium}), "
        f"{counts.risk_low} low"
    )
    if counts.entries_hidden:
        text += f" ({counts.entries_hidden} hidden; --all shows them)"
    text += f", {counts.entries_accepted} accepted. Senders: {counts.senders_at_risk} at risk, "
    text += f"{counts.senders_with_route} with a route into the new built-ins."
    if counts.unchecked:
        text += f" INCOMPLETE: {counts.unchecked} item(s) could not be checked."
    return text


LEGEND = (
    "ACL/Rights: 'store' is a folder's client permission (the store's own list: it decides who may post); "
    "'directory' is its Active Directory permission (all LDAP shows).",
    "Senders: users in a built-in group the pre-SP2 store does not know, directly or nested, whom the entry lets post.",
    "Risk: high, every condition of KB 870585 holds; medium, one is unknown or only directory rights name the "
    "trustee; low, one is false (listed with --all).",
)


def _wrapped(lines: Iterable[str | Hanging], width: int) -> list[str]:
    """Lines wrapped to ``width`` at spaces. A continuation goes under a :class:`Hanging` line's text, else after
    a numbered line's number ("  1. "), else two columns in from the line's indent."""
    out = []
    for line in lines:
        marked = False
        if isinstance(line, Hanging):
            (prefix, text), marked = line, True
        else:
            text = line.lstrip(" ")
            number = text.split(" ", 1)[0]
            prefix = line[: len(line) - len(text)]
            if number.endswith(".") and number[:-1].isdigit():
                prefix, text = prefix + number + " ", text[len(number) + 1 :]
        prefix = printable(prefix)
        hang = len(prefix) if marked or prefix.strip() else len(prefix) + 2
        hang = min(hang, width // 2)
        text = " ".join(printable(text).split())
        first, *rest = wrap(text, width - len(prefix))
        out.append(prefix + first)
        if rest:  # the rest of the text (from where the first line ends: a word split there stays one word)
            out.extend(" " * hang + piece for piece in wrap(text[len(first) :], width - hang))
    return out


ENTRY_FIELDS = (  # most important first; "least": narrower than that, a column is left out rather than squeezed
    Field("risk", "Risk", priority=0),
    Field("folder", "Folder", priority=1, widest=40),
    Field("trustee", "Trustee", priority=2, widest=36),
    Field("affected_names", "Senders", lambda names: _count_and_names(names), priority=3, widest=36, least=16),
    Field("rights_shown", "Rights", priority=4, widest=30, least=16),
    Field("builtin_names", "At-risk built-ins", lambda names: _shorten(names), priority=5, widest=36, least=20),
    Field("why", "Why", priority=6, widest=60, below=True, least=40),
)
SENDER_FIELDS = (
    Field("sender", "Sender", priority=0),
    Field("groups", "At-risk built-ins", lambda names: ", ".join(names), priority=1, widest=30),
    Field("path", "Route", lambda path: " → ".join(path), priority=2, widest=60, least=30),
    Field("sid", "SID", priority=3, widest=46),
)
SERVER_FIELDS = (
    Field("server", "Server", priority=0),
    Field(
        "vulnerable",
        "Exposed",
        lambda value: {True: "yes, unless hotfix", False: "no", None: "unknown"}[value],
        priority=1,
    ),
    Field("hotfix", "Store.exe with the fix", priority=2),
    Field("build", "Build", priority=3, widest=40),
    Field("evidence", "Evidence", priority=4, below=True, least=30),
)
SUMMARY_FIELDS = (Field("item", "Item"), Field("value", "Value", priority=1))


def render_view(report: Report, view: str, fmt: str, width: int = 100, explain: bool = False) -> Iterator[str]:
    """One view of the report as a table (fitted to ``width``), CSV, Markdown, or the JSON document, in pieces."""
    if fmt == "json":
        yield from assessment_json(report)
        return
    rows, fields = _view_records(report, view)
    if fmt != "table":
        records = list(rows)
        yield _markdown(report, view, records, fields) if fmt == "markdown" else render(records, fields, fmt)
        return
    lines = [*_wrapped(verdict_lines(report), width), "", *_wrapped(conditions_lines(report.assessment), width)]
    yield "\n".join(lines) + "\n\n"
    if view == "entries":
        any_rows = bool(report.shown)  # (its rows are made one at a time, as the table takes their cells)
    else:
        rows = list(rows)
        any_rows = bool(rows)
    if any_rows:
        yield from fit_table_pieces(rows, fields, width)
    else:
        yield "No findings.\n" if report.assessment.complete else "No findings among what could be checked.\n"
    tail = _unchecked_lines(report.assessment) + _accepted_lines(report)
    tail += ["", footer(report.counts)]
    tail += ["", *LEGEND] if explain else ["(--explain says what ACL, Rights, Senders and the risk levels mean)"]
    yield "\n".join(_wrapped(tail, width)) + "\n"


def _view_records(report: Report, view: str) -> tuple[Iterable[dict[str, Any]], tuple[Field, ...]]:
    baseline = report.assessment.baseline
    if view == "entries":
        memo: dict[tuple[Any, ...], dict[str, Any]] = {}
        senders: dict[int, tuple[list[str], list[str]]] = {}  # (the findings, alive meanwhile, hold the keys' tuples)
        return (_entry_row(f, baseline, memo, senders) for f in report.shown), ENTRY_FIELDS
    if view == "senders":
        return _sender_records(report.shown), SENDER_FIELDS
    if view == "servers":
        return [_server(s) for s in report.assessment.servers], SERVER_FIELDS
    return [{"item": item, "value": value} for item, value in report.counts.items()], SUMMARY_FIELDS


def _markdown(report: Report, view: str, records: list[dict[str, Any]], fields: tuple[Field, ...]) -> str:
    """Markdown for sharing: the verdict and actions, the conditions, the table and the counts."""
    escape = MARKDOWN_ESCAPES
    parts = ["## KB 870585 report", ""]
    for line in verdict_lines(report):
        text = printable(line.strip()).translate(escape)
        parts.append(f"- {text[text.index(' ') + 1 :]}" if line.startswith("  ") else text)
        parts.append("")
    parts += ["### Conditions", ""]
    conditions = conditions_lines(report.assessment)[1:]
    parts += [f"- {printable(' '.join(''.join(line).split())).translate(escape)}" for line in conditions]
    parts += ["", f"### {view.capitalize()}", "", render(records, fields, "markdown").rstrip("\n"), ""]
    parts += [f"- {printable(line.strip()).translate(escape)}" for line in _unchecked_lines(report.assessment)[1:]]
    parts += [printable(footer(report.counts)).translate(escape), ""]
    return "\n".join(parts)


def _unchecked_lines(assessment: Assessment) -> list[str]:
    """What could not be checked, under the findings: the report is silent about these, and says so."""
    if not assessment.unchecked:
        return []
    lines = ["", f"Could not check ({len(assessment.unchecked)}); findings may be missing for:"]
    for item in assessment.unchecked[:_UNCHECKED_SHOWN]:
        where = f" [{item.location}]" if item.location else ""
        detail = unchecked_detail(item)
        lines.append(f"  {item.kind.value}: {item.subject}{': ' + detail if detail else ''}{where}")
    if len(assessment.unchecked) > _UNCHECKED_SHOWN:
        lines.append(f"  ... {len(assessment.unchecked) - _UNCHECKED_SHOWN} more (--format json lists them all)")
    return lines


def _accepted_lines(report: Report) -> list[str]:
    if not report.accepted:
        return []
    lines = ["", f"Accepted ({len(report.accepted)}), not counted at risk:"]
    for finding, acceptance in report.accepted[:_ACCEPTED_SHOWN]:
        until = f" until {acceptance.expires.isoformat()}" if acceptance.expires else ""
        lines.append(
            f"  {finding.risk} {finding.entry.folder}: {finding.entry.trustee}: {acceptance.reason}{until}"
            f" [{acceptance.location}]"
        )
    if len(report.accepted) > _ACCEPTED_SHOWN:
        lines.append(f"  ... {len(report.accepted) - _ACCEPTED_SHOWN} more (--format json lists them all)")
    return lines


# -- records and the JSON document ---------------------------------------------------------------------------


def finding_record(finding: Finding, baseline: str, memo: dict[tuple[Any, ...], dict[str, Any]] | None = None
                   ) -> dict[str, Any]:  # fmt: skip
    """One finding as a JSON-ready record (its senders through its trustee, its servers by name).

    ``memo``: the fields a trustee's findings share (its senders, servers, conditions, words), worked out
    once for all of them; the caller keeps it while the findings it was filled from are alive.
    """
    key = _shared_key(finding)
    shared = memo.get(key) if memo is not None else None
    if shared is None:
        shared = _shared_fields(finding, baseline)
        if memo is not None and len(memo) < _MEMO_SIZE:
            memo[key] = shared
    return {**_own_fields(finding), **shared, "location": finding.entry.location}


def finding_lines(findings: Iterable[Finding], baseline: str) -> Iterator[str]:
    """Each finding's record (:func:`finding_record`) as one line of JSON. The fields a trustee's findings share
    are encoded once for all of them; the caller keeps the findings alive while it reads the lines."""
    encode = _ONE_LINE.encode
    shared: dict[tuple[Any, ...], str] = {}  # the shared fields, encoded, without their braces
    for finding in findings:
        key = _shared_key(finding)
        text = shared.get(key)
        if text is None:
            text = encode(_shared_fields(finding, baseline))[1:-1]
            if len(shared) < _MEMO_SIZE:
                shared[key] = text
        # the record's fields in its order: its own, the shared ones, its location (encode's separators: ", ", ": ")
        yield f'{encode(_own_fields(finding))[:-1]}, {text}, "location": {encode(finding.entry.location)}}}'


_MEMO_SIZE = 1 << 16  # shared parts of finding records kept while a report is written


def _shared_key(finding: Finding) -> tuple[Any, ...]:
    """What the fields of :func:`_shared_fields` depend on (the tuples by identity: the risk pass shares them)."""
    return (id(finding.affected), id(finding.builtin_sids), id(finding.servers), id(finding.removals), finding.risk,
            finding.trustee_kind, finding.false_conditions, finding.unknown_conditions, finding.entry.trustee,
            finding.entry.acl_source)  # fmt: skip


def _own_fields(finding: Finding) -> dict[str, Any]:
    """The fields of a finding's record that are its entry's own (all but the shared ones and the location)."""
    entry = finding.entry
    return {
        "folder": entry.folder,
        "folder_dn": entry.folder_dn,
        "acl_source": entry.acl_source.value,
        "trustee_sid": _sid_text(entry.trustee_sid),
        "trustee": entry.trustee,
        "trustee_name": _sid_name(entry.trustee_sid),
        "rights": entry.rights,
        "risk": str(finding.risk),
    }


def _shared_fields(finding: Finding, baseline: str) -> dict[str, Any]:
    """The fields of a finding's record that depend only on its trustee's risk, its servers and its rating."""
    return {
        "builtin_sids": [str(sid) for sid in finding.builtin_sids],
        "builtin_names": [_sid_name(sid) or str(sid) for sid in finding.builtin_sids],
        "affected_count": len(finding.affected),
        "server_names": [s.server.name for s in finding.servers],
        "exposed_servers": [s.server.name for s in finding.exposed_servers],
        "reason": reason(finding, baseline),
        "reason_kind": finding.trustee_kind.value,
        "false_conditions": list(finding.false_conditions),
        "unknown_conditions": list(finding.unknown_conditions),
        "risk_note": risk_note(finding),
        "remediation": list(options(finding)),
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
    detail = unchecked_detail(item)
    return {"kind": item.kind.value, "subject": item.subject, "detail": detail, "location": item.location}


def plan_record(plan: Plan) -> dict[str, Any]:
    """What to do, for scripts: the patch steps (cumulative ``fixes``), servers to confirm, memberships to remove."""
    return {
        "entries": plan.entries,
        "patches": [{"servers": [s.server.name for s in step.servers], "fixes": step.fixes} for step in plan.patches],
        "builds_unknown": [s.server.name for s in plan.builds_unknown],
        "unknown_entries": plan.unknown_entries,
        "removals": [
            {"group_sid": str(group.sid), "group_dn": group.dn, "member_sid": str(member.sid), "member_dn": member.dn}
            for group, member in plan.removals
        ],
        "removal_senders": plan.senders,
    }


def assessment_json(report: Report) -> Iterator[str]:
    """The JSON document, in pieces as they are made: indented, but each finding on one line of its own.

    One line a finding keeps the document readable and greppable, and lets the C encoder write it
    (``json.dumps`` with ``indent`` runs in Python: a third of the time of a 10^6-entry report).
    """
    assessment, baseline = report.assessment, report.assessment.baseline
    head = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "baseline": assessment.baseline,
        "conditions": [
            {
                "name": c.name,
                "holds": c.holds,
                "evidence": condition_evidence(c),
                "basis": c.basis.value,
                "values": list(c.values),
            }
            for c in assessment.conditions
        ],
        "servers": [_server(s) for s in assessment.servers],
        "senders": [sender_record(m) for m in assessment.senders_at_risk],
    }
    text = _dumps(head)
    yield text[: text.rindex("\n}")] + ',\n  "findings": ['
    trustees: dict[Any, Finding] = {}  # trustee SID -> its first finding (all of a SID's findings share senders)
    for number, line in enumerate(finding_lines(report.shown, baseline)):
        yield ("," if number else "") + "\n    " + line
    for finding in report.shown:
        trustees.setdefault(finding.entry.trustee_sid, finding)
    for finding, _ in report.accepted:
        trustees.setdefault(finding.entry.trustee_sid, finding)
    tail = {
        "trustees": [trustee_record(finding) for finding in trustees.values()],
        "summary": dict(report.counts.items()),
        "unchecked": [unchecked_record(item) for item in assessment.unchecked],
        "notes": list(assessment.notes),
        "accepted": [
            {**finding_record(finding, baseline), "accepted": _acceptance(acceptance)}
            for finding, acceptance in report.accepted
        ],
        "plan": plan_record(report.plan),
    }
    yield ("\n  ]," if report.shown else "],") + _dumps(tail)[1:] + "\n"


def _acceptance(acceptance: Acceptance) -> dict[str, Any]:
    expires = acceptance.expires.isoformat() if acceptance.expires else None
    return {"reason": acceptance.reason, "expires": expires, "location": acceptance.location}


def _sender_records(findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    senders: dict[str, Membership] = {}
    for affected in _distinct_affected(findings):
        for membership in affected:
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


def _server(status: ServerStatus) -> dict[str, Any]:
    return {
        "server": status.server.name,
        "dn": status.server.dn,
        "serial_number": status.server.serial_number,
        "build": str(status.build) if status.build else None,
        "vulnerable": status.vulnerable,
        "hotfix": status.hotfix,
        "evidence": server_evidence(status),
        "verdict": status.verdict.value,
        "recorded_store_build": status.recorded_store_build,
    }


def _entry_row(
    finding: Finding,
    baseline: str,
    memo: dict[tuple[Any, ...], dict[str, Any]] | None = None,
    senders: dict[int, tuple[list[str], list[str]]] | None = None,
) -> dict[str, Any]:
    """A finding for people (table, Markdown, CSV): its senders listed in it, by SID and by name.

    ``memo`` and ``senders`` keep what a trustee's findings share (:func:`finding_record`; the lists of its
    senders, one pair per trustee: a Default entry on every folder names every sender on each row)."""
    record = finding_record(finding, baseline, memo)
    listed = senders.get(id(finding.affected)) if senders is not None else None
    if listed is None:
        listed = [str(m.principal.sid) for m in finding.affected], [m.principal.label for m in finding.affected]
        if senders is not None:
            senders[id(finding.affected)] = listed
    rights = finding.entry.rights or "unknown"
    if finding.entry.acl_source is AclSource.DIRECTORY and rights.count(", ") > 1:
        first, *others = rights.split(", ")
        rights = f"{first} +{len(others)}"  # the table's cell; CSV and JSON carry every right in "rights"
    record["affected_sids"] = listed[0]  # (the record is this row's own: finding_record makes a new one each time)
    record["affected_names"] = listed[1]
    record["rights_shown"] = f"{finding.entry.acl_source.value}: {rights}"
    record["why"] = f"{record['reason']}. {record['risk_note'][0].upper()}{record['risk_note'][1:]}."
    return record


def _distinct_affected(findings: Iterable[Finding]) -> Iterator[tuple[Membership, ...]]:
    """Each findings' senders once: the findings of one trustee share one tuple (a Default entry on 10^5 folders
    names every sender, and going through it once a folder would cost findings times senders)."""
    seen: set[int] = set()
    for finding in findings:
        if id(finding.affected) not in seen:
            seen.add(id(finding.affected))
            yield finding.affected


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


_ONE_LINE = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(value, ensure_ascii=False) makes for each call


@lru_cache(maxsize=4096)
def _sid_text(sid: Sid | None) -> str | None:
    return str(sid) if sid else None


@lru_cache(maxsize=4096)
def _sid_name(sid) -> str | None:
    if sid is None:
        return None
    entry = wellknown.lookup(str(sid))
    return entry.name if entry else None


def _count_and_names(names: list[str]) -> str:
    return f"{len(names)}: {_shorten(names)}"


def _shorten(names: list[str]) -> str:
    shown = ", ".join(names[:_LIST_IN_TABLE])
    return shown + (f" +{len(names) - _LIST_IN_TABLE} more" if len(names) > _LIST_IN_TABLE else "")
