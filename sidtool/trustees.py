"""Trustee names in permission exports, resolved to SIDs against the directory data read with them.

Store exports name trustees the way people do: ``CORP\\alice.nguyen``, a display
name ("Alice Nguyen"), a legacyExchangeDN, or the special entries ``Default``
(Everyone, S-1-1-0) and ``Anonymous`` (ANONYMOUS LOGON, S-1-5-7). Everything
downstream matches SIDs, never names, so every name is resolved here once; a
name that matches nothing, or matches two principals with different SIDs, is
reported with its file and line and left unresolved: never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import wellknown
from sidtool.dn import dn_key, rdn_value
from sidtool.errors import InputError, SidError
from sidtool.model import Directory, PermissionEntry, Principal, PrincipalKind
from sidtool.security.sid import Sid

EVERYONE = Sid.parse("S-1-1-0")
ANONYMOUS_LOGON = Sid.parse("S-1-5-7")
SPECIAL_TRUSTEES = {"default": EVERYONE, "anonymous": ANONYMOUS_LOGON}
_UNRESOLVED_PREFIXES = ("nt user:",)  # the cmdlets' spelling of a SID they could not resolve: "NT User:S-1-5-21-..."


class TrusteeError(LookupError):
    """A trustee name that resolves to no SID, or to more than one."""


class TrusteeIndex:
    """The principals of a directory by every name a permission export may use for them."""

    def __init__(self, directory: Directory) -> None:
        self.empty = not directory.principals
        self._domains: dict[str, str] = {}
        for domain in directory.domains:
            for name in (domain.netbios_name, domain.dns_name):
                if name:
                    self._domains[name.casefold()] = dn_key(domain.dn)
        self._accounts: dict[tuple[str, str], list[Principal]] = {}
        self._legacy_dns: dict[str, list[Principal]] = {}
        self._display_names: dict[str, list[Principal]] = {}
        self._names: dict[str, list[Principal]] = {}
        for principal in directory.principals:
            if principal.kind is PrincipalKind.FOREIGN:
                continue  # stands for a principal of another domain, which is indexed in its own right
            if principal.name and principal.domain_dn:
                self._accounts.setdefault((dn_key(principal.domain_dn), principal.name.casefold()), []).append(
                    principal
                )
            if principal.legacy_exchange_dn:
                self._legacy_dns.setdefault(principal.legacy_exchange_dn.casefold(), []).append(principal)
            if principal.display_name:
                self._display_names.setdefault(principal.display_name.casefold(), []).append(principal)
            for name in {principal.name, _common_name(principal.dn)}:
                if name:
                    self._names.setdefault(name.casefold(), []).append(principal)

    def resolve(self, trustee: str) -> Sid:
        """The SID ``trustee`` names; raises :class:`TrusteeError` saying why there is none."""
        name = trustee.strip()
        if name.casefold().startswith(_UNRESOLVED_PREFIXES):
            name = name.split(":", 1)[1].strip()
        special = SPECIAL_TRUSTEES.get(name.casefold())
        if special is not None:
            return special
        if name.upper().startswith("S-1-"):
            try:
                return Sid.parse(name)
            except SidError as error:
                raise TrusteeError(str(error)) from None
        if name.startswith("/"):
            found = self._legacy_dns.get(name.casefold(), [])
            return _one(name, "legacyExchangeDN", found) if found else _missing(name, "legacyExchangeDN", self.empty)
        if "\\" in name:
            return self._resolve_account(name)
        for kind, index in (("display name", self._display_names), ("account name", self._names)):
            found = index.get(name.casefold(), [])
            if found:
                return _one(name, kind, found)
        return _well_known(name) or _missing(name, "name", self.empty)

    def _resolve_account(self, name: str) -> Sid:
        domain_name, account = name.split("\\", 1)
        domain = self._domains.get(domain_name.casefold())
        if domain is not None:
            found = self._accounts.get((domain, account.casefold()), [])
            if found:
                return _one(name, "account", found)
        return _well_known(name) or _missing(name, "account", self.empty)


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


def _one(name: str, kind: str, found: Iterable[Principal]) -> Sid:
    principals = list(found)
    sids = {principal.sid for principal in principals}
    if len(sids) > 1:
        where = "; ".join(sorted(principal.dn for principal in principals))
        raise TrusteeError(f"ambiguous {kind}: {len(sids)} principals are called that ({where})")
    return principals[0].sid


def _well_known(name: str) -> Sid | None:
    """A well-known principal by name (``Everyone``, ``BUILTIN\\Remote Desktop Users``), if exactly one."""
    sids = set()
    for entry in wellknown.find_name(name):
        try:
            sids.add(Sid.parse(entry.sid))
        except SidError:
            continue  # a domain-relative pattern (S-1-5-21-*-*-*-512): which domain is what the name must say
    return sids.pop() if len(sids) == 1 else None


def _missing(name: str, kind: str, empty: bool) -> Sid:
    hint = " (no directory data was read: add --directory with an LDIF export)" if empty else ""
    raise TrusteeError(f"no principal in the directory data has this {kind}{hint}")


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
