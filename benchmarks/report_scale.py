"""Wall time and peak memory of ``sidtool report`` on synthetic forests of growing size, checked against ground truth.

    python benchmarks/report_scale.py [--sizes 10000,100000,1000000] [--out DIR] [--plot FILE]

For each size (ACL entries in the PFDAVAdmin export) it generates a forest with
``benchmarks/gen_forest.py`` (20 entries per folder, one principal per 5
entries: 200k principals at 1M entries), then runs, as a user would, in a
separate process::

    sidtool report pfdavadmin.txt --directory forest.ldif --format json > report.json

under ``/usr/bin/time -v`` when it exists (peak RSS from "Maximum resident set
size"), else with ``resource.getrusage(RUSAGE_CHILDREN)``. Right before it, in the same run, it
runs the floor (``benchmarks/floor.py``: one plain Python pass that reads, unfolds and
base64-decodes the same LDIF and splits the same export) as a child process too, and reports
sidtool's wall time as a multiple of the floor's (``--floor-rounds``: best of N for the floor). The store findings
are compared with the planted ground truth as sets of (folder, trustee SID,
risk). Prints a table, writes the figures as JSON next to the data, and a PNG
plot of time and memory against size (matplotlib: ``pip install '.[bench]'``).
Generated data goes to ``benchmarks/out/`` (git-ignored) unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.gen_forest import Options, generate  # noqa: E402

ENTRIES_PER_FOLDER = 20
ENTRIES_PER_PRINCIPAL = 5
TARGET_SECONDS = 60  # the first scale issue's targets (met)
TARGET_RSS_MB = 600  # issue 18: peak memory at 1M entries (the first issue's was 2 GB)
TARGET_GROWTH = 10.5  # issue 18 (the first issue's was 12)
TARGET_FLOOR_RATIO = 4  # issue 18: sidtool report within 4x the floor measured in the same run


def forest_options(entries: int, seed: int) -> Options:
    """Generator parameters for a forest with ``entries`` store ACL entries."""
    principals = max(200, entries // ENTRIES_PER_PRINCIPAL)
    return Options(
        domains=3,
        users=principals * 9 // 10,
        groups=principals // 10,
        depth=3,
        fanout=10,
        at_risk_share=0.001,
        routes={"direct": 1.0, "nested": 2.0, "primary": 1.0, "foreign": 1.0},
        servers=["2003sp2", "2003sp1", "2000sp3"],
        folders=max(1, entries // ENTRIES_PER_FOLDER),
        entries_per_folder=ENTRIES_PER_FOLDER,
        mail_enabled_share=0.1,
        default_post_share=0.02,
        seed=seed,
    )


def run_report(data: Path, show_all: bool) -> dict[str, object]:
    """Run sidtool report on ``data`` in a child process; wall time, peak RSS and exit code."""
    command = [sys.executable, "-m", "sidtool", "report", str(data / "pfdavadmin.txt"),
               "--directory", str(data / "forest.ldif"), "--format", "json"]  # fmt: skip
    if show_all:
        command.append("--all")
    timer = shutil.which("time") if Path("/usr/bin/time").exists() else None
    if timer:
        command = ["/usr/bin/time", "-v", *command]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(data / "report.json", "wb") as stdout:
        process = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, env=environment, cwd=ROOT)
    seconds = time.perf_counter() - start
    stderr = process.stderr.decode("utf-8", "replace")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    if match:
        rss_mb, how = int(match.group(1)) / 1024, "/usr/bin/time -v"
    else:
        rss_mb, how = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "getrusage"
        if resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss == before.ru_maxrss:
            how += " (max over children so far)"
    messages = [line for line in stderr.splitlines() if line.startswith("sidtool:")]
    return {"seconds": seconds, "rss_mb": rss_mb, "rss_by": how, "exit": process.returncode, "messages": messages}


def run_floor(data: Path, rounds: int) -> dict[str, object]:
    """Wall time of benchmarks/floor.py on the same two files, in a child process (best of ``rounds``)."""
    command = [sys.executable, str(ROOT / "benchmarks" / "floor.py"), "--ldif", str(data / "forest.ldif"),
               "--pfdavadmin", str(data / "pfdavadmin.txt")]  # fmt: skip
    best = float("inf")
    for _ in range(max(1, rounds)):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
    return {"floor_seconds": best}


def load_average() -> str:
    """The 1-minute load average when the run started (the machine is shared: this says how busy it was)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def check(data: Path, show_all: bool) -> dict[str, object]:
    """Store findings against the planted ground truth: set equality on (folder, trustee SID, risk)."""
    with open(data / "report.json", encoding="utf-8") as stream:
        report = json.load(stream)
    with open(data / "truth.json", encoding="utf-8") as stream:
        truth = json.load(stream)
    found = {(f["folder"], f["trustee_sid"], f["risk"]) for f in report["findings"] if f["acl_source"] == "store"}
    expected = {(e["folder"], e["trustee_sid"], e["risk"]) for e in truth["store_entries"]
                if show_all or e["risk"] != "low"}  # fmt: skip
    return {
        "matches": found == expected,
        "expected": len(expected),
        "found": len(found),
        "missing": sorted(expected - found)[:5],
        "unexpected": sorted(found - expected)[:5],
        "findings": len(report["findings"]),
        "senders": report["summary"]["senders_at_risk"],
        "senders_planted": truth["senders_at_risk"],
        "output_mb": (data / "report.json").stat().st_size / 2**20,
    }


def machine() -> dict[str, object]:
    memory = ""
    try:
        with open("/proc/meminfo") as stream:
            memory = f"{int(stream.readline().split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "memory": memory, "python": platform.python_version(),
            "platform": platform.platform(), "machine": platform.machine()}  # fmt: skip


def plot(results: list[dict[str, object]], target: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError:
        print("matplotlib is not installed (pip install '.[bench]'): no plot", file=sys.stderr)
        return
    sizes = [r["entries"] for r in results]
    figure, time_axis = pyplot.subplots(figsize=(7, 4.2))
    time_axis.plot(sizes, [r["seconds"] for r in results], "o-", color="tab:blue", label="sidtool report (s)")
    floors = [r["floor_seconds"] for r in results]
    time_axis.plot(sizes, floors, "^-", color="tab:green", label="the floor (s)")
    time_axis.plot(sizes, [TARGET_FLOOR_RATIO * f for f in floors], ":", color="tab:green", label="4x the floor")
    time_axis.legend(loc="upper left", fontsize="small")
    time_axis.axhline(TARGET_SECONDS, color="tab:blue", linestyle=":", linewidth=1)
    time_axis.set_xscale("log")
    time_axis.set_yscale("log")
    time_axis.set_xlabel("store ACL entries (principals = entries / 5)")
    time_axis.set_ylabel("wall time (s)", color="tab:blue")
    memory_axis = time_axis.twinx()
    memory_axis.plot(sizes, [r["rss_mb"] for r in results], "s--", color="tab:red", label="peak RSS (MB)")
    memory_axis.axhline(TARGET_RSS_MB, color="tab:red", linestyle=":", linewidth=1)
    memory_axis.set_yscale("log")
    memory_axis.set_ylabel("peak RSS (MB)", color="tab:red")
    time_axis.set_title("sidtool report --format json against the floor (dotted: 60 s, 600 MB)")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110)
    print(f"plot written to {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="ACL entries per run, comma-separated")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out", help="where generated data goes")
    parser.add_argument("--plot", type=Path, help="PNG to write (default: OUT/report_scale.png)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--all", action="store_true", help="run report with --all (low findings too)")
    parser.add_argument("--reuse", action="store_true", help="reuse data already generated for a size")
    parser.add_argument("--floor-rounds", type=int, default=3, help="runs of the floor per size (best is kept)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    results = []
    for entries in sizes:
        data = args.out / f"forest-{entries}"
        options = forest_options(entries, args.seed)
        start = time.perf_counter()
        if args.reuse and (data / "truth.json").exists():
            with open(data / "truth.json", encoding="utf-8") as stream:
                summary = json.load(stream)["summary"]
        else:
            summary = generate(options, data)
        generated = time.perf_counter() - start
        load = load_average()
        floor = run_floor(data, args.floor_rounds)
        run = run_report(data, args.all)
        checked = check(data, args.all)
        result = {"entries": summary["entries"], "principals": summary["principals"], "folders": summary["folders"],
                  "generate_seconds": generated, "ldif_mb": (data / "forest.ldif").stat().st_size / 2**20,
                  "load_average": load, **floor, **run, **checked}  # fmt: skip
        result["floor_ratio"] = result["seconds"] / result["floor_seconds"]
        results.append(result)
        print(f"{entries}: {result['seconds']:.1f} s ({result['floor_ratio']:.1f}x the floor's "
              f"{result['floor_seconds']:.2f} s), {result['rss_mb']:.0f} MB, truth {result['matches']}",
              file=sys.stderr)  # fmt: skip
    print()
    print(
        "| ACL entries | principals | folders | LDIF MB | wall s | floor s | ratio | load | peak RSS MB | exit "
        "| findings | JSON MB | store findings = ground truth |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        verdict = "yes" if r["matches"] else f"NO (missing {r['missing']}, unexpected {r['unexpected']})"
        print(f"| {r['entries']:,} | {r['principals']:,} | {r['folders']:,} | {r['ldif_mb']:.0f} | {r['seconds']:.1f} "
              f"| {r['floor_seconds']:.2f} | {r['floor_ratio']:.1f} | {r['load_average']} | {r['rss_mb']:,.0f} "
              f"| {r['exit']} | {r['findings']:,} | {r['output_mb']:.0f} "
              f"| {verdict} ({r['found']:,} of {r['expected']:,}) |")  # fmt: skip
    by_size = {r["entries"]: r for r in results}
    if 100_000 in by_size and 1_000_000 in by_size:
        growth = by_size[1_000_000]["seconds"] / by_size[100_000]["seconds"]
        print(f"\ngrowth t(1M)/t(100k) = {growth:.1f} (target <= {TARGET_GROWTH})")
    for r in results:
        print(f"{r['entries']:,} entries: {r['floor_ratio']:.1f}x the floor (target <= {TARGET_FLOOR_RATIO})")
    for r in results:
        if r["messages"]:
            print(f"{r['entries']}: sidtool said: {r['messages'][:3]}", file=sys.stderr)
    record = {"machine": machine(), "measured": time.strftime("%Y-%m-%d %H:%M"), "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report_scale.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"machine: {record['machine']}")
    if len(results) > 1 or args.plot:
        plot(results, args.plot or args.out / "report_scale.png")
    return 0 if all(r["matches"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
