"""The Kerberos transport: a GSS-SPNEGO bind with a ticket for ``ldap/<DC host>``, sealed on 389 or inside LDAPS.

The ticket comes from :mod:`.kerberos`. The AP-REQ's authenticator carries the GSS checksum of RFC 4121
4.1.1 (type 0x8003): on plain LDAP it asks for integrity and confidentiality, and every message after
the bind is wrapped (:mod:`.gss_wrap`), as DCs that require signing demand;
over LDAPS it carries the channel-binding token of the TLS connection instead
(:func:`~sidtool.sources.ldap.trust.channel_binding_token`). The connection, its TLS and the reading of
replies are those of the NTLM transport (:class:`~sidtool.sources.ldap.ntlm_transport.ImpacketConnection`).
"""

from __future__ import annotations

from sidtool.sources.ldap import kerberos
from sidtool.sources.ldap.connection import (
    _MALFORMED,
    STRONGER_AUTH_REQUIRED,
    CollectError,
    ConnectionLost,
    ConnectionOptions,
    _connect_error,
    _reason,
    _short,
    result_code,
)
from sidtool.sources.ldap.gss_wrap import AES_ENCTYPES, WrapContext
from sidtool.sources.ldap.kerberos import ServiceTicket, service_ticket
from sidtool.sources.ldap.ntlm_transport import ImpacketConnection
from sidtool.sources.ldap.stream import ReplyTimedOut

GSS_CHECKSUM_TYPE = 0x8003  # RFC 4121 4.1.1
# RFC 2744 / RFC 4121 4.1.1.1 context flags
GSS_C_REPLAY_FLAG, GSS_C_SEQUENCE_FLAG, GSS_C_CONF_FLAG, GSS_C_INTEG_FLAG = 4, 8, 16, 32
KERBEROS_MECHANISM = "MS KRB5 - Microsoft Kerberos 5"  # the OID Windows offers first (1.2.840.48018.1.2.2)


class KerberosConnection(ImpacketConnection):
    """Kerberos with a ticket for the DC's LDAP service; sealed on 389, channel-bound over LDAPS."""

    def _bind(self, options: ConnectionOptions) -> None:
        from impacket.ldap import ldapasn1

        ticket = service_ticket(options)
        sealed = options.tls == "none"
        if sealed and ticket.key.enctype not in AES_ENCTYPES:
            raise CollectError(
                f"{options.address}: the DC's LDAP ticket has an RC4 session key, and sidtool seals with AES "
                "only: use LDAPS (--server ldaps://HOST)"
            )
        request = ldapasn1.BindRequest()
        request["version"] = 3
        request["name"] = ""
        request["authentication"]["sasl"]["mechanism"] = "GSS-SPNEGO"
        request["authentication"]["sasl"]["credentials"] = _negotiation_token(
            ticket, self._connection.channel_binding_value, sealed
        )
        try:
            response = self._connection.sendReceive(request)[0]["protocolOp"]["bindResponse"]
        except (OSError, ConnectionLost, ReplyTimedOut) as error:
            raise _connect_error(options, error) from None
        except _MALFORMED as error:
            raise CollectError(f"{options.address}: malformed reply to the bind: {_reason(error)}") from None
        code = result_code(response["resultCode"])
        if code == STRONGER_AUTH_REQUIRED and not sealed:
            raise CollectError(
                f"{options.address}: this DC takes Kerberos binds over TLS only with a security layer it then "
                "refuses (Samba's 'ldap server require strong auth = yes'): use ldap://HOST, where the bind is sealed",
                result_code=code,
            )
        if code != 0:
            message = _short(str(response["diagnosticMessage"]))
            raise CollectError(
                f"{options.address}: the DC refused the Kerberos bind of {ticket.user}@{ticket.realm} "
                f"(result {code}: {message})"
                + ("; if the DC requires channel binding, check that nothing between here and it ends TLS"
                   if options.tls != "none" else ""),
                result_code=code,
            )  # fmt: skip
        self._connection._LDAPConnection__auth_type = "KRB5"
        self._connection._LDAPConnection__binded = True
        if sealed:
            self._connection.wrapping = WrapContext(ticket.key)


def _negotiation_token(ticket: ServiceTicket, channel_binding: bytes | None, sealed: bool) -> bytes:
    """A SPNEGO NegTokenInit ([RFC 4178] 4.2.1) holding the AP-REQ ([RFC 4120] 5.5.1) for ``ticket``."""
    from impacket.krb5 import constants, crypto, types
    from impacket.krb5.asn1 import AP_REQ, Authenticator, seq_set
    from impacket.krb5.kerberosv5 import CheckSumField
    from impacket.spnego import SPNEGO_NegTokenInit, TypesMech
    from pyasn1.codec.der import encoder
    from pyasn1.type.univ import noValue

    field = CheckSumField()
    field["Lgth"] = 16
    field["Bnd"] = channel_binding or b"\x00" * 16
    field["Flags"] = GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG | (GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG if sealed else 0)

    now = kerberos.now_utc()
    authenticator = Authenticator()
    authenticator["authenticator-vno"] = 5
    authenticator["crealm"] = ticket.realm
    client = types.Principal(ticket.user, type=constants.PrincipalNameType.NT_PRINCIPAL.value)
    seq_set(authenticator, "cname", client.components_to_asn1)
    authenticator["cusec"] = now.microsecond
    authenticator["ctime"] = types.KerberosTime.to_asn1(now)
    authenticator["cksum"] = noValue
    authenticator["cksum"]["cksumtype"] = GSS_CHECKSUM_TYPE
    authenticator["cksum"]["checksum"] = field.getData()
    authenticator["seq-number"] = 0  # the first wrap token's sequence number (impacket counts from 0)

    request = AP_REQ()
    request["pvno"] = 5
    request["msg-type"] = int(constants.ApplicationTagNumbers.AP_REQ.value)
    request["ap-options"] = constants.encodeFlags([])
    seq_set(request, "ticket", ticket.ticket.to_asn1)
    request["authenticator"] = noValue
    request["authenticator"]["etype"] = ticket.key.enctype
    # key usage 11: the AP-REQ authenticator, in the service ticket's session key
    request["authenticator"]["cipher"] = crypto._get_enctype_profile(ticket.key.enctype).encrypt(
        ticket.key, 11, encoder.encode(authenticator), None
    )

    token = SPNEGO_NegTokenInit()
    token["MechTypes"] = [TypesMech[KERBEROS_MECHANISM]]
    token["MechToken"] = encoder.encode(request)
    return token.getData()
