"""Collection speed: ``sidtool collect`` against OpenLDAP's ``ldapsearch`` on the same DC, in the same run.

It starts a Samba AD DC (tests/dc/run-dc) on a free loopback address, loads the test fixture plus
a generated forest of --users users and --groups groups (each group with members), then pulls the
same objects both ways over LDAPS, best of --rounds:

* sidtool: ``sidtool collect`` (rootDSE, partitions, Exchange configuration, domain object, every
  user, group, computer and foreign security principal, every publicFolder with its descriptor),
  written as a snapshot;
* ldapsearch: the same searches with the same attributes, paged (``-E pr=1000/noprompt``) and, for
  the folders, with the SD flags control, written as LDIF.

It prints both wall times and the ratio (target: sidtool at most 1.5 times ldapsearch), and stops
the DC by its pid. Run as root (run-dc installs Samba when missing):

    python benchmarks/collect_vs_ldapsearch.py --users 20000 --groups 2000

``--dc DIR`` keeps the DC in DIR (started and loaded on the first run, reused by the next ones;
stop it with ``tests/dc/run-dc stop DIR``). ``--base CHECKOUT`` also times the ``sidtool collect``
of another checkout (say, the main branch's) in the same rounds, alternating with this one's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.gen_forest import LARGE_GROUP_MEMBERS, samba_load_ldif  # noqa: E402
from benchmarks.progress_cost import on_terminal  # noqa: E402
from sidtool.sources import snapshot  # noqa: E402
from sidtool.sources.ldap import collector as ldap_source  # noqa: E402

RUN_DC = REPO / "tests" / "dc" / "run-dc"
PRINCIPALS = "(|(objectClass=user)(objectClass=group)(objectClass=foreignSecurityPrincipal))"
# The very attributes sidtool asks for, so that both sides read the same data.
PRINCIPAL_ATTRIBUTES = [*ldap_source.PRINCIPAL_ATTRIBUTES, "member"]
FOLDER_ATTRIBUTES = list(ldap_source.FOLDER_ATTRIBUTES)
EXCHANGE_ATTRIBUTES = list(ldap_source.EXCHANGE_ATTRIBUTES)


def large_group_members(snapshot_path: Path) -> int | None:
    """How many member values sidtool collected for LoadLargeGroup (ranged retrieval at work)."""
    with open(snapshot_path, "rb") as stream:
        directory = snapshot.load(stream, str(snapshot_path), lambda problem: None)
    found = [p for p in directory.principals if p.name == "LoadLargeGroup"]
    return len(found[0].members) if found else None


def free_loopback() -> str:
    for last in range(40, 80):
        host = f"127.0.0.{last}"
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex((host, 636)) != 0:
                return host
    raise SystemExit("no free loopback address")


def environment(directory: Path) -> dict[str, str]:
    values = {}
    for line in (directory / "env").read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = value.strip("'")
    return values


@dataclass
class Runs:
    """The rounds of one contender: wall times, and the CPU seconds (user + system) of its processes."""

    name: str
    walls: list[float] = field(default_factory=list)
    cpu: float = 0.0

    def run(self, commands: list[list[str]], env: dict[str, str], outputs: list[Path]) -> None:
        """Run ``commands`` one after the other, from ``outputs[0]``'s folder (so that ``python -m`` imports
        sidtool from PYTHONPATH, not from the folder it was started in), and note the time they took."""
        before, began = os.times(), time.perf_counter()
        for command, output in zip(commands, outputs, strict=True):
            with output.open("wb") as sink:
                subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, env=env, check=True, cwd=output.parent)
        self.walls.append(time.perf_counter() - began)
        after = os.times()
        self.cpu += after.children_user - before.children_user + after.children_system - before.children_system

    def best(self) -> float:
        return min(self.walls)

    def row(self) -> str:
        rounds = ", ".join(f"{wall:.2f}" for wall in self.walls)
        median, cpu = statistics.median(self.walls), self.cpu / len(self.walls)
        return f"{self.name:24}{self.best():9.2f}s {median:9.2f}s {cpu:9.2f}s  {rounds}"

    def against(self, peer: Runs) -> float:
        """The median of this one's ratios to ``peer`` in the same rounds (less swayed by a busy machine)."""
        return statistics.median(wall / other for wall, other in zip(self.walls, peer.walls, strict=True))


def ldapsearch_commands(values: dict[str, str]) -> list[list[str]]:
    base = values["DC_BASE_DN"]
    config = f"CN=Configuration,{base}"
    common = [
        "ldapsearch",
        "-LLL",
        "-o",
        "ldif-wrap=no",
        "-H",
        values["DC_LDAPS_URI"],
        "-D",
        values["DC_ADMIN_USER"],
        "-y",
        f"{values['DC_DIR']}/password",
        "-E",
        "pr=1000/noprompt",
    ]
    return [
        [
            *common,
            "-b",
            "",
            "-s",
            "base",
            "(objectClass=*)",
            "defaultNamingContext",
            "configurationNamingContext",
            "rootDomainNamingContext",
        ],
        [
            *common,
            "-b",
            f"CN=Partitions,{config}",
            "(objectClass=crossRef)",
            "objectClass",
            "nCName",
            "dnsRoot",
            "nETBIOSName",
            "trustParent",
            "systemFlags",
        ],
        [
            *common,
            "-b",
            f"CN=Microsoft Exchange,CN=Services,{config}",
            "(|(objectClass=msExchExchangeServer)(objectClass=msExchPublicMDB)(objectClass=msExchPFTree))",
            "objectClass",
            "cn",
            "name",
            "serialNumber",
            "msExchOwningPFTree",
            "msExchPFTreeType",
        ],
        [
            *common,
            "-b",
            base,
            "-s",
            "base",
            "(objectClass=domain)",
            "objectClass",
            "objectSid",
            "msDS-Behavior-Version",
        ],
        [*common, "-b", base, PRINCIPALS, *PRINCIPAL_ATTRIBUTES],
        [
            *common,
            "-E",
            "!1.2.840.113556.1.4.801=::MAMCAQc=",
            "-b",
            base,
            "(objectClass=publicFolder)",
            *FOLDER_ATTRIBUTES,
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=870585)
    parser.add_argument("--progress-rounds", type=int, default=0,
                        help="also time collect with progress on a terminal against -q, this many rounds")  # fmt: skip
    parser.add_argument("--process-model", default="single", choices=["single", "prefork"],
                        help="Samba's process model: single (the test DC's) or prefork (Samba's default)")  # fmt: skip
    parser.add_argument("--dc", type=Path, help="keep the DC in this directory, and reuse the one already there")
    parser.add_argument("--base", type=Path, help="also time the sidtool collect of this checkout, alternating")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sidtool-collect-bench-"))
    dc = args.dc.resolve() if args.dc else work / "dc"
    try:
        if args.dc and dc_running(dc):
            print(f"reusing the DC in {dc} (loaded by an earlier run; --users and --groups are its own)")
        elif args.dc and (dc / "env").exists():
            subprocess.run([sys.executable, str(RUN_DC), "restart", str(dc)], check=True, stdout=subprocess.DEVNULL)
            print(f"restarted the DC in {dc} (loaded by an earlier run; --users and --groups are its own)")
        else:
            start_dc(dc, work, args)
        values = environment(dc)
        env = {
            **os.environ,
            "LDAPTLS_CACERT": values["DC_CA_FILE"],
            "SIDTOOL_PASSWORD": values["DC_ADMIN_PASSWORD"],
            "PYTHONPATH": str(REPO),
        }
        sidtool = [
            sys.executable,
            "-m",
            "sidtool",
            "collect",
            "--server",
            values["DC_LDAPS_URI"],
            "--ca-file",
            values["DC_CA_FILE"],
            "--user",
            values["DC_ADMIN_USER"],
            "-q",
            "-o",
            str(work / "snap.json"),
        ]
        searches = ldapsearch_commands(values)
        ldif_outputs = [work / f"search{n}.ldif" for n in range(len(searches))]
        ldapsearch, sidtool_runs = Runs("ldapsearch (6 searches)"), Runs("sidtool collect")
        base = Runs(f"base: {args.base}")
        base_env = {**env, "PYTHONPATH": str(args.base.resolve())} if args.base else env
        for _ in range(args.rounds):
            ldapsearch.run(searches, env, ldif_outputs)
            if args.base:
                base.run([sidtool], base_env, [work / "collect.out"])
            sidtool_runs.run([sidtool], env, [work / "collect.out"])
        entries = sum(path.read_text().count("\ndn: ") + path.read_text().startswith("dn: ") for path in ldif_outputs)
        print(f"objects read: {entries} (ldapsearch's count, rootDSE included)")
        print(f"{'':24}{'best':>10}{'median':>11}{'CPU':>11}  all rounds (CPU: its processes' user + system, a round)")
        for runs in (ldapsearch, sidtool_runs, base) if args.base else (ldapsearch, sidtool_runs):
            print(runs.row())
        print(f"ratio sidtool/ldapsearch: {sidtool_runs.best() / ldapsearch.best():.2f} (best/best; target: at most "
              f"1.5); median of the rounds' ratios {sidtool_runs.against(ldapsearch):.2f}")  # fmt: skip
        if args.base:
            print(f"ratio base/ldapsearch: {base.best() / ldapsearch.best():.2f} (best/best); median of the rounds' "
                  f"ratios {base.against(ldapsearch):.2f}; this checkout/base: {sidtool_runs.best() / base.best():.3f} "
                  f"(best/best), {sidtool_runs.against(base):.3f} (median of the rounds' ratios)")  # fmt: skip
        if args.progress_rounds:
            shown, quiet = [], []
            for _ in range(args.progress_rounds):  # collect's progress lines on a terminal, against -q
                shown.append(on_terminal([part for part in sidtool if part != "-q"], env)[0])
                quiet.append(on_terminal(sidtool, env)[0])
            print(f"sidtool collect with progress on a terminal: {', '.join(f'{t:.2f}' for t in shown)} s; "
                  f"with -q: {', '.join(f'{t:.2f}' for t in quiet)} s; best/best {min(shown) / min(quiet):.3f} "
                  f"(target: under 1.02)")  # fmt: skip
        print(f"LoadLargeGroup members in sidtool's snapshot: {large_group_members(work / 'snap.json')} "
              f"(loaded: {min(args.users, LARGE_GROUP_MEMBERS)})")  # fmt: skip
    finally:
        if not args.dc:
            subprocess.run([sys.executable, str(RUN_DC), "stop", str(dc)], stdout=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)


def dc_running(dc: Path) -> bool:
    """Whether run-dc has a DC running in ``dc`` (``run-dc status``)."""
    status = subprocess.run([sys.executable, str(RUN_DC), "status", str(dc)], capture_output=True, check=False)
    return status.returncode == 0 and (dc / "env").exists()


def start_dc(dc: Path, work: Path, args: argparse.Namespace) -> None:
    """Start a DC in ``dc`` on a free loopback address, loaded with the fixture and the generated forest."""
    extra = work / "load.ldif"
    extra.write_text(samba_load_ldif(args.users, args.groups, args.seed))
    host = free_loopback()
    began = time.perf_counter()
    command = [sys.executable, str(RUN_DC), "start", str(dc), "--host", host, "--extra-ldif", str(extra)]
    subprocess.run([*command, "--process-model", args.process_model], check=True, stdout=subprocess.DEVNULL)
    print(
        f"DC with the fixture and {args.users} users, {args.groups} groups ready in "
        f"{time.perf_counter() - began:.0f} s on {host}"
    )


if __name__ == "__main__":
    main()
