"""End to end against the live Samba DC: ``sidtool collect`` and ``sidtool report ldaps://``."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from pathlib import Path

import pytest

from sidtool.sources import read_inputs, snapshot
from tests.support.cli_runner import run_sidtool

pytestmark = pytest.mark.dc


def collect(test_dc, tmp_path: Path, *extra: str, password: str | None = None, name: str = "snap.json"):
    output = tmp_path / name
    arguments = ["collect", "--user", test_dc.admin_user, "-o", str(output), *extra]
    if not any(a.startswith("--server") for a in extra):
        arguments += ["--server", test_dc.ldaps_uri, "--ca-file", str(test_dc.ca_file)]
    result = run_sidtool(*arguments, env={"SIDTOOL_PASSWORD": password or test_dc.password}, cwd=tmp_path)
    return result, output


def load(path: Path):
    problems = []
    with path.open("rb") as stream:
        directory = snapshot.load(stream, str(path), problems.append)
    assert problems == []
    return directory


def dc_sids(test_dc) -> dict[str, str]:
    """DN (lower case) → objectSid of every principal, as Samba's own tools print them."""
    text = test_dc.ldbsearch("(|(objectClass=user)(objectClass=group)(objectClass=foreignSecurityPrincipal))",
                             "objectSid")  # fmt: skip
    found = {}
    for record in text.split("\n\n"):
        dn = re.search(r"^dn: (.+)$", record, re.M)
        sid = re.search(r"^objectSid: (S-[0-9-]+)$", record, re.M)
        if dn and sid:
            found[dn.group(1).lower()] = sid.group(1)
    return found


@pytest.fixture(scope="module")
def ldaps_snapshot(test_dc, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("collect")
    result, output = collect(test_dc, tmp_path, "--range-size", "500")
    assert result.returncode == 0, result.stderr
    return result, output


def test_snapshot_holds_every_principal_with_its_sid(test_dc, ldaps_snapshot):
    _, output = ldaps_snapshot
    directory = load(output)
    collected = {p.dn.lower(): str(p.sid) for p in directory.principals}
    expected = dc_sids(test_dc)
    assert len(expected) > 1600
    assert collected == expected


def test_1600_member_group_is_complete_through_ranged_retrieval(test_dc, ldaps_snapshot):
    _, output = ldaps_snapshot
    directory = load(output)
    bulk = next(p for p in directory.principals if p.name == "GG-Bulk-1600")
    assert len(bulk.members) == len(set(bulk.members)) == 1600


def test_descriptors_are_byte_identical_to_what_the_dc_returns(test_dc, ldaps_snapshot):
    _, output = ldaps_snapshot
    collected = {f.dn.lower(): f.descriptor for f in load(output).public_folders}
    text = test_dc.ldapsearch("-E", "!1.2.840.113556.1.4.801=::MAMCAQc=", "(objectClass=publicFolder)",
                              "nTSecurityDescriptor")  # fmt: skip
    expected = {}
    for record in text.split("\n\n"):
        dn = re.search(r"^dn: (.+)$", record, re.M)
        value = re.search(r"^nTSecurityDescriptor:: (.+)$", record, re.M)
        if dn and value:
            expected[dn.group(1).lower()] = base64.b64decode(value.group(1))
    assert len(expected) == 300
    assert collected == expected


def test_servers_have_their_parsed_builds(ldaps_snapshot):
    _, output = ldaps_snapshot
    result = run_sidtool("report", str(output), "--view", "servers", "--format", "json")
    servers = {row["server"]: row for row in json.loads(result.stdout)["servers"]}  # JSON: one shape for every view
    assert servers["EXCH01"]["build"] == "Exchange 2003 SP1 (build 6.5.7226.6)"
    assert servers["EXCH01"]["hotfix"] == "6.5.7232.35"
    assert servers["EXCH02"]["vulnerable"] is False
    assert servers["EXCH00"]["hotfix"] == "6.0.6617.6"


def test_snapshot_is_versioned_and_holds_no_secret(test_dc, ldaps_snapshot):
    result, output = ldaps_snapshot
    raw = output.read_text(encoding="utf-8")
    document = json.loads(raw)
    assert document["format"] == "sidtool-snapshot" and document["version"] == snapshot.VERSION == 2
    assert document["source"]["user"] == test_dc.admin_user
    for text in (raw, result.stdout, result.stderr):
        assert test_dc.password not in text


def test_ntlm_on_389_signed_and_sealed_reads_the_same(test_dc, tmp_path, ldaps_snapshot):
    result, output = collect(test_dc, tmp_path, "--server", test_dc.host, "--auth", "ntlm", "--range-size", "500")
    assert result.returncode == 0, result.stderr
    sealed, over_tls = load(output), load(ldaps_snapshot[1])
    assert sorted(sealed.principals, key=lambda p: p.dn) == sorted(over_tls.principals, key=lambda p: p.dn)
    assert sorted(sealed.public_folders, key=lambda f: f.dn) == sorted(over_tls.public_folders, key=lambda f: f.dn)


def test_gzip_snapshot(test_dc, tmp_path):
    result, output = collect(test_dc, tmp_path, name="snap.json.gz")
    assert result.returncode == 0, result.stderr
    assert output.read_bytes()[:2] == b"\x1f\x8b"
    assert len(load(output).public_folders) == 300


def test_verbose_log_names_operations_but_not_the_password(test_dc, tmp_path):
    result, _ = collect(test_dc, tmp_path, "-v")
    assert result.returncode == 0
    assert "search base=" in result.stderr and "simple bind as CORP\\Administrator" in result.stderr
    assert test_dc.password not in result.stderr


def test_password_is_never_an_option(test_dc, tmp_path):
    result = run_sidtool("collect", "--server", test_dc.ldaps_uri, "--user", "x", "--password", "secret", "-o", "s")
    assert result.returncode == 2 and "--password is not an option" in result.stderr
    assert "secret" not in result.stderr + result.stdout


def test_password_file(test_dc, tmp_path):
    secret = tmp_path / "pw.txt"
    secret.write_text(test_dc.password + "\n")
    result, _ = collect(test_dc, tmp_path, "--password-file", str(secret), password="wrong-on-purpose")
    assert result.returncode == 0, result.stderr


def test_simple_bind_over_plain_ldap_is_refused_without_allow_plaintext(test_dc, tmp_path):
    result, output = collect(test_dc, tmp_path, "--server", test_dc.host)
    assert result.returncode == 2
    assert "sends the password in clear" in result.stderr and not output.exists()
    # Allowed by the user, the DC itself still refuses it (Samba's default: strong auth required).
    result, output = collect(test_dc, tmp_path, "--server", test_dc.host, "--allow-plaintext")
    assert result.returncode == 2 and "requires a protected connection" in result.stderr


def test_wrong_password_is_one_line_and_leaves_the_old_snapshot(test_dc, tmp_path):
    (tmp_path / "snap.json").write_text("previous")
    for extra in ((), ("--server", test_dc.host, "--auth", "ntlm")):
        result, output = collect(test_dc, tmp_path, *extra, password="not-the-password")
        assert result.returncode == 2
        assert result.stderr.strip().endswith(f"invalid credentials for {test_dc.admin_user}")
        assert result.stderr.count("\n") == 1
        assert output.read_text() == "previous"


def test_certificate_is_checked_by_default(test_dc, tmp_path):
    result, _ = collect(test_dc, tmp_path, "--server", test_dc.ldaps_uri)
    assert result.returncode == 2
    assert "TLS certificate is not trusted" in result.stderr and "--ca-file" in result.stderr
    result, _ = collect(test_dc, tmp_path, "--server", test_dc.ldaps_uri, "--insecure")
    assert result.returncode == 0 and "warning: --insecure" in result.stderr


def test_unreachable_host_exits_2_naming_it(tmp_path):
    result = run_sidtool("collect", "--server", "ldaps://127.0.0.254", "--user", "CORP\\x", "-o", str(tmp_path / "s"),
                         env={"SIDTOOL_PASSWORD": "x"})  # fmt: skip
    assert result.returncode == 2
    assert "127.0.0.254:636" in result.stderr and "Traceback" not in result.stderr


def test_silent_server_hits_the_timeout(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    port = listener.getsockname()[1]
    try:
        result = run_sidtool("collect", "--server", f"ldaps://127.0.0.1:{port}", "--user", "CORP\\x", "--timeout", "2",
                             "-o", str(tmp_path / "s"), env={"SIDTOOL_PASSWORD": "x"})  # fmt: skip
    finally:
        listener.close()
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "s").exists()


def test_report_reads_the_dc_directly(test_dc, tmp_path):
    result = run_sidtool("report", test_dc.ldaps_uri, "--ca-file", str(test_dc.ca_file), "--user", test_dc.admin_user,
                         "--all", "--format", "json", env={"SIDTOOL_PASSWORD": test_dc.password})  # fmt: skip
    assert result.returncode == 0, result.stderr  # one domain: every finding is low, below --fail-on
    document = json.loads(result.stdout)
    conditions = {c["name"]: c["holds"] for c in document["conditions"]}
    assert conditions["multi-domain"] is False
    trustees = {f["trustee"] for f in document["findings"]}
    assert {"BUILTIN\\Remote Desktop Users", "BUILTIN\\Performance Monitor Users"} <= trustees
    assert not trustees & {"BUILTIN\\Administrators", "BUILTIN\\Pre-Windows 2000 Compatible Access"}
    names = {sender["sid"]: sender["name"] for sender in document["senders"]}
    senders = {names[sid] for trustee in document["trustees"] for sid in trustee["affected_sids"]}
    assert "kiosk01" not in senders and "aostergaard" not in senders
    assert {"adirect", "bnested", "jmueller"} <= senders


def test_an_ldapsearch_export_reads_into_the_same_model(test_dc, tmp_path, ldaps_snapshot):
    query = "(|(objectClass=user)(objectClass=group)(objectClass=foreignSecurityPrincipal)(objectClass=publicFolder))"
    attributes = ["objectClass", "objectSid", "sAMAccountName", "displayName", "groupType", "primaryGroupID",
                  "member", "legacyExchangeDN", "userAccountControl", "homeMDB", "nTSecurityDescriptor"]  # fmt: skip
    export = tmp_path / "export.ldif"
    export.write_text(test_dc.ldapsearch("-E", "!1.2.840.113556.1.4.801=::MAMCAQc=", "-E", "pr=500/noprompt",
                                         query, *attributes))  # fmt: skip
    problems = []
    from_export = read_inputs([str(export)], on_problem=problems.append)
    from_collect = load(ldaps_snapshot[1])
    assert problems == []

    def principals(directory):
        return {(p.dn.lower(), p.sid, p.kind, p.primary_group_id, frozenset(m.lower() for m in p.members))
                for p in directory.principals}  # fmt: skip

    assert principals(from_export) == principals(from_collect)
    assert {(f.dn.lower(), f.descriptor) for f in from_export.public_folders} == {
        (f.dn.lower(), f.descriptor) for f in from_collect.public_folders
    }


def highest_usn(test_dc) -> int:
    text = test_dc.ldapsearch("-b", "", "-s", "base", "(objectClass=*)", "highestCommittedUSN")
    return int(re.search(r"^highestCommittedUSN: (\d+)$", text, re.M).group(1))


def test_collect_and_report_write_nothing(test_dc, tmp_path):
    """Read-only: the DC's highest committed USN, which every write raises, does not move."""
    before = highest_usn(test_dc)
    assert collect(test_dc, tmp_path, "--range-size", "700")[0].returncode == 0
    assert collect(test_dc, tmp_path, "--server", test_dc.host, "--auth", "ntlm")[0].returncode == 0
    report = run_sidtool("report", test_dc.ldaps_uri, "--ca-file", str(test_dc.ca_file), "--user", test_dc.admin_user,
                         env={"SIDTOOL_PASSWORD": test_dc.password})  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert highest_usn(test_dc) == before


def test_the_ldap_layer_has_no_write_method():
    from sidtool.sources.ldap.kerberos_transport import KerberosConnection
    from sidtool.sources.ldap.ldap3_transport import Ldap3Connection
    from sidtool.sources.ldap.ntlm_transport import NtlmConnection

    for kind in (Ldap3Connection, NtlmConnection, KerberosConnection):
        public = {name for name in dir(kind) if not name.startswith("_")}
        assert public == {"search", "close"}, kind


def test_ntlm_with_the_nt_hash_instead_of_the_password(test_dc, tmp_path):
    from impacket.ntlm import compute_nthash

    output = tmp_path / "snap.json"
    nt_hash = compute_nthash(test_dc.password).hex()
    result = run_sidtool("collect", "--server", test_dc.host, "--auth", "ntlm", "--nt-hash", "--user",
                         test_dc.admin_user, "-o", str(output), env={"SIDTOOL_NT_HASH": nt_hash})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(load(output).public_folders) == 300
    assert nt_hash not in output.read_text() and nt_hash not in result.stderr


def test_raw_only_entry_decoding_gives_what_ldap3_itself_decodes(test_dc):
    """sidtool's own decoder of search entries (values only, from the bytes) against ldap3's, on the real DC."""
    from sidtool.sources.ldap import ConnectionOptions
    from sidtool.sources.ldap.ldap3_transport import _OWN_DECODER, Ldap3Connection

    options = ConnectionOptions(test_dc.host, test_dc.ldaps_port, "ldaps", "simple", test_dc.admin_user,
                                password=test_dc.password, ca_file=str(test_dc.ca_file), page_size=50)  # fmt: skip
    attributes = ("objectClass", "objectSid", "sAMAccountName", "member", "displayName", "nTSecurityDescriptor")

    def entries(connection) -> dict[str, dict[str, list[bytes]]]:
        found: dict[str, dict[str, list[bytes]]] = {}
        connection.search(test_dc.base_dn, "subtree", "(|(objectClass=group)(objectClass=user))", attributes,
                          lambda entry: found.setdefault(entry.dn, entry.attributes), sd_flags=7)  # fmt: skip
        connection.close()
        return found

    lean = Ldap3Connection(options)
    lean_reply, kinds = lean._connection.strategy._get_response, []

    def counted(message_id, timeout):
        responses = lean_reply(message_id, timeout)
        kinds.extend((item["type"], bool(item.get(_OWN_DECODER))) for item in responses if isinstance(item, dict))
        return responses

    lean._connection.strategy._get_response = counted
    plain = Ldap3Connection(options)
    strategy = plain._connection.strategy
    strategy._get_response = type(strategy)._get_response.__get__(strategy)  # ldap3's own reading and decoding
    from_lean, from_ldap3 = entries(lean), entries(plain)
    assert len(from_lean) > 100 and any("ntsecuritydescriptor" in values for values in from_lean.values())
    assert from_lean == from_ldap3
    assert kinds.count(("searchResEntry", True)) == len(from_lean)  # every entry took sidtool's own decoder


def test_ntlm_entries_decoded_by_sidtool_are_what_pyasn1_decodes(test_dc, monkeypatch):
    """NTLM (and Kerberos) replies: sidtool's own decoder of search entries against pyasn1's, on the real DC."""
    from sidtool.sources.ldap import ConnectionOptions, ntlm_transport

    options = ConnectionOptions(test_dc.host, 389, "none", "ntlm", test_dc.admin_user, password=test_dc.password,
                                page_size=50)  # fmt: skip
    attributes = ("objectClass", "objectSid", "sAMAccountName", "member", "displayName", "nTSecurityDescriptor")
    decoded = ntlm_transport.decode_search_entry
    own = []

    def entries() -> dict[str, dict[str, list[bytes]]]:
        found: dict[str, dict[str, list[bytes]]] = {}
        connection = ntlm_transport.NtlmConnection(options)
        connection.search(test_dc.base_dn, "subtree", "(|(objectClass=group)(objectClass=user))", attributes,
                          lambda entry: found.setdefault(entry.dn, entry.attributes), sd_flags=7)  # fmt: skip
        connection.close()
        return found

    monkeypatch.setattr(ntlm_transport, "decode_search_entry", lambda data: own.append(1) or decoded(data))
    from_sidtool = entries()
    monkeypatch.setattr(ntlm_transport, "decode_search_entry", lambda data: None)  # every entry to pyasn1
    from_pyasn1 = entries()
    assert len(from_sidtool) > 100 and any("ntsecuritydescriptor" in values for values in from_sidtool.values())
    assert from_sidtool == from_pyasn1
    assert len(own) == len(from_sidtool)  # every entry went through sidtool's decoder
