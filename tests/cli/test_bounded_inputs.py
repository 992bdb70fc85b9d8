"""Hostile and huge inputs through ``sidtool report``: bounded memory, a located error where a limit is hit.

Every input is generated into tmp_path by tests/hostile_inputs.py. Peak memory is the ``ru_maxrss``
of the process that runs sidtool (a fresh interpreter each time), compared with the same command on
a small input: what the hostile input adds. Sizes are full (a 100 MB line, nesting 10,000 deep,
100,000 copies of one DN) except the group of a million members, which CI reads at 100,000 members
(about 1 s; the million takes about 10 s on a loaded two-core runner, longer than a CI test should).
Run the full size with::

    SIDTOOL_BOUNDED_FULL=1 python -m pytest tests/test_bounded_inputs.py -q
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidtool.sources import ldif, snapshot
from sidtool.sources.text import MAX_LINE_BYTES
from tests.support.cli_runner import REPO
from tests.support.hostile_inputs import (
    RDP,
    ROOT,
    big_group,
    deep_nesting,
    forest_head,
    long_line,
    permissions_csv,
    record,
    repeated_entry,
    repeated_member,
    user_dn,
    write,
)

pytestmark = pytest.mark.slow  # inputs of 100 MB and a million members, with peak memory measured

FULL = os.environ.get("SIDTOOL_BOUNDED_FULL") == "1"
HUGE_LINE = 100 * 2**20
MEMBERS = 10**6 if FULL else 10**5
DEPTH = 10_000
COPIES = 10**5
# What a hostile line may add to the peak: the line limit (16 MiB read at once) and change, never the line.
LINE_ALLOWANCE_KB = 2 * MAX_LINE_BYTES // 1024 + 16 * 1024
# The child's own peak: VmHWM of its address space. Linux's ru_maxrss of a child also counts the parent's
# resident size at the fork (kept across exec), so a test process grown by earlier tests made every child
# look that big; ru_maxrss is used only where /proc is missing.
MEASURE = """\
import re, resource, sys
from sidtool.cli import main
code = main(sys.argv[1:])
try:
    with open("/proc/self/status") as status:
        peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
except (OSError, AttributeError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stderr.write(f"peak-rss-kb {peak}\\n")
sys.exit(code)
"""


def measured(*arguments: str) -> tuple[int, str, str, int]:
    """Run ``sidtool ARGUMENTS`` in a fresh interpreter; return exit code, stdout, stderr and peak RSS (KiB)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    environment.pop("SIDTOOL_DEBUG", None)
    result = subprocess.run([sys.executable, "-c", MEASURE, *arguments], capture_output=True, text=True,
                            encoding="utf-8", env=environment, timeout=300)  # fmt: skip
    *lines, last = result.stderr.splitlines()
    assert last.startswith("peak-rss-kb "), result.stderr[-2000:]
    return result.returncode, result.stdout, "\n".join(lines), int(last.split()[1])


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict:
    """A small forest (user0 → Big → Remote Desktop Users), its permission export, and its peak RSS."""
    folder = tmp_path_factory.mktemp("small")
    forest = write(folder / "forest.ldif", forest_head(), big_group(1))
    permissions = permissions_csv(folder / "perms.csv", "CORP\\user0")
    code, _, stderr, peak = measured("report", str(permissions), "--directory", str(forest), "--format", "json",
                                     "--all", "-q")  # fmt: skip
    assert code in (0, 1), stderr
    return {"forest": forest, "permissions": permissions, "peak": peak}


def affected(stdout: str) -> set[str]:
    """The names of the senders the findings' trustees let in (joined through the senders table)."""
    document = json.loads(stdout)
    names = {sender["sid"]: sender["name"] for sender in document["senders"]}
    return {names[sid] for trustee in document["trustees"] for sid in trustee["affected_sids"]}


# -- one line of 100 MB ---------------------------------------------------------------------------------


def test_a_100_mb_ldif_line_is_skipped_with_its_record_in_bounded_memory(tmp_path, small):
    head = b"".join([
        *forest_head(),
        *big_group(2),  # user0 (a user entry) and user1 (a member, whose entry the long line is in)
        f"dn: {user_dn(1)}\nobjectClass: user\nobjectSid: S-1-5-21-1-2-3-1001\n".encode(),
    ])  # fmt: skip
    line = head.count(b"\n") + 1
    forest = write(
        tmp_path / "hostile.ldif",
        iter([head]),
        long_line(b"description: ", HUGE_LINE),
        iter([b"sAMAccountName: user1\n\n"]),
        record(f"CN=After,OU=Staff,{ROOT}", "user", "S-1-5-21-1-2-3-1002", "after"),
    )
    code, stdout, stderr, peak = measured("report", str(small["permissions"]), "--directory", str(forest),
                                          "--format", "json", "--all", "-q")  # fmt: skip
    assert code == 3
    assert stderr.splitlines()[0] == (
        f"sidtool: {forest}:line {line}: line of {HUGE_LINE + len('description: '):,} bytes is longer than the "
        f"limit of {MAX_LINE_BYTES:,} (skipped)"
    )
    assert "Traceback" not in stderr
    assert affected(stdout) == {"user0"}  # the records around the bad one were read
    assert peak - small["peak"] < LINE_ALLOWANCE_KB


def test_a_folded_ldif_value_over_the_limit_is_skipped_without_keeping_its_parts(tmp_path):
    """Folded lines are joined only up to the limit; 20 MB in 76-character lines (260,000 lines) is over it."""
    folded = 20 * 2**20
    with (tmp_path / "folded.ldif").open("wb") as stream:
        stream.write(f"dn: {RDP}\nobjectClass: group\nobjectSid: S-1-5-32-555\ndescription: ".encode())
        piece = b"\n " + b"B" * 75
        stream.write(piece * (folded // 75))
        stream.write(b"\n\n")
        stream.write(b"".join(record(user_dn(0), "user", "S-1-5-21-1-2-3-1000", "user0")))
    problems = []
    with (tmp_path / "folded.ldif").open("rb") as stream:
        directory = ldif.load(stream, "folded.ldif", problems.append)
    assert [str(problem) for problem in problems] == [
        f"folded.ldif:line 4: line of {len('description: ') + folded // 75 * 75:,} bytes is longer than the limit "
        f"of {MAX_LINE_BYTES:,}"
    ]
    assert [p.name for p in directory.principals] == ["user0"]


EXPORTS = {
    "pfdavadmin": ("pfdavadmin.txt", b"SETACL\t\\Before\tCORP\\user0\tAuthor\n", b"SETACL\t\\Huge\tCORP\\user0\t",
                   b"SETACL\t\\After\tCORP\\user0\tAuthor\n"),
    "permission csv": ("perms.csv", b'"Identity","User","AccessRights"\n"\\Before","CORP\\user0","Author"\n',
                       b'"\\Huge","CORP\\user0","', b'"\\After","CORP\\user0","Author"\n'),
    "descriptor list": ("descriptors.txt", b"\\Before\tO:BAG:BAD:(A;;0x2;;;S-1-5-32-555)\n",
                        b"\\Huge\tO:BAG:BAD:(A;;0x2;;;", b"\\After\tO:BAG:BAD:(A;;0x2;;;S-1-5-32-555)\n"),
}  # fmt: skip


@pytest.mark.parametrize("kind", EXPORTS)
def test_a_100_mb_line_in_a_permission_export_is_skipped_in_bounded_memory(tmp_path, small, kind):
    name, before, huge_start, after = EXPORTS[kind]
    path = write(tmp_path / name, iter([before]), long_line(huge_start, HUGE_LINE), iter([after]))
    line = before.count(b"\n") + 1
    code, stdout, stderr, peak = measured("report", str(path), "--directory", str(small["forest"]), "--format",
                                          "json", "--all", "-q")  # fmt: skip
    assert code == 3
    assert stderr.splitlines()[0] == (
        f"sidtool: {path}:line {line}: line of {len(huge_start) + HUGE_LINE:,} bytes is longer than the "
        f"limit of {MAX_LINE_BYTES:,} (skipped)"
    )
    assert "Traceback" not in stderr
    assert json.loads(stdout)["summary"]["folders_scanned"] == 2  # \Before and \After
    assert peak - small["peak"] < LINE_ALLOWANCE_KB


# -- legitimate but extreme shapes ----------------------------------------------------------------------


def test_a_group_of_a_million_members_is_read_in_memory_linear_in_its_size(tmp_path, small):
    forest = write(tmp_path / "big.ldif", forest_head(), big_group(MEMBERS))
    permissions = permissions_csv(tmp_path / "perms.csv", "CORP\\Big")
    code, stdout, stderr, peak = measured("report", str(permissions), "--directory", str(forest), "--format", "json",
                                          "--all", "-q")  # fmt: skip
    assert code == 3, stderr[-2000:]  # the members that are names only were not read: they may be senders
    assert affected(stdout) == {"user0"}  # the one member that is a user entry
    (missing,) = json.loads(stdout)["unchecked"]  # one item for the group, counting its members not read
    assert (missing["kind"], missing["subject"]) == ("member-not-found", f"CN=Big,OU=Groups,{ROOT}")
    assert f"{user_dn(1)} and {MEMBERS - 2:,} more" in missing["detail"]
    assert stderr.splitlines() == ["sidtool: 1 item(s) could not be checked (a domain, a group's members, a folder's "
                                   "permissions); the report lists them under 'Could not check' ('unchecked' in "
                                   "JSON) and is incomplete"]  # fmt: skip
    # linear, with a small constant: each member costs its DN (about 45 characters) a few times over
    # (model, graph, notes); measured: about 630 bytes a member at 100,000, 370 at a million
    added_bytes_per_member = (peak - small["peak"]) * 1024 / MEMBERS
    assert added_bytes_per_member < 1000


def test_nesting_10000_deep_reports_the_whole_route(tmp_path, small):
    forest = write(tmp_path / "deep.ldif", forest_head(), deep_nesting(DEPTH))
    code, stdout, stderr, _ = measured("report", str(small["permissions"]), "--directory", str(forest),
                                       "--view", "senders", "--format", "json", "--all", "-q")  # fmt: skip
    assert code in (0, 1), stderr
    (sender,) = json.loads(stdout)["senders"]  # --format json is the whole document, whatever the view
    assert sender["name"] == "user0"
    route = [step["name"] for step in sender["path"]]
    assert route == ["user0", *(f"level{n}" for n in reversed(range(DEPTH))), "Remote Desktop Users"]


def test_100000_copies_of_one_member_dn_count_once(tmp_path, small):
    forest = write(tmp_path / "copies.ldif", forest_head(), repeated_member(COPIES))
    problems = []
    with forest.open("rb") as stream:
        directory = ldif.load(stream, "copies.ldif", problems.append)
    assert problems == []
    rdp = next(p for p in directory.principals if p.dn == RDP)
    assert rdp.members == (user_dn(0),)
    code, stdout, stderr, peak = measured("report", str(small["permissions"]), "--directory", str(forest),
                                          "--format", "json", "--all", "-q")  # fmt: skip
    assert code in (0, 1), stderr
    assert affected(stdout) == {"user0"}
    assert peak - small["peak"] < 64 * 1024


def test_100000_copies_of_one_entry_merge_into_one(tmp_path, small):
    """Each copy adds its member to the first: merged in linear time (a quadratic merge would not finish)."""
    forest = write(tmp_path / "entries.ldif", forest_head(), repeated_entry(COPIES))
    code, stdout, stderr, peak = measured("report", str(small["permissions"]), "--directory", str(forest),
                                          "--format", "json", "--all", "-q")  # fmt: skip
    assert code in (0, 1), stderr
    assert affected(stdout) == {"user0"}
    assert peak - small["peak"] < 64 * 1024
    problems = []
    with forest.open("rb") as stream:
        directory = ldif.load(stream, "entries.ldif", problems.append)
    assert problems == []
    assert [p.members for p in directory.principals if p.dn == RDP] == [(user_dn(0),)]


# -- snapshots: a 100 MB record line, plain and gzip; a decompression bomb ---------------------------------

SNAPSHOT_HEAD = b'{"format":"sidtool-snapshot","version":1,"forest_root_dn":null,\n"domains":[\n],\n"principals":[\n'


def gzipped(path: Path, *parts: Iterator[bytes]) -> Path:
    """``parts`` written as one gzip stream, compressed as they come (never held whole)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with path.open("wb") as stream:
        for part in parts:
            for chunk in part:
                stream.write(compressor.compress(chunk))
        stream.write(compressor.flush())
    return path


@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_a_100_mb_snapshot_line_is_refused_with_its_number_in_bounded_memory(tmp_path, small, name):
    parts = (iter([SNAPSHOT_HEAD]), long_line(b'{"dn":"', HUGE_LINE, b'"}\n'), iter([b"]}\n"]))
    path = (gzipped if name.endswith(".gz") else write)(tmp_path / name, *parts)
    code, _, stderr, peak = measured("report", str(path), "-q")
    assert code == 2
    assert stderr == f"sidtool: {path}:line 5: a line longer than the limit of {MAX_LINE_BYTES:,} bytes"
    assert peak - small["peak"] < LINE_ALLOWANCE_KB


def test_a_gzip_bomb_is_refused_at_the_inflation_limit_in_bounded_memory(tmp_path, small):
    """A few MB of gzip that would inflate to 2 GiB of short record lines: stopped after about 40 MB of text."""
    record_line = b'{"dn":"' + b"x" * 4000 + b'"},\n'  # a record sidtool cannot build (no sid): reported, not kept
    member = gzip.compress(record_line * ((16 << 20) // len(record_line)), compresslevel=9, mtime=0)
    path = tmp_path / "bomb.json.gz"  # gzip members one after another are one stream (RFC 1952, 2.2)
    path.write_bytes(gzip.compress(SNAPSHOT_HEAD, mtime=0) + member * 128 + gzip.compress(b'{"dn":"y"}\n]}\n'))
    compressed = path.stat().st_size
    assert compressed < 4 << 20
    code, _, stderr, peak = measured("report", str(path), "-q")
    assert code == 2, stderr[-2000:]
    last = stderr.splitlines()[-1]
    assert last.startswith(f"sidtool: {path}:byte ") and last.endswith("(a decompression bomb?)")
    inflated = int(last.split(":byte ")[1].split(":")[0])
    # The limit is 100 times the compressed bytes read so far (plus the floor): it trips early in a bomb.
    assert snapshot.INFLATION_FLOOR < inflated <= snapshot.MAX_INFLATION * compressed + snapshot.INFLATION_FLOOR
    assert "Traceback" not in stderr
    assert peak - small["peak"] < LINE_ALLOWANCE_KB
