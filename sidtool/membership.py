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

from array import array
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sidtool.dn import dn_key, split_rdns
from sidtool.errors import InputError
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


_USERS = frozenset({PrincipalKind.USER})  # the senders the risk engine asks about


def _names_foreign_principal(dn: str) -> bool:
    """``CN=<SID>,CN=ForeignSecurityPrincipals,<domain>``: a well-known SID (Enterprise Domain Controllers in
    Windows Authorization Access Group, by default) or a principal of another forest. Its DN says what the object
    would (its RDN is its SID): it stands for principals with that SID, which are not objects of this forest, so
    it leads to no sender, read or not (:meth:`MembershipGraph._link_foreign` does the same for one read)."""
    if dn[:5].upper() != "CN=S-":
        return False
    try:
        rdns = split_rdns(dn)
    except InputError:
        return False
    return len(rdns) > 2 and rdns[1][0].casefold() == "cn" and rdns[1][1].casefold() == "foreignsecurityprincipals"


def _kinds(kinds: Iterable[PrincipalKind]) -> frozenset[PrincipalKind]:
    return kinds if isinstance(kinds, frozenset) else frozenset(kinds)


class MembershipGraph:
    """The member graph of a directory, and the closure toward a set of target groups.

    Principals are numbered by their place in ``directory.principals``; edges are kept in two flat
    adjacency lists (member → groups, group → members: each a list of positions and the offset where
    each principal's part starts), and strongly connected components likewise, so that a forest of
    200,000 principals costs a few lists, not hundreds of thousands of small ones.
    """

    def __init__(self, directory: Directory, is_target: Callable[[Principal], bool]) -> None:
        self.directory = directory
        principals = directory.principals
        self._nodes = principals
        # Positions by DN as spelt (a member value is almost always spelt as its object's DN), and by DN key for
        # the others, made only when one is met; so most lookups need no canonical form, and none is kept.
        self._by_text = {p.dn: position for position, p in enumerate(principals)}
        self._by_key: dict[str, int] | None = None
        self.dangling: list[DanglingMember] = []
        members: list[int] = []  # the edges, in the order they are found: member position ...
        groups: list[int] = []  # ... and group position
        self._link_members(members, groups)
        self._link_foreign(members, groups)
        self._link_primary_groups(members, groups)
        self._groups_start, self._groups_of = _adjacency(len(principals), members, groups)  # member → its groups
        self._members_start, self._members_of = _adjacency(len(principals), groups, members)  # group → members
        del members, groups
        self.targets = tuple(position for position, p in enumerate(principals) if is_target(p))
        self._target_set = frozenset(self.targets)
        self._components, self._order, self._order_start = _strongly_connected(
            len(principals), self._groups_start, self._groups_of
        )
        self._reached = self._propagate_targets()
        self._next_hop = self._shortest_routes()
        self._memberships: dict[int, Membership] = {}
        self._within: dict[tuple[int, frozenset[PrincipalKind]], tuple[Membership, ...]] = {}
        self._sender_below: dict[frozenset[PrincipalKind], list[bool]] = {}
        self._letting_in: dict[frozenset[PrincipalKind], frozenset[Sid]] = {}
        self._edges: dict[int, tuple[tuple[Principal, Principal], ...]] = {}

    # -- building the graph ---------------------------------------------------

    def _find(self, dn: str) -> int | None:
        """The position of the principal with this DN, matched case- and escape-insensitively."""
        position = self._by_text.get(dn)
        if position is None:
            if self._by_key is None:
                self._by_key = {dn_key(p.dn): at for at, p in enumerate(self._nodes)}
            position = self._by_key.get(dn_key(dn))
        return position

    def _link_members(self, members: list[int], groups: list[int]) -> None:
        find, others = self._find, self.directory.others  # (objects read with no SID: a contact is no principal)
        for group_position, group in enumerate(self._nodes):
            for member_dn in group.members:
                member = find(member_dn)
                if member is None:
                    if not _names_foreign_principal(member_dn) and dn_key(member_dn) not in others:
                        self.dangling.append(DanglingMember(group, member_dn))
                else:
                    members.append(member)
                    groups.append(group_position)

    def _link_foreign(self, members: list[int], groups: list[int]) -> None:
        """A foreign security principal stands for every real principal of the forest with its SID."""
        foreign = [position for position, p in enumerate(self._nodes) if p.kind is PrincipalKind.FOREIGN]
        if not foreign:
            return
        stood_for = {self._nodes[position].sid for position in foreign}
        real: dict[Sid, list[int]] = {}
        for position, principal in enumerate(self._nodes):
            if principal.kind is not PrincipalKind.FOREIGN and principal.sid in stood_for:
                real.setdefault(principal.sid, []).append(position)
        for position in foreign:
            for target in real.get(self._nodes[position].sid, ()):
                members.append(target)
                groups.append(position)

    def _link_primary_groups(self, members: list[int], groups: list[int]) -> None:
        """primaryGroupID names a group of the principal's own domain by RID ([MS-ADTS] 3.1.1.4.5.x)."""
        # Groups by (authority, sub-authorities): the group SID a primaryGroupID names, with no Sid made for it.
        groups_by_sid = {
            (p.sid.authority, p.sid.sub_authorities): position
            for position, p in enumerate(self._nodes)
            if p.kind is PrincipalKind.GROUP and len(p.sid.sub_authorities) > 1
        }
        for position, principal in enumerate(self._nodes):
            if principal.primary_group_id is None or principal.kind is PrincipalKind.GROUP:
                continue
            sid = principal.sid
            if not sid.sub_authorities:
                continue
            group = groups_by_sid.get((sid.authority, (*sid.sub_authorities[:-1], principal.primary_group_id)))
            if group is not None:
                members.append(position)
                groups.append(group)

    def _groups(self, node: int) -> list[int]:
        """The groups ``node`` is directly in."""
        return self._groups_of[self._groups_start[node] : self._groups_start[node + 1]]

    def _members(self, node: int) -> list[int]:
        """The direct members of ``node``."""
        return self._members_of[self._members_start[node] : self._members_start[node + 1]]

    def _component_nodes(self, component: int) -> list[int]:
        return self._order[self._order_start[component] : self._order_start[component + 1]]

    # -- closure --------------------------------------------------------------

    def _propagate_targets(self) -> list[int]:
        """For each node, a bit set of the targets it reaches (strongly connected components, then DP)."""
        own = [0] * len(self._nodes)
        for bit, target in enumerate(self.targets):
            own[target] |= 1 << bit
        components = self._components
        count = len(self._order_start) - 1
        component_bits = [0] * count
        # Tarjan emits components sinks-first: every group a component points to is finished before it.
        for component_index in range(count):
            bits = 0
            for node in self._component_nodes(component_index):
                bits |= own[node]
                for group in self._groups(node):
                    if components[group] != component_index:
                        bits |= component_bits[components[group]]
            component_bits[component_index] = bits
        return [component_bits[component] for component in components]

    def _shortest_routes(self) -> list[int]:
        """One breadth-first search backwards from every target: the next hop toward the nearest one."""
        next_hop = [-1] * len(self._nodes)
        queue = deque(self.targets)
        for target in self.targets:
            next_hop[target] = target
        while queue:
            group = queue.popleft()
            for member in self._members(group):
                if next_hop[member] == -1:
                    next_hop[member] = group
                    queue.append(member)
        return next_hop

    # -- answers --------------------------------------------------------------

    def _position(self, principal: Principal) -> int | None:
        """Where ``principal`` is in the graph (by DN)."""
        return self._find(principal.dn)

    def reaches_target(self, principal: Principal) -> bool:
        """Is ``principal`` a target group, or in one, directly or not?"""
        position = self._position(principal)
        return position is not None and bool(self._reached[position])

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

    def at_risk(self, kinds: Iterable[PrincipalKind] = _USERS) -> list[Membership]:
        """Every principal of the given kinds that is in at least one target group."""
        wanted = _kinds(kinds)
        return [self._membership(position) for position in range(len(self._nodes)) if self._is_sender(position, wanted)]

    def at_risk_within(self, group: Principal, kinds: Iterable[PrincipalKind] = _USERS) -> tuple[Membership, ...]:
        """The at-risk principals that are transitively members of ``group`` (or are ``group``).

        The walk down the member graph enters only groups with an at-risk principal somewhere
        below them, so it costs the answer, not the size of the group; answers are memoised.
        """
        position = self._position(group)
        if position is None:
            return ()
        wanted = _kinds(kinds)
        if self._members_start[position] == self._members_start[position + 1]:  # no members: itself or nobody
            return (self._membership(position),) if self._is_sender(position, wanted) else ()
        cached = self._within.get((position, wanted))
        if cached is not None:
            return cached
        below, components = self._senders_below(wanted), self._components
        seen = {position}
        stack = [position]
        while stack:
            for member in self._members(stack.pop()):
                if member not in seen and below[components[member]]:
                    seen.add(member)
                    stack.append(member)
        found = tuple(self._membership(node) for node in sorted(seen) if self._is_sender(node, wanted))
        self._within[(position, wanted)] = found
        return found

    def sids_letting_senders_in(self, kinds: Iterable[PrincipalKind] = _USERS) -> frozenset[Sid]:
        """The SIDs of the principals (not foreign ones) that :meth:`at_risk_within` finds anyone in: an at-risk
        principal of ``kinds`` is the principal or nested somewhere in it. Any other SID lets no sender in."""
        wanted = _kinds(kinds)
        found = self._letting_in.get(wanted)
        if found is None:
            below, components = self._senders_below(wanted), self._components
            found = frozenset(
                principal.sid
                for position, principal in enumerate(self._nodes)
                if below[components[position]] and principal.kind is not PrincipalKind.FOREIGN
            )
            self._letting_in[wanted] = found
        return found

    def _senders_below(self, wanted: frozenset[PrincipalKind]) -> list[bool]:
        """Per component: whether it, or anything nested in it, is an at-risk principal of ``wanted`` kinds."""
        below = self._sender_below.get(wanted)
        if below is None:
            count = len(self._order_start) - 1
            below = [False] * count
            components = self._components
            # Members finish after the groups they reach, so in reverse emission order they come first.
            for component_index in range(count - 1, -1, -1):
                nodes = self._component_nodes(component_index)
                below[component_index] = any(self._is_sender(node, wanted) for node in nodes) or any(
                    below[components[member]] for node in nodes for member in self._members(node)
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
            for group in self._groups(node):
                if group in rank:
                    pairs.add((group, node))
                if group not in seen:
                    seen.add(group)
                    stack.append(group)
        ordered = sorted(pairs, key=lambda pair: (rank[pair[0]], pair[1]))
        edges = tuple((self._nodes[group], self._nodes[member]) for group, member in ordered)
        self._edges[position] = edges
        return edges


def _adjacency(count: int, sources: list[int], targets: list[int]) -> tuple[array[int], list[int]]:
    """Edges ``sources[i] → targets[i]`` as one flat list of targets grouped by source, in the order the edges
    came, and where each source's part starts (``start[n]`` to ``start[n + 1]``)."""
    start = array("q", bytes(8 * (count + 1)))  # machine integers: no int object per principal
    for source in sources:
        start[source + 1] += 1
    for position in range(count):
        start[position + 1] += start[position]
    flat = [0] * len(sources)
    fill = start[:-1]
    for source, target in zip(sources, targets, strict=True):
        flat[fill[source]] = target
        fill[source] += 1
    return start, flat


def _strongly_connected(count: int, start: array[int], edges: list[int]) -> tuple[array[int], list[int], array[int]]:
    """Iterative Tarjan over flat adjacency lists (:func:`_adjacency`): the component index of each node, and
    the components in reverse topological order, as their nodes in one list and where each component starts."""
    index = array("q", [-1]) * count
    low = array("q", bytes(8 * count))
    on_stack = bytearray(count)
    component = array("q", [-1]) * count
    stack: list[int] = []
    order: list[int] = []
    order_start = array("q", [0])
    counter = 0
    for root in range(count):
        if index[root] != -1:
            continue
        work = [(root, start[root])]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = 1
        while work:
            node, child_position = work[-1]
            if child_position < start[node + 1]:
                work[-1] = (node, child_position + 1)
                child = edges[child_position]
                if index[child] == -1:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack[child] = 1
                    work.append((child, start[child]))
                elif on_stack[child]:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                number = len(order_start) - 1
                while True:
                    member = stack.pop()
                    on_stack[member] = 0
                    component[member] = number
                    order.append(member)
                    if member == node:
                        break
                order_start.append(len(order))
    return component, order, order_start
