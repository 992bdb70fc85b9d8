"""The LDIF reader on ldifde and ldapsearch exports, whole and damaged."""

from __future__ import annotations

import base64

import pytest

from sidtool.dn import dn_key
from sidtool.membership import MembershipGraph
from sidtool.model import PrincipalKind
from sidtool.security.sid import Sid
from sidtool.sources import ldif
from tests.support.exports import DATA, EXAMPLES, head, read

ROOT = "DC=corp,DC=example,DC=com"
ROOT_SID = "S-1-5-21-1004336348-1177238915-682003330"


def _at_risk(directory) -> set[str]:
    graph = MembershipGraph(directory, lambda p: str(p.sid) == "S-1-5-32-555")
    return {m.principal.name for m in graph.at_risk()}


def test_folded_lines_are_unfolded_and_base64_values_decoded():
    directory, problems = read(ldif, "ldif/folded_lines.ldif")
    assert problems == []
    (user,) = [p for p in directory.principals if p.kind is PrincipalKind.USER]
    assert (
        user.dn
        == f"CN=Alexandra Konstantinopoulou-Papadimitriou,OU=Sales and Marketing Department,OU=Headquarters,{ROOT}"
    )
    assert user.display_name == "Konstantinopoulou-Papadimitriou, Alexándra"


def test_ranged_members_and_modify_continuations_are_merged():
    directory, problems = read(ldif, "ldif/ranged_members.ldif")
    assert problems == []
    group = directory.principal(f"CN=Call Centre,CN=Users,{ROOT}")
    assert [dn.split(",")[0] for dn in group.members] == ["CN=Ann", "CN=Ben", "CN=Cat"]
    assert _at_risk(directory) == {"ann", "ben", "cat"}


def test_ldifde_unicode_output_is_read():
    assert ldif.sniff(head("ldif/ldifde_unicode.ldif"))
    directory, problems = read(ldif, "ldif/ldifde_unicode.ldif")
    assert problems == []
    user = directory.principal(f"CN=Jürgen Müller,CN=Users,{ROOT}")
    assert user.display_name == "Müller, Jürgen"
    assert _at_risk(directory) == {"jmueller"}


def test_one_dn_escaped_three_ways_is_one_object():
    directory, problems = read(ldif, "ldif/escaped_dns.ldif")
    assert problems == []
    assert dn_key(f"CN=M\\C3\\BCller\\2C J\\C3\\BCrgen,CN=Users,{ROOT}") == dn_key(
        f"CN=Müller\\, Jürgen,CN=Users,{ROOT}"
    )
    assert _at_risk(directory) == {"jmueller"}


def test_unknown_member_is_kept_as_a_dangling_edge():
    directory, problems = read(ldif, "ldif/unknown_member.ldif")
    assert problems == []
    graph = MembershipGraph(directory, lambda p: False)
    assert [d.member_dn for d in graph.dangling] == [f"CN=Gone Away,OU=Leavers,{ROOT}"]


def test_nesting_cycle_ends():
    directory, problems = read(ldif, "ldif/nesting_cycle.ldif")
    assert problems == []
    assert _at_risk(directory) == {"eve"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ldif/duplicate_dns.ldif", "ldif/duplicate_dns.ldif:line 16: cn=eve,cn=users,dc=corp,dc=example,dc=com "
         f"appears twice with different SIDs ({ROOT_SID}-1301 and {ROOT_SID}-1399)"),
        ("ldif/bad_base64.ldif", "ldif/bad_base64.ldif:line 10: objectsid: value is not valid base64"),
        ("ldif/truncated.ldif", "ldif/truncated.ldif:line 15: objectSid: SID at offset 0 is truncated"),
    ],
)  # fmt: skip
def test_damaged_record_is_reported_with_its_line_and_the_rest_is_read(name, expected):
    directory, problems = read(ldif, name)
    assert len(problems) == 1
    assert problems[0].startswith(expected)
    assert directory.domains  # the records before and after were read


def test_a_value_of_several_megabytes(tmp_path):
    blob = bytes(range(256)) * (6 * 4096)  # 6 MiB
    text = (
        (DATA / "ldif/nesting_cycle.ldif")
        .read_text(encoding="utf-8")
        .replace("sAMAccountName: eve", "sAMAccountName: eve\r\nthumbnailPhoto:: " + base64.b64encode(blob).decode())
    )
    path = tmp_path / "big.ldif"
    path.write_text(text, encoding="utf-8")
    problems = []
    with open(path, "rb") as stream:
        directory = ldif.load(stream, "big.ldif", problems.append)
    assert problems == []
    assert _at_risk(directory) == {"eve"}


def test_the_example_forest_reads_without_problems():
    problems = []
    with open(EXAMPLES / "corp-forest.ldif", "rb") as stream:
        directory = ldif.load(stream, "corp-forest.ldif", problems.append)
    assert problems == []
    assert {d.netbios_name for d in directory.domains} == {"CORP", "EMEA"}
    assert len(directory.public_folders) == 7
    alice = next(p for p in directory.principals if p.name == "alice.nguyen")
    assert alice.legacy_exchange_dn == "/o=CORP/ou=First Administrative Group/cn=Recipients/cn=alice.nguyen"
    assert Sid.parse("S-1-5-32-555") in directory.by_sid


def test_a_comment_folded_onto_the_next_line_at_the_top_is_still_ldif(tmp_path):
    """RFC 2849 lets a comment be folded like any line: the next line starts with a space."""
    from sidtool.sources import detect
    from tests.support.cli_runner import run_sidtool

    text = "# exported by ldifde from DC1 for the audit of the\n  public folders\nversion: 1\n\n"
    text += (EXAMPLES / "corp-forest.ldif").read_text(encoding="utf-8")
    assert detect(text.encode()[:4096], "folded.ldif") == "ldif"
    path = tmp_path / "folded.ldif"
    path.write_text(text, encoding="utf-8")
    assert run_sidtool("report", str(path)).returncode == 1  # read whole: the example's findings
