"""Membership closure: every route into the at-risk built-ins, shortest explanations, cycles."""

from __future__ import annotations

from sidtool.baseline import is_builtin_alias, unknown_to
from sidtool.membership import MembershipGraph
from sidtool.model import Principal
from tests.support.forest import CHILD, ROOT, Forest


def at_risk_builtin(principal: Principal) -> bool:
    return is_builtin_alias(principal.sid) and unknown_to(principal.sid, "2000")


def names(principals) -> list[str]:
    return [p.name for p in principals]


def test_direct_membership():
    forest = Forest()
    alice = forest.user("alice")
    forest.builtin(555, [alice], name="Remote Desktop Users")
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    membership = graph.membership(alice)
    assert names(membership.path) == ["alice", "Remote Desktop Users"]
    assert names(membership.groups) == ["Remote Desktop Users"]


def test_three_level_nesting_and_the_shortest_path_wins():
    forest = Forest()
    bob = forest.user("bob")
    level3 = forest.group("L3", [bob])
    level2 = forest.group("L2", [level3])
    level1 = forest.group("L1", [level2])
    shortcut = forest.group("Shortcut", [bob])
    forest.builtin(558, [level1, shortcut], name="Performance Monitor Users")
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert names(graph.membership(bob).path) == ["bob", "Shortcut", "Performance Monitor Users"]
    assert names(graph.membership(level3).path) == ["L3", "L2", "L1", "Performance Monitor Users"]


def test_primary_group_route():
    forest = Forest()
    carol = forest.user("carol", primary_group=513)  # Domain Users, which member never lists
    domain_users = forest.group("Domain Users", rid=513)
    forest.builtin(555, [domain_users], name="Remote Desktop Users")
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert names(graph.membership(carol).path) == ["carol", "Domain Users", "Remote Desktop Users"]


def test_primary_group_is_looked_up_in_the_principals_own_domain():
    forest = Forest()
    child_user = forest.user("dave", domain=CHILD, primary_group=513)
    root_users = forest.group("Domain Users", rid=513, domain=ROOT)
    forest.builtin(555, [root_users], name="Remote Desktop Users")
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert graph.membership(child_user) is None


def test_cycle_terminates_and_everyone_in_it_is_reached():
    forest = Forest()
    erin = forest.user("erin")
    a = forest.group("A", [erin])
    b = forest.group("B", [a])
    a = forest.add_members(a, b)  # A ⊃ B ⊃ A
    forest.builtin(559, [b], name="Performance Log Users")
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert names(graph.membership(erin).path) == ["erin", "A", "B", "Performance Log Users"]
    assert graph.membership(a) is not None


def test_cross_domain_universal_group_and_foreign_principal():
    forest = Forest()
    frank = forest.user("frank", domain=CHILD)
    universal = forest.group("All Staff", [frank], domain=ROOT)
    grace = forest.user("grace", domain=CHILD)
    grace_fsp = forest.foreign(grace.sid, domain=ROOT)
    forest.builtin(555, [universal, grace_fsp], domain=ROOT, name="Remote Desktop Users")
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert names(graph.membership(frank).path) == ["frank", "All Staff", "Remote Desktop Users"]
    path = graph.membership(grace).path
    assert [p.dn for p in path] == [grace.dn, grace_fsp.dn, path[-1].dn]


def test_the_same_builtin_sid_in_two_domains_is_two_groups():
    forest = Forest()
    root_user = forest.user("henry", domain=ROOT)
    child_user = forest.user("ivy", domain=CHILD)
    root_rdp = forest.builtin(555, [root_user], domain=ROOT, name="Remote Desktop Users")
    child_rdp = forest.builtin(555, [child_user], domain=CHILD, name="Remote Desktop Users")
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert graph.membership(root_user).groups == (root_rdp,)
    assert graph.membership(child_user).groups == (child_rdp,)


def test_every_group_is_listed_and_windows_2000_builtins_are_not_targets():
    forest = Forest()
    jack = forest.user("jack")
    forest.builtin(544, [jack], name="Administrators")
    forest.builtin(554, [jack], name="Pre-Windows 2000 Compatible Access")
    rdp = forest.builtin(555, [jack], name="Remote Desktop Users")
    mon = forest.builtin(558, [jack], name="Performance Monitor Users")
    kate = forest.user("kate")
    forest.builtin(544, [kate], domain=ROOT, name="Administrators 2")
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert set(graph.membership(jack).groups) == {rdp, mon}
    assert graph.membership(kate) is None
    assert [m.principal.name for m in graph.at_risk()] == ["jack"]


def test_members_within_a_trustee_group():
    forest = Forest()
    liam, mia, noah = forest.user("liam"), forest.user("mia"), forest.user("noah")
    sales = forest.group("Sales", [liam, mia])
    forest.builtin(555, [liam, noah], name="Remote Desktop Users")
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert [m.principal.name for m in graph.at_risk_within(sales)] == ["liam"]
    assert {m.principal.name for m in graph.at_risk()} == {"liam", "noah"}


def test_dangling_member_is_recorded_not_fatal():
    forest = Forest()
    olivia = forest.user("olivia")
    group = forest.group("Ghosts", [olivia])
    # The member DN names an object that was never read.
    forest.add_members(group, Principal("CN=Gone,DC=corp,DC=example,DC=com", olivia.sid, group.kind))
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert [d.member_dn for d in graph.dangling] == ["CN=Gone,DC=corp,DC=example,DC=com"]


def test_member_dns_match_case_and_escape_insensitively():
    forest = Forest()
    paul = forest.user("Paul, Jr.")
    forest.builtin(555, name="Remote Desktop Users")
    rdp = forest.principals[-1]
    assert paul.dn.startswith("CN=Paul\\, Jr.,")
    forest.add_members(rdp, Principal(paul.dn.replace("\\,", "\\2c", 1).upper(), paul.sid, paul.kind))
    graph = MembershipGraph(forest.directory(), at_risk_builtin)
    assert graph.membership(paul) is not None


def _brute_closure(by_dn: dict[str, Principal], start: Principal) -> set[str]:
    """Every DN below ``start`` in the member graph, itself included, by plain depth-first search."""
    seen, stack = {start.dn}, [start]
    while stack:
        for member_dn in stack.pop().members:
            if member_dn not in seen and member_dn in by_dn:
                seen.add(member_dn)
                stack.append(by_dn[member_dn])
    return seen


def test_pruned_walks_agree_with_brute_force_on_random_graphs_with_cycles():
    """at_risk_within and entry_edges (which walk only where senders are) against whole closures."""
    import random

    for seed in range(40):
        rng = random.Random(seed)
        forest = Forest()
        users = [forest.user(f"u{n}") for n in range(rng.randint(5, 25))]
        groups: list[Principal] = []
        for n in range(rng.randint(3, 12)):
            pool = users + groups
            groups.append(forest.group(f"g{n}", rng.sample(pool, rng.randint(0, min(5, len(pool))))))
        for _ in range(rng.randint(0, 4)):  # back edges: nesting cycles
            group = rng.choice(groups)
            groups[groups.index(group)] = forest.add_members(group, rng.choice(groups))
        aliases = [forest.builtin(rid, rng.sample(users + groups, rng.randint(0, 4)), name=f"alias{rid}")
                   for rid in (555, 558)]  # fmt: skip
        directory = forest.directory()
        by_dn = {p.dn: p for p in directory.principals}
        graph = MembershipGraph(directory, at_risk_builtin)
        senders = {m.principal.dn: m for m in graph.at_risk()}
        for alias in aliases:
            assert all(dn in senders for dn in _brute_closure(by_dn, by_dn[alias.dn]) if by_dn[dn].kind.value == "user")
        order = {p.dn: n for n, p in enumerate(directory.principals)}
        for group in [by_dn[g.dn] for g in groups + aliases]:
            expected = sorted((dn for dn in _brute_closure(by_dn, group) if dn in senders), key=order.get)
            assert [m.principal.dn for m in graph.at_risk_within(group)] == expected, (seed, group.name)
        letting_in = {p.sid for p in directory.principals if p.kind.value != "foreign" and graph.at_risk_within(p)}
        assert graph.sids_letting_senders_in() == letting_in, seed  # the risk engine's shortcut, against the walks
        for membership in senders.values():
            expected_edges = {
                (target.dn, member_dn)
                for target in membership.groups
                for member_dn in target.members
                if member_dn in by_dn and membership.principal.dn in _brute_closure(by_dn, by_dn[member_dn])
            }
            found = {(group.dn, member.dn) for group, member in graph.entry_edges(membership)}
            assert found == expected_edges, (seed, membership.principal.name)
