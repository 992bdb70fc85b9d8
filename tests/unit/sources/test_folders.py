"""One folder, however the inputs spell it: store paths, IPM_SUBTREE, and the directory's publicFolder."""

from __future__ import annotations

import json

import pytest

from sidtool.model import AclSource, Directory, FolderPermissions, PublicFolder
from sidtool.sources.folders import link_folders, store_path
from tests.support.cli_runner import run_sidtool


@pytest.mark.parametrize(
    "spelling",
    ["/Sales Orders", "\\Sales Orders", "Sales Orders\\", "\\IPM_SUBTREE\\Sales Orders", "/ipm_subtree/Sales Orders/"],
)
def test_every_spelling_of_a_store_path_is_one_path(spelling):
    assert store_path(spelling) == "/Sales Orders"


def test_the_public_tree_root_and_system_folders():
    assert store_path("\\IPM_SUBTREE") == "/"
    assert store_path("\\NON_IPM_SUBTREE\\SCHEDULE+ FREE BUSY") == "/NON_IPM_SUBTREE/SCHEDULE+ FREE BUSY"
    assert store_path("\\Projects\\IPM_SUBTREE") == "/Projects/IPM_SUBTREE"  # only the root is the tree's name


def _store(*paths: str) -> tuple[FolderPermissions, ...]:
    return tuple(FolderPermissions(path, AclSource.STORE, ()) for path in paths)


def _folder(name: str, path: str | None = None) -> PublicFolder:
    return PublicFolder(name=name, dn=f"CN={name},CN=Microsoft Exchange System Objects,DC=corp,DC=example,DC=com",
                        path=path, home_mdb="CN=Public Store,CN=EX1")  # fmt: skip


def test_a_store_folder_and_its_directory_object_are_one_folder_by_path():
    directory = Directory(public_folders=(_folder("Orders", "/Sales/Orders"),), permissions=_store("/Sales/Orders"))
    (folder,) = link_folders(directory).public_folders
    assert folder.dn is not None and folder.home_mdb == "CN=Public Store,CN=EX1"


def test_without_a_path_the_display_name_links_when_it_is_unique():
    directory = Directory(public_folders=(_folder("Sales Orders"),), permissions=_store("/Sales Orders"))
    (folder,) = link_folders(directory).public_folders
    assert folder.path == "/Sales Orders" and folder.dn is not None


def test_a_display_name_two_store_paths_end_in_is_not_guessed():
    directory = Directory(public_folders=(_folder("Archive"),), permissions=_store("/Sales/Archive", "/HR/Archive"))
    folders = link_folders(directory).public_folders
    assert len(folders) == 3
    assert next(f for f in folders if f.dn).path is None


def test_the_example_export_and_directory_count_each_folder_once():
    result = run_sidtool("report", "examples/corp-forest-pfdavadmin.txt", "--directory", "examples/corp-forest.ldif",
                         "--format", "json")  # fmt: skip
    document = json.loads(result.stdout)
    folders = {f["folder"] for f in document["findings"]}
    assert all(folder.startswith("/") for folder in folders)  # directory findings carry the store path too
    assert document["summary"]["folders_scanned"] == 7
