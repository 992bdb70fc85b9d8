"""Where the bind secret comes from: never the command line.

In order: ``--password-file FILE`` (its first line), the environment variable
``SIDTOOL_PASSWORD`` (``SIDTOOL_NT_HASH`` for an NT hash), or a prompt when
standard input is a terminal. The secret is never printed, logged or saved.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from sidtool.errors import InputError, UsageError

PASSWORD_VARIABLE = "SIDTOOL_PASSWORD"
NT_HASH_VARIABLE = "SIDTOOL_NT_HASH"


def read_password(password_file: str | None, user: str) -> str:
    """The password for ``user``, from the file, the environment, or a prompt."""
    if password_file:
        try:
            lines = Path(password_file).read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror or error}", source=password_file) from None
        if not lines or not lines[0]:
            raise InputError("the first line is empty; expected the password", source=password_file)
        return lines[0]
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    if sys.stdin.isatty():
        return getpass.getpass(f"Password for {user}: ")
    raise UsageError(f"no password: set {PASSWORD_VARIABLE}, give --password-file FILE, or run on a terminal")


def read_nt_hash() -> str:
    """An NT hash (32 hex digits) from the environment, for NTLM without the password."""
    value = os.environ.get(NT_HASH_VARIABLE, "").strip()
    if ":" in value:  # LM:NT, as many tools print it
        value = value.rsplit(":", 1)[1]
    if len(value) != 32 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise UsageError(f"{NT_HASH_VARIABLE} must hold an NT hash of 32 hex digits")
    return value.lower()
