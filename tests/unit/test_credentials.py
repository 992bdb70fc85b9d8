"""The password file: read in bounded form, and an error about it never shows a byte of the password."""

from __future__ import annotations

import pytest

from sidtool.credentials import MAX_PASSWORD_BYTES, read_password
from sidtool.errors import InputError
from tests.support.cli_runner import run_sidtool

SECRET = "S3cr\xe9t-Passw0rd".encode("latin-1")  # Windows-1252 text: the é is not UTF-8


def test_a_non_utf8_password_file_names_the_offset_not_the_byte(tmp_path):
    path = tmp_path / "pw.txt"
    path.write_bytes(SECRET + b"\n")
    with pytest.raises(InputError) as caught:
        read_password(str(path), "auditor")
    assert str(caught.value) == f"{path}:byte 4: not UTF-8 text"
    result = run_sidtool("collect", "--server", "ldaps://127.0.0.1", "--user", "CORP\\auditor", "--password-file",
                         str(path), "-o", str(tmp_path / "snap.json"))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == f"sidtool: {path}:byte 4: not UTF-8 text\n"
    for fragment in ("xe9", "\xe9", "S3cr", "Passw0rd", "0xe9", "\\xe9"):
        assert fragment not in result.stderr


def test_only_the_first_line_is_read_and_it_is_bounded(tmp_path):
    path = tmp_path / "pw.txt"
    path.write_bytes(b"first\r\n\xff\xfe not read\n")
    assert read_password(str(path), "auditor") == "first"
    path.write_bytes(b"x" * (MAX_PASSWORD_BYTES + 1) + b"\n")
    with pytest.raises(InputError, match="longer than 4,096 bytes"):
        read_password(str(path), "auditor")
    path.write_bytes(b"x" * MAX_PASSWORD_BYTES + b"\r\n")
    assert read_password(str(path), "auditor") == "x" * MAX_PASSWORD_BYTES
