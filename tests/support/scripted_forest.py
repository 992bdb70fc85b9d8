"""A scripted one-domain forest for the scripted LDAP server of tests/ldap_wire.py, and ``collect`` against it."""

from __future__ import annotations

from pathlib import Path

from sidtool.security.sid import Sid
from tests.support.cli_runner import run_sidtool
from tests.support.ldap_wire import Reply, ScriptedLdapServer, Search

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
