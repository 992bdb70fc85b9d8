"""Public folders as several inputs name them, made into one list the risk engine can use.

A store export names a folder by its path (``\\Sales\\Orders`` from the cmdlets,
the PFDAVAdmin tree path); the directory names mail-enabled folders by DN. This
module spells paths one way (``/Sales/Orders``), gives every folder a store
export names its own :class:`PublicFolder` (folders known only by path belong to
the MAPI tree, see :func:`sidtool.exchange.servers_for_folder`), and merges
records of the same folder DN that came from different inputs.
"""

from __future__ import annotations

from dataclasses import fields, replace

from sidtool.dn import dn_key
from sidtool.model import AclSource, Directory, PublicFolder


def store_path(text: str) -> str:
    """A folder path spelt one way: ``\\Sales\\Orders``, ``Sales/Orders/`` → ``/Sales/Orders``; the root is ``/``."""
    parts = [part.strip() for part in text.replace("\\", "/").split("/")]
    return "/" + "/".join(part for part in parts if part)


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
    folders = [*merged.values(), *unnamed]
    known_paths = {folder.path for folder in folders if folder.path}
    for permissions in directory.permissions:
        if permissions.source is AclSource.STORE and permissions.folder not in known_paths:
            folders.append(PublicFolder(name=folder_name(permissions.folder), path=permissions.folder))
            known_paths.add(permissions.folder)
    return replace(directory, public_folders=tuple(folders))


def _combine(first: PublicFolder, later: PublicFolder) -> PublicFolder:
    """One record of a folder read twice: the later input's values where it has them (an explicit descriptor list
    read after the directory dump replaces the dump's descriptor), the first input's elsewhere."""
    values = {f.name: getattr(later, f.name) for f in fields(PublicFolder) if getattr(later, f.name) is not None}
    return replace(first, **values)
