"""The ldap3 transport's paging (sidtool/sources/ldap/ldap3_transport.py): a page is read while one is handed out."""

from __future__ import annotations

import threading
import time

import pytest

from sidtool.sources.ldap import CollectError, ConnectionOptions
from sidtool.sources.ldap.ldap3_transport import Ldap3Connection
from sidtool.sources.ldap.session import CollectionRecord, SearchSession
from tests.support.ldap_wire import Reply, ScriptedLdapServer
from tests.support.scripted_forest import ROOT, domain

ACCOUNTS = domain(ROOT, "S-1-5-21-1-2-3", 6)["user"].entries


def paged(*pages: Reply):
    """Answers the searches with ``pages`` one after the other."""
    replies = iter(pages)
    return lambda search: next(replies)


def connection(server: ScriptedLdapServer) -> Ldap3Connection:
    return Ldap3Connection(ConnectionOptions("127.0.0.1", server.port, "none", "simple", "CORP\\a", "pw", timeout=10))


def searches_reach(server: ScriptedLdapServer, count: int, within: float = 5.0) -> bool:
    """Whether the server has read ``count`` searches, waiting at most ``within`` seconds for them."""
    ends = time.monotonic() + within
    while len(server.searches) < count and time.monotonic() < ends:
        time.sleep(0.01)
    return len(server.searches) >= count


def test_the_next_page_is_asked_for_before_the_page_before_is_handed_out():
    pages = paged(Reply(entries=ACCOUNTS[:3], cookie=b"1"), Reply(entries=ACCOUNTS[3:5], cookie=b"2"),
                  Reply(entries=ACCOUNTS[5:]))  # fmt: skip
    seen: list[tuple[str, bool]] = []

    def take(
        entry,
    ) -> None:  # pages of 3, 2 and 1 entries: the 2nd search is due from the 1st entry, the 3rd from the 4th
        seen.append((entry.dn, searches_reach(server, min(3, 2 + len(seen) // 3))))

    with ScriptedLdapServer(pages) as server:
        ldap = connection(server)
        try:
            ldap.search(ROOT, "subtree", "(objectClass=user)", ["cn"], take)
        finally:
            ldap.close()
    assert [dn for dn, _ in seen] == [dn for dn, _ in ACCOUNTS]  # every entry once, in the order sent
    assert all(ahead for _, ahead in seen[:5])  # while a page's entries were handed out, the next was asked for
    assert len(server.searches) == 3


def test_an_error_on_the_page_read_ahead_comes_after_the_entries_before_it():
    pages = paged(Reply(entries=ACCOUNTS[:3], cookie=b"1"), Reply(code=11, message="admin limit"))
    seen: list[str] = []
    with ScriptedLdapServer(pages) as server:
        ldap = connection(server)
        try:
            with pytest.raises(CollectError, match="adminLimitExceeded") as error:
                ldap.search(ROOT, "subtree", "(objectClass=user)", ["cn"], lambda entry: seen.append(entry.dn))
        finally:
            ldap.close()
    assert seen == [dn for dn, _ in ACCOUNTS[:3]] and error.value.result_code == 11


def test_a_callback_that_fails_leaves_no_page_being_read():
    pages = paged(Reply(entries=ACCOUNTS[:3], cookie=b"1"), Reply(entries=ACCOUNTS[3:]))

    def refuse(entry) -> None:
        raise ValueError(f"refused {entry.dn}")

    with ScriptedLdapServer(pages) as server:
        ldap = connection(server)
        try:
            with pytest.raises(ValueError, match="refused"):
                ldap.search(ROOT, "subtree", "(objectClass=user)", ["cn"], refuse)
            assert not [thread for thread in threading.enumerate() if thread.name.endswith("-next-page")]
        finally:
            ldap.close()


def test_a_ranged_fetch_made_while_the_next_page_is_read_waits_for_it():
    """The collector completes a group's members (a search of its own) from within the paged search's callback."""
    group = f"CN=Big,CN=Users,{ROOT}"
    members = [f"CN=user{n},CN=Users,{ROOT}".encode() for n in range(4)]
    pages = iter(
        [
            Reply(entries=((group, {"cn": [b"Big"], "member;range=0-1": members[:2]}), *ACCOUNTS[:2]), cookie=b"1"),
            Reply(entries=ACCOUNTS[2:3], drip=0.002),
        ]
    )  # fmt: skip  (slow: the fetch comes while it is read)

    def answer(search):
        if search.base == group:  # the rest of the members, asked for while the second page is read
            return Reply(entries=((group, {"member;range=2-*": members[2:]}),))
        return next(pages)

    with ScriptedLdapServer(answer) as server:
        options = ConnectionOptions("127.0.0.1", server.port, "none", "simple", "CORP\\a", "pw", timeout=10, retries=0)
        session = SearchSession(options, CollectionRecord())
        found: dict[str, dict[str, list[bytes]]] = {}

        def take(entry) -> None:
            session.complete_ranges(entry)
            found[entry.dn] = entry.attributes

        try:
            session.search(ROOT, "(objectClass=user)", ["cn", "member;range=0-1"], take)
        finally:
            session.close()
    assert list(found) == [group, *(dn for dn, _ in ACCOUNTS[:3])]
    assert found[group]["member"] == members and session.record.gaps == []
