"""Kerberos for the LDAP bind: a service ticket for ``ldap/<DC host>``, and the AP-REQ that presents it.

Built on impacket's Kerberos types and crypto (already a dependency): no system library, no compiler.
The ticket comes from a ticket cache (``KRB5CCNAME``, else MIT's default ``/tmp/krb5cc_<uid>``; FILE
caches only), or from a password, an NT hash (RC4) or an AES key, with which sidtool gets the TGT itself.
The SPN is built from the DC's host name as given, never from an address or a reverse lookup.

Three things are done here rather than by impacket's helpers:

* the TGS-REQ carries a checksum of its body in the authenticator (RFC 4120 5.5.1 and 7.2.2 call it
  optional, but Heimdal's KDC, which Samba runs, refuses a TGS-REQ without one: KRB_AP_ERR_INAPP_CKSUM);
* every KDC exchange is read within the deadline and refused past :data:`MAX_KDC_REPLY_BYTES`
  (impacket reads as many bytes as the KDC's length prefix says, with no timeout);
* every failure an admin meets becomes one line that says what to do (:func:`kerberos_error`).
"""

from __future__ import annotations

import datetime
import os
import random
import socket
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidtool.sources.ldap.account import AccountName
from sidtool.sources.ldap.connection import CollectError, ConnectFailed, ConnectionOptions, _short
from sidtool.sources.ldap.stream import Deadline, ReplyTimedOut, receive

KDC_PORT = 88
MAX_KDC_REPLY_BYTES = 1 << 20  # a KDC reply (a ticket with its PAC) is a few KiB; a larger length prefix is refused
MAX_CACHE_BYTES = 16 << 20  # a ticket cache larger than this is not read
CACHE_VARIABLE = "KRB5CCNAME"

# Checksum type for an enctype's keyed checksum (RFC 3962 7 for AES, RFC 4757 4 for RC4)
_CHECKSUM_TYPES = {18: 16, 17: 15, 23: -138}
_WANTED_ENCTYPES = (18, 17, 23)  # aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, rc4-hmac

# Kerberos error codes (RFC 4120 7.5.9) → what the admin is told; {user}, {realm}, {spn}, {kdc} filled in
_ERRORS = {
    6: "the KDC at {kdc} knows no user {user} in realm {realm}",
    7: "the KDC knows no service {spn}: name the DC by the host name it has in the directory (--server "
    "dc1.your.dns.domain, with --dc-ip ADDRESS if DNS does not know it), not by an address or an alias",
    12: "the KDC's policy refuses this ticket request for {user}",
    14: "the KDC accepts no key of this type for {user} (an NT hash where RC4 is disabled? give the password "
    "or the AES key)",
    18: "the account {user} is disabled, locked out or expired (KDC_ERR_CLIENT_REVOKED)",
    23: "the password of {user} has expired: change it, then run again",
    24: "invalid credentials for {user}@{realm} (the KDC refused the password or key)",
    32: "the Kerberos ticket has expired: run kinit again",
    37: "the clocks of this machine and the KDC differ by more than the realm allows (5 minutes by default): "
    "set this machine's clock",
    41: "the DC could not read the ticket for {spn} (KRB_AP_ERR_MODIFIED): the SPN belongs to another account",
    68: "the KDC at {kdc} does not serve realm {realm}: check the domain of --user (user@dns.domain)",
}


def now_utc() -> datetime.datetime:
    """This machine's clock, in UTC: the time authenticators carry (the KDC refuses one too far from its own)."""
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass(frozen=True, slots=True)
class ServiceTicket:
    """A ticket for the DC's LDAP service, with its session key: what the AP-REQ needs."""

    ticket: Any  # impacket.krb5.types.Ticket
    key: Any  # impacket.krb5.crypto.Key
    user: str
    realm: str


def cache_path(environment: dict[str, str] | None = None) -> str:
    """The ticket cache file ``KRB5CCNAME`` names (``FILE:`` or a path), else MIT's default for this user."""
    environment = dict(os.environ) if environment is None else environment
    name = environment.get(CACHE_VARIABLE, "")
    if not name:
        return f"/tmp/krb5cc_{os.getuid()}"
    kind, colon, rest = name.partition(":")
    if colon and kind.upper() == "FILE":
        return rest
    if colon and kind.isalpha() and kind.upper() != "FILE" and len(kind) > 1:
        raise CollectError(
            f"{CACHE_VARIABLE}={_short(name)}: sidtool reads FILE ticket caches only; run "
            f"KRB5CCNAME=FILE:/tmp/krb5cc_sidtool kinit ... and give sidtool the same {CACHE_VARIABLE}"
        )
    return name


def ticket_cache_name() -> str:
    """The ticket cache sidtool would read, for messages."""
    try:
        return cache_path()
    except CollectError:
        return os.environ.get(CACHE_VARIABLE, "")


def ticket_cache_present() -> bool:
    """Whether a ticket cache is there to use (an unsupported cache type counts: the bind explains it)."""
    try:
        return Path(cache_path()).is_file()
    except CollectError:
        return True


_TICKETS: dict[tuple[str, str, str | None, str | None], ServiceTicket] = {}  # the tickets of this run
_TICKETS_LOCK = threading.Lock()
MAX_TICKETS = 256  # one per DC of the forest; past this, tickets are got again rather than kept


def service_ticket(options: ConnectionOptions) -> ServiceTicket:
    """A ticket for ``ldap/<host>``, kept for the run: a reconnection or a second connection asks the KDC no more."""
    key = (options.host.lower(), options.user, options.kdc, options.connect_to)
    with _TICKETS_LOCK:
        if key in _TICKETS:
            return _TICKETS[key]
    ticket = _new_service_ticket(options)
    with _TICKETS_LOCK:
        if len(_TICKETS) < MAX_TICKETS:
            _TICKETS[key] = ticket
    return ticket


def _new_service_ticket(options: ConnectionOptions) -> ServiceTicket:
    """A ticket for ``ldap/<host>``: from the cache when no secret was given, else through a TGT got with it."""
    spn = f"ldap/{options.host}"
    kdc = options.kdc or options.connect_to or options.host
    if options.password or options.nt_hash or options.aes_key:
        user, realm = AccountName.parse(options.user).for_kerberos(options.host)
        tgt, key = _ticket_granting_ticket(options, user, realm, kdc)
    else:
        cached = _from_cache(options, spn)
        if isinstance(cached, ServiceTicket):
            return cached
        tgt, key, user, realm = cached
    return _service_ticket(options, tgt, key, user, realm, spn, kdc)


def _from_cache(options: ConnectionOptions, spn: str):
    """The cache's ticket for ``spn`` if it holds a valid one, else its TGT, key, user and realm."""
    from impacket.krb5 import crypto, types
    from impacket.krb5.ccache import CCache

    path = cache_path()
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CACHE_BYTES + 1)
    except FileNotFoundError:
        raise CollectError(
            f"no Kerberos ticket: no ticket cache at {path}; run kinit user@YOUR.REALM, or give the password "
            "(--password-file, SIDTOOL_PASSWORD or the prompt) with --user user@dns.domain"
        ) from None
    except OSError as error:
        raise CollectError(f"ticket cache {path}: cannot read: {error.strerror or error}") from None
    if len(data) > MAX_CACHE_BYTES:
        raise CollectError(f"ticket cache {path}: larger than {MAX_CACHE_BYTES >> 20} MiB; not read")
    try:
        cache = CCache(data)
        principal = cache.principal.prettyPrint().decode("utf-8")
    except Exception as error:  # impacket's parser fails in any way on a file that is not a ccache
        raise CollectError(f"ticket cache {path}: not a ticket cache ({type(error).__name__})") from None
    user, _, realm = principal.rpartition("@")
    if options.user:
        wanted_user, wanted_realm = AccountName.parse(options.user).for_kerberos(options.host)
        if (wanted_user.lower(), wanted_realm.upper()) != (user.lower(), realm.upper()):
            raise CollectError(
                f"the ticket cache {path} holds tickets for {principal}, not {wanted_user}@{wanted_realm}: "
                "run kinit as that user, or leave out --user"
            )
    now = now_utc().timestamp()
    tgt = None
    for credential in cache.credentials:
        server = credential["server"].prettyPrint().decode("utf-8", "replace")
        end = credential["time"]["endtime"]
        if server.lower() == f"{spn}@{realm}".lower() and end > now:
            ticket = types.Ticket()
            ticket.from_asn1(credential.ticket["data"])
            key = crypto.Key(credential["key"]["keytype"], credential["key"]["keyvalue"])
            return ServiceTicket(ticket, key, user, realm)
        if server.upper() == f"KRBTGT/{realm}@{realm}".upper():
            tgt = credential
    if tgt is None:
        raise CollectError(f"no Kerberos ticket: the cache {path} holds no TGT for {realm}; run kinit {principal}")
    if tgt["time"]["endtime"] <= now:
        expired = datetime.datetime.fromtimestamp(tgt["time"]["endtime"], datetime.timezone.utc)
        raise CollectError(
            f"the Kerberos ticket of {principal} in {path} expired at {expired:%Y-%m-%d %H:%M} UTC: run kinit again"
        )
    ticket = types.Ticket()
    ticket.from_asn1(tgt.ticket["data"])
    return ticket, crypto.Key(tgt["key"]["keytype"], tgt["key"]["keyvalue"]), user, realm


def _ticket_granting_ticket(options: ConnectionOptions, user: str, realm: str, kdc: str):
    """A TGT for ``user@realm`` got with the password, NT hash or AES key: its ticket and session key."""
    from impacket.krb5 import constants, types
    from impacket.krb5.asn1 import AS_REP
    from impacket.krb5.kerberosv5 import getKerberosTGT
    from pyasn1.codec.der import decoder

    name = types.Principal(user, type=constants.PrincipalNameType.NT_PRINCIPAL.value)
    with _bounded_kdc(options, user, realm, kdc, f"krbtgt/{realm}"):
        reply, _, _, key = getKerberosTGT(
            name, options.password, realm, "", options.nt_hash, options.aes_key, kdc, requestPAC=True
        )
    ticket = types.Ticket()
    ticket.from_asn1(decoder.decode(reply, asn1Spec=AS_REP())[0]["ticket"])
    return ticket, key


def _service_ticket(options, tgt, key, user: str, realm: str, spn: str, kdc: str) -> ServiceTicket:
    """A TGS-REQ for ``spn`` (RFC 4120 5.4.1), its authenticator carrying the checksum of the request body."""
    from impacket.krb5 import constants, crypto, types
    from impacket.krb5.asn1 import AP_REQ, TGS_REP, TGS_REQ, Authenticator, EncTGSRepPart, seq_set, seq_set_iter
    from pyasn1.codec.der import decoder, encoder
    from pyasn1.type.univ import noValue

    request = TGS_REQ()
    request["pvno"] = 5
    request["msg-type"] = int(constants.ApplicationTagNumbers.TGS_REQ.value)
    body = seq_set(request, "req-body")
    body["kdc-options"] = constants.encodeFlags([constants.KDCOptions.canonicalize.value])
    server = types.Principal(spn, type=constants.PrincipalNameType.NT_SRV_INST.value)
    seq_set(body, "sname", server.components_to_asn1)
    body["realm"] = realm
    now = now_utc()
    body["till"] = types.KerberosTime.to_asn1(now + datetime.timedelta(days=1))
    body["nonce"] = random.SystemRandom().getrandbits(31)
    seq_set_iter(body, "etype", _WANTED_ENCTYPES)
    checksum_type = _CHECKSUM_TYPES.get(key.enctype)
    if checksum_type is None:
        raise CollectError(f"the TGT's session key is of a type sidtool does not use (enctype {key.enctype})")

    authenticator = Authenticator()
    authenticator["authenticator-vno"] = 5
    authenticator["crealm"] = realm
    client = types.Principal(user, type=constants.PrincipalNameType.NT_PRINCIPAL.value)
    seq_set(authenticator, "cname", client.components_to_asn1)
    authenticator["cusec"] = now.microsecond
    authenticator["ctime"] = types.KerberosTime.to_asn1(now)
    authenticator["cksum"] = noValue
    authenticator["cksum"]["cksumtype"] = checksum_type
    # key usage 6: the checksum of the TGS-REQ body in the PA-TGS-REQ authenticator (RFC 4120 7.5.1)
    # (over the KDC-REQ-BODY itself: the component encodes inside its [4] context tag, which is taken off)
    authenticator["cksum"]["checksum"] = crypto.make_checksum(checksum_type, key, 6, _untagged(encoder.encode(body)))

    ap_request = AP_REQ()
    ap_request["pvno"] = 5
    ap_request["msg-type"] = int(constants.ApplicationTagNumbers.AP_REQ.value)
    ap_request["ap-options"] = constants.encodeFlags([])
    seq_set(ap_request, "ticket", tgt.to_asn1)
    ap_request["authenticator"] = noValue
    ap_request["authenticator"]["etype"] = key.enctype
    # key usage 7: the PA-TGS-REQ authenticator, in the TGT's session key
    ap_request["authenticator"]["cipher"] = crypto._get_enctype_profile(key.enctype).encrypt(
        key, 7, encoder.encode(authenticator), None
    )
    request["padata"] = noValue
    request["padata"][0] = noValue
    request["padata"][0]["padata-type"] = int(constants.PreAuthenticationDataTypes.PA_TGS_REQ.value)
    request["padata"][0]["padata-value"] = encoder.encode(ap_request)

    with _bounded_kdc(options, user, realm, kdc, spn):
        answer = kdc_exchange(encoder.encode(request), kdc, KDC_PORT, options.timeout)
        reply = decoder.decode(answer, asn1Spec=TGS_REP())[0]
        # key usage 8: the TGS-REP's encrypted part, in the TGT's session key
        part = decoder.decode(crypto.decrypt(key, 8, bytes(reply["enc-part"]["cipher"])), asn1Spec=EncTGSRepPart())[0]
    ticket = types.Ticket()
    ticket.from_asn1(reply["ticket"])
    session_key = crypto.Key(int(part["key"]["keytype"]), bytes(part["key"]["keyvalue"]))
    return ServiceTicket(ticket, session_key, user, realm)


def _untagged(encoded: bytes) -> bytes:
    """The content of a DER element: what an explicit context tag wraps."""
    first = encoded[1]
    return encoded[2 + (first & 0x7F if first & 0x80 else 0) :]


class _bounded_kdc:
    """Within it, impacket's KDC exchange is :func:`kdc_exchange` (bounded), and its errors are one line.

    impacket's ``getKerberosTGT`` calls its module's ``sendReceive``; that name is pointed at the bounded
    exchange, and left so (every sidtool exchange is bounded, and threads never see the unbounded one).
    """

    def __init__(self, options: ConnectionOptions, user: str, realm: str, kdc: str, spn: str) -> None:
        self.options, self.user, self.realm, self.kdc, self.spn = options, user, realm, kdc, spn

    def __enter__(self) -> None:
        from impacket.krb5 import kerberosv5

        kerberosv5.sendReceive = _kdc_exchanger(self.options.timeout)

    def __exit__(self, kind, error, trace) -> None:
        if error is None:
            return
        raise kerberos_error(error, self.options, self.user, self.realm, self.kdc, self.spn) from None


def _kdc_exchanger(timeout: float):
    """impacket's ``sendReceive(data, host, kdcHost, port)``, each exchange within ``timeout`` and size-capped."""

    def exchange(data: bytes, host: str, kdc_host: str | None, port: int = KDC_PORT) -> bytes:
        return kdc_exchange(data, kdc_host or host, port, timeout)

    return exchange


def kdc_exchange(data: bytes, kdc: str, port: int, timeout: float) -> bytes:
    """Send one Kerberos message over TCP (RFC 4120 7.2.2) and return the reply, or raise its KRB-ERROR."""
    from impacket.krb5 import constants
    from impacket.krb5.asn1 import KRB_ERROR
    from impacket.krb5.kerberosv5 import KerberosError
    from pyasn1.codec.der import decoder
    from pyasn1.error import PyAsn1Error

    deadline = Deadline(timeout)
    deadline.start()
    try:
        connection = socket.create_connection((kdc, port), timeout=timeout)
    except OSError as error:
        raise KdcUnreachable(f"{kdc}:{port}: {error.strerror or error}") from None
    with connection:
        connection.sendall(struct.pack("!I", len(data)) + data)
        buffer = bytearray()
        size: int | None = None
        while size is None or len(buffer) < size + 4:
            chunk = receive(connection, deadline)
            if not chunk:
                raise KdcUnreachable(f"{kdc}:{port}: the KDC closed the connection")
            buffer.extend(chunk)
            if size is None and len(buffer) >= 4:
                size = struct.unpack("!I", buffer[:4])[0]
                if size > MAX_KDC_REPLY_BYTES:
                    raise KdcUnreachable(f"{kdc}:{port}: a reply of {size} bytes, over {MAX_KDC_REPLY_BYTES}")
    reply = bytes(buffer[4 : 4 + size])
    try:
        refusal = KerberosError(packet=decoder.decode(reply, asn1Spec=KRB_ERROR())[0])
    except (PyAsn1Error, ValueError, TypeError, KeyError):
        return reply  # not a KRB-ERROR: the reply asked for
    if refusal.getErrorCode() == constants.ErrorCodes.KDC_ERR_PREAUTH_REQUIRED.value:
        return reply  # impacket's AS exchange reads the salts from this one
    raise refusal


class KdcUnreachable(OSError):
    """No answer from the KDC (refused, timed out, closed, or a reply over the size limit)."""


def kerberos_error(error: BaseException, options: ConnectionOptions, user: str, realm: str, kdc: str, spn: str):
    """The one-line error for a failed Kerberos exchange."""
    from impacket.krb5.kerberosv5 import KerberosError

    if isinstance(error, KerberosError):
        code = error.getErrorCode()
        text = _ERRORS.get(code)
        if text is None:
            return CollectError(f"{options.address}: Kerberos refused: {_short(str(error))}")
        text = text.format(user=user, realm=realm, spn=spn, kdc=kdc)
        _, dot, host_domain = options.host.partition(".")
        if code == 6 and dot and not host_domain.upper().endswith(realm):  # AD answers a wrong realm this way
            text += f" (the DC's name says its realm is {host_domain.upper()}: check the domain of --user)"
        return CollectError(f"{options.address}: {text}")
    if isinstance(error, KdcUnreachable | ReplyTimedOut | OSError):
        return ConnectFailed(
            f"no answer from the KDC at {kdc}:{KDC_PORT} ({_short(str(error))}); give its address with --kdc ADDRESS"
        )
    if isinstance(error, CollectError):
        return error
    return CollectError(f"{options.address}: Kerberos failed: {type(error).__name__}: {_short(str(error))}")
