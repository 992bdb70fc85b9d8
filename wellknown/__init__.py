"""The catalog of well-known Windows SIDs: data in ``sids.csv``, a thin loader here.

>>> import wellknown
>>> wellknown.lookup("S-1-5-32-555").name
'Remote Desktop Users'
"""

from __future__ import annotations

from wellknown.catalog import (
    BUILTIN_PREFIX,
    RELEASES,
    SCOPES,
    UNKNOWN_RELEASE,
    Catalog,
    CatalogError,
    Entry,
    load,
    normalize_sid,
    release_rank,
)

__all__ = [
    "BUILTIN_PREFIX",
    "RELEASES",
    "SCOPES",
    "UNKNOWN_RELEASE",
    "Catalog",
    "CatalogError",
    "Entry",
    "entries",
    "find_name",
    "introduced_after",
    "load",
    "lookup",
    "normalize_sid",
    "release_rank",
    "sources",
]


def entries() -> tuple[Entry, ...]:
    """Every catalog entry, in file order."""
    return load().entries


def lookup(sid: str) -> Entry | None:
    """The entry for a SID in text form (``S-1-5-21-1-2-3-512`` finds Domain Admins)."""
    return load().lookup(sid)


def find_name(name: str) -> tuple[Entry, ...]:
    """Entries known by ``name``: canonical name, other name or SDDL alias, any case."""
    return load().find_name(name)


def introduced_after(release: str, *, include_unknown: bool = False) -> tuple[Entry, ...]:
    """Entries introduced after ``release`` (for example ``"2000"``)."""
    return load().introduced_after(release, include_unknown=include_unknown)


def sources() -> dict[str, str]:
    """Source key → description, as defined in the catalog file."""
    return dict(load().sources)
