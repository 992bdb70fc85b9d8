"""Where data comes from: every input, a file or a DC, through one door into one :class:`Directory`.

:func:`read_inputs` is the door. A file format is a :class:`Reader`: a module here with ``NAME``,
``DESCRIPTION``, ``sniff(head: bytes) -> bool`` (does this content look like mine?) and
``load(stream, source, on_problem) -> Directory``. A new input format is one new module added to
:data:`READERS`; nothing else changes. A store export's reader (:class:`NameReader`) may also be given the
directory's answer for its trustee names, when the directory data is all read before it. A live DC is read by
:mod:`sidtool.sources.ldap`.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from sidtool.errors import InputError, UsageError
from sidtool.model import Directory
from sidtool.progress import CountingReader, Progress
from sidtool.security.sid import Sid
from sidtool.sources import ldif, permcsv, pfdavadmin, sddl_list, snapshot
from sidtool.sources.folders import link_folders
from sidtool.sources.ldap import Collector, ConnectionOptions, LdapSettings
from sidtool.sources.text import head_text
from sidtool.sources.trustees import directory_resolver, resolve_in_place

OnProblem = Callable[[InputError], None]  # told of each record that could not be read (and was skipped)


class Reader(Protocol):
    """One file format: a module of :mod:`sidtool.sources` with these names."""

    NAME: str
    DESCRIPTION: str

    def sniff(self, head: bytes) -> bool: ...

    def load(self, stream: BinaryIO, source: str, on_problem: OnProblem) -> Directory: ...


class NameReader(Reader, Protocol):
    """A reader whose entries name trustees (a store export): ``NAMES_TRUSTEES = True``, and ``load`` also takes
    ``trustee_sid``, the directory's answer for a name, when all the directory data was read before it."""

    NAMES_TRUSTEES: bool

    def load(
        self,
        stream: BinaryIO,
        source: str,
        on_problem: OnProblem,
        trustee_sid: Callable[[str], Sid | None] | None = None,
    ) -> Directory: ...


READERS: dict[str, Reader] = {reader.NAME: reader for reader in (snapshot, ldif, pfdavadmin, permcsv, sddl_list)}
_HEAD_BYTES = 64 * 1024


def detect(head: bytes, source: str) -> str:
    """The name of the reader whose format ``head`` (the first bytes of an input) is in."""
    expected = "; ".join(f"{reader.DESCRIPTION} [{name}]" for name, reader in READERS.items())
    if not head.strip(b"\x00\r\n\t \xef\xbb\xbf\xff\xfe"):
        raise InputError(f"empty input; expected {expected}", source=source)
    for name, reader in READERS.items():
        if reader.sniff(head):
            return name
    if head_text(head).lstrip("\ufeff \t\r\n").startswith("<"):  # PFDAVAdmin's other export format (no public
        raise InputError(  # sample of its layout, so no reader): say how to make the one that is read
            "XML is not read (a PFDAVAdmin XML export?): export the permissions as text (PFDAVAdmin or ExFolders: "
            "Tools > Export Permissions, text format), or with Get-PublicFolderClientPermission (README)",
            source=source,
        )
    raise InputError(f"not a format sidtool reads; expected {expected}", source=source)


def read_inputs(
    inputs: Sequence[str],
    *,
    on_problem: OnProblem,
    directories: Sequence[str] = (),
    input_format: str | None = None,
    ldap: LdapSettings | None = None,
    progress: Progress | None = None,
) -> Directory:
    """Read every input and merge them into one model: the one door for every source.

    An input is a path, ``-`` for standard input, or ``ldap://HOST`` / ``ldaps://HOST`` to read a
    forest from a DC (with ``ldap``: the connection settings, secret included). ``directories`` are
    read first, always with format detection (``--directory``); ``input_format`` applies to file
    ``inputs``. Once everything is merged, folders are linked (:mod:`.folders`) and trustee names
    resolved to SIDs against all the directory data read (:mod:`.trustees`). Each record that cannot
    be read goes to ``on_problem`` and is skipped; an input that cannot be read at all raises.
    """
    urls = [name for name in inputs if is_ldap_url(name)]
    files = [name for name in inputs if not is_ldap_url(name)]
    directory = Directory()
    for url in urls:  # what is read from a DC (sidtool report ldaps://HOST)
        if ldap is None:
            raise UsageError(f"{url}: reading a DC needs the connection options (--user, ...)")
        collector = Collector(ConnectionOptions.from_target(url, ldap), domain_servers=dict(ldap.domain_servers))
        collected = collector.run()
        for problem in collector.problems:
            on_problem(problem)
        directory = directory.merged(collected)
    pending = [*((name, None) for name in directories), *((name, input_format) for name in files)]
    looked_at: dict[tuple[str, str | None], bool] = {}  # whether an input may hold directory data: once each
    for position, (name, forced) in enumerate(pending):
        with _open(name, progress) as stream:
            source = "<stdin>" if name == "-" else name
            head = stream.peek(_HEAD_BYTES)[:_HEAD_BYTES]
            reader = READERS[forced or detect(head, source)]
            later = pending[position + 1 :]
            if getattr(reader, "NAMES_TRUSTEES", False) and not _directory_may_follow(later, looked_at):
                # All the directory data is read: the reader resolves each name as it first meets it.
                resolver = directory_resolver(directory)
                read = cast(NameReader, reader).load(stream, source, on_problem, trustee_sid=resolver)
            else:
                read = reader.load(stream, source, on_problem)
            directory = directory.merged(read)
        if progress is not None:
            progress.done()
    directory = link_folders(directory)
    sets = list(directory.permissions)  # from here on the only reference to them: resolved one by one, in place
    directory = replace(directory, permissions=())
    resolve_in_place(directory, sets, on_problem)
    return replace(directory, permissions=tuple(sets))


def _directory_may_follow(
    rest: Sequence[tuple[str, str | None]], looked_at: dict[tuple[str, str | None], bool] | None = None
) -> bool:
    """Could an input still to be read hold directory data (principals, domains)? Only a store export is known
    not to; standard input, anything but a regular file (a pipe is never read ahead: what is read is gone), or a
    file whose format cannot be told from its first bytes, might. ``looked_at`` keeps the verdicts, so that each
    file is looked at once however many store exports come before it."""
    for name, forced in rest:
        verdict = looked_at.get((name, forced)) if looked_at is not None else None
        if verdict is None:
            verdict = _may_hold_directory(name, forced)
            if looked_at is not None:
                looked_at[name, forced] = verdict
        if verdict:
            return True
    return False


def _may_hold_directory(name: str, forced: str | None) -> bool:
    """One input's part of :func:`_directory_may_follow`."""
    if forced:
        fmt = forced
    elif name == "-":
        return True
    else:
        try:
            if not stat.S_ISREG(os.stat(name).st_mode):
                return True
            with open(Path(name), "rb") as stream:
                fmt = detect(stream.read(_HEAD_BYTES), name)
        except (OSError, InputError):
            return True  # (reading it will say what is wrong)
    return not getattr(READERS[fmt], "NAMES_TRUSTEES", False)


def is_ldap_url(name: str) -> bool:
    """Is this input a DC to read (``ldap://HOST``, ``ldaps://HOST``), not a file?"""
    return name.lower().startswith(("ldap://", "ldaps://"))


def _open(name: str, progress: Progress | None = None) -> AbstractContextManager[io.BufferedReader]:
    if name == "-":
        if sys.stdin is None:  # started with standard input closed
            raise InputError("standard input is closed", source=name)
        return nullcontext(cast(io.BufferedReader, sys.stdin.buffer))  # read, never closed
    try:
        if progress is None or not progress.enabled:
            return open(Path(name), "rb")
        raw = open(Path(name), "rb", buffering=0)  # noqa: SIM115 - closed by the with block that gets it
    except OSError as error:
        raise InputError(error.strerror or str(error), source=name) from None
    total = os.fstat(raw.fileno()).st_size
    return io.BufferedReader(CountingReader(raw, f"reading {Path(name).name}", total, progress), 1 << 20)


__all__ = ["READERS", "NameReader", "OnProblem", "Reader", "detect", "is_ldap_url", "read_inputs"]
