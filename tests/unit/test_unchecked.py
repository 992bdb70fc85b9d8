"""What the assessment could not check is listed, never silently dropped: a quiet report is a claim."""

from __future__ import annotations

import json
from dataclasses import replace

from sidtool.model import AclSource, FolderPermissions, PermissionEntry, PublicFolder, RightsKind
from sidtool.report import unchecked_detail
from sidtool.risk import UncheckedKind, assess
from sidtool.security.sid import EVERYONE
from tests.support.forest import ROOT, Forest


def _forest():
    forest = Forest()
    alice = forest.user("alice")
    bob = forest.user("bob")
    forest.builtin(555, [alice], name="Remote Desktop Users")
    return forest, alice, bob


def _entry(trustee: str, sid, kind: RightsKind, rights: int = 0) -> PermissionEntry:
    return PermissionEntry(trustee, sid, rights, kind, location="perms.txt:7")


def test_an_entry_of_unknown_rights_on_a_trustee_at_risk_is_unchecked_not_a_finding():
    forest, _, bob = _forest()
    permissions = FolderPermissions("/Sales", AclSource.STORE, (
        _entry("Default", EVERYONE, RightsKind.UNKNOWN),
        _entry("CORP\\bob", bob.sid, RightsKind.UNKNOWN),  # bob is in no at-risk group: nothing to check
    ))  # fmt: skip
    assessment = assess(replace(forest.directory(), permissions=(permissions,)))
    assert assessment.findings == ()
    (unchecked,) = assessment.unchecked
    assert unchecked.kind is UncheckedKind.RIGHTS_UNKNOWN
    assert unchecked.subject == "/Sales: Default" and unchecked.location == "perms.txt:7"
    assert unchecked.senders == 1 and "1 sender(s) at risk" in unchecked_detail(unchecked)
    assert not assessment.complete


def test_the_same_entry_with_its_rights_stated_is_a_finding_and_complete():
    forest, _, _ = _forest()
    create_items = 0x2  # MS-OXCPERM frightsCreate
    permissions = FolderPermissions("/Sales", AclSource.STORE, (_entry("Default", EVERYONE, RightsKind.MAPI,
                                                                       create_items),))  # fmt: skip
    assessment = assess(replace(forest.directory(), permissions=(permissions,)))
    assert len(assessment.findings) == 1 and assessment.complete


def test_unreadable_and_missing_descriptors_are_unchecked():
    forest, _, _ = _forest()
    folders = (
        PublicFolder("Broken", dn=f"CN=Broken,{ROOT}", descriptor=b"\x01\x00\x04"),
        PublicFolder("Bare", dn=f"CN=Bare,{ROOT}"),
        PublicFolder("Store only", path="/Store only"),  # known from a store export: its permissions are there
    )
    assessment = assess(replace(forest.directory(), public_folders=folders))
    kinds = {(u.kind, u.subject) for u in assessment.unchecked}
    assert kinds == {(UncheckedKind.DESCRIPTOR_UNREADABLE, f"CN=Broken,{ROOT}"),
                     (UncheckedKind.DESCRIPTOR_MISSING, f"CN=Bare,{ROOT}")}  # fmt: skip


def test_a_null_dacl_lets_everyone_in_and_a_descriptor_without_a_dacl_is_unchecked():
    """[MS-DTYP] 2.5.3.2: a NULL DACL grants every access; a DACL that is not there was not read (an export with
    the owner and group only) and says nothing; an empty DACL grants nothing."""
    from sidtool.security import parse_sddl

    forest, _, _ = _forest()
    folders = tuple(
        PublicFolder(name, dn=f"CN={name},{ROOT}", path=f"/{name}", descriptor=bytes(parse_sddl(sddl)))
        for name, sddl in (("Null", "O:BAG:BAD:NO_ACCESS_CONTROL"), ("Absent", "O:BAG:BA"), ("Empty", "O:BAG:BAD:"))
    )
    assessment = assess(replace(forest.directory(), public_folders=folders))
    (finding,) = assessment.findings
    assert (finding.entry.folder, finding.entry.trustee_sid) == ("/Null", EVERYONE)
    assert finding.entry.trustee == "Everyone (NULL DACL)"
    assert [(u.kind, u.subject) for u in assessment.unchecked] == [(UncheckedKind.DACL_MISSING, f"CN=Absent,{ROOT}")]
    assert "holds no DACL" in unchecked_detail(assessment.unchecked[0])
    assert assessment.folders_scanned == 2  # the empty one was looked at too (it lets no one in); not the other
    store = FolderPermissions("/Absent", AclSource.STORE, ())  # the store's own permissions decide: nothing unread
    assert assess(replace(forest.directory(), public_folders=folders, permissions=(store,))).unchecked == ()


def test_a_directory_folder_with_store_permissions_needs_no_descriptor():
    forest, _, _ = _forest()
    folder = PublicFolder("Sales", dn=f"CN=Sales,{ROOT}", path="/Sales")
    store = FolderPermissions("/Sales", AclSource.STORE, ())
    assessment = assess(replace(forest.directory(), public_folders=(folder,), permissions=(store,)))
    assert assessment.unchecked == ()


def test_a_partial_member_list_is_unchecked():
    forest, alice, _ = _forest()
    directory = forest.directory()
    principals = tuple(replace(p, members_complete=False) if p.sid == alice.sid else p for p in directory.principals)
    assessment = assess(replace(directory, principals=principals))
    assert [(u.kind, u.subject) for u in assessment.unchecked] == [(UncheckedKind.MEMBERS_PARTIAL, alice.dn)]


def test_a_partial_member_list_and_a_domain_not_read_survive_a_snapshot(tmp_path):
    from sidtool.model import Domain
    from sidtool.sources import snapshot

    forest, alice, _ = _forest()
    directory = forest.directory()
    principals = tuple(replace(p, members_complete=False) if p.sid == alice.sid else p for p in directory.principals)
    unread = Domain("DC=apac,DC=corp,DC=example,DC=com", None, "apac.corp.example.com", "APAC", "corp.example.com",
                    read=False)  # fmt: skip
    snapshot.save(
        replace(directory, principals=principals, domains=(*directory.domains, unread)), str(tmp_path / "s.json")
    )
    with (tmp_path / "s.json").open("rb") as stream:
        loaded = snapshot.load(stream, "s.json", lambda error: (_ for _ in ()).throw(AssertionError(str(error))))
    assert loaded.principal(alice.dn).members_complete is False
    expected = {(UncheckedKind.MEMBERS_PARTIAL, alice.dn), (UncheckedKind.DOMAIN_NOT_READ, "apac.corp.example.com")}
    assert {(u.kind, u.subject) for u in assess(loaded).unchecked} == expected


def test_skipped_records_are_kept_for_the_report_up_to_a_bound_then_counted():
    from sidtool.errors import IncompleteInput, InputError
    from sidtool.reporting import ProblemLog

    warned: list[str] = []
    problems = ProblemLog(warned.append)
    problems(IncompleteInput("only part of its member list", source="a.ldif", location="line 3"))
    for line in range(ProblemLog.KEPT + 5):
        problems(InputError("bad value", source="a.ldif", location=f"line {line}"))
    items = problems.unchecked()
    assert len(items) == ProblemLog.KEPT + 1 and len(warned) == ProblemLog.LIMIT
    assert {item.kind for item in items} == {UncheckedKind.RECORD_SKIPPED}  # the incomplete one is in the model
    assert (items[0].subject, items[0].location, items[0].error) == ("a.ldif", "a.ldif:line 0", "bad value")
    assert items[-1].subject == "5 more record(s)"
    assert unchecked_detail(items[0]) == "could not be read and was skipped: bad value"


def test_an_input_error_quoting_a_huge_value_keeps_its_start_and_its_end():
    from sidtool.errors import MAX_MESSAGE, InputError

    message = f"trustee {'x' * 100_000!r}: no principal has this name"
    error = InputError(message, source="a.txt", location="line 2")
    assert len(error.message) < MAX_MESSAGE + 40
    assert error.message.startswith("trustee 'xxx") and error.message.endswith(": no principal has this name")
    assert f"…[{len(message) - MAX_MESSAGE:,} characters]…" in error.message
    assert InputError("short", source="a.txt").message == "short"


def test_a_member_not_read_of_an_at_risk_group_is_a_hole_and_elsewhere_a_note():
    forest, _, bob = _forest()
    forest.group("Inner", [bob])
    directory = forest.directory()
    ghosts = ("CN=ghost1,CN=Users," + ROOT, "CN=ghost2,CN=Users," + ROOT)
    principals = tuple(
        replace(p, members=p.members + ghosts) if p.name in ("Remote Desktop Users", "Inner") else p
        for p in directory.principals
    )
    assessment = assess(replace(directory, principals=principals))
    (hole,) = assessment.unchecked  # one item for the at-risk group, however many members it misses
    assert (hole.kind, hole.subject) == (UncheckedKind.MEMBER_NOT_FOUND, "CN=Remote Desktop Users,CN=Builtin," + ROOT)
    assert unchecked_detail(hole).startswith(f"members not in the data: {ghosts[0]} and 1 more; whether they let")
    assert [note.split(":")[0] for note in assessment.notes] == ["Inner", "Inner"]  # Inner is in no at-risk group


def test_a_domain_whose_principals_were_read_without_its_built_in_groups_is_a_hole():
    from tests.support.forest import CHILD

    forest, _, _ = _forest()
    forest.user("carl", domain=CHILD)  # the child's users were read, not its CN=Builtin
    (hole,) = assess(forest.directory()).unchecked
    assert (hole.kind, hole.subject) == (UncheckedKind.BUILTINS_NOT_READ, "emea.corp.example.com")
    assert "built-in groups (CN=Builtin) were read" in unchecked_detail(hole)
    forest.builtin(544, domain=CHILD.lower(), name="Administrators")  # one is enough (its domain spelt otherwise)
    assert assess(forest.directory()).unchecked == ()


def test_a_foreign_principal_named_by_its_dn_is_no_hole_when_its_object_was_not_exported():
    """Windows Authorization Access Group holds Enterprise Domain Controllers (S-1-5-9) by default, as a foreign
    security principal: an export without foreignSecurityPrincipal objects names it only by DN, which says what
    it is. An unread member of another kind is still a hole."""
    forest, _, _ = _forest()
    fsp = f"CN=S-1-5-9,CN=ForeignSecurityPrincipals,{ROOT}"
    forest.builtin(560, name="Windows Authorization Access Group")
    directory = forest.directory()
    principals = tuple(replace(p, members=(fsp,)) if p.sid.sub_authorities == (32, 560) else p
                       for p in directory.principals)  # fmt: skip
    assert assess(replace(directory, principals=principals)).unchecked == ()
    lookalike = f"CN=S-1-5-9,OU=Staff,{ROOT}"  # a name only: not the container of foreign principals
    principals = tuple(replace(p, members=(lookalike,)) if p.sid.sub_authorities == (32, 560) else p
                       for p in directory.principals)  # fmt: skip
    (hole,) = assess(replace(directory, principals=principals)).unchecked
    assert hole.kind is UncheckedKind.MEMBER_NOT_FOUND


def test_a_contact_read_in_an_at_risk_group_is_no_hole_and_one_not_read_is(tmp_path):
    """Mail-enabled groups hold contacts, which have no SID and are in no token: one the export holds is known to be
    no principal; the same DN not in the export could be anything, a sender too."""
    from tests.support.cli_runner import REPO, run_sidtool

    text = (REPO / "examples" / "corp-forest.ldif").read_text(encoding="utf-8")
    contact = "CN=Partner Contact,OU=Contacts,DC=corp,DC=example,DC=com"
    member = "member: CN=Terminal Access,CN=Users,DC=corp,DC=example,DC=com\n"
    assert text.count(member) == 1  # Terminal Access is in Remote Desktop Users
    with_member = text.replace(member, f"{member}member: {contact}\n")
    record = f"dn: {contact}\nobjectClass: top\nobjectClass: person\nobjectClass: contact\ncn: Partner Contact\n\n"
    for name, ldif, code in (("read.ldif", with_member + "\n" + record, 1), ("unread.ldif", with_member, 3)):
        (tmp_path / name).write_text(ldif, encoding="utf-8")
        result = run_sidtool("report", str(tmp_path / name), "--format", "json")
        assert result.returncode == code, result.stderr
        kinds = [item["kind"] for item in json.loads(result.stdout)["unchecked"]]
        assert kinds == ([] if code == 1 else ["member-not-found"])
