"""The one LDIF value writer: whatever it writes, the LDIF reader reads back to the same value."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from sidtool.ldif_values import is_safe, value_lines
from sidtool.sources import ldif


def _read_back(lines: list[str]) -> bytes:
    text = "\n".join(["dn: CN=x,DC=corp,DC=example,DC=com", *lines, ""])
    problems: list[object] = []
    (record,) = ldif.read_ldif(io.BytesIO(text.encode("utf-8")), "t.ldif", problems.append)
    assert problems == []
    return record.attributes["description"][0]


@given(st.one_of(st.text(max_size=300).filter(lambda t: "\x00" not in t), st.binary(max_size=300)))
def test_every_value_reads_back_the_same(value):
    lines = value_lines("description", value)
    assert all(len(line) <= 79 for line in lines)
    assert _read_back(lines) == (value if isinstance(value, bytes) else value.encode("utf-8"))


def test_safe_strings_stay_readable_and_the_rest_is_base64():
    assert value_lines("cn", "Remote Desktop Users") == ["cn: Remote Desktop Users"]
    assert value_lines("cn", 513) == ["cn: 513"]
    for unsafe in (" leading", ":colon", "<angle", "trailing ", "Müller", "tab\there"):
        assert not is_safe(unsafe)
        assert value_lines("cn", unsafe)[0].startswith("cn:: ")
    assert len(value_lines("cn", "x" * 500, fold=None)) == 1
