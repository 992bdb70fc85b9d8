"""Plain lists of public-folder descriptors: ``<folder or DN><TAB><SDDL>`` or ``<DN>: <base64>``.

The directory rights of public folders, as an administrator collects them
with a script: one folder a line, named by its DN (matched to the publicFolder
object of the directory data) or by its store path (``/Sales/Orders``), then
its nTSecurityDescriptor as SDDL or, after ``": "`` (or ``":: "``), as base64 of
the binary form. Blank lines and ``#`` comments are skipped.

SDDL may use domain-relative aliases (DA, DU, ...). Their SIDs depend on the
domain, so a line using them needs a ``# domain-sid: S-1-5-21-...`` line above
it; without one the line is reported, never guessed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import BinaryIO

from sidtool.dn import dn_key, rdn_value, split_rdns
from sidtool.errors import DescriptorError, InputError, SidError
from sidtool.model import Directory, PublicFolder
from sidtool.security.descriptor import decode_descriptor
from sidtool.security.sddl import parse_sddl
from sidtool.security.sid import Sid
from sidtool.sources.folders import folder_name, store_path
from sidtool.sources.text import first_lines, reported_lines

NAME = "sddl-list"
DESCRIPTION = "a descriptor list ('<folder or DN><TAB><SDDL>' or '<DN>: <base64>' lines)"
_DOMAIN_SID = re.compile(r"#\s*domain-sid\s*:\s*(\S+)\s*$", re.IGNORECASE)
_SDDL_START = re.compile(r"^(O:|G:|D:|S:)")
_BASE64_LINE = re.compile(r"^(?P<dn>[^\t]*?=[^\t]*?)::? (?P<value>[A-Za-z0-9+/=\s]*)$")  # for detection
_DN_VALUE_LINE = re.compile(r"^(?P<dn>[^\t]*?=[^\t]*?)::? (?P<value>.*)$")


def sniff(head: bytes) -> bool:
    """The first data line is ``name<TAB>SDDL`` or ``DN: base64`` (a ``# domain-sid:`` line counts too)."""
    for line in first_lines(head, 20):
        if _DOMAIN_SID.match(line):
            return True
        if line.startswith("#"):
            continue
        if line.lower().startswith(("dn:", "version:")):
            return False  # LDIF
        target, tab, sddl = line.partition("\t")
        return bool(tab and target.strip() and _SDDL_START.match(sddl.strip())) or bool(_BASE64_LINE.match(line))
    return False


def load(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Directory:
    """One :class:`PublicFolder` with a descriptor per line."""
    domain_sid: Sid | None = None
    folders: list[PublicFolder] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(reported_lines(stream, source, on_problem), 1):
        where = {"source": source, "location": f"line {number}"}
        header = _DOMAIN_SID.match(line)
        if header:
            try:
                domain_sid = Sid.parse(header.group(1))
            except SidError as error:
                on_problem(InputError(f"domain-sid: {error}", **where))
            continue
        if not line.strip() or line.startswith("#"):
            continue
        try:
            folder = _folder(line, domain_sid)
        except (ValueError, DescriptorError) as error:
            message = error.message if isinstance(error, InputError) else str(error)
            on_problem(InputError(message, **where))
            continue
        key = dn_key(folder.dn) if folder.dn else (folder.path or "")
        if key in first_line:
            on_problem(InputError(f"{folder.dn or folder.path} is listed again (first at line {first_line[key]})",
                                  **where))  # fmt: skip
            continue
        first_line[key] = number
        folders.append(folder)
    return Directory(public_folders=tuple(folders))


def _folder(line: str, domain_sid: Sid | None) -> PublicFolder:
    target, tab, sddl = line.partition("\t")
    if tab:
        descriptor = _from_sddl(sddl.strip(), domain_sid)
    else:
        match = _DN_VALUE_LINE.match(line)
        if not match:
            raise ValueError("expected '<folder or DN><TAB><SDDL>' or '<DN>: <base64>'")
        target, descriptor = match.group("dn"), _from_base64(match.group("value"))
    target = target.strip()
    if not target:
        raise ValueError("no folder or DN before the descriptor")
    if _is_dn(target):
        return PublicFolder(name=rdn_value(target), dn=target, descriptor=descriptor)
    path = store_path(target)
    return PublicFolder(name=folder_name(path), path=path, descriptor=descriptor)


def _from_sddl(text: str, domain_sid: Sid | None) -> bytes:
    try:
        return bytes(parse_sddl(text, domain_sid))
    except DescriptorError as error:
        alias = re.search(r"alias '(\w+)' is relative to a domain", error.message)
        if domain_sid is None and alias:
            raise ValueError(
                f"SDDL uses the domain-relative alias {alias.group(1)}, and no '# domain-sid: S-1-5-21-...' line "
                "came before it: its SID is unknown"
            ) from None
        raise ValueError(f"SDDL: {error.message}") from None


def _from_base64(text: str) -> bytes:
    try:
        blob = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("descriptor is not valid base64") from None
    try:
        decode_descriptor(blob)
    except DescriptorError as error:
        raise ValueError(f"descriptor: {error.message}") from None
    return blob


def _is_dn(target: str) -> bool:
    if "=" not in target or target.startswith(("/", "\\")):
        return False
    try:
        split_rdns(target)
    except InputError:
        return False
    return True
