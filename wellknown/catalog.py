"""Loader for the well-known SID catalog in ``sids.csv``.

The facts live in the CSV file beside this module, one row per SID, each with
its sources; this module only reads them. It depends on nothing outside the
standard library, so SIDs are handled here as text.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# Releases in the order Windows shipped them. "NT4" stands for "NT 4.0 or earlier".
RELEASES = ("NT4", "2000", "2003", "2003 SP1", "2008", "2008 R2", "2012", "2012 R2", "2016", "2019", "2022", "2025")
UNKNOWN_RELEASE = "unknown"
SCOPES = ("universal", "builtin", "domain", "forest-root")
BUILTIN_PREFIX = "S-1-5-32-"

_COLUMNS = ("sid", "name", "aliases", "sddl", "scope", "introduced", "sources", "winnt", "note")
_SOURCE_LINE = re.compile(r"#\s*source\s+(\S+?):\s*(.+)")
_SID_TEXT = re.compile(r"S-1-(?:[0-9]+|0X[0-9A-F]{1,12})(?:-[0-9]+)*\Z")


class CatalogError(ValueError):
    """The catalog file itself is malformed (a packaging or editing mistake)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One well-known SID (or SID pattern) and what the sources say about it."""

    sid: str
    name: str
    aliases: tuple[str, ...]
    sddl: str | None
    scope: str
    introduced: str
    sources: tuple[str, ...]
    winnt: str | None
    note: str | None

    @property
    def is_pattern(self) -> bool:
        """True for rows such as ``S-1-5-21-*-*-*-512`` that match a family of SIDs."""
        return "*" in self.sid

    def matches(self, sid: str) -> bool:
        """True when the canonical SID text ``sid`` is this entry's SID or fits its pattern."""
        if not self.is_pattern:
            return sid == self.sid
        wanted = self.sid.split("-")
        given = sid.split("-")
        return len(wanted) == len(given) and all(w == "*" or w == g for w, g in zip(wanted, given, strict=True))

    def introduced_after(self, release: str) -> bool | None:
        """True if introduced after ``release``; None when the catalog does not know."""
        if self.introduced == UNKNOWN_RELEASE:
            return None
        return RELEASES.index(self.introduced) > release_rank(release)


class Catalog:
    """All entries, indexed for lookup by SID and by name."""

    def __init__(self, entries: tuple[Entry, ...], sources: dict[str, str]) -> None:
        self.entries = entries
        self.sources = sources
        self._exact = {e.sid: e for e in entries if not e.is_pattern}
        self._patterns = tuple(e for e in entries if e.is_pattern)
        # Patterns by (number of parts, last part): a SID is compared only with the rows it could match
        # (S-1-5-21-a-b-c-1107 with the ...-*-1107 rows, none; with the ...-*-* rows of its length).
        self._pattern_index: dict[tuple[int, str], list[tuple[int, Entry]]] = {}
        for position, entry in enumerate(self._patterns):  # the position keeps the catalog's order of precedence
            parts = entry.sid.split("-")
            self._pattern_index.setdefault((len(parts), parts[-1]), []).append((position, entry))
        self._names: dict[str, list[Entry]] = {}
        for entry in entries:
            for name in (entry.name, *entry.aliases, entry.sddl or ""):
                if name:
                    self._names.setdefault(_name_key(name), []).append(entry)

    def lookup(self, sid: str) -> Entry | None:
        """The entry for a SID given as text, exact rows first, then patterns."""
        text = normalize_sid(sid)
        if text is None:
            return None
        entry = self._exact.get(text)
        if entry is not None:
            return entry
        parts = text.count("-") + 1
        candidates = sorted([*self._pattern_index.get((parts, text.rsplit("-", 1)[-1]), ()),
                             *self._pattern_index.get((parts, "*"), ())], key=lambda item: item[0])  # fmt: skip
        return next((entry for _, entry in candidates if entry.matches(text)), None)

    def find_name(self, name: str) -> tuple[Entry, ...]:
        """Entries whose name, other names or SDDL alias equal ``name``, ignoring case."""
        key = _name_key(name)
        found = self._names.get(key, [])
        if not found and "\\" in key:
            # "CORP\Domain Admins": a domain-qualified name of a domain-relative group.
            short = key.rsplit("\\", 1)[1]
            found = [e for e in self._names.get(short, []) if e.scope in ("domain", "forest-root")]
        return tuple(dict.fromkeys(found))

    def introduced_after(self, release: str, *, include_unknown: bool = False) -> tuple[Entry, ...]:
        """Entries that a consumer built for ``release`` would not know."""
        release_rank(release)
        unknown = UNKNOWN_RELEASE if include_unknown else None
        return tuple(e for e in self.entries if e.introduced_after(release) or e.introduced == unknown)


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def release_rank(release: str) -> int:
    """Position of ``release`` in :data:`RELEASES`; raises ValueError for an unknown name."""
    wanted = " ".join(release.split()).upper()
    for rank, name in enumerate(RELEASES):
        if name.upper() == wanted:
            return rank
    raise ValueError(f"unknown Windows release {release!r}; expected one of: {', '.join(RELEASES)}")


def normalize_sid(text: str) -> str | None:
    """Canonical upper-case SID text, or None when ``text`` is not SID-shaped."""
    candidate = text.strip().upper()
    if not _SID_TEXT.match(candidate):
        return None
    parts = candidate.split("-")
    authority = parts[2]
    value = int(authority, 16) if authority.startswith("0X") else int(authority)
    parts[2] = str(value) if value < 1 << 32 else f"0x{value:012X}"
    return "-".join(parts[:3] + [str(int(p)) for p in parts[3:]])


def parse_catalog(lines: list[str], origin: str = "sids.csv") -> Catalog:
    """Build a :class:`Catalog` from the CSV text, checking every row."""
    sources: dict[str, str] = {}
    data_lines: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if line.startswith("#"):
            match = _SOURCE_LINE.match(line.strip())
            if match:
                sources[match.group(1)] = match.group(2)
        elif line.strip():
            data_lines.append((number, line))
    if not data_lines:
        raise CatalogError(f"{origin}: no header row")
    rows = csv.reader([line for _, line in data_lines])
    header = tuple(next(rows))
    if header != _COLUMNS:
        raise CatalogError(f"{origin}:{data_lines[0][0]}: header is {header}, expected {_COLUMNS}")
    entries = []
    seen: set[str] = set()
    for (number, _), row in zip(data_lines[1:], rows, strict=False):
        where = f"{origin}:{number}"
        if len(row) != len(_COLUMNS):
            raise CatalogError(f"{where}: {len(row)} columns, expected {len(_COLUMNS)}")
        values = dict(zip(_COLUMNS, (value.strip() for value in row), strict=True))
        entry = Entry(
            sid=values["sid"],
            name=values["name"],
            aliases=_split(values["aliases"]),
            sddl=values["sddl"] or None,
            scope=values["scope"],
            introduced=values["introduced"],
            sources=_split(values["sources"]),
            winnt=values["winnt"] or None,
            note=values["note"] or None,
        )
        _check(entry, sources, seen, where)
        entries.append(entry)
    return Catalog(tuple(entries), sources)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split("|") if part.strip())


def _check(entry: Entry, sources: dict[str, str], seen: set[str], where: str) -> None:
    if not _SID_TEXT.match(entry.sid.replace("*", "0")) or entry.sid != entry.sid.upper():
        raise CatalogError(f"{where}: {entry.sid!r} is not a SID or SID pattern")
    if entry.sid in seen:
        raise CatalogError(f"{where}: {entry.sid} is listed twice")
    seen.add(entry.sid)
    if not entry.name:
        raise CatalogError(f"{where}: {entry.sid} has no name")
    if entry.scope not in SCOPES:
        raise CatalogError(f"{where}: scope {entry.scope!r} is not one of {SCOPES}")
    if entry.introduced not in RELEASES and entry.introduced != UNKNOWN_RELEASE:
        raise CatalogError(f"{where}: introduced {entry.introduced!r} is not a known release")
    if not entry.sources:
        raise CatalogError(f"{where}: {entry.sid} has no source")
    for key in entry.sources:
        if key not in sources:
            raise CatalogError(f"{where}: source {key!r} is not defined by a '# source' line")


@lru_cache(maxsize=1)
def load() -> Catalog:
    """The catalog shipped with this package (read once)."""
    text = resources.files(__package__).joinpath("sids.csv").read_text(encoding="utf-8")
    return parse_catalog(text.splitlines())
