"""Text inputs as Windows tools write them: UTF-16 with a BOM, UTF-8 (with or without a BOM), or ANSI.

Exports from Windows come in several encodings: PFDAVAdmin and ``ldifde -u``
write UTF-16 LE with a BOM, PowerShell's Export-Csv writes UTF-8 with a BOM,
UTF-16 ("Unicode") or ANSI depending on version and -Encoding, and older
tools write the ANSI code page (Windows-1252 in the west). Readers get lines
without their line ends; line numbers are the caller's ``enumerate(..., 1)``.

No line is held whole past :data:`MAX_LINE_BYTES`: lines are read in bounded pieces, and one
that is longer comes out as an :class:`OverlongLine` (its length only), which the reader reports
with its line number and skips. A hostile 100 MB line costs one pass over it, not 100 MB of memory.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import AnyStr, BinaryIO

from sidtool.errors import InputError

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
MAX_LINE_BYTES = 16 << 20  # 16 MiB: LDIF may hold photos of several MB on one line; nothing needs more
_SKIP_CHUNK = 1 << 16  # how much of an overlong line is read at a time while skipping it


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """A line longer than the limit, in place of its text: only its length was kept."""

    size: int  # bytes (characters, in UTF-16 input), without the line end

    def error(self, source: str, number: int) -> InputError:
        """The located error a reader reports for this line (and skips it)."""
        return InputError(
            f"line of {self.size:,} bytes is longer than the limit of {MAX_LINE_BYTES:,}",
            source=source,
            location=f"line {number}",
        )


def text_lines(stream: BinaryIO, limit: int = MAX_LINE_BYTES, *, prefix: bytes = b"") -> Iterator[str | OverlongLine]:
    """Decode lines: UTF-16 by BOM (or by its zero bytes), else UTF-8 with a Windows-1252 fallback per line.

    A line longer than ``limit`` bytes (characters, in UTF-16) comes as an :class:`OverlongLine`.
    ``prefix``: bytes already read from the stream, read first.
    """
    head = prefix + stream.read(max(0, 4 - len(prefix)))
    encoding = _utf16_encoding(head)
    if encoding:
        prefixed = io.BufferedReader(_Prefixed(head, stream))
        text = io.TextIOWrapper(prefixed, encoding=encoding, errors="replace", newline="")
        for line in _bounded(text.readline, limit, "\n", "\r"):
            yield line if isinstance(line, OverlongLine) else line.rstrip("\r\n").lstrip("\ufeff")
        return
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    yield from byte_lines(stream, limit, prefix=head)


def byte_lines(stream: BinaryIO, limit: int = MAX_LINE_BYTES, *, prefix: bytes = b"") -> Iterator[str | OverlongLine]:
    """:func:`text_lines` of a stream known to be UTF-8 or ANSI (its BOM, if any, already read), ``prefix`` first."""
    raw_lines = io.BufferedReader(_Prefixed(prefix, stream), 1 << 16)
    for raw in _bounded(raw_lines.readline, limit, b"\n", b"\r"):
        yield raw if isinstance(raw, OverlongLine) else decode_line(raw.rstrip(b"\r\n"))


def reported_lines(stream: BinaryIO, source: str, on_problem: Callable[[InputError], None]) -> Iterator[str]:
    """:func:`text_lines` for line-oriented readers: an overlong line is reported with its number and
    comes as an empty line (which every such reader skips), so that the numbering stays right."""
    for number, line in enumerate(text_lines(stream), 1):
        if isinstance(line, OverlongLine):
            on_problem(line.error(source, number))
            yield ""
        else:
            yield line


def _bounded(
    readline: Callable[[int], AnyStr], limit: int, newline: AnyStr, carriage_return: AnyStr
) -> Iterator[AnyStr | OverlongLine]:
    """Lines from ``readline(size)``; one longer than ``limit`` is read on to its end in pieces, not kept."""
    while True:
        line = readline(limit + 2)  # room for a line end of two characters
        if not line:
            return
        if len(line) <= limit or len(line.rstrip(carriage_return + newline)) <= limit:
            yield line  # (the first test alone settles almost every line, without a copy)
            continue
        size = len(line)
        previous = line
        while not line.endswith(newline):
            previous, line = line, readline(_SKIP_CHUNK)
            if not line:
                break
            size += len(line)
        tail = (previous + line)[-2:]  # the line end may straddle two pieces
        yield OverlongLine(size - (len(tail) - len(tail.rstrip(carriage_return + newline))))


def head_text(head: bytes) -> str:
    """The first bytes of an input as text, for format detection (a cut-off last character is dropped)."""
    encoding = _utf16_encoding(head)
    if encoding:
        return head[: len(head) // 2 * 2].decode(encoding, "ignore").lstrip("\ufeff")
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    return head.decode("utf-8", "ignore")


def first_lines(head: bytes, count: int = 50) -> list[str]:
    """The first non-blank lines of ``head`` (the last one may be cut off)."""
    return [line for line in head_text(head).splitlines() if line.strip()][:count]


def utf16_encoding(head: bytes) -> str | None:
    """The UTF-16 codec the first bytes of an input show (by BOM, or by zero bytes), or None."""
    return _utf16_encoding(head)


def _utf16_encoding(head: bytes) -> str | None:
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    # UTF-16 LE without a BOM (a file re-saved by a careless tool): ASCII text with a zero after each byte.
    if len(head) >= 4 and head[0] and not head[1] and head[2] and not head[3]:
        return "utf-16-le"
    return None


def decode_line(raw: bytes) -> str:
    """A line's bytes as text: UTF-8, else the Windows code page (ANSI exports)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")  # ANSI exports: the Windows code page


class _Prefixed(io.RawIOBase):
    """A binary stream with some already-read bytes put back in front."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = memoryview(prefix)  # given out from _offset on, without copying what is left each time
        self._offset = 0
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._offset < len(self._prefix):
            count = min(len(buffer), len(self._prefix) - self._offset)
            buffer[:count] = self._prefix[self._offset : self._offset + count]
            self._offset += count
            if self._offset == len(self._prefix):
                self._prefix = memoryview(b"")  # let it go
            return count
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
