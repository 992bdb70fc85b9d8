"""Where a target points: host names, URLs, ports and IPv6 addresses, parsed before anything is sent."""

from __future__ import annotations

import pytest

from sidtool.errors import UsageError
from sidtool.sources.ldap import ConnectionOptions, LdapSettings

SETTINGS = LdapSettings(user="CORP\\auditor")


@pytest.mark.parametrize(
    ("target", "host", "port", "address"),
    [
        ("dc1.corp.example.com", "dc1.corp.example.com", 389, "dc1.corp.example.com:389"),
        ("ldaps://dc1.corp.example.com", "dc1.corp.example.com", 636, "dc1.corp.example.com:636"),
        ("ldaps://dc1:3269/", "dc1", 3269, "dc1:3269"),
        ("ldaps://[::1]", "::1", 636, "[::1]:636"),
        ("ldaps://[fe80::1]:1636", "fe80::1", 1636, "[fe80::1]:1636"),
    ],
)
def test_targets_and_their_addresses(target, host, port, address):
    settings = SETTINGS if target.startswith("ldaps://") else LdapSettings(user="CORP\\auditor", auth="ntlm")
    options = ConnectionOptions.from_target(target, settings)
    assert (options.host, options.port, options.address) == (host, port, address)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("ldaps://::1", "write an IPv6 address in brackets"),
        ("ldaps://[::1", "an IPv6 address is written [ADDRESS]"),
        ("ldaps://[::1]x", "an IPv6 address is written [ADDRESS]"),
        ("ldaps://dc1:99999", "the port is not a number from 1 to 65535"),
        ("http://dc1", "expected a host name, ldap://HOST or ldaps://HOST"),
        ("ldaps://", "no host name"),
    ],
)
def test_bad_targets_are_usage_errors(target, message):
    with pytest.raises(UsageError, match=message.replace("[", r"\[")):
        ConnectionOptions.from_target(target, SETTINGS)
