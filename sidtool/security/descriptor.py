"""Security descriptors, ACLs and ACEs: the binary self-relative form and the model.

Layouts follow [MS-DTYP]:

* 2.4.6 SECURITY_DESCRIPTOR, self-relative: Revision (1 byte, always 1), Sbz1
  (1 byte; the resource-manager control byte when the RM flag is set), Control
  (16 bits), then four 32-bit offsets from the start of the descriptor to the
  owner SID, group SID, SACL and DACL (0 when the part is absent);
* 2.4.5 ACL: AclRevision (2, or 4 when object ACEs may appear), Sbz1, AclSize
  (16 bits, header included), AceCount (16 bits), Sbz2, then the ACEs;
* 2.4.4.1 ACE_HEADER: AceType, AceFlags, AceSize (16 bits, header included),
  followed by a body whose shape depends on the type (2.4.4.2 to 2.4.4.17).

All integers are little-endian. The Exchange store prefixes
PR_NT_SECURITY_DESCRIPTOR with its own header, whose first WORD is the length
of that header (edkmdb.h, macro ``SECURITY_DESCRIPTOR_OF``): the descriptor
starts that many bytes into the property value.

Exactness: ``bytes(SecurityDescriptor.from_bytes(b)) == b`` for every ``b``
this module accepts. Each ACL keeps its Sbz fields and the bytes between its
last ACE and AclSize; each ACE keeps every byte after its SID (callback
application data, resource attribute data, or padding); a descriptor parsed
from bytes remembers where its parts were and the bytes around them. A
descriptor built another way (SDDL, or ``dataclasses.replace`` changing the
size of a part) is laid out canonically: header, owner, group, SACL, DACL —
the order Samba's NDR encoder uses.

Malformed input raises :class:`~sidtool.errors.DescriptorError` naming the
byte offset of the fault, never ``struct.error`` or ``IndexError``.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from sidtool.errors import DescriptorError
from sidtool.security.sid import MAX_SUB_AUTHORITIES, Sid

__all__ = [
    "Ace",
    "AceFlag",
    "AceType",
    "Acl",
    "Control",
    "SecurityDescriptor",
    "clear_caches",
    "decode_descriptor",
    "store_property_header",
]


class AceType(IntEnum):
    """ACE types of [MS-DTYP] 2.4.4.1 (values from winnt.h)."""

    ACCESS_ALLOWED = 0x00
    ACCESS_DENIED = 0x01
    SYSTEM_AUDIT = 0x02
    SYSTEM_ALARM = 0x03
    ACCESS_ALLOWED_COMPOUND = 0x04  # reserved; kept as a raw ACE
    ACCESS_ALLOWED_OBJECT = 0x05
    ACCESS_DENIED_OBJECT = 0x06
    SYSTEM_AUDIT_OBJECT = 0x07
    SYSTEM_ALARM_OBJECT = 0x08
    ACCESS_ALLOWED_CALLBACK = 0x09
    ACCESS_DENIED_CALLBACK = 0x0A
    ACCESS_ALLOWED_CALLBACK_OBJECT = 0x0B
    ACCESS_DENIED_CALLBACK_OBJECT = 0x0C
    SYSTEM_AUDIT_CALLBACK = 0x0D
    SYSTEM_ALARM_CALLBACK = 0x0E
    SYSTEM_AUDIT_CALLBACK_OBJECT = 0x0F
    SYSTEM_ALARM_CALLBACK_OBJECT = 0x10
    SYSTEM_MANDATORY_LABEL = 0x11
    SYSTEM_RESOURCE_ATTRIBUTE = 0x12
    SYSTEM_SCOPED_POLICY_ID = 0x13


class AceFlag(IntFlag):
    """ACE header flags, [MS-DTYP] 2.4.4.1."""

    OBJECT_INHERIT = 0x01
    CONTAINER_INHERIT = 0x02
    NO_PROPAGATE_INHERIT = 0x04
    INHERIT_ONLY = 0x08
    INHERITED = 0x10
    SUCCESSFUL_ACCESS = 0x40
    FAILED_ACCESS = 0x80


class Control(IntFlag):
    """SECURITY_DESCRIPTOR Control bits, [MS-DTYP] 2.4.6."""

    OWNER_DEFAULTED = 0x0001
    GROUP_DEFAULTED = 0x0002
    DACL_PRESENT = 0x0004
    DACL_DEFAULTED = 0x0008
    SACL_PRESENT = 0x0010
    SACL_DEFAULTED = 0x0020
    DACL_TRUSTED = 0x0040
    SERVER_SECURITY = 0x0080
    DACL_AUTO_INHERIT_REQUIRED = 0x0100
    SACL_AUTO_INHERIT_REQUIRED = 0x0200
    DACL_AUTO_INHERITED = 0x0400
    SACL_AUTO_INHERITED = 0x0800
    DACL_PROTECTED = 0x1000
    SACL_PROTECTED = 0x2000
    RM_CONTROL_VALID = 0x4000
    SELF_RELATIVE = 0x8000


# Object ACE Flags field, [MS-DTYP] 2.4.4.3.
OBJECT_TYPE_PRESENT = 0x1
INHERITED_OBJECT_TYPE_PRESENT = 0x2


@dataclass(frozen=True, slots=True)
class AceKind:
    """What an ACE type is: the one table of ACE type facts ([MS-DTYP] 2.4.4.1; SDDL codes 2.5.1.1)."""

    sddl: str | None  # its ace_type code in SDDL; None where SDDL has none
    label: str  # a short name, as the table view shows it
    access: str | None  # "allow" or "deny" for DACL types; None for audit, alarm and the SACL's other types
    object: bool  # an object ACE body: Mask, Flags, GUIDs, Sid (2.4.4.3); else Mask, Sid (2.4.4.2)
    callback: bool  # carries application data after the SID (2.4.4.6): a conditional expression where SDDL has one
    sacl: bool  # belongs in a SACL (audit, alarm, label, resource attribute, scoped policy)


ACE_KINDS: dict[int, AceKind] = {
    AceType.ACCESS_ALLOWED: AceKind("A", "allow", "allow", False, False, False),
    AceType.ACCESS_DENIED: AceKind("D", "deny", "deny", False, False, False),
    AceType.SYSTEM_AUDIT: AceKind("AU", "audit", None, False, False, True),
    AceType.SYSTEM_ALARM: AceKind("AL", "alarm", None, False, False, True),
    AceType.ACCESS_ALLOWED_OBJECT: AceKind("OA", "allow object", "allow", True, False, False),
    AceType.ACCESS_DENIED_OBJECT: AceKind("OD", "deny object", "deny", True, False, False),
    AceType.SYSTEM_AUDIT_OBJECT: AceKind("OU", "audit object", None, True, False, True),
    AceType.SYSTEM_ALARM_OBJECT: AceKind("OL", "alarm object", None, True, False, True),
    AceType.ACCESS_ALLOWED_CALLBACK: AceKind("XA", "allow callback", "allow", False, True, False),
    AceType.ACCESS_DENIED_CALLBACK: AceKind("XD", "deny callback", "deny", False, True, False),
    AceType.ACCESS_ALLOWED_CALLBACK_OBJECT: AceKind("ZA", "allow callback object", "allow", True, True, False),
    AceType.ACCESS_DENIED_CALLBACK_OBJECT: AceKind(None, "deny callback object", "deny", True, True, False),
    AceType.SYSTEM_AUDIT_CALLBACK: AceKind("XU", "audit callback", None, False, True, True),
    AceType.SYSTEM_ALARM_CALLBACK: AceKind(None, "alarm callback", None, False, True, True),
    AceType.SYSTEM_AUDIT_CALLBACK_OBJECT: AceKind(None, "audit callback object", None, True, True, True),
    AceType.SYSTEM_ALARM_CALLBACK_OBJECT: AceKind(None, "alarm callback object", None, True, True, True),
    AceType.SYSTEM_MANDATORY_LABEL: AceKind("ML", "mandatory label", None, False, False, True),
    AceType.SYSTEM_RESOURCE_ATTRIBUTE: AceKind("RA", "resource attribute", None, False, False, True),
    AceType.SYSTEM_SCOPED_POLICY_ID: AceKind("SP", "scoped policy", None, False, False, True),
}  # ACCESS_ALLOWED_COMPOUND (0x04) is reserved: kept as a raw ACE, and so has no kind

# Views of the table. A "SID ACE" body is Mask, Sid, then optional data up to AceSize (callback
# application data, 2.4.4.6; the resource attribute, 2.4.4.15; or padding). An "object ACE" body is
# Mask, Flags, the GUIDs the flags announce, Sid, then optional data (2.4.4.3, 2.4.4.8).
SID_ACE_TYPES = frozenset(code for code, kind in ACE_KINDS.items() if not kind.object)
OBJECT_ACE_TYPES = frozenset(code for code, kind in ACE_KINDS.items() if kind.object)
CALLBACK_ACE_TYPES = frozenset(code for code, kind in ACE_KINDS.items() if kind.callback)
ALLOW_ACE_TYPES = frozenset(code for code, kind in ACE_KINDS.items() if kind.access == "allow")
DENY_ACE_TYPES = frozenset(code for code, kind in ACE_KINDS.items() if kind.access == "deny")
# ACE flags by their SDDL codes ([MS-DTYP] 2.5.1.1 ace_flag_string), in the order SDDL writes them.
ACE_FLAG_CODES: tuple[tuple[str, AceFlag], ...] = (
    ("OI", AceFlag.OBJECT_INHERIT),
    ("CI", AceFlag.CONTAINER_INHERIT),
    ("NP", AceFlag.NO_PROPAGATE_INHERIT),
    ("IO", AceFlag.INHERIT_ONLY),
    ("ID", AceFlag.INHERITED),
    ("SA", AceFlag.SUCCESSFUL_ACCESS),
    ("FA", AceFlag.FAILED_ACCESS),
)
ACL_REVISIONS = (2, 4)  # ACL_REVISION and ACL_REVISION_DS, [MS-DTYP] 2.4.5

_SD_HEADER = struct.Struct("<BBHIIII")
_ACL_HEADER = struct.Struct("<BBHHH")
_ACE_HEADER = struct.Struct("<BBH")
_ACE_HEADER_MASK = struct.Struct("<BBHI")
_UINT32 = struct.Struct("<I")
_UINT16 = struct.Struct("<H")
_SID_HEAD = struct.Struct("<BB")
_SD_HEADER_SIZE = 20
_ACL_HEADER_SIZE = 8

# Interning tables: values (not descriptors) keyed by their exact bytes. A
# directory holds a few thousand distinct SIDs and ACEs, repeated across
# hundreds of thousands of descriptors. Bounded; cleared when full.
_INTERN_LIMIT = 1 << 16
_SID_CACHE: dict[bytes, Sid] = {}
_GUID_CACHE: dict[bytes, uuid.UUID] = {}
_ACE_CACHE: dict[bytes, Ace] = {}


def _error(message: str, offset: int) -> DescriptorError:
    return DescriptorError(f"{message} (at byte offset {offset})", offset=offset)


@dataclass(frozen=True, slots=True)
class Ace:
    """One access control entry.

    ``mask`` and ``sid`` are None only for a raw ACE: a type this module does
    not know (or the reserved compound type), whose body is kept in ``body``.
    ``object_flags`` is None for ACEs that are not object ACEs.
    ``application_data`` holds every byte after the SID up to AceSize: a
    conditional expression ([MS-DTYP] 2.4.4.17), a resource attribute
    (2.4.10.1) or padding; SDDL compiles to it and writes it back
    (:mod:`sidtool.security.sddl`).
    """

    type: int
    flags: int
    mask: int | None
    sid: Sid | None
    object_type: uuid.UUID | None = None
    inherited_object_type: uuid.UUID | None = None
    object_flags: int | None = None
    application_data: bytes = b""
    body: bytes = b""

    # -- what it is ------------------------------------------------------------

    @property
    def type_name(self) -> str:
        try:
            return AceType(self.type).name
        except ValueError:
            return f"UNKNOWN_0x{self.type:02X}"

    @property
    def is_raw(self) -> bool:
        return self.mask is None

    @property
    def is_object(self) -> bool:
        return self.type in OBJECT_ACE_TYPES

    @property
    def is_allow(self) -> bool:
        return self.type in ALLOW_ACE_TYPES

    @property
    def is_inherited(self) -> bool:
        return bool(self.flags & AceFlag.INHERITED)

    @property
    def inherit_only(self) -> bool:
        return bool(self.flags & AceFlag.INHERIT_ONLY)

    # -- bytes -----------------------------------------------------------------

    def __bytes__(self) -> bytes:
        if self.mask is None:
            body = self.body
        else:
            if self.sid is None:
                raise DescriptorError(f"{self.type_name} ACE has no SID")
            parts = [_UINT32.pack(self.mask)]
            if self.type in OBJECT_ACE_TYPES:
                flags = self.object_flags
                if flags is None:
                    flags = (OBJECT_TYPE_PRESENT if self.object_type else 0) | (
                        INHERITED_OBJECT_TYPE_PRESENT if self.inherited_object_type else 0
                    )
                parts.append(_UINT32.pack(flags))
                if flags & OBJECT_TYPE_PRESENT:
                    parts.append(self.object_type.bytes_le if self.object_type else bytes(16))
                if flags & INHERITED_OBJECT_TYPE_PRESENT:
                    parts.append(self.inherited_object_type.bytes_le if self.inherited_object_type else bytes(16))
            parts.append(bytes(self.sid))
            parts.append(self.application_data)
            body = b"".join(parts)
        size = 4 + len(body)
        if size > 0xFFFF:
            raise DescriptorError(f"{self.type_name} ACE is {size} bytes, more than AceSize can say")
        return _ACE_HEADER.pack(self.type, self.flags, size) + body

    @classmethod
    def from_bytes(cls, data: bytes) -> Ace:
        """Parse exactly one ACE."""
        data = bytes(data)
        ace, end = _read_ace(data, 0, len(data))
        if end != len(data):
            raise _error(f"{len(data) - end} unexpected bytes after the ACE", end)
        return ace


@dataclass(frozen=True, slots=True)
class Acl:
    """An access control list: its revision and its ACEs, in order.

    ``sbz1``, ``sbz2`` and ``padding`` (bytes between the last ACE and
    AclSize) exist to reproduce the input bytes exactly; they take no part in
    comparisons.
    """

    revision: int
    aces: tuple[Ace, ...]
    sbz1: int = field(default=0, compare=False, repr=False)
    sbz2: int = field(default=0, compare=False, repr=False)
    padding: bytes = field(default=b"", compare=False, repr=False)

    def __iter__(self) -> Iterator[Ace]:
        return iter(self.aces)

    def __len__(self) -> int:
        return len(self.aces)

    def __bytes__(self) -> bytes:
        body = b"".join(bytes(ace) for ace in self.aces) + self.padding
        size = _ACL_HEADER_SIZE + len(body)
        if size > 0xFFFF:
            raise DescriptorError(f"ACL is {size} bytes, more than AclSize can say")
        if len(self.aces) > 0xFFFF:
            raise DescriptorError(f"ACL holds {len(self.aces)} ACEs, more than AceCount can say")
        return _ACL_HEADER.pack(self.revision, self.sbz1, size, len(self.aces), self.sbz2) + body

    @classmethod
    def from_bytes(cls, data: bytes) -> Acl:
        """Parse exactly one ACL."""
        data = bytes(data)
        acl = _read_acl(data, 0, len(data))
        (size,) = _UINT16.unpack_from(data, 2)
        if size != len(data):
            raise _error(f"{len(data) - size} unexpected bytes after the ACL", size)
        return acl


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the parts of a parsed descriptor were: (offset, length) or None, and the bytes."""

    owner: tuple[int, int] | None
    group: tuple[int, int] | None
    sacl: tuple[int, int] | None
    dacl: tuple[int, int] | None
    original: bytes


@dataclass(frozen=True, slots=True)
class SecurityDescriptor:
    """A security descriptor: control flags, owner, group, SACL and DACL.

    ``dacl is None`` means no DACL is stored; whether that is "no DACL" or a
    NULL DACL (``Control.DACL_PRESENT`` set) is in ``control``. An empty DACL is
    an :class:`Acl` without ACEs. The same holds for the SACL.
    """

    control: int
    owner: Sid | None = None
    group: Sid | None = None
    sacl: Acl | None = None
    dacl: Acl | None = None
    revision: int = 1
    resource_manager_control: int = 0
    _layout: _Layout | None = field(default=None, compare=False, repr=False)

    # -- convenience -----------------------------------------------------------

    @property
    def control_flags(self) -> Control:
        return Control(self.control)

    @property
    def dacl_present(self) -> bool:
        return bool(self.control & Control.DACL_PRESENT)

    @property
    def sacl_present(self) -> bool:
        return bool(self.control & Control.SACL_PRESENT)

    def aces(self) -> Iterator[tuple[str, Ace]]:
        """Every ACE with the name of its list: ("DACL", ace) first, then ("SACL", ace)."""
        if self.dacl is not None:
            for ace in self.dacl.aces:
                yield "DACL", ace
        if self.sacl is not None:
            for ace in self.sacl.aces:
                yield "SACL", ace

    # -- bytes -----------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes) -> SecurityDescriptor:
        """Parse a self-relative security descriptor ([MS-DTYP] 2.4.6)."""
        if not isinstance(data, bytes):
            data = bytes(data)
        return _read_descriptor(data, 0)

    @classmethod
    def from_store_property(cls, data: bytes) -> SecurityDescriptor:
        """Parse PR_NT_SECURITY_DESCRIPTOR as the Exchange store returns it (header, then descriptor).

        Error offsets count from the start of the property value.
        """
        if not isinstance(data, bytes):
            data = bytes(data)
        return _read_descriptor(data, _store_header_length(data))

    def __bytes__(self) -> bytes:
        parts = {
            "owner": bytes(self.owner) if self.owner is not None else None,
            "group": bytes(self.group) if self.group is not None else None,
            "sacl": bytes(self.sacl) if self.sacl is not None else None,
            "dacl": bytes(self.dacl) if self.dacl is not None else None,
        }
        layout = self._layout
        if layout is not None and _fits(layout, parts):
            buffer = bytearray(layout.original)
            offsets = {}
            for name, blob in parts.items():
                place = getattr(layout, name)
                if blob is None:
                    offsets[name] = 0
                    continue
                buffer[place[0] : place[0] + len(blob)] = blob
                offsets[name] = place[0]
        else:
            buffer = bytearray(_SD_HEADER_SIZE)
            offsets = {}
            for name, blob in parts.items():
                if blob is None:
                    offsets[name] = 0
                else:
                    offsets[name] = len(buffer)
                    buffer += blob
        _SD_HEADER.pack_into(
            buffer,
            0,
            self.revision,
            self.resource_manager_control,
            self.control,
            offsets["owner"],
            offsets["group"],
            offsets["sacl"],
            offsets["dacl"],
        )
        return bytes(buffer)


def _fits(layout: _Layout, parts: dict[str, bytes | None]) -> bool:
    for name, blob in parts.items():
        place = getattr(layout, name)
        if (blob is None) != (place is None):
            return False
        if blob is not None and len(blob) != place[1]:
            return False
    return True


# -- decoding ------------------------------------------------------------------


def store_property_header(data: bytes) -> bytes:
    """The Exchange store header in front of the descriptor in PR_NT_SECURITY_DESCRIPTOR."""
    return bytes(data[: _store_header_length(data)])


def _store_header_length(data: bytes) -> int:
    if len(data) < 2:
        raise _error(f"store security descriptor is {len(data)} bytes: the 2-byte header length is missing", 0)
    (length,) = _UINT16.unpack_from(data, 0)
    if length < 2:
        raise _error(f"store header length {length} is shorter than the length field itself", 0)
    if length > len(data):
        raise _error(f"store header length {length} lies outside the {len(data)}-byte value", 0)
    return length


def _read_descriptor(data: bytes, start: int) -> SecurityDescriptor:
    end = len(data)
    if end - start < _SD_HEADER_SIZE:
        raise _error(f"security descriptor truncated: header needs 20 bytes, {end - start} present", start)
    revision, sbz1, control, owner_at, group_at, sacl_at, dacl_at = _SD_HEADER.unpack_from(data, start)
    if revision != 1:
        raise _error(f"security descriptor revision {revision} is not 1", start)
    places: dict[str, tuple[int, int] | None] = {}
    owner = group = None
    sacl = dacl = None
    for name, relative in (("owner", owner_at), ("group", group_at), ("sacl", sacl_at), ("dacl", dacl_at)):
        if relative == 0:
            places[name] = None
            continue
        where = start + relative
        if relative < _SD_HEADER_SIZE:
            raise _error(f"{name} offset {relative} points into the 20-byte descriptor header", start + 4)
        if where >= end:
            raise _error(f"{name} offset {relative} lies outside the {end - start}-byte descriptor", where)
        if name in ("owner", "group"):
            sid, sid_end = _read_sid(data, where, end, name)
            places[name] = (relative, sid_end - where)
            if name == "owner":
                owner = sid
            else:
                group = sid
        else:
            acl = _read_acl(data, where, end, name.upper())
            (size,) = _UINT16.unpack_from(data, where + 2)
            places[name] = (relative, size)
            if name == "sacl":
                sacl = acl
            else:
                dacl = acl
    original = data if start == 0 else data[start:]
    layout = _Layout(places["owner"], places["group"], places["sacl"], places["dacl"], original)
    return SecurityDescriptor(control, owner, group, sacl, dacl, revision, sbz1, layout)


def _read_sid(data: bytes, offset: int, limit: int, what: str) -> tuple[Sid, int]:
    if offset + 8 > limit:
        raise _error(f"{what} SID truncated: needs 8 bytes, {max(limit - offset, 0)} present", offset)
    revision, count = _SID_HEAD.unpack_from(data, offset)
    if revision != 1:
        raise _error(f"{what} SID revision {revision} is not 1", offset)
    if count > MAX_SUB_AUTHORITIES:
        raise _error(f"{what} SID has {count} sub-authorities, at most {MAX_SUB_AUTHORITIES} allowed", offset + 1)
    sid_end = offset + 8 + 4 * count
    if sid_end > limit:
        raise _error(f"{what} SID truncated: needs {8 + 4 * count} bytes, {limit - offset} present", offset)
    key = data[offset:sid_end]
    sid = _SID_CACHE.get(key)
    if sid is None:
        sid = Sid.from_bytes(key)  # checked above, with the descriptor's offsets: decoded in one place
        if len(_SID_CACHE) >= _INTERN_LIMIT:
            _SID_CACHE.clear()
        _SID_CACHE[key] = sid
    return sid, sid_end


def _guid(data: bytes, offset: int) -> uuid.UUID:
    key = data[offset : offset + 16]
    value = _GUID_CACHE.get(key)
    if value is None:
        value = uuid.UUID(bytes_le=key)
        if len(_GUID_CACHE) >= _INTERN_LIMIT:
            _GUID_CACHE.clear()
        _GUID_CACHE[key] = value
    return value


def _read_acl(data: bytes, offset: int, limit: int, what: str = "ACL") -> Acl:
    if offset + _ACL_HEADER_SIZE > limit:
        raise _error(f"{what} header truncated: needs 8 bytes, {max(limit - offset, 0)} present", offset)
    revision, sbz1, size, count, sbz2 = _ACL_HEADER.unpack_from(data, offset)
    if revision not in ACL_REVISIONS:
        raise _error(f"{what} revision {revision} does not exist (valid: 2 and 4)", offset)
    if size < _ACL_HEADER_SIZE:
        raise _error(f"{what} size {size} is smaller than its 8-byte header", offset + 2)
    acl_end = offset + size
    if acl_end > limit:
        raise _error(f"{what} size {size} runs past the end of the data ({limit - offset} bytes left)", offset + 2)
    position = offset + _ACL_HEADER_SIZE
    aces = []
    cache = _ACE_CACHE
    for index in range(count):
        if position + 4 > acl_end:
            raise _error(
                f"{what} announces {count} ACEs but its {size} bytes end after {index}",
                position,
            )
        ace_end = position + (data[position + 2] | (data[position + 3] << 8))
        # An interned ACE is reused only when its bytes lie wholly inside this ACL.
        key = data[position:ace_end] if ace_end <= acl_end else None
        ace = cache.get(key) if key is not None else None
        if ace is None:
            ace, ace_end = _read_ace(data, position, acl_end)
            if len(cache) >= _INTERN_LIMIT:
                cache.clear()
            cache[data[position:ace_end]] = ace
        aces.append(ace)
        position = ace_end
    padding = data[position:acl_end]
    return Acl(revision, tuple(aces), sbz1, sbz2, padding)


def _read_ace(data: bytes, offset: int, limit: int) -> tuple[Ace, int]:
    if offset + 4 > limit:
        raise _error(f"ACE header truncated: needs 4 bytes, {max(limit - offset, 0)} present", offset)
    ace_type, flags, size = _ACE_HEADER.unpack_from(data, offset)
    if size < 4:
        raise _error(f"ACE size {size} is smaller than its 4-byte header", offset + 2)
    ace_end = offset + size
    if ace_end > limit:
        raise _error(f"ACE size {size} runs past the end of its ACL ({limit - offset} bytes left)", offset + 2)
    if ace_type in SID_ACE_TYPES:
        if size < 8:
            raise _error(f"{AceType(ace_type).name} ACE size {size} leaves no room for the access mask", offset + 2)
        (mask,) = _UINT32.unpack_from(data, offset + 4)
        sid, sid_end = _read_sid(data, offset + 8, ace_end, "trustee")
        ace = Ace(ace_type, flags, mask, sid, None, None, None, data[sid_end:ace_end])
    elif ace_type in OBJECT_ACE_TYPES:
        if size < 12:
            raise _error(f"{AceType(ace_type).name} ACE size {size} leaves no room for mask and flags", offset + 2)
        mask, object_flags = struct.unpack_from("<II", data, offset + 4)
        position = offset + 12
        object_type = inherited = None
        if object_flags & OBJECT_TYPE_PRESENT:
            if position + 16 > ace_end:
                raise _error("object ACE truncated inside its object type GUID", position)
            object_type = _guid(data, position)
            position += 16
        if object_flags & INHERITED_OBJECT_TYPE_PRESENT:
            if position + 16 > ace_end:
                raise _error("object ACE truncated inside its inherited object type GUID", position)
            inherited = _guid(data, position)
            position += 16
        sid, sid_end = _read_sid(data, position, ace_end, "trustee")
        ace = Ace(ace_type, flags, mask, sid, object_type, inherited, object_flags, data[sid_end:ace_end])
    else:
        ace = Ace(ace_type, flags, None, None, body=data[offset + 4 : ace_end])
    return ace, ace_end


# -- the cached entry point -------------------------------------------------------

_DESCRIPTOR_CACHE: dict[bytes, SecurityDescriptor] = {}
DESCRIPTOR_CACHE_LIMIT = 4096


def decode_descriptor(blob: bytes) -> SecurityDescriptor:
    """Decode a self-relative descriptor, decoding each distinct blob once.

    Active Directory single-instances descriptors, so a forest dump repeats a
    few thousand blobs many times. The cache is bounded (oldest dropped first)
    and holds immutable values, so sharing them is safe.
    """
    if not isinstance(blob, bytes):
        blob = bytes(blob)
    descriptor = _DESCRIPTOR_CACHE.get(blob)
    if descriptor is None:
        descriptor = _read_descriptor(blob, 0)
        if len(_DESCRIPTOR_CACHE) >= DESCRIPTOR_CACHE_LIMIT:
            del _DESCRIPTOR_CACHE[next(iter(_DESCRIPTOR_CACHE))]
        _DESCRIPTOR_CACHE[blob] = descriptor
    return descriptor


def clear_caches() -> None:
    """Empty the descriptor cache and the SID, GUID and ACE interning tables."""
    _DESCRIPTOR_CACHE.clear()
    _SID_CACHE.clear()
    _GUID_CACHE.clear()
    _ACE_CACHE.clear()
