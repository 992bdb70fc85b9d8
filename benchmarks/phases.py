"""Where ``sidtool report`` spends its time and memory, phase by phase, in one process.

    python benchmarks/phases.py FOREST_DIR [--format json|table]

FOREST_DIR is one of ``report_scale.py``'s generated forests (``pfdavadmin.txt`` and
``forest.ldif``). The phases are those of :func:`sidtool.reporting.run_report`, called one by one
under the same heap regime (the cyclic collector paused while the model is built and assessed):
reading each input (the export's trustee names resolved as it is read, as ``read_inputs`` does when
the directory comes first), linking folders, resolving the names left, the membership graph and the
risk pass, building the report and rendering it. For each phase it prints the CPU seconds (steadier
than wall time on a shared machine) and the process's peak resident memory (VmHWM) at its end, so
the phase that raises the peak shows. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from sidtool.layout import output_width
from sidtool.report import build, render_view
from sidtool.risk import assess
from sidtool.sources import READERS, pfdavadmin
from sidtool.sources.folders import link_folders
from sidtool.sources.trustees import directory_resolver, resolve_in_place


def peak_rss_mb() -> float:
    """This process's peak resident set so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(forest: Path, fmt: str) -> dict[str, object]:
    """One report on ``forest``, phase by phase: {phase: [seconds, peak MB]}."""
    phases: dict[str, list[float]] = {}
    clock = time.process_time()

    def mark(name: str) -> None:
        nonlocal clock
        now = time.process_time()
        phases[name] = [round(now - clock, 3), round(peak_rss_mb(), 1)]
        clock = now

    problems: list[object] = []
    gc.disable()
    with open(forest / "forest.ldif", "rb") as stream:
        directory = READERS["ldif"].load(stream, "forest.ldif", problems.append)
    mark("read LDIF")
    with open(forest / "pfdavadmin.txt", "rb") as stream:  # as read_inputs reads it: the directory is all read
        export = pfdavadmin.load(stream, "pfdavadmin.txt", problems.append, trustee_sid=directory_resolver(directory))
        directory = directory.merged(export)
        del export
    mark("read PFDAVAdmin export (names resolved as read), merge")
    directory = link_folders(directory)
    mark("link folders")
    sets = list(directory.permissions)  # as read_inputs does: the sets resolved in place, the old ones freed
    directory = replace(directory, permissions=())
    resolve_in_place(directory, sets, problems.append)
    directory = replace(directory, permissions=tuple(sets))
    del sets
    mark("resolve the names left")
    assessment = assess(directory)
    mark("assess (membership graph, risk)")
    gc.freeze()
    gc.enable()
    report = build(assessment, False, {})
    mark("build the report")
    written = sum(len(piece) for piece in render_view(report, "entries", fmt, width=output_width()))
    mark(f"render {fmt}")
    return {"phases": phases, "findings": len(assessment.findings), "characters": written, "problems": len(problems)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("forest", type=Path)
    parser.add_argument("--format", default="json")
    args = parser.parse_args(argv)
    result = run(args.forest, args.format)
    result["total"] = round(sum(seconds for seconds, _ in result["phases"].values()), 3)  # type: ignore[union-attr]
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
