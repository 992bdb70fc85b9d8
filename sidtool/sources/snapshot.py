"""sidtool's own snapshot: everything the analysis needs, as versioned JSON (gzip when named ``.gz``).

``sidtool collect`` writes it; ``sidtool report`` reads it like any other input.
The format is documented in docs/snapshot.md. A record that cannot be read is
reported with its place (``principals[12]``) and skipped; a snapshot of a newer
version than this sidtool knows is refused as a whole.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import datetime, timezone
from typing import Any, BinaryIO

from sidtool import __version__
from sidtool.errors import InputError, SidError
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
from sidtool.output import write_atomic_bytes
from sidtool.security.sid import Sid

NAME = "snapshot"
DESCRIPTION = "a sidtool snapshot (sidtool collect)"
FORMAT = "sidtool-snapshot"
VERSION = 1
_GZIP_MAGIC = b"\x1f\x8b"


def sniff(head: bytes) -> bool:
    """A gzip stream, or JSON that names the snapshot format near its start."""
    return head.startswith(_GZIP_MAGIC) or (head.lstrip()[:1] == b"{" and FORMAT.encode() in head[:4096])


def to_document(directory: Directory, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document for ``directory``; ``source`` says where it was collected (never credentials)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tool": f"sidtool {__version__}",
        "source": source or {},
        "forest_root_dn": directory.forest_root_dn,
        "domains": [_plain(d) for d in directory.domains],
        "domain_controllers": [_plain(dc) for dc in directory.domain_controllers],
        "principals": [_plain(p) for p in directory.principals],
        "exchange_servers": [_plain(s) for s in directory.exchange_servers],
        "public_stores": [_plain(s) for s in directory.public_stores],
        "folder_trees": [_plain(t) for t in directory.folder_trees],
        "public_folders": [_plain(f) for f in directory.public_folders],
        "permissions": [_plain(p) for p in directory.permissions],
        "gaps": list(directory.gaps),
    }


def save(directory: Directory, path: str, source: dict[str, Any] | None = None) -> None:
    """Write a snapshot atomically (temporary file, then rename); gzip when ``path`` ends in ``.gz``."""
    data = json.dumps(to_document(directory, source), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    write_atomic_bytes(path, data)


def load(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Directory:
    """Read a snapshot into the model."""
    raw = stream.read()
    try:
        if raw.startswith(_GZIP_MAGIC):
            raw = gzip.decompress(raw)
        document = json.loads(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(f"not a readable gzip snapshot ({error})", source=source) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg}", source=source, location=f"byte {error.pos}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 JSON ({error.reason})", source=source, location=f"byte {error.start}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f'not a sidtool snapshot (no "format": "{FORMAT}")', source=source)
    version = document.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise InputError(
            f"snapshot version {version!r} is newer than this sidtool reads ({VERSION}); upgrade sidtool",
            source=source,
        )
    reader = _Reader(source, on_problem)
    return Directory(
        forest_root_dn=document.get("forest_root_dn"),
        domains=reader.all(document, "domains", _domain),
        domain_controllers=reader.all(document, "domain_controllers", lambda r: DomainController(**r)),
        principals=reader.all(document, "principals", _principal),
        exchange_servers=reader.all(document, "exchange_servers", lambda r: ExchangeServer(**r)),
        public_stores=reader.all(document, "public_stores", lambda r: PublicStore(**r)),
        folder_trees=reader.all(document, "folder_trees", lambda r: PublicFolderTree(**r)),
        public_folders=reader.all(document, "public_folders", _folder),
        permissions=reader.all(document, "permissions", _permissions),
        gaps=tuple(str(gap) for gap in document.get("gaps") or ()),
    )


class _Reader:
    def __init__(self, source: str, on_problem: Callable[[InputError], None]) -> None:
        self.source = source
        self.on_problem = on_problem

    def all(self, document: dict[str, Any], key: str, build: Callable[[dict[str, Any]], Any]) -> tuple:
        records = document.get(key) or []
        if not isinstance(records, list):
            self.on_problem(InputError(f"{key} is not a list", source=self.source, location=key))
            return ()
        built = []
        for index, record in enumerate(records):
            try:
                if not isinstance(record, dict):
                    raise TypeError("not an object")
                built.append(build(record))
            except (TypeError, ValueError, KeyError, binascii.Error) as error:
                message = str(error) if isinstance(error, SidError) else f"{type(error).__name__}: {error}"
                self.on_problem(InputError(message, source=self.source, location=f"{key}[{index}]"))
        return tuple(built)


def _plain(item: Any) -> dict[str, Any]:
    """A model value as JSON-ready data: SIDs as text, bytes as base64, enums as their values."""
    return {field.name: _value(getattr(item, field.name)) for field in fields(item)}


def _value(value: Any) -> Any:
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
    return None if value is None else Sid.parse(value)


def _domain(record: dict[str, Any]) -> Domain:
    return Domain(**{**record, "sid": _sid(record.get("sid"))})


def _principal(record: dict[str, Any]) -> Principal:
    return Principal(**{**record, "sid": Sid.parse(record["sid"]), "kind": PrincipalKind(record["kind"]),
                        "members": tuple(record.get("members") or ())})  # fmt: skip


def _folder(record: dict[str, Any]) -> PublicFolder:
    descriptor = record.get("descriptor")
    return PublicFolder(**{**record, "descriptor": base64.b64decode(descriptor, validate=True) if descriptor else None})


def _permissions(record: dict[str, Any]) -> FolderPermissions:
    entries = tuple(_entry(entry) for entry in record.get("entries") or ())
    return FolderPermissions(**{**record, "source": AclSource(record["source"]), "entries": entries})


def _entry(record: dict[str, Any]) -> PermissionEntry:
    sid, kind = _sid(record.get("trustee_sid")), RightsKind(record["rights_kind"])
    return PermissionEntry(**{**record, "trustee_sid": sid, "rights_kind": kind})


__all__ = ["FORMAT", "VERSION", "load", "save", "sniff", "to_document"]
