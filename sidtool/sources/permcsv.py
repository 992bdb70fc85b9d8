"""CSV from ``Get-PublicFolderClientPermission | Export-Csv``: one row per entry, or one row per right.

As PowerShell writes it: an optional ``#TYPE ...`` first line (left out with
``-NoTypeInformation``), a header row, then one quoted row per record; UTF-8
with a BOM, UTF-16 ("Unicode") or ANSI, depending on version and
``-Encoding``. The delimiter is ``,`` unless the file was written with
``-UseCulture`` (the list separator of the locale: ``;`` in most of Europe, as
is every CSV Excel saves there) or ``-Delimiter``: it is read from the header
row (``,``, ``;`` or tab). ``Identity`` is the folder path (``\\Sales\\Orders``);
``User`` is a display name, ``DOMAIN\\account``, ``Default``, ``Anonymous`` or,
for a SID the server could not resolve, ``NT User:S-1-5-21-...``.

Two layouts are read:

* ``Identity, User, AccessRights``: one row per entry. ``AccessRights`` is
  multi-valued (a ``Collection`` of rights on Exchange 2007, an array on 2010
  and later, per the Add-PublicFolderClientPermission reference). Export-Csv
  writes such a value by its ``ToString()``, which is the type name
  (``System.Collections.ObjectModel.Collection`1[...]``,
  ``Microsoft.Exchange...AccessRight[]``), not the rights: such rows are
  reported, with the export command that keeps the rights. Joined values are
  read: ``Author``, ``ReadItems, CreateItems`` (``-join ','``) or
  ``ReadItems CreateItems`` (``"$($_.AccessRights)"``).
* ``Identity, User, Permission``: one right or role a row, as
  ``Select-Object Identity,User -ExpandProperty AccessRights`` gives it (the
  layout of Bill Long's Restore-PFPermissions2.ps1, Microsoft's script for
  moving public folder permissions from Exchange 2010 to 2013). The rows of one
  folder and user are OR-ed into one entry, located at its first row.

Rights and roles are those of the cmdlets on Exchange 2007 to 2019
(:data:`sidtool.security.rights.ROLES`, with the calendar roles
``AvailabilityOnly`` and ``LimitedDetails``). Layouts that are recognised but
cannot be used are refused whole, with the export command that works: the
Exchange 2013 and later objects' ``FolderName`` (a name, not a path), an export
made with ``-ExpandProperty AccessRights`` alone (no Identity and User), and
Get-MailboxPermission or Get-ADPermission exports (mailbox and AD rights, not
folder permissions).
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from sidtool.errors import InputError
from sidtool.model import AclSource, Directory, FolderPermissions, PermissionEntry, RightsKind
from sidtool.security.rights import parse_access_rights
from sidtool.sources.folders import store_path
from sidtool.sources.text import first_lines, reported_lines

NAME = "permcsv"
DESCRIPTION = "a Get-PublicFolderClientPermission CSV (Identity, User, AccessRights)"
COLUMNS = ("identity", "user", "accessrights")
PER_RIGHT_COLUMNS = ("identity", "user", "permission")  # one right a row (-ExpandProperty AccessRights)
DELIMITERS = (",", ";", "\t")  # Export-Csv's default, -UseCulture in most European locales, -Delimiter `t
KEEP_RIGHTS = "Select Identity,User,@{n='AccessRights';e={$_.AccessRights -join ','}}"
EXPORT_RECIPE = (
    r"Get-PublicFolder \ -Recurse | ForEach-Object { $path = $_.Identity.ToString(); "
    r"Get-PublicFolderClientPermission $path | Select-Object @{n='Identity';e={$path}},User,"
    r"@{n='AccessRights';e={$_.AccessRights -join ','}} } | Export-Csv perms.csv -NoTypeInformation -Encoding UTF8"
)
_TYPE_NAME = re.compile(r"^(System|Microsoft|Deserialized)\.[\w.`\[\]]+$|\[\]$|`1\[")
_OTHER_RIGHTS_COLUMNS = {"deny", "isinherited", "extendedrights", "inheritancetype"}  # Get-MailboxPermission, ...


def sniff(head: bytes) -> bool:
    """A ``#TYPE`` line, or a header row naming the Identity (or FolderName), User and rights columns."""
    lines = first_lines(head, 2)
    if lines and lines[0].startswith("#TYPE"):
        return True
    if not lines:
        return False
    names = set(_header_names(lines[0], _delimiter(lines[0])))
    return bool(names & {"identity", "foldername"}) and "user" in names and bool(names & {"accessrights", "permission"})


def load(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Directory:
    """Read the rows into one permission set per folder, in the order the folders first appear."""
    rows = _rows(stream, source, on_problem)
    header, delimiter = _header(rows, source)
    per_right = "accessrights" not in header
    positions = [header.index(column) for column in (PER_RIGHT_COLUMNS if per_right else COLUMNS)]
    entries: dict[str, dict[str, PermissionEntry]] = {}  # folder path -> trustee key -> entry
    for number, row, _ in _rows_again(rows, len(header), positions[0], delimiter, source, on_problem):
        if not any(field.strip() for field in row):
            continue
        try:
            if len(row) != len(header):
                raise ValueError(f"expected {len(header)} fields, got {len(row)} (row cut short, or a stray quote?)")
            identity, user, rights = (row[position].strip() for position in positions)
            if not identity or not user:
                raise ValueError("empty Identity or User")
            mask = _rights(rights)
        except ValueError as error:
            on_problem(InputError(str(error), source=source, location=f"line {number}"))
            continue
        folder = entries.setdefault(store_path(identity), {})
        key = user.casefold() if per_right else f"{len(folder)}"  # one-entry-a-row files keep every row
        earlier = folder.get(key)
        if earlier is None:
            folder[key] = PermissionEntry(user, None, mask, RightsKind.MAPI, location=f"{source}:{number}")
        else:  # another right of the same folder and user
            folder[key] = PermissionEntry(earlier.trustee, None, earlier.rights | mask, RightsKind.MAPI,
                                          location=earlier.location)  # fmt: skip
    sets = tuple(
        FolderPermissions(path, AclSource.STORE, tuple(found.values()), source) for path, found in entries.items()
    )
    return Directory(permissions=sets)


def _delimiter(header_line: str) -> str:
    """The delimiter under which the header row names the most of the columns this reader knows."""
    known = {*COLUMNS, *PER_RIGHT_COLUMNS, "foldername", *_OTHER_RIGHTS_COLUMNS}

    def score(delimiter: str) -> tuple[int, int]:
        names = _header_names(header_line, delimiter)
        return len(known.intersection(names)), len(names)

    return max(DELIMITERS, key=score)  # ties keep the first: ',' as Export-Csv writes by default


def _header_names(line: str, delimiter: str) -> list[str]:
    """The column names of a header line under ``delimiter``; none if the line is not CSV (the rows say why)."""
    try:
        return [name.strip().casefold() for name in next(csv.reader([line], delimiter=delimiter), [])]
    except csv.Error:  # a stray carriage return, a NUL byte
        return []


Row = tuple[int, list[str], list[str]]  # the line number where a row starts, its fields, and its lines


def _rows(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Iterator[Row]:
    """Each row, skipping a ``#TYPE`` first line; quoted newlines allowed.

    The delimiter is taken from the first line that is not blank and not ``#TYPE``: the header row. A row that
    csv cannot read (a field over its 128 KiB limit, a NUL byte) is reported with its first line; the lines it ran
    over after that are read again one by one, so that a quote left open costs its own row, not the rows after it.
    """
    lines = reported_lines(stream, source, on_problem)
    skipped = 0
    for line in lines:
        if line.strip() and not (skipped == 0 and line.startswith("#TYPE")):
            break
        skipped += 1
    else:
        return
    delimiter = _delimiter(line)
    held: list[str] = []  # the lines of the row being read: at most csv's field limit and one line more

    def holding(lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            held.append(line)
            yield line

    reader = csv.reader(holding(itertools.chain([line], lines)), delimiter=delimiter)
    start = skipped + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # report the row's first line, read the others again
            on_problem(InputError(f"not CSV: {error}", source=source, location=f"line {start}"))
            yield from _one_by_one(held[1:], start + 1, delimiter)
        else:
            yield start, row, held[:]
        start += len(held)
        held.clear()


def _one_by_one(lines: list[str], first: int, delimiter: str) -> Iterator[Row]:
    """Lines a row with a quote left open ran over, each read as a row of its own."""
    for offset, line in enumerate(lines):
        try:
            row = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            row = [line]  # (the field count says what is wrong with it)
        yield first + offset, row, [line]


def _rows_again(
    rows: Iterator[Row],
    fields: int,
    identity: int,
    delimiter: str,
    source: str,
    on_problem: Callable[[InputError], None],
) -> Iterator[Row]:
    """The rows, where one that ran over several lines (a quote left open swallows the rows after it) is reported
    with its first line and its other lines are read again one by one: when it has the wrong number of fields, or
    one of those lines is a row by itself: it starts with a quote, as Export-Csv writes every field, and its
    Identity (column ``identity``) is a folder path (the rest of a quoted line break in a name is not)."""
    for number, row, lines in rows:
        if len(lines) > 1 and any(field.strip() for field in row):
            again = list(_one_by_one(lines[1:], number + 1, delimiter))
            swallowed = any(
                line.lstrip().startswith('"') and len(one) == fields and one[identity].lstrip().startswith(("\\", "/"))
                for (_, one, (line,)) in again
            )  # (a quote left open in the first field can make the rows it swallows add up to the right count)
            if len(row) != fields or swallowed:
                counted = f"expected {fields} fields, got {len(row)}: " if len(row) != fields else ""
                on_problem(InputError(f"{counted}a quote left open ran over lines {number}-{number + len(lines) - 1},"
                                      " read again one by one", source=source, location=f"line {number}"))  # fmt: skip
                yield from again
                continue
        yield number, row, lines


def _header(rows: Iterator[Row], source: str) -> tuple[list[str], str]:
    """The header's column names, case folded, and its delimiter; InputError, with a way out, for a layout not
    read."""
    for number, row, lines in rows:
        if not any(field.strip() for field in row):
            continue
        header = [name.strip().casefold() for name in row]
        found = ", ".join(row)
        if _OTHER_RIGHTS_COLUMNS & set(header):
            message = (
                f"found {found}: mailbox or Active Directory permissions (Get-MailboxPermission, Get-ADPermission), "
                f"not public folder client permissions; export these with: {EXPORT_RECIPE}"
            )
        elif {"identity", "user"} <= set(header) and {"accessrights", "permission"} & set(header):
            return header, _delimiter(lines[0])
        elif "foldername" in header and "user" in header:
            message = (
                f"found {found}: the Exchange 2013 and later layout, which names each folder (FolderName) but not "
                f"its path; export the paths with: {EXPORT_RECIPE}"
            )
        else:
            hint = " (exported with -ExpandProperty AccessRights?)" if "permission" in header else ""
            message = f"expected the columns Identity, User, AccessRights; found {found}{hint}"
        raise InputError(message, source=source, location=f"line {number}")
    raise InputError("no header row; expected the columns Identity, User, AccessRights", source=source)


def _rights(text: str) -> int:
    if _TYPE_NAME.search(text):
        raise ValueError(f"AccessRights holds a type name ({text!r}), not the rights; export with: {KEEP_RIGHTS}")
    words = [word for word in re.split(r"[\s,;]+", text.strip().strip("{}")) if word]
    if not words:
        raise ValueError("empty AccessRights")
    return int(parse_access_rights(words))
