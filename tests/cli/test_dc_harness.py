"""The Samba test DC itself: it runs, it holds the fixture, and it answers as AD would."""

from __future__ import annotations

import base64
import importlib.util
import json
import ssl
import sys
from pathlib import Path

import pytest
from impacket.ldap.ldaptypes import SR_SECURITY_DESCRIPTOR
from ldap3 import BASE, LEVEL, SUBTREE, Connection, Server, Tls
from ldap3.protocol.formatters.formatters import format_sid
from ldap3.utils.conv import escape_filter_chars

DC_DIR = Path(__file__).resolve().parent.parent / "dc"
SD_FLAGS_OWNER_GROUP_DACL = ("1.2.840.113556.1.4.801", True, b"\x30\x03\x02\x01\x07")


def load_fixture_module():
    spec = importlib.util.spec_from_file_location("dc_fixture", DC_DIR / "fixture.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def connect(test_dc) -> Connection:
    """An LDAPS simple bind that verifies the DC's certificate against its CA."""
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(test_dc.ca_file))
    server = Server(test_dc.host, port=test_dc.ldaps_port, use_ssl=True, tls=tls, get_info=None)
    # return_empty_attributes=False: ldap3 2.9.1 raises KeyError on 'attr;range=...' replies otherwise.
    connection = Connection(
        server,
        user=test_dc.admin_user,
        password=test_dc.password,
        auto_range=False,
        return_empty_attributes=False,
        raise_exceptions=True,
    )
    connection.bind()
    return connection


@pytest.fixture(scope="module")
def ldap(test_dc):
    connection = connect(test_dc)
    yield connection
    connection.unbind()


def read(ldap: Connection, dn: str, *attributes: str) -> dict:
    ldap.search(dn, "(objectClass=*)", BASE, attributes=list(attributes) or ["objectClass"])
    assert len(ldap.response) == 1, dn
    return ldap.response[0]["raw_attributes"]


def test_expected_facts_file_is_generated_from_fixture_py():
    committed = json.loads((DC_DIR / "fixture_expected.json").read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(load_fixture_module().expected_facts()))


@pytest.mark.dc
def test_ldaps_simple_bind_verifies_the_certificate(test_dc):
    connection = connect(test_dc)
    assert connection.bound
    assert connection.server.tls.validate == ssl.CERT_REQUIRED
    connection.unbind()


@pytest.mark.dc
def test_ldaps_rejects_a_certificate_from_another_ca(test_dc, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(ssl.get_server_certificate((test_dc.host, test_dc.ldaps_port)))  # self as CA: not a CA
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(other_ca))
    server = Server(test_dc.host, port=test_dc.ldaps_port, use_ssl=True, tls=tls, get_info=None)
    with pytest.raises(Exception, match=r"(?i)certificate|ssl|socket"):
        Connection(server, user=test_dc.admin_user, password=test_dc.password, raise_exceptions=True).bind()


@pytest.mark.dc
def test_plain_simple_bind_on_389_needs_strong_auth(test_dc):
    server = Server(test_dc.host, port=test_dc.ldap_port, get_info=None)
    connection = Connection(server, user=test_dc.admin_user, password=test_dc.password)
    assert not connection.bind()
    assert connection.result["description"] == "strongerAuthRequired"


@pytest.mark.dc
def test_every_fixture_object_exists(test_dc, ldap):
    expected = test_dc.expected
    names = [user["dn"] for user in expected["users"]]
    names += [group["dn"] for group in expected["groups"]]
    names += [builtin["dn"] for builtin in expected["builtin_members"].values()]
    names += [principal["dn"] for principal in expected["foreign_principals"]]
    names += [expected["bulk_users"]["first_dn"], expected["bulk_users"]["last_dn"]]
    exchange = expected["exchange"]
    names += [exchange["organization_dn"], *exchange["admin_groups"], *(tree["dn"] for tree in exchange["pf_trees"])]
    for server in exchange["servers"]:
        names += [server["dn"], *(store["dn"] for store in server["public_stores"])]
    names += [folder["dn"] for folder in expected["public_folders"]["items"]]
    for dn in names:
        read(ldap, dn)
    for user in expected["users"]:
        found = read(ldap, user["dn"], "sAMAccountName", "displayName")
        assert found["sAMAccountName"] == [user["sAMAccountName"].encode()]
        assert found["displayName"] == [user["displayName"].encode()]
    ldap.search(
        expected["public_folders"]["container"], "(objectClass=publicFolder)", LEVEL, attributes=["cn"], paged_size=1000
    )
    assert len(ldap.response) == expected["public_folders"]["count"]


@pytest.mark.dc
def test_non_ascii_name_with_escaped_comma(test_dc, ldap):
    user = next(user for user in test_dc.expected["users"] if user["sAMAccountName"] == "jmueller")
    assert user["dn"].startswith("CN=Müller\\, Jürgen,")
    ldap.search(test_dc.base_dn, "(sAMAccountName=jmueller)", SUBTREE, attributes=["cn"])
    assert ldap.response[0]["dn"] == user["dn"]
    assert ldap.response[0]["raw_attributes"]["cn"] == ["Müller, Jürgen".encode()]


def ranged_members(ldap: Connection, dn: str, step: int) -> tuple[list[bytes], int]:
    """All member values by ranged retrieval in pages of step; also the number of requests."""
    members: list[bytes] = []
    start, requests = 0, 0
    while True:
        requests += 1
        attribute = read(ldap, dn, f"member;range={start}-{start + step - 1}")
        ((name, values),) = ((key, value) for key, value in attribute.items() if key.lower().startswith("member;"))
        members += values
        end = name.rsplit("-", 1)[1]
        if end == "*":
            return members, requests
        start = int(end) + 1


@pytest.mark.dc
def test_1600_member_group_by_ranged_retrieval(test_dc, ldap):
    group = next(group for group in test_dc.expected["groups"] if group["sAMAccountName"] == "GG-Bulk-1600")
    members, requests = ranged_members(ldap, group["dn"], 500)
    assert len(members) == len(set(members)) == 1600
    assert requests == 4  # 0-499, 500-999, 1000-1499, 1500-*
    everything = read(ldap, group["dn"], "member;range=0-*")
    assert len(next(iter(everything.values()))) == 1600  # Samba: no MaxValRange cap on 0-*


@pytest.mark.dc
def test_ranged_retrieval_with_ldapsearch(test_dc):
    group = next(group for group in test_dc.expected["groups"] if group["sAMAccountName"] == "GG-Bulk-1600")
    output = test_dc.ldapsearch("-s", "base", "(objectClass=*)", "member;range=1000-1499", base=group["dn"])
    assert output.count("member;range=1000-1499: ") == 500


@pytest.mark.dc
def test_token_groups_agree_with_expected_routes(test_dc, ldap):
    """The DC's own transitive expansion (tokenGroups) matches fixture_expected.json."""
    builtin_sids = set(test_dc.expected["builtin_2003"].values())
    for user in test_dc.expected["users"]:
        tokens = {format_sid(value) for value in read(ldap, user["dn"], "tokenGroups")["tokenGroups"]}
        assert tokens & builtin_sids == set(user["builtin_2003"]), user["sAMAccountName"]


@pytest.mark.dc
def test_primary_group_route(test_dc, ldap):
    domain_users = read(ldap, f"CN=Domain Users,CN=Users,{test_dc.base_dn}", "member", "objectSid")
    assert "member" not in domain_users  # everyone is in it through primaryGroupID only
    remote_desktop = read(ldap, f"CN=Remote Desktop Users,CN=Builtin,{test_dc.base_dn}", "member")
    assert f"CN=Domain Users,CN=Users,{test_dc.base_dn}".encode() in remote_desktop["member"]
    kiosk = read(ldap, f"CN=Kiosk One,OU=Kiosks,{test_dc.base_dn}", "primaryGroupID")
    kiosk_group = read(ldap, f"CN=GG-Kiosk,OU=Groups,{test_dc.base_dn}", "objectSid")
    assert format_sid(kiosk_group["objectSid"][0]).endswith("-" + kiosk["primaryGroupID"][0].decode())


@pytest.mark.dc
def test_foreign_security_principal_in_performance_monitor_users(test_dc, ldap):
    principal = test_dc.expected["foreign_principals"][0]
    members = read(ldap, f"CN=Performance Monitor Users,CN=Builtin,{test_dc.base_dn}", "member")["member"]
    assert principal["dn"].encode() in members
    assert format_sid(read(ldap, principal["dn"], "objectSid")["objectSid"][0]) == principal["sid"]


def explicit_trustees(descriptor: bytes) -> set[str]:
    """SIDs of the ACEs in a DACL that were not inherited."""
    parsed = SR_SECURITY_DESCRIPTOR(data=descriptor)
    inherited = 0x10
    return {ace["Ace"]["Sid"].formatCanonical() for ace in parsed["Dacl"].aces if not ace["AceFlags"] & inherited}


@pytest.mark.dc
def test_public_folder_descriptors_name_the_2003_builtins(test_dc, ldap):
    folders = test_dc.expected["public_folders"]
    templates = folders["descriptor_templates"]
    ldap.search(
        folders["container"],
        "(objectClass=publicFolder)",
        LEVEL,
        attributes=["nTSecurityDescriptor"],
        controls=[SD_FLAGS_OWNER_GROUP_DACL],
        paged_size=1000,
    )
    descriptors = {entry["dn"]: entry["raw_attributes"]["nTSecurityDescriptor"][0] for entry in ldap.response}
    naming_555 = 0
    for folder in folders["items"]:
        trustees = explicit_trustees(descriptors[folder["dn"]])
        expected = set(templates[folder["descriptor_template"]]["builtin_2003"])
        assert trustees & set(test_dc.expected["builtin_2003"].values()) == expected, folder["dn"]
        naming_555 += "S-1-5-32-555" in trustees
    assert naming_555 == 150  # 3 of the 6 templates, 300 folders


@pytest.mark.dc
def test_public_folder_descriptor_names_a_nested_group_by_sid(test_dc, ldap):
    folder = next(
        item
        for item in test_dc.expected["public_folders"]["items"]
        if item["descriptor_template"] == "nested_group_sid"
    )
    group = read(ldap, f"CN=DL-IT-Remote-L1,OU=Groups,{test_dc.base_dn}", "objectSid")
    ldap.search(
        folder["dn"], "(objectClass=*)", BASE, attributes=["nTSecurityDescriptor"], controls=[SD_FLAGS_OWNER_GROUP_DACL]
    )
    descriptor = ldap.response[0]["raw_attributes"]["nTSecurityDescriptor"][0]
    assert format_sid(group["objectSid"][0]) in explicit_trustees(descriptor)


@pytest.mark.dc
def test_exchange_servers_and_stores(test_dc, ldap):
    for server in test_dc.expected["exchange"]["servers"]:
        assert read(ldap, server["dn"], "serialNumber")["serialNumber"] == [server["serialNumber"].encode()]
        for store in server["public_stores"]:
            owning = read(ldap, store["dn"], "msExchOwningPFTree")["msExchOwningPFTree"]
            assert owning == [store["msExchOwningPFTree"].encode()]
    for tree in test_dc.expected["exchange"]["pf_trees"]:
        tree_type = read(ldap, tree["dn"], "msExchPFTreeType")["msExchPFTreeType"]
        assert tree_type == [str(tree["msExchPFTreeType"]).encode()]
    folder = test_dc.expected["public_folders"]["items"][0]
    assert read(ldap, folder["dn"], "homeMDB")["homeMDB"] == [folder["homeMDB"].encode()]


@pytest.mark.dc
def test_schema_extension_uses_the_real_oids(test_dc, ldap):
    schema = f"CN=Schema,CN=Configuration,{test_dc.base_dn}"
    expected = {
        "publicFolder": "1.2.840.113556.1.3.15",
        "msExchPFTree": "1.2.840.113556.1.5.7000.62.11003",
        "msExchPublicMDB": "1.2.840.113556.1.5.7000.62.11005",
        "msExchExchangeServer": "1.2.840.113556.1.5.7000.62.50009",
    }
    for name, oid in expected.items():
        ldap.search(schema, f"(lDAPDisplayName={escape_filter_chars(name)})", LEVEL, attributes=["governsID"])
        assert ldap.response[0]["raw_attributes"]["governsID"] == [oid.encode()]


@pytest.mark.dc
def test_ldbsearch_reads_the_database_directly(test_dc):
    output = test_dc.ldbsearch("(sAMAccountName=kiosk01)", "primaryGroupID")
    assert "primaryGroupID: " in output


def test_descriptor_corpus_parses():
    corpus = Path(__file__).resolve().parent.parent / "data" / "descriptors" / "samba_fixture_dc.ldif"
    values = [
        line.split(":: ", 1)[1]
        for line in corpus.read_text().splitlines()
        if line.startswith("nTSecurityDescriptor:: ")
    ]
    assert len(values) > 3000
    for value in values[:500]:
        assert SR_SECURITY_DESCRIPTOR(data=base64.b64decode(value))["Dacl"]
