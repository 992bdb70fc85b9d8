"""The Sid value type: [MS-DTYP] 2.4.2.1 string form and 2.4.2.2 binary layout."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidtool.errors import SidError
from sidtool.security.sid import Sid


def binary(authority: int, *subs: int, count: int | None = None) -> bytes:
    count = len(subs) if count is None else count
    return bytes([1, count]) + authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


def test_parse_and_format_are_symmetric():
    sid = Sid.parse("S-1-5-32-555")
    assert str(sid) == "S-1-5-32-555"
    assert sid == Sid(1, 5, (32, 555))
    assert repr(sid) == "Sid('S-1-5-32-555')"


def test_lowercase_and_surrounding_whitespace_are_accepted():
    assert Sid.parse("  s-1-5-32-544\n") == Sid(1, 5, (32, 544))


def test_zero_sub_authorities():
    sid = Sid.parse("S-1-5")
    assert sid.sub_authorities == ()
    assert bytes(sid) == binary(5)
    assert Sid.from_bytes(binary(5)) == sid
    assert sid.rid is None and sid.domain is None


def test_fifteen_sub_authorities_is_the_maximum():
    subs = tuple(range(1, 16))
    text = "S-1-5-" + "-".join(map(str, subs))
    sid = Sid.parse(text)
    assert str(sid) == text
    assert Sid.from_bytes(bytes(sid)) == sid


def test_more_than_fifteen_sub_authorities_is_rejected_as_text_and_bytes():
    with pytest.raises(SidError, match="16 sub-authorities"):
        Sid.parse("S-1-5-" + "-".join(["1"] * 16))
    with pytest.raises(SidError, match="16 sub-authorities"):
        Sid.from_bytes(binary(5, *([1] * 16)))


def test_authority_of_2_to_the_32_or_more_prints_in_hex():
    sid = Sid.parse("S-1-0x123456789ABC-7")
    assert sid.authority == 0x123456789ABC
    assert str(sid) == "S-1-0x123456789ABC-7"
    assert Sid.parse(str(sid)) == sid
    assert Sid.from_bytes(bytes(sid)) == sid
    assert str(Sid(1, 1 << 32, ())) == "S-1-0x100000000"
    # Below 2^32 the canonical form is decimal, even when written in hex.
    assert str(Sid.parse("S-1-0x5-32")) == "S-1-5-32"


def test_large_authority_prints_as_windows_does_unpadded_upper_case():
    # ConvertSidToStringSidW: S-1-0x500000000-32-579, not S-1-0x000500000000-32-579.
    assert str(Sid(1, 0x5_0000_0000, (32, 579))) == "S-1-0x500000000-32-579"
    assert str(Sid(1, 0xABCDEF012345, ())) == "S-1-0xABCDEF012345"
    assert str(Sid(1, 0xFFFFFFFF, (1,))) == "S-1-4294967295-1"
    assert Sid.parse("S-1-0x500000000-32-579") == Sid(1, 0x5_0000_0000, (32, 579))
    assert Sid.parse("S-1-0x000500000000-32-579") == Sid(1, 0x5_0000_0000, (32, 579))


def test_hex_sub_authorities_are_read_and_printed_decimal():
    sid = Sid.parse("S-1-5-21-1-2-3-0x4b1")
    assert sid.rid == 0x4B1
    assert str(sid) == "S-1-5-21-1-2-3-1201"
    assert Sid.parse("S-1-5-0XFFFFFFFF").rid == 0xFFFFFFFF
    with pytest.raises(SidError, match="32 bits"):
        Sid.parse("S-1-5-0x100000000")


def test_white_space_may_precede_a_number_but_not_follow_it():
    assert Sid.parse("S- 1- 2-3") == Sid(1, 2, (3,))
    assert Sid.parse("S-1-5-\t32- 544") == Sid(1, 5, (32, 544))
    sid, end = Sid.read_text("S-1-3-4 ", 0)
    assert (sid, end) == (Sid(1, 3, (4,)), 7)  # the scanner stops before the space; SDDL refuses what follows
    with pytest.raises(SidError, match="not a decimal number"):
        Sid.parse("S-1-5- ")


def test_read_text_reads_a_sid_inside_longer_text():
    assert Sid.read_text("O:S-1-5-32-544G:BA", 2) == (Sid(1, 5, (32, 544)), 14)


def test_authority_above_48_bits_is_rejected():
    with pytest.raises(SidError, match="48 bits"):
        Sid.parse(f"S-1-{1 << 48}-1")


def test_sub_authority_above_32_bits_is_rejected():
    assert Sid.parse("S-1-5-4294967295").rid == 4294967295
    with pytest.raises(SidError, match=r"sub-authority 1 .*32 bits"):
        Sid.parse("S-1-5-4294967296")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("S-1-", "identifier authority is empty"),
        ("S-1-5-x", "sub-authority 1 'x' is not a decimal number"),
        ("S-1-5--3", "sub-authority 1 '' is not a decimal number"),
        ("S-1-5-32-", "sub-authority 2 '' is not a decimal number"),
        ("S-2-5-32", "revision 2 is not 1"),
        ("S-1", "is not a SID"),
        ("X-1-5", "is not a SID"),
        ("", "is not a SID"),
        ("S-1-5-+3", "not a decimal number"),
        ("S-1-5-1_000", "unexpected '_000' after the SID"),
        ("S-1-5-0x 4b1", "unexpected 'x 4b1' after the SID"),
        ("S-1-5-0x+4b1", "unexpected 'x\\+4b1' after the SID"),
        ("S-1-5-\u0663", "not a decimal number"),  # Arabic-Indic digit three
        ("S-1-5-\uff13\uff12", "not a decimal number"),  # full-width digits
    ],
)
def test_malformed_text_says_what_is_wrong(text, message):
    with pytest.raises(SidError, match=message):
        Sid.parse(text)


def test_sid_error_is_a_value_error():
    with pytest.raises(ValueError):
        Sid.parse("S-1-5-x")


@pytest.mark.parametrize("length", range(0, 16))
def test_truncated_binary_is_a_sid_error_never_struct_error(length):
    data = binary(5, 21, 1, 2, 3, 512)[:length]
    with pytest.raises(SidError, match="truncated"):
        Sid.from_bytes(data)


def test_binary_bad_revision_and_trailing_bytes():
    with pytest.raises(SidError, match="revision 2"):
        Sid.from_bytes(b"\x02" + binary(5, 32)[1:])
    with pytest.raises(SidError, match="unexpected bytes"):
        Sid.from_bytes(binary(5, 32) + b"\x00")


def test_read_at_offset_returns_the_end():
    data = b"\xff\xff" + binary(5, 32, 544) + b"rest"
    sid, end = Sid.read(data, 2)
    assert sid == Sid.parse("S-1-5-32-544")
    assert data[end:] == b"rest"


def test_binary_layout_matches_ms_dtyp():
    # [MS-DTYP] 2.4.2.2: S-1-5-32-544 as revision 1, count 2, authority 5 big-endian, subs little-endian.
    assert bytes(Sid.parse("S-1-5-32-544")).hex() == "010200000000000520000000" + "20020000"


def test_split_domain_and_rid():
    sid = Sid.parse("S-1-5-21-1004336348-1177238915-682003330-512")
    domain, rid = sid.split()
    assert str(domain) == "S-1-5-21-1004336348-1177238915-682003330"
    assert rid == 512 == sid.rid
    assert sid.domain == domain
    assert sid.is_under(domain) and not domain.is_under(sid)
    with pytest.raises(SidError):
        Sid.parse("S-1-5").split()


def test_hash_eq_and_order():
    a, b = Sid.parse("S-1-5-32-544"), Sid.parse("s-1-5-32-544")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert sorted([Sid.parse("S-1-5-32-555"), Sid.parse("S-1-5-32-544"), Sid.parse("S-1-1-0")]) == [
        Sid.parse("S-1-1-0"),
        Sid.parse("S-1-5-32-544"),
        Sid.parse("S-1-5-32-555"),
    ]


def test_is_immutable():
    sid = Sid.parse("S-1-5-32-544")
    with pytest.raises(AttributeError):
        sid.authority = 1  # type: ignore[misc]


sids = st.builds(
    Sid,
    st.just(1),
    st.integers(0, (1 << 48) - 1),
    st.lists(st.integers(0, (1 << 32) - 1), max_size=15).map(tuple),
)


@given(sids)
def test_text_and_binary_round_trip(sid):
    assert Sid.parse(str(sid)) == sid
    assert Sid.from_bytes(bytes(sid)) == sid


@given(sids, sids)
def test_a_sid_read_from_bytes_is_the_sid_built_and_checked(sid, other):
    """Sid.read makes its SID without checking the parts again (they are in range by their width): it must be
    the same value as one built through the checks, as a key, in order, in text and frozen."""
    read = Sid.from_bytes(bytes(sid))
    built = Sid(1, sid.authority, tuple(sid.sub_authorities))
    assert read == built and hash(read) == hash(built) and {read: 1}[built] == 1
    assert (read < other) == (built < other) and (other < read) == (other < built)
    assert str(read) == str(built) and repr(read) == repr(built) and bytes(read) == bytes(built)
    with pytest.raises(AttributeError):
        read.authority = 1  # type: ignore[misc]


@given(st.binary(max_size=80))
def test_arbitrary_bytes_parse_or_raise_sid_error(data):
    try:
        sid = Sid.from_bytes(data)
    except SidError:
        return
    assert bytes(sid) == data


@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_sid_error(text):
    try:
        sid = Sid.parse(text)
    except SidError:
        return
    assert Sid.parse(str(sid)) == sid


@pytest.mark.parametrize(
    "text", ["S-1-5-21-" + "9" * 5000, "S-1-" + "7" * 4400, "S-1-0x" + "f" * 5000, "S-1-5-" + "1" * 21]
)
def test_a_number_of_thousands_of_digits_is_a_sid_error_with_a_short_message(text):
    """Python's int() refuses over 4,300 digits with a ValueError of its own; such a SID is refused before it."""
    with pytest.raises(SidError, match="digits: it does not fit") as caught:
        Sid.parse(text)
    assert len(str(caught.value)) < 300


def test_leading_zeros_do_not_make_a_number_too_long():
    assert Sid.parse("S-1-5-21-" + "0" * 40 + "7") == Sid.parse("S-1-5-21-7")
    assert Sid.parse("S-1-5-21-" + "0" * 5000 + "7") == Sid.parse("S-1-5-21-7")  # (int() would refuse the text)
    assert Sid.parse("S-1-0x" + "0" * 5000 + "5-21") == Sid.parse("S-1-5-21")
