"""Resource attributes (the data of RA ACEs), as bytes and as SDDL text, both ways.

The binary form is CLAIM_SECURITY_ATTRIBUTE_RELATIVE_V1, [MS-DTYP] 2.4.10.1:
Name (32-bit offset of a NUL-terminated UTF-16LE name), ValueType (16 bits),
Reserved (16 bits, 0), Flags (32 bits), ValueCount (32 bits), then ValueCount
32-bit offsets, each from the start of the structure to one value: 8 bytes for
INT64 (1), UINT64 (2) and BOOLEAN (6); a NUL-terminated UTF-16LE string for
STRING (3); a 32-bit length and the bytes for SID (5) and OCTET_STRING (16).

The text form is [MS-DTYP] 2.5.1.1 ``attribute-data``: ``("name",TI,0x0,1,2)``
with the type TI, TU, TS, TD, TX or TB, the flags, then the values. Canonical
text: no spaces; flags in lower-case hex; integers in decimal (the binary form
keeps no base); SIDs bare, as aliases where one exists (no ``SID(...)``);
octet strings as ``#`` and hex; the name escaped as attribute names are
(:mod:`sidtool.security.conditions`). Reading accepts white space before each
item, any integer base, and checks each value against the type (TU not
negative, TB 0 or 1).

Our layout, which encoding always writes: the header, the offsets, the name,
then the values in order, unaligned, and zero bytes up to a multiple of four.
A structure laid out otherwise decodes to the same text and re-encodes in our
layout; bytes -> text -> bytes is exact for our layout.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sidtool.errors import DescriptorError, SidError
from sidtool.security.conditions import (
    BASE_DECIMAL,
    INT64,
    OCTETS,
    SIGN_NONE,
    STRING,
    Literal,
    _ConditionParser,
    _escape_name,
)
from sidtool.security.sid import Sid

__all__ = [
    "VALUE_TYPES",
    "ResourceAttribute",
    "decode_attribute",
    "encode_attribute",
    "format_attribute",
    "parse_attribute",
]

# ValueType codes, [MS-DTYP] 2.4.10.1, with their SDDL letters (2.5.1.1).
VALUE_TYPES = {0x0001: "TI", 0x0002: "TU", 0x0003: "TS", 0x0005: "TD", 0x0006: "TB", 0x0010: "TX"}
_TYPE_BY_CODE = {code: value for value, code in VALUE_TYPES.items()}
_HEADER = struct.Struct("<IHHII")
_UINT32 = struct.Struct("<I")
_WHITE = " \t\n\v\f\r"
_MAX_VALUES = 0x4000  # 64 KiB of ACE cannot hold more 4-byte offsets


@dataclass(frozen=True, slots=True)
class ResourceAttribute:
    """One resource attribute: name, value type code, flags and values (int, str, Sid or bytes)."""

    name: str
    value_type: int
    flags: int
    values: tuple[int | str | Sid | bytes, ...]


def _byte_error(message: str, offset: int) -> DescriptorError:
    return DescriptorError(f"{message} (at byte offset {offset} of the resource attribute)", offset=offset)


def _text_error(message: str, offset: int) -> DescriptorError:
    return DescriptorError(f"{message} (at character {offset})", offset=offset, unit="character")


# -- bytes -------------------------------------------------------------------------------------


def decode_attribute(data: bytes) -> ResourceAttribute:
    """The CLAIM_SECURITY_ATTRIBUTE_RELATIVE_V1 in an RA ACE's data."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise _byte_error(f"resource attribute truncated: header needs 16 bytes, {len(data)} present", 0)
    name_at, value_type, _reserved, flags, count = _HEADER.unpack_from(data, 0)
    if value_type not in VALUE_TYPES:
        raise _byte_error(f"unknown resource attribute value type 0x{value_type:04X}", 4)
    if count > _MAX_VALUES or _HEADER.size + 4 * count > len(data):
        raise _byte_error(f"{count} value offsets do not fit in {len(data)} bytes", 12)
    name = _string_at(data, name_at, "name")
    values: list[int | str | Sid | bytes] = []
    for index in range(count):
        (at,) = _UINT32.unpack_from(data, _HEADER.size + 4 * index)
        values.append(_value_at(data, at, value_type, index))
    return ResourceAttribute(name, value_type, flags, tuple(values))


def _string_at(data: bytes, at: int, what: str) -> str:
    if at >= len(data):
        raise _byte_error(f"{what} offset {at} lies outside the {len(data)}-byte attribute", at)
    end = at
    while end + 1 < len(data) and (data[end] or data[end + 1]):
        end += 2
    if end + 1 >= len(data):
        raise _byte_error(f"{what} at offset {at} has no terminating NUL", at)
    return data[at:end].decode("utf-16-le", errors="surrogatepass")


def _value_at(data: bytes, at: int, value_type: int, index: int) -> int | str | Sid | bytes:
    what = f"value {index + 1}"
    if value_type in (0x0001, 0x0002, 0x0006):
        if at + 8 > len(data):
            raise _byte_error(f"{what} at offset {at} runs past the end", at)
        signed = value_type == 0x0001
        return int.from_bytes(data[at : at + 8], "little", signed=signed)
    if value_type == 0x0003:
        return _string_at(data, at, what)
    if at + 4 > len(data):
        raise _byte_error(f"{what} at offset {at} runs past the end", at)
    (length,) = _UINT32.unpack_from(data, at)
    if at + 4 + length > len(data):
        raise _byte_error(f"{what} of {length} bytes runs past the end", at)
    payload = data[at + 4 : at + 4 + length]
    if value_type == 0x0010:
        return payload
    try:
        return Sid.from_bytes(payload)
    except SidError as error:
        raise _byte_error(f"{what}: {error.message}", at + 4) from None


def encode_attribute(attribute: ResourceAttribute) -> bytes:
    """The structure in our layout (module docstring), zero-padded to a multiple of four."""
    count = len(attribute.values)
    name = attribute.name.encode("utf-16-le", errors="surrogatepass") + b"\0\0"
    offset = _HEADER.size + 4 * count + len(name)
    offsets, blobs = [], []
    for value in attribute.values:
        blob = _value_bytes(value, attribute.value_type)
        offsets.append(offset)
        blobs.append(blob)
        offset += len(blob)
    header = _HEADER.pack(_HEADER.size + 4 * count, attribute.value_type, 0, attribute.flags, count)
    body = header + b"".join(_UINT32.pack(at) for at in offsets) + name + b"".join(blobs)
    return body + bytes(-len(body) % 4)


def _value_bytes(value: int | str | Sid | bytes, value_type: int) -> bytes:
    if value_type in (0x0001, 0x0002, 0x0006):
        return int(value).to_bytes(8, "little", signed=value_type == 0x0001)  # type: ignore[arg-type]
    if value_type == 0x0003:
        return str(value).encode("utf-16-le", errors="surrogatepass") + b"\0\0"
    payload = bytes(value)  # type: ignore[arg-type]
    return _UINT32.pack(len(payload)) + payload


# -- text --------------------------------------------------------------------------------------


def format_attribute(attribute: ResourceAttribute, sid_text: Callable[[Sid], str] = str) -> str:
    """The canonical SDDL ``("name",TI,0x0,1,2)``."""
    kind = VALUE_TYPES[attribute.value_type]
    parts = [f'"{_escape_name(attribute.name, local=False)}"', kind, f"0x{attribute.flags:x}"]
    for value in attribute.values:
        if kind == "TS":
            if '"' in str(value):
                raise DescriptorError(f"string {value!r} holds a double quote, which SDDL cannot write")
            parts.append(f'"{value!s}"')
        elif kind == "TD":
            parts.append(sid_text(value))  # type: ignore[arg-type]
        elif kind == "TX":
            parts.append("#" + bytes(value).hex().upper())  # type: ignore[arg-type]
        else:
            parts.append(str(value))
    return "(" + ",".join(parts) + ")"


def parse_attribute(text: str, start: int, resolve_sid: Callable[[str, int], Sid]) -> tuple[ResourceAttribute, int]:
    """Parse ``("name",TI,flags,values...)`` at ``start``; return it and the offset after its ')'."""
    parser = _ConditionParser(text, start, resolve_sid)
    parser._expect("(", "to open the resource attribute")
    parser._expect('"', "to open the attribute name")
    name = parser._escaped_name(lambda char: char == '"')
    if not name:
        raise _text_error("empty resource attribute name", parser.position)
    parser._expect('"', "to close the attribute name")
    parser._expect(",", "after the attribute name")
    parser._skip()
    kind_at = parser.position
    kind = text[kind_at : kind_at + 2]
    if kind not in _TYPE_BY_CODE:
        raise _text_error(f"unknown resource attribute type {kind!r} (TI, TU, TS, TD, TX or TB)", kind_at)
    parser.position += 2
    parser._expect(",", "after the attribute type")
    parser._skip()
    flags_at = parser.position
    flags = parser._integer()
    if flags is None or not 0 <= int(flags.value) <= 0xFFFFFFFF:  # type: ignore[arg-type]
        raise _text_error("resource attribute flags must be a 32-bit number", flags_at)
    values: list[int | str | Sid | bytes] = []
    while True:
        parser._skip()
        if parser._peek() == ")":
            parser.position += 1
            break
        parser._expect(",", "between resource attribute values")
        parser._skip()
        values.append(_value(parser, kind))
        if len(values) > _MAX_VALUES:
            raise _text_error(f"more than {_MAX_VALUES} values", parser.position)
    return ResourceAttribute(name, _TYPE_BY_CODE[kind], int(flags.value), tuple(values)), parser.position  # type: ignore[arg-type]


_BARE_SID = re.compile(r"[A-Za-z]{2}(?![A-Za-z0-9-])")


def _value(parser: _ConditionParser, kind: str) -> int | str | Sid | bytes:
    at = parser.position
    if kind == "TD":
        text = parser.text
        if text[at : at + 2].upper() == "S-":
            try:
                sid, end = Sid.read_text(text, at)
            except SidError as error:
                raise _text_error(f"bad SID: {error.message}", at) from None
            parser.position = end
            return sid
        match = _BARE_SID.match(text, at)
        if match is None:
            raise _text_error("expected a SID or a SID alias", at)
        parser.position = match.end()
        return parser.resolve_sid(match.group(), at)
    literal: Literal | None
    unsigned = re.compile(r"[0-9]+(?![A-Za-z0-9:./_])").match(parser.text, at) if kind == "TU" else None
    if unsigned is not None and not unsigned.group().startswith("0"):
        number = int(unsigned.group())
        if number > 0xFFFF_FFFF_FFFF_FFFF:
            raise _text_error(f"TU value {number} does not fit in 64 bits", at)
        parser.position = unsigned.end()
        return number
    if kind in ("TI", "TU", "TB"):
        literal = parser._integer()
        if literal is None:
            raise _text_error(f"{kind} values are numbers", at)
    else:
        literal = parser._literal(in_composite=True)
    expected = {"TS": STRING, "TX": OCTETS}.get(kind, INT64)
    if literal.kind != expected:
        raise _text_error(f"this value does not fit type {kind}", at)
    value: Any = literal.value  # an int for the number kinds (checked above), a str or bytes for TS and TX
    if kind == "TU" and literal.sign == SIGN_NONE and literal.base != BASE_DECIMAL:
        value = int(value) & 0xFFFF_FFFF_FFFF_FFFF  # hex and octal: the unsigned pattern
    if kind == "TU" and int(value) < 0:
        raise _text_error("TU values are not negative", at)
    if kind == "TB" and value not in (0, 1):
        raise _text_error("TB values are 0 or 1", at)
    return value
