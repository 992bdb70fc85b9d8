"""CSV from ``Get-PublicFolderClientPermission | Select Identity,User,AccessRights | Export-Csv``.

As PowerShell writes it: an optional ``#TYPE ...`` first line (left out with
``-NoTypeInformation``), a header row, then one quoted row per permission entry;
UTF-8 with a BOM, UTF-16 ("Unicode") or ANSI, depending on version and
``-Encoding``. ``Identity`` is the folder path (``\\Sales\\Orders``); ``User`` is a
display name, ``DOMAIN\\account``, ``Default``, ``Anonymous`` or, for a SID the
server could not resolve, ``NT User:S-1-5-21-...``.

``AccessRights`` is multi-valued (a ``Collection`` of rights on Exchange 2007, an
array on 2010 and later, per the Add-PublicFolderClientPermission reference).
Export-Csv writes such a value by its ``ToString()``, which is the type name
(``System.Collections.ObjectModel.Collection`1[...]``,
``Microsoft.Exchange...AccessRight[]``), not the rights: such rows are reported,
with the export command that keeps the rights. Joined values are read:
``Author``, ``ReadItems, CreateItems`` (``-join ','``) or ``ReadItems CreateItems``
(``"$($_.AccessRights)"``). An export made with ``-ExpandProperty AccessRights``
has no Identity and User columns; it is refused with a message saying so.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from sidtool.errors import InputError
from sidtool.folders import store_path
from sidtool.model import AclSource, Directory, FolderPermissions, PermissionEntry, RightsKind
from sidtool.security.rights import parse_access_rights
from sidtool.sources.text import first_lines, reported_lines

NAME = "permcsv"
DESCRIPTION = "a Get-PublicFolderClientPermission CSV (Identity, User, AccessRights)"
COLUMNS = ("identity", "user", "accessrights")
KEEP_RIGHTS = "Select Identity,User,@{n='AccessRights';e={$_.AccessRights -join ','}}"
_TYPE_NAME = re.compile(r"^(System|Microsoft|Deserialized)\.[\w.`\[\]]+$|\[\]$|`1\[")


def sniff(head: bytes) -> bool:
    """A ``#TYPE`` line or a header row naming the Identity, User and AccessRights columns."""
    lines = first_lines(head, 2)
    if lines and lines[0].startswith("#TYPE"):
        return True
    return bool(lines) and set(COLUMNS) <= {name.strip().casefold() for name in next(csv.reader(lines[:1]))}


def load(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Directory:
    """Read the rows into one permission set per folder, in the order the folders first appear."""
    entries: dict[str, list[PermissionEntry]] = {}
    rows = _rows(stream, source, on_problem)
    header = _header(rows, source)
    positions = [header.index(column) for column in COLUMNS]
    for number, row in rows:
        if not any(field.strip() for field in row):
            continue
        try:
            if len(row) != len(header):
                raise ValueError(f"expected {len(header)} fields, got {len(row)} (row cut short, or a stray quote?)")
            identity, user, rights = (row[position].strip() for position in positions)
            if not identity or not user:
                raise ValueError("empty Identity or User")
            entry = PermissionEntry(user, None, _rights(rights), RightsKind.MAPI, location=f"{source}:{number}")
        except ValueError as error:
            on_problem(InputError(str(error), source=source, location=f"line {number}"))
            continue
        entries.setdefault(store_path(identity), []).append(entry)
    sets = tuple(FolderPermissions(path, AclSource.STORE, tuple(found), source) for path, found in entries.items())
    return Directory(permissions=sets)


def _rows(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, fields), skipping a ``#TYPE`` first line; quoted newlines allowed."""
    reader = csv.reader(reported_lines(stream, source, on_problem))
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a field over csv's 128 KiB limit, a NUL byte: report the row, read on
            on_problem(InputError(f"not CSV: {error}", source=source, location=f"line {reader.line_num}"))
            start = reader.line_num + 1
            continue
        if not (start == 1 and row and row[0].startswith("#TYPE")):
            yield start, row
        start = reader.line_num + 1


def _header(rows: Iterator[tuple[int, list[str]]], source: str) -> list[str]:
    for number, row in rows:
        if not any(field.strip() for field in row):
            continue
        header = [name.strip().casefold() for name in row]
        missing = [column for column in COLUMNS if column not in header]
        if missing:
            hint = " (exported with -ExpandProperty AccessRights?)" if "permission" in header else ""
            raise InputError(
                f"expected the columns Identity, User, AccessRights; found {', '.join(row)}{hint}",
                source=source,
                location=f"line {number}",
            )
        return header
    raise InputError("no header row; expected the columns Identity, User, AccessRights", source=source)


def _rights(text: str) -> int:
    if _TYPE_NAME.search(text):
        raise ValueError(f"AccessRights holds a type name ({text!r}), not the rights; export with: {KEEP_RIGHTS}")
    words = [word for word in re.split(r"[\s,;]+", text.strip().strip("{}")) if word]
    if not words:
        raise ValueError("empty AccessRights")
    return int(parse_access_rights(words))
