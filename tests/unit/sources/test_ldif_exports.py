"""LDIF as the real tools write it: OpenLDAP ldapsearch's reference and result blocks, ranged member lists,
exports cut short, folders without descriptors, and a forest export missing a domain."""

from __future__ import annotations

import io
import json
import re

import pytest

from sidtool.errors import IncompleteInput
from sidtool.model import Directory
from sidtool.risk import UncheckedKind, assess
from sidtool.sources import ldif
from tests.support.cli_runner import REPO, run_sidtool
from tests.support.exports import read

BULK = "CN=GG-Bulk-1600,OU=Groups,DC=corp,DC=example,DC=com"
RDU = "CN=Remote Desktop Users,CN=Builtin,DC=corp,DC=example,DC=com"
SAMPLE = "exports/ldapsearch_default.ldif"


def line_of(path: str, text: str) -> int:
    lines = (REPO / "tests" / "data" / path).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(text))


def test_ldapsearch_reference_and_result_blocks_are_not_damage():
    directory, problems = read(ldif, SAMPLE)
    # the only message is the partial member list: refs, result blocks, controls and cookies are not records
    assert problems == [f"{SAMPLE}:line {line_of(SAMPLE, 'dn: ' + BULK)}: {BULK}: only part of its member list "
                        "is here (member;range=...): the other members are not known; read it with 'sidtool collect', "
                        "or export with a larger MaxValRange"]  # fmt: skip
    assert directory.gaps == ()
    names = sorted(p.name for p in directory.principals)
    assert names == ["GG-Bulk-1600", "GG-NetOps", "Remote Desktop Users", "adirect", "jmueller"]
    assert len(directory.domains) == 1


def test_a_range_that_does_not_reach_the_end_marks_the_group_incomplete():
    directory, _ = read(ldif, SAMPLE)
    bulk = directory.principal(BULK)
    assert bulk.members_complete is False
    assert len(bulk.members) == 10
    # "member;range=0-*" is the whole list
    remote_desktop = next(p for p in directory.principals if p.name == "Remote Desktop Users")
    assert remote_desktop.members_complete is True and len(remote_desktop.members) == 3
    assessment = assess(directory)
    # (the sample was exported with a filter: two members of Remote Desktop Users are not in it, a hole too)
    assert [(u.kind, u.subject) for u in assessment.unchecked] == [(UncheckedKind.MEMBERS_PARTIAL, BULK),
                                                                   (UncheckedKind.MEMBER_NOT_FOUND, RDU)]  # fmt: skip
    assert not assessment.complete


@pytest.mark.parametrize(
    ("ranges", "whole"),
    [
        ([(0, None)], True),
        ([(0, 1499)], False),
        ([(0, 1499), (1500, None)], True),
        ([(0, 1499), (1501, None)], False),
        ([(1500, None)], False),
        ([(0, 9), (10, 19)], False),
    ],
)
def test_ranges_are_whole_only_from_zero_to_the_end_without_a_hole(ranges, whole):
    record = ldif.LdifRecord("CN=G", member_ranges=ranges)
    assert record.partial_attributes == (() if whole else ("member",))


def test_the_report_names_the_incomplete_group_and_exits_3():
    result = run_sidtool("report", f"tests/data/{SAMPLE}")
    assert result.returncode == 3, result.stderr
    assert "Could not check (2)" in result.stdout
    assert f"members-partial: {BULK}" in result.stdout
    assert f"member-not-found: {RDU}: members not in the data: CN=Domain Users" in " ".join(result.stdout.split())
    assert "No findings among what could be checked." in result.stdout
    assert "No findings.\n" not in result.stdout
    assert "(skipped)" not in result.stderr  # nothing was skipped: a part was missing, and it is named
    assert f"line {line_of(SAMPLE, 'dn: ' + BULK)}: {BULK}" in result.stderr
    document = json.loads(run_sidtool("report", f"tests/data/{SAMPLE}", "--format", "json").stdout)
    assert document["summary"]["unchecked"] == 2
    assert document["unchecked"][0] == {
        "kind": "members-partial", "subject": BULK, "location": None,
        "detail": "only part of its member list was read: senders through it could not be checked"
    }  # fmt: skip
    assert document["unchecked"][1]["detail"].startswith(
        "members not in the data: CN=Domain Users,CN=Users,DC=corp,DC=example,DC=com and 1 more; whether they let"
    )


SIZE_LIMITED = """\
# extended LDIF
#
# LDAPv3
# base <DC=corp,DC=example,DC=com> with scope subtree
# filter: (objectClass=group)
# requesting: objectSid member
#

# Remote Desktop Users, Builtin, corp.example.com
dn: CN=Remote Desktop Users,CN=Builtin,DC=corp,DC=example,DC=com
objectSid:: AQIAAAAAAAUgAAAAKwIAAA==
objectClass: group

# search result
search: 2
result: 4 Size limit exceeded

# numResponses: 2
# numEntries: 1
"""


def test_an_export_the_server_cut_short_is_a_gap_with_its_line(tmp_path):
    path = tmp_path / "unpaged.ldif"
    path.write_text(SIZE_LIMITED)
    problems = []
    with path.open("rb") as stream:
        directory = ldif.load(stream, "unpaged.ldif", problems.append)
    assert problems == []
    assert len(directory.principals) == 1
    (gap,) = directory.gaps
    assert gap.startswith("unpaged.ldif:line 16: the search that wrote this export ended with 'result: 4 Size limit")
    assert "-E pr=1000/noprompt" in gap
    result = run_sidtool("report", str(path))
    assert result.returncode == 3
    assert f"not-collected: {path}:line 16: the search" in " ".join(result.stdout.split())  # long lines wrap


def test_a_reference_to_a_child_domain_is_a_hole_until_an_input_reads_it_or_the_crossrefs_say(tmp_path):
    """ldapsearch does not follow references: without the forest's crossRefs, one to another naming context may be a
    child domain not read. The sample's own reference to CN=Configuration (Samba's, as AD's) and those to the DNS
    partitions are none; an export of the child domain, or the forest's crossRefs, given too, settle it."""
    sample = (REPO / "tests" / "data" / SAMPLE).read_text(encoding="utf-8")
    child = "ref: ldap://emea.corp.example.com/DC=emea,DC=corp,DC=example,DC=com"
    zones = "ref: ldap://DomainDnsZones.corp.example.com/DC=DomainDnsZones,DC=corp,DC=example,DC=com"
    at = sample.index("# search reference")
    path = tmp_path / "refs.ldif"
    path.write_text(f"{sample[:at]}# search reference\n{zones}\n\n# search reference\n{child}\n\n{sample[at:]}")
    problems = []
    with path.open("rb") as stream:
        directory = ldif.load(stream, "refs.ldif", problems.append)
    assert [str(p) for p in problems if "member list" not in str(p)] == [] and directory.gaps == ()
    assert directory.references == ("DC=emea,DC=corp,DC=example,DC=com",)
    (condition,) = [c for c in assess(directory).conditions if c.name == "multi-domain"]
    assert (condition.holds, condition.basis.value) == (None, "domains-unlisted")  # never "one domain"

    def kinds(*inputs):
        result = run_sidtool("report", *map(str, inputs), "--format", "json")
        return result.returncode, [u["kind"] for u in json.loads(result.stdout)["unchecked"]]

    assert kinds(path) == (3, ["members-partial", "reference-not-read", "member-not-found"])
    emea = tmp_path / "emea.ldif"  # the child domain, read
    emea.write_text("dn: DC=emea,DC=corp,DC=example,DC=com\nobjectClass: domainDNS\n"
                    "objectSid: S-1-5-21-4000-5000-6000\n\n")  # fmt: skip
    assert "reference-not-read" not in kinds(path, emea)[1]
    partitions = tmp_path / "config.ldif"  # the forest's crossRefs: EMEA is a domain (then not read), TAPI3 is not
    config = "CN=Partitions,CN=Configuration,DC=corp,DC=example,DC=com"
    partitions.write_text(
        f"dn: CN=CORP,{config}\nobjectClass: crossRef\nnCName: DC=corp,DC=example,DC=com\nnETBIOSName: CORP\n"
        "systemFlags: 3\n\n"
        f"dn: CN=EMEA,{config}\nobjectClass: crossRef\nnCName: DC=emea,DC=corp,DC=example,DC=com\n"
        "nETBIOSName: EMEA\nsystemFlags: 3\ntrustParent: CN=CORP,{config}\n\n".replace("{config}", config)
    )
    assert kinds(path, partitions)[1] == ["domain-not-read", "members-partial", "member-not-found"]
    app = tmp_path / "app.ldif"
    app.write_text(
        sample.replace("ldaps://corp.example.com/CN=Configuration", "ldap://corp.example.com/DC=TAPI3Directory")
    )
    only_corp = tmp_path / "config-corp.ldif"
    only_corp.write_text(partitions.read_text().split("\n\n")[0] + "\n\n")
    assert "reference-not-read" in kinds(app)[1]
    assert "reference-not-read" not in kinds(app, only_corp)[1]  # the crossRefs list no such domain


def test_a_reference_that_cannot_be_read_is_a_gap_with_its_line(tmp_path):
    for name, url in (
        ("garbage.ldif", "ldap://corp.example.com/garbage"),
        ("host.ldif", "ldap://emea.corp.example.com"),
    ):
        path = tmp_path / name
        path.write_text(f"dn: DC=corp,DC=example,DC=com\nobjectClass: domainDNS\n\nref: {url}\n\n")
        with path.open("rb") as stream:
            directory = ldif.load(stream, name, pytest.fail)
        (gap,) = directory.gaps
        assert gap.startswith(f"{name}:line 4: the export holds a reference to {url} that the search did not follow")


def test_tab_continuations_and_control_lines_inside_an_entry(tmp_path):
    path = tmp_path / "tabs.ldif"
    path.write_text(
        "dn: CN=Remote Desktop Users,CN=Builtin,\n\tDC=corp,DC=example,DC=com\n"
        "control: 1.2.840.113556.1.4.319 false MAUCAQAEAA==\n"
        "objectClass: group\nobjectSid:: AQIAAAAAAAUgAAAA\n\tKwIAAA==\n"
    )
    problems = []
    with path.open("rb") as stream:
        directory = ldif.load(stream, "tabs.ldif", problems.append)
    assert problems == []
    (group,) = directory.principals
    assert group.dn == "CN=Remote Desktop Users,CN=Builtin,DC=corp,DC=example,DC=com"
    assert str(group.sid) == "S-1-5-32-555"


def _without(text: str, suffix: str) -> str:
    """The LDIF with every record under ``suffix`` left out (an export of one domain of two)."""
    records = text.split("\n\n")
    return "\n\n".join(r for r in records if not re.search(rf"^dn: .*{re.escape(suffix)}$", r, re.M | re.I))


def test_a_domain_named_by_the_forest_but_not_exported_counts_and_is_reported(tmp_path):
    root_only = tmp_path / "root-only.ldif"
    root_only.write_text(_without((REPO / "examples/corp-forest.ldif").read_text(encoding="utf-8"),
                                  "DC=emea,DC=corp,DC=example,DC=com"))  # fmt: skip
    problems = []
    with root_only.open("rb") as stream:
        directory = ldif.load(stream, "root-only.ldif", problems.append)
    emea = next(d for d in directory.domains if d.dns_name == "emea.corp.example.com")
    assert emea.read is False and emea.parent_dns_name == "corp.example.com"
    assessment = assess(directory)
    assert {c.name: c.holds for c in assessment.conditions}["multi-domain"] is True  # the child exists all the same
    assert (UncheckedKind.DOMAIN_NOT_READ, "emea.corp.example.com") in {
        (u.kind, u.subject) for u in assessment.unchecked
    }
    result = run_sidtool("report", str(root_only), "--format", "json")
    assert result.returncode == 3
    assert "domain-not-read" in {u["kind"] for u in json.loads(result.stdout)["unchecked"]}


def test_the_domain_read_from_another_export_replaces_its_crossref_stand_in(tmp_path):
    text = (REPO / "examples/corp-forest.ldif").read_text(encoding="utf-8")
    root_only, child = tmp_path / "root.ldif", tmp_path / "child.ldif"
    root_only.write_text(_without(text, "DC=emea,DC=corp,DC=example,DC=com"))
    child.write_text("\n\n".join(r for r in text.split("\n\n") if "DC=emea,DC=corp,DC=example,DC=com\n" in r + "\n"))
    merged = Directory()
    for path in (root_only, child):
        with path.open("rb") as stream:
            merged = merged.merged(ldif.load(stream, path.name, lambda error: None))
    emea = next(d for d in merged.domains if d.dns_name == "emea.corp.example.com")
    assert emea.read and emea.sid is not None and emea.netbios_name == "EMEA"
    assert [u for u in assess(merged).unchecked if u.kind is UncheckedKind.DOMAIN_NOT_READ] == []


def test_incomplete_input_is_an_input_error_that_skips_nothing():
    error = IncompleteInput("part", source="a.ldif", location="line 3")
    assert str(error) == "a.ldif:line 3: part"


# --- against the live DC: what ldapsearch really writes ----------------------------------------------------


@pytest.mark.dc
def test_real_ldapsearch_default_output_with_a_cut_member_list(test_dc, tmp_path):
    query = "(|(objectClass=user)(objectClass=group)(objectClass=domainDNS)(objectClass=publicFolder))"
    attributes = ["objectClass", "objectSid", "sAMAccountName", "member;range=0-999", "homeMDB",
                  "nTSecurityDescriptor"]  # fmt: skip
    export = tmp_path / "export.ldif"
    text = test_dc.ldapsearch("-E", "!1.2.840.113556.1.4.801=::MAMCAQc=", "-E", "pr=100/noprompt", query,
                              *attributes, plain=False)  # fmt: skip
    assert "\nref: " in text and "\nresult: 0 Success" in text and "\npagedresults: " in text
    export.write_text(text)
    result = run_sidtool("report", str(export), "--format", "json")
    assert result.returncode == 3, result.stderr
    unchecked = json.loads(result.stdout)["unchecked"]
    assert {(u["kind"], u["subject"].lower()) for u in unchecked} >= {("members-partial", BULK.lower())}
    assert "(skipped)" not in result.stderr


@pytest.mark.dc
def test_public_folders_exported_without_their_descriptor_are_named_unchecked(test_dc, tmp_path):
    query = "(|(objectClass=group)(objectClass=user)(objectClass=publicFolder))"
    export = tmp_path / "no-sd.ldif"
    export.write_text(test_dc.ldapsearch("-E", "pr=500/noprompt", query, "objectClass", "objectSid", "member",
                                         "sAMAccountName", "homeMDB"))  # fmt: skip
    result = run_sidtool("report", str(export), "--format", "json")
    assert result.returncode == 3, result.stderr
    document = json.loads(result.stdout)
    missing = [u for u in document["unchecked"] if u["kind"] == "descriptor-missing"]
    assert len(missing) == test_dc.expected["public_folders"]["count"]
    assert all("1.2.840.113556.1.4.801" in u["detail"] for u in missing)
    assert document["summary"]["folders_scanned"] == 0


def test_a_snapshot_with_gaps_is_never_a_clean_report(tmp_path):
    """collect exited 3 because a child DC was down: report on its snapshot must not say all clear."""
    from dataclasses import replace

    from sidtool.sources import snapshot

    text = _without(
        (REPO / "examples/corp-forest.ldif").read_text(encoding="utf-8"), "DC=emea,DC=corp,DC=example,DC=com"
    )
    with_gap = tmp_path / "root.ldif"
    with_gap.write_text(text)
    with with_gap.open("rb") as stream:
        directory = ldif.load(stream, "root.ldif", lambda error: None)
    gap = "domain emea.corp.example.com: its DC could not be reached (timed out)"
    snapshot.save(replace(directory, gaps=(gap,)), str(tmp_path / "snap.json"))
    result = run_sidtool("report", str(tmp_path / "snap.json"), "--format", "json")
    assert result.returncode == 3
    document = json.loads(result.stdout)
    assert {"kind": "not-collected", "subject": gap, "detail": "", "location": None} in document["unchecked"]
    assert {c["name"]: c["holds"] for c in document["conditions"]}["multi-domain"] is True
    table = run_sidtool("report", str(tmp_path / "snap.json"))
    assert f"not-collected: {gap}" in table.stdout and "INCOMPLETE" in table.stdout


@pytest.mark.parametrize("modify", [False, True])
def test_a_range_bound_of_thousands_of_digits_keeps_the_list_partial_never_an_internal_error(modify):
    """int() refuses over 4,300 digits; such a bound is a number too large, and the list stays partial (in an
    entry, and in an ldifde continuation record, which the line reader reads)."""
    dn = "dn: CN=RDU,CN=Builtin,DC=corp,DC=example,DC=com\n"
    head = f"{dn}objectClass: group\nobjectSid: S-1-5-32-555\n"
    member = f"member;range=0-{'9' * 5000}: CN=a,DC=corp,DC=example,DC=com\n"
    text = f"{head}\n{dn}changetype: modify\nadd: member\n{member}-\n\n" if modify else f"{head}{member}\n"
    problems = []
    directory = ldif.load(io.BytesIO(text.encode()), "r.ldif", problems.append)  # (no ValueError from int())
    # an ldifde continuation record says the rest of the members follow: the list is whole (README)
    assert [p.members_complete for p in directory.principals] == [modify]
    assert modify or any("only part of its member list" in str(p) for p in problems)


def test_a_cross_ref_that_cannot_say_its_kind_unlists_the_domains_whatever_file_it_is_in(tmp_path):
    """Typed crossRefs in one file, one without systemFlags or nETBIOSName (or unreadable) in another: merged, the
    crossRefs do not list the domains, so one domain read leaves the multi-domain condition unknown."""
    from sidtool.sources import read_inputs

    config = "CN=Partitions,CN=Configuration,DC=corp,DC=example,DC=com"
    root = tmp_path / "root.ldif"
    root.write_text(f"dn: CN=CORP,{config}\nobjectClass: crossRef\nnCName: DC=corp,DC=example,DC=com\n"
                    "nETBIOSName: CORP\nsystemFlags: 3\n\ndn: DC=corp,DC=example,DC=com\nobjectClass: domainDNS\n"
                    "objectSid: S-1-5-21-1-2-3\n\n")  # fmt: skip
    for name, child in (("untyped.ldif", ""), ("badflags.ldif", "systemFlags: 0x3\n")):
        path = tmp_path / name
        path.write_text(f"dn: CN=EMEA,{config}\nobjectClass: crossRef\nnCName: DC=emea,DC=corp,DC=example,DC=com\n"
                        f"dnsRoot: emea.corp.example.com\n{child}\n")  # fmt: skip
        for order in ((root, path), (path, root)):
            directory = read_inputs([str(p) for p in order], on_problem=lambda error: None)
            assert directory.cross_refs_untyped and directory.forest_root_dn is None
            (condition,) = [c for c in assess(directory).conditions if c.name == "multi-domain"]
            assert condition.holds is None, (name, order)
    assert read_inputs([str(root)], on_problem=pytest.fail).forest_root_dn == "DC=corp,DC=example,DC=com"


def test_a_reference_is_held_by_its_domain_read_not_by_some_of_its_users(tmp_path):
    """Users of a child domain exported from CN=Users, without its domain object or built-in groups, do not
    settle a reference to it: its built-in groups were not read."""
    sample = (REPO / "tests" / "data" / SAMPLE).read_text(encoding="utf-8")
    child = "ref: ldap://emea.corp.example.com/DC=emea,DC=corp,DC=example,DC=com"
    path = tmp_path / "refs.ldif"
    path.write_text(sample.replace("ref: ldaps://corp.example.com/CN=Configuration,DC=corp,DC=example,DC=com", child))
    users = tmp_path / "users.ldif"
    users.write_text("dn: CN=Bob,CN=Users,DC=emea,DC=corp,DC=example,DC=com\nobjectClass: user\n"
                     "objectSid: S-1-5-21-4000-5000-6000-1105\nsAMAccountName: bob\n\n")  # fmt: skip
    result = run_sidtool("report", str(path), str(users), "--format", "json")
    assert "reference-not-read" in [u["kind"] for u in json.loads(result.stdout)["unchecked"]]


def test_a_reference_repeated_at_the_bound_is_no_gap():
    refs = "".join(f"ref: ldap://h/DC=d{n},DC=example,DC=com\n\n" for n in range(ldif.MAX_REFERENCES))
    text = (
        "dn: DC=corp,DC=example,DC=com\nobjectClass: domainDNS\n\n" + refs + "ref: ldap://h/DC=d0,DC=example,DC=com\n"
    )
    directory = ldif.load(io.BytesIO(text.encode()), "refs.ldif", pytest.fail)
    assert directory.gaps == () and len(directory.references) == ldif.MAX_REFERENCES
    directory = ldif.load(io.BytesIO((text + "\nref: ldap://h/DC=new,DC=example,DC=com\n").encode()), "r", pytest.fail)
    assert len(directory.gaps) == 1 and "more than 4,096 references" in directory.gaps[0]
