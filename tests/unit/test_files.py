"""Writing outputs: in place onto FIFOs and devices, atomically onto regular files, keeping mode and owner.

A report written with ``-o`` onto a FIFO must reach the FIFO's reader and leave the FIFO a FIFO (renaming
a temporary file over it, as a plain atomic write does, would replace it; as root, ``-o /dev/null`` would
replace the machine's ``/dev/null``). The device case is proved with ``/dev/stdout`` in a child process
whose standard output is a pipe, never with a real device node.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sidtool.errors import InputError
from sidtool.files import write_atomic, write_atomic_bytes
from sidtool.model import Directory
from sidtool.sources import snapshot
from tests.support.cli_runner import REPO, run_sidtool

FOREST = str(REPO / "examples" / "corp-forest.ldif")


class FifoReader:
    """The reading end of a FIFO, drained by a thread; a writing end is held open so that EOF comes only on close."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.read_end = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a reader exists: writers open at once
        self.held_writer = os.open(path, os.O_WRONLY)
        os.set_blocking(self.read_end, True)
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while chunk := os.read(self.read_end, 1 << 16):
            self.chunks.append(chunk)

    def close(self) -> bytes:
        """Everything written to the FIFO, once every writer has closed it."""
        os.close(self.held_writer)
        self.thread.join(timeout=60)  # a bound against a hang, not a timing assertion
        assert not self.thread.is_alive()
        os.close(self.read_end)
        return b"".join(self.chunks)


def test_a_fifo_gets_the_bytes_and_stays_a_fifo(tmp_path):
    reader = FifoReader(tmp_path / "pipe")
    payload = b"x" * 300_000 + b"\nend\n"  # more than a pipe holds: the writer waits for the reader
    write_atomic_bytes(str(reader.path), [payload[:100_000], payload[100_000:]])
    assert reader.close() == payload
    assert stat.S_ISFIFO(os.stat(reader.path).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temporary file beside it


def test_report_and_remediation_onto_fifos(tmp_path):
    report, remediation = FifoReader(tmp_path / "report"), FifoReader(tmp_path / "fix")
    result = run_sidtool("report", FOREST, "--format", "json", "-o", str(report.path),
                         "--remediation", "ldif", str(remediation.path))  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert report.close().startswith(b'{\n  "format": "sidtool-report"')
    assert b"delete: member" in remediation.close()
    assert stat.S_ISFIFO(os.stat(report.path).st_mode) and stat.S_ISFIFO(os.stat(remediation.path).st_mode)


def test_dev_stdout_is_written_not_replaced():
    """In a child whose stdout is a pipe, /dev/stdout is that pipe: the report arrives there."""
    before = os.lstat("/dev/stdout")
    result = run_sidtool("report", FOREST, "--format", "json", "-o", "/dev/stdout")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith('{\n  "format": "sidtool-report"')
    after = os.lstat("/dev/stdout")
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)  # the same node, not a new file
    assert not any(name.startswith(".stdout.") for name in os.listdir("/dev"))


def test_dash_is_standard_output():
    result = run_sidtool("report", FOREST, "--format", "json", "-o", "-")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith('{\n  "format": "sidtool-report"')
    assert not Path(REPO / "-").exists()


def test_a_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("previous")
    target.chmod(0o640)
    write_atomic(str(target), "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_new_file_gets_the_umask_mode_and_a_snapshot_0600(tmp_path):
    previous = os.umask(0o027)
    try:
        write_atomic(str(tmp_path / "report.txt"), "text")
        write_atomic_bytes(str(tmp_path / "snap.json"), b"{}", private=True)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "report.txt").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "snap.json").stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_file_of_another_user_keeps_its_owner_when_root_replaces_it(tmp_path):
    target = tmp_path / "theirs.txt"
    target.write_text("previous")
    os.chown(target, 12345, 23456)
    target.chmod(0o664)
    write_atomic(str(target), "new")
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 23456, 0o664)
    assert target.read_text() == "new"


def test_a_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("previous")

    def pieces():
        yield "half"
        raise InputError("made up")

    with pytest.raises(InputError):
        write_atomic(str(target), pieces())
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]


SLOW_WRITER = """\
import sys
from sidtool.files import write_atomic

def pieces():
    yield "first piece\\n"
    print("writing", flush=True)
    sys.stdin.readline()  # the producer stalls here until the test has sent its signal
    yield "never written\\n"

write_atomic(sys.argv[1], pieces())
"""


@pytest.mark.parametrize(("number", "status"), [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, -signal.SIGINT)])
def test_a_signal_during_a_slow_write_removes_the_temporary_file(tmp_path, number, status):
    target = tmp_path / "report.txt"
    target.write_text("previous")
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment, text=True)  # fmt: skip
    try:
        assert child.stdout.readline() == "writing\n"
        temporaries = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert len(temporaries) == 1  # the write is under way
        child.send_signal(number)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    # Each ends the process by its signal, as with no handler (an uncaught KeyboardInterrupt does that too).
    assert child.returncode == status, stderr
    assert number != signal.SIGINT or "KeyboardInterrupt" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]
    assert target.read_text() == "previous"


def test_a_new_snapshot_is_0600_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        snapshot.save(Directory(), str(tmp_path / "snap.json.gz"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "snap.json.gz").stat().st_mode) == 0o600


def test_joined_pieces_keep_their_order_and_type_and_each_run_is_bounded():
    from sidtool.files import joined

    assert list(joined(["a", "bc", "d", "", "efg", "h"], 3)) == ["abc", "defg", "h"]
    assert list(joined([b"ab", b"c", b"d"], 2)) == [b"ab", b"cd"]
    assert list(joined([], 8)) == [] and list(joined(["x"], 0)) == ["x"]
    runs = list(joined((f"{n}\n" for n in range(10_000)), 1000))
    assert "".join(runs) == "".join(f"{n}\n" for n in range(10_000)) and max(map(len, runs)) < 1000 + 6
