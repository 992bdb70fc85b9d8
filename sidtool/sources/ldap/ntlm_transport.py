"""The impacket transport: NTLM (a password or an NT hash), signed and sealed on port 389, or over LDAPS.

DCs that require LDAP signing (Samba's default, Windows Server 2025) accept it without TLS. Over LDAPS the
bind carries a channel-binding token (:func:`~sidtool.sources.ldap.trust.channel_binding_token`), as DCs
with "LDAP channel binding: Always" require. The socket is sidtool's own: TLS is Python's, the certificate
and the DC's name checked (impacket's own TLS checks neither). Replies are read by :class:`_SealedLdap`,
sealed frame by frame, through :mod:`sidtool.sources.ldap.stream`. :class:`ImpacketConnection` is shared
with the Kerberos transport.
"""

from __future__ import annotations

import contextlib
import socket

from sidtool.sources.ldap.account import AccountName
from sidtool.sources.ldap.connection import (
    _MALFORMED,
    INVALID_CREDENTIALS,
    PAGED_RESULTS,
    STRONGER_AUTH_REQUIRED,
    CollectError,
    ConnectionLost,
    ConnectionOptions,
    PageGuard,
    RawEntry,
    _connect_error,
    _reason,
    _search_error,
    _short,
    result_code,
)
from sidtool.sources.ldap.gss_wrap import WrapContext
from sidtool.sources.ldap.search_entry import decode_search_entry
from sidtool.sources.ldap.stream import (
    MAX_MESSAGE_BYTES,
    MAX_MESSAGES_OVER_PAGE,
    Deadline,
    MalformedReply,
    ReplyTimedOut,
    receive,
    take_messages,
)
from sidtool.sources.ldap.trust import channel_binding_token, client_context

_BIND_RESULTS = {"invalidCredentials": INVALID_CREDENTIALS, "strongerAuthRequired": STRONGER_AUTH_REQUIRED}


def _result_name(text: str) -> str:
    """The result name impacket writes after ``->`` in a bind error's text."""
    return text.partition("-> ")[2].partition(":")[0].strip()


def _sealed_class():
    from impacket.ldap import ldap as impacket_ldap
    from impacket.ldap.ldapasn1 import LDAPMessage
    from pyasn1.codec.ber import decoder

    class _SealedLdap(impacket_ldap.LDAPConnection):
        """impacket's connection, with its replies read by sidtool (see :mod:`sidtool.sources.ldap.stream`).

        impacket assumes one TCP read holds one sealed SASL frame, and gathers a reply by re-decoding all
        it has read after every 8 KiB. Here sealed frames (a 4-byte length, then the frame) are read one at
        a time, LDAP messages are framed from their BER header, and each request's whole reply (a bind, a
        page) must arrive within ``deadline``. ``guard`` bounds the pages of the current search.
        """

        def __init__(self, options: ConnectionOptions) -> None:
            """Set what impacket's methods read, and connect here (impacket's constructor connects itself,
            with TLS that checks no certificate)."""
            tls = options.tls == "ldaps"
            self._SSL, self._dstPort, self._dstHost, self._dstIp = tls, options.port, options.host, options.connect_to
            self._baseDN = ""
            self._LDAPConnection__signing = not tls  # sealing inside TLS is refused by AD: TLS protects it
            self._LDAPConnection__binded = False
            self._LDAPConnection__auth_type = None
            self._LDAPConnection__gss = None
            self._LDAPConnection__sessionKey = None
            self._LDAPConnection__spnego_cipher_blob = None
            self.sequenceNumber = 0
            self.channel_binding_value = None
            self._socket = socket.create_connection((options.network_host, options.port), timeout=options.timeout)
            if tls:
                try:
                    context = client_context(options.ca, options.insecure)
                    self._socket = context.wrap_socket(self._socket, server_hostname=options.host)
                except BaseException:
                    self._socket.close()
                    raise
                certificate = self._socket.getpeercert(binary_form=True)
                self.channel_binding_value = channel_binding_token(certificate) if certificate else None
            self.setup(options.timeout, options.page_size)

        def encrypt(self, data):
            if self.wrapping is None:
                return super().encrypt(data)
            token = self.wrapping.wrap(data)
            return len(token).to_bytes(4, "big") + token

        def decrypt(self, data):
            return super().decrypt(data) if self.wrapping is None else self.wrapping.unwrap(data[4:])

        def setup(self, timeout: float, page_size: int) -> None:
            self.wrapping: WrapContext | None = None  # Kerberos sealing (gss_wrap); NTLM's is impacket's
            self.deadline = Deadline(timeout)
            self.limit = page_size + MAX_MESSAGES_OVER_PAGE
            self.guard: PageGuard | None = None
            self._frames = bytearray()
            self._clear = bytearray()
            self._page_entries = 0

        def sendReceive(self, request, controls=None):
            self.deadline.start()
            self.send(request, controls)
            return self.recv()

        def recv(self):
            """Every message of one reply, up to its final one (a result, not an entry or a reference)."""
            messages, self._page_entries = [], 0
            while True:
                while not (raw := take_messages(self._clear)):
                    self._clear.extend(self._next_clear())
                for data in raw:
                    tag = _operation_tag(data)
                    if tag == 0x64 and (entry := decode_search_entry(data)) is not None:
                        message = _OwnEntry(RawEntry(entry.dn, entry.attributes))
                    else:
                        message, _ = decoder.decode(data, asn1Spec=LDAPMessage())
                    messages.append(message)
                    self._page_entries += tag == 0x64
                    if len(messages) > self.limit:
                        raise MalformedReply(f"more than {self.limit} messages in the reply to one request")
                    if tag in (0x64, 0x73):  # SearchResultEntry, SearchResultReference ([RFC 4511] 4.5.2)
                        continue
                    if tag == 0x78 and int(message["messageID"]) == 0:  # a notice of disconnection (4.4.1)
                        raise ConnectionLost("the server sent a notice of disconnection")
                    if tag not in (0x61, 0x65):  # BindResponse, SearchResultDone: what sidtool's requests get
                        raise MalformedReply(f"a reply of type 0x{tag:02x} where a bind or search result belongs")
                    return messages

        def _next_clear(self) -> bytes:
            if not (self._LDAPConnection__binded and self._LDAPConnection__signing):
                return self._read_socket()
            while (size := self._frame_size()) is None or len(self._frames) < size:
                self._frames.extend(self._read_socket())
            frame = bytes(self._frames[:size])
            del self._frames[:size]
            return self.decrypt(frame)

        def _frame_size(self) -> int | None:
            if len(self._frames) < 4:
                return None
            size = 4 + int.from_bytes(self._frames[:4], "big")
            if size > MAX_MESSAGE_BYTES + 4096:
                raise MalformedReply(f"a sealed frame of {size} bytes, over the limit of {MAX_MESSAGE_BYTES} bytes")
            return size

        def _read_socket(self) -> bytes:
            chunk = receive(self._socket, self.deadline)
            if not chunk:
                raise ConnectionLost("the server closed the connection")
            return chunk

        def _handleControls(self, requestControls, responseControls):
            done = super()._handleControls(requestControls, responseControls)
            if not done and self.guard is not None:
                cookie = next(
                    (c.getCookie() for c in requestControls or () if str(c["controlType"]) == PAGED_RESULTS), None
                )
                self.guard.next_page(bytes(cookie or b""), self._page_entries)
            return done

    return _SealedLdap


class _OwnEntry:
    """A search entry decoded by sidtool (:func:`decode_search_entry`), not by pyasn1, in impacket's search loop.

    impacket's ``search`` takes each message's ``["protocolOp"].getComponent()``, asks whether it
    is a SearchResultDone (``isSameTypeWith``), and hands anything else to the per-record callback
    (:meth:`ImpacketConnection.search`). pyasn1 took about four fifths of an NTLM collection's time.
    """

    __slots__ = ("entry",)

    def __init__(self, entry: RawEntry) -> None:
        self.entry = entry

    def __getitem__(self, name: str) -> _OwnEntry:
        return self

    def getComponent(self) -> _OwnEntry:  # pyasn1's name
        return self

    def isSameTypeWith(self, other: object) -> bool:  # pyasn1's name
        return False


def _operation_tag(message: bytes) -> int:
    """The tag of an LDAPMessage's protocolOp: the element after the messageID."""
    index = 2 + (message[1] & 0x7F if message[1] & 0x80 else 0)
    if index + 2 > len(message) or message[index] != 0x02:
        raise MalformedReply("a message that does not start with its messageID (an INTEGER)")
    return message[index + 2 + message[index + 1]] if index + 2 + message[index + 1] < len(message) else -1


class ImpacketConnection:
    """A bound impacket connection (NTLM or Kerberos), searched through :class:`_SealedLdap`."""

    def __init__(self, options: ConnectionOptions) -> None:
        from impacket.ldap import ldap as impacket_ldap
        from impacket.ldap import ldapasn1

        self._asn1 = ldapasn1
        self._errors = impacket_ldap
        self._page_size = options.page_size
        self._address = options.address
        try:
            self._connection = _sealed_class()(options)
        except (OSError, ConnectionLost, ReplyTimedOut) as error:
            raise _connect_error(options, error) from None
        try:
            self._bind(options)
        except BaseException:
            self.close()
            raise

    def _bind(self, options: ConnectionOptions) -> None:
        raise NotImplementedError

    def search(self, base, scope, query, attributes, on_entry, *, sd_flags=None, on_reference=None) -> None:
        asn1 = self._asn1
        controls = [asn1.SimplePagedResultsControl(criticality=True, size=self._page_size)]
        if sd_flags is not None:
            controls.append(asn1.SDFlagsControl(criticality=True, flags=sd_flags))
        scopes = {"base": asn1.Scope("baseObject"), "subtree": asn1.Scope("wholeSubtree")}

        def entry(item) -> None:
            if isinstance(item, _OwnEntry):
                on_entry(item.entry)
            elif isinstance(item, asn1.SearchResultEntry):
                values = {str(a["type"]).lower(): [bytes(v) for v in a["vals"]] for a in item["attributes"]}
                on_entry(RawEntry(str(item["objectName"]), values))
            elif isinstance(item, asn1.SearchResultReference) and on_reference is not None:
                for url in item:
                    on_reference(str(url))

        self._connection.guard = PageGuard(base)
        try:
            self._connection.search(
                searchBase=base,
                scope=scopes[scope],
                searchFilter=query,
                attributes=list(attributes),
                searchControls=controls,
                perRecordCallback=entry,
            )
        except self._errors.LDAPSearchError as error:
            raise _search_error(base, result_code(error.getErrorCode()), str(error), "") from None
        except (OSError, ConnectionLost, ReplyTimedOut) as error:
            raise ConnectionLost(str(error)) from None
        except _MALFORMED as error:
            raise CollectError(
                f"{self._address}: malformed reply to the search under {base}: {_reason(error)}"
            ) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):  # see Ldap3Connection.close
            self._connection.close()


class NtlmConnection(ImpacketConnection):
    """NTLM with impacket: on plain LDAP signed and sealed, over LDAPS with a channel-binding token."""

    def _bind(self, options: ConnectionOptions) -> None:
        user, domain = AccountName.parse(options.user).for_ntlm()
        try:
            self._connection.login(user, options.password, domain, "", options.nt_hash)
        except self._errors.LDAPSessionError as error:
            text = str(error)
            # impacket's bind errors carry the result only by name, in their text ("... -> invalidCredentials: ...")
            code = result_code(error.getErrorCode()) or _BIND_RESULTS.get(_result_name(text))
            if code == INVALID_CREDENTIALS or "data 52e" in text:  # 52e: AD's diagnostic for a wrong password
                raise CollectError(
                    f"{options.address}: invalid credentials for {options.user}", result_code=code
                ) from None
            raise CollectError(
                f"{options.address}: NTLM bind refused ({_short(text)}); "
                "try --auth kerberos, or LDAPS with a simple bind (--server ldaps://HOST)"
            ) from None
        except (OSError, ConnectionLost, ReplyTimedOut) as error:
            raise _connect_error(options, error) from None
        except _MALFORMED as error:
            raise CollectError(f"{options.address}: malformed reply to the bind: {_reason(error)}") from None
