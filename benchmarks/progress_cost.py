"""The cost of the progress bar: ``sidtool report`` with stderr on a terminal (bar drawn) and with ``-q``.

Uses a forest made by benchmarks/report_scale.py (``--out DIR``), runs each variant --rounds times,
alternating, and prints the best times and their ratio (target: the bar costs under 2%).

    python benchmarks/progress_cost.py /tmp/rs/forest-100000
"""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(forest: Path, extra: list[str]) -> float:
    """One report with stderr on a pseudo-terminal, so that the bar is drawn unless -q; its wall time."""
    leader, follower = pty.openpty()
    command = [
        sys.executable,
        "-m",
        "sidtool",
        "report",
        str(forest / "pfdavadmin.txt"),
        "--directory",
        str(forest / "forest.ldif"),
        "--format",
        "json",
        "-o",
        str(forest / "progress-cost.json"),
        *extra,
    ]
    began = time.perf_counter()
    subprocess.run(command, stderr=follower, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    elapsed = time.perf_counter() - began
    os.close(follower)
    try:
        while os.read(leader, 65536):
            pass
    except OSError:  # the other end is closed: everything drawn was read
        pass
    os.close(leader)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("forest", type=Path, help="a forest folder of report_scale.py (forest.ldif, pfdavadmin.txt)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    drawn, quiet = [], []
    for _ in range(args.rounds):
        drawn.append(run(args.forest, []))
        quiet.append(run(args.forest, ["-q"]))
    print(f"with the bar: {', '.join(f'{t:.2f}' for t in drawn)} s; with -q: {', '.join(f'{t:.2f}' for t in quiet)} s")
    print(f"best with the bar / best with -q: {min(drawn) / min(quiet):.3f} (target: under 1.02)")


if __name__ == "__main__":
    main()
