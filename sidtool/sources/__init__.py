"""Readers: each turns one kind of input into the same :class:`sidtool.model.Directory`.

A reader is a module here with ``NAME``, ``sniff(head: bytes) -> bool`` (does
this content look like mine?) and ``load(stream, source, on_problem) ->
Directory``. A new input format is one new module added to :data:`READERS`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from sidtool.errors import InputError
from sidtool.model import Directory
from sidtool.sources import ldif

READERS = {reader.NAME: reader for reader in (ldif,)}
_HEAD_BYTES = 64 * 1024


def detect(head: bytes, source: str) -> str:
    """The name of the reader whose format ``head`` (the first bytes of an input) is in."""
    if not head.strip():
        raise InputError(f"empty input; expected one of: {', '.join(READERS)}", source=source)
    for name, reader in READERS.items():
        if reader.sniff(head):
            return name
    raise InputError(f"not a format sidtool reads; expected one of: {', '.join(READERS)}", source=source)


def read_inputs(names: Sequence[str], input_format: str | None, on_problem: Callable[[InputError], None]) -> Directory:
    """Read every input (a path, or ``-`` for standard input) and merge them into one model."""
    directory = Directory()
    for name in names:
        with _open(name) as stream:
            source = "<stdin>" if name == "-" else name
            head = stream.peek(_HEAD_BYTES)[:_HEAD_BYTES]
            reader = READERS[input_format or detect(head, source)]
            directory = directory.merged(reader.load(stream, source, on_problem))
    return directory


def _open(name: str) -> BinaryIO:
    if name == "-":
        return _NoClose(sys.stdin.buffer)
    try:
        return open(Path(name), "rb")
    except OSError as error:
        raise InputError(error.strerror or str(error), source=name) from None


class _NoClose:
    """Standard input in a with block, without closing it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def __enter__(self) -> BinaryIO:
        return self._stream

    def __exit__(self, *exc: object) -> None:
        return None
