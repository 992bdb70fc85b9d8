"""What a report was made from: regular files hashed, in bounded blocks; nothing else opened or read again."""

from __future__ import annotations

import hashlib
import io
import os

from sidtool import provenance
from sidtool.provenance import BLOCK, describe_input


def test_a_regular_file_is_hashed_with_its_size(tmp_path):
    path = tmp_path / "perms.txt"
    data = os.urandom(BLOCK * 2 + 123)  # more than one block, and not a whole number of them
    path.write_bytes(data)
    described = describe_input(str(path), "input")
    assert (described.name, described.role, described.size) == (str(path), "input", len(data))
    assert described.sha256 == hashlib.sha256(data).hexdigest() and described.note is None


def test_an_empty_file_has_the_empty_hash(tmp_path):
    path = tmp_path / "empty.ldif"
    path.write_bytes(b"")
    assert describe_input(str(path), "directory").sha256 == hashlib.sha256(b"").hexdigest()


def test_standard_input_a_fifo_and_a_dc_are_described_not_read(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it would wait for a writer: describe_input must not open it
    for name, is_url, words in (("-", False, "standard input"), (str(fifo), False, "not a regular file"),
                                ("ldaps://dc1.corp.example.com", True, "from the DC")):  # fmt: skip
        described = describe_input(name, "input", is_url)
        assert described.sha256 is None and described.size is None and words in (described.note or ""), name


def test_a_missing_file_is_a_note_not_an_error(tmp_path):
    described = describe_input(str(tmp_path / "gone.txt"), "input")
    assert described.sha256 is None and "not hashed" in (described.note or "")


def test_blocks_stop_at_the_size_given_and_at_the_end_of_the_file():
    data = b"x" * (BLOCK + 10)
    assert [len(block) for block in provenance._blocks(io.BytesIO(data), len(data))] == [BLOCK, 10]
    assert b"".join(provenance._blocks(io.BytesIO(data), 5)) == b"xxxxx"  # a file that grew: its first size only
    assert b"".join(provenance._blocks(io.BytesIO(b"abc"), 10)) == b"abc"  # a file that shrank: what is there


def test_a_file_that_changed_while_hashed_has_no_hash(tmp_path, monkeypatch):
    path = tmp_path / "growing.txt"
    path.write_bytes(b"abc")
    real_stat = os.stat

    def stale_stat(name, *args, **kwargs):  # the size seen before the file grew by 3 bytes
        result = real_stat(name, *args, **kwargs)
        return os.stat_result((result.st_mode, *result[1:6], result.st_size - 3, *result[7:]))

    monkeypatch.setattr(provenance.os, "stat", stale_stat)
    described = describe_input(str(path), "input")
    assert described.sha256 is None and described.note == "changed while it was hashed"
