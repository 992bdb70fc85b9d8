"""Exchange facts that KB 870585 turns on: which builds carry the store fix, which servers hold a folder."""

from __future__ import annotations

from dataclasses import dataclass

from sidtool.dn import dn_key
from sidtool.model import Directory, ExchangeBuild, ExchangeServer, PublicFolder

# KB 870585: the fix ships in Exchange 2003 SP2 (build 6.5.7638). Before that, a Store.exe hotfix:
HOTFIX_STORE_VERSIONS = (
    # (major, minor, first build of the line, first build after it, Store.exe version with the fix)
    (6, 0, 0, 1 << 31, "6.0.6617.6"),  # Exchange 2000 (any service pack)
    (6, 5, 0, 7226, "6.5.6981.0"),  # Exchange 2003 before SP1
    (6, 5, 7226, 7638, "6.5.7232.35"),  # Exchange 2003 SP1
)
FIXED_BUILD = ExchangeBuild(6, 5, 7638)  # Exchange 2003 SP2


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """Whether one server's store is exposed to the 5.2.1 refusal."""

    server: ExchangeServer
    build: ExchangeBuild | None
    vulnerable: bool | None  # True: pre-SP2, unless the hotfix is installed; None: build unknown
    hotfix: str | None  # the Store.exe version that carries the fix for this build line
    evidence: str


def server_status(server: ExchangeServer) -> ServerStatus:
    """Judge a server from its serialNumber. AD does not show hotfixes, so pre-SP2 means "vulnerable unless"."""
    build = server.build
    if build is None:
        why = f"serialNumber {server.serial_number!r} not understood" if server.serial_number else "no serialNumber"
        return ServerStatus(server, None, None, None, why)
    if build.major >= 8 or ((build.major, build.minor) == (6, 5) and build.build >= FIXED_BUILD.build):
        return ServerStatus(server, build, False, None, f"{build}: fixed (Exchange 2003 SP2 or later)")
    for major, minor, first, after, store_version in HOTFIX_STORE_VERSIONS:
        if (build.major, build.minor) == (major, minor) and first <= build.build < after:
            evidence = f"{build}: vulnerable unless Store.exe is at least {store_version} (hotfix, KB 870585)"
            return ServerStatus(server, build, True, store_version, evidence)
    return ServerStatus(server, build, None, None, f"{build}: not an Exchange release KB 870585 covers")


def servers_for_folder(directory: Directory, folder: PublicFolder | None) -> tuple[ExchangeServer, ...]:
    """The servers whose public stores serve the folder's tree; all public-store servers when unknown.

    A folder's tree is the msExchPFTree its homeMDB names, or the tree of the store
    its homeMDB names. Folders known only from a store export belong to the MAPI
    ("Public Folders", type 1) tree.
    """
    servers = {dn_key(server.dn): server for server in directory.exchange_servers}
    tree = _tree_of(directory, folder)
    stores = [s for s in directory.public_stores if tree and s.tree_dn and dn_key(s.tree_dn) == tree]
    found: dict[str, ExchangeServer] = {}
    for store in stores or directory.public_stores:
        server = servers.get(dn_key(store.server_dn)) if store.server_dn else None
        if server is not None:
            found[dn_key(server.dn)] = server
    return tuple(found.values()) or directory.exchange_servers


def _tree_of(directory: Directory, folder: PublicFolder | None) -> str | None:
    if folder is not None and folder.home_mdb:
        home = dn_key(folder.home_mdb)
        if any(dn_key(tree.dn) == home for tree in directory.folder_trees):
            return home
        for store in directory.public_stores:
            if dn_key(store.dn) == home and store.tree_dn:
                return dn_key(store.tree_dn)
        return None
    mapi_trees = [tree for tree in directory.folder_trees if tree.tree_type == 1]
    return dn_key(mapi_trees[0].dn) if len(mapi_trees) == 1 else None
