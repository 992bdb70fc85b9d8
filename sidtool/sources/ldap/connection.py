"""What every LDAP transport shares: how to reach a DC, what a search returns, and how it fails.

:class:`ConnectionOptions` owns the policy of a connection: the URL or host given, the port, TLS
(LDAPS, StartTLS or none) and the bind (a simple bind only over TLS unless the user allows clear
text; NTLM and Kerberos signed and sealed on plain LDAP, or inside TLS with a channel-binding token), and
the account name in the form each bind needs (:mod:`.account`), all checked before any connection. Errors
keep the numeric LDAP result code ([RFC 4511] 4.1.9) in :attr:`CollectError.result_code`: nobody matches on
message text.
A paged search is bounded by :class:`PageGuard`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from sidtool.errors import SidtoolError, UsageError
from sidtool.sources.ldap.account import AccountName
from sidtool.sources.ldap.stream import MalformedReply, StreamError
from sidtool.sources.ldap.trust import CaFile, check_ca_file, untrusted_hint
from sidtool.terminal import printable

MAX_EMPTY_PAGES = 100  # a paged search may return this many more pages than entries, and no more
MAX_MEMBER_VALUES = 5_000_000  # values of one ranged attribute (--max-member-values)
PAGED_RESULTS = "1.2.840.113556.1.4.319"  # the simple paged results control ([RFC 2696])
SD_OWNER_GROUP_DACL = 0x07  # OWNER_SECURITY_INFORMATION | GROUP_... | DACL_... ([MS-DTYP] 2.4.7)

# LDAP result codes sidtool acts on ([RFC 4511] 4.1.9 and appendix A)
TIME_LIMIT_EXCEEDED = 3
SIZE_LIMIT_EXCEEDED = 4
STRONGER_AUTH_REQUIRED = 8
REFERRAL = 10
ADMIN_LIMIT_EXCEEDED = 11
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49
BUSY = 51
UNAVAILABLE = 52
LIMITS = {TIME_LIMIT_EXCEEDED: "timeLimitExceeded", SIZE_LIMIT_EXCEEDED: "sizeLimitExceeded",
          ADMIN_LIMIT_EXCEEDED: "adminLimitExceeded"}  # fmt: skip
RETRIED = frozenset({BUSY, UNAVAILABLE})  # the DC is there but cannot answer now: reconnect and search again


class CollectError(SidtoolError):
    """The DC could not be reached, would not let us in, or broke off; ``result_code`` when the DC said why."""

    def __init__(self, message: str, *, result_code: int | None = None) -> None:
        super().__init__(message)
        self.result_code = result_code


class ConnectFailed(CollectError):
    """No connection to the DC (refused, timed out, TLS broken off): worth retrying once the DC was reached."""


class BoundExceeded(CollectError):
    """A search broke one of sidtool's bounds (a repeated paging cookie, a range that does not advance, ...).

    What was read before stays; the search is recorded as a gap and collection goes on (exit 3).
    """


class ConnectionLost(Exception):
    """The connection broke in the middle of an operation (retried by the search session)."""


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """How to reach and authenticate to one DC. The secret never appears in repr or logs."""

    host: str
    port: int
    tls: str  # "ldaps", "starttls" or "none"
    auth: str  # "simple", "ntlm" or "kerberos"
    user: str  # as typed (empty for Kerberos from a ticket cache); AccountName.parse gives each bind its form
    password: str = field(default="", repr=False)
    nt_hash: str = field(default="", repr=False)
    ca_file: str | None = None
    ca_source: str = "--ca-file"  # where ca_file came from: --ca-file, LDAPTLS_CACERT or SSL_CERT_FILE
    connect_to: str | None = None  # --dc-ip: the address to connect to; ``host`` still names the DC (SPN, TLS)
    kdc: str | None = None  # --kdc: the KDC's address (default: connect_to, else host)
    aes_key: str = field(default="", repr=False)  # Kerberos: an AES key (hex) instead of the password
    insecure: bool = False
    timeout: float = 30.0
    page_size: int = 1000
    range_size: int | None = None  # ask for member;range=0-(N-1) from the start (the DC's MaxValRange otherwise)
    retries: int = 3
    max_member_values: int = MAX_MEMBER_VALUES  # values of one ranged attribute, beyond which the list is cut short

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def ca(self) -> CaFile | None:
        return CaFile(self.ca_file, self.ca_source) if self.ca_file else None

    @property
    def network_host(self) -> str:
        """Where to connect: ``--dc-ip``'s address, else the host name."""
        return self.connect_to or self.host

    @classmethod
    def from_target(cls, target: str, settings: LdapSettings) -> ConnectionOptions:
        """The options for ``target`` (a host name, ``ldap://HOST[:PORT]`` or ``ldaps://HOST[:PORT]``), or a
        :class:`UsageError` saying which policy the combination breaks."""
        scheme, _, rest = target.partition("://") if "://" in target else ("", "", target)
        if scheme.lower() not in ("", "ldap", "ldaps"):
            raise UsageError(f"{target}: expected a host name, ldap://HOST or ldaps://HOST")
        host, port_text = _host_and_port(rest.rstrip("/"), target)
        if not host:
            raise UsageError(f"{target}: no host name")
        tls = "ldaps" if scheme.lower() == "ldaps" else "starttls" if settings.starttls else "none"
        if settings.auth in ("ntlm", "kerberos") and tls == "starttls":
            raise UsageError(
                f"--auth {settings.auth} runs on plain LDAP (signed and sealed) or over LDAPS (ldaps://HOST), "
                "not with --starttls"
            )
        if settings.auth == "simple" and tls == "none" and not settings.allow_plaintext:
            raise UsageError(
                "a simple bind over plain LDAP sends the password in clear: use ldaps://HOST, --starttls, "
                "--auth ntlm, --auth kerberos, or --allow-plaintext"
            )
        if port_text and not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
            raise UsageError(f"{target}: the port is not a number from 1 to 65535")
        port = int(port_text) if port_text else settings.port or (636 if tls == "ldaps" else 389)
        if settings.auth == "kerberos" and _is_address(host):
            raise UsageError(
                f"{target}: Kerberos names the DC by its host name (the SPN is ldap/HOST): give --server "
                f"dc1.your.dns.domain, with --dc-ip {host} to connect to this address"
            )
        check_account(settings.auth, settings.user, host)
        if tls != "none" and settings.ca_file and not settings.insecure:
            check_ca_file(CaFile(settings.ca_file, settings.ca_source))
        return cls(
            host=host,
            port=port,
            tls=tls,
            auth=settings.auth,
            user=settings.user,
            password=settings.password,
            nt_hash=settings.nt_hash,
            ca_file=settings.ca_file,
            ca_source=settings.ca_source,
            connect_to=settings.dc_ip,
            kdc=settings.kdc,
            aes_key=settings.aes_key,
            insecure=settings.insecure,
            timeout=settings.timeout,
            page_size=settings.page_size,
            range_size=settings.range_size,
            retries=settings.retries,
            max_member_values=settings.max_member_values,
        )

    def for_domain_server(self, server: str) -> ConnectionOptions:
        """These options for the DC of another domain (``--server DOMAIN=HOST``, or a crossRef's dnsRoot);
        ``HOST@ADDRESS`` names the DC HOST and connects to ADDRESS, as ``--dc-ip`` does for the first DC."""
        host, _, address = server.partition("@")
        return replace(self, host=host, connect_to=address or None)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def check_account(auth: str, user: str, host: str) -> None:
    """Refuse, before connecting, a user name the bind cannot use (see :mod:`.account`)."""
    if auth == "kerberos" and not user:
        return  # the principal of the ticket cache
    account = AccountName.parse(user)
    if auth == "simple":
        account.for_simple_bind()
    elif auth == "ntlm":
        account.for_ntlm()
    else:
        account.for_kerberos(host)


def _host_and_port(text: str, target: str) -> tuple[str, str]:
    """``HOST[:PORT]``, with an IPv6 address in brackets (``[::1]:636``, RFC 3986 3.2.2)."""
    if text.startswith("["):
        address, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise UsageError(f"{target}: an IPv6 address is written [ADDRESS] or [ADDRESS]:PORT")
        return address, rest[1:]
    if text.count(":") > 1:
        raise UsageError(f"{target}: write an IPv6 address in brackets: ldaps://[{text}]")
    host, _, port = text.partition(":")
    return host, port


@dataclass(frozen=True, slots=True)
class LdapSettings:
    """Everything about reaching DCs but the target: what ``--user``, ``--auth``, ``--starttls``, ``--ca-file``
    and the other connection options say, and the secret the user gave; the same for every DC of a run.
    The secret never appears in repr or logs."""

    user: str
    auth: str = "simple"  # "simple", "ntlm" or "kerberos"
    starttls: bool = False
    allow_plaintext: bool = False
    port: int | None = None  # when the target names none: 636 for LDAPS, 389 otherwise
    ca_file: str | None = None  # --ca-file, else LDAPTLS_CACERT, else SSL_CERT_FILE (trust.find_ca_file)
    ca_source: str = "--ca-file"
    dc_ip: str | None = None  # connect the first DC here, naming it by its host name
    kdc: str | None = None
    insecure: bool = False
    timeout: float = 30.0
    page_size: int = 1000
    range_size: int | None = None
    retries: int = 3
    max_member_values: int = MAX_MEMBER_VALUES
    domain_servers: tuple[tuple[str, str], ...] = ()  # --server DOMAIN=HOST: the DC to read each other domain from
    password: str = field(default="", repr=False)
    nt_hash: str = field(default="", repr=False)
    aes_key: str = field(default="", repr=False)


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


class PageGuard:
    """The bounds of one paged search: no cookie comes again with an empty page; pages do not outnumber entries.

    Samba sends one cookie for all the pages of a search, so a cookie that comes again is no fault by
    itself; with a page that brings nothing it is a loop. A server that answers every page with a new
    cookie and no entries would keep the search going for ever: ``MAX_EMPTY_PAGES`` pages more than
    entries are allowed (a DC may return an empty page when its time per page runs out), and no more.
    A server that sends the same entries again and again is stopped by ``MAX_REPEATED_ENTRIES``
    (:meth:`~sidtool.sources.ldap.session.SearchSession.search`). Cookies are kept as SHA-256 digests.
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


def _malformed_errors() -> tuple[type[BaseException], ...]:
    """What the LDAP stacks raise while decoding bytes that are not what they expect."""
    from pyasn1.error import PyAsn1Error

    return (MalformedReply, PyAsn1Error, ValueError, TypeError, IndexError, KeyError, AttributeError)


_MALFORMED = _malformed_errors()


def _reason(error: BaseException) -> str:
    text = _short(printable(str(error)))
    return text if isinstance(error, StreamError) else f"{type(error).__name__}: {text}".rstrip(": ")


def _connect_error(options: ConnectionOptions, error: Exception) -> CollectError:
    """The error for a connection that could not be opened; an untrusted certificate is not retried."""
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        reason = text.split("certificate verify failed:", 1)[-1].split("(_ssl")[0].strip(" :'\"")
        return CollectError(f"{options.address}: the DC's TLS certificate is not trusted ({reason}); "
                            f"{untrusted_hint(options.ca)}")  # fmt: skip
    if isinstance(error, TimeoutError) or "timed out" in text:
        return ConnectFailed(f"{options.address}: no answer within {options.timeout:g} s")
    if text.startswith("(") and (quoted := re.findall(r"'([^']+)'", text)):
        text = quoted[-1]  # ldap3 wraps some socket errors in tuple reprs: keep the message inside
    return ConnectFailed(f"cannot connect to {options.address}: {_short(text)}")


def _bind_error(options: ConnectionOptions, code: int | None, description: str, message: str) -> CollectError:
    if code == INVALID_CREDENTIALS:
        return CollectError(f"{options.address}: invalid credentials for {options.user}", result_code=code)
    if code == STRONGER_AUTH_REQUIRED:
        return CollectError(
            f"{options.address}: the DC requires a protected connection for this bind "
            f"({_short(message)}); use LDAPS (--server ldaps://HOST), --starttls or --auth ntlm",
            result_code=code,
        )
    return CollectError(f"{options.address}: bind refused: {description} {_short(message)}".rstrip(), result_code=code)


def _search_error(base: str, code: int | None, description: str, message: str) -> CollectError:
    """A search the DC ended with result ``code``; a limit reply is said to be one, not taken as the answer."""
    if code in LIMITS:
        text = f"search under {base} stopped by the server: {LIMITS[code]} ({_short(message)})"
        return CollectError(text, result_code=code)
    return CollectError(f"search under {base} failed: {description} {_short(message)}".rstrip(), result_code=code)


def result_code(value: object) -> int | None:
    """An LDAP result code as a stack hands it over (an int, an ASN.1 enumeration), or None."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _short(text: str) -> str:
    """A server's message on one line: 200 characters at most, control characters escaped."""
    return printable(" ".join(text.split())[:200])
