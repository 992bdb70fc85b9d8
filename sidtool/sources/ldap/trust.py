"""Whom a TLS connection to a DC trusts, and the channel-binding token that ties a bind to that connection.

The CA comes, in order, from ``--ca-file``, ``LDAPTLS_CACERT`` (what OpenLDAP's ``ldapsearch`` reads,
ldap.conf(5)), ``SSL_CERT_FILE`` (OpenSSL's and Python's override of the default store), then the
system store. A CA file is checked before connecting: one that is not PEM (a DER ``.cer`` exported
from Windows, say) gets its own message.

The channel-binding token is what DCs with "LDAP channel binding" set require of NTLM and Kerberos
binds over TLS: the MD5 of a ``gss_channel_bindings_struct`` (RFC 2744 3.11, zero addresses) whose
application data is ``tls-server-end-point:`` and the hash of the DC's certificate (RFC 5929 4.1).
"""

from __future__ import annotations

import hashlib
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from sidtool.errors import UsageError

CA_VARIABLES = ("LDAPTLS_CACERT", "SSL_CERT_FILE")
MAX_CA_FILE_BYTES = 16 * 2**20  # a bundle of every public CA is under 1 MiB
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True, slots=True)
class CaFile:
    """A file of CA certificates to trust, and where its name came from (an option or a variable)."""

    path: str
    source: str  # "--ca-file", "LDAPTLS_CACERT" or "SSL_CERT_FILE"

    def describe(self) -> str:
        return self.path if self.source == "--ca-file" else f"{self.path} (from {self.source})"


def find_ca_file(given: str | None, environment: Mapping[str, str] | None = None) -> CaFile | None:
    """The CA file to trust: ``--ca-file``, else the first variable of :data:`CA_VARIABLES` set; None: the system's."""
    if given:
        return CaFile(given, "--ca-file")
    environment = os.environ if environment is None else environment
    for name in CA_VARIABLES:
        if environment.get(name):
            return CaFile(environment[name], name)
    return None


def check_ca_file(ca_file: CaFile) -> None:
    """Raise a :class:`UsageError` naming ``ca_file`` when it cannot be read or holds no PEM certificate."""
    where = ca_file.describe()
    try:
        with open(ca_file.path, "rb") as handle:
            data = handle.read(MAX_CA_FILE_BYTES + 1)
    except OSError as error:
        raise UsageError(f"CA file {where}: cannot read: {error.strerror or error}") from None
    if len(data) > MAX_CA_FILE_BYTES:
        raise UsageError(f"CA file {where}: larger than {MAX_CA_FILE_BYTES // 2**20} MiB; not a CA bundle")
    if PEM_CERTIFICATE not in data:
        der = data[:1] == b"\x30"
        hint = f" (it looks like DER: openssl x509 -inform der -in {ca_file.path} -out ca.pem)" if der else ""
        raise UsageError(f"CA file {where}: no PEM certificate (-----BEGIN CERTIFICATE-----){hint}")
    try:
        ssl.create_default_context().load_verify_locations(cafile=ca_file.path)
    except (ssl.SSLError, ValueError) as error:
        raise UsageError(f"CA file {where}: not a valid PEM certificate file ({error.__class__.__name__})") from None


def client_context(ca_file: CaFile | None, insecure: bool) -> ssl.SSLContext:
    """A TLS client context that checks the DC's certificate and name against ``ca_file`` (or the system store)."""
    context = ssl.create_default_context(cafile=ca_file.path if ca_file else None)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def untrusted_hint(ca_file: CaFile | None) -> str:
    """What to say after "the DC's TLS certificate is not trusted"."""
    variables = " or ".join(CA_VARIABLES)
    if ca_file is None:
        return f"give its CA with --ca-file (or {variables}), or --insecure to skip the check"
    return f"it is not signed by a CA in {ca_file.describe()}; give the right CA with --ca-file (or {variables})"


def channel_binding_token(certificate: bytes) -> bytes:
    """The MD5 of the channel bindings of a TLS connection whose server certificate (DER) is ``certificate``."""
    digest = _end_point_hash(certificate)
    application_data = b"tls-server-end-point:" + digest
    # gss_channel_bindings_struct, flattened: initiator and acceptor address types and lengths (all zero),
    # then the application data's length (little-endian) and the data
    flattened = b"\x00" * 16 + len(application_data).to_bytes(4, "little") + application_data
    return hashlib.md5(flattened, usedforsecurity=False).digest()


def _end_point_hash(certificate: bytes) -> bytes:
    """RFC 5929 4.1: the certificate hashed with its signature's hash; SHA-256 when that is MD5 or SHA-1."""
    algorithm = _signature_hash(certificate)
    return hashlib.new(algorithm if algorithm in ("sha384", "sha512") else "sha256", certificate).digest()


_SIGNATURE_HASHES = {  # signature algorithm OIDs (DER content) whose hash is stronger than SHA-256 (RFC 4055, 5758)
    bytes.fromhex("2a864886f70d01010c"): "sha384",  # sha384WithRSAEncryption
    bytes.fromhex("2a864886f70d01010d"): "sha512",  # sha512WithRSAEncryption
    bytes.fromhex("2a8648ce3d040303"): "sha384",  # ecdsa-with-SHA384
    bytes.fromhex("2a8648ce3d040304"): "sha512",  # ecdsa-with-SHA512
}


def _signature_hash(certificate: bytes) -> str:
    """The hash of the certificate's signatureAlgorithm (RFC 5280 4.1: the element after tbsCertificate)."""
    try:
        _, body = _element(certificate, 0)  # Certificate ::= SEQUENCE
        after_tbs, _ = _element(certificate, body)  # tbsCertificate
        _, algorithm = _element(certificate, after_tbs)  # signatureAlgorithm ::= SEQUENCE { algorithm OID, ... }
        end, content = _element(certificate, algorithm)
        oid = certificate[content:end] if certificate[algorithm] == 0x06 else b""
    except IndexError:
        return "sha256"
    return _SIGNATURE_HASHES.get(oid, "sha256")


def _element(data: bytes, offset: int) -> tuple[int, int]:
    """The end of the DER element at ``offset``, and where its content starts."""
    first = data[offset + 1]
    if first < 0x80:
        return offset + 2 + first, offset + 2
    count = first & 0x7F
    length = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
    return offset + 2 + count + length, offset + 2 + count
