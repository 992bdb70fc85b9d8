"""End to end: standard streams that are closed, full or gone. The exit code still says how the run went,
an output that cannot be written is one line and exit 2, and no traceback reaches the user (README, Exit codes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli_runner import REPO

FOREST = str(REPO / "examples" / "corp-forest.ldif")
UNRESOLVED = "SETACL\t\\Sales Orders\tCORP\\nobody.here\tAuthor\n"  # a record skipped: exit 3


def _sidtool(*args: str, env: dict[str, str] | None = None, **streams) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    environment.pop("SIDTOOL_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "sidtool", *args], env=environment, cwd=REPO, **streams)


@pytest.mark.parametrize(("extra", "code"), [((), 1), (("--format", "json"), 1), (("-o", "-"), 1), (("skipped",), 3)])
def test_a_reader_that_goes_away_leaves_the_exit_code_as_it_was(tmp_path: Path, extra, code):
    """``sidtool report ... | head`` under ``set -o pipefail``: findings still exit 1 and holes 3, never 0."""
    args = ["report", FOREST, *extra]
    if extra == ("skipped",):
        (tmp_path / "perms.txt").write_text(UNRESOLVED, encoding="utf-8")
        args = ["report", str(tmp_path / "perms.txt"), "--directory", FOREST]
    read_end, write_end = os.pipe()
    os.close(read_end)  # gone before the first byte
    process = _sidtool(*args, stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    _, errors = process.communicate(timeout=120)
    assert process.returncode == code, errors
    assert b"Traceback" not in errors and b"internal error" not in errors


@pytest.mark.parametrize("extra", [(), ("--format", "json"), ("-o", "-")])
def test_a_full_standard_output_is_one_line_and_exit_2(extra):
    with open("/dev/full", "wb") as full:
        process = _sidtool("report", FOREST, *extra, stdout=full, stderr=subprocess.PIPE)
        _, errors = process.communicate(timeout=120)
    assert process.returncode == 2
    assert errors.decode() == "sidtool: standard output: cannot write: No space left on device\n"


def test_closed_standard_streams_are_named_not_internal_errors(tmp_path: Path):
    closed_out = _sidtool("report", FOREST, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          preexec_fn=lambda: os.close(1))  # fmt: skip
    assert closed_out.communicate(timeout=120)[1].decode() == "sidtool: standard output: closed: give -o FILE\n"
    assert closed_out.returncode == 2
    for args in (("report", "-"), ("sd", "decode", "-")):
        closed_in = _sidtool(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(0))
        assert closed_in.communicate(timeout=120)[1].decode() == "sidtool: -: standard input is closed\n"
        assert closed_in.returncode == 2
    (tmp_path / "perms.txt").write_text(UNRESOLVED, encoding="utf-8")
    out = tmp_path / "report.txt"
    closed_err = _sidtool("report", str(tmp_path / "perms.txt"), "--directory", FOREST, "-o", str(out),
                          stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2))  # fmt: skip
    closed_err.communicate(timeout=120)
    assert closed_err.returncode == 3  # the hole is still the exit code, and the report still written
    assert "record-skipped" in out.read_text(encoding="utf-8")


def test_sd_decode_reads_bytes_that_are_not_utf8_whatever_the_locale():
    process = _sidtool("sd", "decode", "-", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env={"PYTHONIOENCODING": "ascii"})  # fmt: skip
    _, errors = process.communicate(b"O:BAG:BAD:(A;;GA;;;WD)\xff\n", timeout=120)
    assert process.returncode == 2  # the value is refused by the decoder, naming where
    assert errors.decode().startswith("sidtool: ") and errors.count(b"\n") == 1 and b"Error" not in errors


def _on_a_terminal(*args: str) -> bytes:
    """What ``sidtool ARGS`` writes to standard output when it is a terminal (a pseudo-terminal)."""
    import pty

    primary, secondary = pty.openpty()
    process = _sidtool(*args, stdout=secondary, stderr=subprocess.DEVNULL, env={"COLUMNS": "120"})
    os.close(secondary)
    output = bytearray()
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the writer closed the terminal
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=120)
    os.close(primary)
    return bytes(output)


@pytest.mark.parametrize("fmt", ["sddl", "json", "csv"])
def test_machine_formats_on_a_terminal_cannot_drive_it_and_in_a_pipe_are_exact(fmt):
    """A condition's string in a descriptor is data from the directory: on a terminal its OSC 52 (clipboard) and 8-bit
    CSI are shown as \\u escapes (JSON reads them as the same characters); a pipe gets the exact text."""
    sddl = 'O:BAG:BAD:(XA;;FR;;;WD;(@User.Title == "P\x1b]52;c;aGk=\x07\x9bM"))'
    shown = _on_a_terminal("sd", "decode", sddl, "--format", fmt).decode("utf-8")
    assert not any(mark in shown for mark in ("\x1b", "\x07", "\x9b")), shown
    assert "\\u001b]52;c;aGk=\\u0007" in shown or "\\\\u001b]52" in shown
    piped = _sidtool("sd", "decode", sddl, "--format", fmt, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    exact = piped.communicate(timeout=120)[0].decode("utf-8")
    assert "\x9b" in exact  # (JSON writes ESC and BEL as \u001b and \u0007 itself; the 8-bit CSI it leaves raw)
    if fmt == "json":
        assert json.loads(shown.replace("\r\n", "\n")) == json.loads(exact)
