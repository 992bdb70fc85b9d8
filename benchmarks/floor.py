"""The floor: one plain Python pass over the inputs of ``sidtool report``, doing only what any reader must.

    python benchmarks/floor.py [--ldif FILE ...] [--pfdavadmin FILE ...]

For an LDIF file it reads every physical line (binary, buffered), strips its line end, joins
continuation lines (a leading space or tab) onto the line before, skips comments, and
base64-decodes every ``attr:: value``; for a PFDAVAdmin export it decodes the text (UTF-16 with
a BOM, as PFDAVAdmin writes it, else UTF-8), and splits every ``SETACL`` line into its tab-separated
fields. Nothing is kept but counts. That touches every byte sidtool must touch to read the same
files, and does nothing more: no model, no SIDs, no analysis, no output. ``benchmarks/report_scale.py``
runs it as a child process next to ``sidtool report`` on the same files, and reports sidtool's wall
time as a multiple of the floor's.

Prints one JSON object: the wall seconds measured inside the process and the counts.
"""

from __future__ import annotations

import argparse
import binascii
import codecs
import io
import json
import sys
import time
from pathlib import Path


def ldif_floor(path: Path) -> dict[str, int]:
    """Lines, logical lines and base64 bytes of one LDIF file, read the plain way."""
    lines = logical = decoded = 0
    parts: list[bytes] = []
    with open(path, "rb", buffering=1 << 20) as stream:
        for raw in stream:
            lines += 1
            line = raw.rstrip(b"\r\n")
            if line[:1] in (b" ", b"\t"):
                if parts:
                    parts.append(line[1:])
                continue
            if parts:
                decoded += _finish(parts)
                logical += 1
            parts = [line] if line and not line.startswith(b"#") else []
    if parts:
        decoded += _finish(parts)
        logical += 1
    return {"lines": lines, "logical_lines": logical, "base64_bytes": decoded}


def _finish(parts: list[bytes]) -> int:
    """Unfold a logical line; base64-decode its value if it has one. The number of bytes decoded."""
    line = parts[0] if len(parts) == 1 else b"".join(parts)
    colon = line.find(b":")
    if colon > 0 and line[colon + 1 : colon + 2] == b":":
        return len(binascii.a2b_base64(line[colon + 2 :]))
    return 0


def pfdavadmin_floor(path: Path) -> dict[str, int]:
    """Lines and tab-separated fields of one PFDAVAdmin export, decoded as PFDAVAdmin writes it."""
    lines = fields = 0
    with open(path, "rb") as raw:
        head = raw.read(2)
        raw.seek(0)
        encoding = "utf-16" if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
        with io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text:
            for line in text:
                lines += 1
                if line.startswith("SETACL"):
                    fields += len(line.rstrip("\r\n").split("\t"))
    return {"lines": lines, "fields": fields}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ldif", type=Path, action="append", default=[], help="an LDIF file (repeatable)")
    parser.add_argument("--pfdavadmin", type=Path, action="append", default=[], help="a PFDAVAdmin export")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts = {
        "ldif": [ldif_floor(path) for path in args.ldif],
        "pfdavadmin": [pfdavadmin_floor(path) for path in args.pfdavadmin],
    }
    print(json.dumps({"seconds": time.perf_counter() - start, **counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
