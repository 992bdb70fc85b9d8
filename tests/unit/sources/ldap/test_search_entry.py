"""Search entries decoded from their bytes (sidtool/sources/ldap/search_entry.py) against ldap3's own decoder."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldap3.operation.search import search_result_entry_response_to_dict_fast
from ldap3.utils.asn1 import decode_message_fast

from sidtool.sources.ldap.search_entry import MalformedEntry, SearchEntry, decode_search_entry
from tests.support.ldap_wire import entry, integer, octets, paged_control, result, tlv


def pdu(message_id: int, dn: str, attributes: dict[str, list[bytes]], controls: bytes = b"") -> bytes:
    return tlv(0x30, integer(message_id) + entry(dn, attributes) + controls)


def ldap3_decoding(message: bytes) -> SearchEntry:
    """What ldap3 makes of an entry, attribute names lower-cased as sidtool keys them (and no values as [])."""
    decoded = decode_message_fast(message)
    assert decoded["protocolOp"] == 4 and not decoded["controls"]
    found = search_result_entry_response_to_dict_fast(decoded["payload"], None, None, False)
    raw = {name.lower(): list(values or ()) for name, values in found["raw_attributes"].items()}
    return SearchEntry(decoded["messageID"], found["dn"], raw)


names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF), min_size=1, max_size=30)
long_values = st.integers(0x80, 70_000).map(lambda size: bytes(range(256)) * (size // 256) + bytes(size % 256))
values = st.lists(st.binary(max_size=300) | long_values, max_size=4)  # short-form lengths and 1, 2 and 3 octets
entries = st.tuples(st.integers(1, 2**31 - 1), names, st.dictionaries(names.map(str.lower), values, max_size=6)).map(
    lambda parts: pdu(*parts)
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(entries)
def test_an_entry_decodes_as_ldap3_decodes_it(message):
    assert decode_search_entry(message) == ldap3_decoding(message)


def test_what_a_dc_sends_decodes_to_its_dn_and_values():
    descriptor = bytes(range(256)) * 3  # a value with a long-form length
    message = pdu(
        7,
        "CN=Ann,DC=corp",
        {"objectSid": [b"\x01\x05"], "member;range=0-1": [b"a", b"b"], "nTSecurityDescriptor": [descriptor]},
    )
    assert decode_search_entry(message) == SearchEntry(
        7,
        "CN=Ann,DC=corp",
        {"objectsid": [b"\x01\x05"], "member;range=0-1": [b"a", b"b"], "ntsecuritydescriptor": [descriptor]},
    )


@pytest.mark.parametrize(
    "message",
    [
        tlv(0x30, integer(3) + result(0x65, 0)),  # SearchResultDone
        tlv(0x30, integer(3) + result(0x65, 0) + paged_control(b"cookie")),
        tlv(0x30, integer(3) + tlv(0x73, octets("ldap://elsewhere/"))),  # SearchResultReference
        tlv(0x30, integer(1) + result(0x61, 0)),  # BindResponse
        pdu(3, "CN=x", {"cn": [b"x"]}, paged_control(b"c")),  # an entry with controls
        tlv(0x30, integer(3) + tlv(0x64, octets(b"CN=\xff") + tlv(0x30, b""))),
        tlv(0x30, integer(3) + tlv(0x64, octets("CN=x") + tlv(0x30, tlv(0x30, octets(b"\xc3") + tlv(0x31, b""))))),
    ],
    ids=["done", "done with a cookie", "reference", "bind", "entry with controls", "latin-1 DN", "latin-1 name"],
)
def test_other_messages_and_unusual_entries_are_left_to_ldap3(message):
    assert decode_search_entry(message) is None


def entry_of(content: bytes) -> bytes:
    return tlv(0x30, integer(5) + tlv(0x64, content))


@pytest.mark.parametrize(
    ("message", "fault"),
    [
        (b"\x31\x03\x02\x01\x05", "byte 0 of a search entry: 0x31 where an LDAPMessage (0x30) belongs"),
        (b"\x30\x80\x02\x01\x05\x00\x00", "byte 1 of a search entry: an indefinite length"),
        (b"\x30\x85" + bytes(5), "byte 1 of a search entry: a length of 5 octets"),
        (b"\x30\x04\x02\x01\x05", "byte 1 of a search entry: a length of 4 runs past its element"),
        (tlv(0x30, integer(5) + tlv(0x64, b"")) + b"\x00", "byte 7 of a search entry: 1 bytes after the LDAPMessage"),
        (tlv(0x30, octets("5")), "byte 2 of a search entry: 0x04 where the messageID (0x02) belongs"),
        (tlv(0x30, b"\x02\x05" + bytes(5) + tlv(0x64, b"")), "a messageID of 5 bytes"),
        (tlv(0x30, b"\x02\x00" + tlv(0x64, b"")), "a messageID of 0 bytes"),
        (tlv(0x30, integer(5) + tlv(0x64, b"") + b"\x30\x00"), "byte 7 of a search entry: 0x30 after the entry"),
        (entry_of(b""), "nothing where the objectName (0x04) belongs"),
        (entry_of(octets("CN=x")), "nothing where the attributes (0x30) belongs"),
        (entry_of(octets("CN=x") + integer(5)), "0x02 where the attributes (0x30) belongs"),
        (entry_of(octets("CN=x") + tlv(0x30, b"") + b"\x00"), "bytes after the attributes"),
        (entry_of(octets("CN=x") + tlv(0x30, tlv(0x31, b""))), "0x31 where a PartialAttribute (0x30) belongs"),
        (
            entry_of(octets("CN=x") + tlv(0x30, tlv(0x30, octets("cn") + tlv(0x30, b"")))),
            "0x30 where the values' SET (0x31) belongs",
        ),
        (
            entry_of(octets("CN=x") + tlv(0x30, tlv(0x30, octets("cn") + tlv(0x31, b"") + b"\x00\x00"))),
            "bytes after an attribute's values",
        ),
        (
            entry_of(octets("CN=x") + tlv(0x30, tlv(0x30, octets("cn") + tlv(0x31, integer(1))))),
            "0x02 where a value (0x04) belongs",
        ),
        (
            entry_of(octets("CN=x") + tlv(0x30, tlv(0x30, octets("cn") + tlv(0x31, b"\x04\x05abc")))),
            "byte 24 of a search entry: a length of 5 runs past its element",
        ),
        (
            entry_of(octets("CN=x") + tlv(0x30, tlv(0x30, octets("cn") + tlv(0x31, b"\x04")))),
            "the element ends before its length",
        ),
        (
            entry_of(octets("CN=x") + tlv(0x30, tlv(0x30, octets("cn") + tlv(0x31, b"\x04\x82\x01")))),
            "the length runs past its element",
        ),
        (
            entry_of(octets("CN=x") + tlv(0x30, tlv(0x30, octets("cn") + tlv(0x31, b"\x04\x81\x05abc")))),
            "a length of 5 runs past its element",
        ),
    ],
)
def test_an_entry_that_breaks_its_shape_is_named_by_its_byte(message, fault):
    with pytest.raises(MalformedEntry, match=re.escape(fault)):
        decode_search_entry(message)


TELLING_BYTES = [0x00, 0x02, 0x04, 0x30, 0x31, 0x64, 0x7F, 0x80, 0x81, 0x82, 0x84, 0x85, 0xA0, 0xFF]  # tags and lengths


def mutated(message: bytes, data: st.DataObject) -> bytes:
    """``message`` with a few bytes changed, cut, or put in (ldap3's own fuzzing would find the same kinds)."""
    changed = bytearray(message)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["set", "cut", "insert"]))
        where = data.draw(st.integers(0, max(0, len(changed) - 1)))
        if kind == "set" and changed:
            changed[where] = data.draw(st.sampled_from(TELLING_BYTES))
        elif kind == "cut":
            del changed[where : where + data.draw(st.integers(1, 3))]
        else:
            changed[where:where] = bytes(data.draw(st.lists(st.integers(0, 255), min_size=1, max_size=3)))
    return bytes(changed)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.tuples(
        st.integers(1, 300), names, st.dictionaries(names, st.lists(st.binary(max_size=200), max_size=3), max_size=3)
    ).map(lambda parts: pdu(*parts)),
    st.data(),
)
def test_a_mutated_entry_decodes_as_ldap3_does_or_is_refused_or_left_to_ldap3(message, data):
    broken = mutated(message, data)
    try:
        decoded = decode_search_entry(broken)
    except MalformedEntry as error:
        assert re.match(r"byte \d+ of a search entry: ", str(error))
        return
    if decoded is not None:
        assert decoded == ldap3_decoding(broken)
        assert all(value in broken for values in decoded.attributes.values() for value in values)
