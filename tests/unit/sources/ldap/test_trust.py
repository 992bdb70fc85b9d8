"""TLS trust like the admin's other tools, and the channel-binding token of a TLS connection."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from sidtool.errors import UsageError
from sidtool.sources.ldap.trust import (
    CA_VARIABLES,
    MAX_CA_FILE_BYTES,
    CaFile,
    channel_binding_token,
    check_ca_file,
    find_ca_file,
    untrusted_hint,
)


def test_the_option_comes_first_then_ldaptls_cacert_then_ssl_cert_file():
    both = {"LDAPTLS_CACERT": "/ldap.pem", "SSL_CERT_FILE": "/ssl.pem"}
    assert find_ca_file("/given.pem", both) == CaFile("/given.pem", "--ca-file")
    assert find_ca_file(None, both) == CaFile("/ldap.pem", "LDAPTLS_CACERT")
    assert find_ca_file(None, {"SSL_CERT_FILE": "/ssl.pem"}) == CaFile("/ssl.pem", "SSL_CERT_FILE")
    assert find_ca_file(None, {"LDAPTLS_CACERT": ""}) is None  # the system store


def test_the_untrusted_hint_names_the_variables_and_the_file_in_use():
    hint = untrusted_hint(None)
    assert all(name in hint for name in ("--ca-file", *CA_VARIABLES, "--insecure"))
    assert "/x.pem (from LDAPTLS_CACERT)" in untrusted_hint(CaFile("/x.pem", "LDAPTLS_CACERT"))


def make_certificate(directory: Path, digest: str = "sha256") -> tuple[Path, Path]:
    """A self-signed certificate (PEM and DER) signed with ``digest``, made by openssl."""
    pem, der, key = directory / "ca.pem", directory / "ca.cer", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(pem),
                    f"-{digest}", "-days", "1", "-subj", "/CN=test"], check=True, capture_output=True)  # fmt: skip
    subprocess.run(["openssl", "x509", "-in", str(pem), "-outform", "der", "-out", str(der)], check=True)
    return pem, der


def test_a_pem_ca_file_passes_and_a_der_one_gets_its_own_message(tmp_path):
    pem, der = make_certificate(tmp_path)
    check_ca_file(CaFile(str(pem), "--ca-file"))
    with pytest.raises(UsageError, match=r"no PEM certificate .*looks like DER: openssl x509 -inform der") as caught:
        check_ca_file(CaFile(str(der), "LDAPTLS_CACERT"))
    assert "(from LDAPTLS_CACERT)" in str(caught.value)


def test_a_missing_garbled_or_huge_ca_file_is_named(tmp_path):
    with pytest.raises(UsageError, match=r"CA file .*missing\.pem: cannot read"):
        check_ca_file(CaFile(str(tmp_path / "missing.pem"), "--ca-file"))
    garbled = tmp_path / "garbled.pem"
    garbled.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    with pytest.raises(UsageError, match="not a valid PEM certificate file"):
        check_ca_file(CaFile(str(garbled), "--ca-file"))
    huge = tmp_path / "huge.pem"
    huge.write_bytes(b"-----BEGIN CERTIFICATE-----" + b"A" * MAX_CA_FILE_BYTES)
    with pytest.raises(UsageError, match="larger than"):
        check_ca_file(CaFile(str(huge), "--ca-file"))


def impacket_style_token(certificate: bytes) -> bytes:
    """The token as impacket 0.13 computes it (SHA-256 of the certificate, always), written out here."""
    data = b"tls-server-end-point:" + hashlib.sha256(certificate).digest()
    return hashlib.md5(b"\0" * 16 + len(data).to_bytes(4, "little") + data).digest()


def test_the_token_of_a_sha256_certificate_is_what_impacket_sends(tmp_path):
    _, der = make_certificate(tmp_path, "sha256")
    certificate = der.read_bytes()
    assert channel_binding_token(certificate) == impacket_style_token(certificate)


def test_a_sha384_certificate_is_hashed_with_sha384(tmp_path):
    """RFC 5929 4.1: the certificate's own signature hash, when it is stronger than SHA-256."""
    _, der = make_certificate(tmp_path, "sha384")
    certificate = der.read_bytes()
    data = b"tls-server-end-point:" + hashlib.sha384(certificate).digest()
    expected = hashlib.md5(b"\0" * 16 + len(data).to_bytes(4, "little") + data).digest()
    assert channel_binding_token(certificate) == expected != impacket_style_token(certificate)
