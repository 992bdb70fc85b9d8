"""Trustee names in permission exports, resolved to SIDs against the directory data read with them.

Store exports name trustees the way people do: ``CORP\\alice.nguyen``, a UPN, a
display name ("Alice Nguyen"), a legacyExchangeDN, or the special entries
``Default`` (Everyone, S-1-1-0) and ``Anonymous`` (ANONYMOUS LOGON, S-1-5-7).
Everything downstream matches SIDs, never names, so every name is resolved here
once, against the directory: the account (``DOMAIN\\name``, ``NT User:DOMAIN\\name``,
``NT User:S-1-...``, ``BUILTIN\\name`` in any language, as the directory names the
alias), the UPN, the legacyExchangeDN, and for a bare name the display name, the
sAMAccountName and the CN together. Only then are Microsoft's own English names
of well-known principals tried (``Everyone``, ``NT AUTHORITY\\Authenticated Users``);
SDDL aliases (``NO``, ``RD``, ``AU``) are never trustee names in an export.

A name that matches nothing, or principals with different SIDs (across all the
kinds of name it could be), is reported with its file and line and left
unresolved: never guessed. Names are compared after Unicode NFKC and case
folding; a match that holds only after that folding (a long s, U+017F, standing
for an s: a look-alike) is reported as ambiguous, not taken.
PFDAVAdmin's ``NO`` and ``UNKNOWN`` trustee fields (which name nobody; David
Green's PFDAVAdminExport.ps1 skips them) are reported as unresolvable tokens.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from functools import lru_cache, partial

import wellknown
from sidtool.baseline import is_builtin_alias
from sidtool.dn import dn_key, rdn_value
from sidtool.errors import InputError, SidError
from sidtool.model import (
    Directory,
    EntryColumns,
    EntryTable,
    FolderPermissions,
    PermissionEntry,
    Principal,
    PrincipalKind,
)
from sidtool.security.sid import ANONYMOUS_LOGON, EVERYONE, Sid

SPECIAL_TRUSTEES = {"default": EVERYONE, "anonymous": ANONYMOUS_LOGON}
PLACEHOLDER_TOKENS = frozenset({"no", "unknown"})  # trustee fields of store exports that name nobody
_UNRESOLVED_PREFIXES = ("nt user:",)  # the cmdlets' spelling of a SID they could not resolve: "NT User:S-1-5-21-..."


class TrusteeError(LookupError):
    """A trustee name that resolves to no SID, or to more than one."""


def fold(name: str) -> str:
    """The key names are compared by: NFKC, case-folded, inner white space as one space."""
    if name.isascii():  # (NFKC leaves ASCII as it is, and case-folds it as lower() does)
        return " ".join(name.lower().split())
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _same_spelling(first: str, second: str) -> bool:
    """Equal up to case and canonical equivalence (NFC): no look-alike folding."""
    return unicodedata.normalize("NFC", first).lower() == unicodedata.normalize("NFC", second).lower()


_Spelling = tuple[str, Principal]  # a name as the directory has it, and whose it is
_Names = dict[str, _Spelling | list[_Spelling]]  # folded name -> its one spelling, or a list when several


class TrusteeIndex:
    """The principals of a directory by every name a permission export may use for them.

    Each kind of name is indexed when a name of that kind is first resolved. ``trustees``: the names that
    will be resolved, when known in advance; then only the principals one of them could mean are indexed
    (a large forest's index of every name of every principal is most of what resolving costs, in time and
    in memory).
    """

    def __init__(self, directory: Directory, trustees: Iterable[str] | None = None) -> None:
        self.empty = not directory.principals
        self._principals = directory.principals
        self._domains: dict[str, str] = {}
        for domain in directory.domains:
            for name in (domain.netbios_name, domain.dns_name):
                if name:
                    self._domains[fold(name)] = dn_key(domain.dn)
        self._wanted = None if trustees is None else _lookup_keys(trustees)
        self._accounts: dict[str, _Names] | None = None  # domain key -> sAMAccountName
        self._builtin: _Names = {}
        self._upns: _Names | None = None
        self._legacy_dns: _Names | None = None
        self._display_names: _Names | None = None
        self._names: _Names | None = None  # sAMAccountName and CN, for a bare name

    def _adder(self, *forms: str) -> Callable[[_Names, str | None, Principal], None]:
        """How to index a name that only a trustee name of one of these forms is looked up by."""
        if self._wanted is None:
            return _add
        keys = set().union(*(self._wanted.get(form, ()) for form in forms))
        return partial(_add_wanted, keys) if keys else _add_nothing

    def _index(self, forms: tuple[str, ...], name_of: Callable[[Principal], str | None]) -> _Names:
        add = self._adder(*forms)
        index: _Names = {}
        if add is not _add_nothing:
            for principal in self._real():
                add(index, name_of(principal), principal)
        return index

    def _real(self) -> Iterator[Principal]:
        """The principals a name can mean: a foreign security principal stands for one of another domain,
        which is indexed in its own right."""
        return (principal for principal in self._principals if principal.kind is not PrincipalKind.FOREIGN)

    def _account_index(self) -> dict[str, _Names]:
        if self._accounts is None:
            add = self._adder("account")
            self._accounts = {}
            accounts_of: dict[str, _Names] = {}  # a domain DN as principals spell it -> its accounts
            for principal in self._real() if add is not _add_nothing else ():
                if principal.name and principal.domain_dn:
                    accounts = accounts_of.get(principal.domain_dn)
                    if accounts is None:
                        accounts = accounts_of[principal.domain_dn] = self._accounts.setdefault(
                            dn_key(principal.domain_dn), {}
                        )
                    add(accounts, principal.name, principal)
                if principal.name and is_builtin_alias(principal.sid):
                    add(self._builtin, principal.name, principal)
        return self._accounts

    def _upn_index(self) -> _Names:
        if self._upns is None:
            self._upns = self._index(("upn",), lambda p: p.user_principal_name)
        return self._upns

    def _legacy_index(self) -> _Names:
        if self._legacy_dns is None:
            self._legacy_dns = self._index(("legacy",), lambda p: p.legacy_exchange_dn)
        return self._legacy_dns

    def _display_index(self) -> _Names:
        if self._display_names is None:
            self._display_names = self._index(("upn", "bare"), lambda p: p.display_name)
        return self._display_names

    def _name_index(self) -> _Names:
        if self._names is None:
            add = self._adder("bare")
            self._names = {}
            for principal in self._real() if add is not _add_nothing else ():
                common_name = _common_name(principal.dn)
                add(self._names, principal.name, principal)
                if common_name != principal.name:
                    add(self._names, common_name, principal)
        return self._names

    def resolve(self, trustee: str) -> Sid:
        """The SID ``trustee`` names; raises :class:`TrusteeError` saying why there is none."""
        parsed = _parse(trustee)
        if isinstance(parsed, Sid):
            return parsed
        form, domain_name, name, qualified = parsed
        kinds: list[tuple[str, _Names]]
        if form == "legacy":
            kinds, what = [("legacyExchangeDN", self._legacy_index())], "legacyExchangeDN"
        elif form == "account":
            # a domain the data names: its accounts; any other (BUILTIN in the directory's language): the aliases
            domain = self._domains.get(_folded_domain(domain_name))
            accounts = self._account_index()
            kinds, what = [("account", accounts.get(domain, {}) if domain else self._builtin)], "account"
        elif form == "upn":
            kinds, what = [("UPN", self._upn_index()), ("display name", self._display_index())], "UPN or display name"
        else:
            kinds, what = [("display name", self._display_index()), ("account name", self._name_index())], "name"
        found = self._find(name, kinds)
        if found is not None:
            return found
        return _well_known(qualified) or _missing(name, what, self.empty)

    def _find(self, name: str, kinds: list[tuple[str, _Names]]) -> Sid | None:
        """The one SID ``name`` means across ``kinds``; None if none; ambiguous or look-alike matches raise."""
        key = fold(name)
        if len(kinds) == 1:
            found = kinds[0][1].get(key)
            if isinstance(found, tuple) and found[0] == name:
                return found[1].sid  # one kind of name, one principal, spelt exactly so: nothing to weigh
        exact: dict[Sid, set[str]] = {}
        matched: dict[str, None] = {}  # the kinds of name that matched, in order
        look_alikes: set[str] = set()
        for kind, index in kinds:
            for spelled, principal in _spellings(index, key):
                if _same_spelling(spelled, name):
                    exact.setdefault(principal.sid, set()).add(principal.dn)
                    matched.setdefault(kind)
                else:
                    look_alikes.add(f"{kind} {spelled!r} of {principal.dn}")
        if len(exact) > 1:
            where = "; ".join(sorted(dn for dns in exact.values() for dn in dns))
            what = " and ".join(matched) if len(matched) > 1 else next(iter(matched))
            raise TrusteeError(f"ambiguous {what}: {len(exact)} principals are called that ({where})")
        if exact:
            return next(iter(exact))
        if look_alikes:
            raise TrusteeError(
                f"ambiguous: matches only after folding look-alike characters ({'; '.join(sorted(look_alikes))}); "
                "not taken"
            )
        return None


@lru_cache(maxsize=1024)
def _folded_domain(name: str) -> str:
    """:func:`fold` of a domain part (an export names a few domains, on every line)."""
    return fold(name)


def _parse(trustee: str) -> Sid | tuple[str, str, str, str]:
    """A SID the name spells by itself, else (form, domain part, name to look up, the name as qualified):
    form is ``legacy``, ``account`` (``DOMAIN\\name``), ``upn`` or ``bare``. Raises :class:`TrusteeError`."""
    name = trustee.strip()
    if name.casefold().startswith(_UNRESOLVED_PREFIXES):
        name = name.split(":", 1)[1].strip()
    special = SPECIAL_TRUSTEES.get(name.casefold())
    if special is not None:
        return special
    if name.casefold() in PLACEHOLDER_TOKENS:
        raise TrusteeError(f"'{name}' is a placeholder store exports write, not a trustee name: it names nobody")
    if name.upper().startswith("S-1-"):
        try:
            return Sid.parse(name)
        except SidError as error:
            raise TrusteeError(str(error)) from None
    if name.startswith("/"):
        return "legacy", "", name, name
    if "\\" in name:
        domain_name, account = name.split("\\", 1)
        return "account", domain_name, account, name
    if "@" in name and " " not in name:
        return "upn", "", name, name
    return "bare", "", name, name


def self_evident_sid(trustee: str) -> Sid | None:
    """The SID a trustee name spells with no directory: a SID (``S-1-5-...``, ``NT User:S-1-...``), or the store's
    ``Default`` (Everyone) and ``Anonymous``; None for any other name (and for a malformed one, which resolving
    against the directory then reports)."""
    folded = trustee.strip().casefold()
    if folded not in SPECIAL_TRUSTEES and not folded.startswith(("s-", *_UNRESOLVED_PREFIXES)):
        return None  # (most names: told apart without parsing)
    try:
        parsed = _parse(trustee)
    except TrusteeError:
        return None
    return parsed if isinstance(parsed, Sid) else None


def _lookup_keys(trustees: Iterable[str]) -> dict[str, set[str]]:
    """The folded names the directory is searched for when these trustees are resolved, by the form of name."""
    keys: dict[str, set[str]] = {}
    for trustee in trustees:
        try:
            parsed = _parse(trustee)
        except TrusteeError:
            continue
        if not isinstance(parsed, Sid):
            keys.setdefault(parsed[0], set()).add(fold(parsed[2]))
    return keys


def _add(index: _Names, name: str | None, principal: Principal) -> None:
    if name:
        _put(index, fold(name), (name, principal))


def _put(index: _Names, key: str, spelling: _Spelling) -> None:
    found = index.get(key)
    if found is None:
        index[key] = spelling  # most names have one spelling: no list for them
    elif isinstance(found, tuple):
        index[key] = [found, spelling]
    else:
        found.append(spelling)


def _spellings(index: _Names, key: str) -> list[_Spelling]:
    found = index.get(key)
    if found is None:
        return []
    return [found] if isinstance(found, tuple) else found


def _add_nothing(index: _Names, name: str | None, principal: Principal) -> None:
    """:func:`_add` for a kind of name none of the trustees is."""


def _add_wanted(wanted: set[str], index: _Names, name: str | None, principal: Principal) -> None:
    """:func:`_add`, for a name one of the trustees could be (the others are never looked up)."""
    if name:
        key = fold(name)
        if key in wanted:
            _put(index, key, (name, principal))


def directory_resolver(directory: Directory) -> Callable[[str], Sid | None]:
    """For a reader of a store export read after all the directory data: the SID a trustee name resolves to
    against ``directory``, or None. A name left unresolved is resolved again after reading (by
    :func:`resolve_in_place`, against the same data), which reports it with each entry that names it."""
    index = TrusteeIndex(directory)

    def resolve(name: str) -> Sid | None:
        try:
            return index.resolve(name)
        except TrusteeError:
            return None

    return resolve


def resolve_trustees(directory: Directory, on_problem: Callable[[InputError], None]) -> Directory:
    """The model with every permission entry's ``trustee_sid`` filled in where its name resolves."""
    sets = list(directory.permissions)
    resolve_in_place(directory, sets, on_problem)
    if all(now is before for now, before in zip(sets, directory.permissions, strict=True)):
        return directory  # nothing was left to resolve
    return replace(directory, permissions=tuple(sets))


def resolve_in_place(
    directory: Directory, sets: list[FolderPermissions], on_problem: Callable[[InputError], None]
) -> None:
    """Fill in the trustee SIDs of ``sets`` against the principals of ``directory``, replacing each set by its
    resolved copy in turn: a caller that holds the only reference to the sets frees each old one as it goes,
    so a million entries are never held twice. Each distinct name is resolved once; a name that does not
    resolve is reported at each entry that has it.
    """
    names: set[str] = set()
    tables: dict[int, EntryTable] = {}  # the tables of the sets held in columns, by identity
    for permissions in sets:
        entries = permissions.entries
        if isinstance(entries, EntryColumns):
            tables.setdefault(id(entries.table), entries.table)
        else:
            names.update(entry.trustee for entry in entries if entry.trustee_sid is None)
    for table in tables.values():
        names.update(name for name, sid in table.trustees if sid is None)
    if not names:
        return
    index = TrusteeIndex(directory, names)
    answers: dict[str, Sid | TrusteeError] = {}
    for name in names:
        try:
            answers[name] = index.resolve(name)
        except TrusteeError as error:
            answers[name] = error
    del index, names
    sids = {name: answer for name, answer in answers.items() if isinstance(answer, Sid)}
    resolved = {id(table): _resolved_table(table, sids) for table in tables.values()}
    for position, permissions in enumerate(sets):
        entries = permissions.entries
        if isinstance(entries, EntryColumns):
            table, unresolved = resolved[id(entries.table)]
            if unresolved.isdisjoint(entries.trustee_ids):
                continue  # (most sets: every name resolved as it was read)
            for at, row in enumerate(entries.trustee_ids):
                answer = answers.get(entries.table.trustees[row][0]) if row in unresolved else None
                if isinstance(answer, TrusteeError):
                    _unresolved(entries.entry(at), answer, on_problem)
            if table is not entries.table:
                columns = EntryColumns(table, entries.trustee_ids, entries.rights_ids, entries.location)
                sets[position] = replace(permissions, entries=columns)
            continue
        resolved_entries: list[PermissionEntry] = []
        append = resolved_entries.append
        changed = False
        for entry in entries:
            if entry.trustee_sid is None:
                answer = answers[entry.trustee]
                if isinstance(answer, Sid):
                    entry = entry.resolved(answer)
                    changed = True
                else:
                    _unresolved(entry, answer, on_problem)
            append(entry)
        if changed:  # (a set whose names were all resolved as it was read stays as it is)
            sets[position] = replace(permissions, entries=tuple(resolved_entries))


def _resolved_table(table: EntryTable, sids: dict[str, Sid]) -> tuple[EntryTable, frozenset[int]]:
    """The table with the SIDs found for its names (itself if none), and the rows that had no SID before."""
    unresolved = frozenset(row for row, (_, sid) in enumerate(table.trustees) if sid is None)
    if not any(table.trustees[row][0] in sids for row in unresolved):
        return table, unresolved
    return table.with_sids(sids), unresolved


def _unresolved(entry: PermissionEntry, answer: TrusteeError, on_problem: Callable[[InputError], None]) -> None:
    source, location = _split_location(entry.location)
    on_problem(InputError(f"trustee '{entry.trustee}': {answer}; entry left unresolved", source=source,
                          location=location))  # fmt: skip


def _well_known(name: str) -> Sid | None:
    """A well-known principal by Microsoft's own name or other names (``Everyone``,
    ``NT AUTHORITY\\Authenticated Users``), if exactly one: never by an SDDL alias."""
    key = fold(name)
    sids = set()
    for entry in wellknown.find_name(name):
        if entry.is_pattern or key not in {fold(spelled) for spelled in (entry.name, *entry.aliases)}:
            continue  # a domain-relative pattern (which domain is what the name must say), or an SDDL alias
        sids.add(Sid.parse(entry.sid))
    return sids.pop() if len(sids) == 1 else None


def _missing(name: str, what: str, empty: bool) -> Sid:
    hint = ""
    if empty:
        hint = " (no directory data was read: add --directory with an LDIF export)"
    elif "?" in name:
        hint = (" (the '?' suggests the export was written with -Encoding ASCII, which turns every non-ASCII letter "
                "into '?': export again with -Encoding UTF8)")  # fmt: skip
    raise TrusteeError(f"no principal in the directory data has this {what}{hint}")


def _common_name(dn: str) -> str | None:
    try:
        return rdn_value(dn)
    except InputError:
        return None


def _split_location(location: str | None) -> tuple[str | None, str | None]:
    """``perms.txt:12`` → (``perms.txt``, ``line 12``)."""
    if not location:
        return None, None
    source, _, line = location.rpartition(":")
    return (source, f"line {line}") if source and line.isdigit() else (location, None)
