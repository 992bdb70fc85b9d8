"""Kerberos against the real Samba DC and KDC of tests/dc: from a kinit ticket cache with no password, from a
password, an NT hash or an AES key, sealed on 389 and over LDAPS; one clear line for each failure an admin meets.

The DC requires strong authentication: on 389 it takes a SASL bind only signed or sealed, so a Kerberos collection
that succeeds there was sealed. Samba's auth_audit log says how each bind authenticated.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from impacket.krb5 import crypto

from sidtool.sources.ldap import kerberos
from sidtool.sources.ldap.connection import CollectError, ConnectionOptions, LdapSettings
from sidtool.sources.ldap.session import connect
from tests.cli.test_collect import dc_sids, load
from tests.support.cli_runner import run_sidtool

pytestmark = pytest.mark.dc


def kerberos_collect(test_dc, tmp_path: Path, *extra: str, env: dict[str, str] | None = None,
                     server: str | None = None, cache: Path | None = None):  # fmt: skip
    output = tmp_path / "snap.json"
    arguments = ["collect", "--auth", "kerberos", "--server", server or f"ldap://{test_dc.hostname}",
                 "--dc-ip", test_dc.host, "-o", str(output), *extra]  # fmt: skip
    environment = {**test_dc.kerberos_environment(cache or tmp_path / "no-cache"), **(env or {})}
    return run_sidtool(*arguments, env=environment, cwd=tmp_path), output


def binds_since(test_dc, start: int) -> str:
    """The audit lines of the binds made since the log was ``start`` characters long."""
    return "\n".join(line for line in test_dc.audit_log()[start:].splitlines() if "[LDAP," in line)


@pytest.fixture
def ticket_cache(test_dc, tmp_path) -> Path:
    cache = tmp_path / "krb5cc"
    test_dc.kinit(cache)
    return cache


@pytest.mark.parametrize("tls", ["ldap", "ldaps"])
def test_from_a_kinit_ticket_cache_with_no_password(test_dc, tmp_path, ticket_cache, tls):
    start = len(test_dc.audit_log())
    extra = ("--ca-file", str(test_dc.ca_file)) if tls == "ldaps" else ()
    result, output = kerberos_collect(test_dc, tmp_path, *extra, server=f"{tls}://{test_dc.hostname}",
                                      cache=ticket_cache)  # fmt: skip
    assert result.returncode == 0, result.stderr
    collected = {p.dn.lower(): str(p.sid) for p in load(output).principals}
    assert collected == dc_sids(test_dc)
    binds = binds_since(test_dc, start)
    assert "[LDAP,krb5]" in binds and "NTLMSSP" not in binds and "simple bind" not in binds


@pytest.mark.parametrize("secret", ["password", "nt-hash", "aes-key"])
def test_from_a_secret_with_no_ticket_cache(test_dc, tmp_path, secret):
    start = len(test_dc.audit_log())
    salt = f"{test_dc.realm}Administrator"  # AD's AES salt: the realm, then the account name ([MS-KILE] 3.1.1.2)
    env, flags = {"SIDTOOL_PASSWORD": test_dc.password}, ()
    if secret == "nt-hash":
        from Cryptodome.Hash import MD4

        env, flags = {"SIDTOOL_NT_HASH": MD4.new(test_dc.password.encode("utf-16-le")).hexdigest()}, ("--nt-hash",)
    elif secret == "aes-key":
        key = crypto.string_to_key(18, test_dc.password, salt)
        env, flags = {"SIDTOOL_AES_KEY": key.contents.hex()}, ("--aes-key",)
    result, output = kerberos_collect(test_dc, tmp_path, "--user", test_dc.upn, *flags, env=env)
    assert result.returncode == 0, result.stderr
    assert len(load(output).principals) == len(dc_sids(test_dc))
    assert "[Kerberos KDC" in test_dc.audit_log()[start:] and "[LDAP,krb5]" in binds_since(test_dc, start)


def test_no_ticket_and_no_password(test_dc, tmp_path):
    result, _ = kerberos_collect(test_dc, tmp_path, "--user", test_dc.upn)
    assert result.returncode == 2
    assert "no Kerberos ticket (no ticket cache at" in result.stderr and "run kinit" in result.stderr


def test_an_expired_ticket_says_run_kinit_again(test_dc, tmp_path):
    cache = tmp_path / "short"
    test_dc.kinit(cache, lifetime="2s")
    environment = {**test_dc.kerberos_environment(cache)}
    deadline = time.monotonic() + 30  # klist -s fails once no ticket of the cache is valid
    while subprocess.run(["klist", "-s"], env=environment).returncode == 0:
        assert time.monotonic() < deadline, "the 2-second ticket never expired"
        time.sleep(0.5)
    result, _ = kerberos_collect(test_dc, tmp_path, cache=cache)
    assert result.returncode == 2
    assert "expired at" in result.stderr and "run kinit again" in result.stderr


@pytest.mark.parametrize(
    ("extra", "server", "said"),
    [
        (("--user", "Administrator@corp.example.com"), "ldap://dc9.corp.example.com",
         "the KDC knows no service ldap/dc9.corp.example.com"),
        (("--user", "Administrator@corp.example.com", "--kdc", "127.0.0.254"), None,
         "no answer from the KDC at 127.0.0.254:88"),
        (("--user", "Administrator@other.example"), None, "its realm is CORP.EXAMPLE.COM: check the domain of --user"),
        (("--user", "nobody@corp.example.com"), None, "knows no user nobody in realm CORP.EXAMPLE.COM"),
        (("--user", "CORP\\Administrator"), None, "not its NetBIOS name"),
    ],
)  # fmt: skip
def test_each_failure_is_one_line_that_is_not_invalid_credentials(test_dc, tmp_path, extra, server, said):
    result, _ = kerberos_collect(test_dc, tmp_path, *extra, server=server, env={"SIDTOOL_PASSWORD": test_dc.password})
    assert result.returncode == 2
    assert said in result.stderr and "invalid credentials" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_wrong_password_is_invalid_credentials(test_dc, tmp_path):
    result, _ = kerberos_collect(test_dc, tmp_path, "--user", test_dc.upn, env={"SIDTOOL_PASSWORD": "wrong"})
    assert result.returncode == 2 and "invalid credentials for Administrator@CORP.EXAMPLE.COM" in result.stderr


def test_clock_skew_is_named(test_dc, ticket_cache, monkeypatch):
    """The KDC refuses an authenticator an hour ahead of its clock (this machine's clock, moved for this test)."""
    for name, value in test_dc.kerberos_environment(ticket_cache).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(kerberos, "_TICKETS", {})
    ahead = kerberos.now_utc() + kerberos.datetime.timedelta(hours=1)
    monkeypatch.setattr(kerberos, "now_utc", lambda: ahead)
    settings = LdapSettings(user="", auth="kerberos", dc_ip=test_dc.host, timeout=10)
    options = ConnectionOptions.from_target(f"ldap://{test_dc.hostname}", settings)
    with pytest.raises(CollectError, match="clocks of this machine and the KDC differ"):
        connect(options)


@pytest.mark.parametrize("user", ["corp.example.com\\Administrator", "CORP/Administrator",
                                  "Administrator@corp.example.com", "CORP\\Administrator"])  # fmt: skip
@pytest.mark.parametrize("auth", ["simple", "ntlm"])
def test_user_name_forms_bind(test_dc, auth, user):
    tls = "ldaps" if auth == "simple" else "ldap"
    settings = LdapSettings(user=user, auth=auth, ca_file=str(test_dc.ca_file), password=test_dc.password)
    connection = connect(ConnectionOptions.from_target(f"{tls}://{test_dc.host}", settings))
    try:
        found = []
        connection.search(test_dc.base_dn, "base", "(objectClass=*)", ["objectSid"], found.append)
        assert len(found) == 1
    finally:
        connection.close()


def test_a_bare_user_name_is_refused_before_connecting_for_a_simple_bind(test_dc, tmp_path):
    result = run_sidtool("collect", "--server", test_dc.ldaps_uri, "--user", "Administrator", "-o", "s.json",
                         env={"SIDTOOL_PASSWORD": test_dc.password}, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert (
        "a simple bind needs the domain: give Administrator@your.dns.domain or DOMAIN\\Administrator" in result.stderr
    )


def test_ntlm_over_ldaps_binds_with_a_channel_binding_token(test_dc):
    start = len(test_dc.audit_log())
    settings = LdapSettings(user=test_dc.admin_user, auth="ntlm", ca_file=str(test_dc.ca_file),
                            password=test_dc.password)  # fmt: skip
    connection = connect(ConnectionOptions.from_target(f"ldaps://{test_dc.hostname}", replace_dc_ip(settings, test_dc)))
    try:
        assert connection._connection.channel_binding_value is not None
        found = []
        connection.search(test_dc.base_dn, "base", "(objectClass=*)", ["objectSid"], found.append)
        assert len(found) == 1
    finally:
        connection.close()
    assert "[LDAP,NTLMSSP]" in binds_since(test_dc, start)


def replace_dc_ip(settings: LdapSettings, test_dc) -> LdapSettings:
    from dataclasses import replace

    return replace(settings, dc_ip=test_dc.host)


def test_ldaptls_cacert_is_trusted_and_named_when_it_is_the_wrong_ca(test_dc, tmp_path):
    result = run_sidtool("collect", "--server", test_dc.ldaps_uri, "--user", test_dc.admin_user, "-o", "s.json",
                         env={"SIDTOOL_PASSWORD": test_dc.password, "LDAPTLS_CACERT": str(test_dc.ca_file),
                              "SSL_CERT_FILE": ""}, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    other = tmp_path / "other-ca.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(tmp_path / "k.pem"),
            "-out",
            str(other),
            "-days",
            "1",
            "-subj",
            "/CN=another CA",
        ],
        check=True,
        capture_output=True,
    )
    result = run_sidtool(
        "collect",
        "--server",
        test_dc.ldaps_uri,
        "--user",
        test_dc.admin_user,
        "-o",
        "t.json",
        env={"SIDTOOL_PASSWORD": test_dc.password, "LDAPTLS_CACERT": str(other)},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "not trusted" in result.stderr and f"{other} (from LDAPTLS_CACERT)" in result.stderr
    assert not (tmp_path / "t.json").exists()


def test_ssl_cert_file_is_trusted_without_ca_file(test_dc, monkeypatch):
    monkeypatch.delenv("LDAPTLS_CACERT", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(test_dc.ca_file))
    from sidtool.sources.ldap.trust import find_ca_file

    ca = find_ca_file(None)
    assert ca is not None and ca.source == "SSL_CERT_FILE"
    settings = LdapSettings(user=test_dc.admin_user, ca_file=ca.path, ca_source=ca.source, password=test_dc.password)
    connect(ConnectionOptions.from_target(test_dc.ldaps_uri, settings)).close()


def test_a_der_ca_file_gets_its_own_message(test_dc, tmp_path):
    der = tmp_path / "ca.cer"
    subprocess.run(["openssl", "x509", "-in", str(test_dc.ca_file), "-outform", "der", "-out", str(der)], check=True)
    result = run_sidtool("collect", "--server", test_dc.ldaps_uri, "--user", test_dc.admin_user, "--ca-file", str(der),
                         "-o", "s.json", env={"SIDTOOL_PASSWORD": test_dc.password}, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and "no PEM certificate" in result.stderr and "looks like DER" in result.stderr
