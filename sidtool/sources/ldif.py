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
from sidtool.sources.text import head_text, text_lines

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
    """Yield the records of an LDIF stream; report each bad record to ``on_problem`` and go on."""
    lines = _logical_lines(text_lines(stream), source)
    block: list[tuple[int, str]] = []
    first = True
    for number, line in lines:
        if line == "":
            if block:
                record = _record(block, source, on_problem, first)
                first = False
                block = []
                if record is not None:
                    yield record
            continue
        block.append((number, line))
    if block:
        record = _record(block, source, on_problem, first)
        if record is not None:
            yield record


def _logical_lines(lines: Iterator[str], source: str) -> Iterator[tuple[int, str]]:
    """Unfold continuation lines and drop comments; yield (first physical line number, text)."""
    current: list[str] = []
    start = 0
    in_comment = False
    for number, line in enumerate(lines, 1):
        if line.startswith(" ") and (current or in_comment):
            if not in_comment:
                current.append(line[1:])
            continue
        if current:
            yield start, "".join(current)
            current = []
        in_comment = line.startswith("#")
        if in_comment:
            continue
        if line.strip() == "":
            yield number, ""
            continue
        current, start = [line], number
    if current:
        yield start, "".join(current)


def _record(block: list[tuple[int, str]], source: str, on_problem: Problem, first: bool) -> LdifRecord | None:
    start = block[0][0]
    try:
        pairs = [(number, *_attribute_value(line, source, number)) for number, line in block]
        if first and pairs[0][1] == "version":
            pairs = pairs[1:]
            if not pairs:
                return None
        number, name, value = pairs[0]
        if name != "dn":
            raise InputError(f"record starts with {name!r}, expected 'dn'", source=source, location=f"line {number}")
        dn = value.decode("utf-8")
        record = LdifRecord(dn=dn, line=start)
        operation: str | None = None
        for number, name, value in pairs[1:]:
            if name == "changetype":
                record.changetype = value.decode("ascii", "replace").strip().lower()
                if record.changetype not in ("add", "modify"):
                    raise InputError(
                        f"changetype {record.changetype!r} is not an export", source=source, location=f"line {number}"
                    )
            elif record.changetype == "modify" and name in ("add", "replace", "delete"):
                operation = value.decode("utf-8").split(";", 1)[0].strip().lower()
                if name != "add":
                    raise InputError(f"'{name}:' in an export", source=source, location=f"line {number}")
            elif name == "-":
                operation = None
            else:
                if record.changetype == "modify" and operation != name:
                    raise InputError(f"{name!r} outside an 'add:' section", source=source, location=f"line {number}")
                record.attributes.setdefault(name, []).append(value)
        return record
    except InputError as error:
        on_problem(error)
    except UnicodeDecodeError as error:
        on_problem(InputError(f"DN is not UTF-8 ({error.reason})", source=source, location=f"line {start}"))
    return None


def _attribute_value(line: str, source: str, number: int) -> tuple[str, bytes]:
    if line == "-":
        return "-", b""
    colon = line.find(":")
    if colon <= 0:
        raise InputError(f"expected 'attribute: value', got {line[:40]!r}", source=source, location=f"line {number}")
    name = line[:colon].split(";", 1)[0].strip().lower()  # drop options: member;range=0-1499
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
