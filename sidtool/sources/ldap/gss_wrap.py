"""Kerberos wrap tokens for a sealed LDAP connection ([RFC 4121] 4.2.6.2, AES enctypes of [RFC 3962]).

After a Kerberos bind on plain LDAP that asked for confidentiality, every LDAP message goes inside a
wrap token: a 16-byte header, then the message, its filler and a copy of the header, encrypted with the
context key (no subkeys are negotiated here: the service ticket's session key). The server's tokens are
decrypted, which checks their integrity (the enctype's HMAC), and their header must say they come from
the acceptor: a token that fails either check is refused, never read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from sidtool.sources.ldap.stream import MalformedReply

TOKEN_ID = b"\x05\x04"  # TOK_ID of a wrap token
HEADER_BYTES = 16
SENT_BY_ACCEPTOR, SEALED, ACCEPTOR_SUBKEY = 0x01, 0x02, 0x04  # Flags
KG_USAGE_ACCEPTOR_SEAL, KG_USAGE_INITIATOR_SEAL = 22, 24  # key usages, [RFC 4121] 2
AES_ENCTYPES = frozenset({17, 18})  # aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96


@dataclass(slots=True)
class WrapContext:
    """The sealing of one connection: its key (impacket ``Key``) and the initiator's next sequence number."""

    key: Any
    sequence: int = 0
    _profile: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from impacket.krb5 import crypto

        if self.key.enctype not in AES_ENCTYPES:
            raise ValueError(f"enctype {self.key.enctype} cannot seal here (AES only)")
        self._profile = crypto._get_enctype_profile(self.key.enctype)

    def wrap(self, message: bytes) -> bytes:
        """``message`` as a sealed wrap token from the initiator (RRC 0, no filler: CTS needs no padding)."""
        header = TOKEN_ID + bytes([SEALED, 0xFF]) + struct.pack(">HHQ", 0, 0, self.sequence)
        self.sequence += 1
        return header + self._profile.encrypt(self.key, KG_USAGE_INITIATOR_SEAL, message + header, None)

    def unwrap(self, token: bytes) -> bytes:
        """The message inside a sealed wrap token from the acceptor; :class:`MalformedReply` for any other."""
        if len(token) < HEADER_BYTES or token[:2] != TOKEN_ID or token[3] != 0xFF:
            raise MalformedReply("a sealed frame that is not a Kerberos wrap token")
        flags = token[2]
        if not flags & SENT_BY_ACCEPTOR or not flags & SEALED or flags & ACCEPTOR_SUBKEY:
            raise MalformedReply(f"a wrap token with flags 0x{flags:02x}, not sealed by the DC with the session key")
        filler, rotation = struct.unpack(">HH", token[4:8])
        body = token[HEADER_BYTES:]
        if not body:
            raise MalformedReply("an empty wrap token")
        rotation %= len(body)
        body = body[rotation:] + body[:rotation]  # undo the right rotation by RRC ([RFC 4121] 4.2.5)
        try:
            plain = self._profile.decrypt(self.key, KG_USAGE_ACCEPTOR_SEAL, body)
        except Exception:  # impacket raises InvalidChecksum, ValueError or others on a token that does not verify
            raise MalformedReply("a wrap token that fails its integrity check") from None
        if len(plain) < HEADER_BYTES + filler:
            raise MalformedReply("a wrap token shorter than its header and filler")
        inner = plain[-HEADER_BYTES:]
        if inner[:4] != token[:4] or inner[4:6] != token[4:6] or inner[8:] != token[8:16]:
            raise MalformedReply("a wrap token whose encrypted header differs from its header")
        return plain[: len(plain) - HEADER_BYTES - filler]
