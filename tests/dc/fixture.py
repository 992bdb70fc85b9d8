"""The test DC's fixture organisation, as data, and the LDIF and expected facts made from it.

Usage:
  python tests/dc/fixture.py OUTDIR             write OUTDIR/fixture-1-directory.ldif and
                                                OUTDIR/fixture-2-links.ldif (load in that order)
  python tests/dc/fixture.py --expected FILE    write the expected facts as JSON

Everything here is deterministic: the same input always gives the same bytes.
SIDs are assigned by the DC, so the LDIF names groups by ${SID:sAMAccountName}
placeholders (filled by load_ldif.py) and the JSON records names and DNs only.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

REALM = "CORP.EXAMPLE.COM"
NETBIOS = "CORP"
DOMAIN_DN = "DC=corp,DC=example,DC=com"
CONFIG_DN = f"CN=Configuration,{DOMAIN_DN}"
MAIL_DOMAIN = "corp.example.com"

GLOBAL, DOMAIN_LOCAL, UNIVERSAL = -2147483646, -2147483644, -2147483640
SCOPE_NAMES = {GLOBAL: "global", DOMAIN_LOCAL: "domain_local", UNIVERSAL: "universal"}

# The BUILTIN groups that Windows Server 2003 introduced (KB 870585), by cn.
BUILTIN_2003 = {
    "Remote Desktop Users": "S-1-5-32-555",
    "Network Configuration Operators": "S-1-5-32-556",
    "Incoming Forest Trust Builders": "S-1-5-32-557",
    "Performance Monitor Users": "S-1-5-32-558",
    "Performance Log Users": "S-1-5-32-559",
    "Windows Authorization Access Group": "S-1-5-32-560",
    "Terminal Server License Servers": "S-1-5-32-561",
    "Distributed COM Users": "S-1-5-32-562",
}
# A principal of a trusted (foreign) domain, reached through CN=ForeignSecurityPrincipals.
FOREIGN_SID = "S-1-5-21-1004336348-1177238915-682003330-1105"
BULK_COUNT = 1600


@dataclass(frozen=True, slots=True)
class User:
    """A fixture user account."""

    account: str
    given_name: str
    surname: str
    container: str = "OU=Staff"
    primary_group: str = "Domain Users"


@dataclass(frozen=True, slots=True)
class Group:
    """A fixture group; members are sAMAccountNames (users or groups) or SIDs of foreign principals."""

    account: str
    scope: int
    members: tuple[str, ...] = ()
    container: str = "OU=Groups"
    description: str = ""


@dataclass(frozen=True, slots=True)
class ExchangeServer:
    """An Exchange server object and its public store."""

    name: str
    admin_group: str
    serial_number: str
    stores: tuple[tuple[str, str], ...] = field(default=())  # (store cn, owning tree cn)


def escape_rdn(value: str) -> str:
    """Escape an RDN value as RFC 4514 asks (enough for the names used here)."""
    for char in '\\,+"<>;=':
        value = value.replace(char, "\\" + char)
    return value


# ---------------------------------------------------------------- the organisation

USERS: tuple[User, ...] = (
    User("adirect", "Anna", "Direct"),
    User("bnested", "Bernd", "Nested"),
    User("jmueller", "Jürgen", "Müller"),
    User("cperf", "Carla", "Perf"),
    User("dcycle", "Dieter", "Cycle"),
    User("edlocal", "Eva", "Local"),
    User("fprimary", "Frank", "Primary"),
    User("hnetops", "Hanna", "Netops"),
    User("iforest", "Ivo", "Forest"),
    User("kiosk01", "Kiosk", "One", container="OU=Kiosks", primary_group="GG-Kiosk"),
    User("aostergaard", "Åse", "Østergaard", container="OU=Kiosks", primary_group="GG-Kiosk"),
)
# Names with a comma get the "Surname, Given" cn, as many real directories do.
COMMA_NAMES = {"jmueller", "aostergaard"}

GROUPS: tuple[Group, ...] = (
    Group("GG-Helpdesk-L3", GLOBAL, ("bnested", "jmueller"), description="3 levels below Remote Desktop Users"),
    Group("UG-Helpdesk-L2", UNIVERSAL, ("GG-Helpdesk-L3",)),
    Group("DL-IT-Remote-L1", DOMAIN_LOCAL, ("UG-Helpdesk-L2",)),
    Group("UG-Cycle-A", UNIVERSAL, ("dcycle", "UG-Cycle-C"), description="A -> B -> C -> A"),
    Group("UG-Cycle-B", UNIVERSAL, ("UG-Cycle-A",)),
    Group("UG-Cycle-C", UNIVERSAL, ("UG-Cycle-B", "jmueller")),
    Group("DL-Inner", DOMAIN_LOCAL, ("edlocal",)),
    Group("DL-Outer", DOMAIN_LOCAL, ("DL-Inner",)),
    Group("GG-NetOps", GLOBAL, ("hnetops",)),
    Group("GG-Kiosk", GLOBAL, (), description="primary group of the kiosk accounts; in no BUILTIN group"),
    Group(
        "GG-Bulk-1600",
        GLOBAL,
        tuple(f"bulk{number:04d}" for number in range(1, BULK_COUNT + 1)),
        description="1,600 members: needs ranged retrieval",
    ),
)

# Members added to the BUILTIN groups (cn -> members).  Domain Users in Remote
# Desktop Users makes every account whose primary group is Domain Users affected.
BUILTIN_MEMBERS: dict[str, tuple[str, ...]] = {
    "Remote Desktop Users": ("adirect", "DL-IT-Remote-L1", "Domain Users"),
    "Network Configuration Operators": ("GG-NetOps",),
    "Incoming Forest Trust Builders": ("iforest",),
    "Performance Monitor Users": ("cperf", FOREIGN_SID),
    "Performance Log Users": ("UG-Cycle-B",),
    "Distributed COM Users": ("DL-Outer",),
}
# Provisioned by Samba itself (as by Windows): Enterprise Domain Controllers in WAAG.
PROVISIONED_BUILTIN_MEMBERS = {"Windows Authorization Access Group": ("S-1-5-9",)}

ORGANISATION = "CORP"
EXCHANGE_DN = f"CN=Microsoft Exchange,CN=Services,{CONFIG_DN}"
ORGANISATION_DN = f"CN={ORGANISATION},{EXCHANGE_DN}"
ADMIN_GROUPS = ("First Administrative Group", "Branch Administrative Group")
PF_TREES = (  # (admin group, tree cn, msExchPFTreeType)
    ("First Administrative Group", "Public Folders", 1),
    ("Branch Administrative Group", "Project Folders", 0),
)
SERVERS: tuple[ExchangeServer, ...] = (
    ExchangeServer(
        "EXCH01",
        "First Administrative Group",
        "Version 6.5 (Build 7226.6: Service Pack 1)",
        (("Public Folder Store (EXCH01)", "Public Folders"),),
    ),
    ExchangeServer(
        "EXCH02",
        "First Administrative Group",
        "Version 6.5 (Build 7638.2: Service Pack 2)",
        (("Public Folder Store (EXCH02)", "Public Folders"), ("Project Folder Store (EXCH02)", "Project Folders")),
    ),
    ExchangeServer(
        "EXCH00",
        "Branch Administrative Group",
        "Version 6.0 (Build 6249.4: Service Pack 3)",
        (("Public Folder Store (EXCH00)", "Public Folders"),),
    ),
)
SYSTEM_OBJECTS_DN = f"CN=Microsoft Exchange System Objects,{DOMAIN_DN}"
FOLDER_COUNT = 300
OWNER = "O:DAG:DA"
FULL = "(A;;RPWPCCDCLCSWRCWDWOGA;;;DA)"
DESCRIPTOR_TEMPLATES: dict[str, str] = {  # name -> SDDL; ${SID:x} filled in at load time
    "remote_desktop_read": f"{OWNER}D:{FULL}(A;;RPLCLORC;;;RD)(A;;RPLCLORC;;;AU)",
    "monitor_users_everyone": f"{OWNER}D:{FULL}(A;;RPLCLORC;;;MU)(A;;RPLCLORC;;;WD)",
    "nested_group_sid": f"{OWNER}D:{FULL}(A;;RPWPLCLORC;;;${{SID:DL-IT-Remote-L1}})(A;;RPLCLORC;;;BA)",
    "pre2000_object_ace": f"{OWNER}D:{FULL}(A;;RPLCLORC;;;RU)"
    "(OA;;RP;bf967a86-0de6-11d0-a285-00aa003049e2;;RD)(A;;RPLCLORC;;;AU)",
    "deny_remote_desktop_cycle": f"{OWNER}D:{FULL}(D;;WP;;;RD)(A;;RPLCLORC;;;${{SID:UG-Cycle-A}})(A;;RPLCLORC;;;AU)",
    "administrators_only": f"{OWNER}D:{FULL}(A;;RPLCLORC;;;BA)(A;;RPLCLORC;;;AU)",
}
# Explicit trustees of each template that are 2003 BUILTIN groups, and the fixture groups named by SID.
TEMPLATE_BUILTINS = {
    "remote_desktop_read": ["S-1-5-32-555"],
    "monitor_users_everyone": ["S-1-5-32-558"],
    "nested_group_sid": [],
    "pre2000_object_ace": ["S-1-5-32-555"],
    "deny_remote_desktop_cycle": ["S-1-5-32-555"],
    "administrators_only": [],
}
TEMPLATE_GROUPS = {"nested_group_sid": ["DL-IT-Remote-L1"], "deny_remote_desktop_cycle": ["UG-Cycle-A"]}


# ---------------------------------------------------------------- derived names


def common_name(user: User) -> str:
    return f"{user.surname}, {user.given_name}" if user.account in COMMA_NAMES else f"{user.given_name} {user.surname}"


def dn_of_user(user: User) -> str:
    return f"CN={escape_rdn(common_name(user))},{user.container},{DOMAIN_DN}"


def bulk_users() -> list[User]:
    return [
        User(f"bulk{number:04d}", "Bulk", f"User {number:04d}", container="OU=Bulk")
        for number in range(1, BULK_COUNT + 1)
    ]


def all_users() -> list[User]:
    return [*USERS, *bulk_users()]


def dn_of_group(name: str) -> str:
    if name in BUILTIN_2003 or name in ("Administrators", "Pre-Windows 2000 Compatible Access"):
        return f"CN={name},CN=Builtin,{DOMAIN_DN}"
    if name in ("Domain Users", "Domain Admins"):
        return f"CN={name},CN=Users,{DOMAIN_DN}"
    group = next(group for group in GROUPS if group.account == name)
    return f"CN={name},{group.container},{DOMAIN_DN}"


def dn_of_account(name: str) -> str:
    """DN of a fixture user or group named by sAMAccountName (or builtin cn)."""
    for user in USERS:
        if user.account == name:
            return dn_of_user(user)
    if name.startswith("bulk"):
        return dn_of_user(User(name, "Bulk", f"User {name[4:]}", container="OU=Bulk"))
    return dn_of_group(name)


def member_value(name: str) -> str:
    """The LDIF value that adds name to a group: a DN, or <SID=...> for a foreign principal."""
    return f"<SID={name}>" if name.startswith("S-1-") else dn_of_account(name)


def admin_group_dn(admin_group: str) -> str:
    return f"CN={admin_group},CN=Administrative Groups,{ORGANISATION_DN}"


def server_dn(server: ExchangeServer) -> str:
    return f"CN={server.name},CN=Servers,{admin_group_dn(server.admin_group)}"


def storage_group_dn(server: ExchangeServer) -> str:
    return f"CN=First Storage Group,CN=InformationStore,{server_dn(server)}"


def store_dn(server: ExchangeServer, store: str) -> str:
    return f"CN={escape_rdn(store)},{storage_group_dn(server)}"


def tree_dn(tree: str) -> str:
    admin_group = next(group for group, name, _ in PF_TREES if name == tree)
    return f"CN={tree},CN=Folder Hierarchies,{admin_group_dn(admin_group)}"


def legacy_dn(admin_group: str, *parts: str) -> str:
    return f"/o={ORGANISATION}/ou={admin_group}/" + "/".join(parts)


def mapi_stores() -> list[str]:
    return [store_dn(server, store) for server in SERVERS for store, tree in server.stores if tree == "Public Folders"]


def folder(number: int) -> dict[str, str]:
    """The facts of public folder number (1-based)."""
    template = list(DESCRIPTOR_TEMPLATES)[(number - 1) % len(DESCRIPTOR_TEMPLATES)]
    stores = mapi_stores()
    home = stores[(number - 1) % len(stores)]
    if number % 10 == 0:  # every tenth folder lives in the general-purpose tree's store
        home = store_dn(SERVERS[1], "Project Folder Store (EXCH02)")
    return {
        "dn": f"CN=PF-{number:04d},{SYSTEM_OBJECTS_DN}",
        "mailNickname": f"pf{number:04d}",
        "displayName": f"Folder {number:04d}",
        "homeMDB": home,
        "descriptor_template": template,
    }


# ---------------------------------------------------------------- LDIF


def ldif_value(attribute: str, value: str | int) -> str:
    """One attribute line; base64 when the value is not plain ASCII."""
    text = str(value)
    safe = text.isascii() and not text.startswith((" ", ":", "<")) and "\n" not in text
    if safe or (attribute == "member" and text.startswith("<SID=")):
        return f"{attribute}: {text}"
    return f"{attribute}:: {base64.b64encode(text.encode()).decode()}"


def entry(dn: str, *attributes: tuple[str, str | int]) -> str:
    lines = [ldif_value("dn", dn)]
    lines += [ldif_value(name, value) for name, value in attributes]
    return "\n".join(lines)


def add_members(dn: str, members: list[str]) -> str:
    lines = [ldif_value("dn", dn), "changetype: modify", "add: member"]
    lines += [ldif_value("member", value) for value in members]
    return "\n".join(lines) + "\n-"


def directory_ldif() -> str:
    """Phase 1: OUs, users, groups, memberships, the Exchange organisation."""
    records = [
        entry(f"{ou},{DOMAIN_DN}", ("objectClass", "organizationalUnit"))
        for ou in ("OU=Staff", "OU=Kiosks", "OU=Bulk", "OU=Groups")
    ]
    for user in all_users():
        records.append(
            entry(
                dn_of_user(user),
                ("objectClass", "user"),
                ("sAMAccountName", user.account),
                ("givenName", user.given_name),
                ("sn", user.surname),
                ("displayName", common_name(user)),
                ("userPrincipalName", f"{user.account}@{REALM.lower()}"),
                ("mail", f"{user.account}@{MAIL_DOMAIN}"),
            )
        )
    for group in GROUPS:
        attributes = [("objectClass", "group"), ("sAMAccountName", group.account), ("groupType", group.scope)]
        if group.description:
            attributes.append(("description", group.description))
        records.append(entry(dn_of_group(group.account), *attributes))
    for group in GROUPS:  # members after all groups exist, so cycles need no special order
        if group.members:
            records.append(add_members(dn_of_group(group.account), [member_value(m) for m in group.members]))
    for builtin, members in BUILTIN_MEMBERS.items():
        records.append(add_members(dn_of_group(builtin), [member_value(m) for m in members]))
    for user in USERS:  # a primary group must first be an ordinary group of the user
        if user.primary_group != "Domain Users":
            records.append(add_members(dn_of_group(user.primary_group), [dn_of_user(user)]))
    records += exchange_records()
    records.append(entry(SYSTEM_OBJECTS_DN, ("objectClass", "msExchSystemObjectsContainer")))
    return "\n\n".join(records) + "\n"


def exchange_records() -> list[str]:
    records = [
        entry(EXCHANGE_DN, ("objectClass", "msExchConfigurationContainer")),
        entry(ORGANISATION_DN, ("objectClass", "msExchOrganizationContainer")),
        entry(f"CN=Administrative Groups,{ORGANISATION_DN}", ("objectClass", "msExchAdminGroupContainer")),
    ]
    for admin_group in ADMIN_GROUPS:
        records += [
            entry(
                admin_group_dn(admin_group),
                ("objectClass", "msExchAdminGroup"),
                ("legacyExchangeDN", legacy_dn(admin_group)),
            ),
            entry(f"CN=Servers,{admin_group_dn(admin_group)}", ("objectClass", "msExchServersContainer")),
            entry(
                f"CN=Folder Hierarchies,{admin_group_dn(admin_group)}",
                ("objectClass", "msExchPublicFolderTreeContainer"),
            ),
        ]
    for admin_group, tree, tree_type in PF_TREES:
        records.append(
            entry(
                tree_dn(tree),
                ("objectClass", "msExchPFTree"),
                ("msExchPFTreeType", tree_type),
                ("displayName", tree),
                ("legacyExchangeDN", legacy_dn(admin_group, f"cn={tree}")),
            )
        )
    for server in SERVERS:
        records += [
            entry(
                server_dn(server),
                ("objectClass", "msExchExchangeServer"),
                ("serialNumber", server.serial_number),
                (
                    "legacyExchangeDN",
                    legacy_dn(server.admin_group, "cn=Configuration", "cn=Servers", f"cn={server.name}"),
                ),
            ),
            entry(f"CN=InformationStore,{server_dn(server)}", ("objectClass", "msExchInformationStore")),
            entry(storage_group_dn(server), ("objectClass", "msExchStorageGroup")),
        ]
        for store, tree in server.stores:
            records.append(
                entry(
                    store_dn(server, store),
                    ("objectClass", "msExchPublicMDB"),
                    ("displayName", store),
                    ("msExchOwningPFTree", tree_dn(tree)),
                )
            )
    return records


def links_ldif() -> str:
    """Phase 2: what needs SIDs assigned in phase 1 (primary groups, descriptors naming groups)."""
    records = []
    for user in USERS:
        if user.primary_group != "Domain Users":
            records.append(
                "\n".join(
                    [
                        ldif_value("dn", dn_of_user(user)),
                        "changetype: modify",
                        "replace: primaryGroupID",
                        f"primaryGroupID: ${{RID:{user.primary_group}}}",
                        "-",
                    ]
                )
            )
            # Changing the primary group makes the old one (Domain Users) an explicit
            # member value, as on Windows; remove it so the account is really out.
            records.append(
                "\n".join(
                    [
                        ldif_value("dn", dn_of_group("Domain Users")),
                        "changetype: modify",
                        "delete: member",
                        ldif_value("member", dn_of_user(user)),
                        "-",
                    ]
                )
            )
    for number in range(1, FOLDER_COUNT + 1):
        facts = folder(number)
        records.append(
            entry(
                facts["dn"],
                ("objectClass", "publicFolder"),
                ("displayName", facts["displayName"]),
                ("mailNickname", facts["mailNickname"]),
                ("homeMDB", facts["homeMDB"]),
                ("legacyExchangeDN", legacy_dn(ADMIN_GROUPS[0], "cn=Recipients", f"cn={facts['mailNickname']}")),
                ("proxyAddresses", f"SMTP:{facts['mailNickname']}@{MAIL_DOMAIN}"),
                ("nTSecurityDescriptor", DESCRIPTOR_TEMPLATES[facts["descriptor_template"]]),
            )
        )
    return "\n\n".join(records) + "\n"


# ---------------------------------------------------------------- expected facts


def group_edges() -> dict[str, list[str]]:
    """member name -> names of the groups it is a direct member of."""
    edges: dict[str, list[str]] = {}
    for group in GROUPS:
        for member in group.members:
            edges.setdefault(member, []).append(group.account)
    for builtin, members in BUILTIN_MEMBERS.items():
        for member in members:
            edges.setdefault(member, []).append(builtin)
    return edges


def routes_of(user: User, edges: dict[str, list[str]]) -> dict[str, list[dict[str, object]]]:
    """Every simple path from user to a 2003 BUILTIN group, keyed by that group's SID."""
    found: dict[str, list[dict[str, object]]] = {}
    starts = [([group], "direct") for group in edges.get(user.account, []) if group != user.primary_group]
    starts.append(([user.primary_group], "primary_group"))

    def walk(path: list[str], kind: str) -> None:
        last = path[-1]
        if last in BUILTIN_2003:
            route = kind if kind == "primary_group" or len(path) == 1 else "nested"
            found.setdefault(BUILTIN_2003[last], []).append({"route": route, "via": path})
        for parent in edges.get(last, []):
            if parent not in path:
                walk([*path, parent], kind)

    for path, kind in starts:
        walk(path, kind)
    return {sid: sorted(paths, key=lambda p: (len(p["via"]), p["via"])) for sid, paths in sorted(found.items())}


def expected_facts() -> dict[str, object]:
    edges = group_edges()
    users = []
    for user in USERS:
        users.append(
            {
                "sAMAccountName": user.account,
                "dn": dn_of_user(user),
                "displayName": common_name(user),
                "primary_group": user.primary_group,
                "builtin_2003": routes_of(user, edges),
            }
        )
    bulk = bulk_users()
    return {
        "realm": REALM,
        "netbios_name": NETBIOS,
        "base_dn": DOMAIN_DN,
        "builtin_2003": BUILTIN_2003,
        "users": users,
        "bulk_users": {
            "count": len(bulk),
            "sAMAccountName_format": "bulk%04d",
            "first_dn": dn_of_user(bulk[0]),
            "last_dn": dn_of_user(bulk[-1]),
            "primary_group": "Domain Users",
            "builtin_2003": routes_of(bulk[0], edges),
            "group": dn_of_group("GG-Bulk-1600"),
        },
        "groups": [
            {
                "sAMAccountName": group.account,
                "dn": dn_of_group(group.account),
                "scope": SCOPE_NAMES[group.scope],
                "member_count": len(group.members),
                "members": [dn_of_account(m) for m in group.members] if len(group.members) < 50 else None,
            }
            for group in GROUPS
        ],
        "builtin_members": {
            name: {
                "sid": BUILTIN_2003.get(name),
                "dn": dn_of_group(name),
                "members": [member_value(m) if m.startswith("S-1-") else dn_of_account(m) for m in members],
            }
            for name, members in BUILTIN_MEMBERS.items()
        },
        "provisioned_builtin_members": PROVISIONED_BUILTIN_MEMBERS,
        "foreign_principals": [
            {
                "sid": FOREIGN_SID,
                "dn": f"CN={FOREIGN_SID},CN=ForeignSecurityPrincipals,{DOMAIN_DN}",
                "builtin_2003": ["S-1-5-32-558"],
            }
        ],
        "unaffected_users": sorted(u["sAMAccountName"] for u in users if not u["builtin_2003"]),
        "exchange": {
            "organization": ORGANISATION,
            "organization_dn": ORGANISATION_DN,
            "admin_groups": [admin_group_dn(group) for group in ADMIN_GROUPS],
            "pf_trees": [{"dn": tree_dn(tree), "msExchPFTreeType": kind} for _, tree, kind in PF_TREES],
            "servers": [
                {
                    "name": server.name,
                    "dn": server_dn(server),
                    "serialNumber": server.serial_number,
                    "public_stores": [
                        {"dn": store_dn(server, store), "msExchOwningPFTree": tree_dn(tree)}
                        for store, tree in server.stores
                    ],
                }
                for server in SERVERS
            ],
        },
        "public_folders": {
            "container": SYSTEM_OBJECTS_DN,
            "count": FOLDER_COUNT,
            "descriptor_templates": {
                name: {
                    "sddl": sddl,
                    "builtin_2003": TEMPLATE_BUILTINS[name],
                    "fixture_groups": TEMPLATE_GROUPS.get(name, []),
                }
                for name, sddl in DESCRIPTOR_TEMPLATES.items()
            },
            "items": [folder(number) for number in range(1, FOLDER_COUNT + 1)],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", type=Path, help="folder for the two LDIF files")
    parser.add_argument("--expected", type=Path, help="write the expected facts (JSON) here")
    args = parser.parse_args(argv)
    if args.outdir is None and args.expected is None:
        parser.error("give OUTDIR and/or --expected FILE")
    if args.outdir is not None:
        args.outdir.mkdir(parents=True, exist_ok=True)
        (args.outdir / "fixture-1-directory.ldif").write_text(directory_ldif(), encoding="utf-8")
        (args.outdir / "fixture-2-links.ldif").write_text(links_ldif(), encoding="utf-8")
    if args.expected is not None:
        text = json.dumps(expected_facts(), indent=1, ensure_ascii=False) + "\n"
        args.expected.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
