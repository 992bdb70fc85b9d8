"""Readers: each turns one kind of input into the same :class:`sidtool.model.Directory`.

A reader is a module here with ``NAME``, ``sniff(head: bytes) -> bool`` (does
this content look like mine?) and ``load(stream, source, on_problem) ->
Directory``. A new input format is one new module added to :data:`READERS`.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from sidtool.errors import InputError
from sidtool.folders import link_folders
from sidtool.model import Directory
from sidtool.progress import CountingReader, Progress
from sidtool.sources import ldif, permcsv, pfdavadmin, sddl_list, snapshot
from sidtool.trustees import resolve_trustees

READERS = {reader.NAME: reader for reader in (snapshot, ldif, pfdavadmin, permcsv, sddl_list)}
_HEAD_BYTES = 64 * 1024


def detect(head: bytes, source: str) -> str:
    """The name of the reader whose format ``head`` (the first bytes of an input) is in."""
    expected = "; ".join(f"{reader.DESCRIPTION} [{name}]" for name, reader in READERS.items())
    if not head.strip(b"\x00\r\n\t \xef\xbb\xbf\xff\xfe"):
        raise InputError(f"empty input; expected {expected}", source=source)
    for name, reader in READERS.items():
        if reader.sniff(head):
            return name
    raise InputError(f"not a format sidtool reads; expected {expected}", source=source)


def read_inputs(
    names: Sequence[str],
    input_format: str | None,
    on_problem: Callable[[InputError], None],
    directories: Sequence[str] = (),
    collected: Sequence[Directory] = (),
    progress: Progress | None = None,
) -> Directory:
    """Read every input (a path, or ``-`` for standard input) and merge them into one model.

    ``directories`` are read first, always with format detection (``--directory``);
    ``input_format`` applies to ``names``. Once everything is merged, folders
    named by path become :class:`PublicFolder` entries and trustee names are
    resolved to SIDs against all the directory data read.
    """
    directory = Directory()
    for live in collected:  # what was read from a DC (sidtool report ldaps://HOST)
        directory = directory.merged(live)
    for name, forced in [*((name, None) for name in directories), *((name, input_format) for name in names)]:
        with _open(name, progress) as stream:
            source = "<stdin>" if name == "-" else name
            head = stream.peek(_HEAD_BYTES)[:_HEAD_BYTES]
            reader = READERS[forced or detect(head, source)]
            directory = directory.merged(reader.load(stream, source, on_problem))
        if progress is not None:
            progress.done()
    return resolve_trustees(link_folders(directory), on_problem)


def _open(name: str, progress: Progress | None = None) -> BinaryIO:
    if name == "-":
        return _NoClose(sys.stdin.buffer)
    try:
        if progress is None or not progress.enabled:
            return open(Path(name), "rb")
        raw = open(Path(name), "rb", buffering=0)  # noqa: SIM115 - closed by the with block that gets it
    except OSError as error:
        raise InputError(error.strerror or str(error), source=name) from None
    total = os.fstat(raw.fileno()).st_size
    return io.BufferedReader(CountingReader(raw, f"reading {Path(name).name}", total, progress), 1 << 20)


class _NoClose:
    """Standard input in a with block, without closing it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def __enter__(self) -> BinaryIO:
        return self._stream

    def __exit__(self, *exc: object) -> None:
        return None
