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

So this reader takes every line that starts with ``SETACL<TAB>`` (also after a byte-order mark or spaces, or
in other case) and ignores the header lines before the first one and blank lines; any other line after
the first is reported and skipped (two exports joined, say), never ignored quietly. A trustee is kept as
written (``Default``, ``Anonymous``, ``DOMAIN\\account``, a legacyExchangeDN, a SID) and resolved to a
SID later, against the directory data (:mod:`sidtool.sources.trustees`). Rights are the
writers' words, the cmdlets' rights names (``ReadItems,CreateItems``) or a mask
in decimal or hex. Each distinct trustee and rights field of a file is read once,
into the file's :class:`sidtool.model.EntryTable`; a folder's entries are the
numbers of their rows there (:class:`sidtool.model.EntryColumns`).

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
from sidtool.model import AclSource, Directory, EntryColumns, EntryTable, FolderPermissions, RightsKind
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

    The entries are held in columns (:class:`EntryColumns`): each distinct trustee name and rights field of the
    file once, in its :class:`EntryTable`, and per folder the numbers of its entries' trustees and rights.
    ``trustee_sid``: given when all the directory data was read before this export, the SID a trustee
    name resolves to (None if it does not): each distinct name is asked once. The names it leaves unresolved
    are resolved (and reported) with everything else after reading.
    """
    sets: list[FolderPermissions] = []
    first_line: dict[str, int] = {}
    mailbox_lines = 0
    first_mailbox_line = 0
    columns = _Columns(EntryTable(), trustee_sid)
    in_data = False  # past the first SETACL line: a line that is not one is damage, never ignored quietly
    for number, line in enumerate(reported_lines(stream, source, on_problem), 1):
        if not line.startswith(MARKER):
            line = _setacl_line(line)
            if not line.startswith(MARKER):
                if in_data and line.strip():
                    on_problem(InputError(f"not a SETACL line, among them (two exports joined?): {line[:60]!r}",
                                          source=source, location=f"line {number}"))  # fmt: skip
                continue  # the header lines PFDAVAdmin writes before the data, and blank lines
        in_data = True
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
        entries = columns.entries(fields, f"{source}:{number}", report)
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


def _setacl_line(line: str) -> str:
    """A SETACL line written another way (a byte-order mark or spaces before it, as where two files were joined;
    the word in other case) as the writers write it; any other line as it is."""
    stripped = line.lstrip("\ufeff \t")
    if stripped[: len(MARKER)].upper() == MARKER and stripped[len(MARKER) : len(MARKER) + 1] == "\t":
        return MARKER + stripped[len(MARKER) :]
    return line


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


class _Columns:
    """Builds a file's :class:`EntryColumns`: its table, and each trustee and rights field as written -> its number
    there (at most :data:`_MEMO_KEPT` of each; past that, a new one gets a row of its own each time)."""

    def __init__(self, table: EntryTable, trustee_sid: Callable[[str], Sid | None] | None) -> None:
        self.table = table
        self.trustee_sid = trustee_sid
        self.trustee_ids: dict[str, int] = {}  # as written (and stripped) -> row; never a blank name
        self.rights_ids: dict[str, int] = {}  # only fields that read

    def entries(self, fields: list[str], location: str, report: Callable[[str], None]) -> EntryColumns:
        """The entries of a line's trustee/rights pairs; a damaged pair is reported and the others kept."""
        written = fields[0::2]
        trustees = list(map(self.trustee_ids.get, written))
        rights = list(map(self.rights_ids.get, fields[1::2]))
        if len(trustees) == len(rights) and None not in rights:  # (most lines: every pair sound)
            for at in [at for at, number in enumerate(trustees) if number is None]:  # names not seen before
                name = written[at].strip()
                if not name:
                    break  # (reported below)
                trustees[at] = self._trustee_id(written[at], name)
            else:
                return EntryColumns(self.table, tuple(trustees), tuple(rights), location)  # type: ignore[arg-type]
        trustee_ids: list[int] = []
        rights_ids: list[int] = []
        count = len(fields)
        for position in range(0, count, 2):
            pair = position // 2
            trustee_id = trustees[pair]
            trustee = fields[position].strip() if trustee_id is None else self.table.trustees[trustee_id][0]
            if position + 1 == count:
                report(f"trustee '{trustee}' has no rights after it (line cut short?)")
                break
            if not trustee:
                report(f"empty trustee in field {position + 3}")
                continue
            right = rights[pair]
            if right is None:
                try:
                    right = self._rights_id(fields[position + 1])
                except ValueError as error:
                    report(f"trustee '{trustee}': {error}")
                    continue
            trustee_ids.append(self._trustee_id(fields[position], trustee) if trustee_id is None else trustee_id)
            rights_ids.append(right)
        return EntryColumns(self.table, tuple(trustee_ids), tuple(rights_ids), location)

    def _trustee_id(self, written: str, name: str) -> int:
        """The row of trustee ``name`` (``written`` stripped): the SID it spells by itself
        (:func:`sidtool.sources.trustees.self_evident_sid`) or that the directory gives it, if any."""
        number = self.trustee_ids.get(name)
        if number is None:
            sid = self_evident_sid(name)
            if sid is None and self.trustee_sid is not None:
                sid = self.trustee_sid(name)
            number = len(self.table.trustees)
            self.table.trustees.append((name, sid))
        if len(self.trustee_ids) < _MEMO_KEPT:
            self.trustee_ids[name] = self.trustee_ids[written] = number
        return number

    def _rights_id(self, text: str) -> int:
        """The row of rights field ``text``; ValueError if it does not read."""
        number = self.rights_ids.get(text)
        if number is None:
            rights = _rights(text)
            number = len(self.table.rights)
            self.table.rights.append((rights.mask, rights.kind))
            if len(self.rights_ids) < _MEMO_KEPT:
                self.rights_ids[text] = number
        return number


_MEMO_KEPT = 1 << 20  # distinct trustee names (and rights fields) numbered per file


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
