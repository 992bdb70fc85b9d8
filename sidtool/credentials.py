"""Where the bind secret comes from: never the command line.

In order: ``--password-file FILE`` (its first line), the environment variable
``SIDTOOL_PASSWORD`` (``SIDTOOL_NT_HASH`` for an NT hash, ``SIDTOOL_AES_KEY`` for a Kerberos AES key),
or a prompt when standard input is a terminal. Kerberos may need none of them: a ticket cache
(``KRB5CCNAME``) holds the ticket. The secret is never printed, logged or saved; an error about the file
names it and a byte offset, never a byte of its content.
"""

from __future__ import annotations

import getpass
import os
import sys

from sidtool.errors import InputError, UsageError

PASSWORD_VARIABLE = "SIDTOOL_PASSWORD"
NT_HASH_VARIABLE = "SIDTOOL_NT_HASH"
AES_KEY_VARIABLE = "SIDTOOL_AES_KEY"
MAX_PASSWORD_BYTES = 4096  # only the first line is read, and at most this much of it: no password is longer


def read_password(password_file: str | None, user: str) -> str:
    """The password for ``user``, from the file, the environment, or a prompt."""
    if password_file:
        try:
            with open(password_file, "rb") as handle:
                first = handle.readline(MAX_PASSWORD_BYTES + 2)  # room for CR LF
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror or error}", source=password_file) from None
        line = first.rstrip(b"\r\n")
        if len(line) > MAX_PASSWORD_BYTES:
            raise InputError(f"the first line is longer than {MAX_PASSWORD_BYTES:,} bytes", source=password_file)
        try:
            password = line.decode("utf-8")
        except UnicodeDecodeError as error:  # its message would quote a byte of the password: name the offset only
            raise InputError("not UTF-8 text", source=password_file, location=f"byte {error.start}") from None
        if not password:
            raise InputError("the first line is empty; expected the password", source=password_file)
        return password
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


def read_aes_key() -> str:
    """A Kerberos AES key (AES-128: 32 hex digits, AES-256: 64) from the environment."""
    value = os.environ.get(AES_KEY_VARIABLE, "").strip()
    if len(value) not in (32, 64) or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise UsageError(f"{AES_KEY_VARIABLE} must hold an AES key: 32 (AES-128) or 64 (AES-256) hex digits")
    return value.lower()


def has_password() -> bool:
    """Whether a password was given without asking: ``SIDTOOL_PASSWORD`` is set."""
    return bool(os.environ.get(PASSWORD_VARIABLE))
