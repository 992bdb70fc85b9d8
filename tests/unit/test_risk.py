"""Scenarios of the KB 870585 risk engine: each route, each condition, and what is never flagged."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sidtool.model import (
    AclSource,
    DomainController,
    ExchangeServer,
    FolderPermissions,
    PermissionEntry,
    PublicFolder,
    PublicFolderTree,
    PublicStore,
    RightsKind,
)
from sidtool.risk import RiskLevel, assess
from sidtool.security.sddl import parse_sddl
from sidtool.security.sid import Sid
from tests.support.forest import CHILD, ROOT, Forest

ORG = (
    "CN=First Administrative Group,CN=Administrative Groups,CN=CORP,CN=Microsoft Exchange,CN=Services,CN=Configuration"
)
SP1 = "Version 6.5 (Build 7226.6: Service Pack 1)"
SP2 = "Version 6.5 (Build 7638.2: Service Pack 2)"
AUTHOR = 0x41B  # Author role: ReadAny, Create, EditOwned, DeleteOwned, FolderVisible
REVIEWER = 0x401  # Reviewer role: ReadAny, FolderVisible


def exchange(forest_directory, *serials: str):
    """Servers with public stores serving the MAPI tree, and Windows Server 2003 domain controllers."""
    servers, stores = [], []
    tree = PublicFolderTree(f"CN=Public Folders,CN=Folder Hierarchies,{ORG},{ROOT}", "Public Folders", 1)
    for number, serial in enumerate(serials, 1):
        server_dn = f"CN=EX{number},CN=Servers,{ORG},{ROOT}"
        servers.append(ExchangeServer(server_dn, f"EX{number}", serial))
        store_dn = f"CN=Public Folder Store (EX{number}),CN=First Storage Group,CN=InformationStore,{server_dn}"
        stores.append(PublicStore(store_dn, server_dn, tree.dn))
    controllers = (DomainController(f"CN=DC1,OU=Domain Controllers,{ROOT}", "DC1", "Windows Server 2003"),)
    return replace(forest_directory, exchange_servers=tuple(servers), public_stores=tuple(stores),
                   folder_trees=(tree,), domain_controllers=controllers)  # fmt: skip


def store_permissions(folder: str, *entries: tuple[str, Sid | None, int]) -> FolderPermissions:
    return FolderPermissions(
        folder,
        AclSource.STORE,
        tuple(PermissionEntry(name, sid, mask, RightsKind.MAPI, location=f"perms.txt:{n}")
              for n, (name, sid, mask) in enumerate(entries, 2)),
    )  # fmt: skip


def with_permissions(directory, *permissions: FolderPermissions):
    return replace(directory, permissions=tuple(permissions))


def one_finding(directory):
    assessment = assess(directory)
    assert len(assessment.findings) == 1, assessment.findings
    return assessment.findings[0]


def basic_forest():
    forest = Forest()
    alice = forest.user("alice")
    sales = forest.group("Sales", [alice])
    forest.builtin(555, [alice], name="Remote Desktop Users")
    return forest, alice, sales


def test_high_through_primary_group():
    forest = Forest()
    forest.user("carol")
    domain_users = forest.group("Domain Users", rid=513)
    forest.builtin(555, [domain_users], name="Remote Desktop Users")
    directory = exchange(forest.directory(), SP1)
    finding = one_finding(
        with_permissions(directory, store_permissions("/Sales", ("CORP\\Domain Users", domain_users.sid, AUTHOR)))
    )
    assert finding.risk is RiskLevel.HIGH
    assert [m.principal.name for m in finding.affected] == ["carol"]
    assert [p.name for p in finding.affected[0].path] == ["carol", "Domain Users", "Remote Desktop Users"]
    assert finding.builtin_sids == (Sid.parse("S-1-5-32-555"),)
    assert [s.server.name for s in finding.servers] == ["EX1"]
    assert finding.servers[0].hotfix == "6.5.7232.35"


def test_high_through_three_level_nesting():
    forest = Forest()
    bob = forest.user("bob")
    l3 = forest.group("L3", [bob])
    l2 = forest.group("L2", [l3])
    l1 = forest.group("L1", [l2])
    forest.builtin(558, [l1], name="Performance Monitor Users")
    directory = exchange(forest.directory(), SP1)
    finding = one_finding(with_permissions(directory, store_permissions("/Ops", ("CORP\\L3", l3.sid, AUTHOR))))
    assert finding.risk is RiskLevel.HIGH
    assert [p.name for p in finding.affected[0].path] == ["bob", "L3", "L2", "L1", "Performance Monitor Users"]


def test_cross_domain_universal_group():
    forest = Forest()
    frank = forest.user("frank", domain=CHILD)
    staff = forest.group("All Staff", [frank], domain=ROOT)
    forest.builtin(559, [frank], domain=CHILD, name="Performance Log Users")
    directory = exchange(forest.directory(), SP1)
    finding = one_finding(
        with_permissions(directory, store_permissions("/All", ("CORP\\All Staff", staff.sid, AUTHOR)))
    )
    assert finding.risk is RiskLevel.HIGH
    assert finding.affected[0].path[-1].domain_dn == CHILD


def test_cycle_in_nesting():
    forest = Forest()
    erin = forest.user("erin")
    a = forest.group("A", [erin])
    b = forest.group("B", [a])
    forest.add_members(a, b)
    forest.builtin(555, [b], name="Remote Desktop Users")
    directory = exchange(forest.directory(), SP1)
    finding = one_finding(with_permissions(directory, store_permissions("/Loop", ("CORP\\B", b.sid, AUTHOR))))
    assert [m.principal.name for m in finding.affected] == ["erin"]


def test_entry_naming_a_2003_builtin_directly_covers_both_domains():
    forest = Forest()
    root_user, child_user = forest.user("henry"), forest.user("ivy", domain=CHILD)
    forest.builtin(558, [root_user], domain=ROOT, name="Performance Monitor Users")
    forest.builtin(558, [child_user], domain=CHILD, name="Performance Monitor Users")
    directory = exchange(forest.directory(), SP1)
    mu = Sid.parse("S-1-5-32-558")
    finding = one_finding(
        with_permissions(directory, store_permissions("/Perf", ("BUILTIN\\Performance Monitor Users", mu, AUTHOR)))
    )
    assert finding.risk is RiskLevel.HIGH
    assert {m.principal.name for m in finding.affected} == {"henry", "ivy"}
    assert finding.builtin_sids == (mu,)


def test_everyone_and_default_while_at_risk_senders_exist():
    forest, _alice, _ = basic_forest()
    directory = exchange(forest.directory(), SP1)
    finding = one_finding(
        with_permissions(directory, store_permissions("/Public", ("Default", Sid.parse("S-1-1-0"), AUTHOR)))
    )
    assert finding.risk is RiskLevel.HIGH
    assert [m.principal.name for m in finding.affected] == ["alice"]


def test_everyone_without_at_risk_senders_is_not_a_finding():
    forest = Forest()
    forest.user("zoe")
    forest.builtin(555, name="Remote Desktop Users")
    directory = exchange(forest.directory(), SP1)
    assert (
        assess(
            with_permissions(directory, store_permissions("/Public", ("Default", Sid.parse("S-1-1-0"), AUTHOR)))
        ).findings
        == ()
    )


def test_entries_that_cannot_post_do_not_count():
    forest, _, sales = basic_forest()
    directory = exchange(forest.directory(), SP1)
    assert (
        assess(with_permissions(directory, store_permissions("/Sales", ("CORP\\Sales", sales.sid, REVIEWER)))).findings
        == ()
    )


def test_single_domain_forest_is_low():
    forest, _, sales = basic_forest()
    directory = exchange(forest.directory(), SP1)
    directory = replace(directory, domains=directory.domains[:1])
    finding = one_finding(with_permissions(directory, store_permissions("/Sales", ("CORP\\Sales", sales.sid, AUTHOR))))
    assert finding.risk is RiskLevel.LOW
    assert finding.false_conditions == ("multi-domain",) and finding.unknown_conditions == ()


def test_all_servers_at_sp2_is_low():
    forest, _, sales = basic_forest()
    directory = exchange(forest.directory(), SP2, SP2)
    finding = one_finding(with_permissions(directory, store_permissions("/Sales", ("CORP\\Sales", sales.sid, AUTHOR))))
    assert finding.risk is RiskLevel.LOW
    assert all(s.vulnerable is False for s in finding.servers)


def test_one_vulnerable_server_among_fixed_ones_is_high():
    forest, _, sales = basic_forest()
    directory = exchange(forest.directory(), SP2, "Version 6.0 (Build 6249.4: Service Pack 3)")
    finding = one_finding(with_permissions(directory, store_permissions("/Sales", ("CORP\\Sales", sales.sid, AUTHOR))))
    assert finding.risk is RiskLevel.HIGH
    assert [s.hotfix for s in finding.servers if s.vulnerable] == ["6.0.6617.6"]


def test_unknown_server_build_is_medium():
    forest, _, sales = basic_forest()
    directory = exchange(forest.directory(), "junk serial")
    finding = one_finding(with_permissions(directory, store_permissions("/Sales", ("CORP\\Sales", sales.sid, AUTHOR))))
    assert finding.risk is RiskLevel.MEDIUM
    assert finding.servers[0].vulnerable is None


@pytest.mark.parametrize("rid", [544, 554])
def test_windows_2000_builtins_are_never_flagged(rid):
    forest = Forest()
    admin = forest.user("admin")
    forest.builtin(rid, [admin], name=f"Old {rid}")
    directory = exchange(forest.directory(), SP1)
    sid = Sid.parse(f"S-1-5-32-{rid}")
    assessment = assess(with_permissions(directory, store_permissions("/Admin", ("BUILTIN\\Old", sid, AUTHOR))))
    assert assessment.findings == ()
    assert assessment.senders_at_risk == ()


def test_directory_rights_are_at_most_medium():
    forest, _alice, sales = basic_forest()
    directory = exchange(forest.directory(), SP1)
    descriptor = parse_sddl(f"O:BAG:BAD:(A;;RPWPCC;;;{sales.sid})(A;IO;RPWP;;;RD)(D;;RP;;;WD)")
    folder = PublicFolder(
        "Sales", dn=f"CN=Sales,CN=Microsoft Exchange System Objects,{ROOT}", descriptor=bytes(descriptor)
    )
    finding = one_finding(replace(directory, public_folders=(folder,)))
    assert finding.risk is RiskLevel.MEDIUM
    assert finding.entry.acl_source is AclSource.DIRECTORY
    assert finding.entry.folder_dn == folder.dn
    assert finding.entry.trustee_sid == sales.sid


def test_baseline_generalises():
    forest = Forest()
    forest.builtin(580, [forest.user("ray")], name="Remote Management Users")
    forest.builtin(555, [forest.user("sam")], name="Remote Desktop Users")
    directory = exchange(forest.directory(), SP1)
    rm = Sid.parse("S-1-5-32-580")
    permissions = store_permissions("/Mgmt", ("BUILTIN\\Remote Management Users", rm, AUTHOR),
                                    ("BUILTIN\\Remote Desktop Users", Sid.parse("S-1-5-32-555"), AUTHOR))  # fmt: skip
    assert {
        f.entry.trustee_sid for f in assess(with_permissions(directory, permissions), baseline="2003").findings
    } == {rm}
    assert len(assess(with_permissions(directory, permissions)).findings) == 2


def test_findings_are_sorted_by_risk_then_folder_and_counted():
    forest, _alice, sales = basic_forest()
    directory = exchange(forest.directory(), SP1)
    assessment = assess(with_permissions(
        directory,
        store_permissions("/b", ("CORP\\Sales", sales.sid, AUTHOR)),
        store_permissions("/a", ("CORP\\Sales", sales.sid, AUTHOR), ("CORP\\Nobody", None, AUTHOR)),
    ))  # fmt: skip
    assert [f.entry.folder for f in assessment.findings] == ["/a", "/b"]
    assert assessment.folders_scanned == 2 and assessment.entries_checked == 3


def test_one_domain_is_a_one_domain_forest_only_when_the_forest_s_crossrefs_were_read():
    from sidtool.model import Directory, Domain
    from sidtool.risk import multi_domain_condition

    corp = Domain("DC=corp,DC=example,DC=com", None, "corp.example.com")
    listed = multi_domain_condition(Directory(forest_root_dn="DC=corp,DC=example,DC=com", domains=(corp,)))
    assert (listed.holds, listed.basis.value) == (False, "one-domain")
    unlisted = multi_domain_condition(Directory(domains=(corp,)))  # no Configuration partition read
    assert (unlisted.holds, unlisted.basis.value, unlisted.values) == (None, "domains-unlisted", ("corp.example.com",))


def test_principals_read_in_two_naming_contexts_show_two_domains():
    """An export of a child domain's users without its domain object still shows the forest has two domains."""
    from sidtool.model import Directory, Domain, Principal, PrincipalKind
    from sidtool.risk import multi_domain_condition

    corp = Domain("DC=corp,DC=example,DC=com", None, "corp.example.com")
    bob = Principal("CN=Bob,CN=Users,DC=emea,DC=corp,DC=example,DC=com", Sid.parse("S-1-5-21-4-5-6-1105"),
                    PrincipalKind.USER, "DC=emea,DC=corp,DC=example,DC=com", "bob")  # fmt: skip
    condition = multi_domain_condition(Directory(domains=(corp,), principals=(bob,)))
    assert (condition.holds, condition.basis.value) == (True, "naming-contexts")
    assert condition.values == ("corp.example.com", "emea.corp.example.com")
    alone = multi_domain_condition(Directory(domains=(corp,), principals=(replace(bob, domain_dn=corp.dn),)))
    assert alone.holds is None  # one naming context, and no crossRef to say it is the only one
    listed = multi_domain_condition(Directory(forest_root_dn=corp.dn, domains=(corp,), principals=(bob,)))
    assert (listed.holds, listed.basis.value) == (False, "one-domain")  # the crossRefs read are the list
