"""What to do about findings: fix the servers, or remove the memberships (never applied by sidtool).

:func:`plan` orders the server fixes by reach (the fewest servers that take the most entries out of
risk first) and gathers the memberships to remove; :func:`options` words the choices of one finding;
:func:`removal_ldif` writes the removals as LDIF for review, a comment above each change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise

from sidtool.baseline import is_builtin_alias
from sidtool.dn import dn_key, domain_dns_name, parent_dn, split_rdns
from sidtool.errors import InputError
from sidtool.exchange import ServerStatus
from sidtool.ldif_values import is_safe, value_lines
from sidtool.model import Principal, PrincipalKind
from sidtool.risk import Finding, RiskLevel
from sidtool.terminal import printable


@dataclass(frozen=True, slots=True)
class PatchStep:
    """Servers to patch together, and how many entries are out of risk once they and the steps before are."""

    servers: tuple[ServerStatus, ...]
    fixes: int


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do about the medium and high findings given, widest reach first."""

    entries: int  # the findings the plan is for
    patches: tuple[PatchStep, ...]
    builds_unknown: tuple[ServerStatus, ...]  # servers whose build is unknown, holding entries no patch covers
    unknown_entries: int  # entries that depend on those servers
    removals: tuple[tuple[Principal, Principal], ...]  # (at-risk group, member)
    senders: int  # senders at risk that those removals take out of the at-risk groups


def plan(findings: Iterable[Finding]) -> Plan:
    """The plan for ``findings`` (the low ones are left out: a condition already keeps them safe).

    Patching: each step patches the fewest servers not yet patched that complete some entry's exposed
    servers (ties: the set shared by most entries); its count is cumulative. There are at most as many
    steps as distinct sets of exposed servers.
    """
    rated = [f for f in findings if f.risk >= RiskLevel.MEDIUM]
    statuses = {s.server.dn: s for f in rated for s in f.servers}
    remaining = Counter(frozenset(s.server.dn for s in f.exposed_servers) for f in rated if f.exposed_servers)
    patched: set[str] = set()
    steps = []
    fixed = 0
    while remaining:  # each pass removes at least one set
        best = min(remaining, key=lambda dns: (len(dns - patched), -remaining[dns], sorted(dns)))
        new = sorted(best - patched, key=lambda dn: statuses[dn].server.name.casefold())
        patched |= best
        for done in [dns for dns in remaining if dns <= patched]:
            fixed += remaining.pop(done)
        steps.append(PatchStep(tuple(statuses[dn] for dn in new), fixed))
    unknown = [f for f in rated if not f.exposed_servers and not f.servers_fixed]
    builds_unknown = {s.server.dn: s for f in unknown for s in f.servers if s.vulnerable is None}
    trustees = list({id(f.affected): f for f in rated}.values())  # a trustee's findings share its senders and edges
    removals = tuple(dict.fromkeys(edge for f in trustees for edge in f.removals))
    senders = {m.principal.dn for f in trustees if f.removals for m in f.affected}
    return Plan(len(rated), tuple(steps), tuple(builds_unknown.values()), len(unknown), removals, len(senders))


def options(finding: Finding) -> tuple[str, ...]:
    """Concrete options for one finding, the server fix first."""
    choices = []
    exposed = [s for s in finding.servers if s.vulnerable]
    if exposed:
        names = ", ".join(s.server.name for s in exposed)
        hotfixes = ", ".join(sorted({s.hotfix for s in exposed if s.hotfix}))
        choices.append(f"install Exchange 2003 SP2 on {names}, or the KB 870585 hotfix (Store.exe {hotfixes})")
    elif not finding.servers or any(s.vulnerable is None for s in finding.servers):
        choices.append("confirm every server holding the folder runs Exchange 2003 SP2 (build 6.5.7638) or later")
    if finding.removals:
        shown = "; ".join(f"{member.label} from {group.label}" for group, member in finding.removals[:3])
        more = f" (+{len(finding.removals) - 3} more)" if len(finding.removals) > 3 else ""
        choices.append(f"or remove the memberships: {shown}{more}")
    return tuple(choices)


def removal_ldif(findings: Iterable[Finding], on_refused: Callable[[InputError], None] | None = None) -> str:
    """An LDIF (RFC 2849) that deletes the offending member values, for an administrator to review.

    Only member values of the at-risk BUILTIN groups the report names are removed, each group and
    member addressed by the plain DN it was read with. A DN from a hostile or damaged input could
    otherwise point the change elsewhere: an extended DN (``<SID=...>``, ``<GUID=...>``, ``<WKGUID=...>``,
    which AD resolves to any object), a built-in group's SID on a DN outside ``CN=Builtin``, or a group
    that is not among the senders' at-risk groups and routes. Each such change is left out and reported
    once through ``on_refused``.
    """
    edges: dict[str, list[str]] = {}
    refused: set[tuple[str, str]] = set()
    labels: dict[str, Principal] = {}
    reached: dict[tuple[str, str], set[str]] = {}  # (group DN, member DN) -> the senders at risk that come through
    findings = list({id(f.affected): f for f in findings}.values())  # once a trustee: its findings share the rest
    for finding in findings:
        for membership in finding.affected:
            for lower, upper in pairwise(membership.path):
                reached.setdefault((upper.dn, lower.dn), set()).add(membership.principal.dn)
        on_route = _route_keys(finding)
        for group, member in finding.removals:
            refusal = _refusal(group, member, on_route)
            if refusal:
                if on_refused is not None and (group.dn, member.dn) not in refused:
                    refused.add((group.dn, member.dn))
                    on_refused(InputError(f"remediation: not removing {member.dn} from {group.dn}: {refusal}"))
                continue
            members = edges.setdefault(group.dn, [])
            labels[group.dn], labels[member.dn] = group, member
            if member.dn not in members:
                members.append(member.dn)
    lines = [
        "# Generated by sidtool for review. It removes the memberships that put senders into",
        "# built-in groups the pre-SP2 Exchange store does not know (Microsoft KB 870585).",
        "# sidtool never applies it. Check each change before: ldifde -i -f FILE, or ldapmodify -f FILE.",
        "version: 1",
        "",
    ]
    for group_dn, members in edges.items():
        for member_dn in members:
            lines.append(
                printable(_change_comment(labels[member_dn], labels[group_dn], reached.get((group_dn, member_dn))))
            )
        lines.extend(_lines("dn", group_dn))
        lines.append("changetype: modify")
        lines.append("delete: member")
        for member_dn in members:
            lines.extend(_lines("member", member_dn))
        lines.append("-")
        lines.append("")
    return "\n".join(lines)


def _change_comment(member: Principal, group: Principal, senders: set[str] | None) -> str:
    """What one removal does, for the reviewer: who leaves which group, why, and what else it takes away."""
    domain = domain_dns_name(group.domain_dn) if group.domain_dn else None
    where = f"{group.label} ({domain})" if domain else group.label
    count = f"{len(senders)} sender(s) at risk" if senders else "senders at risk"
    who = f"every member of {member.label}" if member.kind is PrincipalKind.GROUP else member.label
    return (
        f"# removes {member.label} from {where}: {count} reach the group through it; {who} also loses what "
        f"{group.label} grants in {domain or 'its domain'}"
    )


def _route_keys(finding: Finding) -> set[str]:
    """The DN keys of the at-risk groups a finding's senders are in, and of the groups on their routes."""
    reported = (principal for m in finding.affected for principal in (*m.groups, *m.path[1:]))
    return {dn_key(principal.dn) for principal in reported if _plain(principal.dn)}


def _refusal(group: Principal, member: Principal, on_route: set[str]) -> str | None:
    """Why the removal of ``member`` from ``group`` is left out of the LDIF, or None when it may be written."""
    for dn in (group.dn, member.dn):
        if dn.lstrip().startswith("<"):
            return f"{dn[:60]!r} is an extended DN (<SID=...>, <GUID=...>), not a DN as read"
        if not _plain(dn):
            return f"{dn[:60]!r} is not a readable DN"
    if group.kind is not PrincipalKind.GROUP or not is_builtin_alias(group.sid):
        return f"{group.dn} is not a built-in group"
    parent = parent_dn(group.dn)  # BUILTIN aliases live in each domain's CN=Builtin container (MS-ADTS 6.1.1.4.12)
    container = split_rdns(parent)[0] if parent else ("", "")
    if (container[0].casefold(), container[1].casefold()) != ("cn", "builtin"):
        return f"the built-in group {group.sid} is not in a CN=Builtin container"
    if dn_key(group.dn) not in on_route:
        return "the group is not one the report names"
    return None


def _plain(dn: str) -> bool:
    """A DN of one or more RDNs that reads as RFC 4514 text (not an extended DN, not garbage)."""
    if not dn or dn.lstrip().startswith("<"):
        return False
    try:
        return bool(split_rdns(dn))
    except InputError:
        return False


def _lines(name: str, value: str) -> list[str]:
    """An LDIF attribute line (:func:`sidtool.ldif_values.value_lines`, unfolded); a base64 DN is preceded by a
    comment with the DN readable (RFC 2849: lines starting with "#" are comments), escaped for terminals, so that
    a reviewer sees what the change addresses."""
    lines = value_lines(name, value, fold=None)
    return lines if is_safe(value) else [f"# {name}: {printable(value)}", *lines]
