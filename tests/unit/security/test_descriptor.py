"""Binary security descriptors: [MS-DTYP] 2.4.4 to 2.4.6, exact round trips, hostile input."""

from __future__ import annotations

import contextlib
import os
import random
import struct
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from impacket.ldap.ldaptypes import SR_SECURITY_DESCRIPTOR

from sidtool.errors import DescriptorError, InputError
from sidtool.security import (
    Ace,
    AceType,
    Acl,
    Control,
    SecurityDescriptor,
    Sid,
    clear_caches,
    decode_descriptor,
    store_property_header,
)
from sidtool.security.sddl import format_sddl, parse_sddl
from tests.support.descriptor_samples import DOMAIN_SID, real_blobs, samba_blobs, sample_blobs, windows_layout

EVERYONE = Sid.parse("S-1-1-0")
SYSTEM = Sid.parse("S-1-5-18")
SEND_AS = uuid.UUID("ab721a54-1e2f-11d0-9819-00aa0040529b")
USER_CLASS = uuid.UUID("bf967aba-0de6-11d0-a285-00aa003049e2")


def ace_bytes(ace_type: int, flags: int, body: bytes) -> bytes:
    return struct.pack("<BBH", ace_type, flags, 4 + len(body)) + body


def acl_bytes(aces: list[bytes], revision: int = 2, padding: bytes = b"", count: int | None = None) -> bytes:
    body = b"".join(aces) + padding
    return struct.pack("<BBHHH", revision, 0, 8 + len(body), len(aces) if count is None else count, 0) + body


def descriptor_bytes(
    control: int = 0x8004, owner: bytes = b"", group: bytes = b"", sacl: bytes = b"", dacl: bytes = b""
) -> bytes:
    offsets = []
    body = b""
    for part in (owner, group, sacl, dacl):
        offsets.append(20 + len(body) if part else 0)
        body += part
    return struct.pack("<BBHIIII", 1, 0, control, *offsets) + body


# -- agreement with impacket, ACE by ACE -------------------------------------------------------


def impacket_aces(blob: bytes) -> list[tuple]:
    descriptor = SR_SECURITY_DESCRIPTOR(data=blob)
    rows = []
    for which in ("Dacl", "Sacl"):
        acl = descriptor[which]
        if not acl:
            continue
        for ace in acl.aces:
            body = ace["Ace"]
            object_type = inherited = None
            if ace["AceType"] in (5, 6, 7, 8):
                if body["Flags"] & 1:
                    object_type = str(uuid.UUID(bytes_le=body["ObjectType"]))
                if body["Flags"] & 2:
                    inherited = str(uuid.UUID(bytes_le=body["InheritedObjectType"]))
            rows.append(
                (
                    which.upper(),
                    ace["AceType"],
                    ace["AceFlags"],
                    body["Mask"]["Mask"],
                    body["Sid"].formatCanonical(),
                    object_type,
                    inherited,
                )
            )
    return rows


def our_aces(blob: bytes) -> list[tuple]:
    descriptor = SecurityDescriptor.from_bytes(blob)
    return [
        (
            which,
            ace.type,
            ace.flags,
            ace.mask,
            str(ace.sid),
            str(ace.object_type) if ace.object_type else None,
            str(ace.inherited_object_type) if ace.inherited_object_type else None,
        )
        for which, ace in descriptor.aces()
    ]


@pytest.mark.parametrize("blob", real_blobs(), ids=lambda b: f"{len(b)}B-{hash(b) & 0xFFFF:04x}")
def test_aces_match_impacket(blob):
    assert our_aces(blob) == impacket_aces(blob)
    descriptor = SecurityDescriptor.from_bytes(blob)
    oracle = SR_SECURITY_DESCRIPTOR(data=blob)
    owner = oracle["OwnerSid"].formatCanonical() if oracle["OwnerSid"] else None
    group = oracle["GroupSid"].formatCanonical() if oracle["GroupSid"] else None
    assert (str(descriptor.owner) if descriptor.owner else None) == owner
    assert (str(descriptor.group) if descriptor.group else None) == group
    assert descriptor.control == oracle["Control"]


def test_samba_export_is_used_when_present():
    blobs = samba_blobs()
    if not blobs:
        pytest.skip("tests/data/descriptors/samba_fixture_dc.ldif has not been dropped in yet")
    assert len(blobs) >= 100
    assert all(bytes(SecurityDescriptor.from_bytes(blob)) == blob for blob in blobs)


# -- exact round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("blob", real_blobs(), ids=lambda b: f"{len(b)}B-{hash(b) & 0xFFFF:04x}")
def test_binary_round_trip_is_byte_exact(blob):
    assert bytes(SecurityDescriptor.from_bytes(blob)) == blob


@pytest.mark.parametrize("blob", sample_blobs())
def test_windows_layout_with_gaps_round_trips(blob):
    relaid = windows_layout(blob, gap=b"\xaa\xbb\xcc\xdd")
    parsed = SecurityDescriptor.from_bytes(relaid)
    assert parsed == SecurityDescriptor.from_bytes(blob)  # same meaning
    assert bytes(parsed) == relaid  # same bytes


def test_padding_inside_acl_and_after_sid_and_after_descriptor_is_kept():
    sid = bytes(EVERYONE)
    padded_ace = ace_bytes(0, 0, struct.pack("<I", 0x20094) + sid + b"\0\0\0\0")
    dacl = acl_bytes([padded_ace], padding=b"\x01\x02\x03\x04")
    blob = descriptor_bytes(dacl=dacl) + b"trailing"
    parsed = SecurityDescriptor.from_bytes(blob)
    assert parsed.dacl.aces[0].application_data == b"\0\0\0\0"
    assert parsed.dacl.padding == b"\x01\x02\x03\x04"
    assert bytes(parsed) == blob


def test_changed_descriptor_is_laid_out_canonically():
    blob = windows_layout(sample_blobs()[0], gap=b"\xee" * 4)
    parsed = SecurityDescriptor.from_bytes(blob)
    import dataclasses

    smaller = dataclasses.replace(parsed, dacl=Acl(2, parsed.dacl.aces[:1]))
    again = SecurityDescriptor.from_bytes(bytes(smaller))
    assert again.dacl.aces == parsed.dacl.aces[:1]
    assert b"\xee" not in bytes(smaller)[:20]


def test_absent_empty_and_null_dacl_are_distinct():
    absent = SecurityDescriptor.from_bytes(descriptor_bytes(control=0x8000))
    empty = SecurityDescriptor.from_bytes(descriptor_bytes(control=0x8004, dacl=acl_bytes([])))
    null = SecurityDescriptor.from_bytes(descriptor_bytes(control=0x8004))
    assert absent.dacl is None and not absent.dacl_present
    assert empty.dacl == Acl(2, ()) and empty.dacl_present
    assert null.dacl is None and null.dacl_present
    assert len({format_sddl(absent), format_sddl(empty), format_sddl(null)}) == 3
    assert format_sddl(null) == "D:NO_ACCESS_CONTROL"


# -- every ACE type --------------------------------------------------------------------------

SID_TYPES = [0x00, 0x01, 0x02, 0x03, 0x11, 0x13]
CALLBACK_TYPES = [0x09, 0x0A, 0x0D, 0x0E, 0x12]
OBJECT_TYPES = [0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0F, 0x10]


@pytest.mark.parametrize("ace_type", SID_TYPES + CALLBACK_TYPES)
def test_sid_shaped_aces(ace_type):
    data = b"artx\x00\x01\x02\x03" if ace_type in CALLBACK_TYPES else b""
    raw = ace_bytes(ace_type, 0x12, struct.pack("<I", 0x10) + bytes(SYSTEM) + data)
    ace = Ace.from_bytes(raw)
    assert (ace.type, ace.flags, ace.mask, ace.sid, ace.application_data) == (ace_type, 0x12, 0x10, SYSTEM, data)
    assert ace.type_name == AceType(ace_type).name
    assert bytes(ace) == raw


@pytest.mark.parametrize("ace_type", OBJECT_TYPES)
@pytest.mark.parametrize("object_flags", [0, 1, 2, 3])
def test_object_aces_carry_the_guids_their_flags_announce(ace_type, object_flags):
    guids = (SEND_AS.bytes_le if object_flags & 1 else b"") + (USER_CLASS.bytes_le if object_flags & 2 else b"")
    raw = ace_bytes(ace_type, 0x02, struct.pack("<II", 0x100, object_flags) + guids + bytes(EVERYONE))
    ace = Ace.from_bytes(raw)
    assert ace.object_type == (SEND_AS if object_flags & 1 else None)
    assert ace.inherited_object_type == (USER_CLASS if object_flags & 2 else None)
    assert ace.object_flags == object_flags and ace.is_object
    assert bytes(ace) == raw


@pytest.mark.parametrize("ace_type", [0x04, 0x14, 0x15, 0x7F, 0xFF])
def test_unknown_ace_type_is_kept_raw(ace_type):
    raw = ace_bytes(ace_type, 0x03, b"whatever bytes!!")
    blob = descriptor_bytes(dacl=acl_bytes([raw, ace_bytes(0, 0, struct.pack("<I", 1) + bytes(EVERYONE))]))
    parsed = SecurityDescriptor.from_bytes(blob)
    first = parsed.dacl.aces[0]
    assert first.is_raw and first.type == ace_type and first.flags == 3 and first.body == b"whatever bytes!!"
    assert parsed.dacl.aces[1].sid == EVERYONE
    assert bytes(parsed) == blob


# -- the Exchange store header ---------------------------------------------------------------


def test_store_property_header_is_skipped():
    descriptor = sample_blobs()[0]
    # edkmdb.h: WORD header length, WORD version (3), DWORD security information, then the descriptor.
    header = struct.pack("<HHI", 8, 3, 0x4)
    value = header + descriptor
    parsed = SecurityDescriptor.from_store_property(value)
    assert parsed == SecurityDescriptor.from_bytes(descriptor)
    assert store_property_header(value) + bytes(parsed) == value


def test_store_property_errors_count_from_the_property_start():
    value = struct.pack("<HHI", 8, 3, 0x4) + b"\x01\x00\x04\x80" + b"\0" * 4
    with pytest.raises(DescriptorError, match="at byte offset 8") as caught:
        SecurityDescriptor.from_store_property(value)
    assert caught.value.offset == 8
    with pytest.raises(DescriptorError, match="header length 300"):
        SecurityDescriptor.from_store_property(struct.pack("<H", 300) + b"\0" * 10)


# -- hostile input -------------------------------------------------------------------------


def good_blob() -> bytes:
    return descriptor_bytes(
        owner=bytes(SYSTEM),
        dacl=acl_bytes([ace_bytes(0, 0, struct.pack("<I", 0x20094) + bytes(EVERYONE))]),
    )


@pytest.mark.parametrize(
    ("blob", "words", "offset"),
    [
        (b"\x01\x00\x04\x80", "truncated", 0),
        (struct.pack("<BBHIIII", 2, 0, 0x8004, 0, 0, 0, 0), "revision 2", 0),
        (struct.pack("<BBHIIII", 1, 0, 0x8004, 500, 0, 0, 0), "outside", 500),
        (struct.pack("<BBHIIII", 1, 0, 0x8004, 4, 0, 0, 0), "into the 20-byte", 4),
        (descriptor_bytes(owner=bytes([1, 16]) + bytes(6) + bytes(64)), "16 sub-authorities", 21),
        (descriptor_bytes(dacl=acl_bytes([], revision=3)), "revision 3 does not exist", 20),
        (descriptor_bytes(dacl=acl_bytes([], count=5)), "announces 5 ACEs", 28),
        (descriptor_bytes(dacl=acl_bytes([struct.pack("<BBH", 0, 0, 2) + bytes(12)])), "smaller than its 4-byte", 30),
        (descriptor_bytes(dacl=acl_bytes([struct.pack("<BBH", 0, 0, 0) + bytes(12)])), "smaller than its 4-byte", 30),
        (descriptor_bytes(dacl=acl_bytes([struct.pack("<BBHI", 0, 0, 12, 0) + bytes(4)])), "trustee SID", 36),
    ],
)
def test_malformed_input_names_what_and_where(blob, words, offset):
    with pytest.raises(DescriptorError, match=words) as caught:
        SecurityDescriptor.from_bytes(blob)
    assert caught.value.offset == offset
    assert f"offset {offset}" in str(caught.value)
    assert isinstance(caught.value, InputError) and isinstance(caught.value, ValueError)


def test_acl_size_past_the_end():
    blob = bytearray(good_blob())
    dacl_at = struct.unpack_from("<I", blob, 16)[0]
    struct.pack_into("<H", blob, dacl_at + 2, 200)  # DACL AclSize
    with pytest.raises(DescriptorError, match="runs past the end"):
        SecurityDescriptor.from_bytes(bytes(blob))


def test_fuzz_ten_thousand_mutations_raise_only_descriptor_error():
    seeds = [*real_blobs()[:40], good_blob()]
    generator = random.Random(870585)
    accepted = rejected = 0
    for _ in range(max(10_000, int(os.environ.get("SIDTOOL_FUZZ_CASES", "0")))):  # the long run: see test_fuzz_readers
        blob = bytearray(generator.choice(seeds))
        for _ in range(generator.randint(1, 4)):
            choice = generator.random()
            if choice < 0.5 and blob:
                blob[generator.randrange(len(blob))] = generator.randrange(256)
            elif choice < 0.7:
                del blob[generator.randrange(len(blob) + 1) :]
            elif choice < 0.85 and blob:
                position = generator.randrange(len(blob))
                blob[position : position + 2] = generator.choice([b"\xff\xff", b"\0\0", b"\x10\0", b"\x04\0"])
            else:
                blob[generator.randrange(len(blob) + 1) : 0] = generator.randbytes(generator.randint(1, 8))
        data = bytes(blob)
        try:
            parsed = SecurityDescriptor.from_bytes(data)
        except DescriptorError:
            rejected += 1
            continue
        accepted += 1
        assert bytes(parsed) == data
    assert accepted and rejected


# -- property-based ----------------------------------------------------------------------------

sids = st.builds(
    lambda authority, subs: Sid(1, authority, tuple(subs)),
    st.sampled_from([0, 1, 3, 5, 16, 1 << 40]),
    st.lists(st.integers(0, 0xFFFFFFFF), max_size=15),
)
guids = st.none() | st.uuids()


@st.composite
def aces(draw):
    kind = draw(st.sampled_from(["sid", "object", "raw"]))
    flags = draw(st.integers(0, 255))
    if kind == "raw":
        raw_type = draw(st.sampled_from([0x04, 0x14, 0x15, 0x40]))
        return Ace(raw_type, flags, None, None, body=draw(st.binary(max_size=40)))
    mask = draw(st.integers(0, 0xFFFFFFFF))
    data = draw(st.binary(max_size=12))
    if kind == "sid":
        return Ace(draw(st.sampled_from(SID_TYPES + CALLBACK_TYPES)), flags, mask, draw(sids), application_data=data)
    object_type, inherited = draw(guids), draw(guids)
    object_flags = (1 if object_type else 0) | (2 if inherited else 0)
    return Ace(draw(st.sampled_from(OBJECT_TYPES)), flags, mask, draw(sids), object_type, inherited, object_flags, data)


acls = st.builds(
    lambda revision, items, padding: Acl(revision, tuple(items), padding=padding),
    st.sampled_from([2, 4]),
    st.lists(aces(), max_size=6),
    st.binary(max_size=6),
)
descriptors = st.builds(
    SecurityDescriptor,
    control=st.integers(0, 0xFFFF),
    owner=st.none() | sids,
    group=st.none() | sids,
    sacl=st.none() | acls,
    dacl=st.none() | acls,
)


@given(descriptors)
@settings(max_examples=300)
def test_model_to_bytes_to_model(descriptor):
    blob = bytes(descriptor)
    parsed = SecurityDescriptor.from_bytes(blob)
    assert parsed == descriptor
    assert bytes(parsed) == blob


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_garbage_raises_only_descriptor_error(data):
    try:
        parsed = SecurityDescriptor.from_bytes(data)
    except DescriptorError:
        return
    assert bytes(parsed) == data


@given(st.binary(min_size=20, max_size=200))
@settings(max_examples=300)
def test_garbage_behind_a_plausible_header_raises_only_descriptor_error(tail):
    data = struct.pack("<BBHIIII", 1, 0, 0x8014, 20, 28, 36, 44) + tail
    with contextlib.suppress(DescriptorError):
        SecurityDescriptor.from_bytes(data)


# -- the cached entry point -----------------------------------------------------------------


def test_decode_descriptor_decodes_each_blob_once():
    clear_caches()
    blob = sample_blobs()[1]
    first = decode_descriptor(blob)
    assert decode_descriptor(bytes(bytearray(blob))) is first
    assert first == SecurityDescriptor.from_bytes(blob)


def test_control_flags_and_convenience():
    descriptor = parse_sddl("O:DAG:DAD:PAI(A;;RC;;;AU)S:AI", DOMAIN_SID)
    flags = descriptor.control_flags
    assert Control.SELF_RELATIVE in flags and Control.DACL_PROTECTED in flags and Control.SACL_AUTO_INHERITED in flags
    assert [which for which, _ in descriptor.aces()] == ["DACL"]


# -- one table of ACE type facts, and its views -------------------------------------------------------


def test_the_ace_type_views_are_derived_from_one_table():
    from sidtool.security import descriptor, sddl

    # [MS-DTYP] 2.4.4.1: which types have object bodies, callbacks, allow or deny
    assert {0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0F, 0x10} == descriptor.OBJECT_ACE_TYPES
    assert {0x00, 0x01, 0x02, 0x03, 0x09, 0x0A, 0x0D, 0x0E, 0x11, 0x12, 0x13} == descriptor.SID_ACE_TYPES
    assert set(range(0x09, 0x11)) == descriptor.CALLBACK_ACE_TYPES
    assert {0x00, 0x05, 0x09, 0x0B} == descriptor.ALLOW_ACE_TYPES
    assert {0x01, 0x06, 0x0A, 0x0C} == descriptor.DENY_ACE_TYPES
    # [MS-DTYP] 2.5.1.1: every SDDL ace_type code, both ways through the one table
    assert sddl.ACE_TYPE_CODES == {"A": 0x00, "D": 0x01, "AU": 0x02, "AL": 0x03, "OA": 0x05, "OD": 0x06,
                                   "OU": 0x07, "OL": 0x08, "XA": 0x09, "XD": 0x0A, "ZA": 0x0B, "XU": 0x0D,
                                   "ML": 0x11, "RA": 0x12, "SP": 0x13}  # fmt: skip
    assert {code: descriptor.ACE_KINDS[value].sddl for code, value in sddl.ACE_TYPE_CODES.items()} == {
        code: code for code in sddl.ACE_TYPE_CODES
    }
    assert set(descriptor.ACE_KINDS) == set(descriptor.AceType) - {descriptor.AceType.ACCESS_ALLOWED_COMPOUND}
    assert [bit for _, bit in descriptor.ACE_FLAG_CODES] == [flag for flag in descriptor.AceFlag]
