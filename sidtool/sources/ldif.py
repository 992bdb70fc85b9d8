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

Reading in blocks: UTF-8 and ANSI input is read :data:`BLOCK_BYTES` at a time
and cut into records at blank lines by ``re``. A record in the plain shape
(ASCII; ``dn:`` first; ``attr: value`` and ``attr:: base64`` lines ending in
LF or CRLF; folds; leading comments; ``changetype: add``) is unfolded with
``bytes.replace``, checked and split by one ``re.findall``, and only the
attributes asked for (``attributes=``; ``load`` asks for
:data:`sidtool.sources.entries.ATTRIBUTES`) are decoded. Any other record (the
first one, modify records, ldapsearch's blocks, comments inside an entry, a CR
anywhere but before a line end, non-ASCII text, damage) goes through the
line-by-line parser with the same line numbers, so that each record and each
error comes out as before. A record not ended after :data:`BLOCK_RECORD_LIMIT`
bytes sends the rest of the file line by line (bounded pieces,
:mod:`sidtool.sources.text`), so no block holds a long line. UTF-16 input is
read line by line. :func:`read_ldif_by_lines` is that line-by-line reader
whole; ``tests/unit/sources/test_ldif_blocks.py`` compares the two.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO
from urllib.parse import unquote

from sidtool.dn import dn_key, split_rdns
from sidtool.errors import IncompleteInput, InputError
from sidtool.model import Directory
from sidtool.sources.entries import ATTRIBUTES, DirectoryBuilder
from sidtool.sources.text import (
    MAX_LINE_BYTES,
    OverlongLine,
    byte_lines,
    decode_line,
    head_text,
    text_lines,
    utf16_encoding,
)

Problem = Callable[[InputError], None]
NAME = "ldif"
DESCRIPTION = "an LDIF export (ldifde, ldapsearch)"
BLOCK_BYTES = 1 << 18  # read at a time
# A record not ended after this many bytes sends the rest of the file down the line-by-line path (in bounded
# pieces). ldifde cuts member lists at 1,500 values and AD's MaxValRange does the same for ldapsearch: a real
# record is far smaller; one this big costs its reading speed, never more memory than a block and this.
BLOCK_RECORD_LIMIT = 1 << 20


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


def read_ldif(
    stream: BinaryIO,
    source: str,
    on_problem: Problem,
    *,
    attributes: frozenset[str] | None = None,
    block: int = BLOCK_BYTES,
    record_limit: int = BLOCK_RECORD_LIMIT,
) -> Iterator[LdifRecord]:
    """Yield the records of an LDIF stream; report each bad record to ``on_problem`` and go on.

    ``attributes``: the (lower-case) attributes to keep, None for all. ``block`` and ``record_limit``
    are sizes in bytes, for tests (a block never holds a line over :data:`MAX_LINE_BYTES`).
    """
    parser = _RecordParser(source, attributes)
    head = stream.read(4)
    if utf16_encoding(head):
        yield from _line_records(text_lines(stream, prefix=head), parser, on_problem, 1)
        return
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    blocks = _BlockReader(parser, on_problem, attributes)
    yield from blocks.records(head, stream, block, min(record_limit, MAX_LINE_BYTES - 2 * block))


def read_ldif_by_lines(stream: BinaryIO, source: str, on_problem: Problem) -> Iterator[LdifRecord]:
    """The records, every line parsed on its own: the reader before blocks, kept as the tests' oracle."""
    yield from _line_records(text_lines(stream), _RecordParser(source), on_problem, 1)


def _line_records(
    lines: Iterator[str | OverlongLine], parser: _RecordParser, on_problem: Problem, first: int
) -> Iterator[LdifRecord]:
    """Records from physical lines (the first numbered ``first``); memory holds a record's values, not its lines."""
    for number, line in _logical_lines(lines, first):
        if line == "":
            record = parser.finish(on_problem)
            if record is not None:
                yield record
        else:
            parser.add(number, line)
    record = parser.finish(on_problem)
    if record is not None:
        yield record


class _BlockReader:
    """Records cut out of large blocks at their blank lines; each parsed whole when it can be, else line by line."""

    def __init__(self, parser: _RecordParser, on_problem: Problem, attributes: frozenset[str] | None) -> None:
        self.parser = parser
        self.on_problem = on_problem
        # the attributes kept, never 'changetype' nor 'control', which are read, not kept
        self.wanted: Container[str] = _ALL_BUT_SPECIAL if attributes is None else attributes - _SPECIAL
        self.keys: dict[bytes, str] = {}  # attribute names as written -> _new_key's answer

    def records(self, head: bytes, stream: BinaryIO, block: int, record_limit: int) -> Iterator[LdifRecord]:
        buffer = head
        number = 1  # the line number of buffer[0]
        scan = 0  # where the next blank line may start (a line end split between two blocks is looked at again)
        whole = self._whole
        while True:
            data = stream.read(block)
            buffer = buffer + data if buffer else data
            position = 0
            for match in _BLANK_LINES.finditer(buffer, scan):
                start = match.start()
                chunk = buffer[position:start]
                record = None if self.parser.first else whole(chunk, number)
                if record is not None:
                    yield record
                else:
                    yield from self._by_lines(chunk, number)
                end = match.end()
                number += buffer.count(b"\n", position, end)
                position = end
            if not data:
                if position < len(buffer):
                    yield from self._last(buffer[position:], number)
                return
            buffer = buffer[position:]
            if len(buffer) > record_limit:  # a record this long: the rest of the file line by line, bounded
                yield from _line_records(byte_lines(stream, prefix=buffer), self.parser, self.on_problem, number)
                return
            scan = max(0, len(buffer) - 2)

    def _last(self, chunk: bytes, number: int) -> Iterator[LdifRecord]:
        """The records of the lines after the last blank line, the first of them numbered ``number``."""
        if chunk.endswith(b"\n"):
            chunk = chunk[:-1]
        record = None if self.parser.first else self._whole(chunk, number)
        if record is not None:
            yield record
        else:
            yield from self._by_lines(chunk, number)

    def _by_lines(self, chunk: bytes, number: int) -> Iterator[LdifRecord]:
        """The records of the lines between two blank lines (the first numbered ``number``), line by line."""
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n")
            if chunk.endswith(b"\r"):
                chunk = chunk[:-1]
        lines = (decode_line(line.rstrip(b"\r")) for line in chunk.split(b"\n"))
        yield from _line_records(lines, self.parser, self.on_problem, number)

    def _whole(self, chunk: bytes, number: int) -> LdifRecord | None:
        """The record, parsed at once; None when it is not in the plain shape (it is then parsed line by line).

        Lines may end in CRLF: ``_PLAIN_LINE`` takes one CR before each line end (and at the end of the chunk, the
        CR before the blank line), so that a CR anywhere else sends the record line by line, as before.
        """
        if not chunk.isascii() or chunk.startswith((b"\n", b"\r")):  # the rest of a run of blank lines that a
            return None  # block cut: its first line is empty, and the next not a continuation of it
        if chunk.startswith(b"#"):
            comments = _LEADING_COMMENTS.match(chunk)
            if comments is None:
                return None
            number += comments.group().count(b"\n")
            chunk = chunk[comments.end() :]
        # unfold: in a record with CRs, only CRLF folds (another is left as a line of another shape, and the record
        # read line by line); a tab (rarely a fold) is looked for first. One search of a byte costs little, one of
        # a pair as much as the replace.
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n ", b"")
            if b"\t" in chunk:
                chunk = chunk.replace(b"\r\n\t", b"")
        else:
            chunk = chunk.replace(b"\n ", b"")
            if b"\t" in chunk:
                chunk = chunk.replace(b"\n\t", b"")
        lines = _PLAIN_LINE.findall(chunk)
        if len(lines) != chunk.count(b"\n") + 1:  # a line of another shape (a comment inside the entry, ...)
            return None
        name, is_base64, encoded, plain = lines[0]
        if name != b"dn" and (_key(name.partition(b";")[0]) != "dn" or b"=" in name or b"*" in name):
            return None
        try:
            record = LdifRecord((binascii.a2b_base64(encoded) if is_base64 else plain).decode("utf-8"), {}, number)
        except UnicodeDecodeError:
            return None
        attributes = record.attributes
        keys = self.keys
        del lines[0]
        for name, is_base64, encoded, plain in lines:
            key = keys.get(name) or self._new_key(name)
            if key in _MARKERS:
                if key is _SKIP:  # not kept; 'control:' (a response control ldapsearch prints) is never kept
                    continue
                if key is _CHANGETYPE:
                    if (binascii.a2b_base64(encoded) if is_base64 else plain).strip().lower() != b"add":
                        return None  # only an entry is parsed at once
                    continue
                if key is _NOT_PLAIN or not self._with_options(record, name, is_base64, encoded, plain):
                    return None
                continue
            value = binascii.a2b_base64(encoded) if is_base64 else plain
            values = attributes.get(key)
            if values is None:
                attributes[key] = [value]
            else:
                values.append(value)
        self.parser.first = False
        return record

    def _new_key(self, name: bytes) -> str:
        """What to do with an attribute written ``name``: its key if it is kept, else one of :data:`_MARKERS`."""
        base = name.partition(b";")[0]
        if b"=" in base or b"*" in base:
            key = _NOT_PLAIN  # a name is letters, digits and '-'; '=' and '*' are only for its options
        elif len(base) < len(name):
            key = _OPTIONS
        else:
            key = _key(name)
            if key == "changetype":
                key = _CHANGETYPE
            elif key not in self.wanted:
                key = _SKIP
        if len(self.keys) < _NAMES_MEMO_SIZE and len(name) <= _NAME_MEMO_LENGTH:
            self.keys[name] = key
        return key

    def _with_options(self, record: LdifRecord, name: bytes, is_base64: bytes, encoded: bytes, plain: bytes) -> bool:
        """Add a value whose name has options (``member;range=0-1499``); False for a record to read line by line."""
        base = name.partition(b";")[0]
        key = _key(base)
        value = binascii.a2b_base64(encoded) if is_base64 else plain
        if key not in self.wanted:  # 'changetype;x: modify' too is not an entry
            return key != "changetype" or value.strip().lower() == b"add"
        record.attributes.setdefault(key, []).append(value)
        if key == "member":
            found = _RANGE_BYTES.search(name, len(base))
            if found is not None:
                _add_range(record, _bound(found["low"]), None if found["high"] == b"*" else _bound(found["high"]))
        return True


_BLANK_LINES = re.compile(rb"\n(?:\r?\n)+")  # a line's end, then one or more empty lines
_LEADING_COMMENTS = re.compile(rb"(?:#[^\n]*\n(?:[ \t][^\n]*\n)*)+")  # comment lines and their continuations
# A line in the plain shape: a name (letters, digits, '-'), options, then ': value' (not starting with ':' or
# '<') or ':: base64' (whole groups of four, padded). A record with any other line is parsed line by line.
_PLAIN_LINE = re.compile(
    rb"^([A-Za-z][A-Za-z0-9;=*-]*):"  # the name and its options: _BlockReader._new_key checks the name
    rb"(?:(:) *((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?) *|(?![:<]) *([^\r\n]*))\r?$",
    re.MULTILINE,
)
_SPECIAL = frozenset({"changetype", "control"})
# what _BlockReader.keys holds for an attribute name not kept as it is (no key has '<')
_SKIP, _CHANGETYPE, _OPTIONS, _NOT_PLAIN = "<skip>", "<changetype>", "<options>", "<not plain>"
_MARKERS = frozenset({_SKIP, _CHANGETYPE, _OPTIONS, _NOT_PLAIN})


class _AllBut:
    """Every attribute name but those given."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def __contains__(self, name: object) -> bool:
        return name not in self.names


_ALL_BUT_SPECIAL = _AllBut(_SPECIAL)
_KEYS: dict[bytes, str] = {}  # attribute names as written -> as compared
_RANGE_BYTES = re.compile(rb";range=(?P<low>\d+)-(?P<high>\d+|\*)", re.IGNORECASE)


def _key(name: bytes) -> str:
    key = name.decode("ascii").lower()
    if len(_KEYS) < _NAMES_MEMO_SIZE and len(name) <= _NAME_MEMO_LENGTH:
        _KEYS[name] = key
    return key


def _logical_lines(lines: Iterator[str | OverlongLine], first: int = 1) -> Iterator[tuple[int, str | OverlongLine]]:
    """Unfold continuation lines and drop comments; yield (first physical line number, text).

    A logical line whose folded parts add up to more than :data:`MAX_LINE_BYTES` comes out as an
    :class:`OverlongLine`, and its parts are not kept.
    """
    current: list[str] = []
    size = 0  # of the logical line so far; its parts are dropped once it is over the limit
    start = 0
    in_comment = False
    for number, line in enumerate(lines, first):
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

    def __init__(self, source: str, keep: frozenset[str] | None = None) -> None:
        self.source = source
        self.keep = keep  # the attributes to keep (None: all)
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
            if self.keep is None or name in self.keep:
                record.attributes.setdefault(name, []).append(value)
            if name == "member" and line[6:7] == ";":
                self._member_range(record, line, number)

    def _skip_block(self, name: str, value: bytes, number: int) -> None:
        """An ldapsearch ``ref:`` record or ``search:``/``result:`` block: skipped; a failed result is reported, and
        a reference to a naming context that may be a domain (a child domain's) is handed on (:class:`Reference`)."""
        self.skipping = name != "search"  # "search:" is followed by its "result:" line, read below
        if name == "ref":
            url = value.decode("utf-8", "replace").strip()
            target = unquote(url.split("/", 3)[3].split("?", 1)[0]).strip() if url.count("/") >= 3 else ""
            try:
                readable = bool(target) and bool(split_rdns(target))
            except InputError:
                readable = False
            if not readable:  # a reference whose naming context cannot be told: a gap, with its line
                raise IncompleteInput(f"the export holds a reference to {url} that the search did not follow, and "
                                      "what it refers to cannot be read", **self._where(number))  # fmt: skip
            if not _OUTSIDE_THE_MODEL.match(target):
                raise Reference(target, url, **self._where(number))
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
        _add_range(record, _bound(match["low"]), None if match["high"] == "*" else _bound(match["high"]))

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
# What AD refers a search of a domain to beside other domains: the application partitions of DNS, and the
# Configuration and Schema naming contexts (what they hold that sidtool reads is missed in other ways: the
# conditions say "unknown"). A subtree search returns a continuation reference for each naming context below its
# base, from the crossRefs' dnsRoot ([MS-ADTS] 3.1.1.4.7, "Continuations"; Microsoft's "Referrals (AD DS)").
_OUTSIDE_THE_MODEL = re.compile(r"\s*(?:DC=(?:DomainDnsZones|ForestDnsZones)|CN=(?:Configuration|Schema))\s*,", re.I)
_RANGE = re.compile(r";range=(?P<low>\d+)-(?P<high>\d+|\*)", re.IGNORECASE)


def _bound(digits: str | bytes) -> int:
    """A range bound; one of more than 18 digits as 10^18 (AD's are 32-bit; int() refuses over 4,300 digits), which
    keeps the list partial unless it reaches ``*``."""
    return int(digits) if len(digits) <= 18 else 10**18


def _add_range(record: LdifRecord, low: int, high: int | None) -> None:
    """Note a ``member;range=LOW-HIGH`` option (HIGH None for ``*``); the same range again is noted once."""
    if record.member_ranges is None:
        record.member_ranges = []
    if not record.member_ranges or record.member_ranges[-1] != (low, high):
        record.member_ranges.append((low, high))


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
_NAME_MEMO_LENGTH = 256  # a longer name (with its options) is not remembered: a memo never holds a long line


def _attribute_value(line: str, source: str, number: int) -> tuple[str, bytes]:
    if line == "-":
        return "-", b""
    colon = line.find(":")
    if colon <= 0:
        raise InputError(f"expected 'attribute: value', got {line[:40]!r}", source=source, location=f"line {number}")
    name = _NAMES.get(line[:colon])
    if name is None:
        name = line[:colon].split(";", 1)[0].strip().lower()  # drop options: member;range=0-1499
        if len(_NAMES) < _NAMES_MEMO_SIZE and colon <= _NAME_MEMO_LENGTH:
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


class Reference(IncompleteInput):
    """An ldapsearch ``ref:`` the search did not follow, to a naming context that may be a domain's: not an error;
    the model keeps it (``Directory.references``) for the report to judge once every input is read."""

    def __init__(self, target: str, url: str, *, source: str | None, location: str) -> None:
        super().__init__(f"a reference to {url}", source=source, location=location)
        self.target = target


def load_ldif(stream: BinaryIO, source: str, on_problem: Problem) -> Directory:
    """Read a whole LDIF export into the model, one record at a time."""
    builder = DirectoryBuilder(source, on_problem)
    gaps: list[str] = []
    references: dict[str, str] = {}  # naming contexts referred to, by key: at most MAX_REFERENCES (then a gap, once)

    def problem(error: InputError) -> None:
        if isinstance(error, Reference):
            key = dn_key(error.target)
            if key in references:
                return
            if len(references) < MAX_REFERENCES:
                references[key] = error.target
            elif not any(gap.endswith(_TOO_MANY_REFERENCES) for gap in gaps):
                gaps.append(f"{error}: {_TOO_MANY_REFERENCES}")
        elif isinstance(error, IncompleteInput):
            gaps.append(str(error))  # the export is cut short: the report names it among what it could not check
        else:
            on_problem(error)

    for record in read_ldif(stream, source, problem, attributes=ATTRIBUTES):
        if record.changetype == "modify":
            builder.add_members(record.dn, record.attributes.get("member", []), record.line)
        else:
            builder.add(record)
    directory = builder.build()
    if references:
        directory = replace(directory, references=tuple(references.values()))
    return replace(directory, gaps=directory.gaps + tuple(gaps)) if gaps else directory


MAX_REFERENCES = 4096  # naming contexts an export's ref: lines name, kept per file (more is a gap)
_TOO_MANY_REFERENCES = f"more than {MAX_REFERENCES:,} references; the rest were not looked at"


def sniff(head: bytes) -> bool:
    """Does the input start like LDIF: ``version:`` or ``dn:`` after comments and blank lines?"""
    comment = False
    for line in head_text(head).splitlines():
        if comment and line.startswith(" "):
            continue  # a comment folded onto the next line (RFC 2849)
        comment = line.startswith("#")
        if line.strip() and not comment:
            return line.lower().startswith(("version:", "dn:", "dn::"))
    return False


load = load_ldif
