"""Exchange facts that KB 870585 turns on: which builds carry the store fix, which servers hold a folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from sidtool.dn import dn_key
from sidtool.model import Directory, ExchangeServer, PublicFolder

_EXCHANGE_SERIAL = re.compile(
    r"Version\s+(\d+)\.(\d+)\s*\(Build\s+(\d+)(?:\.(\d+))?(?::\s*Service Pack\s+(\d+))?\)", re.IGNORECASE
)
_PRODUCTS = {(6, 0): "Exchange 2000", (6, 5): "Exchange 2003", (8, 0): "Exchange 2007", (8, 1): "Exchange 2007",
             (8, 2): "Exchange 2007", (8, 3): "Exchange 2007", (14, 0): "Exchange 2010", (14, 1): "Exchange 2010",
             (14, 2): "Exchange 2010", (14, 3): "Exchange 2010", (15, 0): "Exchange 2013", (15, 1): "Exchange 2016",
             (15, 2): "Exchange 2019"}  # fmt: skip


@dataclass(frozen=True, slots=True, order=True)
class ExchangeBuild:
    """An Exchange server build as its serialNumber states it (service packs update it; hotfixes do not)."""

    major: int
    minor: int
    build: int
    revision: int = 0
    service_pack: int = 0

    @classmethod
    def parse(cls, serial_number: str) -> ExchangeBuild | None:
        """Read ``Version 6.5 (Build 7226.6: Service Pack 1)``; None if the text has another shape."""
        match = _EXCHANGE_SERIAL.search(serial_number)
        if not match:
            return None
        major, minor, build, revision, service_pack = match.groups()
        return cls(int(major), int(minor), int(build), int(revision or 0), int(service_pack or 0))

    @property
    def product(self) -> str:
        return _PRODUCTS.get((self.major, self.minor), f"Exchange {self.major}.{self.minor}")

    def __str__(self) -> str:
        service_pack = f" SP{self.service_pack}" if self.service_pack else ""
        return f"{self.product}{service_pack} (build {self.major}.{self.minor}.{self.build}.{self.revision})"


def server_build(server: ExchangeServer) -> ExchangeBuild | None:
    """The build a server's serialNumber states; None when it has none, or one of another shape."""
    return ExchangeBuild.parse(server.serial_number) if server.serial_number else None


# KB 870585: the fix ships in Exchange 2003 SP2 (build 6.5.7638). Before that, a Store.exe hotfix:
HOTFIX_STORE_VERSIONS = (
    # (major, minor, first build of the line, first build after it, Store.exe version with the fix)
    (6, 0, 0, 1 << 31, "6.0.6617.6"),  # Exchange 2000 (any service pack)
    (6, 5, 0, 7226, "6.5.6981.0"),  # Exchange 2003 before SP1
    (6, 5, 7226, 7638, "6.5.7232.35"),  # Exchange 2003 SP1
)
FIXED_BUILD = ExchangeBuild(6, 5, 7638)  # Exchange 2003 SP2


class ServerVerdict(str, Enum):
    """What a server's build says about the fix (report.py words each one)."""

    NO_SERIAL = "no-serial"  # the server object has no serialNumber: build unknown
    SERIAL_NOT_UNDERSTOOD = "serial-not-understood"  # a serialNumber of another shape: build unknown
    FIXED = "fixed"  # Exchange 2003 SP2 or later
    HOTFIX_NEEDED = "hotfix-needed"  # before SP2: exposed unless Store.exe carries the hotfix
    NOT_COVERED = "not-covered"  # an Exchange release KB 870585 does not cover: unknown
    HOTFIXED = "hotfixed"  # before SP2, and the administrator recorded the hotfix (--hotfixed, --decisions)
    HOTFIX_TOO_OLD = "hotfix-too-old"  # before SP2; the Store.exe build recorded is older than the fix


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """Whether one server's store is exposed to the 5.2.1 refusal, and why (``verdict``)."""

    server: ExchangeServer
    build: ExchangeBuild | None
    vulnerable: bool | None  # True: pre-SP2, unless the hotfix is installed; None: build unknown
    hotfix: str | None  # the Store.exe version that carries the fix for this build line
    verdict: ServerVerdict
    recorded_store_build: str | None = None  # the Store.exe build the administrator recorded, if any


def server_status(server: ExchangeServer, hotfixed: tuple[bool, str | None] | None = None) -> ServerStatus:
    """Judge a server from its serialNumber. AD does not show hotfixes, so pre-SP2 means "vulnerable unless".

    ``hotfixed`` is what the administrator recorded: (True, Store.exe build or None). A pre-SP2 server so
    recorded counts as fixed, unless the build recorded is older than the fix for its line.
    """
    build = server_build(server)
    if build is None:
        verdict = ServerVerdict.SERIAL_NOT_UNDERSTOOD if server.serial_number else ServerVerdict.NO_SERIAL
        return ServerStatus(server, None, None, None, verdict)
    if build.major >= 8 or ((build.major, build.minor) == (6, 5) and build.build >= FIXED_BUILD.build):
        return ServerStatus(server, build, False, None, ServerVerdict.FIXED)
    for major, minor, first, after, store_version in HOTFIX_STORE_VERSIONS:
        if (build.major, build.minor) == (major, minor) and first <= build.build < after:
            if hotfixed is None:
                return ServerStatus(server, build, True, store_version, ServerVerdict.HOTFIX_NEEDED)
            recorded = hotfixed[1]
            if recorded is not None and store_build_key(recorded) < store_build_key(store_version):
                return ServerStatus(server, build, True, store_version, ServerVerdict.HOTFIX_TOO_OLD, recorded)
            return ServerStatus(server, build, False, store_version, ServerVerdict.HOTFIXED, recorded)
    return ServerStatus(server, build, None, None, ServerVerdict.NOT_COVERED)


def store_build_key(version: str) -> tuple[int, ...]:
    """A Store.exe version (``6.5.7232.35``) as numbers that compare; ValueError if it is not one."""
    parts = version.strip().split(".")
    if not 2 <= len(parts) <= 4 or not all(part.isdigit() and len(part) <= 6 for part in parts):
        raise ValueError(f"{version!r} is not a Store.exe version such as 6.5.7232.35")
    return tuple(int(part) for part in parts) + (0,) * (4 - len(parts))


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
