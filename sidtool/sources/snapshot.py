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
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields, is_dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, BinaryIO

from sidtool import __version__
from sidtool.errors import InputError, SidError
from sidtool.files import write_atomic_bytes
from sidtool.model import (
    AclSource,
    Directory,
    Domain,
    DomainController,
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

NAME = "snapshot"
DESCRIPTION = "a sidtool snapshot (sidtool collect)"
FORMAT = "sidtool-snapshot"
VERSION = 1
_GZIP_MAGIC = b"\x1f\x8b"
_LISTS = ("domains", "domain_controllers", "principals", "exchange_servers", "public_stores", "folder_trees",
          "public_folders", "permissions", "gaps")  # fmt: skip


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
    }


def _lists(directory: Directory) -> Iterator[tuple[str, Iterable[Any]]]:
    """Each list of the document with its records, JSON-ready, made one at a time."""
    for key in _LISTS[:-1]:
        yield key, (_plain(item) for item in getattr(directory, key))
    yield "gaps", list(directory.gaps)


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
    """Write a snapshot atomically (temporary file, then rename); gzip when ``path`` ends in ``.gz``.

    The text is made and written a record at a time, never held whole.
    """
    pieces = (line.encode("utf-8") for line in document_lines(directory, source))
    write_atomic_bytes(path, _gzipped(pieces) if path.endswith(".gz") else _batched(pieces))


def _batched(pieces: Iterable[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    buffer: list[bytes] = []
    held = 0
    for piece in pieces:
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            yield b"".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield b"".join(buffer)


def _gzipped(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """A gzip stream (RFC 1952, modification time 0: the same model gives the same bytes) of ``pieces``."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in _batched(pieces):
        yield compressor.compress(chunk)
    yield compressor.flush()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def load(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Directory:
    """Read a snapshot into the model: a line at a time in sidtool's layout, else as one document."""
    try:
        if hasattr(stream, "peek") and stream.peek(2)[:2] == _GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=stream, mode="rb")
        first = stream.readline()
        document, lines = _streamed(first, stream)
        if document is None:
            raw = first + stream.read()
            if raw.startswith(_GZIP_MAGIC):
                raw = gzip.decompress(raw)
            document = json.loads(raw)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise InputError(f"not a readable gzip snapshot ({error})", source=source) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg}", source=source, location=f"byte {error.pos}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 JSON ({error.reason})", source=source, location=f"byte {error.start}") from None
    _check_header(document, source)
    reader = _Reader(source, on_problem)
    if lines is not None:
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
        gaps=tuple(str(gap) for gap in built.get("gaps", ())),
    )


def _streamed(first: bytes, stream: BinaryIO) -> tuple[dict[str, Any] | None, Iterator[bytes] | None]:
    """The header and the remaining lines when the snapshot is in sidtool's line layout; else (None, None)."""
    line = first.rstrip(b"\r\n")
    if not (line.startswith(b"{") and line.endswith(b",")):
        return None, None
    try:
        header = json.loads(line[:-1] + b"}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, None
    if not isinstance(header, dict) or any(key in header for key in _LISTS):
        return None, None
    return header, iter(stream)


def _check_header(document: Any, source: str) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f'not a sidtool snapshot (no "format": "{FORMAT}")', source=source)
    version = document.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise InputError(
            f"snapshot version {version!r} is newer than this sidtool reads ({VERSION}); upgrade sidtool",
            source=source,
        )


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
                try:
                    record = json.loads(line[:-1] if line.endswith(b",") else line)
                except (json.JSONDecodeError, UnicodeDecodeError) as error:
                    self.on_problem(InputError(f"not valid JSON ({error})", source=self.source,
                                               location=f"{key}[{index}] (line {number})"))  # fmt: skip
                else:
                    if key == "gaps":
                        records.append(record)
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
        if key == "gaps":
            return tuple(records)
        built: list[Any] = []
        for index, record in enumerate(records):
            self.record(key, index, record, built)
        return tuple(built)

    def record(self, key: str, index: int, record: Any, into: list[Any]) -> None:
        """Build one record of list ``key`` onto ``into``, or report why it cannot be built."""
        try:
            if not isinstance(record, dict):
                raise TypeError("not an object")
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
    if isinstance(value, tuple):
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


def _domain(record: dict[str, Any]) -> Domain:
    return Domain(**{**record, "sid": _sid(record.get("sid"))})


def _principal(record: dict[str, Any]) -> Principal:
    return Principal(**{**record, "sid": _parsed_sid(record["sid"]), "kind": PrincipalKind(record["kind"]),
                        "members": tuple(record.get("members") or ())})  # fmt: skip


def _folder(record: dict[str, Any]) -> PublicFolder:
    descriptor = record.get("descriptor")
    return PublicFolder(**{**record, "descriptor": base64.b64decode(descriptor, validate=True) if descriptor else None})


def _permissions(record: dict[str, Any]) -> FolderPermissions:
    entries = tuple(_entry(entry) for entry in record.get("entries") or ())
    return FolderPermissions(**{**record, "source": AclSource(record["source"]), "entries": entries})


def _entry(record: dict[str, Any]) -> PermissionEntry:
    """One permission entry, built field by field (there can be millions; fields a newer writer adds are ignored)."""
    return PermissionEntry(
        record["trustee"],
        _sid(record.get("trustee_sid")),
        record["rights"],
        _RIGHTS_KINDS[record["rights_kind"]],
        record.get("allowed", True),
        record.get("location"),
    )


_RIGHTS_KINDS = {kind.value: kind for kind in RightsKind}


_BUILDERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "domains": _domain,
    "domain_controllers": lambda r: DomainController(**r),
    "principals": _principal,
    "exchange_servers": lambda r: ExchangeServer(**r),
    "public_stores": lambda r: PublicStore(**r),
    "folder_trees": lambda r: PublicFolderTree(**r),
    "public_folders": _folder,
    "permissions": _permissions,
}

__all__ = ["FORMAT", "VERSION", "document_lines", "load", "save", "sniff", "to_document"]
