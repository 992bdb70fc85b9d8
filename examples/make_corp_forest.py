"""Write examples/corp-forest.ldif: a small two-domain forest as ``ldifde -f`` exports it.

Run from the repository root: ``python examples/make_corp_forest.py``. The output is deterministic.
The forest: CORP (corp.example.com, forest root) and its child EMEA (emea.corp.example.com),
Windows Server 2003 domain controllers, an Exchange organisation with three servers at different
builds, and mail-enabled public folders whose permissions name users who reach the Windows
Server 2003 built-in groups every way: directly, nested, by primary group, and through a
foreign security principal.
"""

from __future__ import annotations

import codecs
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sidtool.dn import escape_value
from sidtool.ldif_values import value_lines
from sidtool.security.sddl import parse_sddl
from sidtool.security.sid import Sid

ROOT = "DC=corp,DC=example,DC=com"
CHILD = "DC=emea,DC=corp,DC=example,DC=com"
CONFIG = f"CN=Configuration,{ROOT}"
ROOT_SID = "S-1-5-21-1004336348-1177238915-682003330"
CHILD_SID = "S-1-5-21-3623811015-3361044348-30300820"
ORG = f"CN=CORP,CN=Microsoft Exchange,CN=Services,{CONFIG}"
ADMIN_GROUP = f"CN=First Administrative Group,CN=Administrative Groups,{ORG}"
SYSTEM_OBJECTS = f"CN=Microsoft Exchange System Objects,{ROOT}"
MAPI_TREE = f"CN=Public Folders,CN=Folder Hierarchies,{ADMIN_GROUP}"
PROJECT_TREE = f"CN=Projects,CN=Folder Hierarchies,{ADMIN_GROUP}"
RECIPIENTS = "/o=CORP/ou=First Administrative Group/cn=Recipients"
GLOBAL, UNIVERSAL, DOMAIN_LOCAL, BUILTIN_LOCAL = -2147483646, -2147483640, -2147483644, -2147483643

records: list[list[tuple[str, object]]] = []


def add(dn: str, *attributes: tuple[str, object]) -> str:
    records.append([("dn", dn), ("changetype", "add"), *attributes])
    return dn


def sid(domain: str, rid: int) -> Sid:
    return Sid.parse(f"{ROOT_SID if domain == ROOT else CHILD_SID}-{rid}")


def guid(dn: str) -> bytes:
    return uuid.uuid5(uuid.NAMESPACE_URL, dn).bytes_le


def user(name: str, account: str, domain: str, rid: int, primary: int = 513, container: str = "CN=Users") -> str:
    dn = f"CN={escape_value(name)},{container},{domain}"
    dns = "corp.example.com" if domain == ROOT else "emea.corp.example.com"
    return add(dn, ("objectClass", ["top", "person", "organizationalPerson", "user"]), ("cn", name),
               ("displayName", name), ("objectGUID", guid(dn)), ("objectSid", sid(domain, rid)),
               ("sAMAccountName", account), ("primaryGroupID", primary), ("userAccountControl", 512),
               ("mail", f"{account}@{dns}"), ("legacyExchangeDN", f"{RECIPIENTS}/cn={account}"))  # fmt: skip


def group(name: str, domain: str, rid: int, kind: int, members: list[str], container: str = "CN=Users") -> str:
    dn = f"CN={escape_value(name)},{container},{domain}"
    object_sid = Sid.parse(f"S-1-5-32-{rid}") if container == "CN=Builtin" else sid(domain, rid)
    values = [("objectClass", ["top", "group"]), ("cn", name), ("objectGUID", guid(dn)), ("objectSid", object_sid),
              ("sAMAccountName", name), ("groupType", kind)]  # fmt: skip
    if members:
        values.append(("member", members))
    return add(dn, *values)


def controller(name: str, domain: str, rid: int, dns: str) -> str:
    dn = f"CN={name},OU=Domain Controllers,{domain}"
    return add(dn, ("objectClass", ["top", "person", "organizationalPerson", "user", "computer"]), ("cn", name),
               ("objectGUID", guid(dn)), ("objectSid", sid(domain, rid)), ("sAMAccountName", f"{name}$"),
               ("primaryGroupID", 516), ("userAccountControl", 532480), ("dNSHostName", f"{name.lower()}.{dns}"),
               ("operatingSystem", "Windows Server 2003"), ("operatingSystemVersion", "5.2 (3790)"),
               ("operatingSystemServicePack", "Service Pack 1"))  # fmt: skip


def folder(name: str, tree: str, sddl: str) -> str:
    dn = f"CN={escape_value(name)},{SYSTEM_OBJECTS}"
    descriptor = parse_sddl(sddl, ROOT_SID)
    alias = name.replace(" ", "")
    return add(dn, ("objectClass", ["top", "publicFolder"]), ("cn", name), ("displayName", name),
               ("mailNickname", alias), ("homeMDB", tree), ("objectGUID", guid(dn)),
               ("legacyExchangeDN", f"/o=CORP/ou=First Administrative Group/cn=Recipients/cn={alias}"),
               ("proxyAddresses", [f"SMTP:{alias}@corp.example.com"]),
               ("nTSecurityDescriptor", bytes(descriptor)))  # fmt: skip


def build() -> None:
    # Forest topology: crossRefs in the Configuration partition, and the two domain objects.
    add(CONFIG, ("objectClass", ["top", "configuration"]), ("cn", "Configuration"))
    root_ref = add(f"CN=CORP,CN=Partitions,{CONFIG}", ("objectClass", ["top", "crossRef"]), ("nCName", ROOT),
                   ("dnsRoot", "corp.example.com"), ("nETBIOSName", "CORP"), ("systemFlags", 3))  # fmt: skip
    add(f"CN=EMEA,CN=Partitions,{CONFIG}", ("objectClass", ["top", "crossRef"]), ("nCName", CHILD),
        ("dnsRoot", "emea.corp.example.com"), ("nETBIOSName", "EMEA"), ("systemFlags", 3),
        ("trustParent", root_ref))  # fmt: skip
    for domain, domain_sid in ((ROOT, ROOT_SID), (CHILD, CHILD_SID)):
        add(domain, ("objectClass", ["top", "domain", "domainDNS"]), ("objectGUID", guid(domain)),
            ("objectSid", Sid.parse(domain_sid)), ("msDS-Behavior-Version", 2))  # fmt: skip
    controller("CORP-DC1", ROOT, 1000, "corp.example.com")
    controller("EMEA-DC1", CHILD, 1000, "emea.corp.example.com")

    # CORP users and groups.
    admin = user("Administrator", "Administrator", ROOT, 500)
    alice = user("Alice Nguyen", "alice.nguyen", ROOT, 1105)
    bob = user("Bob Smith", "bob.smith", ROOT, 1106)
    carol = user("Carol Jones", "carol.jones", ROOT, 1107)
    mueller = user("Müller, Jürgen", "jmueller", ROOT, 1108)
    kiosk = user("Kiosk 01", "kiosk01", ROOT, 1109, primary=514)  # Domain Guests: reaches nothing
    # A second "Carol Jones" (in no group): her display name alone does not tell the two apart.
    user("Carol Jones", "carol.jones2", ROOT, 1116, container="OU=Contractors")
    # EMEA users: their primary group is EMEA's Domain Users, which is in EMEA's Remote Desktop Users.
    dave = user("Dave Kowalski", "dave.kowalski", CHILD, 1201)
    erin = user("Erin Larsen", "erin.larsen", CHILD, 1202)
    user("Frank Moreau", "frank.moreau", CHILD, 1203)
    frank_fsp = f"CN={sid(CHILD, 1203)},CN=ForeignSecurityPrincipals,{ROOT}"
    add(frank_fsp, ("objectClass", ["top", "foreignSecurityPrincipal"]), ("cn", str(sid(CHILD, 1203))),
        ("objectSid", sid(CHILD, 1203)))  # fmt: skip

    domain_admins = group("Domain Admins", ROOT, 512, GLOBAL, [admin])
    group("Domain Users", ROOT, 513, GLOBAL, [])
    group("Domain Guests", ROOT, 514, GLOBAL, [])
    managers = group("Sales Managers", ROOT, 1110, GLOBAL, [carol])
    sales = group("Sales", ROOT, 1111, GLOBAL, [alice, managers])
    terminal = group("Terminal Access", ROOT, 1112, DOMAIN_LOCAL, [managers])
    perf_ops = group("Performance Operations", ROOT, 1113, GLOBAL, [bob])
    helpdesk = group("Helpdesk", ROOT, 1114, DOMAIN_LOCAL, [frank_fsp])
    staff = group("All Staff", ROOT, 1115, UNIVERSAL, [alice, bob, carol, mueller, dave, erin])
    group("Administrators", ROOT, 544, BUILTIN_LOCAL, [admin, domain_admins], container="CN=Builtin")
    group("Pre-Windows 2000 Compatible Access", ROOT, 554, BUILTIN_LOCAL, [alice], container="CN=Builtin")
    group("Remote Desktop Users", ROOT, 555, BUILTIN_LOCAL, [terminal, mueller], container="CN=Builtin")
    group("Performance Monitor Users", ROOT, 558, BUILTIN_LOCAL, [perf_ops], container="CN=Builtin")
    group("Network Configuration Operators", ROOT, 556, BUILTIN_LOCAL, [helpdesk], container="CN=Builtin")

    emea_users = group("Domain Users", CHILD, 513, GLOBAL, [])
    group("Domain Admins", CHILD, 512, GLOBAL, [])
    group("Administrators", CHILD, 544, BUILTIN_LOCAL, [], container="CN=Builtin")
    group("Remote Desktop Users", CHILD, 555, BUILTIN_LOCAL, [emea_users], container="CN=Builtin")

    # The Exchange organisation: three servers, each with a public store; a MAPI tree and a project tree.
    add(ORG, ("objectClass", ["top", "container", "msExchOrganizationContainer"]), ("cn", "CORP"))
    add(ADMIN_GROUP, ("objectClass", ["top", "msExchAdminGroup"]), ("cn", "First Administrative Group"))
    add(MAPI_TREE, ("objectClass", ["top", "msExchPFTree"]), ("cn", "Public Folders"), ("msExchPFTreeType", 1))
    add(PROJECT_TREE, ("objectClass", ["top", "msExchPFTree"]), ("cn", "Projects"), ("msExchPFTreeType", 0))
    servers = [("EX2003A", "Version 6.5 (Build 7226.6: Service Pack 1)", [MAPI_TREE]),
               ("EX2003B", "Version 6.5 (Build 7638.2: Service Pack 2)", [MAPI_TREE, PROJECT_TREE]),
               ("EX2000", "Version 6.0 (Build 6249.4: Service Pack 3)", [MAPI_TREE])]  # fmt: skip
    for name, serial, trees in servers:
        server = add(f"CN={name},CN=Servers,{ADMIN_GROUP}", ("objectClass", ["top", "server", "msExchExchangeServer"]),
                     ("cn", name), ("serialNumber", serial))  # fmt: skip
        for tree in trees:
            label = "Public Folder Store" if tree == MAPI_TREE else "Projects Store"
            add(f"CN={label} ({name}),CN=First Storage Group,CN=InformationStore,{server}",
                ("objectClass", ["top", "msExchMDB", "msExchPublicMDB"]), ("cn", f"{label} ({name})"),
                ("msExchOwningPFTree", tree))  # fmt: skip

    add(SYSTEM_OBJECTS, ("objectClass", ["top", "container"]), ("cn", "Microsoft Exchange System Objects"))
    owner = "O:DAG:DA"
    folder(
        "Sales Orders",
        MAPI_TREE,
        f"{owner}D:(A;;RPWPCCDCLCSWRCWDWO;;;DA)(A;;RPWPCCLC;;;{sid(ROOT, 1111)})(A;;RPLC;;;WD)",
    )
    folder("Helpdesk Tickets", MAPI_TREE, f"{owner}D:(A;;RPWPCCDCLCSWRCWDWO;;;DA)(A;;RPWPCCLC;;;{sid(ROOT, 1114)})")
    folder("Company Announcements", MAPI_TREE, f"{owner}D:(A;;RPWPCCDCLCSWRCWDWO;;;DA)(A;;RPWPCCLC;;;AU)")
    folder("Performance Reports", MAPI_TREE, f"{owner}D:(A;;RPWPCCDCLCSWRCWDWO;;;DA)(A;;RPWPCCLC;;;MU)")
    folder("Admin Notices", MAPI_TREE, f"{owner}D:(A;;RPWPCCDCLCSWRCWDWO;;;DA)(A;;RPWPCCLC;;;BA)(A;;RPLC;;;RU)")
    folder("Kiosk Drop", MAPI_TREE, f"{owner}D:(A;;RPWPCCDCLCSWRCWDWO;;;DA)(A;;RPWPCCLC;;;{sid(ROOT, 1109)})")
    folder("Project Phoenix", PROJECT_TREE, f"{owner}D:(A;;RPWPCCDCLCSWRCWDWO;;;DA)(A;;RPWPCCLC;;;{sid(ROOT, 1115)})")
    _ = (staff, sales, dave, erin, kiosk)


# The store's client permissions of the MAPI-tree folders (Project Phoenix lives in the Projects tree, which
# PFDAVAdmin's "Public Folders" export does not cover). Trustees as PFDAVAdmin writes them in account-name
# format (one in legacyExchangeDN format), and as the cmdlets print them (display names where there are some).
STORE_PERMISSIONS = [
    ("Sales Orders", [("Default", "Reviewer", "Default"), ("Anonymous", "None", "Anonymous"),
                      ("CORP\\Sales", "Author", "CORP\\Sales"),
                      (f"{RECIPIENTS}/cn=alice.nguyen", "Owner", "Alice Nguyen"),
                      ("EMEA\\dave.kowalski", "Author", "Dave Kowalski")]),
    ("Helpdesk Tickets", [("Default", "None", "Default"), ("Anonymous", "None", "Anonymous"),
                          ("CORP\\Helpdesk", "Author", "CORP\\Helpdesk")]),
    ("Company Announcements", [("Default", "Author", "Default"), ("Anonymous", "None", "Anonymous"),
                               ("CORP\\jmueller", "Editor", "Müller, Jürgen")]),
    ("Performance Reports", [("Default", "None", "Default"), ("Anonymous", "None", "Anonymous"),
                             ("CORP\\Performance Operations", "ReadItems,CreateItems,FolderVisible",
                              "CORP\\Performance Operations")]),
    ("Admin Notices", [("Default", "Reviewer", "Default"), ("Anonymous", "None", "Anonymous"),
                       ("CORP\\Domain Admins", "Owner", "CORP\\Domain Admins")]),
    ("Kiosk Drop", [("Default", "None", "Default"), ("Anonymous", "None", "Anonymous"),
                    ("CORP\\kiosk01", "Contributor", "Kiosk 01")]),
]  # fmt: skip


def pfdavadmin_text() -> str:
    """The permissions as PFDAVAdmin's Export Permissions writes them: header lines, then SETACL lines.

    The header wording is illustrative (no sample of it was found); readers skip every line before the
    first SETACL line.
    """
    lines = ["PFDAVAdmin 2.8 permissions export", "Server: EX2003A.corp.example.com",
             "Top folder: Public Folders", "Subfolders: yes", "Trustee format: account name", ""]  # fmt: skip
    for folder_name, entries in STORE_PERMISSIONS:
        fields = ["SETACL", f"\\{folder_name}"]
        for trustee, rights, _ in entries:
            fields += [trustee, rights]
        lines.append("\t".join(fields))
    return "\r\n".join(lines) + "\r\n"


def permission_csv() -> str:
    """The same permissions as Get-PublicFolderClientPermission | Select Identity,User,AccessRights | Export-Csv."""
    lines = ["#TYPE Selected.Microsoft.Exchange.Management.StoreTasks.PublicFolderClientPermission",
             '"Identity","User","AccessRights"']  # fmt: skip
    for folder_name, entries in STORE_PERMISSIONS:
        for _, rights, user_name in entries:
            joined = rights.replace(",", ", ")  # @{n='AccessRights';e={$_.AccessRights -join ', '}}
            lines.append(f'"\\{folder_name}","{user_name}","{joined}"')
    return "\r\n".join(lines) + "\r\n"


def ldif_value_lines(name: str, value: object) -> list[str]:
    """ldifde's style (sidtool.ldif_values): text as is, binary and unsafe text base64, folded at 79 columns."""
    return value_lines(name, bytes(value) if isinstance(value, Sid) else value)


def main() -> None:
    build()
    lines = ['# ldifde -f corp-forest.ldif -d "DC=corp,DC=example,DC=com" (and the EMEA child domain)', ""]
    for record in records:
        for name, value in record:
            for item in value if isinstance(value, list) else [value]:
                lines.extend(ldif_value_lines(name, item))
        lines.append("")
    target = Path(__file__).resolve().parent / "corp-forest.ldif"
    target.write_text("\r\n".join(lines), encoding="utf-8", newline="")  # ldifde writes CRLF
    print(f"{len(records)} records written to {target}")
    pfdavadmin = target.with_name("corp-forest-pfdavadmin.txt")
    pfdavadmin.write_bytes(codecs.BOM_UTF16_LE + pfdavadmin_text().encode("utf-16-le"))  # as PFDAVAdmin writes it
    permissions = target.with_name("corp-forest-permissions.csv")
    permissions.write_bytes(codecs.BOM_UTF8 + permission_csv().encode("utf-8"))  # Export-Csv -Encoding UTF8
    print(f"{len(STORE_PERMISSIONS)} folders' permissions written to {pfdavadmin.name} and {permissions.name}")


if __name__ == "__main__":
    main()
