"""Transitive membership in the at-risk built-in groups, with one shortest explanation each.

Membership reaches a group three ways: its ``member`` list (nested, across
domains, and through foreign security principals, which stand for the
principals of another domain with that SID); a principal's ``primaryGroupID``,
which ``member`` never lists (Domain Users is the usual route to everyone);
and the BUILTIN aliases of each domain, which exist once per domain.

The work is done once, in time linear in the size of the graph: a strongly
connected component pass (nesting may loop) propagates which targets each
principal reaches, and one breadth-first search backwards from all targets
at once gives every principal its shortest path to the nearest one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sidtool.dn import dn_key
from sidtool.model import Directory, Principal, PrincipalKind
from sidtool.security.sid import Sid


@dataclass(frozen=True, slots=True)
class Membership:
    """How one principal belongs to at-risk groups: which ones, and one shortest route."""

    principal: Principal
    groups: tuple[Principal, ...]  # every at-risk group it is in, directly or not
    path: tuple[Principal, ...]  # principal → ... → the nearest at-risk group


@dataclass(frozen=True, slots=True)
class DanglingMember:
    """A member DN that names no object that was read."""

    group: Principal
    member_dn: str


class MembershipGraph:
    """The member graph of a directory, and the closure toward a set of target groups."""

    def __init__(self, directory: Directory, is_target: Callable[[Principal], bool]) -> None:
        self.directory = directory
        principals = directory.principals
        self._nodes = principals
        self._index = {dn_key(p.dn): position for position, p in enumerate(principals)}
        self._by_identity = {id(p): position for position, p in enumerate(principals)}  # the directory's own objects
        self.dangling: list[DanglingMember] = []
        self._groups_of: list[list[int]] = [[] for _ in principals]  # member → groups it is directly in
        self._members_of: list[list[int]] = [[] for _ in principals]  # group → direct members
        self._link_members()
        self._link_foreign()
        self._link_primary_groups()
        self.targets = tuple(position for position, p in enumerate(principals) if is_target(p))
        self._target_set = frozenset(self.targets)
        self._components, self._order = _strongly_connected(len(principals), self._groups_of)
        self._reached = self._propagate_targets()
        self._next_hop = self._shortest_routes()
        self._memberships: dict[int, Membership] = {}
        self._within: dict[tuple[int, frozenset[PrincipalKind]], tuple[Membership, ...]] = {}
        self._sender_below: dict[frozenset[PrincipalKind], list[bool]] = {}
        self._edges: dict[int, tuple[tuple[Principal, Principal], ...]] = {}

    # -- building the graph ---------------------------------------------------

    def _edge(self, member: int, group: int) -> None:
        self._groups_of[member].append(group)
        self._members_of[group].append(member)

    def _link_members(self) -> None:
        for group_position, group in enumerate(self._nodes):
            for member_dn in group.members:
                member = self._index.get(dn_key(member_dn))
                if member is None:
                    self.dangling.append(DanglingMember(group, member_dn))
                else:
                    self._edge(member, group_position)

    def _link_foreign(self) -> None:
        """A foreign security principal stands for every real principal of the forest with its SID."""
        real: dict[Sid, list[int]] = {}
        for position, principal in enumerate(self._nodes):
            if principal.kind is not PrincipalKind.FOREIGN:
                real.setdefault(principal.sid, []).append(position)
        for position, principal in enumerate(self._nodes):
            if principal.kind is PrincipalKind.FOREIGN:
                for target in real.get(principal.sid, ()):
                    self._edge(target, position)

    def _link_primary_groups(self) -> None:
        """primaryGroupID names a group of the principal's own domain by RID ([MS-ADTS] 3.1.1.4.5.x)."""
        groups_by_sid = {
            p.sid: position
            for position, p in enumerate(self._nodes)
            if p.kind is PrincipalKind.GROUP and len(p.sid.sub_authorities) > 1
        }
        for position, principal in enumerate(self._nodes):
            if principal.primary_group_id is None or principal.kind is PrincipalKind.GROUP:
                continue
            domain = principal.sid.domain
            if domain is None:
                continue
            group_sid = Sid(1, domain.authority, (*domain.sub_authorities, principal.primary_group_id))
            group = groups_by_sid.get(group_sid)
            if group is not None:
                self._edge(position, group)

    # -- closure --------------------------------------------------------------

    def _propagate_targets(self) -> list[int]:
        """For each node, a bit set of the targets it reaches (strongly connected components, then DP)."""
        own = [0] * len(self._nodes)
        for bit, target in enumerate(self.targets):
            own[target] |= 1 << bit
        components, order = self._components, self._order
        component_bits = [0] * len(order)
        # Tarjan emits components sinks-first: every group a component points to is finished before it.
        for component_index, members in enumerate(order):
            bits = 0
            for node in members:
                bits |= own[node]
                for group in self._groups_of[node]:
                    if components[group] != component_index:
                        bits |= component_bits[components[group]]
            component_bits[component_index] = bits
        return [component_bits[components[node]] for node in range(len(self._nodes))]

    def _shortest_routes(self) -> list[int]:
        """One breadth-first search backwards from every target: the next hop toward the nearest one."""
        next_hop = [-1] * len(self._nodes)
        queue = deque(self.targets)
        for target in self.targets:
            next_hop[target] = target
        while queue:
            group = queue.popleft()
            for member in self._members_of[group]:
                if next_hop[member] == -1:
                    next_hop[member] = group
                    queue.append(member)
        return next_hop

    # -- answers --------------------------------------------------------------

    def _position(self, principal: Principal) -> int | None:
        """Where ``principal`` is in the graph: by identity for the directory's own objects, else by DN."""
        position = self._by_identity.get(id(principal))
        if position is not None and self._nodes[position] is principal:
            return position
        return self._index.get(dn_key(principal.dn))

    def membership(self, principal: Principal) -> Membership | None:
        """The at-risk memberships of ``principal``, or None when it reaches no target."""
        position = self._position(principal)
        if position is None or not self._reached[position] or position in self._target_set:
            return None
        return self._membership(position)

    def _membership(self, position: int) -> Membership:
        cached = self._memberships.get(position)
        if cached is not None:
            return cached
        bits = self._reached[position]
        groups = tuple(self._nodes[target] for bit, target in enumerate(self.targets) if bits >> bit & 1)
        path = [position]
        while self._next_hop[path[-1]] != path[-1]:
            path.append(self._next_hop[path[-1]])
        membership = Membership(self._nodes[position], groups, tuple(self._nodes[node] for node in path))
        self._memberships[position] = membership
        return membership

    def _is_sender(self, position: int, wanted: frozenset[PrincipalKind]) -> bool:
        reached, kind = self._reached[position], self._nodes[position].kind
        return bool(reached) and position not in self._target_set and kind in wanted

    def at_risk(self, kinds: Iterable[PrincipalKind] = (PrincipalKind.USER,)) -> list[Membership]:
        """Every principal of the given kinds that is in at least one target group."""
        wanted = frozenset(kinds)
        return [self._membership(position) for position in range(len(self._nodes)) if self._is_sender(position, wanted)]

    def at_risk_within(
        self, group: Principal, kinds: Iterable[PrincipalKind] = (PrincipalKind.USER,)
    ) -> tuple[Membership, ...]:
        """The at-risk principals that are transitively members of ``group`` (or are ``group``).

        The walk down the member graph enters only groups with an at-risk principal somewhere
        below them, so it costs the answer, not the size of the group; answers are memoised.
        """
        position = self._position(group)
        if position is None:
            return ()
        wanted = frozenset(kinds)
        cached = self._within.get((position, wanted))
        if cached is not None:
            return cached
        below, components = self._senders_below(wanted), self._components
        seen = {position}
        stack = [position]
        while stack:
            for member in self._members_of[stack.pop()]:
                if member not in seen and below[components[member]]:
                    seen.add(member)
                    stack.append(member)
        found = tuple(self._membership(node) for node in sorted(seen) if self._is_sender(node, wanted))
        self._within[(position, wanted)] = found
        return found

    def _senders_below(self, wanted: frozenset[PrincipalKind]) -> list[bool]:
        """Per component: whether it, or anything nested in it, is an at-risk principal of ``wanted`` kinds."""
        below = self._sender_below.get(wanted)
        if below is None:
            below = [False] * len(self._order)
            components = self._components
            # Members finish after the groups they reach, so in reverse emission order they come first.
            for component_index in range(len(self._order) - 1, -1, -1):
                nodes = self._order[component_index]
                below[component_index] = any(self._is_sender(node, wanted) for node in nodes) or any(
                    below[components[member]] for node in nodes for member in self._members_of[node]
                )
            self._sender_below[wanted] = below
        return below

    def entry_edges(self, membership: Membership) -> tuple[tuple[Principal, Principal], ...]:
        """(at-risk group, direct member) pairs through which the principal is in those groups.

        Removing every one of these member values takes the principal out of all of its
        at-risk groups (a primary group is never a BUILTIN alias, so ``member`` is the only door).
        The direct members that matter are the principal and the groups above it: they are
        found by walking up from the principal, never by scanning a large group's members.
        """
        position = self._position(membership.principal)
        if position is None:
            return ()
        cached = self._edges.get(position)
        if cached is not None:
            return cached
        rank = {self._position(group): order for order, group in enumerate(membership.groups)}
        seen = {position}
        stack = [position]
        pairs = set()
        while stack:
            node = stack.pop()
            for group in self._groups_of[node]:
                if group in rank:
                    pairs.add((group, node))
                if group not in seen:
                    seen.add(group)
                    stack.append(group)
        ordered = sorted(pairs, key=lambda pair: (rank[pair[0]], pair[1]))
        edges = tuple((self._nodes[group], self._nodes[member]) for group, member in ordered)
        self._edges[position] = edges
        return edges


def _strongly_connected(count: int, edges: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    """Iterative Tarjan: (component index of each node, components in reverse topological order)."""
    index = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    component = [-1] * count
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(count):
        if index[root] != -1:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            node, child_position = work[-1]
            children = edges[node]
            if child_position < len(children):
                work[-1] = (node, child_position + 1)
                child = children[child_position]
                if index[child] == -1:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack[child] = True
                    work.append((child, 0))
                elif on_stack[child]:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component[member] = len(components)
                    members.append(member)
                    if member == node:
                        break
                components.append(members)
    return component, components
