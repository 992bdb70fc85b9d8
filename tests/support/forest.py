"""Small in-memory forests for unit tests of the analysis (no file format involved)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sidtool.dn import escape_value
from sidtool.model import Directory, Domain, Principal, PrincipalKind
from sidtool.security.sid import Sid

ROOT = "DC=corp,DC=example,DC=com"
CHILD = "DC=emea,DC=corp,DC=example,DC=com"
ROOT_SID = "S-1-5-21-1000-2000-3000"
CHILD_SID = "S-1-5-21-4000-5000-6000"


@dataclass
class Forest:
    """Builds a Directory by naming things: ``forest.user("alice")``, ``forest.group("Sales", members=[...])``."""

    principals: list[Principal] = field(default_factory=list)
    domains: list[Domain] = field(
        default_factory=lambda: [
            Domain(ROOT, Sid.parse(ROOT_SID), "corp.example.com", "CORP"),
            Domain(CHILD, Sid.parse(CHILD_SID), "emea.corp.example.com", "EMEA", parent_dns_name="corp.example.com"),
        ]
    )
    next_rid: int = 1100

    def _add(self, principal: Principal) -> Principal:
        self.principals.append(principal)
        return principal

    def _rid_sid(self, domain: str, rid: int | None) -> Sid:
        if rid is None:
            rid = self.next_rid
            self.next_rid += 1
        return Sid.parse(f"{ROOT_SID if domain == ROOT else CHILD_SID}-{rid}")

    def user(self, name: str, domain: str = ROOT, primary_group: int = 513) -> Principal:
        dn = f"CN={escape_value(name)},CN=Users,{domain}"
        return self._add(Principal(dn, self._rid_sid(domain, None), PrincipalKind.USER, domain, name,
                                   primary_group_id=primary_group))  # fmt: skip

    def group(self, name: str, members: list[Principal] = (), domain: str = ROOT, rid: int | None = None) -> Principal:
        dn = f"CN={escape_value(name)},CN=Users,{domain}"
        group = Principal(dn, self._rid_sid(domain, rid), PrincipalKind.GROUP, domain, name,
                          members=tuple(m.dn for m in members))  # fmt: skip
        return self._add(group)

    def builtin(self, rid: int, members: list[Principal] = (), domain: str = ROOT, name: str | None = None):
        dn = f"CN={name or f'Builtin {rid}'},CN=Builtin,{domain}"
        alias = Principal(dn, Sid.parse(f"S-1-5-32-{rid}"), PrincipalKind.GROUP, domain, name or f"Builtin {rid}",
                          members=tuple(m.dn for m in members))  # fmt: skip
        return self._add(alias)

    def foreign(self, sid: Sid, domain: str = ROOT) -> Principal:
        dn = f"CN={sid},CN=ForeignSecurityPrincipals,{domain}"
        return self._add(Principal(dn, sid, PrincipalKind.FOREIGN, domain))

    def add_members(self, group: Principal, *members: Principal) -> Principal:
        """Give an existing group more members (to close a cycle, say)."""
        position = self.principals.index(group)
        updated = Principal(group.dn, group.sid, group.kind, group.domain_dn, group.name,
                            members=group.members + tuple(m.dn for m in members))  # fmt: skip
        self.principals[position] = updated
        return updated

    def directory(self) -> Directory:
        return Directory(forest_root_dn=ROOT, domains=tuple(self.domains), principals=tuple(self.principals))
