"""Atomic, safe writing of outputs: reports (``-o``), remediation LDIF and snapshots.

Where the output goes decides how it is written:

- ``-`` is standard output.
- A new path, or an existing regular file, is written through a temporary file in the same folder
  and a rename (``os.replace``): a reader never sees a half-written file, and an earlier file stays
  intact when writing fails. A file that is replaced keeps its permission bits and, where the process
  may set them (as root), its owner and group. A new file gets the mode the umask allows (``0666 & ~umask``);
  a snapshot (``private=True``) gets 0600, since it holds directory data.
- Anything else that exists (a FIFO, a character device such as ``/dev/null``, ``/dev/stdout``) is
  opened and written directly, never replaced: renaming a file over ``/dev/null`` as root would
  replace the machine's ``/dev/null``. Opening a FIFO waits for its reader, as a shell redirection does.

A symbolic link is judged by what it points to: a link to a FIFO or device (``/dev/stdout`` is one) is
written through, as a shell redirection would; a link to a regular file is replaced by the new file,
as before, so that a link planted in a shared folder cannot make sidtool rewrite the file it names.

While a temporary file exists, SIGTERM and SIGINT are caught: the temporary file is removed and the
signal is then delivered as it would have been (SIGTERM ends the process with status 128+15; SIGINT
becomes KeyboardInterrupt, which the CLI reports as exit 130). Handlers can only be set from the main
thread; elsewhere the temporary file is still removed on any exception.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import AnyStr

from sidtool.errors import InputError
from sidtool.terminal import for_terminal

__all__ = ["STDOUT", "joined", "write_atomic", "write_atomic_bytes"]

STDOUT = "-"
PRIVATE_MODE = 0o600  # snapshots: directory data, for their owner only
_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def joined(pieces: Iterable[AnyStr], size: int) -> Iterator[AnyStr]:
    """The pieces joined into runs of at least ``size`` characters or bytes (the last may be shorter), in order: a
    stream written a small piece at a time costs a system call a piece when it is unbuffered. A run holds at most
    ``size`` plus one piece."""
    buffer: list[AnyStr] = []
    held = 0
    for piece in pieces:
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            yield piece[:0].join(buffer)
            buffer, held = [], 0
    if buffer:
        yield buffer[0][:0].join(buffer)


def write_atomic(path: str, text: str | Iterable[str], *, private: bool = False) -> None:
    """Write ``text`` (UTF-8; one string, or pieces as they are made) to ``path``, see the module docstring.

    A lone surrogate (JSON can spell one) is written as its ``\\udxxx`` escape, never an encoding error.
    """
    pieces = [text] if isinstance(text, str) else text
    write_atomic_bytes(path, (piece.encode("utf-8", "backslashreplace") for piece in pieces), private=private)


def write_atomic_bytes(path: str, data: bytes | Iterable[bytes], *, private: bool = False) -> None:
    """Write ``data`` (bytes, or pieces of it, written as they come) to ``path``, see the module docstring."""
    pieces = [data] if isinstance(data, bytes) else data
    if path == STDOUT:
        _write_stream(path, pieces)
        return
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        existing = None
    except OSError as error:
        raise _cannot_write(path, error) from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        _write_directly(path, pieces)
    else:
        _write_replacing(path, pieces, existing, private)


def _write_stream(path: str, pieces: Iterable[bytes]) -> None:
    if sys.stdout is None:  # started with standard output closed
        raise InputError("closed: give -o FILE", source="standard output")
    try:
        sys.stdout.flush()
        stream = sys.stdout.buffer
        if sys.stdout.isatty():  # what could drive the terminal is shown as escapes (UTF-8 text: JSON, CSV, ...)
            pieces = (for_terminal(piece.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
                      for piece in pieces)  # fmt: skip
        for piece in pieces:
            stream.write(piece)
        stream.flush()
    except BrokenPipeError:
        reader_gone()
    except OSError as error:
        raise _cannot_write("standard output", error) from None


def reader_gone() -> None:
    """The reader of standard output went away (``sidtool ... | head``): the rest of the output goes nowhere,
    quietly, and the run goes on to its own exit code (a pipeline with ``pipefail`` still sees findings)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _write_directly(path: str, pieces: Iterable[bytes]) -> None:
    """A FIFO, a device or another non-regular file: opened for writing as it is, never replaced."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise _cannot_write(path, error) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for piece in pieces:
                handle.write(piece)
    except OSError as error:
        raise _cannot_write(path, error) from None


def _write_replacing(path: str, pieces: Iterable[bytes], existing: os.stat_result | None, private: bool) -> None:
    target = Path(path)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise _cannot_write(path, error) from None
    try:
        with _removed_on_signal(temporary, path), os.fdopen(descriptor, "wb") as handle:
            _take_attributes(handle.fileno(), existing, private)
            for piece in pieces:
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise _cannot_write(path, error) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)  # an error while the pieces were made: no temp file left behind
        raise


def _take_attributes(descriptor: int, existing: os.stat_result | None, private: bool) -> None:
    """Give the temporary file the owner and mode of the file it replaces, or those of a new file."""
    if existing is None:
        os.fchmod(descriptor, PRIVATE_MODE if private else 0o666 & ~_umask())
        return
    if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
        # Before the mode (chown clears set-id bits). Not root: the file becomes the writer's, with the same mode.
        with suppress(PermissionError):
            os.fchown(descriptor, existing.st_uid, existing.st_gid)
    os.fchmod(descriptor, stat.S_IMODE(existing.st_mode))


def _umask() -> int:
    """The process's umask (read by setting it and putting it back: there is no other portable way)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


class _Signalled(BaseException):
    """A handled signal, raised where the write was, so that the temporary file is removed on the way out."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


@contextmanager
def _removed_on_signal(temporary: str, path: str) -> Iterator[None]:
    """While the block runs, SIGTERM/SIGINT raise :class:`_Signalled`; afterwards the signal is delivered again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in _HANDLED_SIGNALS}
    # An ignored signal stays ignored; one whose handler is not Python's (None) is left alone.
    previous = {number: handler for number, handler in previous.items() if handler not in (signal.SIG_IGN, None)}

    def handler(number: int, frame) -> None:
        raise _Signalled(number)

    for number in previous:
        signal.signal(number, handler)
    try:
        yield
    except _Signalled as caught:
        Path(temporary).unlink(missing_ok=True)
        _restore(previous)
        signal.raise_signal(caught.number)  # as if it came now: SIGTERM ends us, SIGINT is a KeyboardInterrupt
        # Another handler returned: the write was still cut short, and says so.
        raise InputError(f"interrupted by signal {caught.number}; nothing was written", source=path) from None
    finally:
        _restore(previous)


def _restore(previous: Mapping[signal.Signals, object]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)  # type: ignore[arg-type]


def _cannot_write(path: str, error: OSError) -> InputError:
    return InputError(f"cannot write: {error.strerror or error}", source=path)
