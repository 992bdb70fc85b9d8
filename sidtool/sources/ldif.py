"""Streaming LDIF reader (RFC 2849), as ldifde and ldapsearch write it.

Records are read one at a time, so memory holds one record, never the file.
Handled: ``attr:: base64`` values, folded lines, comments, ``version: 1``,
``changetype: add`` and ldifde's ``changetype: modify`` / ``add: member``
continuation records, attribute options such as ``member;range=0-1499``,
UTF-8, ANSI (Windows-1252) and UTF-16 (``ldifde -u``) input. A malformed
record is reported with its file and line, and skipped; reading goes on.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from sidtool.errors import InputError
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

    def text(self, name: str) -> str | None:
        """The first value of ``name`` as text, or None."""
        values = self.attributes.get(name)
        return values[0].decode("utf-8", "replace") if values else None

    def texts(self, name: str) -> list[str]:
        return [value.decode("utf-8", "replace") for value in self.attributes.get(name, ())]

    def binary(self, name: str) -> bytes | None:
        values = self.attributes.get(name)
        return values[0] if values else None


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
        if line.startswith(" ") and (current or size or in_comment):
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

    def add(self, number: int, line: str | OverlongLine) -> None:
        if self.error is not None:
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
        else:
            if record.changetype == "modify" and self.operation != name:
                raise InputError(f"{name!r} outside an 'add:' section", **self._where(number))
            record.attributes.setdefault(name, []).append(value)

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
    for record in read_ldif(stream, source, on_problem):
        if record.changetype == "modify":
            builder.add_members(record.dn, record.attributes.get("member", []), record.line)
        else:
            builder.add(record)
    return builder.build()


def sniff(head: bytes) -> bool:
    """Does the input start like LDIF: ``version:`` or ``dn:`` after comments and blank lines?"""
    for line in head_text(head).splitlines():
        if line.strip() and not line.startswith("#"):
            return line.lower().startswith(("version:", "dn:", "dn::"))
    return False


load = load_ldif
