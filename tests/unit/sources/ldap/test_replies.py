"""Server replies that must not be swallowed: size, admin and time limits, references and referrals.

A Samba DC does not return these on demand (its limits are on time, or on requests sidtool does
not send; its only reference is to the forest's own configuration, checked in
tests/test_dc_faults.py), so they come from the scripted LDAP server of tests/ldap_wire.py: a
real socket speaking BER, which sidtool's ldap3 stack talks to unchanged through ``sidtool collect``.
"""

from __future__ import annotations

import json

import pytest

from tests.support.ldap_wire import Reply, ScriptedLdapServer
from tests.support.scripted_forest import (
    ADMIN_LIMIT,
    OTHER,
    READ_OTHER,
    REFERRAL,
    ROOT,
    SIZE_LIMIT,
    TIME_LIMIT,
    UNREACHABLE,
    collect,
    domain,
    forest,
)


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
