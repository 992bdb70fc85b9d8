"""What a report was made from: the input files with their sizes and SHA-256 hashes, and the time of the run.

The HTML report (:mod:`sidtool.html_report`) ends with this, so that whoever receives the file can tell
which exports it describes. Only regular files are hashed, after they were read: standard input, a FIFO
or a device cannot be read twice (opening a FIFO again would wait for a writer that never comes), and a
live DC (``ldap[s]://``) is no file. A file is hashed in 1 MiB blocks up to the size it had when hashing
began; a file that changed meanwhile is marked so rather than hashed for ever.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

__all__ = ["InputFile", "RunInfo", "describe_input"]

BLOCK = 1 << 20  # bytes read at a time; a file takes size / BLOCK + 1 reads at most


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input of a run: its name as given, its role, and (for a regular file) its size and SHA-256."""

    name: str
    role: str  # "input", "directory" or "decisions"
    size: int | None = None
    sha256: str | None = None
    note: str | None = None  # why there is no hash, or that the file changed while it was hashed


@dataclass(frozen=True, slots=True)
class RunInfo:
    """When the report was made, by which sidtool, from what."""

    started: datetime  # timezone-aware (UTC)
    version: str
    inputs: tuple[InputFile, ...] = ()


def describe_input(name: str, role: str, is_url: bool = False) -> InputFile:
    """``name`` hashed when it is a regular file; otherwise described with the reason it is not."""
    if is_url:
        return InputFile(name, role, note="read from the DC (no file)")
    if name == "-":
        return InputFile(name, role, note="standard input: not kept, not hashed")
    try:
        status = os.stat(name)
        if not stat.S_ISREG(status.st_mode):
            return InputFile(name, role, note="not a regular file: read once, not hashed")
        with open(name, "rb") as file:
            size = status.st_size
            digest = hashlib.sha256()
            hashed = 0
            for block in _blocks(file, size):
                digest.update(block)
                hashed += len(block)
            changed = hashed != size or file.read(1) != b""
    except OSError as error:
        return InputFile(name, role, note=f"not hashed: {error.strerror or error}")
    note = "changed while it was hashed" if changed else None
    return InputFile(name, role, size, None if changed else digest.hexdigest(), note)


def _blocks(file: BinaryIO, size: int) -> Iterable[bytes]:
    """The first ``size`` bytes of ``file``, a block at a time (fewer when the file is shorter now)."""
    left = size
    while left > 0:  # bounded: each pass reads at least one byte or ends
        block = file.read(min(BLOCK, left))
        if not block:
            return
        left -= len(block)
        yield block
