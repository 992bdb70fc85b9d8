"""The security identifier (SID) value type.

Formats follow [MS-DTYP] 2.4.2: the string form ``S-R-I-S1-S2...`` (2.4.2.1)
and the binary layout of 2.4.2.2 (revision byte, sub-authority count byte,
48-bit big-endian identifier authority, then up to 15 little-endian 32-bit
sub-authorities).

Text, as Windows writes and reads it (ConvertSidToStringSidW and
ConvertStringSidToSidW, whose numbers go through wcstoul):

* an identifier authority of 2^32 or more prints as ``0x`` and upper-case hex
  digits without leading zeros (``S-1-0x500000000-32-579``); [MS-DTYP] 2.4.2.1
  shows 12 digits, Windows does not pad, and neither do we;
* every number may be written in decimal or as ``0x`` hex, sub-authorities
  too (``S-1-5-21-1-2-3-0x4b1`` reads as ``...-1201``, printed decimal);
* white space may stand before a number (``S- 1- 5-32``: wcstoul skips it),
  never inside one (``0x 4b1``) and never after the last one: ``S-1-3-4 `` is
  refused by :meth:`Sid.read_text`, the scanner SDDL uses. :meth:`Sid.parse`,
  the entry point of readers, also ignores white space around the whole text;
* only ASCII digits count: no ``_`` separators, signs or other scripts' digits;
* a number that does not fit (authority over 48 bits, sub-authority over 32
  bits) is an error. Windows' decimal authority stops at 32 bits; we accept the
  48 bits the binary form holds, which is the one liberty taken.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from sidtool.errors import SidError

MAX_SUB_AUTHORITIES = 15  # [MS-DTYP] 2.4.2.2: SubAuthorityCount is at most 15
_MAX_AUTHORITY = (1 << 48) - 1
_MAX_SUB_AUTHORITY = (1 << 32) - 1
# A number as ConvertStringSidToSidW reads it: optional leading ASCII white space, then 0x-hex or decimal.
# A number of more significant digits than 2^64 has is out of every range here; it is refused before ``int``
# (which refuses over 4,300 digits with an error of its own), whatever its length.
_MAX_DIGITS = 20
_NUMBER = re.compile(r"[ \t\n\v\f\r]*(?:(0[xX][0-9a-fA-F]+)|([0-9]+))")
_HEADER = struct.Struct(">BBHI")  # revision, count, authority high 16 bits, low 32 bits
_set = object.__setattr__  # (how a frozen dataclass sets its fields)


@dataclass(frozen=True, slots=True, order=True)
class Sid:
    """An immutable, hashable, ordered SID that prints as ``S-1-5-32-555``."""

    revision: int
    authority: int
    sub_authorities: tuple[int, ...]
    # Worked out once: SIDs are dict keys everywhere (a million lookups in a large report), and the generated
    # hash would build and hash a tuple each time.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.authority, self.sub_authorities)))
        if self.revision != 1:
            raise SidError(f"SID revision {self.revision} is not 1")
        if not 0 <= self.authority <= _MAX_AUTHORITY:
            raise SidError(f"identifier authority {self.authority} does not fit in 48 bits")
        if len(self.sub_authorities) > MAX_SUB_AUTHORITIES:
            raise SidError(f"{len(self.sub_authorities)} sub-authorities, at most {MAX_SUB_AUTHORITIES} allowed")
        for index, value in enumerate(self.sub_authorities, 1):
            if not 0 <= value <= _MAX_SUB_AUTHORITY:
                raise SidError(f"sub-authority {index} ({value}) does not fit in 32 bits")

    @classmethod
    def _from_checked(cls, authority: int, sub_authorities: tuple[int, ...]) -> Sid:
        """A revision-1 SID of parts known to be in range (read from a binary SID: a 48-bit authority, at most
        :data:`MAX_SUB_AUTHORITIES` 32-bit sub-authorities), made without checking them again: a forest's
        200,000 objectSids, each checked by ``__post_init__``, cost a fifth of building its principals."""
        sid = object.__new__(cls)
        _set(sid, "revision", 1)
        _set(sid, "authority", authority)
        _set(sid, "sub_authorities", sub_authorities)
        _set(sid, "_hash", hash((authority, sub_authorities)))
        return sid

    # -- text ---------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Sid:
        """Parse the string form; case and white space around the whole text are ignored."""
        if not isinstance(text, str):
            raise SidError(f"expected SID text, got {type(text).__name__}")
        stripped = text.strip()
        sid, end = cls._scan(stripped, 0, text)
        if end != len(stripped):
            raise SidError(f"{text!r}: unexpected {stripped[end:]!r} after the SID (numbers are decimal or 0x hex)")
        return sid

    @classmethod
    def read_text(cls, text: str, position: int = 0) -> tuple[Sid, int]:
        """Read the SID that starts at ``position`` of ``text`` as Windows does; return it and where it ends.

        Reading stops after the last number; what follows is the caller's to judge.
        """
        return cls._scan(text, position, None)

    @classmethod
    def _scan(cls, text: str, position: int, whole: str | None) -> tuple[Sid, int]:
        original = repr(whole[:80]) if whole is not None else repr(text[position : position + 80])
        if whole is not None and len(whole) > 80:
            original += f" (… {len(whole):,} characters)"
        if text[position : position + 2].upper() != "S-":
            raise SidError(f"{original} is not a SID: expected the form S-1-<authority>[-<sub-authority>...]")
        numbers: list[tuple[int, str]] = []
        at = position + 1
        while at < len(text) and text[at] == "-":
            match = _NUMBER.match(text, at + 1)
            if match is None:
                what = ("revision", "identifier authority")[len(numbers)] if len(numbers) < 2 else "sub-authority"
                if what == "sub-authority":
                    what = f"sub-authority {len(numbers) - 1}"
                found = text[at + 1 : at + 11].split("-", 1)[0]
                if what == "identifier authority" and not found:
                    raise SidError(f"{original}: the identifier authority is empty")
                raise SidError(f"{original}: {what} {found!r} is not a decimal number")
            digits = match.group(1) or match.group(2)
            significant = (digits[2:] if match.group(1) else digits).lstrip("0") or "0"
            if len(significant) > _MAX_DIGITS:
                what = ("revision", "identifier authority")[len(numbers)] if len(numbers) < 2 else "sub-authority"
                raise SidError(f"{original}: {what} {digits[:12]}… has {len(digits):,} digits: it does not fit")
            value = int(significant, 16) if match.group(1) else int(significant)
            numbers.append((value, digits))
            at = match.end()
        if len(numbers) < 2:
            raise SidError(f"{original} is not a SID: expected the form S-1-<authority>[-<sub-authority>...]")
        (revision, revision_text), (authority, authority_text) = numbers[:2]
        if revision != 1 or revision_text != "1":
            raise SidError(f"{original}: revision {revision_text} is not 1")
        if authority > _MAX_AUTHORITY:
            raise SidError(f"{original}: identifier authority {authority_text} does not fit in 48 bits")
        subs = numbers[2:]
        if len(subs) > MAX_SUB_AUTHORITIES:
            raise SidError(f"{original}: {len(subs)} sub-authorities, at most {MAX_SUB_AUTHORITIES} allowed")
        for index, (value, sub_text) in enumerate(subs, 1):
            if value > _MAX_SUB_AUTHORITY:
                raise SidError(f"{original}: sub-authority {index} ({sub_text}) does not fit in 32 bits")
        return cls(1, authority, tuple(value for value, _ in subs)), at

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        # An authority of 2^32 or more prints in hex, upper case, unpadded, as Windows prints it (docstring).
        authority = str(self.authority) if self.authority < 1 << 32 else f"0x{self.authority:X}"
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
        subs = struct.unpack_from(f"<{count}I", data, offset + 8)  # (each in 32 bits, the authority in 48)
        return cls._from_checked((high << 32) | low, subs), end

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

__all__ = ["ANONYMOUS_LOGON", "AUTHENTICATED_USERS", "BUILTIN_DOMAIN", "EVERYONE", "MAX_SUB_AUTHORITIES", "Sid"]
