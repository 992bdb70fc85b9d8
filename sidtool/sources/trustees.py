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
from collections.abc import Callable
from dataclasses import replace

import wellknown
from sidtool.baseline import is_builtin_alias
from sidtool.dn import dn_key, rdn_value
from sidtool.errors import InputError, SidError
from sidtool.model import Directory, PermissionEntry, Principal, PrincipalKind
from sidtool.security.sid import ANONYMOUS_LOGON, EVERYONE, Sid

SPECIAL_TRUSTEES = {"default": EVERYONE, "anonymous": ANONYMOUS_LOGON}
PLACEHOLDER_TOKENS = frozenset({"no", "unknown"})  # trustee fields of store exports that name nobody
_UNRESOLVED_PREFIXES = ("nt user:",)  # the cmdlets' spelling of a SID they could not resolve: "NT User:S-1-5-21-..."


class TrusteeError(LookupError):
    """A trustee name that resolves to no SID, or to more than one."""


def fold(name: str) -> str:
    """The key names are compared by: NFKC, case-folded, inner white space as one space."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _same_spelling(first: str, second: str) -> bool:
    """Equal up to case and canonical equivalence (NFC): no look-alike folding."""
    return unicodedata.normalize("NFC", first).lower() == unicodedata.normalize("NFC", second).lower()


_Names = dict[str, list[tuple[str, Principal]]]  # folded name -> (the name as the directory has it, principal)


class TrusteeIndex:
    """The principals of a directory by every name a permission export may use for them."""

    def __init__(self, directory: Directory) -> None:
        self.empty = not directory.principals
        self._domains: dict[str, str] = {}
        for domain in directory.domains:
            for name in (domain.netbios_name, domain.dns_name):
                if name:
                    self._domains[fold(name)] = dn_key(domain.dn)
        self._accounts: dict[str, _Names] = {}  # domain key -> sAMAccountName
        self._builtin: _Names = {}
        self._upns: _Names = {}
        self._legacy_dns: _Names = {}
        self._display_names: _Names = {}
        self._names: _Names = {}  # sAMAccountName and CN, for a bare name
        for principal in directory.principals:
            if principal.kind is PrincipalKind.FOREIGN:
                continue  # stands for a principal of another domain, which is indexed in its own right
            if principal.name and principal.domain_dn:
                _add(self._accounts.setdefault(dn_key(principal.domain_dn), {}), principal.name, principal)
            if principal.name and is_builtin_alias(principal.sid):
                _add(self._builtin, principal.name, principal)
            if principal.user_principal_name:
                _add(self._upns, principal.user_principal_name, principal)
            if principal.legacy_exchange_dn:
                _add(self._legacy_dns, principal.legacy_exchange_dn, principal)
            if principal.display_name:
                _add(self._display_names, principal.display_name, principal)
            for name in {principal.name, _common_name(principal.dn)}:
                if name:
                    _add(self._names, name, principal)

    def resolve(self, trustee: str) -> Sid:
        """The SID ``trustee`` names; raises :class:`TrusteeError` saying why there is none."""
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
        qualified = name
        if name.startswith("/"):
            kinds, what = [("legacyExchangeDN", self._legacy_dns)], "legacyExchangeDN"
        elif "\\" in name:
            # a domain the data names: its accounts; any other (BUILTIN in the directory's language): the aliases
            domain_name, name = name.split("\\", 1)
            domain = self._domains.get(fold(domain_name))
            kinds, what = [("account", self._accounts.get(domain, {}) if domain else self._builtin)], "account"
        elif "@" in name and " " not in name:
            kinds, what = [("UPN", self._upns), ("display name", self._display_names)], "UPN or display name"
        else:
            kinds, what = [("display name", self._display_names), ("account name", self._names)], "name"
        found = self._find(name, kinds)
        if found is not None:
            return found
        return _well_known(qualified) or _missing(name, what, self.empty)

    def _find(self, name: str, kinds: list[tuple[str, _Names]]) -> Sid | None:
        """The one SID ``name`` means across ``kinds``; None if none; ambiguous or look-alike matches raise."""
        exact: dict[Sid, set[str]] = {}
        matched: dict[str, None] = {}  # the kinds of name that matched, in order
        look_alikes: set[str] = set()
        key = fold(name)
        for kind, index in kinds:
            for spelled, principal in index.get(key, ()):
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


def _add(index: _Names, name: str, principal: Principal) -> None:
    index.setdefault(fold(name), []).append((name, principal))


def resolve_trustees(directory: Directory, on_problem: Callable[[InputError], None]) -> Directory:
    """The model with every permission entry's ``trustee_sid`` filled in where its name resolves."""
    if all(entry.trustee_sid is not None for p in directory.permissions for entry in p.entries):
        return directory
    index = TrusteeIndex(directory)
    answers: dict[str, Sid | TrusteeError] = {}  # a trustee name recurs on many folders: resolved once
    permissions = []
    for permission_set in directory.permissions:
        entries = tuple(_resolved(entry, index, answers, on_problem) for entry in permission_set.entries)
        permissions.append(replace(permission_set, entries=entries))
    return replace(directory, permissions=tuple(permissions))


def _resolved(
    entry: PermissionEntry,
    index: TrusteeIndex,
    answers: dict[str, Sid | TrusteeError],
    on_problem: Callable[[InputError], None],
) -> PermissionEntry:
    if entry.trustee_sid is not None:
        return entry
    answer = answers.get(entry.trustee)
    if answer is None:
        try:
            answer = index.resolve(entry.trustee)
        except TrusteeError as error:
            answer = error
        answers[entry.trustee] = answer
    if isinstance(answer, Sid):
        return entry.resolved(answer)
    source, location = _split_location(entry.location)
    on_problem(InputError(f"trustee '{entry.trustee}': {answer}; entry left unresolved", source=source,
                          location=location))  # fmt: skip
    return entry


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
