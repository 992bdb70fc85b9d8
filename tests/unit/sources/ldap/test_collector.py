"""The collector's logic on a scripted DC: other domains, gaps, retries and ranged retrieval.

The real DC (tests/test_cli_collect.py) has one domain and does not break on demand; these
cases need a forest of two domains and a connection that fails at a chosen moment.
"""

from __future__ import annotations

import re

import pytest

from sidtool.security.sid import Sid
from sidtool.sources.ldap import CollectError, Collector, ConnectionOptions
from sidtool.sources.ldap import session as ldap_session
from sidtool.sources.ldap.connection import ConnectionLost, RawEntry

ROOT, CHILD = "DC=corp,DC=example,DC=com", "DC=emea,DC=corp,DC=example,DC=com"
CONFIG = f"CN=Configuration,{ROOT}"


def entry(dn: str, classes: list[str], **values) -> RawEntry:
    attributes = {"objectclass": [c.encode() for c in classes]}
    for name, value in values.items():
        items = value if isinstance(value, list) else [value]
        attributes[name.lower()] = [v if isinstance(v, bytes) else str(v).encode() for v in items]
    return RawEntry(dn, attributes)


def forest() -> dict[str, list[RawEntry]]:
    root_sid, child_sid = "S-1-5-21-1-2-3", "S-1-5-21-4-5-6"
    members = [f"CN=u{n},CN=Users,{ROOT}".encode() for n in range(5)]
    root = [
        entry(f"CN=CORP,CN=Partitions,{CONFIG}", ["crossRef"], nCName=ROOT, dnsRoot="corp.example.com",
              nETBIOSName="CORP", systemFlags=3),
        entry(f"CN=EMEA,CN=Partitions,{CONFIG}", ["crossRef"], nCName=CHILD, dnsRoot="emea.corp.example.com",
              nETBIOSName="EMEA", systemFlags=3, trustParent=f"CN=CORP,CN=Partitions,{CONFIG}"),
        entry(f"CN=Enterprise Configuration,CN=Partitions,{CONFIG}", ["crossRef"], nCName=CONFIG, systemFlags=1),
        entry(ROOT, ["domain", "domainDNS"], objectSid=bytes(Sid.parse(root_sid))),
        entry(f"CN=Big,CN=Users,{ROOT}", ["group"], objectSid=bytes(Sid.parse(f"{root_sid}-1200")),
              sAMAccountName="Big", **{"member;range=0-1": members[:2]}),
        *(entry(m.decode(), ["user"], objectSid=bytes(Sid.parse(f"{root_sid}-{1100 + n}")), sAMAccountName=f"u{n}")
          for n, m in enumerate(members)),
    ]  # fmt: skip
    child = [
        entry(CHILD, ["domain", "domainDNS"], objectSid=bytes(Sid.parse(child_sid))),
        entry(f"CN=Remote Desktop Users,CN=Builtin,{CHILD}", ["group"], objectSid=bytes(Sid.parse("S-1-5-32-555")),
              sAMAccountName="Remote Desktop Users"),
    ]  # fmt: skip
    return {"dc1": root, "dc.emea": child, "_members": members}


class ScriptedDc:
    """A DirectoryConnection over a list of entries, which can lose the connection on chosen calls."""

    def __init__(self, entries: list[RawEntry], members: list[bytes], log: list, failures: dict[str, int]) -> None:
        self.entries, self.members, self.log, self.failures = entries, members, log, failures

    def search(self, base, scope, query, attributes, on_entry, *, sd_flags=None, on_reference=None) -> None:
        self.log.append((base, query))
        breaking = next((part for part, left in self.failures.items() if part in query and left > 0), None)
        if breaking is not None:
            self.failures[breaking] -= 1
            for item in self._matches(base, scope, query)[:1]:  # part of the answer arrives, then the line drops
                on_entry(RawEntry(item.dn, {k: list(v) for k, v in item.attributes.items()}))
            raise ConnectionLost("connection reset by peer")
        wanted = [a for a in attributes if ";range=" in a]
        if scope == "base" and wanted:  # a ranged follow-up: member;range=2-*
            low = int(re.search(r"range=(\d+)", wanted[0]).group(1))
            on_entry(RawEntry(base, {f"member;range={low}-*": self.members[low:]}))
            return
        if base == "":
            contexts = {"defaultnamingcontext": ROOT, "configurationnamingcontext": CONFIG,
                        "rootdomainnamingcontext": ROOT}  # fmt: skip
            on_entry(RawEntry("", {name: [value.encode()] for name, value in contexts.items()}))
            return
        for item in self._matches(base, scope, query):
            on_entry(RawEntry(item.dn, {k: list(v) for k, v in item.attributes.items()}))

    def _matches(self, base, scope, query):
        classes = {c.lower() for c in re.findall(r"objectClass=(\w+)", query)}
        found = []
        for item in self.entries:
            inside = item.dn.lower() == base.lower() if scope == "base" else item.dn.lower().endswith(base.lower())
            if inside and classes & {c.decode().lower() for c in item.attributes["objectclass"]}:
                found.append(item)
        return found

    def close(self) -> None:
        pass


def collector(reachable=("dc1", "dc.emea"), failures=None, servers=None):
    """A collector on the scripted forest; ``failures`` maps a part of a search filter to how often it breaks."""
    data = forest()
    log: list = []
    shared_failures = dict(failures or {})

    def connector(options: ConnectionOptions):
        if options.host not in reachable:
            raise CollectError(f"cannot connect to {options.address}: connection refused")
        return ScriptedDc(data[options.host], data["_members"], log, shared_failures)

    options = ConnectionOptions("dc1", 636, "ldaps", "simple", "CORP\\auditor", "pw", retries=2)
    return Collector(options, connector=connector, domain_servers=servers or {"emea.corp.example.com": "dc.emea"}), log


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(ldap_session.time, "sleep", lambda seconds: None)


def test_other_domains_are_read_from_their_own_dc():
    run, _ = collector()
    directory = run.run()
    assert {d.dns_name for d in directory.domains} == {"corp.example.com", "emea.corp.example.com"}
    child_rdp = [p for p in directory.principals if p.sid == Sid.parse("S-1-5-32-555")]
    assert [p.domain_dn for p in child_rdp] == [CHILD]
    assert directory.gaps == ()


def test_an_unreachable_domain_is_a_gap_and_the_rest_is_collected():
    run, _ = collector(reachable=("dc1",))
    directory = run.run()
    assert len(directory.gaps) == 1
    assert directory.gaps[0].startswith("domain emea.corp.example.com through dc.emea: cannot connect")
    assert any(p.name == "Big" for p in directory.principals)


def test_ranged_member_values_are_fetched_to_the_end():
    run, log = collector()
    big = next(p for p in run.run().principals if p.name == "Big")
    assert len(big.members) == 5
    assert any(base == f"CN=Big,CN=Users,{ROOT}" for base, _ in log)


def test_a_lost_connection_is_retried_and_the_result_is_the_same():
    undisturbed = collector()[0].run()
    # The principals search of the root domain breaks mid-way, once.
    disturbed_run, log = collector(failures={"foreignSecurityPrincipal": 1})
    disturbed = disturbed_run.run()
    assert sorted(disturbed.principals, key=lambda p: p.dn) == sorted(undisturbed.principals, key=lambda p: p.dn)
    principal_searches = [query for base, query in log if base == ROOT and "foreignSecurityPrincipal" in query]
    assert len(principal_searches) == 2  # the broken search ran again


def test_a_connection_that_keeps_failing_ends_with_a_clear_error():
    run, _ = collector(failures={"": 1000})
    with pytest.raises(CollectError, match="connection lost and not regained after 2 retries"):
        run.run()
