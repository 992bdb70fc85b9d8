"""Server replies that must not be swallowed: size, admin and time limits, references and referrals.

A Samba DC does not return these on demand (its limits are on time, or on requests sidtool does
not send; its only reference is to the forest's own configuration, checked in
tests/test_dc_faults.py), so they come from the scripted LDAP server of tests/ldap_wire.py: a
real socket speaking BER, which sidtool's ldap3 stack talks to unchanged through ``sidtool collect``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_sidtool
from ldap_wire import Reply, ScriptedLdapServer, Search

from sidtool.security.sid import Sid

ROOT = "DC=corp,DC=example,DC=com"
CONFIG = f"CN=Configuration,{ROOT}"
OTHER = "DC=ext,DC=example,DC=net"
UNREACHABLE = "127.0.0.254"  # a loopback address where nothing listens: the connection is refused at once
READ_OTHER = ("--server", "ext.example.net=127.0.0.1")  # OTHER's DC: the scripted server (it holds OTHER too)
SIZE_LIMIT, TIME_LIMIT, ADMIN_LIMIT, REFERRAL, NO_SUCH_OBJECT = 4, 3, 11, 10, 32


def values(**attributes) -> dict[str, list[bytes]]:
    return {
        name: [v if isinstance(v, bytes) else str(v).encode() for v in (value if isinstance(value, list) else [value])]
        for name, value in attributes.items()
    }


def domain(naming_context: str, sid: str, users: int) -> dict[str, list[Reply]]:
    """The replies of one domain's searches (its base entry, users, groups) by what they ask for."""
    accounts = [
        (f"CN=user{n},CN=Users,{naming_context}",
         values(objectClass="user", objectSid=bytes(Sid.parse(f"{sid}-{1100 + n}")), sAMAccountName=f"user{n}"))
        for n in range(users)
    ]  # fmt: skip
    group = (f"CN=Remote Desktop Users,CN=Builtin,{naming_context}",
             values(objectClass="group", objectSid=bytes(Sid.parse("S-1-5-32-555")),
                    sAMAccountName="Remote Desktop Users", member=[dn.encode() for dn, _ in accounts]))  # fmt: skip
    return {
        "domain": Reply(entries=((naming_context, values(objectClass="domain", objectSid=bytes(Sid.parse(sid)))),)),
        "user": Reply(entries=tuple(accounts)),
        "group": Reply(entries=(group,)),
    }


def forest(changes: dict[tuple[str, str], Reply] | None = None):
    """An answer function: a one-domain forest (and an outside domain, OTHER), with some replies changed.

    ``changes`` maps (naming context, "user" | "group" | "domain") to the reply that replaces the usual one.
    """
    domains = {ROOT: domain(ROOT, "S-1-5-21-1-2-3", 3), OTHER: domain(OTHER, "S-1-5-21-7-8-9", 2)}
    for (naming_context, kind), reply in (changes or {}).items():
        domains[naming_context][kind] = reply

    def answer(search: Search) -> Reply:
        if search.base == "":
            contexts = {"defaultNamingContext": ROOT, "configurationNamingContext": CONFIG,
                        "rootDomainNamingContext": ROOT}  # fmt: skip
            return Reply(entries=(("", values(**contexts)),))
        if search.asks_for("crossRef"):
            return Reply(entries=((f"CN=CORP,CN=Partitions,{CONFIG}", values(
                objectClass="crossRef", nCName=ROOT, dnsRoot="corp.example.com", nETBIOSName="CORP", systemFlags=3)),
                (f"CN=Enterprise Configuration,CN=Partitions,{CONFIG}", values(
                    objectClass="crossRef", nCName=CONFIG, systemFlags=1))))  # fmt: skip
        if search.base.endswith(CONFIG):  # the Exchange organisation: none here
            return Reply(code=NO_SUCH_OBJECT, message="no Exchange")
        replies = domains.get(search.base)
        if replies is None:
            return Reply(code=NO_SUCH_OBJECT, message=f"{search.base} is not held here")
        if search.scope == 0:
            return replies["domain"]
        if search.asks_for("publicFolder"):
            return Reply()
        return replies["group"] if search.asks_for("group") else replies["user"]

    return answer


def collect(server: ScriptedLdapServer, tmp_path: Path, *extra: str):
    output = tmp_path / "snap.json"
    result = run_sidtool("collect", "--server", f"ldap://127.0.0.1:{server.port}", "--allow-plaintext",
                         "--user", "CORP\\auditor", "-o", str(output), *extra,
                         env={"SIDTOOL_PASSWORD": "pw"})  # fmt: skip
    return result, output


@pytest.mark.parametrize(
    ("code", "name"),
    [(SIZE_LIMIT, "sizeLimitExceeded"), (ADMIN_LIMIT, "adminLimitExceeded"), (TIME_LIMIT, "timeLimitExceeded")],
)
def test_a_limit_reply_is_named_with_its_search_base_and_exits_2(tmp_path, code, name):
    partial = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries[:2]
    answer = forest({(ROOT, "user"): Reply(entries=partial, code=code, message="too many objects for this query")})
    (tmp_path / "snap.json").write_text("previous")
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q")
    assert result.returncode == 2
    assert result.stderr == (
        f"sidtool: search under {ROOT} stopped by the server: {name} (too many objects for this query)\n"
    )
    assert output.read_text() == "previous"  # two of three users must not pass for a complete snapshot


def test_a_limit_reply_in_another_domain_is_a_gap_and_the_rest_is_collected(tmp_path):
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries
    answer = forest({
        (ROOT, "user"): Reply(entries=accounts, references=(f"ldap://127.0.0.1/{OTHER}",)),
        (OTHER, "group"): Reply(code=ADMIN_LIMIT, message="MaxResultSetSize"),
    })  # fmt: skip
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q", *READ_OTHER)
    assert result.returncode == 3, result.stderr
    gap = (f"referral to ldap://127.0.0.1/{OTHER} (from the search under {ROOT}): "
           f"search under {OTHER} stopped by the server: adminLimitExceeded (MaxResultSetSize)")  # fmt: skip
    assert result.stderr == f"sidtool: not collected: {gap}\n"
    snapshot = json.loads(output.read_text())
    assert snapshot["gaps"] == [gap]
    assert {p["name"] for p in snapshot["principals"]} >= {"user0", "user1", "user2", "Remote Desktop Users"}


def test_a_reference_to_an_unreachable_domain_is_a_gap_and_the_rest_is_collected(tmp_path):
    url = f"ldap://{UNREACHABLE}/{OTHER}"
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries
    answer = forest({(ROOT, "user"): Reply(entries=accounts, references=(url,))})
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q", "--server", f"ext.example.net={UNREACHABLE}")
        port = server.port
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"sidtool: not collected: referral to {url} (from the search under {ROOT}): ")
    assert f"cannot connect to {UNREACHABLE}:{port}" in lines[0]
    snapshot = json.loads(output.read_text())
    assert snapshot["gaps"] == [lines[0].removeprefix("sidtool: not collected: ")]
    assert sorted(p["name"] for p in snapshot["principals"]) == ["Remote Desktop Users", "user0", "user1", "user2"]


def test_a_referral_result_to_an_unreachable_domain_is_a_gap(tmp_path):
    url = f"ldap://{UNREACHABLE}/{OTHER}"
    answer = forest({(ROOT, "group"): Reply(code=REFERRAL, message="held elsewhere", referrals=(url,))})
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q", "--server", f"ext.example.net={UNREACHABLE}")
    assert result.returncode == 3
    assert result.stderr.startswith(f"sidtool: not collected: referral to {url} (from the search under {ROOT}): ")
    snapshot = json.loads(output.read_text())
    assert len(snapshot["gaps"]) == 1
    assert sorted(p["name"] for p in snapshot["principals"]) == ["user0", "user1", "user2"]


def test_a_reference_to_a_domain_given_with_server_is_read(tmp_path):
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries
    answer = forest({(ROOT, "user"): Reply(entries=accounts, references=(f"ldap://127.0.0.1/{OTHER}",))})
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q", *READ_OTHER)
        bases = {search.base for search in server.searches}
    assert result.returncode == 0, result.stderr
    assert OTHER in bases
    snapshot = json.loads(output.read_text())
    assert snapshot["gaps"] == []
    domains = {d["dn"] for d in snapshot["domains"]}
    assert domains == {ROOT, OTHER}
    assert sum(p["name"].startswith("user") for p in snapshot["principals"]) == 5


def test_the_ldap_library_never_chases_a_referral_itself(tmp_path):
    """A referral names a host: sidtool decides whether to go there; ldap3 must not bind there on its own."""
    with ScriptedLdapServer(forest()) as decoy:
        url = f"ldap://127.0.0.1:{decoy.port}/{OTHER}"
        answer = forest({(ROOT, "group"): Reply(code=REFERRAL, referrals=(url,))})
        with ScriptedLdapServer(answer) as server:
            result, output = collect(server, tmp_path, "-q", *READ_OTHER)
        # sidtool reads OTHER through --server ext.example.net=127.0.0.1 on the port and TLS of --server
        # (the scripted server, which holds it too); the decoy on the URL's own port is never contacted
        assert decoy.searches == []
        assert any(search.base == OTHER for search in server.searches)
    assert result.returncode == 0, result.stderr
    assert {d["dn"] for d in json.loads(output.read_text())["domains"]} == {ROOT, OTHER}


def test_a_reference_whose_dn_cannot_be_read_is_a_gap_not_a_failure(tmp_path):
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries
    answer = forest({(ROOT, "user"): Reply(entries=accounts, references=("ldap://127.0.0.1/not%20a%20dn",))})
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q")
    assert result.returncode == 3
    gap = (f"referral to ldap://127.0.0.1/not%20a%20dn (from the search under {ROOT}): its DN cannot be read "
           "(DN 'not a dn': RDN at character 0 has no '=')")  # fmt: skip
    assert json.loads(output.read_text())["gaps"] == [gap]
    assert result.stderr == f"sidtool: not collected: {gap}\n"


def test_a_reference_met_in_a_referred_domain_is_followed_too(tmp_path):
    third = "DC=third,DC=example,DC=org"
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries
    outside = domain(OTHER, "S-1-5-21-7-8-9", 2)["user"].entries
    answer = forest({
        (ROOT, "user"): Reply(entries=accounts, references=(f"ldap://127.0.0.1/{OTHER}",)),
        (OTHER, "user"): Reply(entries=outside, references=(f"ldap://{UNREACHABLE}/{third}",)),
    })  # fmt: skip
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q", *READ_OTHER)
    assert result.returncode == 3
    snapshot = json.loads(output.read_text())
    assert {d["dn"] for d in snapshot["domains"]} == {ROOT, OTHER}
    assert len(snapshot["gaps"]) == 1
    assert snapshot["gaps"][0].startswith(f"referral to ldap://{UNREACHABLE}/{third} (from the search under {OTHER}): ")
