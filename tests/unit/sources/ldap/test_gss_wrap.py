"""Kerberos wrap tokens: ours are valid sealed tokens; a token accepted must verify and come from the DC."""

from __future__ import annotations

import struct

import pytest
from impacket.krb5 import crypto

from sidtool.sources.ldap.gss_wrap import (
    KG_USAGE_ACCEPTOR_SEAL,
    KG_USAGE_INITIATOR_SEAL,
    SEALED,
    SENT_BY_ACCEPTOR,
    WrapContext,
)
from sidtool.sources.ldap.stream import MalformedReply

KEY = crypto.Key(18, bytes(range(32)))


def acceptor_token(message: bytes, *, filler: int = 0, rotation: int = 0, flags: int = SENT_BY_ACCEPTOR | SEALED,
                   sequence: int = 7) -> bytes:  # fmt: skip
    """A wrap token as a DC seals it ([RFC 4121] 4.2.6.2), rotated right by ``rotation`` bytes."""
    header = b"\x05\x04" + bytes([flags, 0xFF]) + struct.pack(">HHQ", filler, 0, sequence)
    profile = crypto._get_enctype_profile(18)
    body = profile.encrypt(KEY, KG_USAGE_ACCEPTOR_SEAL, message + b"\xff" * filler + header, None)
    if rotation:
        body = body[-rotation:] + body[:-rotation]
    return header[:6] + struct.pack(">H", rotation) + header[8:] + body


@pytest.mark.parametrize(("filler", "rotation"), [(0, 0), (0, 28), (5, 0), (3, 12)])
def test_a_dc_token_unwraps_to_its_message(filler, rotation):
    message = b"0\x0c\x02\x01\x01a\x07\n\x01\x00\x04\x00\x04\x00"
    assert WrapContext(KEY).unwrap(acceptor_token(message, filler=filler, rotation=rotation)) == message


def test_our_token_is_sealed_from_the_initiator_and_decrypts_to_the_message():
    context = WrapContext(KEY)
    first, second = context.wrap(b"hello"), context.wrap(b"again")
    assert first[:4] == b"\x05\x04\x02\xff" and struct.unpack(">Q", second[8:16]) == (1,)
    plain = crypto._get_enctype_profile(18).decrypt(KEY, KG_USAGE_INITIATOR_SEAL, first[16:])
    assert plain == b"hello" + first[:16]


def test_a_tampered_token_is_refused():
    token = bytearray(acceptor_token(b"some LDAP message"))
    token[-20] ^= 1
    with pytest.raises(MalformedReply, match="integrity"):
        WrapContext(KEY).unwrap(bytes(token))


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (acceptor_token(b"x", flags=SEALED), "flags"),  # sent by the initiator: a reflected token
        (acceptor_token(b"x", flags=SENT_BY_ACCEPTOR), "flags"),  # not sealed
        (acceptor_token(b"x", flags=SENT_BY_ACCEPTOR | SEALED | 4), "flags"),  # a subkey we never agreed
        (b"\x04\x04" + acceptor_token(b"x")[2:], "not a Kerberos wrap token"),
        (acceptor_token(b"x")[:10], "not a Kerberos wrap token"),
        (acceptor_token(b"x")[:16], "empty"),
    ],
)
def test_tokens_that_are_not_the_dc_s_sealed_ones_are_refused(token, reason):
    with pytest.raises(MalformedReply, match=reason):
        WrapContext(KEY).unwrap(token)


def test_an_rc4_key_cannot_seal():
    with pytest.raises(ValueError, match="AES only"):
        WrapContext(crypto.Key(23, bytes(16)))
