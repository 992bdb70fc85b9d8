"""The live reader: a read-only LDAP collector for one forest.

One small interface, :class:`DirectoryConnection`, hides the two LDAP stacks:

* ldap3 for simple binds, over LDAPS or StartTLS, with the certificate checked
  against the system store or ``--ca-file`` (``--insecure`` opts out);
* impacket for NTLM (a password or an NT hash) on port 389, signed and sealed,
  which DCs that require LDAP signing (Samba's default, Windows Server 2025)
  accept. Its replies are read by :class:`_SealedLdap`, sealed frame by frame.

Neither exposes anything but search: sidtool never adds, modifies or deletes.
Every search is paged (1.2.840.113556.1.4.319); descriptors are read with the SD
flags control (1.2.840.113556.1.4.801) set to owner, group and DACL, which
accounts that are not administrators may read ([MS-ADTS] 3.1.1.3.4.1.11);
``member`` values past the server's MaxValRange are fetched by ranged retrieval
([MS-ADTS] 3.1.1.3.1.3.3). A connection that breaks is reopened with bounded
exponential backoff, and the search it broke is run again, skipping what was read.

A server is not trusted to behave. Credentials go only to the hosts the user named and to the
forest's own domain crossRefs, never to a host a reference names. Replies are read by
:mod:`sidtool.sources.ldap_stream` (linear, size-capped, each request within ``--timeout``);
paging (:class:`PageGuard`), repeated entries and ranged retrieval have bounds, and a search that
breaks one is a gap (:class:`BoundExceeded`), not a hang. README.md, "sidtool collect", lists them.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import unquote, urlsplit

from sidtool.dn import dn_key, domain_dns_name
from sidtool.errors import InputError, SidtoolError
from sidtool.model import Directory
from sidtool.sources.entries import FLAG_CR_NTDS_DOMAIN, DirectoryBuilder
from sidtool.sources.ldap_stream import (
    MAX_MESSAGE_BYTES,
    MAX_MESSAGES_OVER_PAGE,
    Deadline,
    MalformedReply,
    ReplyTimedOut,
    StreamError,
    receive,
    take_messages,
)
from sidtool.terminal import printable

MAX_REFERENCES = 100  # a server cannot make sidtool chase more naming contexts than this
MAX_EMPTY_PAGES = 100  # a paged search may return this many more pages than entries, and no more
MAX_REPEATED_ENTRIES = 1000  # entries one search may send twice (a retried search re-reads without counting)
MAX_MEMBER_VALUES = 5_000_000  # values of one ranged attribute (--max-member-values)
MAX_RANGE_STEPS = 10_000  # ranged fetches of one attribute: 15 million values at the Windows 2003 MaxValRange, 1500
PAGED_RESULTS = "1.2.840.113556.1.4.319"  # the simple paged results control ([RFC 2696])
REFERRAL = 10  # LDAP resultCode referral (RFC 4511 4.1.9)
SD_OWNER_GROUP_DACL = 0x07  # OWNER_SECURITY_INFORMATION | GROUP_... | DACL_... ([MS-DTYP] 2.4.7)
_RANGE = re.compile(r"^(?P<name>[^;]+);range=(?P<low>\d+)-(?P<high>\d+|\*)$", re.IGNORECASE)
PRINCIPAL_ATTRIBUTES = (
    "objectClass",
    "objectSid",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "groupType",
    "primaryGroupID",
    "legacyExchangeDN",
    "userAccountControl",
    "dNSHostName",
    "operatingSystem",
    "operatingSystemVersion",
)
FOLDER_ATTRIBUTES = (
    "objectClass",
    "cn",
    "displayName",
    "folderPathname",  # Folder-Pathname: the folder's path in the store (Exchange directory schema)
    "homeMDB",
    "legacyExchangeDN",
    "mailNickname",
    "nTSecurityDescriptor",
)
EXCHANGE_ATTRIBUTES = ("objectClass", "cn", "name", "serialNumber", "msExchOwningPFTree", "msExchPFTreeType")


class CollectError(SidtoolError):
    """The DC could not be reached, would not let us in, or broke off."""


class ConnectFailed(CollectError):
    """No connection to the DC (refused, timed out, TLS broken off): worth retrying once the DC was reached."""


class BoundExceeded(CollectError):
    """A search broke one of sidtool's bounds (a repeated paging cookie, a range that does not advance, ...).

    What was read before stays; the search is recorded as a gap and collection goes on (exit 3).
    """


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """How to reach and authenticate to one DC. The secret never appears in repr or logs."""

    host: str
    port: int
    tls: str  # "ldaps", "starttls" or "none"
    auth: str  # "simple" or "ntlm"
    user: str
    password: str = field(default="", repr=False)
    nt_hash: str = field(default="", repr=False)
    ca_file: str | None = None
    insecure: bool = False
    timeout: float = 30.0
    page_size: int = 1000
    range_size: int | None = None  # ask for member;range=0-(N-1) from the start (the DC's MaxValRange otherwise)
    retries: int = 3
    max_member_values: int = MAX_MEMBER_VALUES  # values of one ranged attribute, beyond which the list is cut short

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(slots=True)
class RawEntry:
    """One search result: DN and attributes by lower-case name, raw values."""

    dn: str
    attributes: dict[str, list[bytes]]
    line: int = 0


class DirectoryConnection(Protocol):
    """The only thing collection needs from LDAP: paged, read-only search.

    Entries go to ``on_entry``; the URL of every continuation reference or referral the server
    answers with goes to ``on_reference`` (referrals are never chased by the LDAP library itself,
    which would send our credentials to whatever host the server names).
    """

    def search(
        self,
        base: str,
        scope: str,
        query: str,
        attributes: Iterable[str],
        on_entry: Callable[[RawEntry], None],
        *,
        sd_flags: int | None = None,
        on_reference: Callable[[str], None] | None = None,
    ) -> None: ...

    def close(self) -> None: ...


# -- ldap3: simple binds over TLS ------------------------------------------------------------------


class Ldap3Connection:
    """Simple bind with ldap3; certificate verification on unless ``insecure``.

    Pages are requested here, one at a time, so that the paging cookie can be checked
    (:class:`PageGuard`); replies are read by :func:`_bounded_receiving`.
    """

    def __init__(self, options: ConnectionOptions) -> None:
        import ldap3
        from ldap3.core import exceptions

        self._ldap3 = ldap3
        self._errors = exceptions
        self._page_size = options.page_size
        self._address = options.address
        tls = ldap3.Tls(
            validate=ssl.CERT_NONE if options.insecure else ssl.CERT_REQUIRED,
            ca_certs_file=options.ca_file,
        )
        server = ldap3.Server(
            options.host,
            port=options.port,
            use_ssl=options.tls == "ldaps",
            tls=tls,
            connect_timeout=max(1, math.ceil(options.timeout)),
            get_info=ldap3.NONE,
        )
        self._connection = ldap3.Connection(
            server,
            user=options.user,
            password=options.password,
            authentication=ldap3.SIMPLE,
            receive_timeout=max(1, math.ceil(options.timeout)),
            auto_range=False,
            auto_referrals=False,  # a referral is reported to the collector, never chased with our credentials
            return_empty_attributes=False,
            read_only=True,
            raise_exceptions=False,
            check_names=False,  # raw values only: no per-value formatting (a third of the decode time)
        )
        _decode_entries_raw_only(self._connection.strategy)
        _bounded_receiving(self._connection, options.timeout, options.page_size)
        try:
            self._connection.open()
            if options.tls == "starttls" and not self._connection.start_tls():
                raise CollectError(f"{options.address}: StartTLS refused: {self._description()}")
            if not self._connection.bind():
                raise _bind_error(
                    options, self._connection.result.get("description", ""), self._connection.result.get("message", "")
                )
        except exceptions.LDAPException as error:
            raise _connect_error(options, error) from None
        except ReplyTimedOut as error:
            raise ConnectFailed(f"{options.address}: {error}") from None
        except _MALFORMED as error:
            raise CollectError(f"{options.address}: malformed reply to the bind: {_reason(error)}") from None

    def _description(self) -> str:
        return str(self._connection.result.get("description") or self._connection.result)

    def search(self, base, scope, query, attributes, on_entry, *, sd_flags=None, on_reference=None) -> None:
        from ldap3.protocol.microsoft import security_descriptor_control

        controls = security_descriptor_control(criticality=True, sdflags=sd_flags) if sd_flags is not None else None
        scopes = {"base": self._ldap3.BASE, "subtree": self._ldap3.SUBTREE}
        guard = PageGuard(base)
        cookie: bytes | None = None
        while True:
            response, result = self._page(base, scopes[scope], query, list(attributes), controls, cookie)
            entries = 0
            for item in response:
                if item.get("type") == "searchResEntry":
                    raw = item["raw_attributes"]
                    if not item.get(_RAW_ONLY):
                        raw = {name.lower(): list(values) for name, values in raw.items()}
                    entries += 1
                    on_entry(RawEntry(item["dn"], raw))
                elif item.get("type") == "searchResRef" and on_reference is not None:
                    for url in item.get("uri") or ():
                        on_reference(str(url))
            if result.get("result") == REFERRAL and on_reference is not None:
                for url in result.get("referrals") or ():
                    on_reference(str(url))
                return
            if result.get("result") not in (0, None):
                raise _search_error(base, str(result.get("description", "")), str(result.get("message", "")))
            cookie = _cookie(result)
            if not cookie:
                return
            guard.next_page(cookie, entries)

    def _page(self, base, scope, query, attributes, controls, cookie) -> tuple[list[dict], dict]:
        """One page of a search: its entries and references, and its result."""
        try:
            self._connection.search(
                base,
                query,
                search_scope=scope,
                attributes=attributes,
                controls=controls,
                paged_size=self._page_size,
                paged_cookie=cookie,
            )
        except self._errors.LDAPOperationResult as error:
            raise _search_error(base, str(error.description), str(error.message)) from None
        except ReplyTimedOut as error:
            raise ConnectionLost(str(error)) from None
        except self._errors.LDAPSocketReceiveError as error:
            if "messageId" in str(error) or "unsolicited" in str(error):  # the server broke the protocol
                raise CollectError(f"{self._address}: malformed reply to the search under {base}: {error}") from None
            raise ConnectionLost(str(error)) from None
        except (
            OSError,
            self._errors.LDAPSocketSendError,
            self._errors.LDAPSessionTerminatedByServerError,
            self._errors.LDAPSocketOpenError,
            self._errors.LDAPResponseTimeoutError,
        ) as error:
            raise ConnectionLost(str(error) or type(error).__name__) from None
        except _MALFORMED as error:
            raise CollectError(
                f"{self._address}: malformed reply to the search under {base}: {_reason(error)}"
            ) from None
        result = self._connection.result
        if not isinstance(result, dict):
            raise CollectError(f"{self._address}: no result for the search under {base}")
        return list(self._connection.response or ()), result

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection may fail in any way
            self._connection.unbind()


def _cookie(result: dict) -> bytes | None:
    """The paging cookie of a page's result ([RFC 2696]: empty on the last page)."""
    control = (result.get("controls") or {}).get(PAGED_RESULTS) or {}
    cookie = (control.get("value") or {}).get("cookie") if isinstance(control, dict) else None
    return bytes(cookie) if isinstance(cookie, bytes | bytearray) and cookie else None


class PageGuard:
    """The bounds of one paged search: no cookie comes again with an empty page; pages do not outnumber entries.

    Samba sends one cookie for all the pages of a search, so a cookie that comes again is no fault by
    itself; with a page that brings nothing it is a loop. A server that answers every page with a new
    cookie and no entries would keep the search going for ever: ``MAX_EMPTY_PAGES`` pages more than
    entries are allowed (a DC may return an empty page when its time per page runs out), and no more.
    A server that sends the same entries again and again is stopped by ``MAX_REPEATED_ENTRIES``
    (:meth:`Collector._search`). Cookies are kept as SHA-256 digests.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self.pages = 0
        self.entries = 0
        self._cookies: set[bytes] = set()

    def next_page(self, cookie: bytes, entries: int) -> None:
        self.pages += 1
        self.entries += entries
        digest = hashlib.sha256(cookie).digest()
        if digest in self._cookies and not entries:
            raise BoundExceeded(
                f"search under {self.base}: the server sent a paging cookie again, with no entry, "
                f"after {self.pages} pages ({self.entries} entries); the search was stopped there"
            )
        if self.pages > self.entries + MAX_EMPTY_PAGES:
            raise BoundExceeded(
                f"search under {self.base}: {self.pages} pages for {self.entries} entries, more than "
                f"{MAX_EMPTY_PAGES} without an entry; the search was stopped there"
            )
        self._cookies.add(digest)


def _bounded_receiving(connection, timeout: float, page_size: int) -> None:
    """Make ``connection`` (ldap3, synchronous) read replies through :mod:`sidtool.sources.ldap_stream`.

    Each request sent starts a deadline of ``timeout`` seconds for its whole reply (a bind, one page);
    a reply holding more than ``page_size + MAX_MESSAGES_OVER_PAGE`` messages is refused.
    """
    strategy = connection.strategy
    original_sending = strategy.sending
    deadline = Deadline(timeout)
    pending = bytearray()
    limit = page_size + MAX_MESSAGES_OVER_PAGE
    counted = [0]

    def sending(message) -> None:
        deadline.start()
        counted[0] = 0
        connection.socket.settimeout(timeout)
        original_sending(message)

    def receiving() -> list[bytes]:
        while not (messages := take_messages(pending)):
            chunk = receive(connection.socket, deadline)
            if not chunk:
                return []  # the server closed the connection: ldap3 reports the session as terminated
            pending.extend(chunk)
        counted[0] += len(messages)
        if counted[0] > limit:
            raise MalformedReply(f"more than {limit} messages in the reply to one request")
        return messages

    strategy.sending = sending
    strategy.receiving = receiving


def _malformed_errors() -> tuple[type[BaseException], ...]:
    """What the LDAP stacks raise while decoding bytes that are not what they expect."""
    from pyasn1.error import PyAsn1Error

    return (MalformedReply, PyAsn1Error, ValueError, TypeError, IndexError, KeyError, AttributeError)


_MALFORMED = _malformed_errors()


def _reason(error: BaseException) -> str:
    text = _short(printable(str(error)))
    return text if isinstance(error, StreamError) else f"{type(error).__name__}: {text}".rstrip(": ")


_RAW_ONLY = "sidtool_raw_only"  # marks an entry decoded by _decode_entries_raw_only


def _decode_entries_raw_only(strategy) -> None:
    """Decode search entries on this connection into raw values only.

    ldap3 turns every SearchResultEntry ([RFC 4511] 4.5.2) into two dicts: the raw values and
    the same values decoded to text, through case-insensitive dicts and a configuration
    lookup per value. sidtool uses only the raw values, and that second dict was a fifth of
    the client's time in a 24,000-object collection (BENCHMARKS.md). This wraps the strategy's
    message decoder of this one connection: an entry without controls becomes its DN and its
    raw values, attribute names lower-cased; anything else, or a message of a shape this does
    not expect, goes to ldap3's own decoder.
    """
    original = strategy.decode_response_fast

    def decode(message):
        if message["protocolOp"] != 4 or message["controls"]:
            return original(message)
        try:
            name, attributes = message["payload"][0][3], message["payload"][1][3]
            raw = {}
            for attribute in attributes:  # PartialAttribute: SEQUENCE { type, SET OF value }
                kind, values = attribute[3]
                raw[bytes(kind[3]).decode("utf-8").lower()] = [bytes(value[3]) for value in values[3]]
            return {"type": "searchResEntry", "dn": bytes(name).decode("utf-8"), "raw_attributes": raw,
                    "attributes": {}, _RAW_ONLY: True}  # fmt: skip
        except (IndexError, KeyError, TypeError, ValueError):
            return original(message)

    strategy.decode_response_fast = decode


# -- impacket: NTLM, signed and sealed ------------------------------------------------------------------


def _sealed_class():
    from impacket.ldap import ldap as impacket_ldap
    from impacket.ldap.ldapasn1 import LDAPMessage
    from pyasn1.codec.ber import decoder

    class _SealedLdap(impacket_ldap.LDAPConnection):
        """impacket's connection, with its replies read by sidtool (see :mod:`sidtool.sources.ldap_stream`).

        impacket assumes one TCP read holds one sealed SASL frame, and gathers a reply by re-decoding all
        it has read after every 8 KiB. Here sealed frames (a 4-byte length, then the frame) are read one at
        a time, LDAP messages are framed from their BER header, and each request's whole reply (a bind, a
        page) must arrive within ``deadline``. ``guard`` bounds the pages of the current search.
        """

        def setup(self, timeout: float, page_size: int) -> None:
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


def _operation_tag(message: bytes) -> int:
    """The tag of an LDAPMessage's protocolOp: the element after the messageID."""
    index = 2 + (message[1] & 0x7F if message[1] & 0x80 else 0)
    if index + 2 > len(message) or message[index] != 0x02:
        raise MalformedReply("a message that does not start with its messageID (an INTEGER)")
    return message[index + 2 + message[index + 1]] if index + 2 + message[index + 1] < len(message) else -1


class NtlmConnection:
    """NTLM with impacket on plain LDAP, signed and sealed (integrity and confidentiality without TLS)."""

    def __init__(self, options: ConnectionOptions) -> None:
        from impacket.ldap import ldap as impacket_ldap
        from impacket.ldap import ldapasn1

        self._asn1 = ldapasn1
        self._errors = impacket_ldap
        domain, _, user = options.user.rpartition("\\")
        if not domain and "@" in user:
            user, _, domain = user.partition("@")
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(options.timeout)  # impacket connects in its constructor
        try:
            self._connection = _sealed_class()(f"ldap://{options.host}:{options.port}", "", options.host)
            self._connection.setup(options.timeout, options.page_size)
            self._connection.login(user, options.password, domain, "", options.nt_hash)
        except impacket_ldap.LDAPSessionError as error:
            text = str(error)
            if "invalidCredentials" in text or "data 52e" in text:
                raise CollectError(f"{options.address}: invalid credentials for {options.user}") from None
            raise CollectError(
                f"{options.address}: NTLM bind refused ({_short(text)}); "
                "try LDAPS with a simple bind (--server ldaps://HOST)"
            ) from None
        except (OSError, ConnectionLost, ReplyTimedOut) as error:
            raise _connect_error(options, error) from None
        except _MALFORMED as error:
            raise CollectError(f"{options.address}: malformed reply to the bind: {_reason(error)}") from None
        finally:
            socket.setdefaulttimeout(previous)
        self._page_size = options.page_size
        self._address = options.address

    def search(self, base, scope, query, attributes, on_entry, *, sd_flags=None, on_reference=None) -> None:
        asn1 = self._asn1
        controls = [asn1.SimplePagedResultsControl(criticality=True, size=self._page_size)]
        if sd_flags is not None:
            controls.append(asn1.SDFlagsControl(criticality=True, flags=sd_flags))
        scopes = {"base": asn1.Scope("baseObject"), "subtree": asn1.Scope("wholeSubtree")}

        def entry(item) -> None:
            if isinstance(item, asn1.SearchResultEntry):
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
            raise _search_error(base, str(error), "") from None
        except (OSError, ConnectionLost, ReplyTimedOut) as error:
            raise ConnectionLost(str(error)) from None
        except _MALFORMED as error:
            raise CollectError(
                f"{self._address}: malformed reply to the search under {base}: {_reason(error)}"
            ) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):  # see Ldap3Connection.close
            self._connection.close()


class ConnectionLost(Exception):
    """The connection broke in the middle of an operation (retried by the collector)."""


def connect(options: ConnectionOptions) -> DirectoryConnection:
    """Open and bind a connection of the kind ``options`` ask for."""
    if options.auth == "ntlm":
        return NtlmConnection(options)
    return Ldap3Connection(options)


def _connect_error(options: ConnectionOptions, error: Exception) -> CollectError:
    """The error for a connection that could not be opened; an untrusted certificate is not retried."""
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        reason = text.split("certificate verify failed:", 1)[-1].split("(_ssl")[0].strip(" :'\"")
        return CollectError(
            f"{options.address}: the DC's TLS certificate is not trusted ({reason}); "
            "give its CA with --ca-file, or --insecure to skip the check"
        )
    if isinstance(error, TimeoutError) or "timed out" in text:
        return ConnectFailed(f"{options.address}: no answer within {options.timeout:g} s")
    if text.startswith("(") and (quoted := re.findall(r"'([^']+)'", text)):
        text = quoted[-1]  # ldap3 wraps some socket errors in tuple reprs: keep the message inside
    return ConnectFailed(f"cannot connect to {options.address}: {_short(text)}")


def _bind_error(options: ConnectionOptions, description: str, message: str) -> CollectError:
    if description == "invalidCredentials":
        return CollectError(f"{options.address}: invalid credentials for {options.user}")
    if description == "strongerAuthRequired":
        return CollectError(
            f"{options.address}: the DC requires a protected connection for this bind "
            f"({_short(message)}); use LDAPS (--server ldaps://HOST), --starttls or --auth ntlm"
        )
    return CollectError(f"{options.address}: bind refused: {description} {_short(message)}".rstrip())


def _search_error(base: str, description: str, message: str) -> CollectError:
    if any(limit in description for limit in ("sizeLimitExceeded", "adminLimitExceeded", "timeLimitExceeded")):
        return CollectError(f"search under {base} stopped by the server: {description} ({_short(message)})")
    return CollectError(f"search under {base} failed: {description} {_short(message)}".rstrip())


def _short(text: str) -> str:
    """A server's message on one line: 200 characters at most, control characters escaped."""
    return printable(" ".join(text.split())[:200])


# -- what collection reads -------------------------------------------------------------------------------


Progress = Callable[[str], None]


class Collector:
    """Reads one forest through one DC into the model, retrying broken connections."""

    def __init__(
        self,
        options: ConnectionOptions,
        progress: Progress | None = None,
        log: Progress | None = None,
        *,
        domain_servers: dict[str, str] | None = None,
        connector: Callable[[ConnectionOptions], DirectoryConnection] | None = None,
    ) -> None:
        self.options = options
        self.progress = progress or (lambda message: None)
        self.log = log or (lambda message: None)
        self.domain_servers = {name.lower(): host for name, host in (domain_servers or {}).items()}
        self.connector = connector or connect
        self._connection: DirectoryConnection | None = None
        self.reached = False  # has this DC answered once? Then a refused connection is retried
        self.problems: list[InputError] = []
        self.record = _Record()  # shared with the collectors of helper connections and other domains
        self.builder = DirectoryBuilder(f"ldap://{options.address}", self.problems.append)

    def run(self) -> Directory:
        """Collect the forest: configuration, the DC's own domain, then every other domain from a DC of its own.

        Other domains are read from their own DCs rather than the global catalog, because the GC holds
        the members of universal groups only. A domain whose DC cannot be reached is recorded as a gap.
        """
        root_attributes = ("defaultNamingContext", "configurationNamingContext", "rootDomainNamingContext")
        partitions: list[RawEntry] = []
        try:
            root = self._one("", "base", "(objectClass=*)", root_attributes)
            if root is None:
                raise CollectError(f"{self.options.address}: the rootDSE could not be read")
            default_nc = _text(root, "defaultnamingcontext") or ""
            config_nc = _text(root, "configurationnamingcontext")
            self.builder.forest_root = _text(root, "rootdomainnamingcontext")
            self._read(
                f"CN=Partitions,{config_nc}",
                "(objectClass=crossRef)",
                ("objectClass", "nCName", "dnsRoot", "nETBIOSName", "trustParent", "systemFlags"),
                "partitions",
                also=partitions.append,
            )
            self._read(
                f"CN=Microsoft Exchange,CN=Services,{config_nc}",
                "(|(objectClass=msExchExchangeServer)(objectClass=msExchPublicMDB)(objectClass=msExchPFTree))",
                EXCHANGE_ATTRIBUTES,
                "Exchange configuration",
                missing_ok=True,
            )
            self._read_domain(default_nc)
        finally:
            self.close()
        for partition in partitions:
            self._read_other_domain(partition, default_nc)
        self._follow_references({_key(n) for n in (_text(p, "ncname") for p in partitions) if n}, config_nc)
        directory = self.builder.build()
        if self.record.incomplete:  # a member list cut short by a bound or an error
            principals = tuple(
                replace(p, members_complete=False) if _key(p.dn) in self.record.incomplete else p
                for p in directory.principals
            )
            directory = replace(directory, principals=principals)
        return replace(directory, gaps=tuple(self.record.gaps))

    def _follow_references(self, naming_contexts: set[str], config_nc: str | None) -> None:
        """Deal with the references and referrals the searches met; never bind where a server says.

        Credentials go only where the user sent them: to ``--server``, to the ``dnsRoot`` of the forest's
        own domain crossRefs, or to ``--server DOMAIN=HOST``. A reference to a partition of this forest
        (the configuration, a domain) needs nothing: each is read on its own, or is already a gap. One to
        another naming context is read from ``--server DOMAIN=HOST`` when given; otherwise it is a gap,
        and the host it names is never contacted (it would see our bind, a clear password with a simple
        bind). URLs are shown with control characters escaped.
        """
        followed: set[str] = set()
        config = _key(config_nc) if config_nc else None
        done = 0
        while done < len(self.record.references):  # reading one domain may add references (MAX_REFERENCES)
            url, base = list(self.record.references.items())[done]
            done += 1
            shown = printable(url)
            what = f"referral to {shown} (from the search under {printable(base)})"
            try:
                _, target = _reference_target(url, base)
                key = dn_key(target)
            except InputError as error:
                self.record.gaps.append(f"{what}: its DN cannot be read ({printable(str(error))})")
                continue
            if any(key == nc or key.endswith("," + nc) for nc in naming_contexts) or (
                config and (key == config or key.endswith("," + config))
            ):
                self.log(f"reference {shown} (from {base}): a partition of this forest, read on its own")
                continue
            if key in followed:
                continue
            followed.add(key)
            dns_name = (domain_dns_name(target) or "").lower()
            host = self.domain_servers.get(dns_name)
            if host is None:
                self.record.gaps.append(
                    f"{what}: not followed: sidtool binds only to --server and the forest's own domains; "
                    f"give --server {printable(dns_name) or 'DOMAIN'}=HOST to read it"
                )
                continue
            self.log(f"reference {shown} (from {base}): reading {target} through {host} (--server)")
            self._read_elsewhere(host, target, what)
        if self.record.more_references:
            self.record.gaps.append(f"{self.record.more_references} more references not followed")

    def _read_other_domain(self, partition: RawEntry, default_nc: str) -> None:
        naming_context = _text(partition, "ncname")
        try:
            flags = int(_text(partition, "systemflags") or 0)
        except ValueError:
            self.record.gaps.append(f"crossRef {printable(partition.dn)}: systemFlags is not a number; not read")
            return
        if not naming_context or not flags & FLAG_CR_NTDS_DOMAIN or _key(naming_context) == _key(default_nc):
            return
        dns_name = (_text(partition, "dnsroot") or "").lower()
        netbios = (_text(partition, "netbiosname") or "").lower()
        host = self.domain_servers.get(dns_name) or self.domain_servers.get(netbios) or dns_name
        if not host:
            self.record.gaps.append(f"domain {printable(naming_context)}: its crossRef has no dnsRoot; not read")
            return
        self._read_elsewhere(
            host, naming_context, f"domain {printable(dns_name or naming_context)} through {printable(host)}"
        )

    def _read_elsewhere(self, host: str, naming_context: str, what: str) -> None:
        """Read ``naming_context`` from ``host`` into this collection; a failure there is a gap, not the end."""
        other = Collector(replace(self.options, host=host), self.progress, self.log, connector=self.connector)
        other.builder, other.record = self.builder, self.record
        try:
            other._read_domain(naming_context)
        except CollectError as error:
            gap = f"{what}: {error}"
            self.record.gaps.append(gap)
            self.progress(f"not collected: {gap}")
        finally:
            other.close()

    def _read_domain(self, naming_context: str) -> None:
        self._read(
            naming_context,
            "(objectClass=domain)",
            ("objectClass", "objectSid", "msDS-Behavior-Version"),
            naming_context,
            scope="base",
        )
        # Three searches over three connections at once: while the DC answers one, sidtool decodes
        # another's pages (the decoding is most of a collection's own time).
        member = f"member;range=0-{self.options.range_size - 1}" if self.options.range_size else "member"
        searches = [
            ("(objectClass=user)", (*PRINCIPAL_ATTRIBUTES, member), "users and computers", None),
            (
                "(|(objectClass=group)(objectClass=foreignSecurityPrincipal))",
                (*PRINCIPAL_ATTRIBUTES, member),
                "groups",
                None,
            ),
            ("(objectClass=publicFolder)", FOLDER_ATTRIBUTES, "public folders", SD_OWNER_GROUP_DACL),
        ]
        helpers = [Collector(self.options, self.progress, self.log, connector=self.connector) for _ in searches[1:]]
        for helper in helpers:
            helper.reached = self.reached
            helper.record = self.record
        failures: list[BaseException] = []

        def run(collector: Collector, query: str, attributes: tuple[str, ...], what: str, sd_flags: int | None):
            try:
                collector._read(naming_context, query, attributes, f"{what} of {naming_context}", sd_flags=sd_flags)
            except BaseException as error:  # handed to the calling thread below
                failures.append(error)
            finally:
                if collector is not self:
                    collector.close()

        workers = [
            threading.Thread(target=run, args=(helper, *search), name=f"sidtool-{search[2]}", daemon=True)
            for helper, search in zip(helpers, searches[1:], strict=True)
        ]
        for worker in workers:
            worker.start()
        try:
            run(self, *searches[0])
        finally:
            for worker in workers:
                worker.join()
        if failures:
            raise failures[0]
        for helper in helpers:
            self.builder.absorb(helper.builder)
            self.problems.extend(helper.problems)

    # -- searching with retries ----------------------------------------------------------------------------

    def _connect(self) -> DirectoryConnection:
        if self._connection is None:
            self.log(
                f"connect {self.options.address} ({self.options.tls}, {self.options.auth} bind as {self.options.user})"
            )
            self._connection = self.connector(self.options)
            self.reached = True
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _search(
        self,
        base: str,
        query: str,
        attributes: Iterable[str],
        on_entry: Callable[[RawEntry], None],
        *,
        scope: str = "subtree",
        sd_flags: int | None = None,
    ) -> None:
        """A paged search; a broken connection is reopened and the search run again, skipping DNs already read."""
        seen: dict[str, int] = {}  # DN → the attempt that last delivered it
        current = 0
        repeated = 0

        def refer(url: str) -> None:
            if url in self.record.references:
                return
            if len(self.record.references) < MAX_REFERENCES:
                self.record.references[url] = base
            else:
                self.record.more_references += 1

        def once(entry: RawEntry) -> None:
            nonlocal repeated
            key = entry.dn.lower()  # one server spells a DN one way: a cheap key is enough here
            before = seen.get(key)
            seen[key] = current
            if before is None:
                on_entry(entry)
            elif before == current:  # the same object twice in one search: a server going round in circles
                repeated += 1
                if repeated > MAX_REPEATED_ENTRIES:
                    raise BoundExceeded(
                        f"search under {base}: the server sent {repeated} entries again within one search; "
                        "the search was stopped there"
                    )

        delay = 1.0
        lost: str | None = None  # why the last attempt broke off; None until a connection was lost
        for attempt in range(self.options.retries + 1):
            current, repeated = attempt, 0
            try:
                connection = self._connect()
            except ConnectFailed as error:
                if lost is None and not self.reached:
                    raise  # the DC never answered: a wrong host is reported at once
                lost = str(error)  # the DC answered before: it may be restarting, so keep backing off
            else:
                try:
                    self.log(f"search base={base!r} scope={scope} filter={query} attributes={','.join(attributes)}")
                    connection.search(base, scope, query, attributes, once, sd_flags=sd_flags, on_reference=refer)
                    return
                except ConnectionLost as error:
                    lost = str(error)
                except CollectError as error:
                    if not _reconnectable(error):
                        raise
                    lost = str(error)
            self.close()
            if attempt == self.options.retries:
                raise CollectError(
                    f"{self.options.address}: connection lost and not regained after "
                    f"{self.options.retries} retries ({lost})"
                )
            self.progress(f"connection lost ({lost}); retrying in {delay:g} s")
            self.log(f"{base}: connection lost ({lost}); retry {attempt + 1} of {self.options.retries} in {delay:g} s")
            time.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _one(self, base: str, scope: str, query: str, attributes: Iterable[str]) -> RawEntry | None:
        found: list[RawEntry] = []
        self._search(base, query, attributes, found.append, scope=scope)
        return found[0] if found else None

    def _read(
        self,
        base: str,
        query: str,
        attributes: Iterable[str],
        what: str,
        *,
        scope: str = "subtree",
        sd_flags: int | None = None,
        missing_ok: bool = False,
        also: Callable[[RawEntry], None] | None = None,
    ) -> None:
        started = time.monotonic()
        count = 0

        def take(entry: RawEntry) -> None:
            nonlocal count
            count += 1
            self._complete_ranges(entry)
            entry.line = count
            self.builder.add(entry)
            if also is not None:
                also(entry)
            if count % self.options.page_size == 0:
                self.log(f"{what}: {count} objects so far")
            if count % 1000 == 0:
                self.progress(f"{what}: {count} objects ({count / max(time.monotonic() - started, 1e-6):.0f}/s)")

        try:
            self._search(base, query, attributes, take, scope=scope, sd_flags=sd_flags)
        except BoundExceeded as error:  # what was read stays; the rest of this search is a gap
            self.record.gaps.append(f"{what}: {error}")
            self.progress(f"not collected: {what}: {error}")
            return
        except CollectError as error:
            if missing_ok and "noSuchObject" in str(error):
                self.log(f"{base}: not present")
                return
            raise
        self.progress(f"{what}: {count} objects in {time.monotonic() - started:.1f} s")

    def _complete_ranges(self, entry: RawEntry) -> None:
        """Replace ``member;range=a-b`` values by the whole list, fetching the rest range by range.

        Each step must start where the last ended and bring values; at most ``max_member_values`` values
        and :data:`MAX_RANGE_STEPS` steps are read. A list cut short by a bound or an error keeps what was
        read, marks the group ``members_complete=False`` and is recorded as a gap naming it.
        """
        for name in [n for n in entry.attributes if ";range=" in n]:
            values = entry.attributes.pop(name)
            match = _RANGE.match(name)
            attribute = match.group("name").lower() if match else name.split(";", 1)[0].lower()
            try:
                if match is None or match.group("low") != "0":
                    raise BoundExceeded(f"the first values came as {printable(name)}, not as a range from 0")
                self._fetch_rest(entry.dn, attribute, match.group("high"), values)
            except BoundExceeded as error:
                self.record.incomplete.add(_key(entry.dn))
                gap = f"group {printable(entry.dn)}: {attribute} read only in part ({len(values)} values): {error}"
                self.record.gaps.append(gap)
                self.progress(f"not collected: {gap}")
            entry.attributes[attribute] = entry.attributes.get(attribute, []) + values

    def _fetch_rest(self, dn: str, attribute: str, high: str, values: list[bytes]) -> None:
        """Append the values after ``high`` to ``values``, range by range, within the bounds."""
        steps = 0
        while high != "*":
            start = int(high) + 1
            steps += 1
            if steps > MAX_RANGE_STEPS:
                raise BoundExceeded(f"more than {MAX_RANGE_STEPS} ranged fetches")
            size = self.options.range_size
            wanted = f"{attribute};range={start}-{start + size - 1 if size else '*'}"
            found = self._one(dn, "base", "(objectClass=*)", (wanted,))
            names = [n for n in (found.attributes if found else ()) if n.startswith(attribute + ";range=")]
            if not names:
                raise BoundExceeded(f"the server sent no {wanted} (asked for values from {start})")
            match = _RANGE.match(names[0])
            chunk = found.attributes[names[0]]
            if match is None or int(match.group("low")) != start:
                raise BoundExceeded(f"asked for values from {start}, the server sent {printable(names[0])}")
            high = match.group("high")
            if high != "*" and (int(high) < start or not chunk):
                raise BoundExceeded(f"the range {printable(names[0])} does not advance")
            values.extend(chunk)
            if len(values) > self.options.max_member_values:
                del values[self.options.max_member_values :]
                raise BoundExceeded(f"more than {self.options.max_member_values} values (--max-member-values)")


@dataclass(slots=True)
class _Record:
    """What the collectors of one run note beside the model: gaps, references met, groups read in part."""

    gaps: list[str] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)  # URL of a reference or referral → the search base
    more_references: int = 0  # references past MAX_REFERENCES, only counted
    incomplete: set[str] = field(default_factory=set)  # keys of the groups whose member list was cut short


def _key(dn: str) -> str:
    """``dn_key``, or the lower-cased text for a DN a server sent that does not parse."""
    try:
        return dn_key(dn)
    except InputError:
        return dn.lower()


def _reference_target(url: str, base: str) -> tuple[str, str]:
    """The host and the DN an LDAP URL points to (RFC 4516); the search base when it names no DN."""
    try:
        parts = urlsplit(url)
        return parts.hostname or "", unquote(parts.path.lstrip("/")) or base
    except ValueError as error:  # a netloc urllib cannot read ("Invalid IPv6 URL")
        raise InputError(f"not an LDAP URL ({error})") from None


def _reconnectable(error: CollectError) -> bool:
    return "busy" in str(error).lower() or "unavailable" in str(error).lower()


def _text(entry: RawEntry, name: str) -> str | None:
    values = entry.attributes.get(name)
    return values[0].decode("utf-8", "replace") if values else None
