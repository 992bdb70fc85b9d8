"""The cost of the progress bar: ``sidtool report`` with stderr on a terminal (bar drawn) and with ``-q``.

Uses a forest made by benchmarks/report_scale.py (``--out DIR``), runs each variant --rounds times,
alternating, and prints the best times and their ratio (target: the bar costs under 2%).

    python benchmarks/progress_cost.py /tmp/rs/forest-100000
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(forest: Path, extra: list[str]) -> tuple[float, float]:
    """One report with stderr on a pseudo-terminal, so that the bar is drawn unless -q: (wall, CPU) seconds."""
    output = str(forest / "progress-cost.json")
    command = [sys.executable, "-m", "sidtool", "report", str(forest / "pfdavadmin.txt"), "--directory",
               str(forest / "forest.ldif"), "--format", "json", "-o", output, *extra]  # fmt: skip
    return on_terminal(command, {**os.environ, "PYTHONPATH": str(REPO)})


def on_terminal(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` with stderr on a pseudo-terminal (stdout discarded): its (wall, CPU) seconds.

    The terminal is drained while the command runs: a full pty buffer would block the child's writes
    and charge the progress display for time it spent waiting on us.
    """
    leader, follower = pty.openpty()
    drained = threading.Thread(target=_drain, args=(leader,), daemon=True)
    drained.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(command, stderr=follower, stdout=subprocess.DEVNULL, env=env, check=False)
    elapsed = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.close(follower)
    drained.join()
    os.close(leader)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _drain(leader: int) -> None:
    try:
        while os.read(leader, 65536):
            pass
    except OSError:  # the other end is closed: everything drawn was read
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("forest", type=Path, help="a forest folder of report_scale.py (forest.ldif, pfdavadmin.txt)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    drawn, quiet = [], []
    for _ in range(args.rounds):
        drawn.append(run(args.forest, []))
        quiet.append(run(args.forest, ["-q"]))
    for label, index in (("wall", 0), ("CPU", 1)):
        shown = ", ".join(f"{t[index]:.2f}" for t in drawn)
        hidden = ", ".join(f"{t[index]:.2f}" for t in quiet)
        best = min(t[index] for t in drawn) / min(t[index] for t in quiet)
        print(f"{label}: with the bar {shown} s; with -q {hidden} s; best/best {best:.3f} (target: under 1.02)")


if __name__ == "__main__":
    main()
