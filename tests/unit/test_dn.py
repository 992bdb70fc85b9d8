"""DN comparison keys: the fast path for plain DNs gives exactly what the full RFC 4514 parser gives."""

from __future__ import annotations

import random

import pytest

from sidtool.dn import _NEEDS_ESCAPE, _walked_up, dn_key, escape_value, is_plain, naming_context, split_rdns
from sidtool.errors import InputError


def full_parser_key(dn: str) -> str:
    """The canonical key computed by the full parser only, as dn_key did before its fast path."""
    return ",".join(
        f"{attribute.casefold()}={(escape_value(value) if _NEEDS_ESCAPE.search(value) else value).casefold()}"
        for attribute, value in split_rdns(dn)
    )


def outcome(function, dn: str) -> str | type[InputError]:
    try:
        return function(dn)
    except InputError:
        return InputError


@pytest.mark.parametrize("alphabet", ['aBcD=, \\"+;<>#\x01é', "cnCN=,x ", "OU=,Ü 1.-"])
def test_fast_path_agrees_with_the_full_parser(alphabet):
    rng = random.Random(alphabet)
    for _ in range(20000):
        dn = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        dn_key.cache_clear()
        assert outcome(dn_key, dn) == outcome(full_parser_key, dn), repr(dn)
        if is_plain(dn):  # (what DirectoryBuilder takes as a plain DN's key)
            assert dn.casefold() == full_parser_key(dn), repr(dn)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("CN=Jane Doe,OU=Users,DC=corp,DC=example,DC=com", "cn=jane doe,ou=users,dc=CORP,dc=example,dc=com"),
        ("CN=M\\C3\\BCller\\, J,DC=corp", "cn=müller\\, j,dc=corp"),
        ("CN=a\\2Cb,DC=x", "CN=a\\,b,DC=x"),
        ("CN=Jane , DC=x", "CN=Jane,DC=x"),
    ],
)
def test_the_same_dn_written_two_ways_has_one_key(first, second):
    assert dn_key(first) == dn_key(second)


def test_naming_context_of_plain_dns_agrees_with_walking_up_rdn_by_rdn():
    """The domain part of an object's DN: sliced from the text for plain DNs, walked up RDN by RDN otherwise."""

    def walked(dn: str) -> str | None:
        """The oracle: count the trailing DC= RDNs, and walk up past all the others."""
        rdns = split_rdns(dn)
        steps = len(rdns) - next(
            (n for n, (kind, _) in enumerate(reversed(rdns)) if kind.casefold() != "dc"), len(rdns)
        )
        return None if steps == len(rdns) else _walked_up(dn, steps)

    parts = ["CN=a", "OU=b ", " DC=corp", "dc=x", "DC =y", "DC=", "O=z", "DC=e\\,x", 'CN="q"', "DC=a;DC=b", "", " ",
             "CN=a=b", ";", "DC=y\xa0", "CN=b\xa0", "Dc=Ü", "dC=q", "DCX=1", "CN=\xa0"]  # fmt: skip
    rng = random.Random("naming-context")
    for _ in range(20000):
        dn = ",".join(rng.choice(parts) for _ in range(rng.randint(1, 6)))
        assert outcome(naming_context, dn) == outcome(walked, dn), repr(dn)
    assert naming_context("CN=Jane,OU=Staff,DC=emea,DC=corp,DC=example,DC=com") == "DC=emea,DC=corp,DC=example,DC=com"


def read_value_by_characters(dn: str, index: int) -> tuple[str, int]:
    """The oracle: dn._read_value as it was, one character at a time."""
    raw = bytearray()
    length = len(dn)
    while index < length and dn[index] == " ":
        index += 1
    trailing_spaces = 0
    while index < length:
        char = dn[index]
        if char == "\\":
            if index + 1 >= length:
                raise InputError(f"DN {dn!r}: dangling '\\' at the end")
            pair = dn[index + 1 : index + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                raw.append(int(pair, 16))
                index += 3
            else:
                raw.extend(dn[index + 1].encode("utf-8"))
                index += 2
            trailing_spaces = 0
            continue
        if char in ",;":
            break
        raw.extend(char.encode("utf-8"))
        trailing_spaces = trailing_spaces + 1 if char == " " else 0
        index += 1
    if trailing_spaces:
        del raw[-trailing_spaces:]
    try:
        return raw.decode("utf-8"), index
    except UnicodeDecodeError as error:
        raise InputError(f"DN {dn!r}: escaped bytes are not UTF-8 ({error.reason})") from None


@pytest.mark.parametrize("alphabet", ["\\ ,;=aF2C", '\\C3BCé ,;"#=x', "\\\\\\  ,a=\n", "\\e2\\82\\ac ;,=9"])
def test_values_read_with_patterns_as_one_character_at_a_time(alphabet):
    from sidtool import dn as module

    def outcome_of(function, text: str, index: int) -> object:
        try:
            return function(text, index)
        except InputError as error:
            return str(error)

    rng = random.Random(alphabet)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        index = rng.randint(0, len(text))
        assert outcome_of(module._read_value, text, index) == outcome_of(read_value_by_characters, text, index), text
    assert module._read_value("CN=M\\C3\\BCller\\, J\\ ,DC=x", 3) == ("Müller, J ", 20)


def test_the_plain_shape_is_the_one_it_was():
    """is_plain (dn_key's fast path) against the pattern it had: a value's edges written as their own classes."""
    import re

    from sidtool.dn import is_plain

    edge, inner = r'[^\\"+;<>#\x00-\x1f=, ]', r'[^\\"+;<>#\x00-\x1f=,]'
    rdn = rf"[A-Za-z0-9.-]+=(?:{edge}(?:{inner}*{edge})?)?"
    before = re.compile(rf"{rdn}(?:,{rdn})*")
    parts = ["CN=a", "CN= a", "CN=a ", "CN=", "CN= ", "CN=a b", "x", "=a", "C N=a", "DC=x\xa0", "CN==", "CN=a=b", ""]
    rng = random.Random("plain")
    for _ in range(20000):
        dn = ",".join(rng.choice(parts) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.3:
            dn = "".join(rng.choice('aB=, \\"+;<>#\x01é.-\xa0\n') for _ in range(rng.randint(0, 10)))
        assert is_plain(dn) == bool(before.fullmatch(dn)), repr(dn)
