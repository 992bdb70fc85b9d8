"""LDIF attribute lines as RFC 2849 writes them: one place for every writer of LDIF in the project.

A value is written as it is when it is a SAFE-STRING (RFC 2849, note 8: printable ASCII that does not
start with a space, a colon or "<", and does not end with a space), else base64 after ``name::``.
Lines are folded as ldifde folds them (79 columns, continuations starting with one space), or not
at all. The remediation LDIF, the example forest and the benchmarks' generated forests use it.
"""

from __future__ import annotations

import base64

__all__ = ["is_safe", "value_lines"]


def is_safe(value: str) -> bool:
    """Can ``value`` be written as it is (an RFC 2849 SAFE-STRING)?"""
    return value.isascii() and value.isprintable() and not value.startswith((" ", ":", "<")) and not value.endswith(" ")


def value_lines(name: str, value: str | bytes | int, *, fold: int | None = 79) -> list[str]:
    """``name: value``, or ``name:: base64`` for bytes and unsafe text, folded at ``fold`` columns (None: one line)."""
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and is_safe(value):
        line = f"{name}: {value}"
    else:
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        line = f"{name}:: {base64.b64encode(raw).decode('ascii')}"
    if fold is None or len(line) <= fold:
        return [line]
    return [line[:fold], *(" " + line[index : index + fold - 1] for index in range(fold, len(line), fold - 1))]
