"""The security identifier (SID) value type.

Formats follow [MS-DTYP] 2.4.2: the string form ``S-R-I-S1-S2...`` (2.4.2.1)
and the binary layout of 2.4.2.2 (revision byte, sub-authority count byte,
48-bit big-endian identifier authority, then up to 15 little-endian 32-bit
sub-authorities).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from sidtool.errors import SidError

MAX_SUB_AUTHORITIES = 15  # [MS-DTYP] 2.4.2.2: SubAuthorityCount is at most 15
_MAX_AUTHORITY = (1 << 48) - 1
_MAX_SUB_AUTHORITY = (1 << 32) - 1
_DECIMAL = re.compile(r"[0-9]+\Z")
_HEX_AUTHORITY = re.compile(r"0[xX][0-9a-fA-F]{1,12}\Z")
_HEADER = struct.Struct(">BBHI")  # revision, count, authority high 16 bits, low 32 bits


@dataclass(frozen=True, slots=True, order=True)
class Sid:
    """An immutable, hashable, ordered SID that prints as ``S-1-5-32-555``."""

    revision: int
    authority: int
    sub_authorities: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.revision != 1:
            raise SidError(f"SID revision {self.revision} is not 1")
        if not 0 <= self.authority <= _MAX_AUTHORITY:
            raise SidError(f"identifier authority {self.authority} does not fit in 48 bits")
        if len(self.sub_authorities) > MAX_SUB_AUTHORITIES:
            raise SidError(f"{len(self.sub_authorities)} sub-authorities, at most {MAX_SUB_AUTHORITIES} allowed")
        for index, value in enumerate(self.sub_authorities, 1):
            if not 0 <= value <= _MAX_SUB_AUTHORITY:
                raise SidError(f"sub-authority {index} ({value}) does not fit in 32 bits")

    # -- text ---------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Sid:
        """Parse the string form; case and surrounding white space are ignored."""
        if not isinstance(text, str):
            raise SidError(f"expected SID text, got {type(text).__name__}")
        original = text
        parts = text.strip().split("-")
        if len(parts) < 3 or parts[0].upper() != "S":
            raise SidError(f"{original!r} is not a SID: expected the form S-1-<authority>[-<sub-authority>...]")
        revision_text, authority_text, sub_texts = parts[1], parts[2], parts[3:]
        if not _DECIMAL.match(revision_text):
            raise SidError(f"{original!r}: revision {revision_text!r} is not a decimal number")
        if int(revision_text) != 1:
            raise SidError(f"{original!r}: revision {revision_text} is not 1")
        if _DECIMAL.match(authority_text):
            authority = int(authority_text)
        elif _HEX_AUTHORITY.match(authority_text):
            authority = int(authority_text, 16)
        elif authority_text == "":
            raise SidError(f"{original!r}: the identifier authority is empty")
        else:
            raise SidError(f"{original!r}: identifier authority {authority_text!r} is neither decimal nor 0x-hex")
        if authority > _MAX_AUTHORITY:
            raise SidError(f"{original!r}: identifier authority {authority_text} does not fit in 48 bits")
        if len(sub_texts) > MAX_SUB_AUTHORITIES:
            raise SidError(f"{original!r}: {len(sub_texts)} sub-authorities, at most {MAX_SUB_AUTHORITIES} allowed")
        subs = []
        for index, sub_text in enumerate(sub_texts, 1):
            if not _DECIMAL.match(sub_text):
                raise SidError(f"{original!r}: sub-authority {index} {sub_text!r} is not a decimal number")
            value = int(sub_text)
            if value > _MAX_SUB_AUTHORITY:
                raise SidError(f"{original!r}: sub-authority {index} ({sub_text}) does not fit in 32 bits")
            subs.append(value)
        return cls(1, authority, tuple(subs))

    def __str__(self) -> str:
        # [MS-DTYP] 2.4.2.1: an authority of 2^32 or more prints as 0x and 12 hex digits.
        authority = str(self.authority) if self.authority < 1 << 32 else f"0x{self.authority:012X}"
        return "-".join(["S", str(self.revision), authority, *map(str, self.sub_authorities)])

    def __repr__(self) -> str:
        return f"Sid({str(self)!r})"

    # -- bytes --------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes) -> Sid:
        """Parse exactly one binary SID; trailing bytes are an error."""
        sid, end = cls.read(data, 0)
        if end != len(data):
            raise SidError(f"{len(data) - end} unexpected bytes after the SID at offset {end}")
        return sid

    @classmethod
    def read(cls, data: bytes, offset: int = 0) -> tuple[Sid, int]:
        """Parse the binary SID that starts at ``offset``; return it and the offset after it."""
        if offset < 0 or offset + 8 > len(data):
            present = max(len(data) - offset, 0)
            raise SidError(f"SID header at offset {offset} is truncated: {present} of 8 bytes present")
        revision, count, high, low = _HEADER.unpack_from(data, offset)
        if revision != 1:
            raise SidError(f"SID at offset {offset}: revision {revision} is not 1")
        if count > MAX_SUB_AUTHORITIES:
            raise SidError(f"SID at offset {offset}: {count} sub-authorities, at most {MAX_SUB_AUTHORITIES} allowed")
        end = offset + 8 + 4 * count
        if end > len(data):
            needed, present = 8 + 4 * count, len(data) - offset
            raise SidError(f"SID at offset {offset} is truncated: needs {needed} bytes, {present} present")
        subs = struct.unpack_from(f"<{count}I", data, offset + 8)
        return cls(1, (high << 32) | low, subs), end

    def __bytes__(self) -> bytes:
        count = len(self.sub_authorities)
        header = _HEADER.pack(self.revision, count, self.authority >> 32, self.authority & 0xFFFFFFFF)
        return header + struct.pack(f"<{count}I", *self.sub_authorities)

    # -- structure ----------------------------------------------------------

    @property
    def rid(self) -> int | None:
        """The last sub-authority (the relative identifier), or None when there is none."""
        return self.sub_authorities[-1] if self.sub_authorities else None

    @property
    def domain(self) -> Sid | None:
        """The SID without its RID (``S-1-5-21-a-b-c`` for ``S-1-5-21-a-b-c-512``)."""
        if not self.sub_authorities:
            return None
        return Sid(self.revision, self.authority, self.sub_authorities[:-1])

    def split(self) -> tuple[Sid, int]:
        """Return (domain part, RID); a SID without sub-authorities cannot be split."""
        if not self.sub_authorities:
            raise SidError(f"{self} has no sub-authority to split off as a RID")
        return Sid(self.revision, self.authority, self.sub_authorities[:-1]), self.sub_authorities[-1]

    def is_under(self, prefix: Sid) -> bool:
        """True when this SID equals ``prefix`` or extends it with more sub-authorities."""
        count = len(prefix.sub_authorities)
        return (
            self.authority == prefix.authority
            and len(self.sub_authorities) >= count
            and self.sub_authorities[:count] == prefix.sub_authorities
        )


BUILTIN_DOMAIN = Sid(1, 5, (32,))  # S-1-5-32, [MS-DTYP] 2.4.2.4
# The well-known SIDs the analysis names itself ([MS-DTYP] 2.4.2.4); their names come from the catalog.
EVERYONE = Sid(1, 1, (0,))  # S-1-1-0: a store export's "Default"
ANONYMOUS_LOGON = Sid(1, 5, (7,))  # S-1-5-7: a store export's "Anonymous"
AUTHENTICATED_USERS = Sid(1, 5, (11,))  # S-1-5-11
