"""Public folders as several inputs name them, made into one list the risk engine can use.

A store export names a folder by its path (``\\Sales\\Orders`` from the cmdlets,
``\\IPM_SUBTREE\\Sales\\Orders`` from MAPI tools, the PFDAVAdmin tree path); the
directory names mail-enabled folders by DN. This module spells paths one way
(``/Sales/Orders``: ``IPM_SUBTREE``, the store's root of the public tree, is the
root), merges records of the same folder DN that came from different inputs, and
makes a store export's folder and the directory's ``publicFolder`` for it one
folder: by the path (``folderPathname``, the Exchange directory schema's
Folder-Pathname, "folder path in the directory", whose MAPI tag is
PR_EMS_AB_FOLDER_PATHNAME, where the directory data has it), else by the
display name when exactly one store path ends in it and exactly one directory
folder bears it (a name shared by several is left unlinked, never guessed).
Every other folder a store export names gets its own :class:`PublicFolder`
(folders known only by path belong to the MAPI tree, see
:func:`sidtool.exchange.servers_for_folder`). Counts are then per real folder.
"""

from __future__ import annotations

from dataclasses import fields, replace

from sidtool.dn import dn_key
from sidtool.model import AclSource, Directory, PublicFolder


def store_path(text: str) -> str:
    """A folder path spelt one way: ``\\Sales\\Orders``, ``Sales/Orders/``, ``\\IPM_SUBTREE\\Sales\\Orders`` →
    ``/Sales/Orders``; the root is ``/``."""
    parts = [part.strip() for part in text.replace("\\", "/").split("/")]
    parts = [part for part in parts if part]
    if parts and parts[0].upper() == IPM_SUBTREE:
        parts = parts[1:]
    return "/" + "/".join(parts)


IPM_SUBTREE = "IPM_SUBTREE"  # the store's name for the root of the public folder tree that clients see


def folder_name(path: str) -> str:
    """The last component of a store path (the root is called "Public Folders", as in the MAPI tree)."""
    return path.rstrip("/").rsplit("/", 1)[-1] or "Public Folders"


def link_folders(directory: Directory) -> Directory:
    """Merge folder records that share a DN, and add a path-only folder for each store permission set."""
    merged: dict[str, PublicFolder] = {}
    unnamed: list[PublicFolder] = []
    for folder in directory.public_folders:
        if folder.dn is None:
            unnamed.append(folder)
            continue
        key = dn_key(folder.dn)
        merged[key] = _combine(merged[key], folder) if key in merged else folder
    folders = _linked_by_name([*merged.values(), *unnamed], directory)
    known_paths = {folder.path for folder in folders if folder.path}
    for permissions in directory.permissions:
        if permissions.source is AclSource.STORE and permissions.folder not in known_paths:
            folders.append(PublicFolder(name=folder_name(permissions.folder), path=permissions.folder))
            known_paths.add(permissions.folder)
    return replace(directory, public_folders=tuple(folders))


def _linked_by_name(folders: list[PublicFolder], directory: Directory) -> list[PublicFolder]:
    """Directory folders without a path, given the store path that is theirs by display name, where only one
    store path ends in that name and only one directory folder has it."""
    known = {folder.path for folder in folders if folder.path}
    paths: dict[str, set[str]] = {}
    for permissions in directory.permissions:
        if permissions.source is AclSource.STORE and permissions.folder not in known:
            paths.setdefault(folder_name(permissions.folder).casefold(), set()).add(permissions.folder)
    if not paths:
        return folders
    pathless: dict[str, list[int]] = {}
    for position, folder in enumerate(folders):
        if folder.dn is not None and folder.path is None:
            pathless.setdefault(folder.name.casefold(), []).append(position)
    for name, positions in pathless.items():
        candidates = paths.get(name, set())
        if len(positions) == 1 and len(candidates) == 1:
            folders[positions[0]] = replace(folders[positions[0]], path=next(iter(candidates)))
    return folders


def _combine(first: PublicFolder, later: PublicFolder) -> PublicFolder:
    """One record of a folder read twice: the later input's values where it has them (an explicit descriptor list
    read after the directory dump replaces the dump's descriptor), the first input's elsewhere."""
    values = {f.name: getattr(later, f.name) for f in fields(PublicFolder) if getattr(later, f.name) is not None}
    return replace(first, **values)
