"""Directory entries (as LDAP returns them, or an LDIF export holds them) into the model.

Both the LDAP reader and the LDIF reader produce entries: a DN and attributes
with lower-case names and raw byte values. :class:`DirectoryBuilder` sorts them
into domains, principals and the Exchange organisation by objectClass. It keeps
every entry that names a SID or an Exchange object and ignores the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from sidtool.dn import dn_key, domain_dns_name, is_plain, naming_context, parent_dn, rdn_value, split_rdns
from sidtool.errors import IncompleteInput, InputError, SidError
from sidtool.model import (
    Directory,
    Domain,
    DomainController,
    ExchangeServer,
    Principal,
    PrincipalKind,
    PublicFolder,
    PublicFolderTree,
    PublicStore,
)
from sidtool.security.sid import Sid
from sidtool.sources.folders import store_path

# Every attribute DirectoryBuilder reads (lower-case): a reader may drop the others unread (the LDIF reader
# does not decode them). tests/unit/sources/test_entries.py checks that the builder asks for no other.
ATTRIBUTES = frozenset({
    "objectclass", "objectsid", "ncname", "systemflags", "netbiosname", "dnsroot", "trustparent",
    "msds-behavior-version", "name", "serialnumber", "msexchowningpftree", "msexchpftreetype", "displayname",
    "folderpathname", "homemdb", "legacyexchangedn", "ntsecuritydescriptor", "samaccountname", "primarygroupid",
    "grouptype", "userprincipalname", "member", "useraccountcontrol", "dnshostname", "operatingsystem",
    "operatingsystemversion",
})  # fmt: skip
FLAG_CR_NTDS_DOMAIN = 0x2  # crossRef systemFlags: the naming context is a domain ([MS-ADTS] 6.1.1.2.1.1, 3.1.1.5.2.7)
SERVER_TRUST_ACCOUNT = 0x2000  # userAccountControl bit of a domain controller's account ([MS-ADTS] 2.2.16)


class Entry(Protocol):
    """What a reader hands over: a DN, attributes by lower-case name, and where it was read.

    An entry may also have ``partial_attributes``: names of attributes it holds only part of
    (``member`` cut at a range); such a group gets ``members_complete=False`` and is reported, unless
    ldifde's modify records of the same DN carry the rest of its list.
    """

    dn: str
    attributes: dict[str, list[bytes]]
    line: int


class DirectoryBuilder:
    """Collects entries, then builds one :class:`Directory`."""

    def __init__(self, source: str, on_problem: Callable[[InputError], None]) -> None:
        self.source = source
        self.on_problem = on_problem
        self._cross_refs: dict[str, _CrossRef] = {}
        self._domains: dict[str, Domain] = {}
        self._controllers: list[DomainController] = []
        self._principals: dict[str, Principal] = {}
        # members from later records of the same DN (ldifde's follow-up records, a repeated entry): joined,
        # without duplicates, by build(), so that a DN given a hundred thousand times costs linear time
        self._more_members: dict[str, list[str]] = {}
        self._partial_members: dict[str, int] = {}  # groups read with part of their member list -> the line
        self._continued: set[str] = set()  # groups whose list goes on in ldifde's modify records
        self._servers: list[ExchangeServer] = []
        self._stores: list[PublicStore] = []
        self._trees: list[PublicFolderTree] = []
        self._folders: list[PublicFolder] = []
        # the forest root, under the crossRefs read: they list the forest's domains (Directory.forest_root_dn), unless
        # one of them cannot say which naming context it is for, or whether that is a domain's
        self.forest_root: str | None = None
        self._untyped_cross_refs = False
        # memos, each of at most _MEMO_SIZE keys of at most _MEMO_KEY_SIZE characters or bytes (a longer one is not
        # remembered): objectClass values -> what the entry is; a plain DN's parent -> the
        # naming context; a naming context's text -> one string for it; a binary SID without its last
        # sub-authority -> (authority, the other sub-authorities)
        self._classes: dict[tuple[bytes, ...], _Classes] = {}
        self._contexts: dict[str, str | None] = {}
        self._texts: dict[str, str] = {}
        self._sid_domains: dict[bytes, tuple[int, tuple[int, ...]]] = {}
        self._numbers: dict[bytes, int] = {}  # a number as written -> its value (513 for every user)
        # every principal's DN text -> that string, so that member lists share it; the groups whose list named
        # a DN not read yet (shared by build())
        self._dn_texts: dict[str, str] = {}
        self._unshared: set[str] = set()
        self._others: set[str] = set()  # the dn_key of each contact read (Directory.others)

    def add(self, entry: Entry) -> None:
        """Take one entry; a malformed one is reported and skipped."""
        try:
            self._add(entry)
        except InputError as error:
            self.on_problem(InputError(error.message, source=self.source, location=f"line {entry.line}"))

    def _add(self, entry: Entry) -> None:
        values = entry.attributes
        dn = entry.dn
        rdns = None if is_plain(dn) else split_rdns(dn)  # a plain DN is readable; another may not be
        if rdns is not None and not rdns:  # a DN that cannot be read is reported here, once
            raise InputError("empty DN")
        found = values.get("objectclass")
        classes = self._classes.get(tuple(found) if found else ())
        if classes is None:
            classes = self._classify(found or ())
        category, kind = classes
        if category is _CONTACT:  # no SID, in no token: a group member naming one is known, and no principal
            if len(self._others) < _OTHERS_KEPT:
                self._others.add(dn.casefold() if rdns is None else dn_key(dn))
            return
        if category is _OTHER:
            if found and "objectsid" not in values:
                return  # an OU, a container, ...: nothing sidtool reads
            raise InputError(
                "an entry with an objectSid but none of the classes sidtool reads (user, computer, group, "
                "foreignSecurityPrincipal, domainDNS): not read" if found else
                "no objectClass: what this entry is cannot be told; export objectClass too"
            )  # fmt: skip
        if kind is not None:  # a principal
            self._add_principal(dn, rdns, kind, values)
            if "member" in getattr(entry, "partial_attributes", ()):
                self._partial_members.setdefault(dn_key(dn), entry.line)
        elif category is _CROSS_REF:
            nc_name = first_text(values, "ncname")
            try:
                flags = _int(values, "systemflags")
            except InputError:  # skipped, and the crossRefs no longer list the forest's domains
                self._untyped_cross_refs = True
                raise
            netbios_name = first_text(values, "netbiosname")
            if not nc_name or (flags is None and not netbios_name):  # which naming context, of which kind: unknown
                self._untyped_cross_refs = True
            elif self.forest_root is None:  # CN=<x>,CN=Partitions,CN=Configuration,<forest root>
                self.forest_root = _forest_root_of(dn)
            if nc_name:
                self._cross_refs[dn_key(nc_name)] = _CrossRef(
                    nc_name,
                    first_text(values, "dnsroot"),
                    netbios_name,
                    first_text(values, "trustparent"),
                    # a domain's crossRef: FLAG_CR_NTDS_DOMAIN in systemFlags; an export
                    # without systemFlags still shows it by nETBIOSName, which only domains' crossRefs have
                    bool(flags & FLAG_CR_NTDS_DOMAIN) if flags is not None else bool(netbios_name),
                )
        elif category is _DOMAIN:
            level = _int(values, "msds-behavior-version")
            sid = self._sid(values)
            self._domains[dn_key(dn)] = Domain(self._shared(dn), sid, domain_dns_name(dn), functional_level=level)
        elif category is _SERVER:
            self._servers.append(ExchangeServer(dn, _name(values, dn), first_text(values, "serialnumber")))
        elif category is _STORE:
            self._stores.append(PublicStore(dn, _server_of(dn), first_text(values, "msexchowningpftree")))
        elif category is _TREE:
            self._trees.append(PublicFolderTree(dn, _name(values, dn), _int(values, "msexchpftreetype")))
        elif category is _FOLDER:
            self._folders.append(
                PublicFolder(
                    name=first_text(values, "displayname") or rdn_value(dn),
                    dn=dn,
                    path=_path(first_text(values, "folderpathname")),
                    home_mdb=first_text(values, "homemdb"),
                    legacy_exchange_dn=first_text(values, "legacyexchangedn"),
                    descriptor=_binary(values, "ntsecuritydescriptor"),
                )
            )

    def _classify(self, object_classes: list[bytes] | tuple[()]) -> _Classes:
        """What an entry of these objectClass values is (remembered: a forest uses a few combinations)."""
        classes = {value.decode("ascii", "replace").strip().lower() for value in object_classes}
        found = _classes(classes)
        if len(self._classes) < _MEMO_SIZE and sum(map(len, object_classes)) <= _MEMO_KEY_SIZE:
            self._classes[tuple(object_classes)] = found
        return found

    def _add_principal(
        self, dn: str, rdns: list[tuple[str, str]] | None, kind: PrincipalKind, values: dict[str, list[bytes]]
    ) -> None:
        sid = self._sid(values)
        if sid is None:
            raise InputError(f"{dn}: no objectSid")
        get = values.get
        account = get("samaccountname")
        display = get("displayname")
        legacy_exchange_dn = get("legacyexchangedn")
        user_principal_name = get("userprincipalname")
        members = get("member")
        name = account[0].decode("utf-8", "replace") if account else None
        listed: tuple[str, ...] = ()
        unshared = False
        if members:
            texts = self._dn_texts
            shared = []
            for value in members:
                text = value.decode("utf-8", "replace")
                found = texts.get(text)
                if found is None:
                    unshared = True
                    shared.append(text)
                else:
                    shared.append(found)
            listed = tuple(shared)
        principal = Principal(  # positionally, in the order of its fields (a test checks the order)
            dn,
            sid,
            kind,
            self._naming_context(dn, rdns),
            name,
            # a display name spelt as the account name (as often) is the same string
            (name if account and display[0] == account[0] else display[0].decode("utf-8", "replace"))
            if display
            else None,
            self._number(values, "primarygroupid"),
            self._number(values, "grouptype"),
            legacy_exchange_dn[0].decode("utf-8", "replace") if legacy_exchange_dn else None,
            listed,
            True,
            user_principal_name[0].decode("utf-8", "replace") if user_principal_name else None,
        )
        key = dn.casefold() if rdns is None else dn_key(dn)  # (a plain DN's key is its case-folded text)
        earlier = self._principals.get(key)
        if earlier is not None:
            if earlier.sid != sid:
                raise InputError(f"{dn} appears twice with different SIDs ({earlier.sid} and {sid})")
            # ldifde writes large member lists as follow-up records of the same DN: merge them.
            self._more_members.setdefault(key, []).extend(principal.members)
            return
        self._principals[key] = principal
        self._dn_texts.setdefault(dn, dn)
        if unshared:
            self._unshared.add(key)
        user_account_control = self._number(values, "useraccountcontrol") or 0
        if kind is PrincipalKind.COMPUTER and user_account_control & SERVER_TRUST_ACCOUNT:
            self._controllers.append(
                DomainController(
                    dn=dn,
                    name=first_text(values, "dnshostname") or rdn_value(dn),
                    operating_system=first_text(values, "operatingsystem"),
                    operating_system_version=first_text(values, "operatingsystemversion"),
                )
            )

    def _naming_context(self, dn: str, rdns: list[tuple[str, str]] | None) -> str | None:
        """The domain DN of an object, one string per naming context; remembered by parent for plain DNs
        (``rdns`` None: ``dn`` is plain; else its RDNs)."""
        if rdns is not None or dn[:3].lower() == "dc=":
            context = naming_context(dn, rdns)
            return self._shared(context) if context is not None else None
        parent = dn[dn.find(",") + 1 :] if "," in dn else ""
        try:
            return self._contexts[parent]
        except KeyError:  # a plain DN not in DC= itself: its naming context is its parent's
            context = naming_context(dn)
            if context is not None:
                context = self._shared(context)
            if len(self._contexts) < _MEMO_SIZE and len(parent) <= _MEMO_KEY_SIZE:
                self._contexts[parent] = context
            return context

    def _shared(self, text: str) -> str:
        """One string object for each naming context (the same few for every principal)."""
        shared = self._texts.get(text)
        if shared is None:
            shared = text
            if len(self._texts) < _MEMO_SIZE and len(text) <= _MEMO_KEY_SIZE:
                self._texts[text] = text
        return shared

    def _number(self, values: dict[str, list[bytes]], name: str) -> int | None:
        """``_int``, one int object for each number written the same way."""
        found = values.get(name)
        if not found:
            return None
        number = self._numbers.get(found[0])
        if number is None:
            number = _int(values, name)
            if number is not None and len(self._numbers) < _MEMO_SIZE and len(found[0]) <= _MEMO_KEY_SIZE:
                self._numbers[found[0]] = number
        return number

    def _sid(self, values: dict[str, list[bytes]]) -> Sid | None:
        """The objectSid; a binary SID whose domain part was seen before shares it (and its numbers)."""
        found = values.get("objectsid")
        if not found:
            return None
        raw = found[0]
        domain = self._sid_domains.get(raw[:-4])  # only binary SIDs of one sub-authority or more are there
        if domain is not None:  # the same header and domain part, so the same length: a valid SID
            return Sid._from_checked(domain[0], domain[1] + (int.from_bytes(raw[-4:], "little"),))
        sid = _sid(raw)
        if sid.sub_authorities and raw[:2].upper() != b"S-" and len(self._sid_domains) < _MEMO_SIZE:
            self._sid_domains[raw[:-4]] = (sid.authority, sid.sub_authorities[:-1])
        return sid

    def add_members(self, dn: str, members: list[bytes], line: int) -> None:
        """Members from a ``changetype: modify`` / ``add: member`` record of an earlier group."""
        key = dn_key(dn)
        earlier = self._principals.get(key)
        if earlier is None:
            message = f"member values for {dn}, which was not read before"
            self.on_problem(InputError(message, source=self.source, location=f"line {line}"))
            return
        self._more_members.setdefault(key, []).extend(value.decode("utf-8", "replace") for value in members)
        self._continued.add(key)

    def absorb(self, other: DirectoryBuilder) -> None:
        """Take in what another builder collected (a second connection's share of the same forest)."""
        self._cross_refs.update(other._cross_refs)
        self.forest_root = self.forest_root or other.forest_root
        self._untyped_cross_refs |= other._untyped_cross_refs
        self._domains.update(other._domains)
        self._controllers.extend(other._controllers)
        for key, principal in other._principals.items():
            self._principals.setdefault(key, principal)
        for key, members in other._more_members.items():
            self._more_members.setdefault(key, []).extend(members)
        for key, line in other._partial_members.items():
            self._partial_members.setdefault(key, line)
        self._continued |= other._continued
        for text in other._dn_texts:
            self._dn_texts.setdefault(text, text)
        self._unshared |= other._unshared
        self._servers.extend(other._servers)
        self._stores.extend(other._stores)
        self._trees.extend(other._trees)
        self._folders.extend(other._folders)
        self._others |= other._others

    def _with_all_members(self, key: str, principal: Principal) -> Principal:
        more = self._more_members.get(key)
        if not more and not principal.members and key not in self._partial_members:
            return principal  # no members (a user, a computer): nothing to join or check
        members = principal.members + tuple(more) if more else principal.members
        if more or key in self._unshared:  # DNs named before they were read: one string for each
            texts = self._dn_texts
            members = tuple([texts.get(member, member) for member in members])
        unique = _unique(members)
        if key in self._partial_members and key not in self._continued:
            self.on_problem(
                IncompleteInput(
                    f"{principal.dn}: only part of its member list is here (member;range=...): the other members "
                    "are not known; read it with 'sidtool collect', or export with a larger MaxValRange",
                    source=self.source,
                    location=f"line {self._partial_members[key]}",
                )
            )
            return _with_members(principal, unique, complete=False)
        return principal if unique is principal.members else _with_members(principal, unique)

    def build(self) -> Directory:
        """The model of everything added so far."""
        domains = []
        for key, domain in self._domains.items():
            cross_ref = self._cross_refs.get(key)
            if cross_ref is not None:
                domain = replace(
                    domain,
                    dns_name=cross_ref.dns_name or domain.dns_name,
                    netbios_name=cross_ref.netbios_name,
                    parent_dns_name=_dns_of(cross_ref.trust_parent),
                )
            domains.append(domain)
        for key, cross_ref in self._cross_refs.items():
            if cross_ref.domain and key not in self._domains:  # named by the forest, but none of it was read
                dns_name = cross_ref.dns_name or domain_dns_name(cross_ref.nc_name)
                parent = _dns_of(cross_ref.trust_parent)
                domains.append(Domain(cross_ref.nc_name, None, dns_name, cross_ref.netbios_name, parent, read=False))
        principals = tuple([self._with_all_members(key, p) for key, p in self._principals.items()])
        directory = Directory(
            forest_root_dn=None if self._untyped_cross_refs else self.forest_root,
            cross_refs_untyped=self._untyped_cross_refs,
            domains=tuple(domains),
            domain_controllers=tuple(self._controllers),
            principals=principals,
            exchange_servers=tuple(self._servers),
            public_stores=tuple(self._stores),
            folder_trees=tuple(self._trees),
            public_folders=tuple(self._folders),
            others=frozenset(self._others),
        )
        # the index Directory.by_dn would build, which the builder has: its keys are dn_key's (a test checks)
        vars(directory)["by_dn"] = dict(zip(self._principals, principals, strict=True))
        return directory


@dataclass(frozen=True, slots=True)
class _CrossRef:
    """What a crossRef says of its naming context."""

    nc_name: str
    dns_name: str | None
    netbios_name: str | None
    trust_parent: str | None
    domain: bool  # a domain's, not an application partition's or the configuration's


def _with_members(principal: Principal, members: tuple[str, ...], complete: bool = True) -> Principal:
    """``replace(principal, members=members, members_complete=complete)``, in half the time."""
    p = principal
    return Principal(p.dn, p.sid, p.kind, p.domain_dn, p.name, p.display_name, p.primary_group_id, p.group_type,
                     p.legacy_exchange_dn, members, complete, p.user_principal_name)  # fmt: skip


def _path(text: str | None) -> str | None:
    return store_path(text) if text else None


def _unique(members: tuple[str, ...]) -> tuple[str, ...]:
    """The members in their order, each DN once (the same text given again adds nothing)."""
    once = tuple(dict.fromkeys(members))
    return members if len(once) == len(members) else once


def _name(values: dict[str, list[bytes]], dn: str) -> str:
    return first_text(values, "name") or rdn_value(dn)


def first_text(values: dict[str, list[bytes]], name: str) -> str | None:
    """The first value of attribute ``name`` as text (UTF-8, errors replaced), or None."""
    found = values.get(name)
    return found[0].decode("utf-8", "replace") if found else None


def _binary(values: dict[str, list[bytes]], name: str) -> bytes | None:
    found = values.get(name)
    return found[0] if found else None


def _int(values: dict[str, list[bytes]], name: str) -> int | None:
    found = values.get(name)
    if not found:
        return None
    try:
        return int(found[0])  # ASCII digits, as AD writes them; any other text is read as before
    except ValueError:
        pass
    text = found[0].decode("utf-8", "replace")
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{name} {text!r} is not a number") from None


def _sid(raw: bytes) -> Sid:
    try:
        if raw[:2].upper() == b"S-":  # some exports write SIDs as text
            return Sid.parse(raw.decode("ascii"))
        return Sid.from_bytes(raw)
    except (SidError, UnicodeDecodeError) as error:
        raise InputError(f"objectSid: {error}") from None


# What an entry is, by its objectClass values (the first that applies, in this order)
_CROSS_REF, _DOMAIN, _SERVER, _STORE, _TREE, _FOLDER, _PRINCIPAL, _BUILTIN_CONTAINER, _CONTACT, _OTHER = (
    "crossRef", "domain", "server", "store", "tree", "folder", "principal", "builtinDomain", "contact", "other",
)  # fmt: skip
_Classes = tuple[str, "PrincipalKind | None"]  # what it is, and a principal's kind
_PRINCIPAL_CLASSES = frozenset({"group", "user", "computer", "foreignsecurityprincipal"})
_MEMO_SIZE = 4096
_OTHERS_KEPT = 1 << 20  # contacts remembered by DN, about 150 bytes each (past that, a member naming one is taken
# for a member not read: a hole, never an all-clear)
_MEMO_KEY_SIZE = 1024  # a SID's domain part is at most 64 bytes


def _classes(classes: set[str]) -> _Classes:
    """What an entry with these (lower-case) objectClasses is."""
    kind = None
    if "crossref" in classes:
        category = _CROSS_REF
    elif "domaindns" in classes or "domain" in classes:
        category = _DOMAIN
    elif "msexchexchangeserver" in classes:
        category = _SERVER
    elif "msexchpublicmdb" in classes:
        category = _STORE
    elif "msexchpftree" in classes:
        category = _TREE
    elif "publicfolder" in classes:
        category = _FOLDER
    elif classes & _PRINCIPAL_CLASSES:
        category = _PRINCIPAL
        if "foreignsecurityprincipal" in classes:
            kind = PrincipalKind.FOREIGN
        elif "group" in classes:
            kind = PrincipalKind.GROUP
        elif "computer" in classes:
            kind = PrincipalKind.COMPUTER
        else:
            kind = PrincipalKind.USER
    elif "contact" in classes:
        category = _CONTACT
    elif "builtindomain" in classes:
        category = _BUILTIN_CONTAINER  # CN=Builtin: it has an objectSid (S-1-5-32), and nothing sidtool needs
    else:
        category = _OTHER  # an OU, a container, a contact, ...: not read (one with an objectSid is reported)
    return category, kind


def _forest_root_of(cross_ref_dn: str) -> str | None:
    """The forest root DN under a crossRef's ``CN=Partitions,CN=Configuration``, if it is there."""
    partitions = parent_dn(cross_ref_dn)
    configuration = parent_dn(partitions) if partitions else None
    if not configuration or rdn_value(partitions or "").casefold() != "partitions":
        return None
    return parent_dn(configuration) if rdn_value(configuration).casefold() == "configuration" else None


def _server_of(store_dn: str) -> str | None:
    """The server DN above a store: ``...,CN=InformationStore,CN=<server>,CN=Servers,...``."""
    current: str | None = store_dn
    while current:
        parent = parent_dn(current)
        if parent and split_rdns(parent)[0][1].casefold() == "servers":
            return current
        current = parent
    return None


def _dns_of(domain_dn: str | None) -> str | None:
    return domain_dns_name(domain_dn) if domain_dn else None
