"""A hostile or broken LDAP server on loopback: ``sidtool collect`` sends no credentials elsewhere, ends, says why.

Each case is one behaviour of the red-team server of issue 13, played by the scripted server of
tests/ldap_wire.py (a real socket speaking BER to sidtool's unchanged ldap3 stack). The server stops
itself (``lifetime``, ``max_requests``), so that even a client that would loop for ever ends the test.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable

import pytest

from sidtool.security.sid import Sid
from sidtool.sources.ldap import Collector, ConnectionOptions
from sidtool.sources.ldap.connection import MAX_EMPTY_PAGES
from sidtool.sources.ldap.session import MAX_REPEATED_ENTRIES
from sidtool.sources.ldap.stream import MAX_MESSAGE_BYTES
from tests.support.cli_runner import run_sidtool
from tests.support.ldap_wire import Listener, Reply, ScriptedLdapServer, Search, entry, integer, octets, tlv
from tests.support.scripted_forest import ROOT, collect, domain, forest, values

GROUP = f"CN=Big,CN=Users,{ROOT}"
EVIL = "DC=evil,DC=example,DC=org"


def overriding(override: Callable[[Search], Reply | None], changes=None) -> Callable[[Search], Reply]:
    """The scripted forest's answers, except where ``override`` returns a reply."""
    usual = forest(changes)
    return lambda search: override(search) or usual(search)


def users_search(search: Search) -> bool:
    return search.base == ROOT and search.scope == 2 and search.asks_for("user") and not search.asks_for("group")


def message(message_id: int, operation: bytes) -> bytes:
    return tlv(0x30, integer(message_id) + operation)


# -- 1. credentials go only where the user sent them ---------------------------------------------------------


def test_a_reference_to_another_host_is_a_gap_and_that_host_sees_no_connection(tmp_path):
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries
    with ScriptedLdapServer(forest()) as probe:  # only to learn a free port for the second listener
        other_port = probe.port
    with (
        ScriptedLdapServer(forest()) as placeholder,
        Listener("127.0.0.77", placeholder.port) as same_port,
        Listener("127.0.0.78", other_port) as own_port,
    ):
        urls = (f"ldap://127.0.0.77/{EVIL}", f"ldap://127.0.0.78:{other_port}/OU=x,{EVIL}")
        answer = forest({(ROOT, "user"): Reply(entries=accounts, references=urls)})
        placeholder.answer = answer  # the DC sidtool is sent to; the listeners stand where the references point
        result, output = collect(placeholder, tmp_path, "-q")
        assert same_port.connections == 0 and own_port.connections == 0  # no connection, so no bind
    assert result.returncode == 3, result.stderr
    gaps = json.loads(output.read_text())["gaps"]
    assert len(gaps) == 2
    for url, gap in zip(urls, gaps, strict=True):
        assert gap.startswith(f"referral to {url} (from the search under {ROOT}): not followed: ")
        assert "--server evil.example.org=HOST" in gap
    assert placeholder.binds == 3  # the three connections of the one DC named by --server


def test_a_referral_result_to_another_host_is_a_gap_and_that_host_sees_no_connection(tmp_path):
    with ScriptedLdapServer(forest()) as server, Listener("127.0.0.79", server.port) as elsewhere:
        server.answer = forest({(ROOT, "group"): Reply(code=10, referrals=(f"ldap://127.0.0.79/{EVIL}",))})
        result, output = collect(server, tmp_path, "-q")
        assert elsewhere.connections == 0
    assert result.returncode == 3
    assert "not followed" in json.loads(output.read_text())["gaps"][0]


def test_control_characters_in_a_reference_are_shown_escaped(tmp_path):
    url = f"ldap://evil\x1b]0;owned\x07.example/{EVIL}\u202e"
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries
    with ScriptedLdapServer(forest({(ROOT, "user"): Reply(entries=accounts, references=(url,))})) as server:
        result, output = collect(server, tmp_path, "-q")
    assert result.returncode == 3
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr and "\u202e" not in result.stderr
    assert "ldap://evil\\x1b]0;owned\\x07.example/" in result.stderr
    assert "\x1b" not in json.loads(output.read_text())["gaps"][0]


def test_control_characters_in_a_server_message_are_shown_escaped(tmp_path):
    answer = forest({(ROOT, "user"): Reply(code=11, message="limit\x1b[2J\u202eexceeded")})
    with ScriptedLdapServer(answer) as server:
        result, _ = collect(server, tmp_path, "-q")
    assert result.returncode == 2
    assert result.stderr.endswith("adminLimitExceeded (limit\\x1b[2J\\u202eexceeded)\n")


# -- 2. every loop and every operation is bounded ------------------------------------------------------------


def test_a_paging_cookie_that_repeats_with_no_entry_ends_that_search_with_a_gap(tmp_path):
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries
    pages = iter(range(10**6))
    answer = overriding(
        lambda s: Reply(entries=accounts if next(pages) == 0 else (), cookie=b"again") if users_search(s) else None
    )
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q")
        user_pages = sum(users_search(search) for search in server.searches)
    assert result.returncode == 3, result.stderr
    assert user_pages == 2  # the second page repeats the cookie and brings nothing: the search ends there
    gap = json.loads(output.read_text())["gaps"][0]
    assert gap.startswith(
        f"users and computers of {ROOT}: search under {ROOT}: the server sent a paging cookie again, with no entry"
    )
    assert {p["name"] for p in json.loads(output.read_text())["principals"]} >= {"user0", "user1", "user2"}


def test_the_same_entries_page_after_page_end_that_search_with_a_gap(tmp_path):
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries  # with Samba's habit: one cookie for every page
    answer = overriding(lambda s: Reply(entries=accounts, cookie=b"again") if users_search(s) else None)
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q")
        user_pages = sum(users_search(search) for search in server.searches)
    assert result.returncode == 3, result.stderr
    assert user_pages == 1 + math.ceil((MAX_REPEATED_ENTRIES + 1) / 3) + 1  # and the page read ahead (ldap3_transport)
    gap = json.loads(output.read_text())["gaps"][0]
    assert gap == (f"users and computers of {ROOT}: search under {ROOT}: the server sent {MAX_REPEATED_ENTRIES + 1} "
                   "entries again within one search; the search was stopped there")  # fmt: skip
    assert {p["name"] for p in json.loads(output.read_text())["principals"]} >= {"user0", "user1", "user2"}


def test_pages_with_a_new_cookie_and_no_entries_end_that_search_with_a_gap(tmp_path):
    pages = iter(range(10**6))
    answer = overriding(lambda s: Reply(cookie=str(next(pages)).encode()) if users_search(s) else None)
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q")
        user_pages = sum(users_search(search) for search in server.searches)
    assert result.returncode == 3, result.stderr
    assert user_pages == MAX_EMPTY_PAGES + 1  # one page more than MAX_EMPTY_PAGES without an entry
    assert f"{MAX_EMPTY_PAGES + 1} pages for 0 entries" in json.loads(output.read_text())["gaps"][0]


def ranged_group(follow_up: Callable[[int], Reply]) -> Callable[[Search], Reply]:
    """The forest with a group whose member list comes as member;range=0-1; ``follow_up(start)`` answers the rest."""
    members = [f"CN=user{n},CN=Users,{ROOT}".encode() for n in range(3)]
    big = (GROUP, values(objectClass="group", objectSid=bytes(Sid.parse("S-1-5-21-1-2-3-1200")),
                         sAMAccountName="Big", **{"member;range=0-1": members[:2]}))  # fmt: skip

    def override(search: Search) -> Reply | None:
        if search.base == GROUP:
            wanted = next(a for a in search.attributes if ";range=" in a)
            return follow_up(int(wanted.split("=")[1].split("-")[0]))
        if search.base == ROOT and search.scope == 2 and search.asks_for("group"):
            return Reply(entries=(big,))
        return None

    return overriding(override)


def member_values(start: int, count: int) -> list[bytes]:
    return [f"CN=member{n},CN=Users,{ROOT}".encode() for n in range(start, start + count)]


def test_a_range_that_starts_over_is_a_gap_naming_the_group(tmp_path):
    answer = ranged_group(lambda start: Reply(entries=((GROUP, {"member;range=0-1": member_values(0, 2)}),)))
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q")
        fetches = sum(search.base == GROUP for search in server.searches)
    assert result.returncode == 3, result.stderr
    assert fetches == 1
    assert json.loads(output.read_text())["gaps"] == [
        f"group {GROUP}: member read only in part (2 values): asked for values from 2, the server sent member;range=0-1"
    ]


def test_a_range_that_never_ends_stops_at_max_member_values(tmp_path):
    def one_more(start: int) -> Reply:
        return Reply(entries=((GROUP, {f"member;range={start}-{start}": member_values(start, 1)}),))

    with ScriptedLdapServer(ranged_group(one_more)) as server:
        result, output = collect(server, tmp_path, "-q", "--max-member-values", "50")
        fetches = sum(search.base == GROUP for search in server.searches)
    assert result.returncode == 3, result.stderr
    assert fetches == 49  # two values came with the group; one a fetch after that, until 51 > 50
    gap = json.loads(output.read_text())["gaps"][0]
    assert gap == f"group {GROUP}: member read only in part (50 values): more than 50 values (--max-member-values)"
    group = next(p for p in json.loads(output.read_text())["principals"] if p["name"] == "Big")
    assert len(group["members"]) == 50


def test_a_group_cut_short_is_built_with_members_complete_false():
    def stalled(start: int) -> Reply:
        return Reply(entries=((GROUP, {f"member;range={start}-{start - 1}": []}),))  # a range that goes backwards

    with ScriptedLdapServer(ranged_group(stalled)) as server:
        options = ConnectionOptions("127.0.0.1", server.port, "none", "simple", "CORP\\auditor", "pw", timeout=10)
        directory = Collector(options).run()
    group = next(p for p in directory.principals if p.name == "Big")
    assert group.members_complete is False and len(group.members) == 2
    assert all(p.members_complete for p in directory.principals if p.name != "Big")
    assert directory.gaps == (
        f"group {GROUP}: member read only in part (2 values): the range member;range=2-1 does not advance",
    )


def test_a_reply_dripped_a_byte_at_a_time_hits_the_timeout(tmp_path):
    accounts = domain(ROOT, "S-1-5-21-1-2-3", 3)["user"].entries
    answer = overriding(lambda s: Reply(entries=accounts, drip=0.05) if users_search(s) else None)
    with ScriptedLdapServer(answer, lifetime=60) as server:
        result, _ = collect(server, tmp_path, "-q", "--timeout", "1", "--retries", "0")
        stopped = server.stopped
    assert not stopped  # sidtool gave up first: the server did not have to end it
    assert result.returncode == 2
    assert result.stderr == (
        f"sidtool: 127.0.0.1:{server.port}: connection lost and not regained after 0 retries "
        "(no complete reply within 1 s (--timeout))\n"
    )


def test_a_32_mib_value_is_received_whole(tmp_path):
    name = "x" * (32 * 2**20)
    account = (f"CN=huge,CN=Users,{ROOT}", values(objectClass="user", sAMAccountName="huge", displayName=name,
                                                  objectSid=bytes(Sid.parse("S-1-5-21-1-2-3-1500"))))  # fmt: skip
    answer = overriding(lambda s: Reply(entries=(account,)) if users_search(s) else None)
    with ScriptedLdapServer(answer) as server:
        result, output = collect(server, tmp_path, "-q", "--timeout", "60")
    assert result.returncode == 0, result.stderr
    huge = next(p for p in json.loads(output.read_text())["principals"] if p["name"] == "huge")
    assert len(huge["display_name"]) == len(name)


def test_a_message_over_the_size_limit_is_refused_from_its_header(tmp_path):
    size = MAX_MESSAGE_BYTES + 1
    header = bytes([0x30, 0x84]) + size.to_bytes(4, "big")
    answer = overriding(lambda s: Reply(raw=header + b"\x02\x01") if users_search(s) else None)
    with ScriptedLdapServer(answer) as server:
        result, _ = collect(server, tmp_path, "-q", "--timeout", "5", "--retries", "0")
    assert result.returncode == 2
    assert result.stderr.startswith(f"sidtool: 127.0.0.1:{server.port}: malformed reply to the search under {ROOT}: ")
    assert f"a message of {size + 6} bytes, over the limit of {MAX_MESSAGE_BYTES} bytes" in result.stderr


# -- 3. malformed replies and bad options ----------------------------------------------------------------------


MALFORMED = {
    "not a SEQUENCE": lambda s: b"\x31\x03\x02\x01\x01",
    "an indefinite length": lambda s: b"\x30\x80\x02\x01\x01\x00\x00",
    "an entry whose attributes are an INTEGER": lambda s: message(s.message_id, tlv(0x64, octets(ROOT) + integer(5))),
    "an operation of an unknown type": lambda s: message(s.message_id, tlv(0x7F, b"")),
    "a message ID sidtool never used": lambda s: message(s.message_id + 7, entry(ROOT, {"cn": [b"x"]})),
    "a message cut inside its messageID": lambda s: tlv(0x30, b"\x02\x05\x01"),
    "an entry whose value runs past its SET": lambda s: message(
        s.message_id, tlv(0x64, octets(ROOT) + tlv(0x30, tlv(0x30, octets("cn") + tlv(0x31, b"\x04\x09abc"))))
    ),
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_a_malformed_reply_is_a_located_error_not_an_internal_one(tmp_path, kind):
    answer = overriding(lambda s: Reply(raw=MALFORMED[kind](s)) if users_search(s) else None)
    with ScriptedLdapServer(answer, lifetime=20) as server:
        result, _ = collect(server, tmp_path, "-q", "--timeout", "3", "--retries", "0")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0] and "Traceback" not in result.stderr
    assert lines[0].startswith(f"sidtool: 127.0.0.1:{server.port}: ")
    assert f"under {ROOT}" in lines[0] or "connection lost" in lines[0]


@pytest.mark.parametrize(
    ("bind_reply", "error"),
    [
        (Reply(raw=message(1, tlv(0x61, b""))), "malformed reply to the bind: "),  # a BindResponse without a result
        (Reply(drip=0.3), "no complete reply within 1 s (--timeout)"),  # a 14-byte BindResponse, a byte at a time
    ],
)
def test_a_bad_or_dripped_bind_reply_is_one_line_exit_2(tmp_path, bind_reply, error):
    with ScriptedLdapServer(forest(), bind_reply=bind_reply, lifetime=20) as server:
        result, _ = collect(server, tmp_path, "-q", "--timeout", "1", "--retries", "0")
        stopped = server.stopped
    assert not stopped
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sidtool: 127.0.0.1:{server.port}: "), result.stderr
    assert error in lines[0]


def test_a_crossref_with_a_systemflags_that_is_no_number_is_a_gap(tmp_path):
    def override(search: Search) -> Reply | None:
        if search.asks_for("crossRef"):
            return Reply(entries=((f"CN=CORP,CN=Partitions,CN=Configuration,{ROOT}",
                                   values(objectClass="crossRef", nCName=ROOT, systemFlags="three")),))  # fmt: skip
        return None

    with ScriptedLdapServer(overriding(override)) as server:
        result, output = collect(server, tmp_path, "-q")
    assert result.returncode == 3, result.stderr
    assert json.loads(output.read_text())["gaps"] == [
        f"crossRef CN=CORP,CN=Partitions,CN=Configuration,{ROOT}: systemFlags is not a number; not read"
    ]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--timeout", "nan"), ("--timeout", "-1"), ("--timeout", "0"), ("--timeout", "inf"), ("--timeout", "soon"),
     ("--port", "70000"), ("--port", "0"), ("--port", "x"), ("--page-size", "0"), ("--retries", "-1"),
     ("--max-member-values", "0")],
)  # fmt: skip
def test_an_option_value_out_of_range_is_a_usage_error(option, value):
    result = run_sidtool("collect", "--server", "ldap://127.0.0.254", "--allow-plaintext", "--user", "u",
                         "-o", "unused.json", option, value, env={"SIDTOOL_PASSWORD": "pw"})  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(f"sidtool collect: error: argument {option}: '{value}'")
    assert "Traceback" not in result.stderr


def test_a_port_out_of_range_in_the_url_is_a_usage_error():
    result = run_sidtool("collect", "--server", "ldap://127.0.0.254:70000", "--allow-plaintext", "--user", "u",
                         "-o", "unused.json", env={"SIDTOOL_PASSWORD": "pw"})  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == "sidtool: ldap://127.0.0.254:70000: the port is not a number from 1 to 65535\n"


class _DrippedHandshake(threading.Thread):
    """A TCP server that answers a TLS ClientHello with a handshake record announcing 16 KiB, then sends it a byte
    every 0.2 s: each read gets a byte well within any timeout, so only a deadline on the whole handshake ends it
    (CPython's ssl module applies the socket timeout to the handshake as one deadline; this test keeps it so for
    both transports). It stops by itself after ``lifetime`` seconds and counts the bytes it managed to send."""

    def __init__(self, lifetime: float = 20.0) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lifetime = lifetime
        self.sent = 0
        self.outlived = False  # the client was still waiting when the server stopped

    def run(self) -> None:
        self.listener.settimeout(self.lifetime)
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        ends = time.monotonic() + self.lifetime
        with connection:
            connection.settimeout(self.lifetime)
            try:
                connection.recv(4096)  # the ClientHello
                connection.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16,384 bytes, announced
                while time.monotonic() < ends:
                    connection.sendall(b"\x02")
                    self.sent += 1
                    time.sleep(0.2)
                self.outlived = True
            except OSError:
                return  # the client gave up and closed the connection

    def __enter__(self) -> _DrippedHandshake:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self.join(self.lifetime + 5)


@pytest.mark.parametrize("auth", ["simple", "ntlm"])
def test_a_tls_handshake_dripped_a_byte_at_a_time_ends_at_the_timeout(tmp_path, auth):
    with _DrippedHandshake() as server:
        result = run_sidtool("collect", "--server", f"ldaps://127.0.0.1:{server.port}", "--auth", auth, "--insecure",
                             "--user", "CORP\\auditor", "--timeout", "1", "--retries", "0", "-q",
                             "-o", str(tmp_path / "snap.json"), env={"SIDTOOL_PASSWORD": "pw"})  # fmt: skip
    assert not server.outlived  # sidtool gave up first: the server did not have to stop it
    assert server.sent < 30  # a few bytes in one --timeout, not the 16 KiB the record announced
    assert result.returncode == 2, result.stderr
    assert "within 1 s" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "snap.json").exists()
