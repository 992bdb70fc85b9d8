"""Answers for ``sidtool lookup`` and ``sidtool catalog``: catalog entries as report rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import wellknown
from sidtool.baseline import is_builtin_alias, known_to_legacy_store
from sidtool.layout import Field
from sidtool.security.sid import Sid

_ACCOUNT_DOMAINS = Sid.parse("S-1-5-21")  # [MS-DTYP] 2.4.2.4: prefix of every domain's SID

# Table columns, most important first (sidtool.layout fits them to the terminal; JSON and CSV carry every key).
LOOKUP_COLUMNS = (
    Field("sid", "SID", priority=0),
    Field("name", "Name", priority=1),
    Field("known_to_legacy_store", "Legacy store knows it", priority=2),
    Field("introduced", "Introduced", priority=3),
    Field("scope", "Scope", priority=4),
    Field("note", "Note", priority=5, below=True, least=30),
)
CATALOG_COLUMNS = (
    Field("sid", "SID", priority=0),
    Field("name", "Name", priority=1),
    Field("introduced", "Introduced", priority=2),
    Field("known_to_legacy_store", "Legacy store knows it", priority=3),
    Field("sddl", "SDDL", priority=4),
    Field("scope", "Scope", priority=5),
    Field("sources", "Sources", lambda sources: _first_and_count(sources), priority=6),
)


def _first_and_count(sources: list[str]) -> str:
    return f"{sources[0]} +{len(sources) - 1}" if len(sources) > 1 else sources[0]


@dataclass(frozen=True, slots=True)
class LookupResult:
    """One answer to one query: the SID (or pattern) and its catalog entry, if any."""

    query: str
    sid: str | None
    entry: wellknown.Entry | None
    known_to_legacy_store: bool | None

    @property
    def found(self) -> bool:
        return self.entry is not None

    def as_dict(self) -> dict[str, Any]:
        record = entry_dict(self.entry) if self.entry else _missing_dict(self.sid)
        record["sid"] = self.sid
        record["known_to_legacy_store"] = self.known_to_legacy_store
        return {"query": self.query, "found": self.found, **record}


def lookup(query: str) -> list[LookupResult]:
    """Resolve a SID or a name; a name may match several entries, a SID exactly one row.

    Raises :class:`SidError` for text that looks like a SID but is malformed.
    """
    text = query.strip()
    if text[:2].upper() == "S-" and any(ch.isdigit() for ch in text):
        sid = Sid.parse(text)
        entry = wellknown.lookup(str(sid))
        return [LookupResult(query, str(sid), entry, known_to_legacy_store(sid))]
    entries = wellknown.find_name(text)
    if not entries:
        return [LookupResult(query, None, None, None)]
    return [LookupResult(query, entry.sid, entry, entry_known_to_legacy_store(entry)) for entry in entries]


def catalog_rows(introduced_after: str | None = None, scope: str | None = None) -> list[dict[str, Any]]:
    """Catalog entries as records, optionally filtered by release and scope."""
    entries = wellknown.entries() if introduced_after is None else wellknown.introduced_after(introduced_after)
    if scope is not None:
        entries = tuple(e for e in entries if e.scope == scope)
    return [{**entry_dict(e), "known_to_legacy_store": entry_known_to_legacy_store(e)} for e in entries]


def entry_known_to_legacy_store(entry: wellknown.Entry) -> bool:
    """The legacy-store verdict for a catalog row (patterns are never BUILTIN aliases)."""
    if entry.is_pattern:
        return True
    return known_to_legacy_store(Sid.parse(entry.sid))


def entry_dict(entry: wellknown.Entry) -> dict[str, Any]:
    """A catalog entry as a JSON-ready record; the key names are a stable interface."""
    return {
        "sid": entry.sid,
        "name": entry.name,
        "scope": entry.scope,
        "introduced": entry.introduced,
        "aliases": list(entry.aliases),
        "sddl": entry.sddl,
        "sources": list(entry.sources),
        "winnt": entry.winnt,
        "note": entry.note,
    }


def _missing_dict(sid_text: str | None) -> dict[str, Any]:
    """What can be said of a SID the catalog does not hold."""
    scope = None
    note = "not in the catalog"
    if sid_text is not None:
        sid = Sid.parse(sid_text)
        if is_builtin_alias(sid):
            scope = "builtin"
            note = "not in the catalog; a BUILTIN alias unknown to Windows 2000"
        elif sid.is_under(_ACCOUNT_DOMAINS) and len(sid.sub_authorities) == 5:
            scope = "domain"
            note = "not a well-known RID; an ordinary account of its domain"
    return {
        "sid": sid_text,
        "name": None,
        "scope": scope,
        "introduced": None,
        "aliases": [],
        "sddl": None,
        "sources": [],
        "winnt": None,
        "note": note,
    }
