"""Generate a synthetic forest for scale tests: an ldifde-style LDIF, a PFDAVAdmin export, and ground truth.

    python benchmarks/gen_forest.py OUT_DIR [--users N] [--groups N] [--folders N] [--entries-per-folder N] ...
    python benchmarks/gen_forest.py OUT_DIR --samba-users 20000    # a forest to load into the test DC

With ``--samba-users N`` it writes only ``samba-load.ldif``: N users, N/10 groups and a group of
2,500 members in one domain, for ``tests/dc/run-dc start DIR --extra-ldif OUT_DIR/samba-load.ldif``
(the collection benchmark, benchmarks/collect_vs_ldapsearch.py, loads the same).

Writes into OUT_DIR:

* ``forest.ldif``: the directory as ``ldifde -f`` exports it (CRLF, base64 for
  binary and non-ASCII values, lines folded at 79 columns, member lists longer
  than 1500 values continued in ``changetype: modify`` records): crossRefs and
  domains (a root and its children), Windows Server 2003 domain controllers,
  users, groups nested in layers, the BUILTIN aliases of every domain, foreign
  security principals, the Exchange organisation (servers at chosen builds and
  their public stores on the MAPI tree), and mail-enabled publicFolder objects
  with an nTSecurityDescriptor;
* ``pfdavadmin.txt``: the folders' client permissions as PFDAVAdmin's Export
  Permissions writes them (UTF-16 LE with a BOM, ``SETACL<TAB>path<TAB>trustee
  <TAB>role...``);
* ``truth.json``: ground truth: every store permission entry that sidtool should
  report, with its expected risk. It is computed from what the generator planted
  (which users it put in the Windows Server 2003 built-ins, and how), by the
  generator's own bookkeeping; it never calls sidtool's membership or risk code.

Senders reach the 2003 built-ins (Remote Desktop Users, ... S-1-5-32-555 and up)
by four routes, mixed by ``--routes``: ``direct`` (a member of the alias),
``nested`` (through a chain of ``--depth`` groups), ``primary`` (through a
primaryGroupID naming a group that is in the alias; ``member`` never lists
it) and ``foreign`` (a foreign security principal of another domain standing
for the user). Decoys that must NOT be flagged: Domain Users in BUILTIN\\Users,
users in Pre-Windows 2000 Compatible Access, Domain Admins in Administrators
(Windows 2000 built-ins all), and folder entries whose role cannot post.

Output is streamed: folders and their entries are written as they are made,
so memory holds the principals' bookkeeping (a few small ints each), never the
ACL entries. The same ``--seed`` gives the same files.

With ``--snapshot``, it also writes ``forest.snapshot.json.gz``: the same forest
as a sidtool snapshot (``docs/snapshot.md``). The snapshot is made by sidtool's
own readers from the two files above (what a user gets from ``sidtool
collect``), not by the generator, so it is an input for measuring the snapshot
reader; the ground truth stays the generator's own.
"""

from __future__ import annotations

import argparse
import codecs
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sidtool.dn import escape_value
from sidtool.ldif_values import value_lines
from sidtool.security.sddl import parse_sddl
from sidtool.security.sid import Sid

GLOBAL, DOMAIN_LOCAL, BUILTIN_LOCAL = -2147483646, -2147483644, -2147483643
MEMBER_CHUNK = 1500  # ldifde continues longer member lists in modify records

# Windows 2000 built-ins (the pre-SP2 store knows them) and the Windows Server 2003 ones (it does not).
OLD_BUILTINS = {544: "Administrators", 545: "Users", 554: "Pre-Windows 2000 Compatible Access"}
NEW_BUILTINS = {
    555: "Remote Desktop Users",
    556: "Network Configuration Operators",
    558: "Performance Monitor Users",
    559: "Performance Log Users",
    562: "Distributed COM Users",
}

# Exchange builds: serialNumber, and whether the store has the KB 870585 fix (None: build unreadable).
BUILDS = {
    "2000sp3": ("Version 6.0 (Build 6249.4: Service Pack 3)", True),
    "2003": ("Version 6.5 (Build 6944.4)", True),
    "2003sp1": ("Version 6.5 (Build 7226.6: Service Pack 1)", True),
    "2003sp2": ("Version 6.5 (Build 7638.2: Service Pack 2)", False),
    "2007": ("Version 8.1 (Build 240.6)", False),
    "unknown": ("Version unknown", None),
}

# PFDAVAdmin roles and rights lists, and whether they include CreateItems (posting).
ROLES = [
    ("Owner", True),
    ("PublishingEditor", True),
    ("Editor", True),
    ("PublishingAuthor", True),
    ("Author", True),
    ("NonEditingAuthor", True),
    ("Contributor", True),
    ("ReadItems,CreateItems,FolderVisible", True),
    ("Reviewer", False),
    ("None", False),
    ("ReadItems,FolderVisible", False),
]
POSTING_ROLES = [role for role, posts in ROLES if posts]
QUIET_ROLES = [role for role, posts in ROLES if not posts]


@dataclass
class Principal:
    """What the generator knows about one account: enough to write it and to know who is at risk."""

    kind: str  # user, group, builtin, foreign
    domain: int
    rid: int  # for builtin: the alias RID; for foreign: unused
    dn: str
    account: str
    members: list[int] = field(default_factory=list)  # indexes of member principals (groups)
    cn: str = ""  # users: the common name (display name), when it differs from the account
    primary: int = 513  # users: primaryGroupID
    stands_for: int = -1  # foreign: the user it stands for


@dataclass
class Options:
    domains: int
    users: int
    groups: int
    depth: int
    fanout: int
    at_risk_share: float
    routes: dict[str, float]
    servers: list[str]
    folders: int
    entries_per_folder: int
    mail_enabled_share: float
    default_post_share: float
    seed: int


class Forest:
    """The principals, with the bookkeeping the oracle needs."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.random = random.Random(options.seed)
        self.principals: list[Principal] = []
        self.domain_dns: list[str] = []
        self.domain_sids: list[str] = []
        self.netbios: list[str] = []
        self.dns_names: list[str] = []
        self.next_rid: list[int] = []
        self.users_of: list[list[int]] = []
        self.groups_of: list[list[int]] = []  # ordinary groups (trustee candidates)
        self.builtins: list[dict[int, int]] = []  # domain → alias rid → principal index
        self.domain_users: list[int] = []
        self.at_risk: set[int] = set()  # planted senders (user indexes)
        self.route_of: dict[int, str] = {}

    # -- making principals -----------------------------------------------------

    def add(self, principal: Principal) -> int:
        self.principals.append(principal)
        return len(self.principals) - 1

    def rid(self, domain: int) -> int:
        self.next_rid[domain] += 1
        return self.next_rid[domain]

    def build(self) -> None:
        options, rnd = self.options, self.random
        for domain in range(options.domains):
            label = "corp" if domain == 0 else f"d{domain}"
            dns = "corp.example.com" if domain == 0 else f"{label}.corp.example.com"
            self.dns_names.append(dns)
            self.domain_dns.append(",".join(f"DC={part}" for part in dns.split(".")))
            self.netbios.append(label.upper())
            self.domain_sids.append(f"S-1-5-21-{rnd.randrange(10**9)}-{rnd.randrange(10**9)}-{rnd.randrange(10**9)}")
            self.next_rid.append(1100)
            self.users_of.append([])
            self.groups_of.append([])
            self.builtins.append({})
        for domain in range(options.domains):
            base = self.domain_dns[domain]
            users_dn = f"CN=Users,{base}"
            self.domain_users.append(self.add(Principal("group", domain, 513, f"CN=Domain Users,{users_dn}",
                                                        "Domain Users")))  # fmt: skip
            admins = self.add(Principal("group", domain, 512, f"CN=Domain Admins,{users_dn}", "Domain Admins"))
            self.groups_of[domain] += [self.domain_users[domain], admins]
            for rid, name in {**OLD_BUILTINS, **NEW_BUILTINS}.items():
                self.builtins[domain][rid] = self.add(Principal("builtin", domain, rid, f"CN={name},CN=Builtin,{base}",
                                                                name))  # fmt: skip
            builtin = self.builtins[domain]
            self.principals[builtin[544]].members.append(admins)  # decoys: Windows 2000 built-ins
            self.principals[builtin[545]].members.append(self.domain_users[domain])
        for index in range(options.users):
            domain = min(index * options.domains // max(1, options.users), options.domains - 1)
            name = f"u{domain}-{index:07d}"
            cn = f"Müller, Jürgen {index:07d}" if index % 50 == 7 else name  # some DNs need escaping and base64
            dn = f"CN={escape_value(cn)},OU=People,{self.domain_dns[domain]}"
            self.users_of[domain].append(self.add(Principal("user", domain, self.rid(domain), dn, name, cn=cn)))
        for domain in range(options.domains):
            users = self.users_of[domain]
            self.principals[self.groups_of[domain][1]].members += users[:2]
            decoys = self.principals[self.builtins[domain][554]].members
            decoys += rnd.sample(users, min(len(users), 5))
        self._layered_groups()
        self._plant()

    def _layered_groups(self) -> None:
        """Ordinary groups: layer 0 holds users, layer k holds groups of layer k-1 (an acyclic nesting)."""
        options, rnd = self.options, self.random
        per_domain = max(1, options.groups // options.domains)
        for domain in range(options.domains):
            layers: list[list[int]] = [[] for _ in range(options.depth)]
            for number in range(per_domain):
                layer = number % options.depth
                name = f"G{layer}-{domain}-{number:06d}"
                group = self.add(Principal("group", domain, self.rid(domain),
                                           f"CN={name},OU=Groups,{self.domain_dns[domain]}", name))  # fmt: skip
                layers[layer].append(group)
                self.groups_of[domain].append(group)
            users = self.users_of[domain]
            for layer, groups in enumerate(layers):
                pool = users if layer == 0 else layers[layer - 1]
                for group in groups:
                    if pool:
                        self.principals[group].members += rnd.sample(pool, min(len(pool), options.fanout))

    def _plant(self) -> None:
        """Put a share of the users into the 2003 built-ins, each by one route."""
        options, rnd = self.options, self.random
        routes = [route for route in ("direct", "nested", "primary", "foreign") if options.routes.get(route)]
        if options.domains < 2 and "foreign" in routes:
            routes.remove("foreign")
        weights = [options.routes[route] for route in routes]
        all_users = [user for users in self.users_of for user in users]
        count = round(len(all_users) * options.at_risk_share)
        chains: dict[int, list[list[int]]] = {}  # domain → chains (lowest group first)
        primary_groups: dict[int, list[int]] = {}
        for user in rnd.sample(all_users, min(count, len(all_users))) if routes else []:
            route = rnd.choices(routes, weights)[0]
            domain = self.principals[user].domain
            alias = rnd.choice(list(NEW_BUILTINS))
            if route == "direct":
                self.principals[self.builtins[domain][alias]].members.append(user)
            elif route == "nested":
                chain = self._chain(domain, chains)
                self.principals[chain[0]].members.append(user)
            elif route == "primary":
                group = self._primary_group(domain, primary_groups)
                self.principals[user].primary = self.principals[group].rid
            else:  # foreign: a foreign security principal in another domain stands for the user
                other = rnd.choice([d for d in range(options.domains) if d != domain])
                sid = f"{self.domain_sids[domain]}-{self.principals[user].rid}"
                fsp = self.add(Principal("foreign", other, 0, f"CN={sid},CN=ForeignSecurityPrincipals,"
                                         f"{self.domain_dns[other]}", sid, stands_for=user))  # fmt: skip
                if rnd.random() < 0.5:
                    self.principals[self.builtins[other][alias]].members.append(fsp)
                else:
                    self.principals[self._chain(other, chains)[0]].members.append(fsp)
            self.at_risk.add(user)
            self.route_of[user] = route

    def _chain(self, domain: int, chains: dict[int, list[list[int]]]) -> list[int]:
        """A chain of --depth groups ending in a 2003 alias; a few per domain, shared by many senders."""
        existing = chains.setdefault(domain, [])
        if len(existing) < 4:
            chain = []
            for level in range(self.options.depth):
                name = f"Route{len(existing)}-L{level}-{self.netbios[domain]}"
                group = self.add(Principal("group", domain, self.rid(domain),
                                           f"CN={name},OU=Groups,{self.domain_dns[domain]}", name))  # fmt: skip
                if chain:
                    self.principals[group].members.append(chain[-1])
                chain.append(group)
                self.groups_of[domain].append(group)
            alias = self.random.choice(list(NEW_BUILTINS))
            self.principals[self.builtins[domain][alias]].members.append(chain[-1])
            existing.append(chain)
            return chain
        return self.random.choice(existing)

    def _primary_group(self, domain: int, primary_groups: dict[int, list[int]]) -> int:
        existing = primary_groups.setdefault(domain, [])
        if len(existing) < 2:
            name = f"Primary{len(existing)}-{self.netbios[domain]}"
            group = self.add(Principal("group", domain, self.rid(domain),
                                       f"CN={name},OU=Groups,{self.domain_dns[domain]}", name))  # fmt: skip
            alias = self.random.choice(list(NEW_BUILTINS))
            self.principals[self.builtins[domain][alias]].members.append(group)
            self.groups_of[domain].append(group)
            existing.append(group)
            return group
        return self.random.choice(existing)

    # -- the oracle ------------------------------------------------------------

    def contains_sender(self) -> list[bool]:
        """For every principal: does it have a planted sender at or below it (member, primary group, FSP)?

        Computed on the generator's own structure, which is acyclic by construction
        (layers, chains and aliases only point downward), so a memoised walk is exact.
        """
        primary_members: dict[tuple[int, int], list[int]] = {}
        for index, principal in enumerate(self.principals):
            if principal.kind == "user":
                primary_members.setdefault((principal.domain, principal.primary), []).append(index)
        answer: list[bool | None] = [None] * len(self.principals)

        def visit(index: int) -> bool:
            if answer[index] is not None:
                return bool(answer[index])
            principal = self.principals[index]
            if principal.kind == "user":
                found = index in self.at_risk
            elif principal.kind == "foreign":
                found = visit(principal.stands_for)
            else:
                below = principal.members
                if principal.kind == "group":
                    below = below + primary_members.get((principal.domain, principal.rid), [])
                found = any(visit(member) for member in below)
            answer[index] = found
            return found

        sys.setrecursionlimit(max(10_000, self.options.depth * 10 + 1000))
        return [visit(index) for index in range(len(self.principals))]


class Writer:
    """ldifde-style LDIF records, written as they come."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.records = 0

    def record(self, dn: str, *attributes: tuple[str, object]) -> None:
        lines = [*value_lines("dn", dn), "changetype: add"]
        for name, value in attributes:
            for item in value if isinstance(value, list) else [value]:
                lines += value_lines(name, item)
        self.stream.write("\r\n".join(lines) + "\r\n\r\n")
        self.records += 1

    def members(self, dn: str, members: list[str]) -> None:
        """A member list continued as ldifde writes it: ``changetype: modify`` / ``add: member`` / ``-``."""
        lines = [*value_lines("dn", dn), "changetype: modify", "add: member"]
        for member in members:
            lines += value_lines("member", member)
        lines.append("-")
        self.stream.write("\r\n".join(lines) + "\r\n\r\n")


def _sid_bytes(text: str) -> bytes:
    return bytes(Sid.parse(text))


def write_directory(forest: Forest, ldif: Writer) -> dict[str, object]:
    """Everything but the folders; returns the facts the oracle needs about the Exchange organisation."""
    options = forest.options
    root = forest.domain_dns[0]
    config = f"CN=Configuration,{root}"
    ldif.record(config, ("objectClass", ["top", "configuration"]), ("cn", "Configuration"))
    for domain, base in enumerate(forest.domain_dns):
        attributes = [("objectClass", ["top", "crossRef"]), ("nCName", base), ("dnsRoot", forest.dns_names[domain]),
                      ("nETBIOSName", forest.netbios[domain]), ("systemFlags", 3)]  # fmt: skip
        if domain:
            attributes.append(("trustParent", f"CN={forest.netbios[0]},CN=Partitions,{config}"))
        ldif.record(f"CN={forest.netbios[domain]},CN=Partitions,{config}", *attributes)
        ldif.record(base, ("objectClass", ["top", "domain", "domainDNS"]),
                    ("objectSid", _sid_bytes(forest.domain_sids[domain])), ("msDS-Behavior-Version", 2))  # fmt: skip
        name = f"{forest.netbios[domain]}-DC1"
        ldif.record(f"CN={name},OU=Domain Controllers,{base}",
                    ("objectClass", ["top", "person", "organizationalPerson", "user", "computer"]), ("cn", name),
                    ("objectSid", _sid_bytes(f"{forest.domain_sids[domain]}-1000")), ("sAMAccountName", f"{name}$"),
                    ("primaryGroupID", 516), ("userAccountControl", 532480),
                    ("dNSHostName", f"{name.lower()}.{forest.dns_names[domain]}"),
                    ("operatingSystem", "Windows Server 2003"), ("operatingSystemVersion", "5.2 (3790)"))  # fmt: skip
    recipients = "/o=CORP/ou=First Administrative Group/cn=Recipients"
    for principal in forest.principals:
        domain = principal.domain
        domain_sid = forest.domain_sids[domain]
        if principal.kind == "user":
            ldif.record(principal.dn, ("objectClass", ["top", "person", "organizationalPerson", "user"]),
                        ("cn", principal.cn), ("displayName", principal.cn),
                        ("objectSid", _sid_bytes(f"{domain_sid}-{principal.rid}")),
                        ("sAMAccountName", principal.account), ("primaryGroupID", principal.primary),
                        ("userAccountControl", 512),
                        ("mail", f"{principal.account}@{forest.dns_names[domain]}"),
                        ("legacyExchangeDN", f"{recipients}/cn={principal.account}"))  # fmt: skip
            continue
        if principal.kind == "foreign":
            ldif.record(principal.dn, ("objectClass", ["top", "foreignSecurityPrincipal"]), ("cn", principal.account),
                        ("objectSid", _sid_bytes(principal.account)))  # fmt: skip
            continue
        builtin = principal.kind == "builtin"
        sid = f"S-1-5-32-{principal.rid}" if builtin else f"{domain_sid}-{principal.rid}"
        kind = BUILTIN_LOCAL if builtin else DOMAIN_LOCAL if principal.account.startswith("Route") else GLOBAL
        members = [forest.principals[member].dn for member in principal.members]
        attributes = [("objectClass", ["top", "group"]), ("cn", principal.account), ("objectSid", _sid_bytes(sid)),
                      ("sAMAccountName", principal.account), ("groupType", kind)]  # fmt: skip
        if members:
            attributes.append(("member", members[:MEMBER_CHUNK]))
        ldif.record(principal.dn, *attributes)
        for start in range(MEMBER_CHUNK, len(members), MEMBER_CHUNK):
            ldif.members(principal.dn, members[start : start + MEMBER_CHUNK])

    org = f"CN=CORP,CN=Microsoft Exchange,CN=Services,{config}"
    admin_group = f"CN=First Administrative Group,CN=Administrative Groups,{org}"
    mapi_tree = f"CN=Public Folders,CN=Folder Hierarchies,{admin_group}"
    ldif.record(org, ("objectClass", ["top", "container", "msExchOrganizationContainer"]), ("cn", "CORP"))
    ldif.record(admin_group, ("objectClass", ["top", "msExchAdminGroup"]), ("cn", "First Administrative Group"))
    ldif.record(mapi_tree, ("objectClass", ["top", "msExchPFTree"]), ("cn", "Public Folders"), ("msExchPFTreeType", 1))
    for number, build in enumerate(options.servers):
        name = f"EX{number + 1:02d}"
        server = f"CN={name},CN=Servers,{admin_group}"
        ldif.record(server, ("objectClass", ["top", "server", "msExchExchangeServer"]), ("cn", name),
                    ("serialNumber", BUILDS[build][0]))  # fmt: skip
        ldif.record(f"CN=Public Folder Store ({name}),CN=First Storage Group,CN=InformationStore,{server}",
                    ("objectClass", ["top", "msExchMDB", "msExchPublicMDB"]), ("cn", f"Public Folder Store ({name})"),
                    ("msExchOwningPFTree", mapi_tree))  # fmt: skip
    ldif.record(f"CN=Microsoft Exchange System Objects,{root}", ("objectClass", ["top", "container"]),
                ("cn", "Microsoft Exchange System Objects"))  # fmt: skip
    return {"mapi_tree": mapi_tree, "system_objects": f"CN=Microsoft Exchange System Objects,{root}"}


def expected_risk(options: Options) -> str:
    """KB 870585 for store entries of MAPI-tree folders: every condition known from what was generated."""
    fixes = [BUILDS[build][1] for build in options.servers]
    multi_domain = options.domains > 1
    if not multi_domain or (fixes and all(vulnerable is False for vulnerable in fixes)):
        return "low"
    if any(fixes):
        return "high"
    return "medium"  # no server, or builds unknown and none vulnerable


def write_folders(forest: Forest, exchange: dict[str, object], ldif: Writer, pfdavadmin, truth) -> dict[str, int]:
    """Folders one at a time: their SETACL line, their publicFolder object when mail-enabled, their truth."""
    options, rnd = forest.options, forest.random
    contains_sender = forest.contains_sender()
    any_sender = bool(forest.at_risk)
    risk = expected_risk(options)
    users = [user for users in forest.users_of for user in users]
    groups = [group for groups in forest.groups_of for group in groups]
    domain_admins = [groups[1] for groups in forest.groups_of]
    counts = {"folders": 0, "entries": 0, "posting_entries": 0, "at_risk_entries": 0}
    first = True
    tops = max(1, int(options.folders**0.5) // 4)
    for number in range(options.folders):
        top = f"Dept{number % tops:03d}"
        leaf = f"Folder {number:07d}" + (" \u2013 Québec" if number % 97 == 5 else "")
        path = f"/{top}/Team{(number // tops) % 25:02d}/{leaf}"
        entries: list[tuple[str, str, int | None, str]] = []  # (trustee text, role, principal, sid)
        default_role = rnd.choice(POSTING_ROLES) if rnd.random() < options.default_post_share else "None"
        entries.append(("Default", default_role, None, "S-1-1-0"))
        entries.append(("Anonymous", "None", None, "S-1-5-7"))
        chosen: set[int] = set()  # every trustee once per folder (negative: well-known ones)
        attempts = 0
        while len(entries) < options.entries_per_folder and attempts < 4 * options.entries_per_folder:
            attempts += 1
            role = rnd.choice(POSTING_ROLES) if rnd.random() < 0.7 else rnd.choice(QUIET_ROLES)
            draw = rnd.random()
            if draw < 0.004:
                well_known = -1 if draw < 0.002 else -2
                if well_known not in chosen:
                    chosen.add(well_known)
                    entries.append(("BUILTIN\\Remote Desktop Users", role, None, "S-1-5-32-555") if well_known == -1
                                   else ("NT AUTHORITY\\Authenticated Users", role, None, "S-1-5-11"))  # fmt: skip
                continue
            if draw < 0.01:
                principal = rnd.choice(forest.domain_users + domain_admins)
            elif draw < 0.55:
                principal = rnd.choice(users)
            else:
                principal = rnd.choice(groups)
            if principal in chosen:
                continue
            chosen.add(principal)
            item = forest.principals[principal]
            if item.kind == "user" and rnd.random() < 0.1:
                text = f"/o=CORP/ou=First Administrative Group/cn=Recipients/cn={item.account}"
            else:
                text = f"{forest.netbios[item.domain]}\\{item.account}"
            sid = f"{forest.domain_sids[item.domain]}-{item.rid}"
            entries.append((text, role, principal, sid))
        fields = ["SETACL", path.replace("/", "\\")]
        for text, role, _, _ in entries:
            fields += [text, role]
        pfdavadmin.write("\t".join(fields) + "\r\n")
        for text, role, principal, sid in entries:
            counts["entries"] += 1
            if role not in POSTING_ROLES:
                continue
            counts["posting_entries"] += 1
            if sid in ("S-1-1-0", "S-1-5-7", "S-1-5-11"):
                flagged = any_sender
            elif sid.startswith("S-1-5-32-"):
                flagged = True  # a 2003 alias named as trustee: always reported
            else:
                flagged = contains_sender[principal]
            if flagged:
                counts["at_risk_entries"] += 1
                record = {"folder": path, "trustee": text, "trustee_sid": sid, "risk": risk}
                truth.write(("" if first else ",\n") + "    " + json.dumps(record, ensure_ascii=False))
                first = False
        if rnd.random() < options.mail_enabled_share:
            _mail_enabled_folder(forest, exchange, ldif, leaf, number, entries)
        counts["folders"] += 1
    return counts


def _mail_enabled_folder(forest: Forest, exchange: dict[str, object], ldif: Writer, leaf: str, number: int,
                         entries: list[tuple[str, str, int | None, str]]) -> None:  # fmt: skip
    """The publicFolder object in AD: directory rights for Domain Admins, SYSTEM and a few of the store trustees."""
    named = [sid for _, role, principal, sid in entries if principal is not None and role in POSTING_ROLES][:2]
    aces = "".join(f"(A;;RPWPCCLC;;;{sid})" for sid in named)
    sddl = f"O:DAG:DAD:(A;;RPWPCCDCLCSWRCWDWO;;;DA)(A;;RPWPCCDCLCSWRCWDWO;;;SY){aces}"
    descriptor = parse_sddl(sddl, forest.domain_sids[0])
    alias = f"pf{number:07d}"
    dn = f"CN={escape_value(leaf)},{exchange['system_objects']}"
    ldif.record(dn, ("objectClass", ["top", "publicFolder"]), ("cn", leaf), ("displayName", leaf),
                ("mailNickname", alias), ("homeMDB", exchange["mapi_tree"]),
                ("legacyExchangeDN", f"/o=CORP/ou=First Administrative Group/cn=Recipients/cn={alias}"),
                ("proxyAddresses", [f"SMTP:{alias}@corp.example.com"]),
                ("nTSecurityDescriptor", bytes(descriptor)))  # fmt: skip


def generate(options: Options, out: Path) -> dict[str, object]:
    """Write forest.ldif, pfdavadmin.txt and truth.json into ``out``; return the summary."""
    out.mkdir(parents=True, exist_ok=True)
    forest = Forest(options)
    forest.build()
    summary: dict[str, object] = {}
    with (
        open(out / "forest.ldif", "w", encoding="utf-8", newline="") as ldif_stream,
        open(out / "pfdavadmin.txt", "wb") as pfdavadmin_raw,
        open(out / "truth.json", "w", encoding="utf-8", newline="\n") as truth,
    ):
        ldif_stream.write("# ldifde -f forest.ldif (synthetic forest, benchmarks/gen_forest.py)\r\n\r\n")
        ldif = Writer(ldif_stream)
        exchange = write_directory(forest, ldif)
        pfdavadmin_raw.write(codecs.BOM_UTF16_LE)
        pfdavadmin = codecs.getwriter("utf-16-le")(pfdavadmin_raw)
        header = ["PFDAVAdmin 2.8 permissions export", "Server: EX01.corp.example.com", "Top folder: Public Folders",
                  "Subfolders: yes", "Trustee format: account name", ""]  # fmt: skip
        pfdavadmin.write("\r\n".join(header) + "\r\n")
        truth.write("{\n")
        truth.write(f'  "generator": {json.dumps(vars(options))},\n')
        truth.write(f'  "senders_at_risk": {len(forest.at_risk)},\n')
        routes = {route: sum(1 for r in forest.route_of.values() if r == route) for route in sorted(options.routes)}
        truth.write(f'  "routes": {json.dumps(routes)},\n')
        truth.write('  "store_entries": [\n')
        counts = write_folders(forest, exchange, ldif, pfdavadmin, truth)
        truth.write("\n  ],\n")
        summary = {
            "principals": len(forest.principals),
            "records": ldif.records,
            "senders_at_risk": len(forest.at_risk),
            "routes": routes,
            **counts,
        }
        truth.write(f'  "summary": {json.dumps(summary)}\n}}\n')
    return summary


LARGE_GROUP_MEMBERS = 2500  # more than the 1,500 values a DC returns at once: read by ranged retrieval


def samba_load_ldif(users: int, groups: int, seed: int) -> str:
    """A one-domain forest to load into the test DC (``tests/dc/run-dc start DIR --extra-ldif FILE``).

    Users in OU=Load, global groups whose members are random users and, for some, other groups, and one
    group of LARGE_GROUP_MEMBERS users. ``${DOMAINDN}`` stands for the DC's domain; the DC assigns the SIDs.
    (The multi-domain forest of :func:`generate` cannot be loaded into one Samba DC: it spans domains.)
    """
    rng = random.Random(seed)
    lines = ["dn: OU=Load,${DOMAINDN}", "objectClass: organizationalUnit", ""]
    for number in range(users):
        lines += [
            f"dn: CN=load{number:06d},OU=Load,${{DOMAINDN}}",
            "objectClass: user",
            f"sAMAccountName: load{number:06d}",
            f"displayName: Load User {number:06d}",
            "",
        ]
    for number in range(groups):
        members = rng.sample(range(users), min(users, rng.randint(2, 40)))
        lines += [
            f"dn: CN=LoadGroup{number:05d},OU=Load,${{DOMAINDN}}",
            "objectClass: group",
            f"sAMAccountName: LoadGroup{number:05d}",
            "groupType: -2147483646",
        ]
        lines += [f"member: CN=load{member:06d},OU=Load,${{DOMAINDN}}" for member in members]
        if number and rng.random() < 0.3:
            lines.append(f"member: CN=LoadGroup{rng.randrange(number):05d},OU=Load,${{DOMAINDN}}")
        lines.append("")
    lines += [
        "dn: CN=LoadLargeGroup,OU=Load,${DOMAINDN}",
        "objectClass: group",
        "sAMAccountName: LoadLargeGroup",
        "groupType: -2147483646",
        *(f"member: CN=load{member:06d},OU=Load,${{DOMAINDN}}" for member in range(min(users, LARGE_GROUP_MEMBERS))),
        "",
    ]
    return "\n".join(lines)


def _routes(text: str) -> dict[str, float]:
    routes = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in ("direct", "nested", "primary", "foreign"):
            raise argparse.ArgumentTypeError(f"unknown route {name!r}; expected direct, nested, primary, foreign")
        routes[name.strip()] = float(weight or 1)
    return routes


def _builds(text: str) -> list[str]:
    builds = [part.strip() for part in text.split(",") if part.strip()]
    for build in builds:
        if build not in BUILDS:
            raise argparse.ArgumentTypeError(f"unknown build {build!r}; expected one of {', '.join(BUILDS)}")
    return builds


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    result.add_argument("out", type=Path, help="directory to write forest.ldif, pfdavadmin.txt and truth.json into")
    result.add_argument("--domains", type=int, default=3, help="domains: the root plus children (default 3)")
    result.add_argument("--users", type=int, default=1800, help="users, spread evenly over the domains")
    result.add_argument("--groups", type=int, default=200, help="ordinary groups (nested in --depth layers)")
    result.add_argument("--depth", type=int, default=3, help="nesting depth of groups and of the route chains")
    result.add_argument("--fanout", type=int, default=10, help="members per ordinary group")
    result.add_argument("--at-risk-share", type=float, default=0.001,
                        help="share of users planted in the 2003 built-ins (default 0.001)")  # fmt: skip
    result.add_argument("--routes", type=_routes, default=_routes("direct=1,nested=2,primary=1,foreign=1"),
                        help="route weights (default direct=1,nested=2,primary=1,foreign=1)")  # fmt: skip
    result.add_argument("--servers", type=_builds, default=_builds("2003sp2,2003sp1,2000sp3"),
                        help=f"Exchange servers by build, comma-separated: {', '.join(BUILDS)}")  # fmt: skip
    result.add_argument("--folders", type=int, default=500, help="public folders")
    result.add_argument("--entries-per-folder", type=int, default=20, help="client permission entries per folder")
    result.add_argument("--mail-enabled-share", type=float, default=0.1, help="share of folders with an AD object")
    result.add_argument("--default-post-share", type=float, default=0.02,
                        help="share of folders where Default may post (default 0.02)")  # fmt: skip
    result.add_argument("--seed", type=int, default=1, help="random seed (same seed, same files)")
    result.add_argument("--samba-users", type=int, default=0,
                        help="instead: write OUT/samba-load.ldif, this many users (and a tenth as many groups) "
                             "to load into the test DC with run-dc start --extra-ldif")  # fmt: skip
    result.add_argument("--snapshot", action="store_true",
                        help="also write forest.snapshot.json.gz (read by sidtool from the files written)")  # fmt: skip
    return result


def options_from(args: argparse.Namespace) -> Options:
    return Options(**{name: getattr(args, name) for name in Options.__dataclass_fields__})


def write_snapshot(out: Path) -> Path:
    """``out/forest.snapshot.json.gz``, read by sidtool from ``forest.ldif`` and ``pfdavadmin.txt`` in ``out``."""
    from sidtool.errors import InputError
    from sidtool.sources import read_inputs
    from sidtool.sources.snapshot import save

    problems: list[InputError] = []
    directory = read_inputs(
        [str(out / "pfdavadmin.txt")], on_problem=problems.append, directories=[str(out / "forest.ldif")]
    )
    if problems:
        raise SystemExit(f"gen_forest: the generated files did not read cleanly: {problems[0]}")
    path = out / "forest.snapshot.json.gz"
    save(directory, str(path), {"generator": "benchmarks/gen_forest.py"})
    return path


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.samba_users:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "samba-load.ldif"
        path.write_text(samba_load_ldif(args.samba_users, max(1, args.samba_users // 10), args.seed), encoding="utf-8")
        print(json.dumps({"samba_load_ldif": str(path), "users": args.samba_users}))
        return 0
    summary = generate(options_from(args), args.out)
    if args.snapshot:
        summary["snapshot"] = str(write_snapshot(args.out))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
