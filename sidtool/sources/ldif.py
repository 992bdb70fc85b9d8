"""Streaming LDIF reader (RFC 2849), as ldifde and ldapsearch write it.

Records are read one at a time, so memory holds one record, never the file.
Handled: ``attr:: base64`` values, folded lines, comments, ``version: 1``,
``changetype: add`` and ldifde's ``changetype: modify`` / ``add: member``
continuation records, attribute options such as ``member;range=0-1499``,
UTF-8, ANSI (Windows-1252) and UTF-16 (``ldifde -u``) input. A malformed
record is reported with its file and line, and skipped; reading goes on.

What OpenLDAP's ``ldapsearch`` adds around the entries (seen in its output
against the test DC, kept in ``tests/data/exports/ldapsearch_default.ldif``):
a ``ref:`` record for each search reference (``# ref...`` with ``-LLL``), and
after each page a result block (``search: 2``, ``result: 0 Success``,
``control: <oid> <criticality> <value>``, ``pagedresults: cookie=...``). These
are not entries and are skipped without complaint; a result other than 0
(``result: 4 Size limit exceeded``: a search of AD without paging stops at its
MaxPageSize) says that the export is cut short, and is reported. ``control:``
lines inside an entry are skipped too. Continuation lines may start with a tab
(some writers fold so; RFC 2849 names only the space).

A ``member;range=0-1499`` value list (AD returns one above its MaxValRange, and
``ldapsearch`` writes it as it is) whose last range does not end in ``*`` is a
part of the list, unless ldifde's ``changetype: modify`` records of the same
DN follow with the rest: the group is kept with ``members_complete=False`` and
reported with its line (see :class:`sidtool.sources.entries.DirectoryBuilder`),
never taken as whole.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from sidtool.errors import IncompleteInput, InputError
from sidtool.model import Directory
from sidtool.sources.entries import DirectoryBuilder
from sidtool.sources.text import MAX_LINE_BYTES, OverlongLine, head_text, text_lines

Problem = Callable[[InputError], None]
NAME = "ldif"
DESCRIPTION = "an LDIF export (ldifde, ldapsearch)"


@dataclass(slots=True)
class LdifRecord:
    """One entry: its DN, its attributes (lower-case names, without options), and where it started."""

    dn: str
    attributes: dict[str, list[bytes]] = field(default_factory=dict)
    line: int = 0
    changetype: str = "add"
    member_ranges: list[tuple[int, int | None]] | None = None  # member;range=LOW-HIGH options, HIGH None for "*"

    @property
    def partial_attributes(self) -> tuple[str, ...]:
        """Attributes the record holds only part of: ``member`` when its ranges do not run from 0 to ``*``."""
        return ("member",) if self.member_ranges is not None and not _whole(self.member_ranges) else ()


def read_ldif(stream: BinaryIO, source: str, on_problem: Problem) -> Iterator[LdifRecord]:
    """Yield the records of an LDIF stream; report each bad record to ``on_problem`` and go on.

    Each line is parsed as it is read: memory holds the record's values, never its lines too.
    """
    parser = _RecordParser(source)
    for number, line in _logical_lines(text_lines(stream)):
        if line == "":
            record = parser.finish(on_problem)
            if record is not None:
                yield record
        else:
            parser.add(number, line)
    record = parser.finish(on_problem)
    if record is not None:
        yield record


def _logical_lines(lines: Iterator[str | OverlongLine]) -> Iterator[tuple[int, str | OverlongLine]]:
    """Unfold continuation lines and drop comments; yield (first physical line number, text).

    A logical line whose folded parts add up to more than :data:`MAX_LINE_BYTES` comes out as an
    :class:`OverlongLine`, and its parts are not kept.
    """
    current: list[str] = []
    size = 0  # of the logical line so far; its parts are dropped once it is over the limit
    start = 0
    in_comment = False
    for number, line in enumerate(lines, 1):
        if isinstance(line, OverlongLine):
            if current or size:
                yield start, _joined(current, size)
            current, size, start, in_comment = [], 0, number, False
            yield number, line
            continue
        if line[:1] in _FOLDS and (current or size or in_comment):
            if not in_comment:
                size += len(line) - 1
                if size > MAX_LINE_BYTES:
                    current = []
                else:
                    current.append(line[1:])
            continue
        if current or size:
            yield start, _joined(current, size)
            current, size = [], 0
        in_comment = line.startswith("#")
        if in_comment:
            continue
        if line.strip() == "":
            yield number, ""
            continue
        current, size, start = [line], len(line), number
    if current or size:
        yield start, _joined(current, size)


_FOLDS = (" ", "\t")


def _joined(parts: list[str], size: int) -> str | OverlongLine:
    return OverlongLine(size) if size > MAX_LINE_BYTES else "".join(parts)


class _RecordParser:
    """Builds one record from its logical lines; after the first error, ignores the rest of the record."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.first = True  # the first record of the file may start with 'version: 1'
        self._reset()

    def _reset(self) -> None:
        self.start = 0
        self.record: LdifRecord | None = None
        self.error: InputError | None = None
        self.operation: str | None = None
        self.skipping = False  # in an ldapsearch reference or result block: not an entry

    def add(self, number: int, line: str | OverlongLine) -> None:
        if self.error is not None or self.skipping:
            return
        if not self.start:
            self.start = number
        try:
            self._add(number, line)
        except InputError as error:
            self.error = error

    def _add(self, number: int, line: str | OverlongLine) -> None:
        if isinstance(line, OverlongLine):
            raise line.error(self.source, number)
        name, value = _attribute_value(line, self.source, number)
        record = self.record
        if record is None:
            if self.first and name == "version":
                return
            if name in _NOT_ENTRIES:
                self._skip_block(name, value, number)
                return
            if name != "dn":
                raise InputError(f"record starts with {name!r}, expected 'dn'", **self._where(number))
            try:
                self.record = LdifRecord(dn=value.decode("utf-8"), line=self.start)
            except UnicodeDecodeError as error:
                raise InputError(f"DN is not UTF-8 ({error.reason})", source=self.source,
                                 location=f"line {self.start}") from None  # fmt: skip
            return
        if name == "changetype":
            record.changetype = value.decode("ascii", "replace").strip().lower()
            if record.changetype not in ("add", "modify"):
                raise InputError(f"changetype {record.changetype!r} is not an export", **self._where(number))
        elif record.changetype == "modify" and name in ("add", "replace", "delete"):
            self.operation = value.decode("utf-8", "replace").split(";", 1)[0].strip().lower()
            if name != "add":
                raise InputError(f"'{name}:' in an export", **self._where(number))
        elif name == "-":
            self.operation = None
        elif name == "control":
            return  # a response control ldapsearch prints with an entry: not an attribute
        else:
            if record.changetype == "modify" and self.operation != name:
                raise InputError(f"{name!r} outside an 'add:' section", **self._where(number))
            record.attributes.setdefault(name, []).append(value)
            if name == "member" and line[6:7] == ";":
                self._member_range(record, line, number)

    def _skip_block(self, name: str, value: bytes, number: int) -> None:
        """An ldapsearch ``ref:`` record or ``search:``/``result:`` block: skipped; a failed result is reported."""
        self.skipping = name != "search"  # "search:" is followed by its "result:" line, read below
        if name == "result":
            code, _, words = value.decode("utf-8", "replace").strip().partition(" ")
            if code != "0":
                raise IncompleteInput(
                    f"the search that wrote this export ended with 'result: {code} {words}': entries after this "
                    f"point are missing (for AD, export with paging: ldapsearch -E pr=1000/noprompt)",
                    **self._where(number),
                )
            # the block's remaining lines (control:, pagedresults:) are skipped with it

    def _member_range(self, record: LdifRecord, line: str, number: int) -> None:
        match = _RANGE.search(line, 0, line.find(":"))
        if match is None:
            return  # another option (member;binary): the values are whole
        low, high = int(match["low"]), None if match["high"] == "*" else int(match["high"])
        if record.member_ranges is None:
            record.member_ranges = []
        if not record.member_ranges or record.member_ranges[-1] != (low, high):
            record.member_ranges.append((low, high))

    def _where(self, number: int) -> dict[str, str]:
        return {"source": self.source, "location": f"line {number}"}

    def finish(self, on_problem: Problem) -> LdifRecord | None:
        """The record read since the last blank line (None if there was none, or it was bad)."""
        record, error, started = self.record, self.error, self.start
        self._reset()
        if started:
            self.first = False
        if error is not None:
            on_problem(error)
            return None
        return record


_NOT_ENTRIES = frozenset({"ref", "search", "result"})
_RANGE = re.compile(r";range=(?P<low>\d+)-(?P<high>\d+|\*)", re.IGNORECASE)


def _whole(ranges: list[tuple[int, int | None]]) -> bool:
    """Do the ranges, in order, run from 0 to ``*`` without a hole?"""
    expected = 0
    for low, high in ranges:
        if low != expected:
            return False
        if high is None:
            return True
        expected = high + 1
    return False


_NAMES: dict[str, str] = {}  # attribute names as written -> as compared; an export uses a few dozen
_NAMES_MEMO_SIZE = 4096


def _attribute_value(line: str, source: str, number: int) -> tuple[str, bytes]:
    if line == "-":
        return "-", b""
    colon = line.find(":")
    if colon <= 0:
        raise InputError(f"expected 'attribute: value', got {line[:40]!r}", source=source, location=f"line {number}")
    name = _NAMES.get(line[:colon])
    if name is None:
        name = line[:colon].split(";", 1)[0].strip().lower()  # drop options: member;range=0-1499
        if len(_NAMES) < _NAMES_MEMO_SIZE:
            _NAMES[line[:colon]] = name
    rest = line[colon + 1 :]
    if rest.startswith(":"):
        try:
            return name, base64.b64decode(rest[1:].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise InputError(f"{name}: value is not valid base64", source=source, location=f"line {number}") from None
    if rest.startswith("<"):
        raise InputError(f"{name}: URL values (':<') are not read", source=source, location=f"line {number}")
    return name, rest.lstrip(" ").encode("utf-8")


def load_ldif(stream: BinaryIO, source: str, on_problem: Problem) -> Directory:
    """Read a whole LDIF export into the model, one record at a time."""
    builder = DirectoryBuilder(source, on_problem)
    gaps: list[str] = []

    def problem(error: InputError) -> None:
        if isinstance(error, IncompleteInput):
            gaps.append(str(error))  # the export is cut short: the report names it among what it could not check
        else:
            on_problem(error)

    for record in read_ldif(stream, source, problem):
        if record.changetype == "modify":
            builder.add_members(record.dn, record.attributes.get("member", []), record.line)
        else:
            builder.add(record)
    directory = builder.build()
    return replace(directory, gaps=directory.gaps + tuple(gaps)) if gaps else directory


def sniff(head: bytes) -> bool:
    """Does the input start like LDIF: ``version:`` or ``dn:`` after comments and blank lines?"""
    for line in head_text(head).splitlines():
        if line.strip() and not line.startswith("#"):
            return line.lower().startswith(("version:", "dn:", "dn::"))
    return False


load = load_ldif
