"""The KB 870585 risk engine: which public-folder permission entries expose senders to NDR 5.2.1.

Exchange 2000, and Exchange 2003 before SP2, refuse delivery to a public folder
when (a) the forest runs Windows Server 2003 domain controllers, (b) it has
child domains, and (c) the sender is in a BUILTIN group that Windows Server 2003
introduced; unless the server has the Store.exe hotfix (Microsoft KB 870585).
The at-risk groups are not listed here: they are the catalog's BUILTIN aliases
introduced after the baseline release (Windows 2000 for the Exchange store).

The engine returns data, never prose: a condition's ``basis`` and ``values``, a finding's
``trustee_kind`` and the names of its false and unknown conditions, an unchecked item's ``kind``
and counts. :mod:`sidtool.report` words them (and keeps the JSON's ``reason``, ``evidence`` and
``detail`` texts as documented). ``assess`` takes the servers the administrator recorded as hotfixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum
from itertools import compress

import wellknown
from sidtool.baseline import LEGACY_STORE_RELEASE, is_builtin_alias, unknown_to
from sidtool.dn import dn_key, domain_dns_name
from sidtool.exchange import ServerStatus, server_status, servers_for_folder
from sidtool.membership import Membership, MembershipGraph
from sidtool.model import (
    AclSource,
    Directory,
    EntryColumns,
    EntryTable,
    FolderPermissions,
    PermissionEntry,
    Principal,
    PrincipalKind,
    PublicFolder,
    RightsKind,
)
from sidtool.security.descriptor import DescriptorError, decode_descriptor
from sidtool.security.rights import AD_FULL_CONTROL, ad_right_names, can_post_items, format_access_rights
from sidtool.security.sid import ANONYMOUS_LOGON, AUTHENTICATED_USERS, EVERYONE, Sid

BROAD_TRUSTEES = frozenset({EVERYONE, ANONYMOUS_LOGON, AUTHENTICATED_USERS})


class RiskLevel(IntEnum):
    """How likely an entry is to cause a 5.2.1 refusal."""

    NONE = 0
    LOW = 1  # membership risk, but a condition is false (one domain, or every server fixed)
    MEDIUM = 2  # membership risk, and a condition is unknown, or only directory rights show it
    HIGH = 3  # membership risk, and every condition holds

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> RiskLevel:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown risk level {text!r}; expected none, low, medium or high") from None


class ConditionBasis(str, Enum):
    """What a condition's state rests on (report.py words it, with the condition's ``values``)."""

    DC_SYSTEMS = "dc-systems"  # values: the operating systems of the DCs that run Windows Server 2003 or later
    FUNCTIONAL_LEVEL = "functional-level"  # values: the highest domain functional level read
    BUILTINS_PRESENT = "builtins-present"  # the Windows Server 2003 built-in groups exist in the directory
    ALL_DCS_2000 = "all-dcs-2000"  # values: the operating systems, every one Windows 2000
    NOTHING_READ = "nothing-read"  # no DC, functional level or 2003 built-in group was read
    CHILD_DOMAINS = "child-domains"  # values: the child domains
    ONE_DOMAIN = "one-domain"  # values: the only domain
    DOMAINS_UNLISTED = "domains-unlisted"  # values: the only domain read; the forest's crossRefs were not read
    DOMAIN_COUNT = "domain-count"  # values: how many domains the forest has
    NAMING_CONTEXTS = "naming-contexts"  # values: the domains principals were read in (no crossRefs read)
    NO_DOMAINS = "no-domains"  # no domain information was read


@dataclass(frozen=True, slots=True)
class Condition:
    """One environment condition of KB 870585: true, false or unknown, and what that rests on."""

    name: str
    holds: bool | None
    basis: ConditionBasis
    values: tuple[str, ...] = ()


class TrusteeRiskKind(str, Enum):
    """Why a trustee lets senders at risk in (report.py words it)."""

    UNKNOWN_BUILTIN = "unknown-builtin"  # the trustee is itself a built-in group the baseline does not define
    BROAD = "broad"  # Everyone, Authenticated Users or Anonymous: every sender at risk
    MEMBER = "member"  # the trustee is an account that is itself in at-risk built-in groups
    GROUP = "group"  # the trustee is a group that contains senders at risk


@dataclass(frozen=True, slots=True)
class CheckedEntry:
    """A permission entry that grants access, reduced to what the risk check needs."""

    folder: str
    folder_dn: str | None
    acl_source: AclSource
    trustee: str
    trustee_sid: Sid | None
    rights: str | None  # None when the source does not say (RightsKind.UNKNOWN)
    public_folder: PublicFolder | None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A permission entry at risk, with why it is rated as it is."""

    entry: CheckedEntry
    risk: RiskLevel
    builtin_sids: tuple[Sid, ...]
    affected: tuple[Membership, ...]
    servers: tuple[ServerStatus, ...]
    trustee_kind: TrusteeRiskKind
    removals: tuple[tuple[Principal, Principal], ...] = ()  # (at-risk group, member) values that let senders in
    false_conditions: tuple[str, ...] = ()  # names of the conditions that do not hold (the entry is low)
    unknown_conditions: tuple[str, ...] = ()  # names of the conditions whose state is unknown

    @property
    def exposed_servers(self) -> tuple[ServerStatus, ...]:
        """The servers holding the folder whose store is exposed."""
        return tuple(s for s in self.servers if s.vulnerable)

    @property
    def servers_fixed(self) -> bool:
        """Does every server holding the folder have the fix (and is there one)?"""
        return bool(self.servers) and all(s.vulnerable is False for s in self.servers)


class UncheckedKind(str, Enum):
    """Why a part of the forest or of the folders could not be checked (the report names each one)."""

    NOT_COLLECTED = "not-collected"  # a gap the reader recorded: a domain's DC unreachable, a reference not followed
    DOMAIN_NOT_READ = "domain-not-read"  # the forest's crossRef names the domain; none of its objects were read
    MEMBERS_PARTIAL = "members-partial"  # a group's member list was read only in part (member;range=0-1499)
    DESCRIPTOR_UNREADABLE = "descriptor-unreadable"  # a folder's nTSecurityDescriptor could not be decoded
    DESCRIPTOR_MISSING = "descriptor-missing"  # a folder read from the directory without its descriptor
    DACL_MISSING = "dacl-missing"  # a folder's descriptor without a DACL (exported with owner and group only)
    MEMBER_NOT_FOUND = "member-not-found"  # a member of an at-risk group (or of a group in one) that was not read
    BUILTINS_NOT_READ = "builtins-not-read"  # a domain read without its built-in groups (CN=Builtin)
    REFERENCE_NOT_READ = "reference-not-read"  # an export refers to a naming context (a child domain?) not read
    RIGHTS_UNKNOWN = "rights-unknown"  # an entry of a trustee at risk whose rights the export does not state
    RECORD_SKIPPED = "record-skipped"  # a record of an input could not be read (named on stderr too) and was skipped


@dataclass(frozen=True, slots=True)
class Unchecked:
    """Something the assessment could not check: what it is, why, and where it was read."""

    kind: UncheckedKind  # why: report.py words it, with the fields below
    subject: str  # the domain, group, folder or "folder: trustee"
    location: str | None = None  # "perms.txt:12", where the source says where
    senders: int = 0  # RIGHTS_UNKNOWN: how many senders at risk the trustee lets in
    error: str | None = None  # DESCRIPTOR_UNREADABLE: what the decoder said; RECORD_SKIPPED: what the reader said;
    # MEMBER_NOT_FOUND: the first member's DN, and how many more


@dataclass(frozen=True)
class Assessment:
    """The whole answer: conditions, servers, findings, and the counts for the summary."""

    baseline: str
    conditions: tuple[Condition, ...]
    servers: tuple[ServerStatus, ...]
    findings: tuple[Finding, ...]
    folders_scanned: int
    entries_checked: int
    senders_at_risk: tuple[Membership, ...]
    notes: tuple[str, ...] = ()
    unchecked: tuple[Unchecked, ...] = ()  # when not empty, the findings cover only what could be checked

    @property
    def complete(self) -> bool:
        """Was everything read checked? A report with no findings is a clean bill only then."""
        return not self.unchecked


def assess(
    directory: Directory, baseline: str = LEGACY_STORE_RELEASE, hotfixed: Mapping[str, str | None] | None = None
) -> Assessment:
    """Rate every permission entry of every public folder in ``directory``.

    ``hotfixed`` maps the case-folded names of servers the administrator recorded as carrying the
    Store.exe hotfix (which LDAP cannot see) to the Store.exe build recorded, or None.
    """
    graph = MembershipGraph(directory, lambda p: is_builtin_alias(p.sid) and unknown_to(p.sid, baseline))
    senders = tuple(graph.at_risk())
    recorded = {name.casefold(): build for name, build in (hotfixed or {}).items()}
    statuses = {
        server.dn: server_status(
            server, (True, recorded[server.name.casefold()]) if server.name.casefold() in recorded else None
        )
        for server in directory.exchange_servers
    }
    conditions = (windows_2003_condition(directory, graph), multi_domain_condition(directory))
    unchecked = unread_parts(directory)
    notes = _members_not_read(graph, unchecked)
    findings = []
    ratings: dict[tuple[str | None, AclSource], _Rating] = {}
    trustee_cache: dict[Sid, _TrusteeRisk | None] = {}
    may_be_at_risk = _MayBeAtRisk(graph, senders, baseline)
    entries = 0
    folders: set[str] = set()
    for permissions, folder, granting, to_check, from_descriptor in granting_sets(directory, unchecked, may_be_at_risk):
        folders.add(permissions.folder)  # (looked at, even when it lets no one in)
        if not granting:
            continue
        entries += granting
        for entry in to_check:
            sid = entry.trustee_sid
            if sid is None:
                continue
            trustee_risk = trustee_cache.get(sid, _NOT_YET)
            if trustee_risk is _NOT_YET:
                trustee_risk = trustee_cache[sid] = _trustee_risk(sid, directory, graph, senders, baseline)
            if trustee_risk is None:
                continue
            checked = _checked(permissions, folder, entry, from_descriptor)
            if checked.rights is None:
                unchecked.append(_rights_unknown(checked, trustee_risk))
            else:
                findings.append(_rate(checked, directory, trustee_risk, statuses, conditions, ratings))
    findings.sort(key=lambda f: (-f.risk, f.entry.folder.casefold(), f.entry.trustee.casefold()))
    return Assessment(
        baseline=baseline,
        conditions=conditions,
        servers=tuple(statuses.values()),
        findings=tuple(findings),
        folders_scanned=len(folders),
        entries_checked=entries,
        senders_at_risk=senders,
        notes=tuple(notes),
        unchecked=tuple(unchecked),
    )


def unread_parts(directory: Directory) -> list[Unchecked]:
    """What the model says was not read: recorded gaps, domains known only by name, partial member lists,
    and folders read from the directory without a descriptor (and with no store permissions either)."""
    parts = [Unchecked(UncheckedKind.NOT_COLLECTED, gap) for gap in directory.gaps]
    for domain in directory.domains:
        if not domain.read:
            parts.append(Unchecked(UncheckedKind.DOMAIN_NOT_READ, domain.dns_name or domain.dn))
    with_principals: set[str | None] = set()  # the domains (DNs) some principal was read in ...
    with_builtins: set[str | None] = set()  # ... and some built-in group
    for principal in directory.principals:
        if not principal.members_complete:
            parts.append(Unchecked(UncheckedKind.MEMBERS_PARTIAL, principal.dn))
        with_principals.add(principal.domain_dn)
        if is_builtin_alias(principal.sid):
            with_builtins.add(principal.domain_dn)
    without_builtins = {dn_key(dn) for dn in with_principals if dn} - {dn_key(dn) for dn in with_builtins if dn}
    for domain in directory.domains:  # its principals were read, not its built-in groups: their members are unknown
        if domain.read and dn_key(domain.dn) in without_builtins:
            parts.append(Unchecked(UncheckedKind.BUILTINS_NOT_READ, domain.dns_name or domain.dn))
    if directory.references and directory.forest_root_dn is None:  # (with the crossRefs, domain-not-read says it)
        held = {dn_key(domain.dn) for domain in directory.domains if domain.read}  # (then builtins-not-read judges it)
        for referred in dict.fromkeys(directory.references):
            if dn_key(referred) not in held:
                parts.append(Unchecked(UncheckedKind.REFERENCE_NOT_READ, referred))
                held.add(dn_key(referred))
    with_store_permissions = {p.folder for p in directory.permissions if p.source is AclSource.STORE}
    for folder in directory.public_folders:
        if folder.dn is not None and folder.descriptor is None and folder.path not in with_store_permissions:
            parts.append(Unchecked(UncheckedKind.DESCRIPTOR_MISSING, folder.dn))
    return parts


def _members_not_read(graph: MembershipGraph, unchecked: list[Unchecked]) -> list[str]:
    """Member DNs that name nothing read: in an at-risk group (or a group in one) such a member may be a sender, a
    hole added to ``unchecked`` (one item a group: the first DN and how many more); elsewhere a note, returned."""
    notes = []
    missing: dict[str, list[str]] = {}  # group DN -> its members not read
    for dangling in graph.dangling:
        if graph.reaches_target(dangling.group):
            missing.setdefault(dangling.group.dn, []).append(dangling.member_dn)
        else:
            notes.append(f"{dangling.group.label}: member {dangling.member_dn} was not found in the directory data")
    for group_dn, members in missing.items():
        more = f" and {len(members) - 1:,} more" if len(members) > 1 else ""
        unchecked.append(Unchecked(UncheckedKind.MEMBER_NOT_FOUND, group_dn, error=members[0] + more))
    return notes


def _rights_unknown(entry: CheckedEntry, trustee_risk: _TrusteeRisk) -> Unchecked:
    return Unchecked(
        UncheckedKind.RIGHTS_UNKNOWN, f"{entry.folder}: {entry.trustee}", entry.location, len(trustee_risk.affected)
    )


def granting_sets(
    directory: Directory, unchecked: list[Unchecked], may_be_at_risk: _MayBeAtRisk
) -> Iterator[tuple[FolderPermissions, PublicFolder | None, int, list[PermissionEntry], bool]]:
    """The entries to check, a folder at a time: each permission set, its folder, how many of its entries grant
    access (store entries that allow posting, allow ACEs of folder objects) or have rights that are unknown, those
    of them whose trustee SID ``may_be_at_risk`` says may be at risk, and whether they come from the folder's
    descriptor. Descriptors that cannot be decoded are added to ``unchecked``. The risk pass makes a
    :class:`CheckedEntry` (:func:`_checked`) only for an entry of a trustee at risk.

    A store export's entries in columns (:class:`EntryColumns`) are read as numbers: a folder none of whose
    trustees may be at risk (most) is counted without building its entries."""
    by_path = {folder.path: folder for folder in directory.public_folders if folder.path}
    stored = {p.folder for p in directory.permissions if p.source is AclSource.STORE}
    posting = _MayPost()
    rows: dict[int, tuple[EntryTable, frozenset[int], list[bool]]] = {}  # id(table) -> what its numbers mean
    for permissions in directory.permissions:
        entries = permissions.entries
        if isinstance(entries, EntryColumns):
            known = rows.get(id(entries.table))
            if known is None or known[0] is not entries.table:
                known = rows[id(entries.table)] = _rows(entries.table, posting, may_be_at_risk)
            _, trustees, grants = known
            granting = sum(map(grants.__getitem__, entries.rights_ids))
            if trustees.isdisjoint(entries.trustee_ids):
                yield permissions, by_path.get(permissions.folder), granting, [], False
                continue
            rights = entries.rights_ids  # (the positions of the trustees that may be at risk, found in C: a few)
            at_risk = compress(range(len(rights)), map(trustees.__contains__, entries.trustee_ids))
            to_check = [entries.entry(at) for at in at_risk if grants[rights[at]]]
            yield permissions, by_path.get(permissions.folder), granting, to_check, False
            continue
        granting_entries = [e for e in entries if e.allowed and (e.rights_kind is not _MAPI or posting[e.rights])]
        to_check = [e for e in granting_entries if e.trustee_sid is not None and may_be_at_risk[e.trustee_sid]]
        yield permissions, by_path.get(permissions.folder), len(granting_entries), to_check, False
    for folder in directory.public_folders:
        if folder.descriptor is None:
            continue
        try:
            descriptor = decode_descriptor(folder.descriptor)
        except DescriptorError as error:
            subject = folder.dn or folder.path or folder.name
            unchecked.append(Unchecked(UncheckedKind.DESCRIPTOR_UNREADABLE, subject, error=str(error)))
            continue
        if descriptor.dacl is None and not descriptor.dacl_present:  # no DACL read: nothing says who may post
            if folder.path not in stored:  # (unless the store's own permissions were read)
                unchecked.append(Unchecked(UncheckedKind.DACL_MISSING, folder.dn or folder.path or folder.name))
            continue
        granting_sids: list[tuple[Sid, int | None]] = [(EVERYONE, AD_FULL_CONTROL)]  # a NULL DACL: everyone has
        if descriptor.dacl is not None:  # every right ([MS-DTYP] 2.5.3.2, AccessCheck); else what the ACEs allow
            granting_sids = [(ace.sid, ace.mask) for ace in descriptor.dacl
                             if ace.is_allow and ace.sid is not None and not ace.inherit_only]  # fmt: skip
        label = "{} (NULL DACL)" if descriptor.dacl is None else "{}"
        to_check = [
            PermissionEntry(label.format(sid_label(directory, sid)), sid, mask or 0, RightsKind.ACCESS_MASK)
            for sid, mask in granting_sids
            if may_be_at_risk[sid]
        ]
        permissions = FolderPermissions(folder.path or folder.name, AclSource.DIRECTORY, ())
        yield permissions, folder, len(granting_sids), to_check, True


def _rows(
    table: EntryTable, posting: _MayPost, may_be_at_risk: _MayBeAtRisk
) -> tuple[EntryTable, frozenset[int], list[bool]]:
    """What a store export's table means to the risk pass: the rows of its trustees that may be at risk, and for
    each rights row whether it grants (lets its trustee post, or is unknown). The table is kept with them."""
    trustees = may_be_at_risk.rows(table.trustees)
    grants = [kind is not _MAPI or posting[mask] for mask, kind in table.rights]
    return table, trustees, grants


class _MayBeAtRisk(dict[Sid, bool]):
    """Trustee SID -> whether its entries may be at risk: False for a SID :func:`_trustee_risk` sets aside before
    walking the graph (a built-in the consumer knows; a SID with no sender at or below it), each worked out once."""

    def __init__(self, graph: MembershipGraph, senders: tuple[Membership, ...], baseline: str) -> None:
        super().__init__()
        self.graph = graph
        self.senders = senders
        self.baseline = baseline

    def rows(self, trustees: list[tuple[str, Sid | None]]) -> frozenset[int]:
        """The rows of an :class:`EntryTable`'s trustees whose SID may be at risk. (Only a SID the graph lets
        senders in by, a broad one or one of S-1-5-32 may be: the others are set aside without a call each.)"""
        letting_in = self.graph.sids_letting_senders_in()
        return frozenset(
            row
            for row, (_, sid) in enumerate(trustees)
            if sid is not None
            and (sid in letting_in or sid in BROAD_TRUSTEES or sid.sub_authorities[:1] == _BUILTIN_FIRST)
            and self[sid]
        )

    def __missing__(self, sid: Sid) -> bool:
        if is_builtin_alias(sid):
            answer = unknown_to(sid, self.baseline)
        elif sid in BROAD_TRUSTEES:
            answer = bool(self.senders)
        else:
            answer = sid in self.graph.sids_letting_senders_in()
        self[sid] = answer
        return answer


_BUILTIN_FIRST = (32,)  # the first sub-authority of every BUILTIN alias, S-1-5-32-x (baseline.is_builtin_alias)


class _MayPost(dict[int, bool]):
    """MAPI rights mask -> whether it lets its trustee post; an export spells few masks, each worked out once."""

    def __missing__(self, rights: int) -> bool:
        allowed = self[rights] = can_post_items(rights)
        return allowed


_MAPI = RightsKind.MAPI  # (a module name: an enum member read from its class costs a descriptor call, per entry)


def _checked(permissions: FolderPermissions, folder: PublicFolder | None, entry: PermissionEntry,
             from_descriptor: bool) -> CheckedEntry:  # fmt: skip
    """The entry as the risk check and the report see it, its rights worded as its source's tools word them
    (None when the source does not state them)."""
    if entry.rights_kind is RightsKind.UNKNOWN:
        rights = None
    elif from_descriptor:
        rights = ", ".join(ad_right_names(entry.rights))
    elif entry.rights_kind is RightsKind.MAPI:
        rights = format_access_rights(entry.rights)
    else:
        rights = hex(entry.rights)
    return CheckedEntry(permissions.folder, folder.dn if folder else None, permissions.source, entry.trustee,
                        entry.trustee_sid, rights, folder, entry.location)  # fmt: skip


def sid_label(directory: Directory, sid: Sid) -> str:
    """How a person names a SID: ``CORP\\Sales`` for a principal read, the catalog name if well-known."""
    for principal in directory.by_sid.get(sid, ()):
        if principal.kind is not PrincipalKind.FOREIGN and principal.name:
            domain = directory.domains_by_dn.get(dn_key(principal.domain_dn)) if principal.domain_dn else None
            if is_builtin_alias(sid):
                return f"BUILTIN\\{principal.name}"
            return f"{domain.netbios_name}\\{principal.name}" if domain and domain.netbios_name else principal.name
    entry = wellknown.lookup(str(sid))
    return entry.name if entry else str(sid)


def windows_2003_condition(directory: Directory, graph: MembershipGraph) -> Condition:
    """(a) a Windows Server 2003 (or later) domain environment."""
    systems = [dc.operating_system for dc in directory.domain_controllers if dc.operating_system]
    newer = [s for s in systems if "2000" not in s]
    levels = [d.functional_level for d in directory.domains if d.functional_level is not None]
    if newer:
        return Condition("windows-2003", True, ConditionBasis.DC_SYSTEMS, tuple(sorted(set(newer))))
    if any(level >= 1 for level in levels):
        return Condition("windows-2003", True, ConditionBasis.FUNCTIONAL_LEVEL, (str(max(levels)),))
    if graph.targets:
        return Condition("windows-2003", True, ConditionBasis.BUILTINS_PRESENT)
    if systems:
        return Condition("windows-2003", False, ConditionBasis.ALL_DCS_2000, tuple(sorted(set(systems))))
    return Condition("windows-2003", None, ConditionBasis.NOTHING_READ)


def multi_domain_condition(directory: Directory) -> Condition:
    """(b) a forest root domain with child domains."""
    children = [d for d in directory.domains if d.parent_dns_name]
    if children:
        names = tuple(sorted(d.dns_name or d.dn for d in children))
        return Condition("multi-domain", True, ConditionBasis.CHILD_DOMAINS, names)
    if len(directory.domains) <= 1 and directory.forest_root_dn is None:  # (the crossRefs, read, list the domains)
        contexts = {dn_key(dn) for dn in {p.domain_dn for p in directory.principals} if dn}
        contexts |= {dn_key(domain.dn) for domain in directory.domains}
        if len(contexts) > 1:  # principals read in another naming context show another domain
            names = tuple(sorted(domain_dns_name(context) or context for context in contexts))
            return Condition("multi-domain", True, ConditionBasis.NAMING_CONTEXTS, names)
    if len(directory.domains) == 1:
        only = (directory.domains[0].dns_name or directory.domains[0].dn,)
        if directory.forest_root_dn is None:  # no Configuration partition read: its crossRefs list the domains
            return Condition("multi-domain", None, ConditionBasis.DOMAINS_UNLISTED, only)
        return Condition("multi-domain", False, ConditionBasis.ONE_DOMAIN, only)
    if len(directory.domains) > 1:
        return Condition("multi-domain", True, ConditionBasis.DOMAIN_COUNT, (str(len(directory.domains)),))
    return Condition("multi-domain", None, ConditionBasis.NO_DOMAINS)


@dataclass(frozen=True, slots=True)
class _TrusteeRisk:
    """What a trustee SID exposes, the same for every entry that names it (worked out once per SID)."""

    affected: tuple[Membership, ...]
    builtin_sids: tuple[Sid, ...]
    removals: tuple[tuple[Principal, Principal], ...]
    kind: TrusteeRiskKind


_NOT_YET = _TrusteeRisk((), (), (), TrusteeRiskKind.BROAD)  # a trustee whose risk is not worked out yet (by identity)


def _trustee_risk(
    sid: Sid, directory: Directory, graph: MembershipGraph, senders: tuple[Membership, ...], baseline: str
) -> _TrusteeRisk | None:
    if is_builtin_alias(sid) and not unknown_to(sid, baseline):
        return None  # a built-in the consumer knows (Administrators, ...): the entry itself is never the fault
    if is_builtin_alias(sid):
        affected = _unique(m for p in directory.by_sid.get(sid, ()) for m in graph.at_risk_within(p))
        kind = TrusteeRiskKind.UNKNOWN_BUILTIN
    elif sid in BROAD_TRUSTEES:
        if not senders:
            return None
        affected = senders
        kind = TrusteeRiskKind.BROAD
    else:
        if sid not in graph.sids_letting_senders_in():
            return None  # (most trustees: no sender at or below any principal with this SID)
        trustees = [p for p in directory.by_sid.get(sid, ()) if p.kind is not PrincipalKind.FOREIGN]
        if len(trustees) == 1:
            affected = graph.at_risk_within(trustees[0])  # each sender once already
        else:
            affected = _unique(m for p in trustees for m in graph.at_risk_within(p))
        if not affected:
            return None
        if all(p.kind is not PrincipalKind.GROUP for p in trustees):
            kind = TrusteeRiskKind.MEMBER
        else:
            kind = TrusteeRiskKind.GROUP
    builtin_sids = tuple(sorted({sid} if is_builtin_alias(sid) else {g.sid for m in affected for g in m.groups}))
    removals = tuple(dict.fromkeys(edge for m in affected for edge in graph.entry_edges(m)))
    return _TrusteeRisk(affected, builtin_sids, removals, kind)


_Rating = tuple[tuple[ServerStatus, ...], RiskLevel, tuple[str, ...], tuple[str, ...]]  # servers, risk, names


def _rate(
    entry: CheckedEntry,
    directory: Directory,
    trustee_risk: _TrusteeRisk,
    statuses: dict[str, ServerStatus],
    conditions: tuple[Condition, ...],
    ratings: dict[tuple[str | None, AclSource], _Rating],
) -> Finding:
    """The finding of an entry at risk. Its servers and rating depend only on its folder's homeMDB and where the
    entry was read: ``ratings`` holds them, worked out once per pair, not per entry."""
    home = entry.public_folder.home_mdb if entry.public_folder else None
    rating = ratings.get((home, entry.acl_source))
    if rating is None:
        found = servers_for_folder(directory, entry.public_folder)
        servers = tuple(statuses[s.dn] for s in found if s.dn in statuses)
        states = [c.holds for c in conditions] + [_server_condition(servers)]
        if False in states:
            risk = RiskLevel.LOW
        elif None in states or entry.acl_source is AclSource.DIRECTORY:
            risk = RiskLevel.MEDIUM
        else:
            risk = RiskLevel.HIGH
        rating = ratings[(home, entry.acl_source)] = (servers, risk, *_condition_names(conditions))
    servers, risk, false_conditions, unknown_conditions = rating
    return Finding(
        entry, risk, trustee_risk.builtin_sids, trustee_risk.affected, servers, trustee_risk.kind,
        trustee_risk.removals, false_conditions, unknown_conditions,
    )  # fmt: skip


def _server_condition(servers: tuple[ServerStatus, ...]) -> bool | None:
    if any(s.vulnerable for s in servers):
        return True
    if servers and all(s.vulnerable is False for s in servers):
        return False
    return None


def _condition_names(conditions: tuple[Condition, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the conditions that do not hold, and of those unknown (one pair of tuples, shared)."""
    false = tuple(c.name for c in conditions if c.holds is False)
    unknown = tuple(c.name for c in conditions if c.holds is None)
    return false, unknown


def _unique(memberships: Iterable[Membership]) -> tuple[Membership, ...]:
    seen: dict[str, Membership] = {}
    for membership in memberships:
        seen.setdefault(membership.principal.dn, membership)
    return tuple(seen.values())
