"""sidtool's own snapshot: everything the analysis needs, as versioned JSON (gzip when named ``.gz``).

``sidtool collect`` writes it; ``sidtool report`` reads it like any other input.
The format is documented in docs/snapshot.md. A record that cannot be read is
reported with its place (``principals[12]``) and skipped; a snapshot of a newer
version than this sidtool knows is refused as a whole.

sidtool writes the document with one record per line (still one JSON document:
the line ends are whitespace between tokens), and reads that layout a line at a
time, so that neither side holds the whole text or its parsed form. Any other
layout of the same JSON (an older snapshot, or one re-indented by a tool) is
read whole.

Limits, each refused with exit 2 and a location (a hostile snapshot must not cost unbounded memory):

- a line (of the decompressed text) longer than :data:`~sidtool.sources.text.MAX_LINE_BYTES` (16 MiB,
  the text readers' limit): ``line N``;
- a gzip stream that inflates to more than :data:`MAX_INFLATION` times the compressed bytes read so far
  plus :data:`INFLATION_FLOOR` (a "zip bomb"): ``byte N`` of the decompressed text;
- JSON nested deeper than :data:`MAX_DEPTH` (the format needs 5 levels; Python's parser recurses and
  would fail with a RecursionError near 1,000): ``line N`` or ``byte N``;
- a snapshot in another layout, read whole, of more than :data:`MAX_WHOLE_BYTES`.

A record whose fields have the wrong JSON types (a number where the format has a string, a string
where it has a list) is reported with its place and skipped, like any other unreadable record.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields, is_dataclass
from datetime import datetime, timezone
from functools import cache, lru_cache
from typing import Any, BinaryIO

from sidtool import __version__
from sidtool.dn import split_rdns
from sidtool.errors import InputError, SidError
from sidtool.files import joined, write_atomic_bytes
from sidtool.model import (
    AclSource,
    Directory,
    Domain,
    DomainController,
    EntryColumns,
    ExchangeServer,
    FolderPermissions,
    PermissionEntry,
    Principal,
    PrincipalKind,
    PublicFolder,
    PublicFolderTree,
    PublicStore,
    RightsKind,
)
from sidtool.security.sid import Sid
from sidtool.sources.text import MAX_LINE_BYTES

NAME = "snapshot"
DESCRIPTION = "a sidtool snapshot (sidtool collect)"
FORMAT = "sidtool-snapshot"
VERSION = 2  # 2: the lists "others" and "references" (a reader of 1 would refuse them without saying why)
_GZIP_MAGIC = b"\x1f\x8b"
# Measured with sidtool's own writer (gzip level 6): the example forest compresses 10 times, a generated forest of
# 20,000 users and 2,000 folders (benchmarks/gen_forest.py --snapshot) 21 times; deflate cannot exceed about 1,030
# (RFC 1951: a 258-byte match costs 2 bits at best). 100 times the compressed bytes read so far, plus 32 MiB so that
# small files of extreme repetition pass, leaves real snapshots a margin of 5 and stops a 2 MB bomb after about
# 230 MB of text, read a line at a time, never held whole.
MAX_INFLATION = 100
INFLATION_FLOOR = 32 << 20
MAX_DEPTH = 64  # JSON nesting; sidtool's own snapshots nest 5 deep
MAX_WHOLE_BYTES = 64 << 20  # a snapshot not in the line layout is parsed whole: its text and parse are held
_LISTS = ("domains", "domain_controllers", "principals", "exchange_servers", "public_stores", "folder_trees",
          "public_folders", "permissions", "gaps", "others", "references")  # fmt: skip
_STRINGS = frozenset({"gaps", "others", "references"})  # the lists of plain strings (the others are of records)


def sniff(head: bytes) -> bool:
    """A gzip stream, or JSON that names the snapshot format near its start."""
    return head.startswith(_GZIP_MAGIC) or (head.lstrip()[:1] == b"{" and FORMAT.encode() in head[:4096])


def _header(directory: Directory, source: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tool": f"sidtool {__version__}",
        "source": source or {},
        "forest_root_dn": directory.forest_root_dn,
        "cross_refs_untyped": directory.cross_refs_untyped,
    }


def _lists(directory: Directory) -> Iterator[tuple[str, Iterable[Any]]]:
    """Each list of the document with its records, JSON-ready, made one at a time."""
    for key in _LISTS[:-3]:
        yield key, (_plain(item) for item in getattr(directory, key))
    yield "gaps", list(directory.gaps)
    yield "others", sorted(directory.others)  # (version 2; a snapshot of version 1 reads as one without them)
    yield "references", list(directory.references)


def to_document(directory: Directory, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document for ``directory``; ``source`` says where it was collected (never credentials)."""
    return {**_header(directory, source), **{key: list(records) for key, records in _lists(directory)}}


def document_lines(directory: Directory, source: dict[str, Any] | None = None) -> Iterator[str]:
    """The document's text, one record per line: the header, then each list opened, its records, closed."""
    header = _dumps(_header(directory, source))
    yield header[:-1] + ",\n"
    lists = list(_lists(directory))
    for number, (key, records) in enumerate(lists):
        yield f"{_dumps(key)}:[\n"
        previous = None
        for record in records:
            if previous is not None:
                yield previous + ",\n"
            previous = _dumps(record)
        if previous is not None:
            yield previous + "\n"
        yield "]}\n" if number == len(lists) - 1 else "],\n"


def save(directory: Directory, path: str, source: dict[str, Any] | None = None) -> None:
    """Write a snapshot (see :mod:`sidtool.files`); gzip when ``path`` ends in ``.gz``; ``-`` is standard output.

    A new snapshot file is made 0600: it holds directory data. The text is made and written a record at a
    time, never held whole.
    """
    pieces = (line.encode("utf-8") for line in document_lines(directory, source))
    write_atomic_bytes(path, _gzipped(pieces) if path.endswith(".gz") else joined(pieces, 1 << 20), private=True)


def _gzipped(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """A gzip stream (RFC 1952, modification time 0: the same model gives the same bytes) of ``pieces``."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in joined(pieces, 1 << 20):
        yield compressor.compress(chunk)
    yield compressor.flush()


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


# what json.dumps(value, ensure_ascii=False, separators=(",", ":")) makes, without a new encoder for each record
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def load(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Directory:
    """Read a snapshot into the model: a line at a time in sidtool's layout, else as one document."""
    lines = _Lines(stream, source)
    try:
        first = next(lines, b"")
        if lines.compressed is not None and not first.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
            raise InputError("a gzip file that is not a sidtool snapshot: sidtool reads only its own snapshots "
                             "compressed; decompress other inputs first (gunzip FILE)", source=source)  # fmt: skip
        document, streamed = _streamed(first, lines)
        if document is None:
            raw = _whole(first, lines, source)
            _check_depth(raw, source, "byte {}")
            document = json.loads(raw)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise InputError(f"not a readable gzip snapshot ({error})", source=source) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg}", source=source, location=f"byte {error.pos}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 JSON ({error.reason})", source=source, location=f"byte {error.start}") from None
    except RecursionError:  # not reached past the depth check; kept so that no nesting can end in exit 4
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels", source=source) from None
    _check_header(document, source)
    reader = _Reader(source, on_problem)
    if streamed:
        try:
            built = reader.lines(lines)
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as error:  # the compressed stream is damaged
            raise InputError(f"not a readable gzip snapshot ({error})", source=source) from None
    else:
        built = {key: reader.all(document, key) for key in _LISTS}
    return Directory(
        forest_root_dn=document.get("forest_root_dn"),
        domains=built.get("domains", ()),
        domain_controllers=built.get("domain_controllers", ()),
        principals=built.get("principals", ()),
        exchange_servers=built.get("exchange_servers", ()),
        public_stores=built.get("public_stores", ()),
        folder_trees=built.get("folder_trees", ()),
        public_folders=built.get("public_folders", ()),
        permissions=built.get("permissions", ()),
        gaps=built.get("gaps", ()),
        others=frozenset(built.get("others", ())),
        references=built.get("references", ()),
        cross_refs_untyped=document.get("cross_refs_untyped") is True,
    )


class _Counted:
    """A binary stream that counts the bytes read from it (the compressed size, for the inflation limit)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data


class _Lines:
    """The lines of a snapshot, plain or gzip, each at most MAX_LINE_BYTES, inflated within MAX_INFLATION.

    ``number`` is the number of the line last read (1-based); ``offset`` the decompressed bytes before it.
    """

    def __init__(self, stream: BinaryIO, source: str) -> None:
        if not hasattr(stream, "peek"):
            stream = io.BufferedReader(stream)  # type: ignore[arg-type,type-var]
        self.source = source
        self.compressed: _Counted | None = None
        if stream.peek(2)[:2] == _GZIP_MAGIC:  # type: ignore[attr-defined]
            self.compressed = _Counted(stream)
            stream = gzip.GzipFile(fileobj=self.compressed, mode="rb")  # type: ignore[assignment,call-overload]
        self.stream = stream
        self.number = 0
        self.offset = 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.stream.readline(MAX_LINE_BYTES + 2)  # room for a CR LF line end
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) > MAX_LINE_BYTES and len(line.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            raise InputError(f"a line longer than the limit of {MAX_LINE_BYTES:,} bytes", source=self.source,
                             location=f"line {self.number}")  # fmt: skip
        self.offset += len(line)
        if self.compressed is not None and self.offset > MAX_INFLATION * self.compressed.count + INFLATION_FLOOR:
            raise InputError(
                f"the gzip stream inflates more than {MAX_INFLATION} times its size (a decompression bomb?)",
                source=self.source,
                location=f"byte {self.offset}",
            )
        return line


def _whole(first: bytes, lines: _Lines, source: str) -> bytes:
    """The text of a snapshot not in the line layout, up to MAX_WHOLE_BYTES."""
    pieces = [first]
    size = len(first)
    for line in lines:
        size += len(line)
        if size > MAX_WHOLE_BYTES:
            raise InputError(
                f"a snapshot not in sidtool's line layout is read whole, up to {MAX_WHOLE_BYTES:,} bytes",
                source=source,
                location=f"line {lines.number}",
            )
        pieces.append(line)
    return b"".join(pieces)


# A JSON string (its escapes included), or one bracket: strings are skipped, brackets counted.
_DEPTH_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def _check_depth(text: bytes, source: str, where: str, base: int = 0) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH, at the byte where it gets too deep (``where`` formats it)."""
    if text.count(b"[") + text.count(b"{") <= MAX_DEPTH:
        return  # too few brackets to nest that deep: the common case costs two counts
    depth = 0
    for match in _DEPTH_TOKENS.finditer(text):
        character = text[match.start()]
        if character in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels", source=source,
                                 location=where.format(base + match.start()))  # fmt: skip
        elif character in b"]}":
            depth -= 1


def _streamed(first: bytes, lines: _Lines) -> tuple[dict[str, Any] | None, bool]:
    """The header when the snapshot is in sidtool's line layout (its lines follow in ``lines``); else (None, False)."""
    line = first.rstrip(b"\r\n")
    if not (line.startswith(b"{") and line.endswith(b",")):
        return None, False
    _check_depth(line, lines.source, "line 1, byte {}")
    try:
        header = json.loads(line[:-1] + b"}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, False
    if not isinstance(header, dict) or any(key in header for key in _LISTS):
        return None, False
    return header, True


def _check_header(document: Any, source: str) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f'not a sidtool snapshot (no "format": "{FORMAT}")', source=source)
    version = document.get("version")
    if type(version) is not int or version > VERSION:
        raise InputError(
            f"snapshot version {version!r} is newer than this sidtool reads ({VERSION}); upgrade sidtool",
            source=source,
        )
    untyped = document.get("cross_refs_untyped", False)
    if type(untyped) is not bool:
        raise InputError(f"cross_refs_untyped is true or false, not {_json_type(untyped)}", source=source,
                         location="header")  # fmt: skip
    root = document.get("forest_root_dn")
    if root is not None and not isinstance(root, str):
        raise InputError(f"forest_root_dn is a string, not {_json_type(root)}", source=source, location="header")


class _Reader:
    """Builds the model's records from the snapshot's, reporting each one it cannot build with its place."""

    def __init__(self, source: str, on_problem: Callable[[InputError], None]) -> None:
        self.source = source
        self.on_problem = on_problem

    def lines(self, lines: Iterator[bytes]) -> dict[str, tuple]:
        """The lists of a snapshot in sidtool's line layout, each record parsed and built as its line is read.

        A record line that is not JSON is reported as ``key[index] (line N)`` and skipped; a line that
        breaks the layout itself (a truncated file) ends the reading with a located error.
        """
        built: dict[str, tuple] = {}
        key: str | None = None
        records: list[Any] = []
        index = 0
        number = 1
        for number, raw in enumerate(lines, 2):
            line = raw.rstrip(b"\r\n")
            if key is None:
                opened = line[:-2].decode("utf-8", "replace").strip('"') if line.endswith(b":[") else None
                if opened not in _LISTS or opened in built:
                    raise InputError(f"expected a list of the snapshot, got {line[:40]!r}", source=self.source,
                                     location=f"line {number}")  # fmt: skip
                key, records, index = opened, [], 0
            elif line in (b"],", b"]}"):
                built[key] = tuple(records)
                key = None
                if line == b"]}":
                    break
            else:
                text = line[:-1] if line.endswith(b",") else line
                _check_depth(text, self.source, f"line {number}, byte {{}}")
                try:
                    record = json.loads(text)
                except (json.JSONDecodeError, UnicodeDecodeError) as error:
                    self.on_problem(InputError(f"not valid JSON ({error})", source=self.source,
                                               location=f"{key}[{index}] (line {number})"))  # fmt: skip
                else:
                    self.record(key, index, record, records)
                index += 1
        else:
            raise InputError("the snapshot ends early (a truncated file?)", source=self.source,
                             location=f"line {number}")  # fmt: skip
        return built

    def all(self, document: dict[str, Any], key: str) -> tuple:
        """The records of one list of a snapshot read whole."""
        records = document.get(key) or []
        if not isinstance(records, list):
            self.on_problem(InputError(f"{key} is not a list", source=self.source, location=key))
            return ()
        built: list[Any] = []
        for index, record in enumerate(records):
            self.record(key, index, record, built)
        return tuple(built)

    def record(self, key: str, index: int, record: Any, into: list[Any]) -> None:
        """Build one record of list ``key`` onto ``into``, or report why it cannot be built."""
        try:
            if key in _STRINGS:
                if not isinstance(record, str):
                    raise TypeError(f"an item of {key} is a string, not {_json_type(record)}")
                if key != "gaps":
                    split_rdns(record)  # a DN (an InputError, reported with its place, if it cannot be read)
                into.append(record)
                return
            if not isinstance(record, dict):
                raise TypeError(f"a record is an object, not {_json_type(record)}")
            into.append(_BUILDERS[key](record))
        except (TypeError, ValueError, KeyError, binascii.Error) as error:
            message = str(error) if isinstance(error, SidError) else f"{type(error).__name__}: {error}"
            self.on_problem(InputError(message, source=self.source, location=f"{key}[{index}]"))


def _plain(item: Any) -> dict[str, Any]:
    """A model value as JSON-ready data: SIDs as text, bytes as base64, enums as their values."""
    names = _FIELD_NAMES.get(type(item))
    if names is None:
        names = _FIELD_NAMES[type(item)] = tuple(field.name for field in fields(item))
    return {name: _value(getattr(item, name)) for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_AS_IS = (str, int, bool, type(None))  # exactly these types (an enum that is also a str is not one of them)


def _value(value: Any) -> Any:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, Sid):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (PrincipalKind, AclSource, RightsKind)):
        return value.value
    if isinstance(value, (tuple, EntryColumns)):
        return [_value(item) for item in value]
    if is_dataclass(value):
        return _plain(value)
    return value


def _sid(value: Any) -> Sid | None:
    return None if value is None else _parsed_sid(value)


@lru_cache(maxsize=1 << 18)
def _parsed_sid(text: str) -> Sid:
    """One Sid per SID text: entries name the same trustees again and again (time, and memory)."""
    return Sid.parse(text)


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)  # fmt: skip


# The JSON type each annotation of the model's fields takes in a snapshot (SIDs, enums and bytes as strings);
# a tuple is a list, whose items are checked for strings (the entries of permissions as each is built).
_JSON_TYPES: dict[str, type] = {"str": str, "int": int, "bool": bool, "Sid": str, "PrincipalKind": str,
                                "AclSource": str, "RightsKind": str, "bytes": str, "tuple[str, ...]": list,
                                "tuple[PermissionEntry, ...] | EntryColumns": list}  # fmt: skip


@cache  # one entry per model class (eight)
def _field_types(model: type) -> tuple[tuple[str, str, frozenset[type], bool], ...]:
    """(field, annotation, JSON types it takes, whether its items are strings) for each field of a model class."""
    checks = []
    for field in fields(model):
        annotation = str(field.type)
        base = annotation.removesuffix(" | None")
        allowed = {_JSON_TYPES[base]} | ({type(None)} if base != annotation else set())
        shown = annotation.removesuffix(" | EntryColumns")  # (a snapshot's entries are a list, whatever held them)
        checks.append((field.name, shown, frozenset(allowed), base == "tuple[str, ...]"))
    return tuple(checks)


def _checked(model: type, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` when each of its fields has the JSON type the model's field takes; else a TypeError naming it."""
    for name, annotation, allowed, of_strings in _field_types(model):
        value = record.get(name)
        if value is None and name not in record:
            continue
        if type(value) not in allowed or (of_strings and value and not all(type(i) is str for i in value)):
            raise TypeError(f"{name}: expected {annotation}, got {_json_type(value)}")
    return record


def _domain(record: dict[str, Any]) -> Domain:
    return Domain(**{**_checked(Domain, record), "sid": _sid(record.get("sid"))})


def _principal(record: dict[str, Any]) -> Principal:
    _checked(Principal, record)
    return Principal(**{**record, "sid": _parsed_sid(record["sid"]), "kind": PrincipalKind(record["kind"]),
                        "members": tuple(record.get("members") or ())})  # fmt: skip


def _folder(record: dict[str, Any]) -> PublicFolder:
    descriptor = _checked(PublicFolder, record).get("descriptor")
    return PublicFolder(**{**record, "descriptor": base64.b64decode(descriptor, validate=True) if descriptor else None})


def _permissions(record: dict[str, Any]) -> FolderPermissions:
    entries = tuple(_entry(entry) for entry in _checked(FolderPermissions, record).get("entries") or ())
    return FolderPermissions(**{**record, "source": AclSource(record["source"]), "entries": entries})


def _entry(record: Any) -> PermissionEntry:
    """One permission entry, built field by field (there can be millions; fields a newer writer adds are ignored)."""
    if type(record) is not dict:
        raise TypeError(f"an entry is an object, not {_json_type(record)}")
    trustee, trustee_sid, rights = record["trustee"], record.get("trustee_sid"), record["rights"]
    allowed, location = record.get("allowed", True), record.get("location")
    if (type(trustee) is not str or (trustee_sid is not None and type(trustee_sid) is not str)
            or type(rights) is not int or type(allowed) is not bool
            or (location is not None and type(location) is not str)):  # fmt: skip
        _checked(PermissionEntry, record)  # names the field (the fast test above only says that one is wrong)
    return PermissionEntry(trustee, _sid(trustee_sid), rights, _RIGHTS_KINDS[record["rights_kind"]], allowed, location)


_RIGHTS_KINDS = {kind.value: kind for kind in RightsKind}


_BUILDERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "domains": _domain,
    "domain_controllers": lambda r: DomainController(**_checked(DomainController, r)),
    "principals": _principal,
    "exchange_servers": lambda r: ExchangeServer(**_checked(ExchangeServer, r)),
    "public_stores": lambda r: PublicStore(**_checked(PublicStore, r)),
    "folder_trees": lambda r: PublicFolderTree(**_checked(PublicFolderTree, r)),
    "public_folders": _folder,
    "permissions": _permissions,
}

__all__ = ["FORMAT", "VERSION", "document_lines", "load", "save", "sniff", "to_document"]
