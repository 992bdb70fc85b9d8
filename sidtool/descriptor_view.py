"""Answers for ``sidtool sd decode``: a descriptor as report rows (tables, JSON, CSV, Markdown, SDDL).

Reading what the user pasted is :mod:`sidtool.security.encoding`'s; this module only shows it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import wellknown
from sidtool.errors import DescriptorError
from sidtool.layout import Field, wrap
from sidtool.output import render
from sidtool.security.descriptor import ACE_FLAG_CODES, ACE_KINDS, Ace, AceFlag, Control, SecurityDescriptor
from sidtool.security.rights import guid_name, right_names
from sidtool.security.sddl import ace_condition_text, format_sddl
from sidtool.security.sid import Sid

RIGHTS_VOCABULARIES = ("ad", "exchange")
# The ACE table fits the width it is drawn on (sidtool.layout): the type and the rights stay in the row; on a
# narrow terminal the flags and the ACL give way, then the trustee SID and the object types go under the row.
ACE_COLUMNS = (
    Field("acl", "ACL", priority=3),
    Field("type", "Type", priority=0, widest=20),
    Field("trustee", "Trustee", priority=2, widest=46, below=True),
    Field("trustee_name", "Name", priority=1, widest=36, least=12),
    Field("rights", "Rights", priority=0, widest=60, least=20),
    Field("flags", "Flags", priority=4),
    Field("object_type_name", "Object type", priority=5, widest=40, below=True, least=16),
    Field("inherited_object_type_name", "Inherited object type", priority=6, widest=40, below=True, least=16),
)
# shown in a table only when an ACE of the descriptor has one
CONDITION_COLUMN = Field("condition", "Condition", priority=7, widest=60, below=True, least=30)


@lru_cache(maxsize=4096)
def trustee_name(sid: Sid) -> str | None:
    """The catalog name of a well-known SID, or None."""
    try:
        entry = wellknown.lookup(str(sid))
    except (OSError, wellknown.CatalogError):
        return None
    return entry.name if entry else None


def control_names(control: int) -> list[str]:
    return [flag.name for flag in Control if control & flag.value and flag.name]


def ace_flag_codes(flags: int) -> list[str]:
    codes = [code for code, bit in ACE_FLAG_CODES if flags & bit]
    rest = flags & ~sum(bit for _, bit in ACE_FLAG_CODES)
    if rest:
        codes.append(f"0x{rest:02X}")
    return codes


def ace_record(which: str, index: int, ace: Ace, rights: str = "ad", domain_sid: str | None = None) -> dict[str, Any]:
    """One ACE as a report row; ``condition`` is the SDDL of its condition or resource attribute.

    Data that has no SDDL form leaves ``condition`` empty and says why in ``condition_error``; the
    bytes stay in ``application_data``.
    """
    try:
        condition, condition_error = ace_condition_text(ace, domain_sid), None
    except DescriptorError as error:
        condition, condition_error = None, str(error)
    return {
        "acl": which,
        "index": index,
        "type": ACE_KINDS[ace.type].label if ace.type in ACE_KINDS else f"raw 0x{ace.type:02X}",
        "ace_type": ace.type,
        "trustee": str(ace.sid) if ace.sid is not None else None,
        "trustee_name": trustee_name(ace.sid) if ace.sid is not None else None,
        "mask": f"0x{ace.mask:08X}" if ace.mask is not None else None,
        "rights": right_names(ace, rights),
        "flags": ace_flag_codes(ace.flags),
        "inherited": bool(ace.flags & AceFlag.INHERITED),
        "object_type": str(ace.object_type) if ace.object_type else None,
        "object_type_name": guid_name(ace.object_type) or (str(ace.object_type) if ace.object_type else None),
        "inherited_object_type": str(ace.inherited_object_type) if ace.inherited_object_type else None,
        "inherited_object_type_name": guid_name(ace.inherited_object_type)
        or (str(ace.inherited_object_type) if ace.inherited_object_type else None),
        "condition": condition,
        "condition_error": condition_error,
        "application_data": ace.application_data.hex() if ace.application_data else None,
        "raw_body": ace.body.hex() if ace.mask is None else None,
    }


def ace_records(
    descriptor: SecurityDescriptor, rights: str = "ad", domain_sid: str | None = None
) -> list[dict[str, Any]]:
    records = []
    counters = {"DACL": 0, "SACL": 0}
    for which, ace in descriptor.aces():
        records.append(ace_record(which, counters[which], ace, rights, domain_sid))
        counters[which] += 1
    return records


def descriptor_record(
    descriptor: SecurityDescriptor, rights: str = "ad", domain_sid: str | None = None
) -> dict[str, Any]:
    """The whole descriptor as one JSON-ready dict."""
    return {
        "owner": str(descriptor.owner) if descriptor.owner else None,
        "owner_name": trustee_name(descriptor.owner) if descriptor.owner else None,
        "group": str(descriptor.group) if descriptor.group else None,
        "group_name": trustee_name(descriptor.group) if descriptor.group else None,
        "control": f"0x{descriptor.control:04X}",
        "control_flags": control_names(descriptor.control),
        "dacl": _acl_state(descriptor.dacl, descriptor.dacl_present),
        "sacl": _acl_state(descriptor.sacl, descriptor.sacl_present),
        "aces": ace_records(descriptor, rights, domain_sid),
    }


def _acl_state(acl: object, present: bool) -> str:
    if acl is None:
        return "null" if present else "absent"
    return "present"


def summary_lines(descriptor: SecurityDescriptor) -> list[str]:
    """Owner, group and control flags, for the head of a table."""

    def who(sid: Sid | None) -> str:
        if sid is None:
            return "-"
        name = trustee_name(sid)
        return f"{sid} ({name})" if name else str(sid)

    flags = ", ".join(control_names(descriptor.control)) or "none"
    dacl = _acl_state(descriptor.dacl, descriptor.dacl_present)
    sacl = _acl_state(descriptor.sacl, descriptor.sacl_present)
    return [
        f"Owner:   {who(descriptor.owner)}",
        f"Group:   {who(descriptor.group)}",
        f"Control: 0x{descriptor.control:04X} {flags}",
        f"DACL:    {dacl}, {len(descriptor.dacl or ())} ACEs; SACL: {sacl}, {len(descriptor.sacl or ())} ACEs",
    ]


def sddl_text(descriptor: SecurityDescriptor, domain_sid: str | None = None) -> str:
    return format_sddl(descriptor, domain_sid)


def render_descriptors(
    decoded: list[tuple[int | None, SecurityDescriptor]],
    fmt: str,
    rights: str,
    domain_sid: str | None,
    *,
    many: bool,
    width: int | None = None,
) -> tuple[str, list[tuple[int | None, DescriptorError]]]:
    """The ``sd decode`` output: per descriptor a summary and an ACE table (fitted to ``width`` when given),
    or JSON, CSV or SDDL for all.

    A descriptor that cannot be shown in ``fmt`` (SDDL for a callback ACE whose data is no condition) is
    left out and returned with its line among the failures; the others are all shown.
    """
    pieces: list[Any] = []
    failures: list[tuple[int | None, DescriptorError]] = []
    for line, descriptor in decoded:
        try:
            pieces.append(_piece(line, descriptor, fmt, rights, domain_sid, width))
        except DescriptorError as error:
            failures.append((line, error))
    if fmt == "sddl":
        return "".join(pieces), failures
    if fmt == "json":
        return render(pieces if many else pieces[:1], ACE_COLUMNS, "json"), failures
    if fmt == "csv":
        return render([row for rows in pieces for row in rows], ACE_COLUMNS, "csv"), failures
    return "\n".join(pieces), failures


def _piece(
    line: int | None, descriptor: SecurityDescriptor, fmt: str, rights: str, domain_sid: str | None, width: int | None
) -> Any:
    if fmt == "sddl":
        return sddl_text(descriptor, domain_sid) + "\n"
    if fmt == "json":
        return {"line": line, **descriptor_record(descriptor, rights, domain_sid)}
    records = ace_records(descriptor, rights, domain_sid)
    if fmt == "csv":
        return [{"line": line, **row} for row in records]
    head = ([f"Line {line}:"] if line is not None else []) + summary_lines(descriptor)
    if fmt == "markdown":
        head = [f"- {item}" for item in head]
    columns = ACE_COLUMNS + ((CONDITION_COLUMN,) if any(row["condition"] for row in records) else ())
    if width is not None:
        head = [text for item in head for text in (wrap(item, width) if len(item) > width else [item])]
    return "\n".join(head) + "\n\n" + render(records, columns, fmt, width)
