"""Conditional expressions ([MS-DTYP] 2.4.4.17, 2.5.1.1-2.5.1.2) and resource attributes (2.4.10.1), both ways.

The expected bytes below are written from the token table of [MS-DTYP] 2.4.4.17.4-2.4.4.17.8, not taken from
another implementation.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidtool.errors import DescriptorError
from sidtool.security import SecurityDescriptor, Sid
from sidtool.security.claims import ResourceAttribute, decode_attribute, encode_attribute, format_attribute
from sidtool.security.conditions import (
    MAX_DEPTH,
    Attribute,
    Literal,
    Operation,
    decode_condition,
    encode_condition,
    format_condition,
    format_integer,
    parse_condition,
)
from sidtool.security.conditions import compile_condition as compile_text
from sidtool.security.sddl import format_sddl, parse_sddl, sid_from_alias

BA = Sid.parse("S-1-5-32-544")


def sized(code: int, payload: bytes) -> bytes:
    return bytes((code,)) + struct.pack("<I", len(payload)) + payload


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def int64(value: int, sign: int = 3, base: int = 2) -> bytes:
    return b"\x04" + struct.pack("<qBB", value, sign, base)


def padded(body: bytes) -> bytes:
    return body + bytes(-len(body) % 4)


def compile_condition(text: str) -> bytes:
    """Compile with SDDL's aliases (the SDDL parser passes its own resolver the same way)."""
    return compile_text(text, lambda token, _offset: Sid.parse(token) if "-" in token else sid_from_alias(token))


def condition_of(text: str) -> str:
    """The canonical text of one condition, through an XA ACE and its bytes."""
    descriptor = parse_sddl(f"D:(XA;;FR;;;WD;{text})")
    again = SecurityDescriptor.from_bytes(bytes(descriptor))
    return format_sddl(again).split(";", 6)[6][:-1]


# -- text -> bytes, token by token ----------------------------------------------------------------


def test_the_issue_example_compiles_to_the_documented_tokens():
    data = compile_condition('(@User.Title == "PM" && Member_of {SID(BA)})')
    expected = (
        b"artx"
        + sized(0xF9, utf16("Title"))
        + sized(0x10, utf16("PM"))
        + b"\x80"
        + sized(0x50, sized(0x51, bytes(BA)))
        + b"\x89"
        + b"\xa0"
    )
    assert data == padded(expected)


@pytest.mark.parametrize(
    ("text", "operator"),
    [
        ("(@User.a == 1)", 0x80),
        ("(@User.a != 1)", 0x81),
        ("(@User.a < 1)", 0x82),
        ("(@User.a <= 1)", 0x83),
        ("(@User.a > 1)", 0x84),
        ("(@User.a >= 1)", 0x85),
        ("(@User.a Contains 1)", 0x86),
        ("(@User.a Any_of {1})", 0x88),
        ("(@User.a Not_Contains 1)", 0x8E),
        ("(@User.a Not_Any_of {1})", 0x8F),
    ],
)
def test_binary_operators_follow_their_operands(text, operator):
    data = compile_condition(text)
    assert data.rstrip(b"\0")[-1] == operator
    assert condition_of(text).replace("@USER.", "@User.").strip("()") == text.strip("()")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Member_of", 0x89),
        ("Device_Member_of", 0x8A),
        ("Member_of_Any", 0x8B),
        ("Device_Member_of_Any", 0x8C),
        ("Not_Member_of", 0x90),
        ("Not_Device_Member_of", 0x91),
        ("Not_Member_of_Any", 0x92),
        ("Not_Device_Member_of_Any", 0x93),
    ],
)
def test_membership_operators(name, code):
    data = compile_condition(f"({name} {{SID(BA), SID(S-1-5-21-1-2-3-1105)}})")
    assert data.rstrip(b"\0")[-1] == code
    # Windows prints Member_of_Any as Member_of_any; the others as [MS-DTYP] spells them.
    printed = "Member_of_any" if name == "Member_of_Any" else name
    assert condition_of(f"({name.upper()} {{SID(BA), SID(S-1-5-21-1-2-3-1105)}})") == (
        f"({printed} {{SID(BA), SID(S-1-5-21-1-2-3-1105)}})"
    )


def test_existence_and_logical_operators():
    data = compile_condition("(!(Exists @Device.a) || Not_Exists b)")
    expected = b"artx" + sized(0xFB, utf16("a")) + b"\x87\xa2" + sized(0xF8, utf16("b")) + b"\x8d\xa1"
    assert data == padded(expected)
    assert condition_of("(!(Exists @Device.a) || Not_Exists b)") == "((!(Exists @DEVICE.a)) || (Not_Exists b))"


def test_precedence_relational_then_not_then_and_then_or():
    node, _ = parse_condition("(a == 1 || b == 2 && !c == 3)")
    assert node == Operation(
        0xA1,
        (
            Operation(0x80, (Attribute(0xF8, "a"), Literal(4, 1))),
            Operation(
                0xA0,
                (
                    Operation(0x80, (Attribute(0xF8, "b"), Literal(4, 2))),
                    Operation(0xA2, (Operation(0x80, (Attribute(0xF8, "c"), Literal(4, 3))),)),
                ),
            ),
        ),
    )
    assert condition_of("(a == 1 || b == 2 && !c == 3)") == "((a == 1) || ((b == 2) && (!(c == 3))))"


@pytest.mark.parametrize(
    ("text", "value", "sign", "base", "printed"),
    [
        ("5", 5, 3, 2, "5"),
        ("+5", 5, 1, 2, "+5"),
        ("-5", -5, 2, 2, "-5"),
        ("0", 0, 3, 2, "0"),
        ("017", 15, 3, 1, "017"),
        ("-017", -15, 2, 1, "-017"),
        ("0x1F", 31, 3, 3, "0x1f"),
        ("+0x1f", 31, 1, 3, "+0x1f"),
        ("-0x8000000000000000", -(1 << 63), 2, 3, "-0x8000000000000000"),
        ("0xffffffffffffffff", -1, 3, 3, "0xffffffffffffffff"),
        ("9223372036854775807", (1 << 63) - 1, 3, 2, "9223372036854775807"),
    ],
)
def test_integers_keep_base_and_sign(text, value, sign, base, printed):
    data = compile_condition(f"(@User.a == {text})")
    assert int64(value, sign, base) in data
    assert condition_of(f"(@User.a == {text})") == f"(@USER.a == {printed})"


def test_integer_formatting_of_every_sign_and_base():
    assert [format_integer(8, 3, base) for base in (1, 2, 3)] == ["010", "8", "0x8"]
    assert [format_integer(-8, 2, base) for base in (1, 2, 3)] == ["-010", "-8", "-0x8"]
    # Zero keeps its base in octal and hex (Windows prints 0 for all three: see conditions.py).
    assert [format_integer(0, 1, base) for base in (1, 2, 3)] == ["+00", "+0", "+0x0"]
    assert [format_integer(0, 3, base) for base in (1, 2, 3)] == ["00", "0", "0x0"]
    assert format_integer(-1, 3, 1) == "01777777777777777777777"


def test_strings_octets_sids_and_composites():
    data = compile_condition('(@Resource.a Any_of {"x", #0a#b, SID(S-1-5-32-544), 7})')
    composite = sized(0x10, utf16("x")) + sized(0x18, b"\x0a\x0b") + sized(0x51, bytes(BA)) + int64(7)
    assert data == padded(b"artx" + sized(0xFA, utf16("a")) + sized(0x50, composite) + b"\x88")
    assert condition_of('(@Resource.a Any_of {"x", #0a#b, SID(S-1-5-32-544), 7})') == (
        '(@RESOURCE.a Any_of {"x", #0A0B, SID(BA), 7})'
    )
    assert condition_of("(@User.a == {})") == "(@USER.a == {})"


def test_attribute_names_escape_what_must_be_escaped():
    data = compile_condition("(@User.a%0020b%0028%00e9 == 1)")
    assert sized(0xF9, utf16("a b(\u00e9")) in data
    assert condition_of("(@user.a%0020b%0028%00e9 == 1)") == "(@USER.a%0020b%0028%00e9 == 1)"
    assert condition_of("(WIN://SYSAPPID Contains 1)") == "(WIN://SYSAPPID Contains 1)"


def test_empty_condition():
    assert compile_condition("()") == b"artx"
    assert decode_condition(b"artx") is None
    assert condition_of("( )") == "()"


@pytest.mark.parametrize(
    ("text", "words", "offset"),
    [
        ("(@User.a == )", "expected an attribute or a value", 12),
        ("(@User.a == 1", "to close the ACE", 14),
        ("(@User.a == 1 1)", "to close the condition", 14),
        ("(@Usr.a == 1)", "unknown attribute class", 1),
        ("(@User. == 1)", "empty attribute name", 7),
        ('(@User.a == "x)', "unterminated string", 12),
        ("(@User.a == #abc)", "odd number of hex digits", 12),
        ("(@User.a == {1, {2}})", "list inside a list", 16),
        ("(@User.%0041 == 1)", "escapes 'A'", 7),
        ("(@User.a%zz == 1)", "four hex digits", 8),
        ("(Member_of 1)", "takes a SID or a list of SIDs", 1),
        ("(Member_of{SID(BA)})", "followed by white space", 10),
        ("(Exists 5)", "takes an attribute", 1),
        ("(5 == @User.a)", "left side of == must be an attribute", 3),
        ("(@User.a < {1, 2})", "compares single values", 9),
        ("(@User.a == SID(QQ))", "unknown SID alias", 16),
        ("(@User.a == 99999999999999999999)", "does not fit in 64 bits", 12),
        ("(@User.a == " + "9" * 5000 + ")", "of 5,000 digits does not fit in 64 bits", 12),  # int() refuses those
        ("(@User.a == 1 &&)", "expected an attribute or a value", 16),
        ("(@User.a == 1) x", "to close the ACE", 14),
    ],
)
def test_malformed_expressions_are_named_with_their_offset(text, words, offset):
    with pytest.raises(DescriptorError, match=words) as caught:
        parse_sddl(f"D:(XA;;FR;;;WD;{text})")
    where = caught.value.offset - len("D:(XA;;FR;;;WD;")
    assert where == offset, str(caught.value)


def test_nesting_is_bounded_both_ways():
    deep_ok = "(" * (MAX_DEPTH - 1) + "@User.a" + ")" * (MAX_DEPTH - 1)
    assert compile_condition(f"({deep_ok})")
    too_deep = "(" * (MAX_DEPTH + 1) + "@User.a" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(DescriptorError, match=f"deeper than {MAX_DEPTH}"):
        compile_condition(f"({too_deep})")
    with pytest.raises(DescriptorError, match=f"deeper than {MAX_DEPTH}"):
        compile_condition("(" + "!" * (MAX_DEPTH + 1) + "(@User.a))")
    # 10,000 NOTs in binary: refused at the bound, no RecursionError.
    data = b"artx" + sized(0xF9, utf16("a")) + b"\xa2" * 10_000
    with pytest.raises(DescriptorError, match=f"deeper than {MAX_DEPTH}"):
        decode_condition(data)


# -- bytes -> text: what binary input can hold ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"xtra", "does not start with 'artx'"),
        (b"artx\x99", "unknown token 0x99"),
        (b"artx\x80", "has 0 of its 2 operands"),
        (b"artx" + sized(0xF9, utf16("a")) + sized(0xF9, utf16("b")), "leaves 2 values"),
        (b"artx" + sized(0xF9, utf16("a")) + b"\x00\x01", "after the padding"),
        (b"artx\x04\x01\x00", "integer token truncated"),
        (b"artx\x10\xff\x00\x00\x00ab", "runs past the end"),
        (b"artx\x10\x03\x00\x00\x00abc", "odd number of bytes"),
        (b"artx\x01" + struct.pack("<qBB", 300, 3, 2), "does not fit the 8-bit"),
        (b"artx\x04" + struct.pack("<qBB", 1, 9, 2), "sign byte 9"),
        (b"artx\x04" + struct.pack("<qBB", -1, 1, 2), "contradicts its sign"),
        (b"artx" + sized(0x51, b"\x01\x05"), "SID literal"),
        (b"artx" + sized(0x50, sized(0x50, b"")), "composite inside a composite"),
    ],
)
def test_malformed_binary_is_a_descriptor_error(data, words):
    with pytest.raises(DescriptorError, match=words):
        decode_condition(data)


def test_smaller_integer_tokens_read_and_compile_to_int64():
    data = padded(b"artx" + sized(0xF9, utf16("a")) + b"\x02" + struct.pack("<qBB", -300, 2, 2) + b"\x80")
    node = decode_condition(data)
    assert format_condition(node) == "(@USER.a == -300)"
    assert compile_condition(format_condition(node)) == padded(
        b"artx" + sized(0xF9, utf16("a")) + int64(-300, 2, 2) + b"\x80"
    )


def test_a_string_with_a_double_quote_has_no_text():
    data = b"artx" + sized(0xF9, utf16("a")) + sized(0x10, utf16('say "hi"')) + b"\x80"
    with pytest.raises(DescriptorError, match="double quote"):
        format_condition(decode_condition(data))


# -- property: generated expressions round-trip both ways ------------------------------------------

names = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FF), min_size=1, max_size=6)
local_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_:./]{0,5}", fullmatch=True).filter(
    lambda name: (
        name.lower()
        not in {
            "exists",
            "not_exists",
            "member_of",
            "not_member_of",
            "member_of_any",
            "not_member_of_any",
            "device_member_of",
            "device_member_of_any",
            "not_device_member_of",
            "not_device_member_of_any",
            "contains",
            "not_contains",
            "any_of",
            "not_any_of",
        }
    )
)
attributes = st.builds(Attribute, st.sampled_from([0xF9, 0xFA, 0xFB]), names) | st.builds(
    Attribute, st.just(0xF8), local_names
)


@st.composite
def integers(draw):
    sign = draw(st.sampled_from([1, 2, 3]))
    base = draw(st.sampled_from([1, 2, 3]))
    if sign == 1:
        value = draw(st.integers(0, (1 << 63) - 1))
    elif sign == 2:
        value = draw(st.integers(-(1 << 63), 0))
    else:
        value = draw(st.integers(-(1 << 63), (1 << 63) - 1) if base != 2 else st.integers(0, (1 << 63) - 1))
    return Literal(4, value, sign, base)


sids = st.builds(
    lambda authority, subs: Sid(1, authority, tuple(subs)),
    st.sampled_from([1, 5, 16, 0x500000000]),
    st.lists(st.integers(0, 0xFFFFFFFF), max_size=6),
)
scalars = (
    integers()
    | st.builds(Literal, st.just(0x10), st.text(st.characters(exclude_characters='"'), max_size=8))
    | st.builds(Literal, st.just(0x18), st.binary(max_size=6))
    | st.builds(Literal, st.just(0x51), sids)
)
composites = st.builds(lambda items: Literal(0x50, tuple(items)), st.lists(scalars, max_size=4))
sid_sets = st.builds(Literal, st.just(0x51), sids) | st.builds(
    lambda items: Literal(0x50, tuple(Literal(0x51, sid) for sid in items)), st.lists(sids, max_size=3)
)
terms = (
    attributes
    | st.builds(lambda a, v: Operation(0x80, (a, v)), attributes, scalars | composites | attributes)
    | st.builds(Operation, st.sampled_from([0x81, 0x82, 0x83, 0x84, 0x85]), st.tuples(attributes, scalars))
    | st.builds(
        Operation, st.sampled_from([0x86, 0x88, 0x8E, 0x8F]), st.tuples(attributes, scalars | composites | attributes)
    )
    | st.builds(
        Operation,
        st.sampled_from([0x89, 0x8A, 0x8B, 0x8C, 0x90, 0x91, 0x92, 0x93]),
        st.tuples(sid_sets),
    )
    | st.builds(Operation, st.sampled_from([0x87, 0x8D]), st.tuples(attributes))
)
expressions = st.recursive(
    terms,
    lambda inner: (
        st.builds(Operation, st.sampled_from([0xA0, 0xA1]), st.tuples(inner, inner))
        | st.builds(Operation, st.just(0xA2), st.tuples(inner))
    ),
    max_leaves=12,
)


@given(expressions)
@settings(max_examples=400, deadline=None)
def test_generated_expressions_round_trip(node):
    data = encode_condition(node)
    assert len(data) % 4 == 0
    assert decode_condition(data) == node  # bytes -> tree
    text = format_condition(node)
    assert compile_condition(text) == data  # bytes -> text -> bytes: the same bytes
    assert format_condition(decode_condition(compile_condition(text))) == text  # text -> bytes -> text: canonical


@given(st.binary(max_size=64))
@settings(max_examples=500, deadline=None)
def test_any_bytes_decode_or_raise_descriptor_error(tail):
    try:
        node = decode_condition(b"artx" + tail)
    except DescriptorError:
        return
    try:
        text = format_condition(node)
    except DescriptorError:
        return
    assert format_condition(decode_condition(compile_condition(text))) == text


# -- resource attributes ----------------------------------------------------------------------------


def test_resource_attribute_layout():
    attribute = ResourceAttribute("Dept", 0x0003, 0, ("HR",))
    data = encode_attribute(attribute)
    name_at = 16 + 4
    value_at = name_at + len(utf16("Dept")) + 2
    assert data[:16] == struct.pack("<IHHII", name_at, 3, 0, 0, 1)
    assert data[16:20] == struct.pack("<I", value_at)
    assert data[name_at:value_at] == utf16("Dept") + b"\0\0"
    assert data[value_at : value_at + 6] == utf16("HR") + b"\0\0"
    assert len(data) % 4 == 0
    assert decode_attribute(data) == attribute


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ('("Secrecy",TU,0x0,3)', '("Secrecy",TU,0x0,3)'),
        ('( "Level" , TI , 0x10 , -3 , 0x10 )', '("Level",TI,0x10,-3,16)'),
        ('("Owner",TD,0x0,BA,S-1-5-21-1-2-3-1105)', '("Owner",TD,0x0,BA,S-1-5-21-1-2-3-1105)'),
        ('("Blob",TX,0x0,#00ff)', '("Blob",TX,0x0,#00FF)'),
        ('("Flag",TB,0x0,1,0)', '("Flag",TB,0x0,1,0)'),
        ('("Names",TS,0x0,"a b","c")', '("Names",TS,0x0,"a b","c")'),
        ('("Empty",TS,0x0)', '("Empty",TS,0x0)'),
        ('("Big",TU,0x0,0xffffffffffffffff)', '("Big",TU,0x0,18446744073709551615)'),
        ('("a%0020b",TI,0x0,1)', '("a%0020b",TI,0x0,1)'),
    ],
)
def test_resource_attributes_round_trip(text, canonical):
    descriptor = parse_sddl(f"S:(RA;;;;;WD;{text})")
    blob = bytes(descriptor)
    again = SecurityDescriptor.from_bytes(blob)
    assert format_sddl(again) == f"S:(RA;;;;;WD;{canonical})"
    assert bytes(parse_sddl(format_sddl(again))) == blob


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('("a",TQ,0x0,1)', "unknown resource attribute type"),
        ('("a",TU,0x0,-1)', "not negative"),
        ('("a",TB,0x0,2)', "0 or 1"),
        ('("a",TI,0x0,"x")', "numbers"),
        ('("a",TS,0x0,5)', "does not fit type TS"),
        ('("a",TI,x,1)', "flags must be a 32-bit number"),
        ('("",TI,0x0,1)', "empty resource attribute name"),
        ('("a",TI,0x0,1 2)', "between resource attribute values"),
    ],
)
def test_malformed_resource_attributes(text, words):
    with pytest.raises(DescriptorError, match=words):
        parse_sddl(f"S:(RA;;;;;WD;{text})")


def test_resource_attribute_binary_errors():
    with pytest.raises(DescriptorError, match="truncated"):
        decode_attribute(b"\x00" * 8)
    with pytest.raises(DescriptorError, match="unknown resource attribute value type"):
        decode_attribute(struct.pack("<IHHII", 16, 9, 0, 0, 0))
    with pytest.raises(DescriptorError, match="no terminating NUL"):
        decode_attribute(struct.pack("<IHHII", 16, 1, 0, 0, 0) + b"a\x00")
    with pytest.raises(DescriptorError, match="do not fit"):
        decode_attribute(struct.pack("<IHHII", 16, 1, 0, 0, 1000))
    assert format_attribute(ResourceAttribute("n", 6, 1, (1,))) == '("n",TB,0x1,1)'
