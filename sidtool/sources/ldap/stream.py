"""LDAP messages read off a socket: in time linear in their size, within a deadline, and refused past a size.

Both LDAP stacks sidtool uses gather a reply by appending each received chunk to a ``bytes``
object (ldap3's ``SyncStrategy.receiving``, impacket's ``LDAPConnection.recv``), which copies all
that was received so far on every chunk: a 32 MiB value took 92 s. Their socket timeout bounds
each read, not the operation, so a server that sends one byte a second is never timed out. Here
each message is framed from its BER header ([RFC 4511] 5.1: an LDAPMessage is a SEQUENCE with a
definite length) into one growing ``bytearray``; every read waits only for what is left of the
operation's deadline; and a message larger than :data:`MAX_MESSAGE_BYTES` is refused.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

MAX_MESSAGE_BYTES = 64 * 2**20  # one LDAPMessage (an entry with its values); AD's own replies stay far below
MAX_MESSAGES_OVER_PAGE = 1000  # a page may hold this many references and results beyond its page-size entries
_CHUNK = 1 << 16


class StreamError(Exception):
    """The server's byte stream broke a bound or the protocol; the message says which."""


class ReplyTimedOut(StreamError):
    """No complete reply before the operation's deadline."""


class MalformedReply(StreamError):
    """Bytes that are not an LDAP message, or a message larger than allowed."""


@dataclass(slots=True)
class Deadline:
    """The end of one operation (connect, bind, a page, a range step), ``seconds`` after it started."""

    seconds: float
    end: float = 0.0

    def start(self) -> None:
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise ReplyTimedOut(f"no complete reply within {self.seconds:g} s (--timeout)")
        return left


def receive(connection: socket.socket, deadline: Deadline, size: int = _CHUNK) -> bytes:
    """One read from ``connection``, waiting no longer than what is left of ``deadline``."""
    connection.settimeout(deadline.remaining())
    try:
        return connection.recv(size)
    except TimeoutError:
        deadline.remaining()  # raises ReplyTimedOut when the deadline has passed
        raise ReplyTimedOut(f"no complete reply within {deadline.seconds:g} s (--timeout)") from None


def message_size(buffer: bytearray | bytes, limit: int = MAX_MESSAGE_BYTES) -> int | None:
    """The size of the LDAPMessage at the start of ``buffer`` (header included), or None while its header is partial.

    Raises :class:`MalformedReply`, naming the byte, for anything but a SEQUENCE of definite length within ``limit``.
    """
    if len(buffer) < 2:
        return None
    if buffer[0] != 0x30:
        raise MalformedReply(f"byte 0 of a message is 0x{buffer[0]:02x}, not a SEQUENCE (0x30): not an LDAP message")
    first = buffer[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 8:
            raise MalformedReply(f"byte 1 of a message: a length of {count} bytes (BER definite lengths only)")
        if len(buffer) < 2 + count:
            return None
        header, length = 2 + count, int.from_bytes(buffer[2 : 2 + count], "big")
    if header + length > limit:
        raise MalformedReply(
            f"a message of {header + length} bytes, over the limit of {limit} bytes (MAX_MESSAGE_BYTES)"
        )
    return header + length


def take_messages(buffer: bytearray, limit: int = MAX_MESSAGE_BYTES) -> list[bytes]:
    """Remove and return the whole messages at the front of ``buffer``; a partial one stays."""
    messages = []
    while (size := message_size(buffer, limit)) is not None and len(buffer) >= size:
        messages.append(bytes(buffer[:size]))
        del buffer[:size]  # bytearray drops a prefix without copying the rest
    return messages
