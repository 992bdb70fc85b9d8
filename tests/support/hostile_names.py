"""A small forest whose every name is hostile: script tags, attribute break-outs, quotes and a bidi override.

Names in a directory are whatever an account operator typed (a displayName, a sAMAccountName, a folder or
server name). The HTML report's tests render this forest and check that none of it becomes markup or script.
"""

from __future__ import annotations

from dataclasses import replace

from sidtool.model import (
    AclSource,
    Directory,
    DomainController,
    ExchangeServer,
    FolderPermissions,
    PermissionEntry,
    PublicFolderTree,
    PublicStore,
    RightsKind,
)
from tests.support.forest import CHILD, ROOT, Forest

AUTHOR = 0x41B  # the Author role of a store permission: may create items
ORG = "CN=Org,CN=Microsoft Exchange,CN=Services,CN=Configuration"

# Text an attacker can put in a displayName, a sAMAccountName, a folder name or a server name.
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(2)>'
SINGLE = "x' onmouseover='alert(3)"
BIDI = "invoice\u202egnp.exe"  # shows as "invoiceexe.png" when obeyed (CVE-2021-42574)
ORG = "CN=Org,CN=Microsoft Exchange,CN=Services,CN=Configuration"


def hostile_directory() -> Directory:
    """A forest whose every name is hostile: a sender in the child domain, through a root group, into RDP users."""
    forest = Forest()
    sender = forest.user(SCRIPT, domain=CHILD)
    group = forest.group(BREAKOUT, [sender])
    forest.builtin(555, [group], name="Remote Desktop Users")
    bidi_user = forest.user(BIDI)
    forest.builtin(556, [bidi_user], name=SINGLE)
    server_dn = f"CN=EX1,CN=Servers,{ORG},{ROOT}"
    tree = PublicFolderTree(f"CN=Public Folders,{ORG},{ROOT}", "Public Folders", 1)
    store = PublicStore(f"CN=Public Store,CN=InformationStore,{server_dn}", server_dn, tree.dn)
    server = ExchangeServer(server_dn, f"EX{SCRIPT}{BIDI}", "Version 6.5 (Build 7226.6: Service Pack 1)")
    entries = (
        PermissionEntry(BREAKOUT, group.sid, AUTHOR, RightsKind.MAPI, location=f"{SINGLE}.txt:2"),
        PermissionEntry(BIDI, bidi_user.sid, AUTHOR, RightsKind.MAPI, location="perms.txt:3"),
    )
    permissions = FolderPermissions(f"/{SCRIPT}/{BIDI}", AclSource.STORE, entries)
    controllers = (DomainController(f"CN=DC1,OU=Domain Controllers,{ROOT}", "DC1", "Windows Server 2003"),)
    return replace(
        forest.directory(),
        exchange_servers=(server,),
        public_stores=(store,),
        folder_trees=(tree,),
        domain_controllers=controllers,
        permissions=(permissions,),
        gaps=(f"{SCRIPT} not read {BIDI}",),
    )
