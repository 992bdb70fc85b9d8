"""User names as admins type them: each form accepted where the bind can use it, refused before connecting otherwise."""

from __future__ import annotations

import pytest

from sidtool.errors import UsageError
from sidtool.sources.ldap.account import MAX_NAME_CHARACTERS, AccountName
from sidtool.sources.ldap.connection import ConnectionOptions, LdapSettings

HOST = "dc1.corp.example.com"


@pytest.mark.parametrize(
    ("typed", "simple", "ntlm", "kerberos"),
    [
        ("CORP\\auditor", "CORP\\auditor", ("auditor", "CORP"), None),
        ("corp.example.com\\auditor", "auditor@corp.example.com", ("auditor", "corp.example.com"),
         ("auditor", "CORP.EXAMPLE.COM")),
        ("CORP/auditor", "CORP\\auditor", ("auditor", "CORP"), None),
        ("corp.example.com/auditor", "auditor@corp.example.com", ("auditor", "corp.example.com"),
         ("auditor", "CORP.EXAMPLE.COM")),
        ("auditor@corp.example.com", "auditor@corp.example.com", ("auditor", "corp.example.com"),
         ("auditor", "CORP.EXAMPLE.COM")),
        ("auditor", None, ("auditor", ""), ("auditor", "CORP.EXAMPLE.COM")),
        ("CN=auditor,CN=Users,DC=corp,DC=example,DC=com", "CN=auditor,CN=Users,DC=corp,DC=example,DC=com", None,
         None),
    ],
)  # fmt: skip
def test_each_form_for_each_bind(typed, simple, ntlm, kerberos):
    account = AccountName.parse(typed)
    for expected, use in ((simple, account.for_simple_bind), (ntlm, account.for_ntlm),
                          (kerberos, lambda: account.for_kerberos(HOST))):  # fmt: skip
        if expected is None:
            with pytest.raises(UsageError):
                use()
        else:
            assert use() == expected


def test_refusals_name_the_form_that_works():
    with pytest.raises(UsageError, match=r"auditor@your\.dns\.domain or DOMAIN\\auditor"):
        AccountName.parse("auditor").for_simple_bind()
    with pytest.raises(UsageError, match=r"not its NetBIOS name: give auditor@your\.dns\.domain"):
        AccountName.parse("CORP\\auditor").for_kerberos(HOST)
    with pytest.raises(UsageError, match="name the DC by its DNS name"):
        AccountName.parse("auditor").for_kerberos("127.0.0.1")
    with pytest.raises(UsageError, match="name the DC by its DNS name"):
        AccountName.parse("auditor").for_kerberos("dc1")


@pytest.mark.parametrize("typed", ["", "  ", "CORP\\", "\\auditor", "a\\b\\c", "@corp", "auditor@", "CORP/a/b"])
def test_malformed_names_are_usage_errors(typed):
    with pytest.raises(UsageError):
        AccountName.parse(typed)


def test_a_name_longer_than_the_bound_is_refused():
    with pytest.raises(UsageError, match=str(MAX_NAME_CHARACTERS)):
        AccountName.parse("a" * (MAX_NAME_CHARACTERS + 1))
    AccountName.parse("a" * MAX_NAME_CHARACTERS)


@pytest.mark.parametrize(
    ("auth", "user", "target", "refused"),
    [
        ("simple", "auditor", "ldaps://dc1.corp.example.com", "a simple bind needs the domain"),
        ("kerberos", "CORP\\auditor", "dc1.corp.example.com", "not its NetBIOS name"),
        ("kerberos", "auditor@corp.example.com", "ldaps://127.0.0.1", "Kerberos names the DC by its host name"),
        ("ntlm", "CN=a,DC=corp", "dc1", "not a DN"),
        ("kerberos", "auditor@corp.example.com", "dc1.corp.example.com", None),
        ("kerberos", "", "dc1.corp.example.com", None),  # the ticket cache's principal
        ("ntlm", "auditor", "ldaps://dc1", None),  # NTLM over LDAPS, with channel binding
    ],
)  # fmt: skip
def test_the_policy_refuses_before_connecting(auth, user, target, refused):
    settings = LdapSettings(user=user, auth=auth)
    if refused is None:
        assert ConnectionOptions.from_target(target, settings).auth == auth
    else:
        with pytest.raises(UsageError, match=refused):
            ConnectionOptions.from_target(target, settings)


def test_starttls_is_for_simple_binds():
    with pytest.raises(UsageError, match="not with --starttls"):
        ConnectionOptions.from_target(
            "dc1.corp.example.com", LdapSettings(user="a@b.c", auth="kerberos", starttls=True)
        )


def test_dc_ip_connects_to_the_address_and_names_the_host():
    options = ConnectionOptions.from_target(
        "ldaps://dc1.corp.example.com", LdapSettings(user="a@b.c", dc_ip="192.0.2.7")
    )
    assert (options.host, options.network_host) == ("dc1.corp.example.com", "192.0.2.7")
    other = options.for_domain_server("dc1.child.corp.example.com")
    assert other.network_host == "dc1.child.corp.example.com"  # the address was the first DC's only


def test_a_domain_server_may_name_its_address_too():
    options = ConnectionOptions.from_target("ldaps://dc1.corp.example.com", LdapSettings(user="a@b.c"))
    other = options.for_domain_server("dc1.child.corp.example.com@192.0.2.9")
    assert (other.host, other.network_host) == ("dc1.child.corp.example.com", "192.0.2.9")
