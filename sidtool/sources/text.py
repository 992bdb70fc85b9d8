"""Text inputs as Windows tools write them: UTF-16 with a BOM, UTF-8 (with or without a BOM), or ANSI.

Exports from Windows come in several encodings: PFDAVAdmin and ``ldifde -u``
write UTF-16 LE with a BOM, PowerShell's Export-Csv writes UTF-8 with a BOM,
UTF-16 ("Unicode") or ANSI depending on version and -Encoding, and older
tools write the ANSI code page (Windows-1252 in the west). Readers get lines
without their line ends; line numbers are the caller's ``enumerate(..., 1)``.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import BinaryIO

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def text_lines(stream: BinaryIO) -> Iterator[str]:
    """Decode lines: UTF-16 by BOM (or by its zero bytes), else UTF-8 with a Windows-1252 fallback per line."""
    head = stream.read(4)
    encoding = _utf16_encoding(head)
    if encoding:
        text = io.TextIOWrapper(_Prefixed(head, stream), encoding=encoding, errors="replace", newline="")
        for line in text:
            yield line.rstrip("\r\n").lstrip("\ufeff")
        return
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    pending = head
    for raw in stream:
        if pending:
            raw, pending = pending + raw, b""
        yield _decode(raw.rstrip(b"\r\n"))
    if pending:
        yield _decode(pending.rstrip(b"\r\n"))


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


def _utf16_encoding(head: bytes) -> str | None:
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    # UTF-16 LE without a BOM (a file re-saved by a careless tool): ASCII text with a zero after each byte.
    if len(head) >= 4 and head[0] and not head[1] and head[2] and not head[3]:
        return "utf-16-le"
    return None


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")  # ANSI exports: the Windows code page


class _Prefixed(io.RawIOBase):
    """A binary stream with some already-read bytes put back in front."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._prefix:
            count = min(len(buffer), len(self._prefix))
            buffer[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
