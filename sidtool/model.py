"""What we know about a forest: one model that every reader builds and every analysis reads.

The model holds facts as the directory states them (DNs, SIDs, member lists,
raw descriptors); it knows no file format and no reader. DNs are kept as
received and matched through :func:`sidtool.dn.dn_key`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property
from typing import overload

from sidtool.dn import dn_key
from sidtool.security.sid import Sid


class PrincipalKind(str, Enum):
    """What an object with a SID is, as far as membership is concerned."""

    USER = "user"
    GROUP = "group"
    COMPUTER = "computer"
    FOREIGN = "foreign"  # a foreignSecurityPrincipal: stands for a SID of another domain or forest


class AclSource(str, Enum):
    """Where a folder's permission entries came from."""

    STORE = "store"  # the Exchange store's client permissions (PFDAVAdmin, Get-PublicFolderClientPermission)
    DIRECTORY = "directory"  # nTSecurityDescriptor of the publicFolder object in AD


class RightsKind(str, Enum):
    """How to read a permission entry's rights mask."""

    MAPI = "mapi"  # MAPI folder rights (ReadAny 0x1, Create 0x2, ...), as store exports give them
    ACCESS_MASK = "access-mask"  # a Windows access mask from a security descriptor
    UNKNOWN = "unknown"  # the source names the entry but not what it allows (PFDAVAdmin's bare "Custom")


@dataclass(frozen=True, slots=True)
class Domain:
    """A domain of the forest (a crossRef plus its domainDNS object)."""

    dn: str
    sid: Sid | None
    dns_name: str | None = None
    netbios_name: str | None = None
    parent_dns_name: str | None = None  # from the crossRef's trustParent; None for a tree root
    functional_level: int | None = None  # msDS-Behavior-Version: 0 = 2000, 2 = 2003, 3 = 2008, ...
    read: bool = True  # False for a domain known only from the forest's crossRef: none of its objects were read


@dataclass(frozen=True, slots=True)
class DomainController:
    """A domain controller and the operating system it reports."""

    dn: str
    name: str
    operating_system: str | None = None
    operating_system_version: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """A user, group, computer or foreign security principal.

    ``domain_dn`` is the naming context that holds the object. BUILTIN aliases
    (S-1-5-32-x) exist once per domain, so their identity is the DN, not the SID.
    """

    dn: str
    sid: Sid
    kind: PrincipalKind
    domain_dn: str | None = None
    name: str | None = None  # sAMAccountName
    display_name: str | None = None
    primary_group_id: int | None = None
    group_type: int | None = None
    legacy_exchange_dn: str | None = None
    members: tuple[str, ...] = ()  # member DNs, as the directory lists them (groups only)
    members_complete: bool = True  # False when the source held only part of the list (member;range=0-1499)
    user_principal_name: str | None = None  # userPrincipalName, a name store exports may use

    @property
    def label(self) -> str:
        """A short human name: sAMAccountName, else display name, else the SID."""
        return self.name or self.display_name or str(self.sid)


@dataclass(frozen=True, slots=True)
class ExchangeServer:
    """An msExchExchangeServer object."""

    dn: str
    name: str
    serial_number: str | None = None  # "Version 6.5 (Build 7226.6: Service Pack 1)": read by sidtool.exchange


@dataclass(frozen=True, slots=True)
class PublicStore:
    """An msExchPublicMDB: the public store of one server, serving one folder tree."""

    dn: str
    server_dn: str | None  # the msExchExchangeServer above it in the DN
    tree_dn: str | None  # msExchOwningPFTree


@dataclass(frozen=True, slots=True)
class PublicFolderTree:
    """An msExchPFTree (type 1 is the MAPI "Public Folders" tree)."""

    dn: str
    name: str
    tree_type: int | None = None


@dataclass(frozen=True, slots=True)
class PublicFolder:
    """A public folder: the mail-enabled publicFolder object in AD, a store path, or both."""

    name: str
    dn: str | None = None
    path: str | None = None  # the folder path in the store, as exports give it ("/Sales/Orders")
    home_mdb: str | None = None
    legacy_exchange_dn: str | None = None
    descriptor: bytes | None = field(default=None, repr=False)  # nTSecurityDescriptor, self-relative


@dataclass(frozen=True, slots=True)
class PermissionEntry:
    """One entry of a folder's permissions: a trustee and what it is allowed."""

    trustee: str  # as the source names it: a SID, DOMAIN\\account, a legacyExchangeDN, "Default"
    trustee_sid: Sid | None  # resolved; None when it could not be resolved
    rights: int
    rights_kind: RightsKind
    allowed: bool = True
    location: str | None = None  # "perms.txt:12", for messages

    def resolved(self, sid: Sid) -> PermissionEntry:
        """This entry with its trustee's SID (built directly: ``dataclasses.replace`` is slower, at millions)."""
        return PermissionEntry(self.trustee, sid, self.rights, self.rights_kind, self.allowed, self.location)


class EntryTable:
    """The trustees and rights spellings of one store export, each once, that its :class:`EntryColumns` number.

    ``trustees``: (the name as the export writes it, its SID or None); ``rights``: (mask, how to read it).
    Its reader appends to it while it reads the export, and nothing changes it after that: resolving names
    later makes a new table (:meth:`with_sids`).
    """

    __slots__ = ("rights", "trustees")

    def __init__(self) -> None:
        self.trustees: list[tuple[str, Sid | None]] = []
        self.rights: list[tuple[int, RightsKind]] = []

    def with_sids(self, sids: dict[str, Sid]) -> EntryTable:
        """A copy whose unresolved trustees named in ``sids`` have that SID."""
        table = EntryTable()
        table.trustees = [(name, sid if sid is not None else sids.get(name)) for name, sid in self.trustees]
        table.rights = self.rights
        return table


class EntryColumns(Sequence[PermissionEntry]):
    """One folder's entries of a store export, held as numbers into the export's :class:`EntryTable`.

    A million entries held this way are two tuples of shared small numbers per folder instead of a million
    objects; the risk pass reads the numbers (:attr:`trustee_ids`, :attr:`rights_ids`) and builds a
    :class:`PermissionEntry` only for an entry at risk. As a sequence it is the tuple of its entries, each built
    when it is asked for (every entry allowed, at one ``location``): equal to that tuple, and hashed as it is.
    """

    __slots__ = ("location", "rights_ids", "table", "trustee_ids")
    table: EntryTable
    trustee_ids: tuple[int, ...]  # rows of the table's trustees, one per entry
    rights_ids: tuple[int, ...]  # rows of the table's rights, one per entry
    location: str | None  # "perms.txt:12": the line every entry of the folder was read on

    def __init__(self, table: EntryTable, trustee_ids: tuple[int, ...], rights_ids: tuple[int, ...],
                 location: str | None) -> None:  # fmt: skip
        if len(trustee_ids) != len(rights_ids):
            raise ValueError("an entry needs a trustee and its rights")
        set_field = object.__setattr__  # (frozen, as the model's values are: see __setattr__)
        set_field(self, "table", table)
        set_field(self, "trustee_ids", trustee_ids)
        set_field(self, "rights_ids", rights_ids)
        set_field(self, "location", location)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"EntryColumns is frozen: cannot set {name!r}")

    def __reduce__(self) -> tuple[type[EntryColumns], tuple[EntryTable, tuple[int, ...], tuple[int, ...], str | None]]:
        """Copied and pickled through the constructor (its fields cannot be set one by one)."""
        return EntryColumns, (self.table, self.trustee_ids, self.rights_ids, self.location)

    def entry(self, position: int) -> PermissionEntry:
        """The entry at ``position`` (0 to ``len(self) - 1``)."""
        trustee, sid = self.table.trustees[self.trustee_ids[position]]
        mask, kind = self.table.rights[self.rights_ids[position]]
        return PermissionEntry(trustee, sid, mask, kind, True, self.location)

    def __len__(self) -> int:
        return len(self.trustee_ids)

    @overload
    def __getitem__(self, index: int) -> PermissionEntry: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[PermissionEntry, ...]: ...

    def __getitem__(self, index: int | slice) -> PermissionEntry | tuple[PermissionEntry, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        return self.entry(range(len(self.trustee_ids))[index])  # (negative and out-of-range indexes as a tuple's)

    def __iter__(self) -> Iterator[PermissionEntry]:
        return map(self.entry, range(len(self.trustee_ids)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (EntryColumns, tuple)):
            return len(self) == len(other) and tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


@dataclass(frozen=True, slots=True)
class FolderPermissions:
    """The permission entries of one folder, from one source.

    ``entries``: a tuple, or (from a store export) an :class:`EntryColumns`, which reads as the same tuple.
    """

    folder: str  # the folder's path, or its DN for directory rights
    source: AclSource
    entries: tuple[PermissionEntry, ...] | EntryColumns
    origin: str | None = None  # the file or server they were read from


@dataclass(frozen=True)
class Directory:
    """Everything a reader learned: the forest, its principals, and the Exchange organisation."""

    forest_root_dn: str | None = None  # known when the forest's crossRefs were read, each saying what it is for
    domains: tuple[Domain, ...] = ()
    domain_controllers: tuple[DomainController, ...] = ()
    principals: tuple[Principal, ...] = ()
    exchange_servers: tuple[ExchangeServer, ...] = ()
    public_stores: tuple[PublicStore, ...] = ()
    folder_trees: tuple[PublicFolderTree, ...] = ()
    public_folders: tuple[PublicFolder, ...] = ()
    permissions: tuple[FolderPermissions, ...] = ()
    gaps: tuple[str, ...] = ()  # what could not be read (an unreachable domain, ...), in words
    # the dn_key of each contact read (it has no SID): a group member naming one is known, and no principal
    others: frozenset[str] = frozenset()
    # naming contexts an export refers to without holding them (ldapsearch's ref:), for the report to judge: without
    # the forest's crossRefs, one that no input read may be a child domain
    references: tuple[str, ...] = ()
    # a crossRef was read that cannot say which naming context it is for, or whether that is a domain's: then the
    # crossRefs, wherever they were read, do not list the forest's domains (forest_root_dn says nothing)
    cross_refs_untyped: bool = False

    @cached_property
    def by_dn(self) -> dict[str, Principal]:
        """Principals by :func:`dn_key` of their DN."""
        return {dn_key(p.dn): p for p in self.principals}

    @cached_property
    def by_sid(self) -> dict[Sid, tuple[Principal, ...]]:
        """Principals by SID; a BUILTIN SID maps to one alias per domain."""
        index: dict[Sid, tuple[Principal, ...]] = {}
        get = index.get
        for principal in self.principals:
            found = get(principal.sid)  # (a tuple of one for almost every SID: made once, never rebuilt)
            index[principal.sid] = (principal,) if found is None else (*found, principal)
        return index

    @cached_property
    def domains_by_dn(self) -> dict[str, Domain]:
        return {dn_key(domain.dn): domain for domain in self.domains}

    def principal(self, dn: str) -> Principal | None:
        """The principal with this DN, matched case- and escape-insensitively."""
        return self.by_dn.get(dn_key(dn))

    def merged(self, other: Directory) -> Directory:
        """This model plus another reader's (a directory dump plus a permission export, say)."""
        untyped = self.cross_refs_untyped or other.cross_refs_untyped
        return Directory(
            forest_root_dn=None if untyped else self.forest_root_dn or other.forest_root_dn,
            domains=_union_domains(self.domains, other.domains),
            domain_controllers=_union(self.domain_controllers, other.domain_controllers),
            principals=_union_principals(self, other),
            exchange_servers=_union(self.exchange_servers, other.exchange_servers),
            public_stores=_union(self.public_stores, other.public_stores),
            folder_trees=_union(self.folder_trees, other.folder_trees),
            public_folders=self.public_folders + other.public_folders,
            permissions=self.permissions + other.permissions,
            gaps=self.gaps + other.gaps,
            others=self.others | other.others if self.others and other.others else self.others or other.others,
            references=self.references + other.references,
            cross_refs_untyped=untyped,
        )


def _union_domains(first: Iterable[Domain], second: Iterable[Domain]) -> tuple[Domain, ...]:
    """Domains of both; a domain one input read replaces the same domain another knew only from its crossRef, and
    what one of them leaves unknown (the NetBIOS name, the parent, ...) the other fills in, in any order."""
    seen: dict[str, Domain] = {}
    for domain in (*first, *second):
        key = dn_key(domain.dn)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = domain
            continue
        kept, other = (domain, earlier) if domain.read and not earlier.read else (earlier, domain)
        seen[key] = replace(kept, sid=kept.sid or other.sid, dns_name=kept.dns_name or other.dns_name,
                            netbios_name=kept.netbios_name or other.netbios_name,
                            parent_dns_name=kept.parent_dns_name or other.parent_dns_name,
                            functional_level=kept.functional_level if kept.functional_level is not None
                            else other.functional_level)  # fmt: skip
    return tuple(seen.values())


def _union_principals(first: Directory, second: Directory) -> tuple[Principal, ...]:
    """:func:`_union` of the principals; those of a first read are kept as they are when its index by DN
    (which a reader may have made as it read) has one principal per key."""
    if not first.principals and len(second.by_dn) == len(second.principals):
        return second.principals
    return _union(first.principals, second.principals)


def _union(first: tuple, second: tuple) -> tuple:
    """Items of both, the first reader winning where both have an object with the same DN.

    With nothing in ``second`` the first side is kept as it is: a model that reads are merged into has
    been through this already (a permission export adds no principals to a forest's 200,000)."""
    if not second:
        return first
    seen: dict[str, object] = {}
    for item in (*first, *second):
        seen.setdefault(dn_key(item.dn), item)
    return tuple(seen.values())


__all__ = [
    "AclSource",
    "Directory",
    "Domain",
    "DomainController",
    "EntryColumns",
    "EntryTable",
    "ExchangeServer",
    "FolderPermissions",
    "PermissionEntry",
    "Principal",
    "PrincipalKind",
    "PublicFolder",
    "PublicFolderTree",
    "PublicStore",
    "RightsKind",
]
