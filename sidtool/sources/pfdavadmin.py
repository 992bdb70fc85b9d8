"""PFDAVAdmin, ExFolders and MAPIFolders "Export Permissions" text files: the Exchange store's client permissions.

The format, as far as public sources show it (no specification was published):

* Microsoft, "Microsoft Exchange Server Public Folder DAV-based Administration
  Tool" (PFDAVAdmin 2.8, TechNet bb508858, 2007): Tools > Export Permissions
  writes folder permissions of public folders and mailboxes to a file (text, or
  XML); the tool shows rights that match no role as "Custom".
* Bill Long, "Importing PFDAVAdmin or ExFolders Exports Without PFDAVAdmin or
  ExFolders" (Microsoft blog, 2011): an export names trustees either in
  legacyExchangeDN format or in NT account format (``domain\\user``).
* MAPIFolders (github.com/bill-long/mapifolders, by PFDAVAdmin's author),
  ``ExportFolderPermissionsOperation.cpp``: a SETACL line is ``SETACL``, the
  folder path, then a tab-separated trustee and rights field per entry;
  ``Default`` and ``Anonymous`` for the two special members, else the trustee's
  legacyExchangeDN (or its display name when that cannot be read); the rights
  field is a role word and then a word per leftover right, space-separated.
  The words and their masks are :data:`sidtool.security.rights.SETACL_WORDS`.
* ExFolders Tool Readme (2009): exports support the calendar keywords
  ``FreeBusyDetails`` and ``FreeBusyBasic``; mailbox folder paths are written
  differently from PFDAVAdmin's.
* David Green, ``PowerShell/PFDAVAdminExport.ps1`` in github.com/davegreen/miscellaneous
  (a parser of real exports): header lines come before the data.
* PFDAVAdmin writes text files as UTF-16 LE with a BOM; ANSI files, and UTF-16
  without a BOM, are read too (:mod:`sidtool.sources.text`).

So this reader takes every line that starts with ``SETACL<TAB>`` and ignores
the lines before and between them. A trustee is kept as written (``Default``,
``Anonymous``, ``DOMAIN\\account``, a legacyExchangeDN, a SID) and resolved to a
SID later, against the directory data (:mod:`sidtool.sources.trustees`). Rights are the
writers' words, the cmdlets' rights names (``ReadItems,CreateItems``) or a mask
in decimal or hex.

A damaged entry costs that entry only: an unknown rights word, an empty
trustee or a trustee without a rights field is reported with the line and the
trustee, and the line's other entries are kept. ``Custom`` alone (or an empty
rights field) states that the trustee has an entry but not what it allows: the
entry is kept with :attr:`RightsKind.UNKNOWN`, for the risk engine to count as
not checked. Lines of a mailbox export (``\\Name\\Top of Information Store\\...``)
are not public folders: they are skipped and reported once, with the first
line and the count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from sidtool.errors import InputError
from sidtool.model import AclSource, Directory, FolderPermissions, PermissionEntry, RightsKind
from sidtool.security.rights import parse_setacl_rights
from sidtool.security.sid import Sid
from sidtool.sources.folders import store_path
from sidtool.sources.text import first_lines, reported_lines
from sidtool.sources.trustees import self_evident_sid

NAME = "pfdavadmin"
DESCRIPTION = "a PFDAVAdmin permission export (SETACL lines)"
MARKER = "SETACL"
MAILBOX_ROOT = "top of information store"  # the second part of a PFDAVAdmin mailbox folder path


def sniff(head: bytes) -> bool:
    """Is there a ``SETACL<TAB>`` line among the first lines?"""
    return any(line.startswith(MARKER + "\t") for line in first_lines(head))


NAMES_TRUSTEES = True  # load takes trustee_sid: the directory's answer for a trustee name, when it is known


def load(
    stream: BinaryIO,
    source: str,
    on_problem: Callable[[InputError], None],
    trustee_sid: Callable[[str], Sid | None] | None = None,
) -> Directory:
    """Read every SETACL line into one permission set per folder.

    ``trustee_sid``: given when all the directory data was read before this export, the SID a trustee
    name resolves to (None if it does not): each distinct name is asked once, and its entries are built
    with it. The names it leaves unresolved are resolved (and reported) with everything else after reading.
    """
    sets: list[FolderPermissions] = []
    first_line: dict[str, int] = {}
    mailbox_lines = 0
    first_mailbox_line = 0
    names: dict[str, tuple[str, Sid | None]] = {}
    for number, line in enumerate(reported_lines(stream, source, on_problem), 1):
        if not line.startswith(MARKER):
            continue  # the header lines PFDAVAdmin writes before the data
        location = f"line {number}"

        def report(message: str, location: str = location) -> None:
            on_problem(InputError(message, source=source, location=location))

        try:
            folder, fields = _folder_and_fields(line)
        except ValueError as error:
            report(str(error))
            continue
        if _is_mailbox_path(folder):
            mailbox_lines += 1
            first_mailbox_line = first_mailbox_line or number
            continue
        path = store_path(folder)
        if path in first_line:
            report(f"folder {path!r} is listed again (first at line {first_line[path]})")
            continue
        first_line[path] = number
        entries = _entries(fields, f"{source}:{number}", report, names, trustee_sid)
        sets.append(FolderPermissions(path, AclSource.STORE, entries, origin=source))
    if mailbox_lines:
        on_problem(
            InputError(
                f"this file is (or contains) a mailbox export: {mailbox_lines} SETACL line(s) name mailbox folders "
                f"('\\<mailbox>\\Top of Information Store\\...'), which are not public folders",
                source=source,
                location=f"line {first_mailbox_line}",
            )
        )
    return Directory(permissions=tuple(sets))


def _folder_and_fields(line: str) -> tuple[str, list[str]]:
    """The folder path and the trustee and rights fields after it; ValueError if the line has no folder."""
    fields = line.split("\t")
    while fields and not fields[-1].strip():
        fields.pop()  # trailing tabs
    if fields[0] != MARKER:
        raise ValueError(f"expected 'SETACL<TAB>folder<TAB>trustee<TAB>rights...', got {line[:40]!r}")
    if len(fields) < 2 or not fields[1].strip():
        raise ValueError("SETACL line without a folder path")
    return fields[1], fields[2:]


def _is_mailbox_path(folder: str) -> bool:
    r"""``\Name\Top of Information Store[\...]``: a folder of a mailbox, as PFDAVAdmin writes it."""
    if MAILBOX_ROOT not in folder.casefold():
        return False  # (most lines: no need to split the path)
    parts = [part for part in re.split(r"[\\/]", folder) if part]
    return len(parts) >= 2 and parts[1].strip().casefold() == MAILBOX_ROOT


@dataclass(frozen=True, slots=True)
class _Rights:
    """A rights field read: the mask, and whether the field states it at all."""

    mask: int
    kind: RightsKind


def _entries(
    fields: list[str],
    location: str,
    report: Callable[[str], None],
    names: dict[str, tuple[str, Sid | None]],
    trustee_sid: Callable[[str], Sid | None] | None = None,
) -> tuple[PermissionEntry, ...]:
    """The entries of a line's trustee/rights pairs; a damaged pair is reported and the others kept.

    ``names``: each trustee name once (a trustee is named on many lines), with the SID it spells by itself
    (a SID, ``Default``, ``Anonymous``) or ``trustee_sid`` gives it; at most :data:`_NAMES_KEPT` of them.
    """
    entries = []
    count = len(fields)
    seen = names.get
    for position in range(0, count, 2):
        trustee = fields[position].strip()
        known = seen(trustee) or _known(names, trustee, trustee_sid)
        if position + 1 == count:
            report(f"trustee '{known[0]}' has no rights after it (line cut short?)")
            break
        if not trustee:
            report(f"empty trustee in field {position + 3}")
            continue
        rights = _RIGHTS_SEEN.get(fields[position + 1])  # (the few spellings of an export, each parsed once)
        if rights is None:
            try:
                rights = _rights(fields[position + 1])
            except ValueError as error:
                report(f"trustee '{trustee}': {error}")
                continue
        entries.append(PermissionEntry(known[0], known[1], rights.mask, rights.kind, True, location))
    return tuple(entries)


_NAMES_KEPT = 1 << 20  # distinct trustee names shared per file; past that, each entry keeps its own copy


def _known(
    names: dict[str, tuple[str, Sid | None]], name: str, trustee_sid: Callable[[str], Sid | None] | None
) -> tuple[str, Sid | None]:
    """The name, and the SID it spells by itself (:func:`sidtool.sources.trustees.self_evident_sid`) or that the
    directory gives it (``trustee_sid``), if any."""
    sid = self_evident_sid(name)
    if sid is None and trustee_sid is not None and name:
        sid = trustee_sid(name)
    known = (name, sid)
    if len(names) < _NAMES_KEPT:
        names[name] = known
    return known


def _rights(text: str) -> _Rights:
    """The rights a field spells; the few distinct spellings of an export are parsed once each."""
    rights = _RIGHTS_SEEN.get(text)
    if rights is None:
        rights = _parse_rights(text)
        if len(_RIGHTS_SEEN) < _RIGHTS_MEMO_SIZE:
            _RIGHTS_SEEN[text] = rights
    return rights


_RIGHTS_SEEN: dict[str, _Rights] = {}
_RIGHTS_MEMO_SIZE = 4096  # distinct rights fields remembered; past that, each is parsed again
_UNSTATED = _Rights(0, RightsKind.UNKNOWN)


def _parse_rights(text: str) -> _Rights:
    words = [word for word in re.split(r"[\s,;]+", text.strip().strip("{}")) if word]
    if len(words) == 1 and re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", words[0]):
        return _Rights(int(words[0], 0), RightsKind.MAPI)
    mask = parse_setacl_rights(words)
    return _UNSTATED if mask is None else _Rights(mask, RightsKind.MAPI)
