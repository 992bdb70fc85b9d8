"""A security descriptor as a user pastes it: base64, hex or SDDL, detected and decoded.

Input is one value: base64 (an ``ldapsearch``/ldifde line, with or without its
``nTSecurityDescriptor::`` prefix and LDIF folding), hex (with or without spaces
or colons), or SDDL. Binary values may carry the Exchange store header of
PR_NT_SECURITY_DESCRIPTOR; it is recognised and skipped.
"""

from __future__ import annotations

import base64
import binascii
import re

from sidtool.errors import DescriptorError
from sidtool.security.descriptor import SecurityDescriptor
from sidtool.security.sddl import parse_sddl

__all__ = ["INPUT_KINDS", "detect_kind", "read_binary", "read_descriptor", "stdin_values"]

INPUT_KINDS = ("auto", "base64", "hex", "sddl")
_ATTRIBUTE_PREFIX = re.compile(r"\A\s*[A-Za-z][A-Za-z0-9;-]*::\s*")
_HEX = re.compile(r"\A(?:0x)?[0-9A-Fa-f]+\Z")
_SDDL_START = re.compile(r"\A\s*[OGDSogds]:")


def detect_kind(text: str) -> str:
    """``"sddl"``, ``"hex"`` or ``"base64"`` for a pasted value (prefix and white space ignored)."""
    if _SDDL_START.match(text):
        return "sddl"
    compact = _compact(text)
    # A binary descriptor in base64 starts "AQ" (revision 1), never all hex digits.
    if _HEX.match(compact) and len(compact.removeprefix("0x")) % 2 == 0:
        return "hex"
    return "base64"


def _compact(text: str) -> str:
    text = _ATTRIBUTE_PREFIX.sub("", text, count=1)
    return re.sub(r"[\s:]", "", text) if not _SDDL_START.match(text) else text.strip()


def read_descriptor(text: str, kind: str = "auto", domain_sid: str | None = None) -> SecurityDescriptor:
    """The descriptor in ``text``; raises DescriptorError saying what is wrong with it."""
    if kind not in INPUT_KINDS:
        raise ValueError(f"unknown input kind {kind!r}")
    if not text.strip():
        raise DescriptorError("empty value: expected base64, hex or SDDL")
    if kind == "auto":
        kind = detect_kind(text)
    if kind == "sddl":
        return parse_sddl(text.strip(), domain_sid)
    compact = _compact(text)
    if kind == "hex":
        try:
            data = bytes.fromhex(compact.removeprefix("0x"))
        except ValueError:
            raise DescriptorError("not hexadecimal: expected pairs of hex digits") from None
    else:
        try:
            data = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError) as error:
            raise DescriptorError(f"not base64: {error}") from None
    return read_binary(data)


def stdin_values(text: str, *, lines: bool) -> list[tuple[int | None, str]]:
    """Values from standard input: one (the ``nTSecurityDescriptor::`` of an LDIF entry, or all of it),
    or with ``lines`` one per line, with line numbers; LDIF folding is undone, blank, ``#`` and
    ``dn:`` lines are skipped."""
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(" ") and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        else:
            logical.append((number, line))
    if not lines:
        for _, line in logical:
            if line.lower().startswith("ntsecuritydescriptor::"):
                return [(None, line)]
        return [(None, text)]
    return [
        (number, line)
        for number, line in logical
        if line.strip() and not line.startswith("#") and not line.lower().startswith(("dn:", "version:"))
    ]


def read_binary(data: bytes) -> SecurityDescriptor:
    """A self-relative descriptor, or a PR_NT_SECURITY_DESCRIPTOR value with its store header."""
    # A descriptor starts with revision 1. The store header starts with its own
    # length (a WORD) followed by the transfer version 3 (edkmdb.h).
    if len(data) >= 4 and data[0] != 1 and data[2:4] == b"\x03\x00":
        return SecurityDescriptor.from_store_property(data)
    return SecurityDescriptor.from_bytes(data)
