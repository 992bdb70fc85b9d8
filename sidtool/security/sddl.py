"""SDDL, the Security Descriptor Definition Language of [MS-DTYP] 2.5.1, both ways.

``O:owner G:group D:flags(ace)(ace)... S:flags(ace)...``, each part optional,
with ACEs written ``(type;flags;rights;object_guid;inherited_object_guid;sid[;extra])``.

What is covered:

* every SID alias of [MS-DTYP] 2.5.1.1; the domain-relative ones (DA, DU, EA,
  ...) need the domain SID and are an error without it (EA, SA, EK and RO
  belong to the forest root domain: the one domain SID given stands for it);
* rights as hexadecimal (``0x1F``), octal (``017``) or decimal numbers, or as
  two-letter codes (GA GR GW GX RC SD WD WO RP WP CC DC LC SW LO DT CR FA FR FW
  FX KA KR KW KX NR NW NX);
* ACE flags OI CI NP IO ID SA FA, ACL flags P AI AR and NO_ACCESS_CONTROL;
* object GUIDs.

* the conditions of callback ACEs (XA, XD, ZA, XU; [MS-DTYP] 2.5.1.1-2.5.1.2),
  compiled to and decompiled from the binary form of [MS-DTYP] 2.4.4.17
  (:mod:`sidtool.security.conditions`), and the resource attributes of RA
  ACEs, to and from CLAIM_SECURITY_ATTRIBUTE_RELATIVE_V1 ([MS-DTYP] 2.4.10.1,
  :mod:`sidtool.security.claims`). A callback ACE whose data is not a
  conditional expression has no SDDL form: formatting it raises.

Reading follows Windows' ConvertStringSecurityDescriptorToSecurityDescriptorW
where [MS-DTYP] leaves room (its numbers go through wcstoul):

* part tags are upper case: ``d:`` is refused, as Windows refuses it;
* white space may precede any token (``D: AI(...)``, ``(A;;RP LCLORC;;;WD)``,
  ``(A; OI CI;...)``, ``O:S- 1- 2-3``) but a field never ends in white space:
  ``(A;;GA ;;;LG)`` and ``O:S-1-3-4 `` are refused, and so, by the same rule,
  is ``O:BA G:BA``. Between ACEs and parts after an ACL it is allowed;
* SIDs read as :meth:`Sid.read_text` reads them (hex sub-authorities, large
  hex authorities);
* rights numbers are ``0x`` hex, ``0`` octal or decimal, ASCII digits only,
  whole (no ``0x 1F``, ``0x+75``, ``1_000``); a number over 32 bits reads as
  0xFFFFFFFF, which is wcstoul's answer on overflow and what Windows stores;
* audit, alarm, mandatory label, resource attribute and scoped policy ACEs
  (AU AL OU OL XU ML RA SP) are refused in a DACL, as Windows refuses them.
  Allow and deny ACEs in a SACL are read (Windows' behaviour there is not
  established here);
* GUIDs are the 36-character form only (no braces), as UuidFromString reads.

Canonical form, which formatting produces and which round-trips exactly:
parts in the order O G D S; ACL flags in the order P AR AI; ACE flags in bit
order (OI CI NP IO ID SA FA); rights as FA/FR/FW/FX when the mask is exactly
one of those, else as two-letter codes lowest bit first, else as lower-case
hexadecimal; an empty mask as an empty field; GUIDs in lower case; SIDs as
aliases where one exists. SDDL carries no other control bits: parsing sets
SE_SELF_RELATIVE and the DACL/SACL present bits, formatting ignores the rest.
SDDL has no ACL revision either: parsing gives revision 4 unless told
otherwise (see :func:`parse_sddl`). With these defaults SDDL -> bytes matches
Samba's ``ndr_pack(descriptor.from_sddl(...))`` byte for byte.

Errors raise DescriptorError with the character offset of the fault.
"""

from __future__ import annotations

import re
import uuid

import wellknown
from sidtool.errors import DescriptorError, SidError
from sidtool.security.claims import decode_attribute, encode_attribute, format_attribute, parse_attribute
from sidtool.security.conditions import SIGNATURE, decode_condition, encode_condition, format_condition, parse_condition
from sidtool.security.descriptor import (
    ACE_FLAG_CODES,
    ACE_KINDS,
    CALLBACK_ACE_TYPES,
    OBJECT_ACE_TYPES,
    Ace,
    Acl,
    Control,
    SecurityDescriptor,
)
from sidtool.security.rights import AD_SDDL_CODES, COMPOSITE_SDDL_CODES, LABEL_SDDL_CODES, SYNCHRONIZE
from sidtool.security.sid import Sid

__all__ = ["DOMAIN_ALIASES", "UNIVERSAL_ALIASES", "ace_condition_text", "format_sddl", "parse_sddl", "sid_from_alias"]

# [MS-DTYP] 2.5.1.1 SID aliases, derived from the catalog's sddl column (wellknown/sids.csv, the one table of
# them): aliases of SIDs that are the same everywhere, and aliases relative to a domain SID, by RID.
UNIVERSAL_ALIASES: dict[str, str] = {e.sddl: e.sid for e in wellknown.entries() if e.sddl and not e.is_pattern}
DOMAIN_ALIASES: dict[str, int] = {
    e.sddl: int(e.sid.rsplit("-", 1)[1])
    for e in wellknown.entries()
    if e.sddl and e.is_pattern and e.sid.startswith("S-1-5-21-*-*-*-")
}

ACE_TYPE_CODES: dict[str, int] = {kind.sddl: code for code, kind in ACE_KINDS.items() if kind.sddl}
# ACL flags -> control bits, for the DACL and the SACL.
_ACL_FLAGS = {
    "D": (
        ("P", Control.DACL_PROTECTED),
        ("AR", Control.DACL_AUTO_INHERIT_REQUIRED),
        ("AI", Control.DACL_AUTO_INHERITED),
    ),
    "S": (
        ("P", Control.SACL_PROTECTED),
        ("AR", Control.SACL_AUTO_INHERIT_REQUIRED),
        ("AI", Control.SACL_AUTO_INHERITED),
    ),
}
_NULL_ACL = "NO_ACCESS_CONTROL"
_TYPE_BY_CODE = {value: code for code, value in ACE_TYPE_CODES.items()}
_UNIVERSAL_BY_SID = {Sid.parse(text): alias for alias, text in UNIVERSAL_ALIASES.items()}
_ALIAS_BY_RID = {rid: alias for alias, rid in DOMAIN_ALIASES.items()}
_RIGHT_CODES = dict(AD_SDDL_CODES) | dict(COMPOSITE_SDDL_CODES) | dict(LABEL_SDDL_CODES)
_ML_TYPE = 0x11


def _error(message: str, offset: int) -> DescriptorError:
    return DescriptorError(f"{message} (at character {offset})", offset=offset, unit="character")


def _domain(domain_sid: Sid | str | None) -> Sid | None:
    if domain_sid is None or isinstance(domain_sid, Sid):
        return domain_sid
    return Sid.parse(domain_sid)


def sid_from_alias(alias: str, domain_sid: Sid | str | None = None) -> Sid:
    """The SID an SDDL alias stands for; domain-relative aliases need ``domain_sid``."""
    key = alias.upper()
    if key in UNIVERSAL_ALIASES:
        return Sid.parse(UNIVERSAL_ALIASES[key])
    if key in DOMAIN_ALIASES:
        domain = _domain(domain_sid)
        if domain is None:
            raise DescriptorError(f"SID alias {alias!r} is relative to a domain: give the domain SID")
        return Sid(1, domain.authority, (*domain.sub_authorities, DOMAIN_ALIASES[key]))
    raise DescriptorError(f"unknown SID alias {alias!r}")


# -- parsing ----------------------------------------------------------------------------------


def parse_sddl(text: str, domain_sid: Sid | str | None = None, *, acl_revision: int = 4) -> SecurityDescriptor:
    """Parse an SDDL string into a :class:`SecurityDescriptor`.

    SDDL has no ACL revision. By default every ACL gets revision 4
    (ACL_REVISION_DS), as the directory and Samba write them; with
    ``acl_revision=2`` ACLs get 2 unless they hold object ACEs, as Windows'
    ConvertStringSecurityDescriptorToSecurityDescriptor does.
    """
    if not isinstance(text, str):
        raise DescriptorError(f"expected SDDL text, got {type(text).__name__}")
    if acl_revision not in (2, 4):
        raise ValueError(f"ACL revision {acl_revision} does not exist (valid: 2 and 4)")
    return _Parser(text, _domain(domain_sid), acl_revision).descriptor()


_WHITE = " \t\n\v\f\r"  # what wcstoul skips (iswspace on ASCII)
_PART_TAGS = ("O:", "G:", "D:", "S:")
_RIGHTS_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ALIAS = re.compile(r"[A-Za-z]{2}")
# ACE types that Windows refuses in a DACL: audit, alarm, label, resource attribute, scoped policy.
_SACL_ONLY_TYPES = frozenset(code for code, kind in ACE_KINDS.items() if kind.sacl)
_CONDITIONAL_TYPES = frozenset(code for code, kind in ACE_KINDS.items() if kind.callback and kind.sddl)  # XA XD ZA XU
_RESOURCE_ATTRIBUTE_TYPE = 0x12
_MAX_MASK = 0xFFFFFFFF


class _Parser:
    def __init__(self, text: str, domain: Sid | None, acl_revision: int = 4) -> None:
        self.text = text
        self.position = 0
        self.domain = domain
        self.acl_revision = acl_revision

    def _skip_space(self) -> None:
        text = self.text
        while self.position < len(text) and text[self.position] in _WHITE:
            self.position += 1

    def descriptor(self) -> SecurityDescriptor:
        text = self.text
        control = Control.SELF_RELATIVE
        found: dict[str, object] = {}
        after_sid = False
        while True:
            if after_sid and self.position < len(text) and text[self.position] in _WHITE:
                raise _error("white space after a SID: a field cannot end in white space", self.position)
            self._skip_space()
            if self.position >= len(text):
                break
            start = self.position
            part = text[start : start + 2]
            if part not in _PART_TAGS:
                if part.upper() in _PART_TAGS:
                    raise _error(f"part tags are upper case: {part!r} should be {part.upper()!r}", start)
                raise _error(f"expected O:, G:, D: or S:, found {part!r}", start)
            letter = part[0]
            if letter in found:
                raise _error(f"{letter}: appears twice", start)
            self.position += 2
            if letter in "OG":
                found[letter] = self._sid_part()
                after_sid = True
            else:
                flags, acl = self._acl(letter)
                control |= flags | (Control.DACL_PRESENT if letter == "D" else Control.SACL_PRESENT)
                found[letter] = acl
                after_sid = False
        return SecurityDescriptor(
            int(control),
            owner=found.get("O"),  # type: ignore[arg-type]
            group=found.get("G"),  # type: ignore[arg-type]
            sacl=found.get("S"),  # type: ignore[arg-type]
            dacl=found.get("D"),  # type: ignore[arg-type]
        )

    def _sid_part(self) -> Sid:
        self._skip_space()
        text, start = self.text, self.position
        if text[start : start + 2].upper() == "S-":
            try:
                sid, self.position = Sid.read_text(text, start)
            except SidError as error:
                raise _error(f"bad SID: {error.message}", start) from None
            return sid
        if not _ALIAS.match(text, start):
            raise _error("expected a SID or a two-letter SID alias", start)
        self.position += 2
        return self._resolve(text[start : start + 2], start)

    def _resolve(self, token: str, offset: int) -> Sid:
        if token[:2].upper() == "S-":
            try:
                sid, end = Sid.read_text(token, 0)
            except SidError as error:
                raise _error(f"bad SID {token!r}: {error.message}", offset) from None
            if end != len(token):
                raise _error(f"bad SID {token!r}: unexpected {token[end:]!r} after it", offset + end)
            return sid
        key = token.upper()
        if key in DOMAIN_ALIASES and self.domain is None:
            raise _error(f"SID alias {token!r} is relative to a domain: give the domain SID (--domain-sid)", offset)
        if key not in UNIVERSAL_ALIASES and key not in DOMAIN_ALIASES:
            raise _error(f"unknown SID alias {token!r}", offset)
        return sid_from_alias(key, self.domain)

    def _acl(self, letter: str) -> tuple[int, Acl | None]:
        text = self.text
        flags = 0
        null = False
        codes = _ACL_FLAGS[letter]
        while True:
            self._skip_space()
            rest = text[self.position :]
            if rest[: len(_NULL_ACL)].upper() == _NULL_ACL:
                null = True
                self.position += len(_NULL_ACL)
                continue
            for code, bit in codes[1:] + codes[:1]:  # AR and AI before P
                if rest[: len(code)].upper() == code:
                    flags |= bit
                    self.position += len(code)
                    break
            else:
                break
        aces = []
        while True:
            self._skip_space()
            if self.position < len(text) and text[self.position] == "(":
                if null:
                    raise _error(f"{letter}:{_NULL_ACL} cannot be followed by ACEs", self.position)
                aces.append(self._ace(letter))
            else:
                break
        if null:
            return flags, None
        revision = 4 if any(ace.type in OBJECT_ACE_TYPES for ace in aces) else self.acl_revision
        return flags, Acl(revision, tuple(aces))

    def _field(self) -> tuple[str, int]:
        """The next field up to ';' or ')': white space before it is skipped, white space after it refused."""
        text, start = self.text, self.position
        end = start
        while end < len(text) and text[end] not in ";)":
            if text[end] == "(":
                raise _error("unexpected '(' inside an ACE", end)
            end += 1
        if end >= len(text):
            raise _error("unterminated ACE: missing ')'", start)
        self.position = end
        value = text[start:end]
        stripped = value.lstrip(_WHITE)
        if stripped != stripped.rstrip(_WHITE) or (value and not stripped):
            raise _error("a field cannot end in white space", end - 1)
        return stripped, start + len(value) - len(stripped)

    def _ace(self, letter: str) -> Ace:
        text = self.text
        opening = self.position
        self.position += 1
        fields = []
        for number in range(6):
            fields.append(self._field())
            separator = text[self.position]
            if number < 5:
                if separator != ";":
                    raise _error(f"ACE has {number + 1} fields, expected 6", self.position)
                self.position += 1
        (type_text, type_at), (flags_text, flags_at), (rights_text, rights_at) = fields[:3]
        (guid_text, guid_at), (inherited_text, inherited_at), (sid_text, sid_at) = fields[3:]
        ace_type = ACE_TYPE_CODES.get(type_text.upper())
        if ace_type is None:
            raise _error(f"unknown ACE type {type_text!r}", type_at)
        if letter == "D" and ace_type in _SACL_ONLY_TYPES:
            raise _error(f"a {type_text.upper()} ACE belongs in the SACL, not in the DACL", type_at)
        flags = self._ace_flags(flags_text, flags_at)
        mask = self._rights(rights_text, rights_at)
        object_type = self._guid(guid_text, guid_at, ace_type)
        inherited = self._guid(inherited_text, inherited_at, ace_type)
        if not sid_text:
            raise _error("ACE has no trustee SID", sid_at)
        sid = self._resolve(sid_text, sid_at)
        data = b""
        if text[self.position] == ";":
            self.position += 1
            data = self._extra(ace_type, opening)
        if self.position >= len(text) or text[self.position] != ")":
            raise _error("expected ')' to close the ACE", self.position)
        self.position += 1
        object_flags = None
        if ace_type in OBJECT_ACE_TYPES:
            object_flags = (1 if object_type else 0) | (2 if inherited else 0)
        return Ace(ace_type, flags, mask, sid, object_type, inherited, object_flags, data)

    def _extra(self, ace_type: int, opening: int) -> bytes:
        """The seventh field: a condition (XA XD ZA XU) or a resource attribute (RA), compiled to bytes."""
        if ace_type in _CONDITIONAL_TYPES:
            node, self.position = parse_condition(self.text, self.position, self._resolve)
            return encode_condition(node)
        if ace_type == _RESOURCE_ATTRIBUTE_TYPE:
            attribute, self.position = parse_attribute(self.text, self.position, self._resolve)
            return encode_attribute(attribute)
        raise _error("only callback and resource attribute ACEs take a seventh field", opening)

    def _ace_flags(self, text: str, offset: int) -> int:
        flags = 0
        codes = dict(ACE_FLAG_CODES)
        index = 0
        while index < len(text):
            if text[index] in _WHITE:
                index += 1
                continue
            code = text[index : index + 2].upper()
            if code not in codes:
                raise _error(f"unknown ACE flag {text[index : index + 2]!r}", offset + index)
            flags |= codes[code]
            index += 2
        return flags

    def _rights(self, text: str, offset: int) -> int:
        if not text:
            return 0
        if text[0].isascii() and text[0].isdigit():
            if not _RIGHTS_NUMBER.fullmatch(text):
                raise _error(f"rights {text!r} are not a hexadecimal, octal or decimal number", offset)
            if text[:2].lower() == "0x":
                value = int(text[2:], 16)
            elif text[0] == "0" and len(text) > 1:
                value = int(text[1:], 8)
            else:  # (more than 20 digits is over the maximum anyway, and int() refuses over 4,300)
                value = int(text) if len(text.lstrip("0")) <= 20 else _MAX_MASK
            return min(value, _MAX_MASK)  # wcstoul's overflow answer, ULONG_MAX (module docstring)
        mask = 0
        index = 0
        while index < len(text):
            if text[index] in _WHITE:
                index += 1
                continue
            code = text[index : index + 2].upper()
            if code not in _RIGHT_CODES:
                raise _error(f"unknown right {text[index : index + 2]!r}", offset + index)
            mask |= _RIGHT_CODES[code]
            index += 2
        return mask

    def _guid(self, text: str, offset: int, ace_type: int) -> uuid.UUID | None:
        if not text:
            return None
        if ace_type not in OBJECT_ACE_TYPES:
            raise _error("only object ACEs (OA, OD, OU, OL, ZA) take object GUIDs", offset)
        if not _GUID.fullmatch(text):
            raise _error(f"{text!r} is not a GUID", offset)
        return uuid.UUID(text)


# -- formatting -------------------------------------------------------------------------------


def format_sddl(descriptor: SecurityDescriptor, domain_sid: Sid | str | None = None) -> str:
    """The canonical SDDL of ``descriptor`` (see the module docstring)."""
    domain = _domain(domain_sid)
    parts = []
    if descriptor.owner is not None:
        parts.append("O:" + _sid_text(descriptor.owner, domain))
    if descriptor.group is not None:
        parts.append("G:" + _sid_text(descriptor.group, domain))
    for letter, acl, present in (
        ("D", descriptor.dacl, descriptor.dacl_present),
        ("S", descriptor.sacl, descriptor.sacl_present),
    ):
        if acl is None and not present:
            continue
        flags = "".join(code for code, bit in _ACL_FLAGS[letter] if descriptor.control & bit)
        if acl is None:
            parts.append(f"{letter}:{flags}{_NULL_ACL}")
        else:
            parts.append(f"{letter}:{flags}" + "".join(format_ace(ace, domain) for ace in acl.aces))
    return "".join(parts)


def format_ace(ace: Ace, domain_sid: Sid | str | None = None) -> str:
    """One ACE in SDDL: ``(type;flags;rights;guid;guid;sid[;condition])``."""
    code = _TYPE_BY_CODE.get(ace.type)
    if code is None or ace.mask is None or ace.sid is None:
        raise DescriptorError(f"{ace.type_name} ACE (type 0x{ace.type:02X}) has no SDDL form")
    flags = []
    rest = ace.flags
    for flag_code, bit in ACE_FLAG_CODES:
        if rest & bit:
            flags.append(flag_code)
            rest &= ~bit
    if rest:
        raise DescriptorError(f"ACE flag bits 0x{rest:02X} have no SDDL form")
    fields = [
        code,
        "".join(flags),
        _rights_text(ace.mask, ace.type),
        str(ace.object_type) if ace.object_type else "",
        str(ace.inherited_object_type) if ace.inherited_object_type else "",
        _sid_text(ace.sid, _domain(domain_sid)),
    ]
    extra = ace_condition_text(ace, domain_sid)
    if extra is not None:
        fields.append(extra)
    return "(" + ";".join(fields) + ")"


def ace_condition_text(ace: Ace, domain_sid: Sid | str | None = None) -> str | None:
    """The SDDL of an ACE's condition (XA XD ZA XU) or resource attribute (RA), or None when it has none.

    Raises DescriptorError when the ACE's data has no SDDL form.
    """
    data = ace.application_data
    if not data or ace.mask is None:
        return None
    domain = _domain(domain_sid)

    def sid_text(sid: Sid) -> str:
        return _sid_text(sid, domain)

    if ace.type in CALLBACK_ACE_TYPES:
        if ace.type not in _CONDITIONAL_TYPES or data[:4] != SIGNATURE:
            raise DescriptorError(
                f"{ace.type_name} ACE carries {len(data)} bytes of application data that are not a conditional "
                "expression: SDDL cannot write them"
            )
        return format_condition(decode_condition(data), sid_text)
    if ace.type == _RESOURCE_ATTRIBUTE_TYPE:
        return format_attribute(decode_attribute(data), sid_text)
    return None


def _rights_text(mask: int, ace_type: int) -> str:
    if mask == 0:
        return ""
    if ace_type == _ML_TYPE:
        table: tuple[tuple[str, int], ...] = LABEL_SDDL_CODES
    else:
        if mask & SYNCHRONIZE:
            for code, value in COMPOSITE_SDDL_CODES[:4]:  # FA FR FW FX: the file rights
                if mask == value:
                    return code
        table = AD_SDDL_CODES
    codes = []
    rest = mask
    for code, bit in table:
        if rest & bit:
            codes.append(code)
            rest &= ~bit
    if rest:
        return f"0x{mask:x}"
    return "".join(codes)


def _sid_text(sid: Sid, domain: Sid | None) -> str:
    alias = _UNIVERSAL_BY_SID.get(sid)
    if alias is not None:
        return alias
    if domain is not None and len(sid.sub_authorities) == len(domain.sub_authorities) + 1 and sid.is_under(domain):
        alias = _ALIAS_BY_RID.get(sid.sub_authorities[-1])
        if alias is not None:
            return alias
    return str(sid)
