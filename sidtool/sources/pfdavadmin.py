"""PFDAVAdmin (and ExFolders) "Export Permissions" text files: the Exchange store's client permissions.

The format, as far as public sources show it (no specification was published):

* Microsoft, "Microsoft Exchange Server Public Folder DAV-based Administration
  Tool" (PFDAVAdmin 2.8, TechNet bb508858, 2007): Tools > Export Permissions
  writes folder permissions of public folders and mailboxes to a file (text, or
  XML); the tool shows rights that match no role as "Custom".
* Bill Long, "Importing PFDAVAdmin or ExFolders Exports Without PFDAVAdmin or
  ExFolders" (Microsoft blog, 2011): an export names trustees either in
  legacyExchangeDN format or in NT account format (``domain\\user``).
* David Green, ``PowerShell/PFDAVAdminExport.ps1`` in github.com/davegreen/miscellaneous
  (a parser of real exports): the file is tab-delimited; header lines come
  before the data; each data line is ``SETACL``, the folder path, then
  trustee/role pairs (``Author``, ``None``, ...); trustees may be legacyExchangeDNs
  (``/o=.../cn=Recipients/cn=user``) or the special ``Anonymous``; the script
  also skips trustee fields ``UNKNOWN`` and ``NO``, whose meaning it does not say.
* PFDAVAdmin writes text files as UTF-16 LE with a BOM; ANSI files are read too.

So this reader takes every line that starts with ``SETACL<TAB>`` and ignores
the lines before and between them. A trustee is kept as written (``Default``,
``Anonymous``, ``DOMAIN\\account``, a legacyExchangeDN, a SID) and resolved to a
SID later, against the directory data (:mod:`sidtool.trustees`). Rights are a
role name, a list of rights (``ReadItems,CreateItems``) or a rights mask in
decimal or hex; ``Custom`` alone says nothing about posting, so such a line is
reported and skipped, like any line whose fields do not pair up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import BinaryIO

from sidtool.errors import InputError
from sidtool.folders import store_path
from sidtool.model import AclSource, Directory, FolderPermissions, PermissionEntry, RightsKind
from sidtool.security.rights import parse_access_rights
from sidtool.security.sid import Sid
from sidtool.sources.text import first_lines, reported_lines

NAME = "pfdavadmin"
DESCRIPTION = "a PFDAVAdmin permission export (SETACL lines)"
MARKER = "SETACL"


def sniff(head: bytes) -> bool:
    """Is there a ``SETACL<TAB>`` line among the first lines?"""
    return any(line.startswith(MARKER + "\t") for line in first_lines(head))


def load(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Directory:
    """Read every SETACL line into one permission set per folder."""
    sets: list[FolderPermissions] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(reported_lines(stream, source, on_problem), 1):
        if not line.startswith(MARKER):
            continue  # the header lines PFDAVAdmin writes before the data
        try:
            permissions = _permission_set(line, source, number)
        except ValueError as error:
            on_problem(InputError(str(error), source=source, location=f"line {number}"))
            continue
        if permissions.folder in first_line:
            message = f"folder {permissions.folder!r} is listed again (first at line {first_line[permissions.folder]})"
            on_problem(InputError(message, source=source, location=f"line {number}"))
            continue
        first_line[permissions.folder] = number
        sets.append(permissions)
    return Directory(permissions=tuple(sets))


def _permission_set(line: str, source: str, number: int) -> FolderPermissions:
    fields = line.split("\t")
    while fields and not fields[-1].strip():
        fields.pop()  # trailing tabs
    if fields[0] != MARKER:
        raise ValueError(f"expected 'SETACL<TAB>folder<TAB>trustee<TAB>role...', got {line[:40]!r}")
    if len(fields) < 2 or not fields[1].strip():
        raise ValueError("SETACL line without a folder path")
    pairs = fields[2:]
    if len(pairs) % 2:
        raise ValueError(f"trustee '{pairs[-1]}' has no rights after it (line cut short?)")
    entries = []
    location = f"{source}:{number}"  # one string shared by the line's entries
    for position in range(0, len(pairs), 2):
        trustee, rights = pairs[position].strip(), pairs[position + 1]
        if not trustee:
            raise ValueError(f"empty trustee in field {position + 3}")
        entries.append(
            PermissionEntry(
                trustee=trustee,
                trustee_sid=_sid_or_none(trustee),
                rights=_rights(rights, trustee),
                rights_kind=RightsKind.MAPI,
                location=location,
            )
        )
    return FolderPermissions(store_path(fields[1]), AclSource.STORE, tuple(entries), origin=source)


def _rights(text: str, trustee: str) -> int:
    """The rights mask a rights field spells; the few distinct spellings of an export are parsed once each."""
    mask = _RIGHTS_SEEN.get(text)
    if mask is None:
        mask = _parse_rights(text, trustee)
        if len(_RIGHTS_SEEN) < _RIGHTS_MEMO_SIZE:
            _RIGHTS_SEEN[text] = mask
    return mask


_RIGHTS_SEEN: dict[str, int] = {}
_RIGHTS_MEMO_SIZE = 4096


def _parse_rights(text: str, trustee: str) -> int:
    words = [word for word in re.split(r"[\s,;]+", text.strip().strip("{}")) if word]
    if not words:
        raise ValueError(f"no rights for trustee '{trustee}'")
    if len(words) == 1 and re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", words[0]):
        return int(words[0], 0)
    if [word.casefold() for word in words] == ["custom"]:
        raise ValueError(f"rights of '{trustee}' are 'Custom', without the rights: cannot tell what they allow")
    try:
        return int(parse_access_rights(words))
    except ValueError as error:
        raise ValueError(f"rights of '{trustee}': {error}") from None


def _sid_or_none(trustee: str) -> Sid | None:
    """A trustee written as a SID needs no resolving; anything else is resolved against the directory."""
    if trustee.upper().startswith("S-1-"):
        try:
            return Sid.parse(trustee)
        except ValueError:
            return None
    return None
