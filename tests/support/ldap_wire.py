"""A scripted LDAP server on a real socket, speaking BER (RFC 4511), for replies a Samba DC will not give on demand.

It answers binds with success and searches with what a test's ``answer`` function returns:
entries, continuation references, and a final result code (sizeLimitExceeded, adminLimitExceeded,
referral, ...), with a paging cookie; or, for a hostile server, any raw bytes, sent at once or
dripped a byte at a time. sidtool's own LDAP stack (ldap3) talks to it unchanged, over plain LDAP
(``--allow-plaintext``). Only what sidtool sends is understood: bind, search, abandon and unbind.

The server stops itself: after ``lifetime`` seconds, or ``max_requests`` searches, it closes every
connection and its listener, so that a client that would loop for ever ends the test anyway.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

BIND_REQUEST, SEARCH_REQUEST, UNBIND_REQUEST = 0x60, 0x63, 0x42
BIND_RESPONSE, SEARCH_ENTRY, SEARCH_DONE, SEARCH_REFERENCE = 0x61, 0x64, 0x65, 0x73
PAGED_RESULTS = "1.2.840.113556.1.4.319"  # the simple paged results control ([RFC 2696])


@dataclass(frozen=True, slots=True)
class Search:
    """A search request as the server read it: base, scope (0 base, 2 subtree) and the filter's raw BER."""

    base: str
    scope: int
    filter: bytes
    attributes: tuple[str, ...] = ()
    message_id: int = 0

    def asks_for(self, object_class: str) -> bool:
        return f"{object_class}".encode() in self.filter


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server sends back for one search."""

    entries: tuple[tuple[str, dict[str, list[bytes]]], ...] = ()
    references: tuple[str, ...] = ()
    code: int = 0
    message: str = ""
    referrals: tuple[str, ...] = field(default=())
    cookie: bytes = b""  # the paging cookie of the result (empty: the last page)
    raw: bytes | None = None  # sent instead of all of the above (a hostile or broken server)
    drip: float = 0.0  # seconds between bytes: the reply is sent one byte at a time


def tlv(tag: int, content: bytes) -> bytes:
    """One BER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def integer(value: int, tag: int = 0x02) -> bytes:
    return tlv(tag, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def octets(value: str | bytes, tag: int = 0x04) -> bytes:
    return tlv(tag, value.encode("utf-8") if isinstance(value, str) else value)


def elements(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) elements one after another in ``data``."""
    found, index = [], 0
    while index < len(data):
        tag, size = data[index], data[index + 1]
        index += 2
        if size & 0x80:
            count = size & 0x7F
            size = int.from_bytes(data[index : index + count], "big")
            index += count
        found.append((tag, data[index : index + size]))
        index += size
    return found


def result(tag: int, code: int, message: str = "", referrals: tuple[str, ...] = ()) -> bytes:
    content = integer(code, 0x0A) + octets("") + octets(message)
    if referrals:
        content += tlv(0xA3, b"".join(octets(url) for url in referrals))
    return tlv(tag, content)


def paged_control(cookie: bytes) -> bytes:
    """The controls of a SearchResultDone with the paged results control: [0] SEQUENCE OF Control."""
    value = tlv(0x30, integer(0) + octets(cookie))
    return tlv(0xA0, tlv(0x30, octets(PAGED_RESULTS) + octets(value)))


def entry(dn: str, attributes: dict[str, list[bytes]]) -> bytes:
    listed = b"".join(
        tlv(0x30, octets(name) + tlv(0x31, b"".join(octets(value) for value in values)))
        for name, values in attributes.items()
    )
    return tlv(SEARCH_ENTRY, octets(dn) + tlv(0x30, listed))


class ScriptedLdapServer:
    """Listens on 127.0.0.1 (a free port); each connection is served by a thread of its own."""

    def __init__(
        self,
        answer: Callable[[Search], Reply],
        *,
        lifetime: float = 30.0,
        max_requests: int = 2000,
        bind_reply: Reply | None = None,
    ) -> None:
        self.answer = answer
        self.bind_reply = bind_reply  # raw bytes (or a drip) instead of a successful BindResponse
        self.searches: list[Search] = []
        self.binds = 0
        self.stopped = False  # set when the server stopped itself (lifetime or max_requests reached)
        self._ends = time.monotonic() + lifetime
        self._max_requests = max_requests
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _expired(self) -> bool:
        if time.monotonic() > self._ends or len(self.searches) >= self._max_requests:
            self.stopped = True
        return self.stopped

    def __enter__(self) -> ScriptedLdapServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(max(0.1, self._ends - time.monotonic()))
        with connection:
            while not self._expired() and (message := _read_message(connection)) is not None:
                parts = elements(message)
                message_id = parts[0][1]
                tag, body = parts[1]
                if tag == BIND_REQUEST:
                    self.binds += 1
                    if self.bind_reply is None:
                        connection.sendall(_message(message_id, result(BIND_RESPONSE, 0)))
                    else:
                        bind = self.bind_reply
                        raw = bind.raw if bind.raw is not None else _message(message_id, result(BIND_RESPONSE, 0))
                        self._send(connection, message_id, Reply(raw=raw, drip=bind.drip))
                elif tag == SEARCH_REQUEST:
                    fields = elements(body)
                    attributes = tuple(value.decode("utf-8") for _, value in elements(fields[7][1]))
                    number = int.from_bytes(message_id, "big", signed=True)
                    search = Search(fields[0][1].decode("utf-8"), fields[1][1][0], fields[6][1], attributes, number)
                    self.searches.append(search)
                    self._send(connection, message_id, self.answer(search))
                elif tag == UNBIND_REQUEST:
                    return

    def _send(self, connection: socket.socket, message_id: bytes, reply: Reply) -> None:
        data = self._reply(message_id, reply)
        if not reply.drip:
            with contextlib.suppress(OSError):
                connection.sendall(data)
            return
        for index in range(len(data)):  # a byte at a time, until the client gives up or the server stops
            if self._expired():
                return
            try:
                connection.sendall(data[index : index + 1])
            except OSError:
                return
            time.sleep(reply.drip)

    @staticmethod
    def _reply(message_id: bytes, reply: Reply) -> bytes:
        if reply.raw is not None:
            return reply.raw
        parts = [_message(message_id, entry(dn, attributes)) for dn, attributes in reply.entries]
        parts += [_message(message_id, tlv(SEARCH_REFERENCE, octets(url))) for url in reply.references]
        controls = paged_control(reply.cookie) if reply.cookie else b""
        done = result(SEARCH_DONE, reply.code, reply.message, reply.referrals)
        parts.append(_message(message_id, done, controls))
        return b"".join(parts)


class Listener:
    """A socket listening on ``address`` that only counts the connections made to it (and reads nothing)."""

    def __init__(self, address: str, port: int) -> None:
        self.connections = 0
        self._socket = socket.socket()
        self._socket.bind((address, port))
        self._socket.listen(16)
        self._socket.settimeout(0.2)
        self._open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self._open:
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            connection.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self._open = False
        self._socket.close()


def _message(message_id: bytes, operation: bytes, controls: bytes = b"") -> bytes:
    return tlv(0x30, tlv(0x02, message_id) + operation + controls)


def _read_message(connection: socket.socket) -> bytes | None:
    """The content of the next LDAPMessage, or None when the client closed the connection."""
    head = _read_exactly(connection, 2)
    if head is None:
        return None
    size = head[1]
    if size & 0x80:
        length = _read_exactly(connection, size & 0x7F)
        if length is None:
            return None
        size = int.from_bytes(length, "big")
    return _read_exactly(connection, size)


def _read_exactly(connection: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        try:
            chunk = connection.recv(count - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data
