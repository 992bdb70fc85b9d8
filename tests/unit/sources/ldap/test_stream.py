"""LDAP messages framed off a byte stream (sidtool/sources/ldap/stream.py): whole, however the bytes arrive."""

from __future__ import annotations

import re
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidtool.sources.ldap.stream import Deadline, MalformedReply, ReplyTimedOut, message_size, receive, take_messages
from tests.support.ldap_wire import entry, integer, tlv


def message(number: int, size: int) -> bytes:
    return tlv(0x30, integer(number) + entry(f"CN=x{number}", {"cn": [b"v" * size]}))


@given(st.lists(st.integers(0, 70_000), min_size=1, max_size=5), st.lists(st.integers(1, 5000), max_size=50))
def test_messages_come_out_whole_however_the_bytes_are_split(sizes, cuts):
    messages = [message(number, size) for number, size in enumerate(sizes)]
    stream, buffer, taken, index = b"".join(messages), bytearray(), [], 0
    for cut in [*cuts, len(stream)]:
        buffer.extend(stream[index : index + cut])
        index += cut
        taken += take_messages(buffer)
    buffer.extend(stream[index:])
    taken += take_messages(buffer)
    assert taken == messages and buffer == bytearray()


@pytest.mark.parametrize(
    ("data", "fault"),
    [
        (b"\x31\x00", "byte 0 of a message is 0x31, not a SEQUENCE"),
        (b"\x30\x80", "a length of 0 bytes (BER definite lengths only)"),
        (b"\x30\x89" + bytes(9), "a length of 9 bytes"),
        (b"\x30\x84\x10\x00\x00\x00", "a message of 268435462 bytes, over the limit"),
    ],
)
def test_what_is_not_a_message_is_named_from_its_header(data, fault):
    with pytest.raises(MalformedReply, match=re.escape(fault)):
        message_size(data)


def test_a_partial_header_waits_for_more():
    assert message_size(b"\x30") is None and message_size(b"\x30\x82\x01") is None
    assert message_size(b"\x30\x82\x01\x00") == 260


def test_a_read_waits_no_longer_than_the_deadline():
    left, right = socket.socketpair()
    with left, right:
        deadline = Deadline(0.2)
        deadline.start()
        right.sendall(b"a")
        assert receive(left, deadline) == b"a"
        with pytest.raises(ReplyTimedOut, match=r"no complete reply within 0.2 s \(--timeout\)"):
            receive(left, deadline)  # nothing more comes: the read ends when the deadline does
