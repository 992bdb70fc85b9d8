"""Run the sidtool command line with its stdout on a real pseudo-terminal of a given size."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading

from tests.support.cli_runner import REPO


def run_on_terminal(*args: str, columns: int, rows: int = 50) -> tuple[int, str, str]:
    """``python -m sidtool ARGS`` with stdout on a pty ``columns`` wide: (exit code, what the terminal got, stderr).

    COLUMNS and LINES are removed from the environment, so that the width comes from the terminal itself.
    Line ends come back as the terminal sends them ("\\r\\n"), turned into "\\n".
    """
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in ("COLUMNS", "LINES", "SIDTOOL_DEBUG"):
        environment.pop(name, None)
    received: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(leader, received), daemon=True)
    reader.start()  # a full pty buffer would block the child
    result = subprocess.run(
        [sys.executable, "-m", "sidtool", *args], stdout=follower, stderr=subprocess.PIPE, env=environment,
        cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    os.close(follower)
    reader.join(timeout=30)
    os.close(leader)
    text = b"".join(received).decode("utf-8", errors="replace").replace("\r\n", "\n")
    return result.returncode, text, result.stderr.decode("utf-8", errors="replace")


def _drain(leader: int, received: list[bytes]) -> None:
    try:
        while chunk := os.read(leader, 65536):
            received.append(chunk)
    except OSError:  # the other end is closed: everything written was read
        pass
