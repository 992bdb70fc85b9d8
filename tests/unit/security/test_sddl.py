"""SDDL ([MS-DTYP] 2.5.1): parsing, canonical formatting, errors with character offsets, Samba as oracle."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import subprocess
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wellknown
from sidtool.errors import DescriptorError
from sidtool.security import Ace, Acl, SecurityDescriptor, Sid
from sidtool.security.sddl import DOMAIN_ALIASES, UNIVERSAL_ALIASES, format_sddl, parse_sddl, sid_from_alias
from tests.support.descriptor_samples import DOMAIN_SID, samba_blobs, sample_sddl

SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.mark.parametrize("text", sample_sddl())
def test_canonical_sddl_round_trips_exactly(text):
    descriptor = parse_sddl(text, DOMAIN_SID)
    assert format_sddl(descriptor, DOMAIN_SID) == text
    assert SecurityDescriptor.from_bytes(bytes(descriptor)) == descriptor


@pytest.mark.parametrize("text", sample_sddl())
def test_sddl_binary_sddl(text):
    blob = bytes(parse_sddl(text, DOMAIN_SID))
    assert format_sddl(SecurityDescriptor.from_bytes(blob), DOMAIN_SID) == text


def test_aliases_resolve():
    descriptor = parse_sddl("O:DAG:EAD:(A;;RC;;;RD)(A;;RC;;;AU)(A;;RC;;;WD)(A;;RC;;;BA)", DOMAIN_SID)
    assert str(descriptor.owner) == DOMAIN_SID + "-512"
    assert str(descriptor.group) == DOMAIN_SID + "-519"
    assert [str(ace.sid) for ace in descriptor.dacl] == ["S-1-5-32-555", "S-1-5-11", "S-1-1-0", "S-1-5-32-544"]
    assert sid_from_alias("ru") == Sid.parse("S-1-5-32-554")


def test_domain_alias_without_domain_is_an_error_at_its_offset():
    with pytest.raises(DescriptorError, match=r"'DA' is relative to a domain.*character 2") as caught:
        parse_sddl("O:DAD:(A;;RC;;;AU)")
    assert caught.value.offset == 2 and caught.value.unit == "character"
    with pytest.raises(DescriptorError, match="character 23"):
        parse_sddl("D:(A;;RC;;;AU)(A;;RC;;;DU)")


def test_without_domain_sids_print_in_full():
    text = f"O:{DOMAIN_SID}-512D:(A;;RC;;;{DOMAIN_SID}-513)"
    assert format_sddl(parse_sddl(text)) == text


@pytest.mark.parametrize(
    ("rights", "mask"),
    [("0x1F", 0x1F), ("0X1f", 0x1F), ("017", 0o17), ("31", 31), ("", 0), ("GA", 0x10000000), ("RPWP", 0x30)],
)
def test_rights_as_numbers_and_codes(rights, mask):
    assert parse_sddl(f"D:(A;;{rights};;;WD)").dacl.aces[0].mask == mask


def test_rights_print_as_codes_composites_or_hex():
    assert format_sddl(parse_sddl("D:(A;;0x1f01ff;;;SY)")) == "D:(A;;FA;;;SY)"
    assert format_sddl(parse_sddl("D:(A;;0x1200a9;;;BU)")) == "D:(A;;0x1200a9;;;BU)"
    assert format_sddl(parse_sddl("D:(A;;RPLCRCLO;;;AU)")) == "D:(A;;LCRPLORC;;;AU)"
    assert format_sddl(parse_sddl("S:(ML;;NWNR;;;HI)")) == "S:(ML;;NWNR;;;HI)"


def test_acl_flags_null_and_empty():
    assert parse_sddl("D:NO_ACCESS_CONTROL").dacl is None
    assert parse_sddl("D:NO_ACCESS_CONTROL").dacl_present
    assert parse_sddl("D:").dacl == Acl(4, ())
    assert parse_sddl("D:(A;;RC;;;WD)", acl_revision=2).dacl.revision == 2
    assert parse_sddl("D:(OA;;RC;;;WD)", acl_revision=2).dacl.revision == 4
    assert parse_sddl("O:SY").dacl is None and not parse_sddl("O:SY").dacl_present
    assert format_sddl(parse_sddl("D:ARAIP(A;;RC;;;WD)")) == "D:PARAI(A;;RC;;;WD)"


def test_object_guids_and_ace_flags():
    ace = parse_sddl(
        "D:(OA;CIIOID;CR;AB721A54-1E2F-11D0-9819-00AA0040529B;bf967aba-0de6-11d0-a285-00aa003049e2;PS)"
    ).dacl.aces[0]
    assert ace.object_type == uuid.UUID("ab721a54-1e2f-11d0-9819-00aa0040529b")
    assert ace.inherited_object_type == uuid.UUID("bf967aba-0de6-11d0-a285-00aa003049e2")
    assert ace.flags == 0x1A and ace.object_flags == 3


def test_conditional_ace_compiles_to_bytes_and_prints_canonical_text():
    text = 'D:(XA;;FX;;;WD;(@User.Title == "PM" && (@User.Division == "Finance")))'
    descriptor = parse_sddl(text)
    data = descriptor.dacl.aces[0].application_data
    assert data.startswith(b"artx") and len(data) % 4 == 0
    canonical = 'D:(XA;;FX;;;WD;((@USER.Title == "PM") && (@USER.Division == "Finance")))'
    assert format_sddl(descriptor) == canonical
    again = SecurityDescriptor.from_bytes(bytes(descriptor))
    assert again == descriptor
    assert format_sddl(again) == canonical


def test_binary_callback_ace_without_a_conditional_expression_has_no_sddl():
    ace = Ace(0x09, 0, 0x1, Sid.parse("S-1-1-0"), application_data=b"\x01\x02\x03\x04")
    descriptor = SecurityDescriptor(0x8004, dacl=Acl(2, (ace,)))
    with pytest.raises(DescriptorError, match="not a conditional expression"):
        format_sddl(descriptor)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("D: AI(A;;GA;;;WD)", "D:AI(A;;GA;;;WD)"),
        ("D:P AI (A;;GA;;;WD)", "D:PAI(A;;GA;;;WD)"),
        ("D:(A;;RP LCLORC;;;WD)", "D:(A;;LCRPLORC;;;WD)"),
        ("D:(A; OI CI;GA;;;WD)", "D:(A;OICI;GA;;;WD)"),
        ("O:S- 1- 2-3", "O:S-1-2-3"),
        ("O:S-1-0x500000000-32-579", "O:S-1-0x500000000-32-579"),
        ("O:S-1-0x000500000000-32-579", "O:S-1-0x500000000-32-579"),
        ("O:S-1-5-21-1-2-3-0x4b1", "O:S-1-5-21-1-2-3-1201"),
        ("D:(A;;GA;;; S-1-5-32-0x220)", "D:(A;;GA;;;BA)"),
        ("D:(A;;0x123456789;;;WD)", "D:(A;;0xffffffff;;;WD)"),
        ("D:(A;;077777777777;;;WD)", "D:(A;;0xffffffff;;;WD)"),
        ("D:(A;;99999999999;;;WD)", "D:(A;;0xffffffff;;;WD)"),
        ("D:(A;;0xFFFFFFFF;;;WD)", "D:(A;;0xffffffff;;;WD)"),
        ("D:(A;;GA;;;WD) S:(AU;SA;GA;;;WD) ", "D:(A;;GA;;;WD)S:(AU;SA;GA;;;WD)"),
        ("D:PAIS:(AU;SA;GA;;;WD)", "D:PAIS:(AU;SA;GA;;;WD)"),
    ],
)
def test_text_rules_as_windows_reads_them(text, canonical):
    assert format_sddl(parse_sddl(text)) == canonical


@pytest.mark.parametrize(
    ("text", "words", "offset"),
    [
        (" x", "expected O:, G:, D: or S:", 1),
        ("X:BA", "expected O:, G:, D: or S:", 0),
        ("O:BAO:BA", "O: appears twice", 4),
        ("O:QQ", "unknown SID alias 'QQ'", 2),
        ("D:(A;;RC;;;WD", "unterminated ACE", 11),
        ("D:(Z;;RC;;;WD)", "unknown ACE type 'Z'", 3),
        ("D:(A;XX;RC;;;WD)", "unknown ACE flag 'XX'", 5),
        ("D:(A;;RCQQ;;;WD)", "unknown right 'QQ'", 8),
        ("D:(A;;0xZZ;;;WD)", "not a hexadecimal", 6),
        ("D:(A;;0x 75bcd15;;;WD)", "not a hexadecimal", 6),
        ("D:(A;;1_000;;;WD)", "not a hexadecimal", 6),
        ("D:(A;;0x+75;;;WD)", "not a hexadecimal", 6),
        ("D:(A;;0x7_5;;;WD)", "not a hexadecimal", 6),
        ("D:(A;;\u0661\u0662;;;WD)", "unknown right", 6),
        ("D:(A;;08;;;WD)", "not a hexadecimal", 6),
        ("D:(A;;GA ;;;LG)", "cannot end in white space", 8),
        ("O:S-1-3-4 ", "white space after a SID", 9),
        ("O:BA G:BA", "white space after a SID", 4),
        ("d:(A;;GA;;;WD)", "part tags are upper case", 0),
        ("D:(AU;SA;GA;;;WD)", "belongs in the SACL", 3),
        ("D:(ML;;NW;;;HI)", "belongs in the SACL", 3),
        ("D:(XU;SA;GA;;;WD)", "belongs in the SACL", 3),
        ("D:(OA;;RC;{ab721a54-1e2f-11d0-9819-00aa0040529b};;WD)", "not a GUID", 10),
        ("D:(OA;;RC;not-a-guid;;WD)", "not a GUID", 10),
        ("D:(A;;RC;ab721a54-1e2f-11d0-9819-00aa0040529b;;WD)", "only object ACEs", 9),
        ("D:(A;;RC;;;S-1-5-x)", "bad SID", 11),
        ("D:(A;;RC;;WD)", "ACE has 5 fields", 12),
        ("D:(A;;RC;;;)", "no trustee SID", 11),
        ("D:NO_ACCESS_CONTROL(A;;RC;;;WD)", "cannot be followed by ACEs", 19),
    ],
)
def test_errors_name_the_character_offset(text, words, offset):
    with pytest.raises(DescriptorError, match=words) as caught:
        parse_sddl(text)
    assert caught.value.offset == offset, str(caught.value)
    assert f"character {offset}" in str(caught.value)


# -- property-based round trips -------------------------------------------------------------

sddl_sids = st.sampled_from([Sid.parse(text) for text in UNIVERSAL_ALIASES.values()]) | st.builds(
    lambda rid: Sid.parse(f"{DOMAIN_SID}-{rid}"), st.integers(0, 70000)
)


def sddl_aces(types):
    return st.builds(
        lambda ace_type, flags, mask, sid, guid, inherited: Ace(
            ace_type,
            flags,
            mask,
            sid,
            guid if ace_type in (5, 6, 7, 8) else None,
            inherited if ace_type in (5, 6, 7, 8) else None,
            ((1 if guid else 0) | (2 if inherited else 0)) if ace_type in (5, 6, 7, 8) else None,
        ),
        st.sampled_from(types),
        st.sampled_from([0, 1, 2, 4, 8, 0x10, 0x40, 0x80, 0x1A, 0xC2]),
        st.integers(0, 0xFFFFFFFF),
        sddl_sids,
        st.none() | st.uuids(),
        st.none() | st.uuids(),
    )


DACL_TYPES = [0, 1, 5, 6]  # Windows refuses audit, alarm, label and policy ACEs in a DACL
SACL_TYPES = [0, 1, 2, 3, 5, 6, 7, 8, 0x11, 0x13]


def sddl_acl(aces):
    return Acl(4, tuple(aces))


sddl_descriptors = st.builds(
    lambda owner, group, dacl, sacl, flags: SecurityDescriptor(
        0x8000
        | (0x4 | (flags & 0x1500) if dacl is not None else 0)
        | (0x10 | (flags & 0x2A00) if sacl is not None else 0),
        owner,
        group,
        sacl,
        dacl,
    ),
    st.none() | sddl_sids,
    st.none() | sddl_sids,
    st.none() | st.lists(sddl_aces(DACL_TYPES), max_size=5).map(sddl_acl),
    st.none() | st.lists(sddl_aces(SACL_TYPES), max_size=5).map(sddl_acl),
    st.integers(0, 0xFFFF),
)


@given(sddl_descriptors)
@settings(max_examples=300)
def test_model_to_sddl_to_model(descriptor):
    text = format_sddl(descriptor, DOMAIN_SID)
    assert parse_sddl(text, DOMAIN_SID) == descriptor
    assert format_sddl(parse_sddl(text, DOMAIN_SID), DOMAIN_SID) == text


@given(st.text(alphabet="OGDS:()A;CIRPWD0x1-SBU ", max_size=40))
@settings(max_examples=500)
def test_garbage_sddl_raises_only_descriptor_error(text):
    with contextlib.suppress(DescriptorError):
        parse_sddl(text, DOMAIN_SID)


# -- the catalog agrees on aliases ------------------------------------------------------------


@pytest.mark.parametrize("entry", [e for e in wellknown.entries() if e.sddl], ids=lambda e: e.sddl)
def test_every_catalog_alias_parses_and_formats_both_ways(entry):
    """The catalog's sddl column is the one table of SDDL SID aliases: each parses to its SID and prints back."""
    domain = "S-1-5-21-1-2-3"
    sid = entry.sid.replace("S-1-5-21-*-*-*", domain)
    descriptor = parse_sddl(f"O:{entry.sddl}D:(A;;GA;;;{entry.sddl})", domain)
    assert str(descriptor.owner) == sid and [str(ace.sid) for ace in descriptor.dacl] == [sid]
    assert format_sddl(descriptor, domain) == f"O:{entry.sddl}D:(A;;GA;;;{entry.sddl})"


def test_the_alias_tables_are_exactly_the_catalog_s():
    catalog = {entry.sddl for entry in wellknown.entries() if entry.sddl}
    assert set(UNIVERSAL_ALIASES) | set(DOMAIN_ALIASES) == catalog
    assert {"SH", "HO"} <= set(UNIVERSAL_ALIASES)  # once missing from a second copy of the table


# -- Samba as the SDDL <-> binary oracle ------------------------------------------------------

_SAMBA_ORACLE = """
import base64, json, sys
from samba.dcerpc import security
from samba.ndr import ndr_pack
domain = security.dom_sid(sys.argv[1])
out = []
for text in json.load(sys.stdin):
    out.append(base64.b64encode(ndr_pack(security.descriptor.from_sddl(text, domain))).decode())
print(json.dumps(out))
"""


def samba_encode(texts: list[str]) -> list[bytes] | None:
    if not SYSTEM_PYTHON.exists():
        return None
    probe = subprocess.run([str(SYSTEM_PYTHON), "-c", "import samba.dcerpc.security"], capture_output=True)
    if probe.returncode != 0:
        return None
    result = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", _SAMBA_ORACLE, DOMAIN_SID],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [base64.b64decode(item) for item in json.loads(result.stdout)]


def test_sddl_to_binary_agrees_with_samba():
    # Samba 4.17 parses neither NO_ACCESS_CONTROL nor mandatory label ACEs.
    texts = [text for text in sample_sddl() if "ML;" not in text and "NO_ACCESS_CONTROL" not in text]
    blobs = samba_encode(texts)
    if blobs is None:
        pytest.skip("Samba's Python bindings are not importable by /usr/bin/python3 (install python3-samba)")
    for text, blob in zip(texts, blobs, strict=True):
        ours = parse_sddl(text, DOMAIN_SID)
        theirs = SecurityDescriptor.from_bytes(blob)
        assert (theirs.owner, theirs.group) == (ours.owner, ours.group), text
        for mine, samba in ((ours.dacl, theirs.dacl), (ours.sacl, theirs.sacl)):
            assert (mine is None) == (samba is None), text
            if mine is not None:
                assert mine.aces == samba.aces, text
        assert format_sddl(theirs, DOMAIN_SID) == text
        assert bytes(ours) == blob, text


def test_samba_descriptors_survive_binary_sddl_binary():
    blobs = list(dict.fromkeys(samba_blobs()))
    if not blobs:
        pytest.skip("tests/data/descriptors/samba_fixture_dc.ldif has not been dropped in yet")
    # SDDL carries no OWNER_DEFAULTED/GROUP_DEFAULTED (nor other non-ACL control bits): put them back.
    for blob in blobs:
        descriptor = SecurityDescriptor.from_bytes(blob)
        again = parse_sddl(format_sddl(descriptor))
        implied = descriptor.control & 0x0003
        assert again.control | implied == descriptor.control
        assert bytes(dataclasses.replace(again, control=descriptor.control)) == blob


def test_rights_of_thousands_of_decimal_digits_are_the_overflow_answer_not_an_internal_error():
    from sidtool.security import parse_sddl as parse

    (ace,) = parse("O:BAG:BAD:(A;;" + "9" * 5000 + ";;;WD)").dacl
    assert ace.mask == 0xFFFFFFFF  # wcstoul's ULONG_MAX, as for any number over 32 bits
