"""Descriptors for the tests: the SDDL sample file, the Samba export when present, hand-laid blobs."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

from sidtool.security.sddl import parse_sddl

DATA = Path(__file__).resolve().parent.parent / "data" / "descriptors"
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
SAMBA_LDIF = DATA / "samba_fixture_dc.ldif"


def sample_sddl() -> list[str]:
    """The canonical SDDL strings of ``ad_schema_defaults.sddl``."""
    lines = (DATA / "ad_schema_defaults.sddl").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def sample_blobs() -> list[bytes]:
    """The samples as binary descriptors (canonical layout)."""
    return [bytes(parse_sddl(text, DOMAIN_SID)) for text in sample_sddl()]


def ldif_descriptors(path: Path, attribute: str = "nTSecurityDescriptor") -> list[bytes]:
    """Every ``attribute::`` base64 value of an LDIF file, LDIF line folding undone."""
    unfolded: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(" ") and unfolded:
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    prefix = attribute.lower() + "::"
    return [base64.b64decode(line.split("::", 1)[1].strip()) for line in unfolded if line.lower().startswith(prefix)]


def samba_blobs() -> list[bytes]:
    """Descriptors of the Samba DC export, or an empty list when it is not there yet."""
    return ldif_descriptors(SAMBA_LDIF) if SAMBA_LDIF.exists() else []


def real_blobs() -> list[bytes]:
    """Samba's distinct real descriptors when available, plus the SDDL samples."""
    return list(dict.fromkeys(samba_blobs() + sample_blobs()))


def windows_layout(descriptor_bytes: bytes, *, gap: bytes = b"") -> bytes:
    """Re-lay a canonical blob the way Windows does (SACL, DACL, owner, group), ``gap`` between parts."""
    revision, sbz1, control, owner, group, sacl, dacl = struct.unpack_from("<BBHIIII", descriptor_bytes)

    def part(offset: int, kind: str) -> bytes:
        if not offset:
            return b""
        if kind == "sid":
            count = descriptor_bytes[offset + 1]
            return descriptor_bytes[offset : offset + 8 + 4 * count]
        (size,) = struct.unpack_from("<H", descriptor_bytes, offset + 2)
        return descriptor_bytes[offset : offset + size]

    pieces = [("sacl", part(sacl, "acl")), ("dacl", part(dacl, "acl")), ("owner", part(owner, "sid"))]
    pieces.append(("group", part(group, "sid")))
    body = bytearray()
    offsets = {}
    for name, blob in pieces:
        if blob:
            body += gap
            offsets[name] = 20 + len(body)
            body += blob
        else:
            offsets[name] = 0
    header = struct.pack(
        "<BBHIIII", revision, sbz1, control, offsets["owner"], offsets["group"], offsets["sacl"], offsets["dacl"]
    )
    return header + bytes(body)
